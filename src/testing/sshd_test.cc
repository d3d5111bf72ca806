// The SSH test harness against Debian's OpenSSH: if these pass, a gateway test that fails
// is about the gateway, not about how we start sshd or drive ssh.
#include "testing/sshd.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"
#include "testing/backends.h"

namespace cloudpact::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

constexpr auto kTimeout = seconds(30);

std::string CurrentUser() { return ::getpwuid(::geteuid())->pw_name; }

int ModeOf(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// Whether `pid`, not our child, has died within `timeout`. Orphans may stay zombies until
// init reaps them; a zombie counts as dead.
bool DiesWithin(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat.ok() || stat->find(") Z ") != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::usleep(10000);
  }
}

TEST(GenerateSshKeyTest, WritesPrivateFilesAndAnOpenSshLine) {
  fs::path dir = TempDir("sshkey");
  auto key = GenerateSshKey(dir, "alice");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->private_key_path, dir / "alice");
  EXPECT_EQ(key->public_line.rfind("ssh-ed25519 AAAA", 0), 0u) << key->public_line;
  EXPECT_TRUE(key->public_line.ends_with(" alice")) << key->public_line;
  EXPECT_EQ(key->public_line.find('\n'), std::string::npos);
  EXPECT_NE(key->private_pem.find("-----BEGIN OPENSSH PRIVATE KEY-----"), std::string::npos);
  EXPECT_EQ(ModeOf(dir / "alice"), 0600);
  EXPECT_EQ(ModeOf(dir / "alice.pub"), 0600);

  // Same name again: replaced, not an interactive "Overwrite?" that fails.
  auto again = GenerateSshKey(dir, "alice", "ecdsa");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->public_line.rfind("ecdsa-sha2-nistp256 ", 0), 0u) << again->public_line;
  EXPECT_NE(again->private_pem, key->private_pem);

  EXPECT_FALSE(GenerateSshKey(dir, "bad", "no-such-type").ok());
}

class SshdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto key = GenerateSshKey(dir_ / "client", "alice");
    ASSERT_TRUE(key.ok()) << key.error().message;
    key_ = *key;
    auto sshd = Sshd::Start(dir_ / "sshd", {key_.public_line});
    ASSERT_TRUE(sshd.ok()) << sshd.error().message;
    sshd_ = std::move(*sshd);
  }

  std::vector<std::string> Args(const std::vector<std::string>& extra = {}) const {
    return SshClientArgs(sshd_->port(), sshd_->login(), key_.private_key_path, extra);
  }

  fs::path dir_;
  SshKeyPair key_;
  std::unique_ptr<Sshd> sshd_;
};

TEST_F(SshdTest, RunsACommandAsTheCurrentUser) {
  EXPECT_EQ(sshd_->login(), CurrentUser());
  EXPECT_GT(sshd_->port(), 1024);
  auto args = Args();
  args.push_back("echo hello; id -un");
  auto run = RunSsh(args, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 0) << run->stderr_text << "\n" << sshd_->log();
  EXPECT_EQ(run->stdout_text, "hello\n" + sshd_->login() + "\n");
  EXPECT_NE(sshd_->log().find("Accepted publickey for " + sshd_->login()), std::string::npos)
      << sshd_->log();
}

TEST_F(SshdTest, PassesStdinAndExitCodeThrough) {
  auto args = Args();
  args.push_back("tr a-z A-Z; exit 7");
  auto run = RunSsh(args, "shout\n", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 7) << run->stderr_text;
  EXPECT_EQ(run->stdout_text, "SHOUT\n");
}

TEST_F(SshdTest, InteractiveSessionOnAPty) {
  // The gateway suites need ptys on the target; a machine where sshd cannot hand one out
  // (not root, and new ptys not in group tty) cannot run them, and should say so loudly.
  ASSERT_TRUE(SshdCanAllocatePty()) << "sshd cannot hand a pty to " << sshd_->login()
                                    << " here (not root, and new ptys are not in group tty)";
  auto args = Args();
  args.insert(args.begin(), "-tt");
  auto ssh = SshProcess::Start(args);
  ASSERT_TRUE(ssh.ok()) << ssh.error().message;
  SshProcess& p = **ssh;
  ASSERT_TRUE(p.Write("echo marker-$((6*7))\r").ok());
  // The pty echoes what we typed, which does not contain "marker-42": only the shell's
  // output does.
  auto seen = p.ReadUntil("marker-42", kTimeout);
  ASSERT_TRUE(seen.ok()) << seen.error().message << "\n" << sshd_->log();
  ASSERT_TRUE(p.Write("exit\r").ok());
  auto code = p.Wait(kTimeout);
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 0) << p.stderr_text();
  EXPECT_NE(sshd_->log().find("Starting session: shell on pts/"), std::string::npos)
      << sshd_->log();
}

TEST_F(SshdTest, PinnedHostKeyIsAcceptedAndAnotherIsRejected) {
  EXPECT_EQ(sshd_->host_key_line().rfind("ssh-ed25519 AAAA", 0), 0u) << sshd_->host_key_line();
  auto known_hosts = [&](const std::string& key_line) {
    fs::path file = dir_ / "known_hosts";
    std::string entry = "[127.0.0.1]:" + std::to_string(sshd_->port()) + " " + key_line + "\n";
    EXPECT_TRUE(WriteFileAtomic(file, entry).ok());
    return std::vector<std::string>{"StrictHostKeyChecking=yes",
                                    "UserKnownHostsFile=" + file.string()};
  };

  auto right = Args(known_hosts(sshd_->host_key_line()));
  right.push_back("true");
  auto ok = RunSsh(right, "", kTimeout);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;

  auto other = GenerateSshKey(dir_ / "impostor", "impostor");
  ASSERT_TRUE(other.ok()) << other.error().message;
  auto wrong = Args(known_hosts(other->public_line));
  wrong.push_back("true");
  auto bad = RunSsh(wrong, "", kTimeout);
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  EXPECT_EQ(bad->exit_code, 255);
  EXPECT_NE(bad->stderr_text.find("REMOTE HOST IDENTIFICATION HAS CHANGED"), std::string::npos)
      << bad->stderr_text;
}

TEST_F(SshdTest, UnauthorizedKeyIsRefused) {
  auto stranger = GenerateSshKey(dir_ / "client", "stranger");
  ASSERT_TRUE(stranger.ok()) << stranger.error().message;
  auto args = SshClientArgs(sshd_->port(), sshd_->login(), stranger->private_key_path);
  args.push_back("echo should-not-run");
  auto run = RunSsh(args, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 255);
  EXPECT_EQ(run->stdout_text, "");
  EXPECT_NE(run->stderr_text.find("Permission denied"), std::string::npos) << run->stderr_text;
  EXPECT_EQ(sshd_->log().find("Accepted publickey"), std::string::npos) << sshd_->log();
}

TEST_F(SshdTest, SftpBatchUploads) {
  fs::path local = dir_ / "local.txt";
  fs::path remote = dir_ / "uploaded-by-sftp.txt";
  ASSERT_TRUE(WriteFileAtomic(local, "sftp payload\n").ok());
  fs::path batch = dir_ / "batch";
  ASSERT_TRUE(WriteFileAtomic(batch, "put " + local.string() + " " + remote.string() + "\n").ok());

  std::vector<std::string> argv = {"/usr/bin/sftp"};
  for (auto& a : SftpArgs(sshd_->port(), key_.private_key_path)) argv.push_back(a);
  argv.insert(argv.end(), {"-b", batch.string(), SftpDestination(sshd_->login())});
  auto run = RunCommand(argv, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 0) << run->stderr_text << "\n" << sshd_->log();
  auto content = ReadFile(remote);
  ASSERT_TRUE(content.ok()) << content.error().message;
  EXPECT_EQ(*content, "sftp payload\n");
}

TEST_F(SshdTest, ScpUploadsOverSftp) {
  fs::path local = dir_ / "local.bin";
  fs::path remote = dir_ / "uploaded-by-scp.bin";
  std::string payload(200000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFileAtomic(local, payload).ok());

  std::vector<std::string> argv = {"/usr/bin/scp"};
  for (auto& a : ScpArgs(sshd_->port(), key_.private_key_path)) argv.push_back(a);
  argv.insert(argv.end(), {local.string(), ScpRemote(sshd_->login(), remote.string())});
  auto run = RunCommand(argv, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 0) << run->stderr_text << "\n" << sshd_->log();
  auto content = ReadFile(remote);
  ASSERT_TRUE(content.ok()) << content.error().message;
  EXPECT_TRUE(*content == payload) << "uploaded " << content->size() << " bytes";
  // scp of OpenSSH >= 9.0 uses the SFTP protocol by default, not the legacy `scp -t`.
  EXPECT_NE(sshd_->log().find("Starting session: subsystem 'sftp'"), std::string::npos)
      << sshd_->log();
}

TEST_F(SshdTest, AskpassAnswersPromptsWithoutATerminal) {
  // A passphrase-protected key makes ssh prompt through the same read_passphrase() path as
  // keyboard-interactive prompts do.
  fs::path key = dir_ / "client" / "locked";
  auto gen = RunCommand({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-C",
                         "locked", "-f", key.string()},
                        "", kTimeout);
  ASSERT_TRUE(gen.ok()) << gen.error().message;
  ASSERT_EQ(gen->exit_code, 0) << gen->stderr_text;
  auto pub = ReadFile(key.string() + ".pub");
  ASSERT_TRUE(pub.ok());
  auto keys = ReadFile(sshd_->authorized_keys_path());
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(WriteFileAtomic(sshd_->authorized_keys_path(), *keys + *pub).ok());

  auto args = SshClientArgs(sshd_->port(), sshd_->login(), key);
  args.push_back("echo unlocked");
  ProcessOptions right;
  right.askpass_answer = "open sesame";
  auto ssh = SshProcess::Start(args, right);
  ASSERT_TRUE(ssh.ok()) << ssh.error().message;
  auto code = (*ssh)->Wait(kTimeout);
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 0) << (*ssh)->stderr_text();
  EXPECT_EQ((*ssh)->stdout_text(), "unlocked\n");
  auto prompts = (*ssh)->askpass_prompts();
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_NE(prompts[0].find("passphrase"), std::string::npos) << prompts[0];

  ProcessOptions wrong;
  wrong.askpass_answer = "guess";
  wrong.askpass_dir = dir_ / "askpass";
  auto denied = RunSsh(args, "", kTimeout, wrong);
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  EXPECT_EQ(denied->exit_code, 255);
  EXPECT_EQ(denied->stdout_text, "");

  // Without askpass there is no terminal to ask on: it fails instead of hanging.
  auto no_answer = RunSsh(args, "", kTimeout);
  ASSERT_TRUE(no_answer.ok()) << no_answer.error().message;
  EXPECT_EQ(no_answer->exit_code, 255);
}

TEST_F(SshdTest, ExtraConfigOverridesDefaults) {
  auto forced = Sshd::Start(dir_ / "forced", {key_.public_line}, {"ForceCommand echo forced"});
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  auto args = SshClientArgs((*forced)->port(), (*forced)->login(), key_.private_key_path);
  args.push_back("echo not-forced");
  auto run = RunSsh(args, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->stdout_text, "forced\n") << run->stderr_text;
}

TEST_F(SshdTest, TwoServersAtOnceEachWithItsOwnKeys) {
  auto bob = GenerateSshKey(dir_ / "client", "bob");
  ASSERT_TRUE(bob.ok()) << bob.error().message;
  auto second = Sshd::Start(dir_ / "sshd2", {bob->public_line});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE((*second)->port(), sshd_->port());
  EXPECT_NE((*second)->host_key_line(), sshd_->host_key_line());

  auto run_on = [&](const Sshd& server, const fs::path& key) {
    auto args = SshClientArgs(server.port(), server.login(), key);
    args.push_back("echo $SSH_CONNECTION");
    auto run = RunSsh(args, "", kTimeout);
    EXPECT_TRUE(run.ok()) << run.error().message;
    return run.ok() ? *run : RunResult{};
  };
  auto first_ok = run_on(*sshd_, key_.private_key_path);
  EXPECT_EQ(first_ok.exit_code, 0) << first_ok.stderr_text;
  // SSH_CONNECTION = "client-ip client-port server-ip server-port".
  EXPECT_TRUE(first_ok.stdout_text.ends_with(" " + std::to_string(sshd_->port()) + "\n"))
      << first_ok.stdout_text;
  auto second_ok = run_on(**second, bob->private_key_path);
  EXPECT_EQ(second_ok.exit_code, 0) << second_ok.stderr_text;
  EXPECT_TRUE(second_ok.stdout_text.ends_with(" " + std::to_string((*second)->port()) + "\n"))
      << second_ok.stdout_text;
  EXPECT_EQ(run_on(**second, key_.private_key_path).exit_code, 255);
  EXPECT_EQ(run_on(*sshd_, bob->private_key_path).exit_code, 255);
}

TEST_F(SshdTest, DestructionStopsTheServerAndItsSessions) {
  auto args = Args();
  // `exec` keeps the shell's pid, so $$ is the pid of the remote `sleep`.
  args.push_back("echo ready-$((1+1)) $$; exec sleep 60");
  auto ssh = SshProcess::Start(args);
  ASSERT_TRUE(ssh.ok()) << ssh.error().message;
  auto ready = (*ssh)->ReadUntil("\n", kTimeout);
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  ASSERT_EQ(ready->rfind("ready-2 ", 0), 0u) << *ready;
  pid_t remote_sleep = static_cast<pid_t>(std::stol(ready->substr(8)));
  ASSERT_TRUE(ProcessExists(remote_sleep));

  pid_t pid = sshd_->pid();
  int port = sshd_->port();
  sshd_.reset();
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_TRUE(DiesWithin(remote_sleep, seconds(10)));
  // The connected session was ended too, so the client sees the connection close.
  auto code = (*ssh)->Wait(kTimeout);
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_NE(*code, 0);
  // Nobody listens any more: a new connection is refused.
  auto again = SshClientArgs(port, CurrentUser(), key_.private_key_path);
  again.push_back("true");
  auto run = RunSsh(again, "", kTimeout);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 255);
  EXPECT_NE(run->stderr_text.find("Connection refused"), std::string::npos) << run->stderr_text;
}

TEST(SshdStartTest, BadConfigFailsWithTheLogTail) {
  fs::path dir = TempDir("sshd-bad-config");
  auto sshd = Sshd::Start(dir, {}, {"NoSuchOption yes"});
  ASSERT_FALSE(sshd.ok());
  EXPECT_NE(sshd.error().message.find("Bad configuration option"), std::string::npos)
      << sshd.error().message;
}

TEST(SshProcessTest, ReadUntilTimesOutWithWhatWasSeenAndWaitKills) {
  auto p = SshProcess::StartCommand({"/bin/sh", "-c", "echo partial; exec sleep 60"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto start = std::chrono::steady_clock::now();
  auto seen = (*p)->ReadUntil("never", milliseconds(300));
  ASSERT_FALSE(seen.ok());
  EXPECT_NE(seen.error().message.find("partial"), std::string::npos) << seen.error().message;
  EXPECT_EQ((*p)->stdout_text(), "partial\n");

  auto code = (*p)->Wait(milliseconds(200));
  EXPECT_FALSE(code.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  EXPECT_FALSE(ProcessExists((*p)->pid()));
}

TEST(SshProcessTest, ReadUntilFailsAtEndOfOutput) {
  auto p = SshProcess::StartCommand({"/bin/sh", "-c", "echo done"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto seen = (*p)->ReadUntil("never", seconds(30));
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.error().code, ErrorCode::kNotFound) << seen.error().message;
  auto code = (*p)->Wait(seconds(30));
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 0);
}

TEST(SshProcessTest, DestructorKillsTheProcessGroup) {
  fs::path dir = TempDir("sshprocess-group");
  fs::path pid_file = dir / "grandchild.pid";
  pid_t grandchild = 0;
  {
    auto p = SshProcess::StartCommand(
        {"/bin/sh", "-c", "sleep 60 & echo $! > " + pid_file.string() + "; echo started; wait"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_TRUE((*p)->ReadUntil("started", seconds(30)).ok());
    auto text = ReadFile(pid_file);
    ASSERT_TRUE(text.ok());
    grandchild = static_cast<pid_t>(std::stol(*text));
    ASSERT_TRUE(ProcessExists(grandchild));
  }
  EXPECT_TRUE(DiesWithin(grandchild, seconds(10)));
}

TEST(RunCommandTest, FeedsStdinAndReportsExitCodeAndSignal) {
  auto run = RunCommand({"/bin/sh", "-c", "cat; echo err >&2; exit 3"}, "abc", seconds(30));
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->stdout_text, "abc");
  EXPECT_EQ(run->stderr_text, "err\n");

  auto killed = RunCommand({"/bin/sh", "-c", "kill -TERM $$"}, "", seconds(30));
  ASSERT_TRUE(killed.ok()) << killed.error().message;
  EXPECT_EQ(killed->exit_code, 128 + SIGTERM);

  // A child that exits without reading a large input is not our error.
  auto early = RunCommand({"/bin/true"}, std::string(1 << 20, 'x'), seconds(30));
  ASSERT_TRUE(early.ok()) << early.error().message;
  EXPECT_EQ(early->exit_code, 0);

  EXPECT_FALSE(RunCommand({"/no/such/program"}, "", seconds(30)).ok());
  EXPECT_FALSE(RunCommand({}, "", seconds(30)).ok());
}

TEST(SshClientArgsTest, ExtraOptionsComeFirstSoTheyWin) {
  auto args = SshClientArgs(2222, "alice", "/k", {"StrictHostKeyChecking=yes"});
  std::vector<std::string> want = {"-F",
                                   "/dev/null",
                                   "-o",
                                   "StrictHostKeyChecking=yes",
                                   "-o",
                                   "StrictHostKeyChecking=no",
                                   "-o",
                                   "UserKnownHostsFile=/dev/null",
                                   "-o",
                                   "IdentitiesOnly=yes",
                                   "-o",
                                   "LogLevel=ERROR",
                                   "-o",
                                   "ConnectTimeout=10",
                                   "-i",
                                   "/k",
                                   "-p",
                                   "2222",
                                   "alice@127.0.0.1"};
  EXPECT_EQ(args, want);
  auto scp = ScpArgs(2222, "/k");
  EXPECT_EQ(std::vector<std::string>(scp.end() - 4, scp.end()),
            (std::vector<std::string>{"-i", "/k", "-P", "2222"}));
  EXPECT_EQ(ScpRemote("alice", "/tmp/x"), "alice@127.0.0.1:/tmp/x");
}

}  // namespace
}  // namespace cloudpact::testing
