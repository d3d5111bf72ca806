// Audit-log ingestion end to end (issue 7): lines parsed, normalised, resolved against the
// directory and correlated with the access module — the issue's ≥ 200,000 events/s target —
// and then the whole pipeline with evidence (canonical events, Merkle roots, storage and
// ledger commits). Figures and the command are in docs/BENCHMARKS.md.
//
// Dataset: 2,000 staff with log accounts, 10,000 hosts with hostname aliases on two
// platforms, a just-in-time role, and 500 active grants. The log mix is half sudo lines (a
// privileged operation on a host: every one is checked against the grants) and half
// Kubernetes audit events (JSON through simdjson; writes to secrets are privileged).
// Storage is SQLite on /dev/shm so that setup is quick; the pipeline benchmark reports what
// the commit costs on top of parsing and correlation.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "access/access.h"
#include "core/time.h"
#include "core/yaml.h"
#include "correlation/correlator.h"
#include "correlation/pipeline.h"
#include "crypto/ed25519.h"
#include "directory/directory.h"
#include "ingest/event.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact {
namespace {

namespace fs = std::filesystem;
constexpr int kStaff = 2000, kHosts = 10000, kGrants = 500, kLines = 200000;

struct World {
  fs::path dir;
  std::unique_ptr<storage::Storage> store;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<directory::Directory> directory;
  std::unique_ptr<access::AccessService> access;
  std::unique_ptr<correlation::Correlator> correlator;
  std::vector<std::string> sudo_lines, k8s_lines;
};

// Setup failures end the benchmark with the reason.
template <typename R>
void Must(const R& r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "correlation_bench setup: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
}

World& TheWorld() {
  static World* w = [] {
    auto* w = new World();
    w->dir = fs::path("/dev/shm") / ("cloudpact-corr-bench-" + std::to_string(getpid()));
    fs::remove_all(w->dir);
    fs::create_directories(w->dir);
    w->store = storage::Storage::Open("sqlite:" + (w->dir / "db").string()).value();
    w->ledger = ledger::Ledger::Open(*w->store, crypto::NoteSigner("bench.example/ingest", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x05'))), {}).value();
    w->directory = directory::Directory::Load(*w->store, *w->ledger).value();
    w->access = access::AccessService::Load(*w->store, *w->ledger, *w->directory).value();
    auto pol = w->access->ProposePolicy(R"(roles:
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*", "k8s:*"], resources: {types: [host, cluster]}}
  - name: lead
    admin: [access:review]
)", "bench");
    Must(pol, "policy");
    std::string yaml = "platforms:\n  - {id: os-bj, aliases: [RegionOne]}\n  - {id: k8s-sh, aliases: [prod-sh]}\nresources:\n";
    yaml += "  - {id: cluster-sh, platform: k8s-sh, type: cluster, aliases: [prod-sh]}\n";
    for (int i = 0; i < kHosts; ++i) {
      yaml += "  - {id: host-" + std::to_string(i) + ", platform: os-bj, type: host, aliases: [h" + std::to_string(i) +
              ".bj.internal]}\n";
    }
    yaml += "staff:\n  - {id: lead, roles: [lead]}\n";
    for (int i = 0; i < kStaff; ++i) {
      yaml += "  - {id: s" + std::to_string(i) + ", roles: [sre], accounts: [u" + std::to_string(i) + "]}\n";
    }
    auto doc = ParseYaml(yaml, YamlLimits{.max_bytes = 16 << 20, .max_nodes = 2'000'000, .max_depth = 64});
    Must(doc, "directory yaml");
    auto spec = directory::ParseDirectory(*doc);
    Must(spec, "directory");
    Must(w->directory->Apply(*spec, "bench"), "apply");
    std::mt19937 rng(7);
    for (int g = 0; g < kGrants; ++g) {
      auto r = w->access->CreateRequest("s" + std::to_string(g), {{"host-" + std::to_string(g)}, {"login:root"}, "maintenance", "patch window", "CHG-" + std::to_string(g), 3600});
      Must(r, "request");
      Must(w->access->AddReview(r->id, "lead", {"approve", "", ""}), "review");
    }
    w->correlator = std::make_unique<correlation::Correlator>(*w->directory, *w->access);
    // Half the sudo lines by someone holding a grant for that host (covered), half not.
    // Events happen now, while the grants are active.
    const std::string stamp = FormatRfc3339(SystemNow()).substr(0, 19);
    for (int i = 0; i < kLines; ++i) {
      int s = static_cast<int>(rng() % kStaff);
      int h = (i % 2 == 0 && s < kGrants) ? s : static_cast<int>(rng() % kHosts);
      w->sudo_lines.push_back("<86>1 " + stamp + "Z h" + std::to_string(h) + ".bj.internal sudo - - - u" +
                              std::to_string(s) + " : TTY=pts/0 ; PWD=/home/u" + std::to_string(s) +
                              " ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx");
      w->k8s_lines.push_back(
          R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a)" + std::to_string(i) +
          R"(","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets","verb":"create","user":{"username":"u)" +
          std::to_string(s) + R"(","groups":["system:authenticated"]},"sourceIPs":["10.0.0.)" + std::to_string(i % 250) +
          R"("],"userAgent":"kubectl/v1.29.0","objectRef":{"resource":"secrets","namespace":"prod","name":"db-)" +
          std::to_string(i % 97) + R"(","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestReceivedTimestamp":")" +
          stamp + R"(.000000Z","stageTimestamp":")" + stamp + R"(.002000Z"})");
    }
    return w;
  }();
  return *w;
}

// Parse + normalise + resolve + correlate, one line after another, on each benchmark thread
// (each thread is one source with its own parsers, as in the pipeline).
void BM_ParseAndCorrelate(benchmark::State& state) {
  World& w = TheWorld();
  auto sudo = ingest::MakeParser("sudo").value();
  auto k8s = ingest::MakeParser("k8s-audit").value();
  const correlation::SourceConfig sudo_src{"bench-sudo", {"sudo"}, "", ""};
  const correlation::SourceConfig k8s_src{"bench-k8s", {"k8s-audit"}, "", ""};
  size_t i = static_cast<size_t>(state.thread_index()) * 7919, events = 0, findings = 0;
  for (auto _ : state) {
    const size_t n = i++ % kLines;
    const bool json = n % 2 == 1;
    auto evs = json ? k8s->Feed(w.k8s_lines[n], n + 1) : sudo->Feed(w.sudo_lines[n], n + 1);
    if (!evs.ok() || evs->size() != 1) {
      state.SkipWithError("a line gave no event");
      break;
    }
    auto a = w.correlator->Analyze((*evs)[0], json ? k8s_src : sudo_src);
    benchmark::DoNotOptimize(a);
    ++events;
    findings += a.findings.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["findings_per_event"] = events ? static_cast<double>(findings) / static_cast<double>(events) : 0;
}
BENCHMARK(BM_ParseAndCorrelate)->Threads(1)->Threads(2)->UseRealTime()->MinTime(3.0);

// The whole pipeline through Pipeline::Ingest: the above plus canonical event bytes, salted
// commitments for command lines, batch Merkle roots, one storage transaction and one ledger
// entry per 2,048 events. 20,000 lines per iteration.
void BM_PipelineWithEvidence(benchmark::State& state) {
  World& w = TheWorld();
  auto pipeline = correlation::Pipeline::Start(*w.store, *w.ledger, *w.correlator).value();
  const bool json = state.range(0) == 1;
  std::string text;
  for (int i = 0; i < 20000; ++i) (text += json ? w.k8s_lines[i] : w.sudo_lines[i]) += '\n';
  const correlation::SourceConfig src{json ? "bench-k8s" : "bench-sudo", {json ? "k8s-audit" : "sudo"}, "", ""};
  uint64_t events = 0;
  for (auto _ : state) {
    auto sum = pipeline->Ingest(src, text, "");
    if (!sum.ok()) {
      state.SkipWithError(sum.error().message.c_str());
      break;
    }
    events += sum->events;
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.SetLabel(json ? "k8s-audit" : "sudo");
}
BENCHMARK(BM_PipelineWithEvidence)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

}  // namespace
}  // namespace cloudpact

BENCHMARK_MAIN();
