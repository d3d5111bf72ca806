// Audit-log ingestion benchmarks (Google Benchmark, issue 7): events per second through each
// JSON LineParser (parse with simdjson On-Demand, normalise to OperationEvent, SHA-256 of the
// raw line), single thread, over a generated corpus of 100,000 lines shaped like the samples in
// src/ingest/testdata/json/ (varied users, namespaces, verbs, resources, addresses and times;
// about a fifth of Kubernetes lines are RequestReceived stages that are skipped).
//
//   build/release/bench/ingest_bench --benchmark_counters_tabular=true
//
// Environment: CLOUDPACT_INGEST_BENCH_LINES  lines per corpus (default 100000).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ingest/event.h"

namespace {

using cloudpact::ingest::LineParser;

size_t CorpusLines() {
  const char* env = std::getenv("CLOUDPACT_INGEST_BENCH_LINES");
  return env ? std::strtoull(env, nullptr, 10) : 100000;
}

std::string Timestamp(std::mt19937_64& rng, bool micros) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2024-%02d-%02dT%02d:%02d:%02d.%0*dZ", int(rng() % 12 + 1), int(rng() % 28 + 1),
                int(rng() % 24), int(rng() % 60), int(rng() % 60), micros ? 6 : 3,
                int(rng() % (micros ? 1000000 : 1000)));
  return buf;
}

std::string Ip(std::mt19937_64& rng) {
  return "10." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 254 + 1);
}

template <typename T, size_t N>
const T& Pick(std::mt19937_64& rng, const T (&items)[N]) {
  return items[rng() % N];
}

std::vector<std::string> K8sCorpus(size_t n) {
  std::mt19937_64 rng(1);
  const char* verbs[] = {"get", "list", "watch", "create", "update", "patch", "delete"};
  const char* resources[] = {"pods", "deployments", "configmaps", "secrets", "services", "rolebindings", "jobs"};
  const char* users[] = {"jane@example.com", "kubernetes-admin", "system:serviceaccount:ci:deployer",
                         "bob@example.com", "system:kube-controller-manager"};
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string verb = Pick(rng, verbs);
    const std::string resource = Pick(rng, resources);
    const std::string ns = "team-" + std::to_string(rng() % 40);
    const std::string name = resource + "-" + std::to_string(rng() % 100000);
    const bool exec = rng() % 20 == 0;
    const char* stage = rng() % 5 == 0 ? "RequestReceived" : "ResponseComplete";
    const std::string uri = "/api/v1/namespaces/" + ns + "/" + resource + "/" + name + (exec ? "/exec?command=sh&stdin=true&tty=true" : "");
    const std::string ts = Timestamp(rng, true);
    lines.push_back(
        std::string(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":")") +
        std::to_string(rng()) + R"(","stage":")" + stage + R"(","requestURI":")" + uri + R"(","verb":")" + verb +
        R"(","user":{"username":")" + Pick(rng, users) +
        R"(","groups":["developers","system:authenticated"]},"sourceIPs":[")" + Ip(rng) +
        R"("],"userAgent":"kubectl/v1.27.3 (linux/amd64) kubernetes/25b4e43","objectRef":{"resource":")" + resource +
        R"(","namespace":")" + ns + R"(","name":")" + name + R"(","apiVersion":"v1")" +
        (exec ? R"(,"subresource":"exec")" : "") + R"(},"responseStatus":{"metadata":{},"code":)" +
        (rng() % 10 == 0 ? "403" : "200") + R"(},"requestReceivedTimestamp":")" + ts + R"(","stageTimestamp":")" +
        ts + R"(","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}})");
  }
  return lines;
}

std::vector<std::string> CadfCorpus(size_t n) {
  std::mt19937_64 rng(2);
  const char* targets[] = {"service/compute/servers", "service/storage/block/volumes", "service/network/ports",
                           "service/identity/users", "service/storage/image/images"};
  const char* actions[] = {"read", "read/list", "create", "update", "delete"};
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string ev = std::string(R"({"typeURI":"http://schemas.dmtf.org/cloud/audit/1.0/event","eventType":"activity",)") +
                     R"("id":")" + std::to_string(rng()) + R"(","eventTime":")" + Timestamp(rng, true) +
                     R"(","action":")" + Pick(rng, actions) + R"(","outcome":")" +
                     (rng() % 10 == 0 ? "failure" : "success") +
                     R"(","observer":{"id":"target"},"initiator":{"id":")" + std::to_string(rng()) +
                     R"(","typeURI":"service/security/account/user","name":"user)" + std::to_string(rng() % 500) +
                     R"(","project_id":"p)" + std::to_string(rng() % 50) +
                     R"(","domain_id":"default","host":{"address":")" + Ip(rng) +
                     R"(","agent":"python-openstackclient"}},"target":{"id":")" + std::to_string(rng()) +
                     R"(","typeURI":")" + Pick(rng, targets) + R"(","name":"nova"},"requestPath":"/v2.1/servers/)" +
                     std::to_string(rng()) + R"(","reason":{"reasonType":"HTTP","reasonCode":"200"}})";
    if (i % 2 == 0) {  // half inside the oslo notification envelope
      ev = R"({"message_id":"m)" + std::to_string(i) +
           R"(","publisher_id":"nova-api.controller-1","event_type":"audit.http.response","priority":"INFO","payload":)" +
           ev + R"(,"timestamp":"2024-05-02 09:15:27.112233"})";
    }
    lines.push_back(std::move(ev));
  }
  return lines;
}

std::string TrailRecordJson(std::mt19937_64& rng) {
  const char* events[][2] = {{"ec2.amazonaws.com", "DescribeInstances"}, {"ec2.amazonaws.com", "StartInstances"},
                             {"s3.amazonaws.com", "GetObject"},          {"iam.amazonaws.com", "CreateUser"},
                             {"sts.amazonaws.com", "AssumeRole"},        {"ecs.aliyuncs.com", "StopInstance"}};
  const auto& ev = Pick(rng, events);
  const std::string user = "user" + std::to_string(rng() % 1000);
  return std::string(R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA)") +
         std::to_string(rng()) + R"(","arn":"arn:aws:iam::123456789012:user/)" + user +
         R"(","accountId":"123456789012","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":")" + user +
         R"("},"eventTime":")" + Timestamp(rng, false).substr(0, 19) + R"(Z","eventSource":")" + ev[0] +
         R"(","eventName":")" + ev[1] + R"(","awsRegion":"us-east-1","sourceIPAddress":")" + Ip(rng) +
         R"(","userAgent":"aws-cli/2.13.5","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-)" +
         std::to_string(rng()) + R"("}]}},"responseElements":null,"requestID":")" + std::to_string(rng()) +
         R"(","eventID":")" + std::to_string(rng()) + R"(","readOnly":)" +
         (ev[1][0] == 'D' || ev[1][0] == 'G' ? "true" : "false") +
         R"(,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"})";
}

std::vector<std::string> TrailCorpus(size_t n, size_t records_per_line) {
  std::mt19937_64 rng(3);
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (records_per_line <= 1) {
      lines.push_back(TrailRecordJson(rng));
      continue;
    }
    std::string line = R"({"Records":[)";
    for (size_t r = 0; r < records_per_line; ++r) line += (r ? "," : "") + TrailRecordJson(rng);
    lines.push_back(line + "]}");
  }
  return lines;
}

void Run(benchmark::State& state, LineParser& parser, const std::vector<std::string>& lines) {
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size() + 1;
  int64_t events = 0;
  for (auto _ : state) {
    uint64_t line_no = 0;
    for (const auto& l : lines) {
      auto r = parser.Feed(l, ++line_no);
      if (!r.ok()) {
        state.SkipWithError(r.error().message.c_str());
        return;
      }
      events += static_cast<int64_t>(r->size());
      benchmark::DoNotOptimize(r->data());
    }
  }
  state.SetItemsProcessed(events);  // items/s = events/s
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["lines"] = static_cast<double>(lines.size());
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

void BM_K8sAudit(benchmark::State& state) {
  static const auto lines = K8sCorpus(CorpusLines());
  auto parser = cloudpact::ingest::MakeK8sAuditParser();
  Run(state, *parser, lines);
}
BENCHMARK(BM_K8sAudit)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Cadf(benchmark::State& state) {
  static const auto lines = CadfCorpus(CorpusLines());
  auto parser = cloudpact::ingest::MakeCadfParser();
  Run(state, *parser, lines);
}
BENCHMARK(BM_Cadf)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_CloudTrailRecordPerLine(benchmark::State& state) {
  static const auto lines = TrailCorpus(CorpusLines(), 1);
  auto parser = cloudpact::ingest::MakeCloudTrailParser();
  Run(state, *parser, lines);
}
BENCHMARK(BM_CloudTrailRecordPerLine)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// A CloudTrail log file's {"Records":[…]} of 20 records per line.
void BM_CloudTrailRecordsArray(benchmark::State& state) {
  static const auto lines = TrailCorpus(CorpusLines() / 20, 20);
  auto parser = cloudpact::ingest::MakeCloudTrailParser();
  Run(state, *parser, lines);
}
BENCHMARK(BM_CloudTrailRecordsArray)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
