// A load generator for POST /v1/ledger/entries. Closed loop (each client sends as soon as
// it is answered) or open loop at a fixed offered rate, with latency measured from the
// scheduled send time so that a slow server cannot hide its queueing (no coordinated
// omission). Clients are coroutines on one event loop, so the generator itself costs little
// of the machine it shares with the server. Sends only to loopback.
//
//   http_load --url http://127.0.0.1:8080 --token-file DIR/initial-admin-token \
//             --clients 64 --seconds 10 [--rate 10000] [--threads 1]
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Shared {
  tcp::endpoint endpoint;
  std::string host, token;
  Clock::time_point start, end;
  double rate = 0;
  int clients = 0;
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> errors{0};
};

asio::awaitable<void> Client(Shared& s, int c) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  std::vector<double> mine;
  asio::steady_timer timer(executor);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(s.rate > 0 ? s.clients / s.rate : 0));
  auto next = s.start + interval * c / s.clients;
  bool connected = false;
  timer.expires_at(s.start);
  co_await timer.async_wait(asio::use_awaitable);
  for (int64_t i = 0;; ++i) {
    if (s.rate > 0) {
      timer.expires_at(next);
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto scheduled = s.rate > 0 ? next : Clock::now();
    if (scheduled >= s.end) break;
    if (s.rate > 0) next += interval;
    try {
      if (!connected) {
        co_await stream.async_connect(s.endpoint, asio::use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));
        connected = true;
      }
      http::request<http::string_body> req(http::verb::post, "/v1/ledger/entries", 11);
      req.set(http::field::host, s.host);
      req.set(http::field::authorization, "Bearer " + s.token);
      req.set(http::field::content_type, "application/json");
      req.body() = R"({"type":"load.test","body":{"client":)" + std::to_string(c) + R"(,"seq":)" +
                   std::to_string(i) + R"(,"target":"db01","login":"root"}})";
      req.prepare_payload();
      stream.expires_after(std::chrono::seconds(30));
      co_await http::async_write(stream, req, asio::use_awaitable);
      beast::flat_buffer buffer;
      http::response<http::string_body> res;
      co_await http::async_read(stream, buffer, res, asio::use_awaitable);
      if (res.result_int() != 201) {
        s.errors++;
      } else {
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count());
      }
      if (!res.keep_alive()) {
        stream.close();
        connected = false;
      }
    } catch (const std::exception&) {
      s.errors++;
      stream.close();
      connected = false;
    }
  }
  std::lock_guard<std::mutex> lock(s.mu);
  s.latencies_ms.insert(s.latencies_ms.end(), mine.begin(), mine.end());
}

int main(int argc, char** argv) {
  CLI::App app{"cloudpact ledger append load generator"};
  std::string url, token_file;
  int clients = 64, threads = 1;
  double seconds = 10, rate = 0;
  app.add_option("--url", url)->required();
  app.add_option("--token-file", token_file)->required();
  app.add_option("--clients", clients);
  app.add_option("--threads", threads, "event-loop threads of the generator");
  app.add_option("--seconds", seconds);
  app.add_option("--rate", rate, "offered appends/s in total; 0 = closed loop");
  CLI11_PARSE(app, argc, argv);
  auto parsed = cloudpact::net::ParseUrl(url);
  if (!parsed.ok() || parsed->tls) {
    std::cerr << "http_load: give an http:// URL\n";
    return 2;
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(parsed->host == "localhost" ? "127.0.0.1" : parsed->host, ec);
  if (ec || !addr.is_loopback()) {
    std::cerr << "http_load: only loopback IP targets are allowed\n";
    return 2;
  }
  Shared s;
  s.endpoint = tcp::endpoint(addr, static_cast<uint16_t>(std::stoi(parsed->port)));
  s.host = parsed->host;
  std::ifstream(token_file) >> s.token;
  s.rate = rate;
  s.clients = clients;
  s.start = Clock::now() + std::chrono::milliseconds(200);
  s.end = s.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  asio::io_context ioc(threads);
  for (int c = 0; c < clients; ++c) asio::co_spawn(ioc, Client(s, c), asio::detached);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();

  auto& l = s.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, size_t(p * l.size()))]; };
  std::cout << "clients=" << clients << " offered=" << (rate > 0 ? std::to_string(int64_t(rate)) + "/s" : "closed-loop")
            << " seconds=" << seconds << " ok=" << l.size() << " errors=" << s.errors
            << " throughput=" << int64_t(l.size() / seconds) << "/s"
            << " p50_ms=" << pct(0.50) << " p99_ms=" << pct(0.99) << " max_ms=" << pct(1.0) << "\n";
  return s.errors > 0 ? 1 : 0;
}
