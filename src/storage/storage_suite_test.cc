// The storage contract, run unchanged on every backend (SQLite and PostgreSQL).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/storage.h"
#include "testing/backends.h"

namespace cloudpact::storage {
namespace {

crypto::Hash H(char c) {
  crypto::Hash h;
  h.fill(static_cast<uint8_t>(c));
  return h;
}

LedgerLeaf Leaf(const std::string& entry, char h) {
  LedgerLeaf l;
  l.entry = entry;
  l.leaf_hash = H(h);
  return l;
}

class StorageSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = testing::OpenFresh(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<Storage> store_;
};

TEST_P(StorageSuite, MigrationsApplied) {
  EXPECT_EQ(store_->Backend(), GetParam());
  auto v = store_->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, Migrations(GetParam()).back().version);
}

TEST_P(StorageSuite, AppendAndReadLeaves) {
  ASSERT_EQ(*store_->LedgerSize(), 0u);
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store_->AppendLeaves(0, {Leaf("one", 'a'), Leaf(binary, 'b')}).ok());
  ASSERT_TRUE(store_->AppendLeaves(2, {Leaf("three", 'c')}).ok());
  EXPECT_EQ(*store_->LedgerSize(), 3u);
  auto entries = store_->ReadEntries(0, 10);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<std::string>{"one", binary, "three"}));
  auto mid = store_->ReadEntries(1, 2);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, (std::vector<std::string>{binary}));
  auto hashes = store_->ReadLeafHashes(0, 3);
  ASSERT_TRUE(hashes.ok());
  EXPECT_EQ(*hashes, (std::vector<crypto::Hash>{H('a'), H('b'), H('c')}));
}

TEST_P(StorageSuite, AppendAtWrongIndexIsRejectedAndWritesNothing) {
  ASSERT_TRUE(store_->AppendLeaves(0, {Leaf("one", 'a')}).ok());
  auto st = store_->AppendLeaves(5, {Leaf("x", 'x'), Leaf("y", 'y')});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  st = store_->AppendLeaves(0, {Leaf("dup", 'd')});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(*store_->LedgerSize(), 1u);
  EXPECT_EQ(*store_->ReadEntries(0, 10), (std::vector<std::string>{"one"}));
}

TEST_P(StorageSuite, ConfidentialContentAndErasure) {
  LedgerLeaf l = Leaf("committed", 'c');
  l.salt = std::string(32, 's');
  l.confidential = "{\"command\":\"rm -rf /\"}";
  ASSERT_TRUE(store_->AppendLeaves(0, {Leaf("plain", 'p'), l}).ok());
  auto none = store_->ReadConfidential(0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto c = store_->ReadConfidential(1);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->salt, std::string(32, 's'));
  EXPECT_EQ((*c)->content, "{\"command\":\"rm -rf /\"}");
  ASSERT_TRUE(store_->EraseConfidential(1).ok());
  EXPECT_FALSE(store_->ReadConfidential(1)->has_value());
  auto again = store_->EraseConfidential(1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  // The leaf itself is untouched.
  EXPECT_EQ(*store_->ReadEntries(1, 2), (std::vector<std::string>{"committed"}));
}

TEST_P(StorageSuite, CheckpointIsReplaced) {
  EXPECT_FALSE(store_->LatestCheckpoint()->has_value());
  ASSERT_TRUE(store_->SaveCheckpoint(1, "note one").ok());
  ASSERT_TRUE(store_->SaveCheckpoint(2, "note two").ok());
  auto cp = store_->LatestCheckpoint();
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->value(), "note two");
}

TEST_P(StorageSuite, Cosignatures) {
  ASSERT_TRUE(store_->SaveCosignature("w2", 5, "line w2").ok());
  ASSERT_TRUE(store_->SaveCosignature("w1", 5, "line w1").ok());
  ASSERT_TRUE(store_->SaveCosignature("w1", 5, "line w1 again").ok());
  ASSERT_TRUE(store_->SaveCosignature("w1", 6, "other size").ok());
  EXPECT_EQ(*store_->Cosignatures(5), (std::vector<std::string>{"line w1 again", "line w2"}));
  EXPECT_TRUE(store_->Cosignatures(7)->empty());
}

TEST_P(StorageSuite, Tokens) {
  ApiToken t;
  t.id = "tok_1";
  t.name = "admin";
  t.secret_hash = H('z');
  t.permissions = {"ledger:append", "ledger:read"};
  t.created_unix = 100;
  t.expires_unix = 200;
  ASSERT_TRUE(store_->PutToken(t).ok());
  auto dup = store_->PutToken(t);
  ASSERT_FALSE(dup.ok());
  auto found = store_->FindToken(H('z'));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "tok_1");
  EXPECT_EQ((*found)->name, "admin");
  EXPECT_EQ((*found)->permissions, t.permissions);
  EXPECT_EQ((*found)->expires_unix, 200);
  EXPECT_FALSE(store_->FindToken(H('y'))->has_value());
  EXPECT_EQ(store_->ListTokens()->size(), 1u);
}

TEST_P(StorageSuite, RecordsAreVersionedAndWrittenAtomically) {
  ASSERT_TRUE(store_->WriteRecords({{"t.a", "x", R"({"n":1})", 0}, {"t.a", "w", "{}", 0}, {"t.b", "x", "{}", 0}}).ok());
  auto x = store_->GetRecord("t.a", "x");
  ASSERT_TRUE(x.ok() && x->has_value());
  EXPECT_EQ((*x)->body, R"({"n":1})");
  EXPECT_EQ((*x)->version, 1);
  // Creating again (expected 0) conflicts; a stale version conflicts; nothing in a failed
  // batch is written.
  Status st = store_->WriteRecords({{"t.a", "y", "{}", 0}, {"t.a", "x", "{}", 0}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(store_->GetRecord("t.a", "y")->has_value());
  ASSERT_TRUE(store_->WriteRecords({{"t.a", "x", R"({"n":2})", 1}}).ok());
  EXPECT_EQ(store_->WriteRecords({{"t.a", "x", "{}", 1}}).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ((*store_->GetRecord("t.a", "x"))->version, 2);
  ASSERT_TRUE(store_->WriteRecords({{"t.a", "x", R"({"n":3})", RecordWrite::kAnyVersion}}).ok());
  auto list = store_->ListRecords("t.a");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "w");  // ordered by id
  EXPECT_EQ((*list)[1].body, R"({"n":3})");
  EXPECT_EQ((*list)[1].version, 3);
  RecordWrite erase{"t.a", "w", "", 1, true};
  ASSERT_TRUE(store_->WriteRecords({erase}).ok());
  EXPECT_EQ(store_->ListRecords("t.a")->size(), 1u);
  EXPECT_EQ(store_->ListRecords("t.b")->size(), 1u);
  EXPECT_TRUE(store_->ListRecords("t.none")->empty());
}

TEST_P(StorageSuite, ConditionalErase) {
  ASSERT_TRUE(store_->WriteRecords({{"e", "a", "{}", 0}, {"e", "b", "{}", 0}, {"e", "c", "{}", 0}}).ok());
  EXPECT_EQ(store_->WriteRecords({{"e", "a", "", 2, true}}).error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(store_->WriteRecords({{"e", "a", "", 1, true}}).ok());
  ASSERT_TRUE(store_->WriteRecords({{"e", "b", "", RecordWrite::kAnyVersion, true},
                                    {"e", "nothing", "", RecordWrite::kAnyVersion, true}}).ok());
  auto left = store_->ListRecords("e");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, "c");
  // An update and several conditional erases in one batch.
  ASSERT_TRUE(store_->WriteRecords({{"p", "x", "{}", 0}, {"s", "1", "{}", 0}, {"s", "2", "{}", 0}}).ok());
  ASSERT_TRUE(store_->WriteRecords({{"p", "x", "{\"v\":2}", 1}, {"s", "1", "", 1, true}, {"s", "2", "", 1, true}}).ok());
  EXPECT_TRUE(store_->ListRecords("s")->empty());
  EXPECT_FALSE(store_->GetRecord("s", "1")->has_value());
}

TEST_P(StorageSuite, CreatingARecordIsExclusiveAcrossConnections) {
  // Two independent connections (as two server processes would hold) race to create the
  // same records: each must be created exactly once.
  std::string url = testing::FreshStorageUrl(GetParam(), "records_race");
  auto a = Storage::Open(url);
  auto b = Storage::Open(url);
  ASSERT_TRUE(a.ok() && b.ok());
  std::atomic<int> created{0};
  auto race = [&](Storage* s) {
    for (int i = 0; i < 40; ++i) {
      Status st = s->WriteRecords({{"race", std::to_string(i), "{}", 0}});
      if (st.ok()) ++created;
      else EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition) << st.error().message;
    }
  };
  std::thread t1(race, a->get()), t2(race, b->get());
  t1.join();
  t2.join();
  EXPECT_EQ(created.load(), 40);
  EXPECT_EQ((*a)->ListRecords("race")->size(), 40u);
}

TEST_P(StorageSuite, ReopenKeepsData) {
  // Migrations are idempotent: opening an existing store applies nothing twice.
  auto url = testing::FreshStorageUrl(GetParam(), "reopen");
  {
    auto s = Storage::Open(url);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_TRUE((*s)->AppendLeaves(0, {Leaf("kept", 'k')}).ok());
  }
  auto s = Storage::Open(url);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*(*s)->LedgerSize(), 1u);
  EXPECT_EQ(*(*s)->SchemaVersion(), Migrations(GetParam()).back().version);
}

// The assessment's SQL: one text for both backends ('?' placeholders), all-or-nothing
// batches, read-only streaming queries with a deadline.
TEST_P(StorageSuite, SqlBatchesAndReadOnlyQueries) {
  ASSERT_TRUE(store_->ExecuteSql({{"CREATE TABLE assess_t (id TEXT PRIMARY KEY, n BIGINT, note TEXT)", {}},
                                  {"INSERT INTO assess_t (id, n, note) VALUES (?, ?, ?)",
                                   {{std::string("a"), int64_t{1}, std::string("x'?\"y")},
                                    {std::string("b"), int64_t{-7}, std::monostate{}},
                                    {std::string("c"), std::monostate{}, std::string("中文")}}}})
                  .ok());
  std::vector<std::string> seen;
  auto collect = [&](const SqlRow& r) -> Status {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += (r.IsNull(i) ? std::string("NULL") : std::string(r.Text(i))) + "|";
    seen.push_back(line);
    return OkStatus();
  };
  auto st = store_->QuerySql("SELECT id, n, note FROM assess_t WHERE id <> ? ORDER BY id", {std::string("zz")}, collect,
                             std::chrono::seconds(10));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(seen, (std::vector<std::string>{"a|1|x'?\"y|", "b|-7|NULL|", "c|NULL|中文|"}));

  // A failing statement rolls back the whole call.
  auto bad = store_->ExecuteSql({{"INSERT INTO assess_t (id, n) VALUES (?, ?)", {{std::string("d"), int64_t{4}}}},
                                 {"INSERT INTO assess_t (id, n) VALUES (?, ?)", {{std::string("a"), int64_t{5}}}}});
  EXPECT_FALSE(bad.ok());
  seen.clear();
  ASSERT_TRUE(store_->QuerySql("SELECT COUNT(*) FROM assess_t", {}, collect, std::chrono::seconds(10)).ok());
  EXPECT_EQ(seen, std::vector<std::string>{"3|"});

  // Queries cannot write, whatever their SQL says.
  auto write = store_->QuerySql("DELETE FROM assess_t", {}, collect, std::chrono::seconds(10));
  EXPECT_FALSE(write.ok());
  seen.clear();
  ASSERT_TRUE(store_->QuerySql("SELECT COUNT(*) FROM assess_t", {}, collect, std::chrono::seconds(10)).ok());
  EXPECT_EQ(seen, std::vector<std::string>{"3|"});

  // A syntax error is the caller's (kInvalidArgument), and names the problem.
  auto syntax = store_->QuerySql("SELEC 1", {}, collect, std::chrono::seconds(10));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().code, ErrorCode::kInvalidArgument);

  // The callback's error stops the query and comes back.
  int rows = 0;
  auto stop = store_->QuerySql("SELECT id FROM assess_t ORDER BY id", {}, [&](const SqlRow&) -> Status {
    ++rows;
    return MakeError(ErrorCode::kResourceExhausted, "enough");
  }, std::chrono::seconds(10));
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().message, "enough");
  EXPECT_EQ(rows, 1);

  // A runaway query hits its deadline.
  auto slow = store_->QuerySql(
      "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000000000) SELECT COUNT(*) FROM r",
      {}, collect, std::chrono::milliseconds(200));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::kResourceExhausted) << slow.error().message;
}

TEST_P(StorageSuite, SqlQueriesRunInParallel) {
  std::vector<std::vector<SqlValue>> rows;
  for (int i = 0; i < 2000; ++i) rows.push_back({int64_t{i}});
  ASSERT_TRUE(store_->ExecuteSql({{"CREATE TABLE assess_p (n BIGINT)", {}}, {"INSERT INTO assess_p (n) VALUES (?)", rows}}).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::string sum;
      auto st = store_->QuerySql("SELECT SUM(n) FROM assess_p", {}, [&](const SqlRow& r) -> Status {
        sum = std::string(r.Text(0));
        return OkStatus();
      }, std::chrono::seconds(30));
      if (st.ok() && sum == "1999000") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageSuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

TEST(BackendsTest, PostgresConfigured) {
  // The test command always starts PostgreSQL; a run without it must not look green.
  ASSERT_NE(std::getenv("CLOUDPACT_TEST_PG_URL"), nullptr)
      << "CLOUDPACT_TEST_PG_URL is unset: run the tests through `make test`, which starts PostgreSQL";
}

TEST(StorageOpen, RejectsEmptyPathAndUnreachableServer) {
  EXPECT_FALSE(Storage::Open("sqlite:").ok());
  auto pg = Storage::Open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cloudpact::storage
