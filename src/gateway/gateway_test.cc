// The gateway end to end with real OpenSSH on both sides: Debian's ssh client as the
// operator, Debian's sshd (on a loopback port, with its own keys) as the target, and the
// gateway in process so that its storage and recording store can be made to fail.
#include "gateway/gateway.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/encoding.h"
#include "core/files.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"
#include "testing/sshd.h"

namespace cloudpact::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTotp = "424242";

// Fails every write once `broken` is set: a recording store whose disk went away.
class BreakableStore final : public RecordingStore {
 public:
  explicit BreakableStore(RecordingStore& inner) : inner_(inner) {}
  std::atomic<bool> broken{false};
  std::atomic<bool> refuse_begin{false};

  Result<std::unique_ptr<RecordingWriter>> Begin(const RecordingHeader& header) override {
    if (refuse_begin) return MakeError(ErrorCode::kUnavailable, "injected: recording store unavailable");
    ASSIGN_OR_RETURN(auto w, inner_.Begin(header));
    return std::unique_ptr<RecordingWriter>(new Writer(std::move(w), broken));
  }
  Result<std::string> Read(std::string_view sha, size_t max) const override { return inner_.Read(sha, max); }
  Result<std::string> ReadCompressed(std::string_view sha, size_t max) const override {
    return inner_.ReadCompressed(sha, max);
  }

 private:
  class Writer final : public RecordingWriter {
   public:
    Writer(std::unique_ptr<RecordingWriter> inner, std::atomic<bool>& broken) : inner_(std::move(inner)), broken_(broken) {}
    Status Output(double t, std::string_view d) override { return Check() ? inner_->Output(t, d) : Fail(); }
    Status Input(double t, std::string_view d) override { return Check() ? inner_->Input(t, d) : Fail(); }
    Status Resize(double t, int c, int r) override { return Check() ? inner_->Resize(t, c, r) : Fail(); }
    Status Marker(double t, std::string_view l) override { return Check() ? inner_->Marker(t, l) : Fail(); }
    Status Flush() override { return Check() ? inner_->Flush() : Fail(); }
    Result<RecordingInfo> Finish() override { return inner_->Finish(); }

   private:
    bool Check() const { return !broken_; }
    static Status Fail() { return MakeError(ErrorCode::kUnavailable, "injected: No space left on device"); }
    std::unique_ptr<RecordingWriter> inner_;
    std::atomic<bool>& broken_;
  };
  RecordingStore& inner_;
};

std::string Policy() {
  return R"(roles:
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*"], resources: {types: [host]}}
  - name: lead
    admin: [access:review, sessions:read, sessions:control]
gateway:
  review_timeout: 2m
  commands:
    - {name: no-denied-files, pattern: 'touch\s+\S*denied', action: deny, message: "禁止 / not here"}
    - {name: review-marked, pattern: 'touch\s+\S*reviewed', action: review}
    - {name: watch-id, pattern: '^id\b', action: alert}
  file_transfers:
    - {name: sftp-hosts, action: allow, match: {resources: {labels: {sftp: "yes"}}}}
)";
}

class GatewayTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = testing::TempDir("gw-" + std::to_string(getpid()));
    work_ = dir_ / "work";
    fs::create_directories(work_);
    inner_ = testing::OpenFresh(GetParam(), name);
    store_ = std::make_unique<testing::FaultyStorage>(*inner_);
    ledger_ = ledger::Ledger::Open(*store_, crypto::NoteSigner("test.example/gw", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x09'))), {}).value();
    directory_ = directory::Directory::Load(*store_, *ledger_).value();
    access_ = access::AccessService::Load(*store_, *ledger_, *directory_).value();
    ASSERT_TRUE(access_->ProposePolicy(Policy(), "root-admin").ok());

    alice_key_ = testing::GenerateSshKey(dir_, "alice").value();
    erin_key_ = testing::GenerateSshKey(dir_, "erin").value();
    target_key_ = testing::GenerateSshKey(dir_, "gateway-to-target").value();
    other_host_key_ = testing::GenerateSshKey(dir_, "not-the-host-key").value();
    auto sshd = testing::Sshd::Start(dir_ / "sshd", {target_key_.public_line});
    ASSERT_TRUE(sshd.ok()) << sshd.error().message;
    sshd_ = std::move(*sshd);
    login_ = sshd_->login();

    const std::string port = std::to_string(sshd_->port());
    std::string yaml = "platforms: [{id: lab}]\nresources:\n"
                       "  - {id: tgt01, platform: lab, type: host, labels: {sftp: \"yes\"}, ssh: {host: 127.0.0.1, port: " + port +
                       ", host_key: \"" + sshd_->host_key_line() + "\"}}\n"
                       "  - {id: tgt02, platform: lab, type: host, ssh: {host: 127.0.0.1, port: " + port +
                       ", host_key: \"" + sshd_->host_key_line() + "\"}}\n"
                       "  - {id: imposter, platform: lab, type: host, ssh: {host: 127.0.0.1, port: " + port +
                       ", host_key: \"" + other_host_key_.public_line + "\"}}\n"
                       "staff:\n"
                       "  - {id: alice, roles: [sre], ssh_keys: [\"" + alice_key_.public_line + "\"]}\n"
                       "  - {id: erin, roles: [lead], ssh_keys: [\"" + erin_key_.public_line + "\"]}\n";
    auto spec = directory::ParseDirectory(*ParseYaml(yaml));
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    ASSERT_TRUE(directory_->Apply(*spec, "root-admin").ok());

    sealer_ = std::make_unique<crypto::Sealer>(crypto::Sealer::FromKey(std::string(32, 'k')).value());
    credentials_ = std::make_unique<Credentials>(*store_, *ledger_, *sealer_);
    for (const char* t : {"tgt01", "tgt02", "imposter"}) {
      auto c = credentials_->Set(t, login_, "key", target_key_.private_pem, "root-admin", 1);
      ASSERT_TRUE(c.ok()) << c.error().message;
    }
    files_ = OpenRecordingStore(dir_ / "recordings").value();
    recordings_ = std::make_unique<BreakableStore>(*files_);
    StartGateway();
  }

  void StartGateway() {
    GatewayDeps deps;
    deps.store = store_.get();
    deps.ledger = ledger_.get();
    deps.directory = directory_.get();
    deps.access = access_.get();
    deps.credentials = credentials_.get();
    deps.recordings = recordings_.get();
    deps.verify_totp = [](const std::string&, const std::string& code) {
      return code == kTotp ? OkStatus() : Status(MakeError(ErrorCode::kUnauthenticated, "wrong code"));
    };
    GatewayOptions opt;
    opt.port = 0;
    opt.host_key = dir_ / "gateway-host-key";
    opt.check_interval_ms = 100;
    auto gw = Gateway::Start(deps, opt);
    ASSERT_TRUE(gw.ok()) << gw.error().message;
    gw_ = std::move(*gw);
  }

  // An approved grant for alice on `target` as the test's login.
  std::string Grant(const std::string& target, int64_t seconds = 3600) {
    access::NewRequest r;
    r.resources = {target};
    r.actions = {"login:" + login_};
    r.reason = "maintenance";
    r.justification = "gateway test";
    r.ticket = "CHG-7";
    r.duration_seconds = seconds;
    auto req = access_->CreateRequest("alice", r);
    EXPECT_TRUE(req.ok()) << req.error().message;
    auto ok = access_->AddReview(req->id, "erin", {"approve", "", ""});
    EXPECT_TRUE(ok.ok()) << ok.error().message;
    return req->id;
  }

  // Flags (-tt, -o X=Y) go first, the remote command (if any) after the destination.
  std::vector<std::string> SshArgs(const std::string& user, const testing::SshKeyPair& key,
                                    std::vector<std::string> flags = {}, const std::string& command = "") {
    auto args = testing::SshClientArgs(gw_->port(), user, key.private_key_path);
    args.insert(args.begin(), flags.begin(), flags.end());
    if (!command.empty()) args.push_back(command);
    return args;
  }
  testing::ProcessOptions Totp(const std::string& code = kTotp) {
    testing::ProcessOptions o;
    o.askpass_answer = code;
    o.askpass_dir = dir_ / ("askpass-" + code);
    return o;
  }
  std::string AliceUser(const std::string& target) { return "alice:" + login_ + ":" + target; }

  // An interactive session as alice on target; waits for the shell to answer.
  std::unique_ptr<testing::SshProcess> Shell(const std::string& target) {
    auto args = SshArgs(AliceUser(target), alice_key_, {"-tt"});
    auto p = testing::SshProcess::Start(args, Totp());
    EXPECT_TRUE(p.ok()) << p.error().message;
    if (!p.ok()) return nullptr;
    // Keys typed before the target's shell has started can be swallowed by its start-up
    // files (this machine's root .bashrc runs pyenv), so ask again until the shell answers.
    Result<std::string> seen = MakeError(ErrorCode::kUnavailable, "not asked");
    for (int attempt = 0; attempt < 6 && !seen.ok(); ++attempt) {
      EXPECT_TRUE((*p)->Write("echo ready-$((40+2))\r").ok());
      seen = (*p)->ReadUntil("ready-42", 5s);
    }
    EXPECT_TRUE(seen.ok()) << seen.error().message << "\nstderr: " << (*p)->stderr_text();
    return std::move(*p);
  }

  std::vector<Json> Entries(const std::string& type) {
    std::vector<Json> out;
    for (uint64_t i = 0; i < ledger_->Size(); ++i) {
      auto j = *ParseJson(*ledger_->ReadEntry(i));
      if (j["type"] == type) out.push_back(j);
    }
    return out;
  }

  // Waits until the gateway has no live session (their records are then final).
  void WaitForSessionsToEnd() {
    for (int i = 0; i < 300 && !gw_->Sessions(true).empty(); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(gw_->Sessions(true).empty());
  }

  fs::path dir_, work_;
  std::string login_;
  std::unique_ptr<storage::Storage> inner_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<access::AccessService> access_;
  std::unique_ptr<crypto::Sealer> sealer_;
  std::unique_ptr<Credentials> credentials_;
  std::unique_ptr<RecordingStore> files_;
  std::unique_ptr<BreakableStore> recordings_;
  std::unique_ptr<testing::Sshd> sshd_;
  testing::SshKeyPair alice_key_, erin_key_, target_key_, other_host_key_;
  std::unique_ptr<Gateway> gw_;
};

TEST(GatewayUserTest, Syntax) {
  auto u = ParseGatewayUser("alice:root:db01");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, GatewayUser::Kind::kSession);
  EXPECT_EQ(u->operator_id, "alice");
  EXPECT_EQ(u->login, "root");
  EXPECT_EQ(u->target, "db01");
  EXPECT_EQ(ParseGatewayUser("alice")->kind, GatewayUser::Kind::kList);
  auto w = ParseGatewayUser("dave:watch:ses_0123456789abcdef");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->kind, GatewayUser::Kind::kWatch);
  EXPECT_EQ(w->session, "ses_0123456789abcdef");
  for (const char* bad : {"", "alice:", "alice:root", "a:b:c:d", "alice:Root:db01", "alice::db01", ":root:db01"}) {
    EXPECT_FALSE(ParseGatewayUser(bad).ok()) << bad;
  }
}

TEST_P(GatewayTest, NoGrantNoSession) {
  auto r = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}), "", 30s, Totp());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->stderr_text.find("no active grant covers login:" + login_ + " on tgt01"), std::string::npos) << r->stderr_text;
  auto refused = Entries("gateway.session.refused");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["body"]["operator"], "alice");
  EXPECT_TRUE(Entries("gateway.session.start").empty());
}

TEST_P(GatewayTest, WrongKeyOrWrongSecondFactorIsNotLetIn) {
  Grant("tgt01");
  auto wrong_key = testing::RunSsh(SshArgs(AliceUser("tgt01"), erin_key_, {"-o", "BatchMode=yes"}), "", 30s);
  ASSERT_TRUE(wrong_key.ok());
  EXPECT_EQ(wrong_key->exit_code, 255) << wrong_key->stderr_text;
  auto wrong_code = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}), "", 30s, Totp("000000"));
  ASSERT_TRUE(wrong_code.ok());
  EXPECT_EQ(wrong_code->exit_code, 255) << wrong_code->stderr_text;
  EXPECT_TRUE(Entries("gateway.session.start").empty());
  auto ok = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}), "", 30s, Totp());
  ASSERT_TRUE(ok.ok());
  EXPECT_NE(ok->exit_code, 255) << ok->stderr_text;
}

TEST_P(GatewayTest, OperatorAloneGetsTheTargetsTheyHoldGrantsFor) {
  Grant("tgt02");
  auto r = testing::RunSsh(SshArgs("alice", alice_key_, {}), "", 30s, Totp());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text;
  EXPECT_NE(r->stdout_text.find("alice:" + login_ + ":tgt02"), std::string::npos) << r->stdout_text;
  EXPECT_EQ(r->stdout_text.find("tgt01"), std::string::npos) << r->stdout_text;
}

TEST_P(GatewayTest, ExecCommandsAreDecidedAsAWhole) {
  const std::string grant = Grant("tgt01");
  const fs::path denied = work_ / "x-denied", allowed = work_ / "x-allowed";
  auto r = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}, "touch " + denied.string()), "", 30s, Totp());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->stderr_text.find("command denied (rule no-denied-files)"), std::string::npos) << r->stderr_text;
  EXPECT_FALSE(fs::exists(denied));
  auto ok = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}, "touch " + allowed.string() + " && echo made-$((3*3))"),
                            "", 30s, Totp());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
  EXPECT_EQ(ok->stdout_text, "made-9\n");
  EXPECT_TRUE(fs::exists(allowed));
  auto fail = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}, "exit 7"), "", 30s, Totp());
  ASSERT_TRUE(fail.ok());
  EXPECT_EQ(fail->exit_code, 7);  // the target's exit status reaches the operator
  WaitForSessionsToEnd();
  auto cmds = Entries("gateway.command");
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0]["body"]["decision"], "deny");
  EXPECT_EQ(cmds[1]["body"]["decision"], "allow");
  // The tenant-facing access log lists the sessions with the grant.
  auto req = access_->Get(grant);
  ASSERT_TRUE(req.ok());
  EXPECT_GE(req->ledger_indexes.size(), 2u + 3u);
}

TEST_P(GatewayTest, InteractiveCommandsAreAllowedDeniedAndHeldForReview) {
  Grant("tgt01");
  auto shell = Shell("tgt01");
  ASSERT_TRUE(shell);
  const fs::path denied = work_ / "i-denied", reviewed = work_ / "i-reviewed";
  ASSERT_TRUE(shell->Write("touch " + denied.string() + "\r").ok());
  ASSERT_TRUE(shell->ReadUntil("command denied (rule no-denied-files)", 20s).ok()) << shell->stdout_text();
  ASSERT_TRUE(shell->Write("echo after-deny-$((1+1))\r").ok());
  ASSERT_TRUE(shell->ReadUntil("after-deny-2", 20s).ok()) << shell->stdout_text();
  EXPECT_FALSE(fs::exists(denied));

  ASSERT_TRUE(shell->Write("touch " + reviewed.string() + "\r").ok());
  ASSERT_TRUE(shell->ReadUntil("command held for review", 20s).ok()) << shell->stdout_text();
  std::vector<PendingCommand> pending;
  for (int i = 0; i < 100 && pending.empty(); ++i, std::this_thread::sleep_for(50ms)) pending = gw_->PendingReviews();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].command.text, "touch " + reviewed.string());
  EXPECT_FALSE(fs::exists(reviewed));
  // Nobody reviews their own command.
  EXPECT_EQ(gw_->ReviewCommand(pending[0].session, pending[0].command.seq, "alice", true, "").error().code,
            ErrorCode::kPermissionDenied);
  auto approved = gw_->ReviewCommand(pending[0].session, pending[0].command.seq, "erin", true, "ok for CHG-7");
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  ASSERT_TRUE(shell->ReadUntil("command approved by erin", 20s).ok()) << shell->stdout_text();
  ASSERT_TRUE(shell->Write("echo after-review-$((2+2))\r").ok());
  ASSERT_TRUE(shell->ReadUntil("after-review-4", 20s).ok()) << shell->stdout_text();
  EXPECT_TRUE(fs::exists(reviewed));
  ASSERT_TRUE(shell->Write("exit\r").ok());
  EXPECT_EQ(*shell->Wait(20s), 0);
  WaitForSessionsToEnd();

  auto sessions = gw_->Sessions(false);
  ASSERT_EQ(sessions.size(), 1u);
  auto s = gw_->GetSession(sessions[0].id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state, "ended");
  std::vector<std::string> states;
  for (const auto& c : s->commands) states.push_back(c.decision + "/" + c.state);
  EXPECT_EQ(states, (std::vector<std::string>{"allow/allowed", "deny/denied", "allow/allowed", "review/approved",
                                              "allow/allowed", "allow/allowed"}));
  // The recording is in the ledger by its hash, and plays back what the operator saw.
  auto end = Entries("gateway.session.end");
  ASSERT_EQ(end.size(), 1u);
  const std::string sha = end[0]["body"]["recording_sha256"];
  EXPECT_EQ(sha, s->recording_sha256);
  auto cast = gw_->Recording(s->id, 1 << 20);
  ASSERT_TRUE(cast.ok()) << cast.error().message;
  EXPECT_EQ(HexEncode(crypto::AsBytes(crypto::Sha256(*cast))), sha);
  std::string played;
  std::istringstream lines(*cast);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ((*ParseJson(line))["version"], 2);
  while (std::getline(lines, line)) {
    auto ev = *ParseJson(line);
    if (ev[1] == "o") played += ev[2].get<std::string>();
  }
  for (const char* seen : {"ready-42", "after-deny-2", "after-review-4", "command denied (rule no-denied-files)"}) {
    EXPECT_NE(played.find(seen), std::string::npos) << seen;
  }
  // Command lines are off-tree, committed to by the entry.
  auto cmds = Entries("gateway.command");
  ASSERT_EQ(cmds.size(), 6u);
  EXPECT_EQ(cmds[1]["body"]["command_sha256"], HexEncode(crypto::AsBytes(crypto::Sha256("touch " + denied.string()))));
  EXPECT_EQ(Entries("gateway.command.review").size(), 1u);
}

TEST_P(GatewayTest, TheSessionEndsWhenTheGrantIsRevokedOrExpires) {
  const std::string grant = Grant("tgt01");
  auto shell = Shell("tgt01");
  ASSERT_TRUE(shell);
  ASSERT_TRUE(access_->Revoke(grant, "erin", "change window closed").ok());
  ASSERT_TRUE(shell->ReadUntil("the grant no longer covers this session", 20s).ok()) << shell->stdout_text();
  EXPECT_NE(*shell->Wait(20s), 0);

  Grant("tgt01", 8);  // expires eight seconds from now (logging in takes a few)
  auto again = Shell("tgt01");
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->ReadUntil("the grant no longer covers this session", 30s).ok()) << again->stdout_text();
  EXPECT_NE(*again->Wait(20s), 0);
  WaitForSessionsToEnd();
  EXPECT_EQ(Entries("gateway.session.end").size(), 2u);
}

TEST_P(GatewayTest, AHostKeyMismatchIsRefused) {
  Grant("imposter");
  auto r = testing::RunSsh(SshArgs(AliceUser("imposter"), alice_key_, {}, "echo should-not-run"), "", 30s, Totp());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text.find("should-not-run"), std::string::npos);
  EXPECT_NE(r->stderr_text.find("does not match the pinned key"), std::string::npos) << r->stderr_text;
  auto mismatch = Entries("gateway.hostkey_mismatch");
  ASSERT_EQ(mismatch.size(), 1u);
  EXPECT_EQ(mismatch[0]["body"]["target"], "imposter");
}

TEST_P(GatewayTest, ABrokenRecordingStoreEndsTheSession) {
  Grant("tgt01");
  recordings_->refuse_begin = true;
  const fs::path never = work_ / "never";
  auto refused = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}, "touch " + never.string()), "", 30s, Totp());
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->exit_code, 0);
  EXPECT_NE(refused->stderr_text.find("recording store is unavailable"), std::string::npos) << refused->stderr_text;
  EXPECT_FALSE(fs::exists(never));
  recordings_->refuse_begin = false;

  auto shell = Shell("tgt01");
  ASSERT_TRUE(shell);
  recordings_->broken = true;
  const fs::path after = work_ / "after-break";
  ASSERT_TRUE(shell->Write("touch " + after.string() + "\r").ok());
  EXPECT_NE(*shell->Wait(20s), 0);
  EXPECT_NE(shell->stdout_text().find("the recording could not be written"), std::string::npos) << shell->stdout_text();
  EXPECT_FALSE(fs::exists(after));
  WaitForSessionsToEnd();
  auto end = Entries("gateway.session.end");
  ASSERT_EQ(end.size(), 2u);
  EXPECT_EQ(end[1]["body"]["reason"], "the recording could not be written");
}

TEST_P(GatewayTest, WithoutTheLedgerNothingRuns) {
  Grant("tgt01");
  auto shell = Shell("tgt01");
  ASSERT_TRUE(shell);
  store_->fail_ledger = true;
  const fs::path after = work_ / "after-ledger";
  ASSERT_TRUE(shell->Write("touch " + after.string() + "\r").ok());
  EXPECT_NE(*shell->Wait(30s), 0);
  EXPECT_NE(shell->stdout_text().find("evidence could not be recorded"), std::string::npos) << shell->stdout_text();
  EXPECT_FALSE(fs::exists(after));
  auto r = testing::RunSsh(SshArgs(AliceUser("tgt01"), alice_key_, {}, "touch " + after.string()), "", 30s, Totp());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->exit_code, 0);
  EXPECT_FALSE(fs::exists(after));
  store_->fail_ledger = false;
}

TEST_P(GatewayTest, SftpIsGovernedAndEveryFileLedgered) {
  Grant("tgt01");
  Grant("tgt02");
  std::string content;
  for (int i = 0; i < 300'000; ++i) content.push_back(static_cast<char>('a' + i % 26));
  const fs::path local = dir_ / "upload.bin";
  { std::ofstream(local, std::ios::binary) << content; }
  const fs::path remote = work_ / "uploaded.bin";
  const fs::path batch = dir_ / "batch";
  { std::ofstream(batch) << "put " << local.string() << " " << remote.string() << "\n"; }
  auto sftp = [&](const std::string& target) {
    // Commands on stdin, not -b: batch mode disables keyboard-interactive, and so the TOTP.
    std::vector<std::string> args = {"/usr/bin/sftp"};
    for (auto& a : testing::SftpArgs(gw_->port(), alice_key_.private_key_path)) args.push_back(a);
    // sftp reads "USER@HOST:PATH", so a user name with colons goes in -o User=.
    args.push_back("-o");
    args.push_back("User=" + AliceUser(target));
    args.push_back("127.0.0.1");
    return args;
  };
  auto args = sftp("tgt01");
  const std::string commands = *ReadFile(batch) + "bye\n";
  auto r = testing::RunCommand(args, commands, 60s, Totp());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text;
  auto uploaded = ReadFile(remote);
  ASSERT_TRUE(uploaded.ok()) << r->stderr_text;
  EXPECT_TRUE(*uploaded == content) << uploaded->size() << " bytes uploaded, " << content.size() << " sent";
  WaitForSessionsToEnd();
  bool found = false;
  for (const auto& e : Entries("gateway.file")) {
    if (e["body"]["op"] == "transfer" && e["body"]["path"] == remote.string()) {
      found = true;
      EXPECT_EQ(e["body"]["bytes"], content.size());
      EXPECT_EQ(e["body"]["sha256"], HexEncode(crypto::AsBytes(crypto::Sha256(content))));
      EXPECT_EQ(e["body"]["direction"], "upload");
    }
  }
  EXPECT_TRUE(found);

  // tgt02 has no rule allowing transfers.
  auto args2 = sftp("tgt02");
  fs::remove(remote);
  auto denied = testing::RunCommand(args2, commands, 60s, Totp());
  ASSERT_TRUE(denied.ok());
  EXPECT_NE(denied->exit_code, 0);
  EXPECT_FALSE(fs::exists(remote));
}

TEST_P(GatewayTest, LegacyScpIsGovernedAndLedgeredToo) {
  Grant("tgt01");
  Grant("tgt02");
  const std::string content = "legacy scp through the gateway\n";
  const fs::path local = dir_ / "legacy.txt";
  { std::ofstream(local, std::ios::binary) << content; }
  auto scp = [&](const std::string& target, const fs::path& remote) {
    // -O: the old scp protocol (an exec of `scp -t`), not SFTP.
    std::vector<std::string> args = {"/usr/bin/scp", "-O"};
    for (auto& a : testing::ScpArgs(gw_->port(), alice_key_.private_key_path)) args.push_back(a);
    args.insert(args.end(), {"-o", "User=" + AliceUser(target), local.string(), "127.0.0.1:" + remote.string()});
    return testing::RunCommand(args, "", 60s, Totp());
  };
  const fs::path remote = work_ / "legacy-copy.txt";
  auto r = scp("tgt01", remote);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 0) << r->stderr_text;
  auto copied = ReadFile(remote);
  ASSERT_TRUE(copied.ok()) << r->stderr_text;
  EXPECT_EQ(*copied, content);
  WaitForSessionsToEnd();
  bool found = false;
  for (const auto& e : Entries("gateway.file")) {
    if (e["body"]["op"] == "transfer" && e["body"]["bytes"] == content.size()) {
      found = true;
      EXPECT_EQ(e["body"]["sha256"], HexEncode(crypto::AsBytes(crypto::Sha256(content))));
      EXPECT_EQ(e["body"]["direction"], "upload");
    }
  }
  EXPECT_TRUE(found);
  auto starts = Entries("gateway.session.start");
  ASSERT_FALSE(starts.empty());
  EXPECT_EQ(starts.back()["body"]["mode"], "scp");
  // tgt02 allows no transfers: refused before the target is reached.
  const fs::path refused_copy = work_ / "legacy-refused.txt";
  auto denied = scp("tgt02", refused_copy);
  ASSERT_TRUE(denied.ok());
  EXPECT_NE(denied->exit_code, 0);
  EXPECT_FALSE(fs::exists(refused_copy));
}

TEST_P(GatewayTest, AnApproverWatchesAndTerminates) {
  Grant("tgt01");
  auto shell = Shell("tgt01");
  ASSERT_TRUE(shell);
  auto live = gw_->Sessions(true);
  ASSERT_EQ(live.size(), 1u);
  const std::string id = live[0].id;
  auto watcher = testing::SshProcess::Start(SshArgs("erin:watch:" + id, erin_key_, {"-tt"}), Totp());
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE((*watcher)->ReadUntil("watching read-only", 30s).ok()) << (*watcher)->stderr_text();
  ASSERT_TRUE(shell->Write("echo seen-by-$((100+23))\r").ok());
  ASSERT_TRUE((*watcher)->ReadUntil("seen-by-123", 20s).ok()) << (*watcher)->stdout_text();
  // The watcher's keystrokes go nowhere.
  ASSERT_TRUE((*watcher)->Write("touch " + (work_ / "from-watcher").string() + "\r").ok());
  ASSERT_TRUE(gw_->Terminate(id, "erin", "watch test").ok());
  ASSERT_TRUE(shell->ReadUntil("terminated by erin: watch test", 20s).ok()) << shell->stdout_text();
  EXPECT_NE(*shell->Wait(20s), 0);
  ASSERT_TRUE((*watcher)->ReadUntil("watch ended", 20s).ok());
  EXPECT_FALSE(fs::exists(work_ / "from-watcher"));
  WaitForSessionsToEnd();
  EXPECT_EQ(Entries("gateway.session.watch").size(), 1u);
  EXPECT_EQ(Entries("gateway.session.terminate").size(), 1u);
}

TEST_P(GatewayTest, ExecApiFollowsTheSameRules) {
  ExecRequest req{"alice", "tgt01", login_, "echo api-$((2+3))", "", 30};
  EXPECT_EQ(gw_->Exec(req).error().code, ErrorCode::kPermissionDenied);  // no grant yet
  Grant("tgt01");
  auto out = gw_->Exec(req);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->stdout_data, "api-5\n");
  EXPECT_EQ(out->exit_status, 0);
  EXPECT_EQ(out->decision, "allow");
  ExecRequest bad{"alice", "tgt01", login_, "touch " + (work_ / "api-denied").string(), "", 30};
  auto denied = gw_->Exec(bad);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->decision, "deny");
  EXPECT_NE(denied->stderr_data.find("command denied"), std::string::npos);
  EXPECT_FALSE(fs::exists(work_ / "api-denied"));
  ExecRequest with_stdin{"alice", "tgt01", login_, "wc -c", "12345", 30};
  auto counted = gw_->Exec(with_stdin);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->stdout_data, "5\n");
  auto rec = gw_->Recording(out->session, 1 << 20);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  EXPECT_NE(rec->find("api-5"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, GatewayTest, ::testing::ValuesIn(testing::BackendNames()));

}  // namespace
}  // namespace cloudpact::gateway
