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

// The gateway's commands that need no SSH target: credentials for a target (read from an
// owner-only file, listed by fingerprint, never echoed), the session list, and exec without a
// grant. tests/gateway_e2e_test.cc drives real sessions.
TEST(EndToEnd, GatewayCommandsWithoutATarget) {
  auto base = testing::TempDir("gateway-cli");
  auto dir = base / "data";
  Server s(dir, {"--demo"});
  std::string url = s.WaitUrl();
  ASSERT_FALSE(url.empty());
  auto cli = [&](const std::string& args, const std::string& token_file) {
    return RunCommand(std::string(CLOUDPACT_BIN) + " " + args + " --url " + url + " --token-file " + token_file);
  };
  const std::string admin = (dir / "initial-admin-token").string();
  const std::string alice = (dir / "demo" / "alice.token").string();

  // bj-host-01 becomes an SSH target (pinned host key, never dialled here).
  auto [kc, kout] = RunCommand("ssh-keygen -q -t ed25519 -N '' -C target-host -f " + (base / "host").string() + " && ssh-keygen -q -t ed25519 -N '' -C cred -f " + (base / "cred").string());
  ASSERT_EQ(kc, 0) << kout;
  std::string host_key = ReadAll(base / "host.pub");
  while (!host_key.empty() && host_key.back() == '\n') host_key.pop_back();
  {
    std::ofstream f(base / "dir.yaml");
    f << "resources:\n  - {id: bj-host-01, platform: openstack-bj, type: host, risk: medium, labels: {env: prod}, "
         "ssh: {host: 127.0.0.1, port: 22, host_key: \"" << host_key << "\"}}\n";
  }
  auto [ac, aout] = cli("apply -f " + (base / "dir.yaml").string(), admin);
  ASSERT_EQ(ac, 0) << aout;

  // A key file others can read is refused before anything is sent.
  const std::string key = (base / "cred").string();
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto [c1, o1] = cli("target credential set --target bj-host-01 --login root --key-file " + key, admin);
  EXPECT_EQ(c1, 2) << o1;
  EXPECT_NE(o1.find("accessible by group or others"), std::string::npos) << o1;
  EXPECT_NE(o1.find("chmod 600"), std::string::npos) << o1;
  auto [l0, lo0] = cli("target credential list --target bj-host-01", admin);
  EXPECT_EQ(l0, 0) << lo0;
  EXPECT_NE(lo0.find("no credentials"), std::string::npos) << lo0;

  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  auto [fc, fout] = RunCommand("ssh-keygen -l -f " + key + ".pub");
  ASSERT_EQ(fc, 0) << fout;
  size_t at = fout.find("SHA256:");
  ASSERT_NE(at, std::string::npos) << fout;
  const std::string fingerprint = fout.substr(at, fout.find(' ', at) - at);
  auto [c2, o2] = cli("target credential set --target bj-host-01 --login root --key-file " + key, admin);
  EXPECT_EQ(c2, 0) << o2;
  EXPECT_NE(o2.find(fingerprint), std::string::npos) << o2;
  {
    std::ofstream f(base / "password");
    f << "correct horse battery staple\n";
  }
  ASSERT_EQ(::chmod((base / "password").c_str(), 0600), 0);
  auto [c3, o3] = cli("target credential set --target bj-host-01 --login deploy --password-file " + (base / "password").string(), admin);
  EXPECT_EQ(c3, 0) << o3;

  // Listed by login and fingerprint; no secret in either output.
  const std::string private_key = ReadAll(key);
  const std::string secret_part = private_key.substr(private_key.size() / 2, 24);  // key material
  for (const char* json : {"", " --json"}) {
    auto [lc, lo] = cli(std::string("target credential list --target bj-host-01") + json, admin);
    EXPECT_EQ(lc, 0) << lo;
    EXPECT_NE(lo.find(fingerprint), std::string::npos) << lo;
    EXPECT_NE(lo.find("root"), std::string::npos) << lo;
    EXPECT_NE(lo.find("deploy"), std::string::npos) << lo;
    EXPECT_EQ(lo.find(secret_part), std::string::npos) << lo;
    EXPECT_EQ(lo.find("horse"), std::string::npos) << lo;
    EXPECT_EQ(lo.find("secret"), std::string::npos) << lo;
  }
  // A resource without an ssh endpoint has no credentials to set; operators may not set any.
  auto [c4, o4] = cli("target credential set --target sh-node-01 --login root --key-file " + key, admin);
  EXPECT_EQ(c4, 1) << o4;
  EXPECT_NE(o4.find("no ssh endpoint"), std::string::npos) << o4;
  auto [c5, o5] = cli("target credential set --target bj-host-01 --login root --key-file " + key, alice);
  EXPECT_EQ(c5, 1) << o5;
  EXPECT_NE(o5.find("targets:credentials"), std::string::npos) << o5;

  // No sessions yet.
  auto [s1, so1] = cli("sessions list", alice);
  EXPECT_EQ(s1, 0) << so1;
  EXPECT_NE(so1.find("no sessions"), std::string::npos) << so1;
  auto [s2, so2] = cli("sessions reviews", admin);
  EXPECT_EQ(s2, 0) << so2;
  EXPECT_NE(so2.find("no commands awaiting review"), std::string::npos) << so2;

  // exec without a grant: refused, says why, non-zero; a service token is not a person.
  auto exec = [&](const std::string& token_file) {
    return RunCommand(std::string(CLOUDPACT_BIN) + " exec --target bj-host-01 --login root --timeout 10 --url " + url +
                      " --token-file " + token_file + " -- uname -a");
  };
  auto [e1, eo1] = exec(alice);
  EXPECT_NE(e1, 0) << eo1;
  EXPECT_NE(eo1.find("no active grant"), std::string::npos) << eo1;
  auto [e2, eo2] = exec(admin);
  EXPECT_NE(e2, 0) << eo2;
  EXPECT_NE(eo2.find("staff"), std::string::npos) << eo2;

  // The refusal is itself a session: alice sees it, with the reason.
  auto [s3, so3] = cli("sessions list --operator alice", alice);
  EXPECT_EQ(s3, 0) << so3;
  EXPECT_NE(so3.find("refused"), std::string::npos) << so3;
  at = so3.find("ses_");
  ASSERT_NE(at, std::string::npos) << so3;
  const std::string session = so3.substr(at, 20);
  auto [s4, so4] = cli("sessions show " + session, alice);
  EXPECT_EQ(s4, 0) << so4;
  EXPECT_NE(so4.find("root@bj-host-01"), std::string::npos) << so4;
  EXPECT_NE(so4.find("uname -a"), std::string::npos) << so4;
  EXPECT_NE(so4.find("no active grant"), std::string::npos) << so4;
  auto [s5, so5] = cli("sessions list --active", alice);
  EXPECT_EQ(s5, 0) << so5;
  EXPECT_NE(so5.find("no sessions"), std::string::npos) << so5;
  // A refused session has no recording; nothing is written.
  auto [r1, ro1] = cli("sessions recording " + session + " -o " + (base / "rec.cast").string(), alice);
  EXPECT_EQ(r1, 1) << ro1;
  EXPECT_FALSE(fs::exists(base / "rec.cast"));
}

}  // namespace
}  // namespace cloudpact
