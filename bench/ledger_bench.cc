// Ledger benchmarks (Google Benchmark). Figures and the command are in docs/BENCHMARKS.md.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "crypto/note.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "storage/storage.h"

namespace cloudpact {
namespace {

namespace fs = std::filesystem;

fs::path FreshDir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("cloudpact-bench-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

crypto::NoteSigner Signer() { return crypto::NoteSigner("bench.example/log", crypto::Ed25519PrivateKey::Generate()); }

// Waits for n callbacks.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  int64_t remaining;
  std::atomic<int64_t> errors{0};
  explicit Latch(int64_t n) : remaining(n) {}
  void Done(bool ok) {
    if (!ok) errors++;
    std::lock_guard<std::mutex> lock(mu);
    if (--remaining == 0) cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
  }
};

// Memory of the in-memory tree per million entries (rebuilt from storage at start).
void BM_TreeMemoryPerMillion(benchmark::State& state) {
  for (auto _ : state) {
    struct rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    auto* tree = new ledger::MerkleTree;
    for (uint64_t i = 0; i < 1000000; ++i) tree->Append(ledger::LeafHash(std::to_string(i)));
    getrusage(RUSAGE_SELF, &after);
    state.counters["tree_MiB_per_million"] = (after.ru_maxrss - before.ru_maxrss) / 1024.0;
    benchmark::DoNotOptimize(tree);
    delete tree;
  }
}
BENCHMARK(BM_TreeMemoryPerMillion)->Iterations(1)->Unit(benchmark::kMillisecond);

// Durable appends through the in-process interface every module uses: canonical JSON
// built per entry, group commit, acknowledged only when on disk.
void RunJsonAppends(benchmark::State& state, storage::Storage& store) {
  auto ledger = std::move(ledger::Ledger::Open(store, Signer(), {}).value());
  const int64_t kPerIter = 20000;
  int64_t n = 0;
  for (auto _ : state) {
    Latch latch(kPerIter);
    for (int64_t i = 0; i < kPerIter; ++i, ++n) {
      ledger->AppendAsync({"gateway.command", {{"session", "ses-0001"}, {"seq", n}, {"decision", "allow"},
                                               {"target", "db01"}, {"login", "root"}},
                           "alice", std::nullopt},
                          [&](Result<ledger::Appended> r) { latch.Done(r.ok()); });
    }
    latch.Wait();
    if (latch.errors) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(n);
  ledger->Stop();
}

// SQLite in WAL mode with synchronous=FULL: every group commit is fsync'd.
void BM_DurableAppendJson(benchmark::State& state) {
  auto dir = FreshDir("json");
  auto store = std::move(storage::Storage::Open("sqlite:" + (dir / "db").string()).value());
  RunJsonAppends(state, *store);
  state.counters["db_bytes_per_entry"] =
      static_cast<double>(fs::file_size(dir / "db") + fs::file_size(dir / "db-wal")) / state.items_processed();
  fs::remove_all(dir);
}
BENCHMARK(BM_DurableAppendJson)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

// The same on PostgreSQL, when CLOUDPACT_BENCH_PG_URL names an empty database.
void BM_DurableAppendJsonPostgres(benchmark::State& state) {
  const char* url = std::getenv("CLOUDPACT_BENCH_PG_URL");
  if (!url) {
    state.SkipWithError("set CLOUDPACT_BENCH_PG_URL to an empty PostgreSQL database");
    return;
  }
  auto store = storage::Storage::Open(url);
  if (!store.ok()) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  RunJsonAppends(state, **store);
}
BENCHMARK(BM_DurableAppendJsonPostgres)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_DurableAppendRaw(benchmark::State& state) {
  auto dir = FreshDir("raw");
  auto store = std::move(storage::Storage::Open("sqlite:" + (dir / "db").string()).value());
  auto ledger = std::move(ledger::Ledger::Open(*store, Signer(), {}).value());
  const int64_t kPerIter = 20000;
  std::string entry(200, 'e');
  int64_t n = 0;
  for (auto _ : state) {
    Latch latch(kPerIter);
    for (int64_t i = 0; i < kPerIter; ++i, ++n) {
      ledger->AppendRawAsync(entry + std::to_string(n), [&](Result<ledger::Appended> r) { latch.Done(r.ok()); });
    }
    latch.Wait();
  }
  state.SetItemsProcessed(n);
  ledger->Stop();
  fs::remove_all(dir);
}
BENCHMARK(BM_DurableAppendRaw)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

ledger::MerkleTree& BigTree() {
  static ledger::MerkleTree* t = [] {
    auto* tree = new ledger::MerkleTree;
    for (uint64_t i = 0; i < (1u << 20); ++i) tree->Append(ledger::LeafHash(std::to_string(i)));
    return tree;
  }();
  return *t;
}

void BM_InclusionProof(benchmark::State& state) {
  auto& tree = BigTree();
  uint64_t size = tree.size(), i = 0;
  for (auto _ : state) {
    auto p = tree.InclusionProof((i * 7919) % size, size);
    benchmark::DoNotOptimize(p);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_InclusionProof);

void BM_ConsistencyProof(benchmark::State& state) {
  auto& tree = BigTree();
  uint64_t size = tree.size(), i = 0;
  for (auto _ : state) {
    auto p = tree.ConsistencyProof(1 + (i * 7919) % (size - 1), size);
    benchmark::DoNotOptimize(p);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_ConsistencyProof);


}  // namespace
}  // namespace cloudpact

BENCHMARK_MAIN();
