// Test support: a real OpenSSH server (Debian's /usr/sbin/sshd) on loopback and real
// OpenSSH clients (ssh, sftp, scp) driven over pipes, so the gateway is tested against the
// programs users and target hosts actually run rather than against our own idea of SSH.
//
// Everything here is bounded: every wait has a timeout, and a timeout is an error that
// says what was seen (the client's output, the tail of sshd's log). Processes started here
// are killed and reaped when their owning object is destroyed, including on test failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cloudpact::testing {

struct SshKeyPair {
  std::filesystem::path private_key_path;  // dir/name (0600); the public half is dir/name.pub
  std::string public_line;                 // "ssh-ed25519 AAAA... name", no trailing newline
  std::string private_pem;                 // the private key file's text
};

// Runs `ssh-keygen -q -t TYPE -N '' -C NAME -f DIR/NAME`; an existing key of that name is
// replaced. TYPE is anything ssh-keygen accepts ("ed25519", "ecdsa", "rsa").
Result<SshKeyPair> GenerateSshKey(const std::filesystem::path& dir, const std::string& name,
                                  const std::string& type = "ed25519");

// How a finished process ended. exit_code is the exit status, or 128+N if killed by signal N
// (as a shell reports it), so "non-zero" always means "did not succeed".
struct RunResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// A running sshd on 127.0.0.1. Several may run at once (each has its own directory and
// port). It logs in only the current user, login(): an sshd not running as root cannot
// switch users, and one running as root needs no other user for our tests.
class Sshd {
 public:
  // Writes DIR/sshd_config, DIR/ssh_host_ed25519_key and DIR/authorized_keys (one line per
  // entry of `authorized_public_keys`), starts `sshd -D -e -f DIR/sshd_config -E DIR/sshd.log`
  // and returns once sshd reports that it is listening and a TCP connection to it succeeds.
  // `extra_config` lines go into sshd_config before ours, so they override our defaults (sshd
  // keeps the first value it reads), except that a line starting with "Match" and all after it
  // go at the end, where sshd requires Match blocks.
  // Fails (with the log's tail) if sshd exits or is not listening within 15 seconds.
  static Result<std::unique_ptr<Sshd>> Start(const std::filesystem::path& dir,
                                             std::vector<std::string> authorized_public_keys,
                                             std::vector<std::string> extra_config = {});

  // SIGKILLs the connections' processes and their sessions (they run in sessions of their
  // own, so they would outlive sshd), then SIGTERMs sshd, SIGKILL after 5 s; always reaped.
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& login() const { return login_; }
  // The server's public host key, "ssh-ed25519 AAAA...", for known_hosts and pinning.
  const std::string& host_key_line() const { return host_key_line_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& authorized_keys_path() const { return authorized_keys_; }
  // sshd's log so far (LogLevel VERBOSE): who logged in with which key, subsystems, errors.
  std::string log() const;

 private:
  Sshd() = default;

  std::filesystem::path dir_;
  std::filesystem::path authorized_keys_;
  std::string login_;
  std::string host_key_line_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Whether sshd can give login() a pty session (ssh -t). sshd hands a new pty to the user
// and the "tty" group and ends the session if it cannot: root always can; another user only
// if new ptys already belong to "tty" (devpts mounted with gid=5, as systemd does) or the
// user is in that group. Containers often mount devpts without gid=5.
bool SshdCanAllocatePty();

// `-F /dev/null [-o EXTRA]... -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
//  -o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=10 -i KEY -p PORT USER@127.0.0.1`.
// Append the remote command; put flags such as -tt at the front (ssh stops reading options
// at the destination). `extra_options` come first because ssh keeps the first value of an
// option: "StrictHostKeyChecking=yes" or "LogLevel=INFO" there override ours. LogLevel=ERROR
// hides keyboard-interactive name/instruction texts, which ssh prints at INFO.
// An empty identity_file omits -i (no key is offered: IdentitiesOnly=yes).
std::vector<std::string> SshClientArgs(int port, const std::string& user,
                                       const std::filesystem::path& identity_file,
                                       const std::vector<std::string>& extra_options = {});
// The same options for sftp and scp, which spell the port `-P` and take no destination
// here: sftp's destination is `USER@127.0.0.1` (append it, see SftpDestination), scp's
// remote paths are `USER@127.0.0.1:PATH` (see ScpRemote).
std::vector<std::string> SftpArgs(int port, const std::filesystem::path& identity_file,
                                  const std::vector<std::string>& extra_options = {});
std::vector<std::string> ScpArgs(int port, const std::filesystem::path& identity_file,
                                 const std::vector<std::string>& extra_options = {});
std::string SftpDestination(const std::string& user);
std::string ScpRemote(const std::string& user, const std::string& path);

struct ProcessOptions {
  // Answers every password, passphrase and keyboard-interactive prompt (such as a TOTP
  // code) without a terminal: a 0700 script printing it becomes SSH_ASKPASS, with
  // SSH_ASKPASS_REQUIRE=force and DISPLAY=:0. The prompts are recorded (askpass_prompts());
  // OpenSSH 9.2 prefixes keyboard-interactive ones with "(user@host) ".
  std::optional<std::string> askpass_answer;
  // Where the askpass script is written; a fresh TempDir if empty.
  std::filesystem::path askpass_dir;
  // Extra NAME=VALUE entries for the child's environment (they replace inherited ones).
  std::vector<std::string> env;
};

// A child process (ssh, or any program) with stdin, stdout and stderr on pipes, in its own
// session and process group: it has no controlling terminal, so a prompt it cannot answer
// through askpass fails instead of hanging the test on /dev/tty. Not thread-safe.
class SshProcess {
 public:
  // Runs /usr/bin/ssh with `args` (typically SshClientArgs(...) plus a command).
  static Result<std::unique_ptr<SshProcess>> Start(const std::vector<std::string>& args,
                                                   ProcessOptions options = {});
  // Runs argv[0] (an absolute path, or a name looked up in PATH) with argv.
  static Result<std::unique_ptr<SshProcess>> StartCommand(const std::vector<std::string>& argv,
                                                          ProcessOptions options = {});

  ~SshProcess();  // SIGKILLs its process group (whatever is still in it) and reaps it
  SshProcess(const SshProcess&) = delete;
  SshProcess& operator=(const SshProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes all of `data` to the child's stdin, reading its output meanwhile so that a child
  // blocked on a full stdout pipe cannot deadlock us. Fails if stdin was closed, the child
  // stopped reading (EPIPE), or 10 s pass.
  Status Write(std::string_view data);
  void CloseStdin();

  // Reads until stdout contains `needle` (searched from the start of all output) and returns
  // all stdout seen so far. On timeout, or on EOF without the needle, fails with the stdout
  // and stderr seen.
  Result<std::string> ReadUntil(std::string_view needle, std::chrono::milliseconds timeout);

  const std::string& stdout_text() const { return stdout_; }
  const std::string& stderr_text() const { return stderr_; }
  // The prompts askpass was asked to answer, in order (empty without askpass_answer).
  std::vector<std::string> askpass_prompts() const;

  // Waits for the process to exit, collecting its output, and returns its exit code (128+N if
  // killed by signal N). It does not close stdin: a child that reads stdin to EOF needs
  // CloseStdin() first. On timeout the process group is killed and the error carries the
  // output seen. Calling Wait again returns the same code.
  Result<int> Wait(std::chrono::milliseconds timeout);

 private:
  SshProcess() = default;
  // Reads whatever stdout/stderr have, waiting at most `timeout_ms` for something to happen
  // (output, EOF, the child's exit; poll semantics, 0 = don't wait).
  void Pump(int timeout_ms);
  bool Reap(bool block);  // true once the child has been reaped (exit_code_ set)
  void KillGroup();
  std::string Describe() const;

  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the child exits; -1 if the kernel lacks pidfd_open
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::optional<int> exit_code_;
  std::string stdout_;
  std::string stderr_;
  std::string program_;
  std::filesystem::path askpass_log_;
};

// Starts argv, feeds it `stdin_data` then closes its stdin, and waits for it to exit.
// A process still running after `timeout` is killed and the result is an error.
Result<RunResult> RunCommand(const std::vector<std::string>& argv, std::string_view stdin_data,
                             std::chrono::milliseconds timeout, ProcessOptions options = {});
// RunCommand of /usr/bin/ssh with `args`.
Result<RunResult> RunSsh(const std::vector<std::string>& args, std::string_view stdin_data,
                         std::chrono::milliseconds timeout, ProcessOptions options = {});

}  // namespace cloudpact::testing
