// The real executable, as an operator runs it: start, load, kill -9, restart, verify.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/encoding.h"
#include "core/json.h"
#include "ledger/checkpoint.h"
#include "ledger/tiles.h"
#include "ledger/verifier.h"
#include "net/http_client.h"
#include "testing/backends.h"
#include "testing/fixtures.h"
#include "e2e_support.h"

namespace cloudpact {
namespace {

namespace fs = std::filesystem;

struct Load {
  std::mutex mu;
  std::map<uint64_t, std::string> acked;  // index -> leaf hash hex
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::string last_checkpoint;

  void Start(const std::string& url, const std::string& token, int clients) {
    for (int t = 0; t < clients; ++t) {
      threads.emplace_back([=, this] {
        auto c = net::HttpClient::Create(url);
        (*c)->set_timeout(std::chrono::milliseconds(5000));
        for (int i = 0; !stop; ++i) {
          auto r = (*c)->Request("POST", "/v1/ledger/entries",
                                 R"({"type":"load.test","body":{"client":)" + std::to_string(t) +
                                     R"(,"i":)" + std::to_string(i) + "}}",
                                 {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
          if (!r.ok() || r->status != 201) continue;
          auto j = ParseJson(r->body);
          std::lock_guard<std::mutex> lock(mu);
          acked[(*j)["index"].get<uint64_t>()] = (*j)["leaf_hash"].get<std::string>();
        }
      });
    }
    threads.emplace_back([=, this] {
      auto c = net::HttpClient::Create(url);
      while (!stop) {
        auto r = (*c)->Request("GET", "/ledger/checkpoint");
        if (r.ok() && r->status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          last_checkpoint = r->body;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  // Waits until at least n appends were acknowledged (the machine may be slow: ASan, a
  // parallel test), rather than sleeping a fixed time.
  void WaitForAcks(size_t n) {
    for (int i = 0; i < 1200; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (acked.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void Join() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};


// After a restart: every acknowledged entry is there, unchanged, and the log is consistent
// with the last checkpoint a client saw before the crash.
void CheckRecovered(const std::string& url, const fs::path& dir, Load& load) {
  std::string vkey = ReadAll(dir / "ledger-key.pub");
  vkey.pop_back();
  auto key = crypto::NoteVerifier::Parse(vkey);
  ASSERT_TRUE(key.ok());
  auto c = net::HttpClient::Create(url);
  ASSERT_FALSE(load.acked.empty());
  uint64_t need = load.acked.rbegin()->first + 1;
  // The next checkpoint covers everything acknowledged.
  for (int i = 0; i < 100; ++i) {
    auto cp = (*c)->Request("GET", "/ledger/checkpoint");
    ASSERT_TRUE(cp.ok()) << cp.error().message;
    auto note = crypto::ParseNote(cp->body);
    if (note.ok() && ledger::ParseCheckpoint(note->text)->size >= need) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto source = ledger::HttpTileSource(url + "/ledger");
  ledger::VerifyOptions opts;
  ASSERT_FALSE(load.last_checkpoint.empty());
  auto old_note = crypto::ParseNote(load.last_checkpoint);
  ASSERT_TRUE(old_note.ok());
  auto old_cp = ledger::ParseCheckpoint(old_note->text);
  opts.previous = ledger::VerifierState{old_cp->origin, old_cp->size, old_cp->root};
  auto report = ledger::VerifyLog(**source, *key, opts);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->consistent_with_previous);
  ASSERT_GE(report->checkpoint.size, need);
  // Compare every acknowledged leaf hash against the level-0 tiles.
  uint64_t size = report->checkpoint.size;
  std::vector<std::string> hashes;
  for (uint64_t t = 0; t * 256 < size; ++t) {
    uint32_t w = static_cast<uint32_t>(std::min<uint64_t>(256, size - t * 256));
    auto tile = (*source)->Get("tile/" + ledger::FormatTilePath({false, 0, t, w}));
    ASSERT_TRUE(tile.ok());
    for (uint32_t i = 0; i < w; ++i) hashes.push_back(HexEncode(tile->substr(i * 32, 32)));
  }
  for (const auto& [index, hash] : load.acked) ASSERT_EQ(hashes[index], hash) << "entry " << index;
}

TEST(EndToEnd, KillNineLosesNoAcknowledgedEntry) {
  auto dir = testing::TempDir("crash") / "data";
  Load load;
  {
    Server s(dir);
    std::string url = s.WaitUrl();
    ASSERT_FALSE(url.empty());
    load.Start(url, Token(dir), 16);
    load.WaitForAcks(2000);  // then kill while the clients keep appending
    EXPECT_EQ(s.Kill(SIGKILL), 128 + SIGKILL);
    load.Join();
  }
  ASSERT_GE(load.acked.size(), 2000u) << "the load generator made too little progress to test anything";
  std::cout << "acknowledged before kill -9: " << load.acked.size() << "\n";
  Server s(dir);
  std::string url = s.WaitUrl();
  ASSERT_FALSE(url.empty());
  CheckRecovered(url, dir, load);
}

TEST(EndToEnd, SigtermDrainsAndExitsCleanly) {
  auto dir = testing::TempDir("term") / "data";
  Load load;
  Server s(dir);
  std::string url = s.WaitUrl();
  ASSERT_FALSE(url.empty());
  load.Start(url, Token(dir), 8);
  load.WaitForAcks(1000);
  EXPECT_EQ(s.Kill(SIGTERM), 0) << s.log();
  load.Join();
  EXPECT_NE(s.log().find("\"msg\":\"stopped\""), std::string::npos);
  Server again(dir);
  url = again.WaitUrl();
  ASSERT_FALSE(url.empty());
  CheckRecovered(url, dir, load);
  // A graceful stop answers every request it committed: nothing durable went unanswered
  // (the one extra entry is the admin token's issuance).
  auto c = net::HttpClient::Create(url);
  auto info = (*c)->Request("GET", "/v1/ledger/entries/" + std::to_string(load.acked.size() + 1));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, 404) << "an entry was committed but its client never heard";
  EXPECT_TRUE(load.acked.count(load.acked.size()));  // the last index is one a client holds
}

TEST(EndToEnd, FirstStartWritesSecretsOwnerOnly) {
  auto dir = testing::TempDir("secrets") / "data";
  Server s(dir);
  ASSERT_FALSE(s.WaitUrl().empty());
  for (const char* f : {"initial-admin-token", "ledger-key", "cloudpact.db"}) {
    struct stat st{};
    ASSERT_EQ(::stat((dir / f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  struct stat st{};
  ::stat(dir.c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(ReadAll(dir / "initial-admin-token").rfind("cpt_", 0), 0u);
}

TEST(EndToEnd, RefusesPlainHttpOffLoopbackAndSaysWhy) {
  auto dir = testing::TempDir("refuse") / "data";
  auto [code, out] = RunCommand(std::string(CLOUDPACT_BIN) + " serve --data-dir " + dir.string() + " --listen 0.0.0.0:0");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--tls-cert"), std::string::npos) << out;
}

TEST(EndToEnd, OriginCannotChangeAfterFirstStart) {
  auto dir = testing::TempDir("origin") / "data";
  {
    Server s(dir, {"--ledger-origin", "logs.example/one"});
    ASSERT_FALSE(s.WaitUrl().empty());
    s.Kill(SIGTERM);
  }
  auto [code, out] = RunCommand(std::string(CLOUDPACT_BIN) + " serve --data-dir " + dir.string() +
                         " --listen 127.0.0.1:0 --ledger-origin logs.example/two");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("cannot change"), std::string::npos) << out;
}

TEST(EndToEnd, VerifyCommandOnTesseraLogAndRunningServer) {
  std::string bin = CLOUDPACT_BIN;
  std::string tessera = testing::TesseraDir();
  std::string tkey = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
  auto [code, out] = RunCommand(bin + " ledger verify --dir " + tessera + " --key " + tkey);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("size=15"), std::string::npos) << out;
  std::tie(code, out) = RunCommand(bin + " ledger verify --dir " + tessera +
                            " --key example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("VERIFICATION FAILED"), std::string::npos);

  auto dir = testing::TempDir("verify") / "data";
  Server s(dir, {"--demo"});
  std::string url = s.WaitUrl();
  ASSERT_FALSE(url.empty());
  std::string vkey = ReadAll(dir / "ledger-key.pub");
  vkey.pop_back();
  std::string state = (dir.parent_path() / "state.json").string();
  // The admin token's issuance, then the demo directory, policy and tokens, all under the
  // checkpoint published when the demo was loaded.
  auto c = net::HttpClient::Create(url);
  auto info = ParseJson((*c)->Request("GET", "/v1/ledger/info")->body);
  const uint64_t n = (*info)["size"].get<uint64_t>();
  EXPECT_GT(n, 20u);
  std::tie(code, out) = RunCommand(bin + " ledger verify --url " + url + "/ledger --key " + vkey + " --state " + state);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("size=" + std::to_string(n)), std::string::npos) << out;
  auto r = (*c)->Request("POST", "/v1/ledger/entries", R"({"type":"t","body":{}})",
                         {{"Authorization", "Bearer " + Token(dir)}, {"Content-Type", "application/json"}});
  ASSERT_EQ(r->status, 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::tie(code, out) = RunCommand(bin + " ledger verify --url " + url + "/ledger --key " + vkey + " --state " + state);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("size=" + std::to_string(n + 1)), std::string::npos) << out;
  EXPECT_NE(out.find("consistent_with=" + std::to_string(n)), std::string::npos) << out;
  EXPECT_NE(out.find("mode=incremental"), std::string::npos) << out;
  std::tie(code, out) = RunCommand(bin + " ledger verify --full --url " + url + "/ledger --key " + vkey + " --state " + state);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("mode=full"), std::string::npos) << out;
  // A state from a different history (forked log) is caught.
  std::ofstream(state) << ledger::VerifierState{"vm/cloudpact", 3, ledger::Hash{}}.ToJson();
  auto j = *ParseJson(ReadAll(state));
  j["origin"] = (*crypto::NoteVerifier::Parse(vkey)).name();
  std::ofstream(state) << j.dump();
  std::tie(code, out) = RunCommand(bin + " ledger verify --url " + url + "/ledger --key " + vkey + " --state " + state);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("inconsistent"), std::string::npos) << out;
}

}  // namespace
}  // namespace cloudpact

namespace cloudpact {
namespace {

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

void AppendOne(const std::string& url, const std::string& token) {
  auto c = net::HttpClient::Create(url);
  auto r = (*c)->Request("POST", "/v1/ledger/entries", R"({"type":"t","body":{}})",
                         {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201) << r->body;
}

TEST(EndToEnd, WitnessCosignsConsistentCheckpointsAndRaisesTheAlarmOnAFork) {
  std::string bin = CLOUDPACT_BIN;
  auto root = testing::TempDir("witness");
  auto [code, out] = RunCommand(bin + " witness init --data-dir " + (root / "w").string() + " --name witness.test/w1");
  ASSERT_EQ(code, 0) << out;
  std::string wkey = FirstLine(out);
  ASSERT_EQ(wkey.rfind("witness.test/w1+", 0), 0u) << out;

  auto dir = root / "log";
  Server s(dir, {"--witness-key", wkey});
  std::string url = s.WaitUrl();
  ASSERT_FALSE(url.empty());
  std::string vkey = FirstLine(ReadAll(dir / "ledger-key.pub"));
  std::string witness_run = bin + " witness run --once --data-dir " + (root / "w").string() + " --log-key " + vkey;

  std::tie(code, out) = RunCommand(witness_run + " --log-url " + url);
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = RunCommand(bin + " ledger verify --url " + url + "/ledger --key " + vkey + " --witness " + wkey);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("cosigned_by=witness.test/w1"), std::string::npos) << out;

  // The log grows; the witness checks the consistency proof and cosigns again.
  AppendOne(url, Token(dir));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::tie(code, out) = RunCommand(witness_run + " --log-url " + url);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"advanced\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"size\":2"), std::string::npos) << out;

  // A fork: the same signing key over a different history. Validly signed, so only a
  // witness (or a verifier with state) can tell.
  auto fork = root / "fork";
  std::filesystem::create_directories(fork);
  std::filesystem::copy_file(dir / "ledger-key", fork / "ledger-key");
  std::filesystem::permissions(fork, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  Server f(fork);
  std::string furl = f.WaitUrl();
  ASSERT_FALSE(furl.empty());
  for (int i = 0; i < 4; ++i) AppendOne(furl, Token(fork));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::tie(code, out) = RunCommand(witness_run + " --log-url " + furl);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("WITNESS ALARM"), std::string::npos) << out;
  EXPECT_NE(out.find("not consistent"), std::string::npos) << out;
}

}  // namespace
}  // namespace cloudpact
