// A load generator for POST /v1/ledger/entries. Closed loop (each client sends as fast as
// it is answered) or open loop at a fixed offered rate, with latency measured from the
// scheduled send time so that a slow server cannot hide its queueing (no coordinated
// omission). Sends only to the URL given, which must be loopback.
//
//   http_load --url http://127.0.0.1:8080 --token-file DIR/initial-admin-token \
//             --clients 64 --seconds 10 [--rate 10000]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "net/http_client.h"

int main(int argc, char** argv) {
  CLI::App app{"cloudpact ledger append load generator"};
  std::string url, token_file;
  int clients = 64;
  double seconds = 10, rate = 0;
  app.add_option("--url", url)->required();
  app.add_option("--token-file", token_file)->required();
  app.add_option("--clients", clients);
  app.add_option("--seconds", seconds);
  app.add_option("--rate", rate, "offered appends/s in total; 0 = closed loop");
  CLI11_PARSE(app, argc, argv);
  auto parsed = cloudpact::net::ParseUrl(url);
  if (!parsed.ok() || !(parsed->host == "127.0.0.1" || parsed->host == "localhost" || parsed->host == "::1")) {
    std::cerr << "http_load: only loopback targets are allowed\n";
    return 2;
  }
  std::string token;
  std::ifstream(token_file) >> token;

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto client = std::move(cloudpact::net::HttpClient::Create(url).value());
      std::vector<double> mine;
      const std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + token},
                                                          {"Content-Type", "application/json"}};
      std::chrono::duration<double> interval(rate > 0 ? clients / rate : 0);
      auto next = start + std::chrono::duration_cast<Clock::duration>(interval * (double(c) / clients));
      std::this_thread::sleep_until(start);
      for (int64_t i = 0;; ++i) {
        if (rate > 0) {
          std::this_thread::sleep_until(next);
        }
        auto scheduled = rate > 0 ? next : Clock::now();
        if (scheduled >= end) break;
        auto r = client->Request("POST", "/v1/ledger/entries",
                                 R"({"type":"load.test","body":{"client":)" + std::to_string(c) + R"(,"seq":)" +
                                     std::to_string(i) + R"(,"target":"db01","login":"root"}})",
                                 headers);
        auto done = Clock::now();
        if (!r.ok() || r->status != 201) {
          errors++;
        } else {
          mine.push_back(std::chrono::duration<double, std::milli>(done - scheduled).count());
        }
        if (rate > 0) next += std::chrono::duration_cast<Clock::duration>(interval);
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    return latencies_ms.empty() ? 0.0 : latencies_ms[std::min(latencies_ms.size() - 1, size_t(p * latencies_ms.size()))];
  };
  std::cout << "clients=" << clients << " offered=" << (rate > 0 ? std::to_string(int64_t(rate)) + "/s" : "closed-loop")
            << " seconds=" << seconds << " ok=" << latencies_ms.size() << " errors=" << errors
            << " throughput=" << int64_t(latencies_ms.size() / seconds) << "/s"
            << " p50_ms=" << pct(0.50) << " p99_ms=" << pct(0.99) << " max_ms=" << pct(1.0) << "\n";
  return errors > 0 ? 1 : 0;
}
