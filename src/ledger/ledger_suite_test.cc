// The Ledger over real storage, run on every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/encoding.h"
#include "ledger/ledger.h"
#include "ledger/verifier.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::ledger {
namespace {

using crypto::NoteSigner;
using crypto::NoteSigType;

NoteSigner TestSigner(const std::string& origin = "test.example/log") {
  return NoteSigner(origin, *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07')));
}

AppendRequest Req(int i) { return AppendRequest{"test.entry", {{"i", i}}, "tester", std::nullopt}; }

// Serves a Ledger's tiles to the verifier without HTTP.
class LedgerSource final : public TileSource {
 public:
  explicit LedgerSource(const Ledger& l) : l_(l) {}
  Result<std::string> Get(const std::string& path) override {
    if (path == "checkpoint") return l_.CheckpointNote();
    ASSIGN_OR_RETURN(TileRef ref, ParseTilePath(path.substr(5)));
    return l_.ReadTile(ref);
  }

 private:
  const Ledger& l_;
};

class LedgerSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = testing::FreshStorageUrl(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    Reopen();
  }
  void Reopen(LedgerOptions options = {}) {
    ledger_.reset();
    store_.reset();
    auto s = storage::Storage::Open(url_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    auto l = Ledger::Open(*store_, TestSigner(), options);
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(l).value();
  }
  std::string url_;
  std::unique_ptr<storage::Storage> store_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_P(LedgerSuite, EmptyLogHasSignedCheckpointOfSizeZero) {
  auto note = crypto::ParseNote(ledger_->CheckpointNote());
  ASSERT_TRUE(note.ok()) << note.error().message;
  ASSERT_TRUE(crypto::VerifyNote(*note, {TestSigner().Verifier()}).ok());
  auto cp = ParseCheckpoint(note->text);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->origin, "test.example/log");
  EXPECT_EQ(cp->size, 0u);
  EXPECT_EQ(cp->root, EmptyRoot());
}

TEST_P(LedgerSuite, AppendIsCanonicalAndStamped) {
  AppendRequest r{"access.approval", {{"z", 1}, {"a", "中文"}}, "alice", std::nullopt};
  auto a = ledger_->Append(r);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->index, 0u);
  auto entry = ledger_->ReadEntry(0);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(LeafHash(*entry), a->leaf_hash);
  // RFC 8785: sorted members, no whitespace.
  EXPECT_EQ(entry->rfind("{\"actor\":\"alice\",\"body\":{\"a\":\"中文\",\"z\":1},\"time\":\"", 0), 0u) << *entry;
  EXPECT_NE(entry->find("\"type\":\"access.approval\"}"), std::string::npos);
  auto j = ParseJson(*entry);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*CanonicalJson(*j), *entry);
}

TEST_P(LedgerSuite, RejectsBadRequests) {
  EXPECT_EQ(ledger_->Append({"Bad Type", {}, "x", std::nullopt}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ledger_->Append({"", {}, "x", std::nullopt}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ledger_->Append({"t", Json::array(), "x", std::nullopt}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ledger_->Append({"t", {{"big", std::string(70000, 'x')}}, "x", std::nullopt}).error().code,
            ErrorCode::kResourceExhausted);
  EXPECT_EQ(ledger_->Append({"t", {{"n", uint64_t{1} << 60}}, "x", std::nullopt}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(ledger_->Size(), 0u);
}

TEST_P(LedgerSuite, ConcurrentAppendsGetContiguousIndexesAndSurviveReopen) {
  constexpr int kThreads = 4, kPer = 150;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<uint64_t, Hash> acked;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto a = ledger_->Append(Req(t * 1000 + i));
        ASSERT_TRUE(a.ok()) << a.error().message;
        std::lock_guard<std::mutex> lock(mu);
        ASSERT_TRUE(acked.emplace(a->index, a->leaf_hash).second) << "index handed out twice";
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(acked.size(), size_t{kThreads * kPer});
  EXPECT_EQ(acked.rbegin()->first, uint64_t{kThreads * kPer - 1});
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  Checkpoint before = ledger_->LatestCheckpoint();
  EXPECT_EQ(before.size, uint64_t{kThreads * kPer});

  Reopen();
  EXPECT_EQ(ledger_->Size(), uint64_t{kThreads * kPer});
  for (const auto& [index, hash] : acked) {
    auto e = ledger_->ReadEntry(index);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(LeafHash(*e), hash) << index;
  }
  EXPECT_EQ(ledger_->LatestCheckpoint().root, before.root);
  // The whole log verifies as a tlog-tiles client sees it: 600 entries = 2 full tiles + 1.
  LedgerSource src(*ledger_);
  auto report = VerifyLog(src, TestSigner().Verifier(), {});
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->entries_checked, uint64_t{kThreads * kPer});
  EXPECT_EQ(report->tiles_checked, 4u);  // level 0: 3, level 1: 1 (partial, width 2)
}

TEST_P(LedgerSuite, CheckpointFollowsAppendsWithinTheInterval) {
  Reopen(LedgerOptions{std::chrono::milliseconds(50)});
  ASSERT_TRUE(ledger_->Append(Req(1)).ok());
  for (int i = 0; i < 200 && ledger_->LatestCheckpoint().size != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ledger_->LatestCheckpoint().size, 1u);
  auto stored = store_->LatestCheckpoint();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE(stored->value().find("\n1\n"), std::string::npos) << "checkpoint is stored before it is served";
}

TEST_P(LedgerSuite, ProofsMatchTheTree) {
  for (int i = 0; i < 37; ++i) ASSERT_TRUE(ledger_->Append(Req(i)).ok());
  std::vector<Hash> leaves;
  for (int i = 0; i < 37; ++i) leaves.push_back(LeafHash(*ledger_->ReadEntry(i)));
  for (uint64_t n = 1; n <= 37; ++n) {
    Hash root = RootFromLeafHashes(std::span(leaves).subspan(0, n));
    EXPECT_EQ(*ledger_->Root(n), root);
    for (uint64_t i = 0; i < n; i += 5) {
      auto p = ledger_->InclusionProof(i, n);
      ASSERT_TRUE(p.ok());
      EXPECT_TRUE(VerifyInclusion(i, n, leaves[i], *p, root).ok());
    }
    auto c = ledger_->ConsistencyProof(n / 2, n);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(VerifyConsistency(n / 2, n, *ledger_->Root(n / 2), root, *c).ok());
  }
  EXPECT_EQ(ledger_->InclusionProof(37, 37).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(ledger_->InclusionProof(0, 38).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(ledger_->ConsistencyProof(5, 4).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(ledger_->ReadEntry(37).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ledger_->ReadTile({true, 0, 0, 38}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ledger_->ReadTile({false, 0, 1, 1}).error().code, ErrorCode::kNotFound);
}

TEST_P(LedgerSuite, ConfidentialContentIsOffTreeAndErasable) {
  Json secret = {{"command", "mysql -u root -p prod"}, {"tenant_resource", "acme/db-01"}};
  auto a = ledger_->Append({"gateway.command", {{"session", "s1"}}, "op", secret});
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string entry = *ledger_->ReadEntry(a->index);
  EXPECT_EQ(entry.find("mysql"), std::string::npos) << "confidential content leaked into the leaf";
  EXPECT_EQ(entry.find("acme"), std::string::npos);
  auto conf = ledger_->ReadConfidential(a->index);
  ASSERT_TRUE(conf.ok() && conf->has_value());
  // Anyone holding content and salt can check them against the public commitment.
  auto salt = HexDecode((*conf)->salt_hex);
  ASSERT_TRUE(salt.ok());
  std::string commitment = HexEncode(crypto::AsBytes(crypto::Sha256({*salt, (*conf)->content})));
  EXPECT_EQ((*ParseJson(entry))["confidential"]["commitment"], commitment);
  EXPECT_EQ((*conf)->content, *CanonicalJson(secret));

  Hash root_before = *ledger_->Root(1);
  auto erased = ledger_->EraseConfidential(a->index, "retention expired", "dpo");
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_EQ(erased->index, 1u);
  EXPECT_FALSE(ledger_->ReadConfidential(a->index)->has_value());
  EXPECT_EQ(*ledger_->Root(1), root_before) << "erasure must not change the tree";
  auto record = ParseJson(*ledger_->ReadEntry(1));
  EXPECT_EQ((*record)["type"], "ledger.erasure");
  EXPECT_EQ((*record)["body"]["index"], 0);
  EXPECT_EQ(ledger_->EraseConfidential(a->index, "again", "dpo").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ledger_->EraseConfidential(1, "no content", "dpo").error().code, ErrorCode::kNotFound);
}

TEST_P(LedgerSuite, WitnessCosignaturesAreCheckedStoredAndServed) {
  NoteSigner witness("witness.example/w1", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x09')),
                     NoteSigType::kCosignatureV1);
  NoteSigner stranger("witness.example/w2", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x0a')),
                      NoteSigType::kCosignatureV1);
  LedgerOptions opts;
  opts.witnesses = {witness.Verifier()};
  Reopen(opts);
  ASSERT_TRUE(ledger_->Append(Req(1)).ok());
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  std::string text = FormatCheckpoint(ledger_->LatestCheckpoint());

  auto sign = [&](const NoteSigner& s, const std::string& t) {
    return t + "\n" + crypto::FormatSignatureLine(s.Sign(t, 1700000000));
  };
  EXPECT_EQ(ledger_->AddCosignatures(sign(stranger, text)).error().code, ErrorCode::kPermissionDenied);
  std::string forged = sign(witness, text);
  forged[forged.size() - 6] ^= 1;
  EXPECT_FALSE(ledger_->AddCosignatures(forged).ok());
  Checkpoint other = ledger_->LatestCheckpoint();
  other.size += 1;
  EXPECT_EQ(ledger_->AddCosignatures(sign(witness, FormatCheckpoint(other))).error().code,
            ErrorCode::kFailedPrecondition);

  auto n = ledger_->AddCosignatures(sign(witness, text));
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1u);
  auto served = crypto::ParseNote(ledger_->CheckpointNote());
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(crypto::VerifyNote(*served, {witness.Verifier()}).ok());
  EXPECT_TRUE(crypto::VerifyNote(*served, {TestSigner().Verifier()}).ok());

  Reopen(opts);  // cosignatures are durable
  served = crypto::ParseNote(ledger_->CheckpointNote());
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(crypto::VerifyNote(*served, {witness.Verifier()}).ok());
}

TEST_P(LedgerSuite, RefusesToOpenWhenStoredCheckpointDisagrees) {
  ASSERT_TRUE(ledger_->Append(Req(1)).ok());
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  ledger_.reset();
  // A checkpoint signed by another key: someone swapped keys or storage.
  NoteSigner other("test.example/log", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x08')));
  Checkpoint cp{"test.example/log", 1, LeafHash("x"), {}};
  std::string text = FormatCheckpoint(cp);
  ASSERT_TRUE(store_->SaveCheckpoint(1, text + "\n" + crypto::FormatSignatureLine(other.Sign(text))).ok());
  auto l = Ledger::Open(*store_, TestSigner(), {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, ErrorCode::kDataLoss);
  // Signed by the right key but over a root the entries do not produce.
  ASSERT_TRUE(store_->SaveCheckpoint(1, text + "\n" + crypto::FormatSignatureLine(TestSigner().Sign(text))).ok());
  l = Ledger::Open(*store_, TestSigner(), {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, ErrorCode::kDataLoss);
}

TEST_P(LedgerSuite, IncrementalVerificationExtendsTheRememberedTree) {
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(ledger_->Append(Req(i)).ok());
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  LedgerSource src(*ledger_);
  auto full = VerifyLog(src, TestSigner().Verifier(), {});
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_FALSE(full->incremental);
  EXPECT_EQ(full->state.frontier.size(), 4u);  // 300 = 256 + 32 + 8 + 4
  auto saved = VerifierState::FromJson(full->state.ToJson());
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->frontier, full->state.frontier);

  for (int i = 300; i < 550; ++i) ASSERT_TRUE(ledger_->Append(Req(i)).ok());
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  VerifyOptions opts;
  opts.previous = *saved;
  auto inc = VerifyLog(src, TestSigner().Verifier(), opts);
  ASSERT_TRUE(inc.ok()) << inc.error().message;
  EXPECT_TRUE(inc->incremental);
  EXPECT_TRUE(inc->consistent_with_previous);
  EXPECT_EQ(inc->tiles_checked, 2u) << "only the tiles holding new entries";
  EXPECT_EQ(inc->entries_checked, 256u + 38u);
  // It ends where a full audit ends.
  auto again_full = VerifyLog(src, TestSigner().Verifier(), {});
  ASSERT_TRUE(again_full.ok());
  EXPECT_EQ(inc->state.root, again_full->state.root);
  EXPECT_EQ(inc->state.frontier, again_full->state.frontier);

  // Nothing new: nothing fetched, still consistent.
  opts.previous = inc->state;
  auto same = VerifyLog(src, TestSigner().Verifier(), opts);
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->tiles_checked, 0u);

  // A state file whose frontier does not produce its root is refused, not trusted.
  VerifierState bad = *saved;
  bad.frontier[1][0] ^= 1;
  opts.previous = bad;
  EXPECT_EQ(VerifyLog(src, TestSigner().Verifier(), opts).error().code, ErrorCode::kInvalidArgument);

  // A fork: another history of 300 entries under the same key. Remembering the fork's
  // state, the real log's new checkpoint does not extend it.
  auto fork_store = testing::OpenFresh(GetParam(), "fork");
  auto fork = Ledger::Open(*fork_store, TestSigner(), {});
  ASSERT_TRUE(fork.ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE((*fork)->Append(Req(-i - 1)).ok());
  ASSERT_TRUE((*fork)->PublishCheckpoint().ok());
  LedgerSource fork_src(**fork);
  auto fork_state = VerifyLog(fork_src, TestSigner().Verifier(), {});
  ASSERT_TRUE(fork_state.ok());
  opts.previous = fork_state->state;
  auto caught = VerifyLog(src, TestSigner().Verifier(), opts);
  ASSERT_FALSE(caught.ok());
  EXPECT_EQ(caught.error().code, ErrorCode::kDataLoss);
  opts.incremental = false;  // and the full audit agrees
  EXPECT_EQ(VerifyLog(src, TestSigner().Verifier(), opts).error().code, ErrorCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerSuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });


TEST(LedgerFailClosed, NothingIsAcknowledgedThatIsNotStored) {
  auto inner = testing::OpenFresh("sqlite", "flaky");
  testing::FaultyStorage store(*inner);
  auto l = Ledger::Open(store, TestSigner(), {});
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Append(Req(0)).ok());
  store.fail_ledger = true;
  auto failed = (*l)->Append(Req(1));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("could not be recorded"), std::string::npos);
  auto erase = (*l)->EraseConfidential(0, "x", "y");  // no content: refused before writing
  EXPECT_FALSE(erase.ok());
  EXPECT_EQ((*l)->Size(), 1u);
  store.fail_ledger = false;
  auto ok = (*l)->Append(Req(2));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->index, 1u);
}

TEST(LedgerFailClosed, ErasureNeedsItsRecordFirst) {
  auto inner = testing::OpenFresh("sqlite", "flaky-erase");
  testing::FaultyStorage store(*inner);
  auto l = Ledger::Open(store, TestSigner(), {});
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Append({"t", Json::object(), "a", Json{{"secret", 1}}}).ok());
  store.fail_ledger = true;
  EXPECT_FALSE((*l)->EraseConfidential(0, "gdpr", "dpo").ok());
  EXPECT_TRUE((*l)->ReadConfidential(0)->has_value()) << "content erased without an erasure record";
}

}  // namespace
}  // namespace cloudpact::ledger

namespace cloudpact::ledger {
namespace {

TEST(DirectorySourceTest, RefusesResourcesLargerThanAnyBundle) {
  auto dir = testing::TempDir("bigtile");
  std::filesystem::create_directories(dir / "tile" / "entries");
  {
    std::ofstream(dir / "tile" / "entries" / "000").put('x');
  }
  std::filesystem::resize_file(dir / "tile" / "entries" / "000", kMaxBundleBytes + 1);  // sparse
  auto src = DirectoryTileSource(dir.string());
  auto r = src->Get("tile/entries/000");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  std::filesystem::resize_file(dir / "tile" / "entries" / "000", kMaxBundleBytes);
  EXPECT_TRUE(src->Get("tile/entries/000").ok());
  EXPECT_EQ(src->Get("tile/entries/001").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cloudpact::ledger
