#include "testing/sshd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>  // posix_openpt, grantpt, unlockpt, ptsname_r
#include <cstring>
#include <sstream>

#include "core/files.h"
#include "testing/backends.h"

extern char** environ;

namespace cloudpact::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kSshd = "/usr/sbin/sshd";  // sshd re-executes itself: absolute path
constexpr const char* kSsh = "/usr/bin/ssh";
constexpr auto kSshdStartTimeout = std::chrono::seconds(15);
constexpr auto kSshdStopTimeout = std::chrono::seconds(5);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr int kPortAttempts = 5;

std::atomic<int> g_askpass_counter{0};

Error Errno(const std::string& what) {
  return MakeError(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

int MillisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  // Round up so that a positive remainder below 1 ms still waits instead of spinning.
  return static_cast<int>(std::max<int64_t>(0, left.count() + 1));
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The last `lines` lines of `text` (all of it if shorter), for error messages.
std::string Tail(const std::string& text, size_t lines) {
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;  // a final newline does not start a line
  size_t pos = end;
  for (size_t n = 0; n < lines; ++n) {
    if (pos == 0) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

std::string ReadOrEmpty(const fs::path& path) {
  auto r = ReadFile(path);
  return r.ok() ? std::move(r).value() : std::string();
}

// argv[0] resolved against PATH in the parent, because after fork() only async-signal-safe
// calls are allowed and execvp's search allocates.
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return name;  // execve fails with ENOENT, reported to the caller
}

// The environment for children: ours, minus what would make ssh behave differently on a
// developer's machine than in CI (an agent offering other keys, a desktop askpass), plus
// `extra` (NAME=VALUE, replacing inherited entries of the same name).
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> dropped = {"SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE",
                                      "DISPLAY"};
  for (const auto& e : extra) dropped.push_back(e.substr(0, e.find('=')));
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (std::find(dropped.begin(), dropped.end(), name) == dropped.end()) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// fork+exec with the given fds as the child's stdin/stdout/stderr, in a new session (so its
// own process group, and no controlling terminal). Exec failures are reported through a
// close-on-exec pipe, so a missing program is an error here rather than exit code 127 later.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    int in_fd, int out_fd, int err_fd) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty argv");
  std::string program = ResolveProgram(argv[0]);
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Errno("pipe2");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return Errno("fork");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // Write() blocks SIGPIPE around writes
    ::signal(SIGPIPE, SIG_DFL);                  // an ignored signal stays ignored over exec
    int fds[3] = {in_fd, out_fd, err_fd};
    // Move the sources above 2 first so that dup2 into 0..2 cannot clobber one of them.
    for (int i = 0; i < 3; ++i) {
      if (fds[i] < 3) fds[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    }
    for (int i = 0; i < 3; ++i) {
      if (fds[i] < 0 || ::dup2(fds[i], i) < 0) {
        int e = errno;
        (void)!::write(err_pipe[1], &e, sizeof e);
        ::_exit(127);
      }
    }
#ifdef SYS_close_range
    // Descriptors the test process opened without O_CLOEXEC must not leak into sshd/ssh.
    ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
    ::execve(program.c_str(), c_argv.data(), c_env.data());
    int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    return MakeError(ErrorCode::kFailedPrecondition,
                     "cannot execute " + program + ": " + std::strerror(child_errno));
  }
  return pid;
}

// A port that was free a moment ago. Another process may take it before sshd binds it;
// Sshd::Start notices sshd's bind failure and tries another.
Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Error e = Errno("bind 127.0.0.1:0");
    ::close(fd);
    return e;
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Waits up to `timeout` for `pid` (our child) to exit; true if it did and was reaped.
bool WaitForExit(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  int pidfd = PidfdOpen(pid);
  auto deadline = Clock::now() + timeout;
  bool exited = false;
  for (;;) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      exited = true;
      break;
    }
    int left = MillisUntil(deadline);
    if (Clock::now() >= deadline) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, left);
    } else {
      ::poll(nullptr, 0, std::min(left, 10));  // no pidfd: fall back to polling waitpid
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return exited;
}

// All processes descended from `pid`, parents before children. sshd's per-connection
// processes, and the sessions they run, each call setsid(), so neither the listener's
// process group nor its death reaches them: a session running `sleep 60` would outlive the
// test. The tree must be read before anything is killed, since orphans move to init.
std::vector<pid_t> DescendantsOf(pid_t pid) {
  std::vector<std::pair<pid_t, pid_t>> parent_child;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string stat = ReadOrEmpty(entry.path() / "stat");
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parent_child.emplace_back(ppid, static_cast<pid_t>(std::stol(name)));
  }
  std::vector<pid_t> out;
  std::vector<pid_t> frontier = {pid};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& [ppid, child] : parent_child) {
      if (ppid == parent) {
        out.push_back(child);
        frontier.push_back(child);
      }
    }
  }
  return out;
}

std::vector<std::string> CommonClientOptions(const fs::path& identity_file,
                                             const std::vector<std::string>& extra_options) {
  // Extra options first: ssh keeps the first value it sees for an option.
  std::vector<std::string> args = {"-F", "/dev/null"};
  for (const auto& o : extra_options) {
    args.push_back("-o");
    args.push_back(o);
  }
  for (const char* o : {"StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                        "IdentitiesOnly=yes", "LogLevel=ERROR", "ConnectTimeout=10"}) {
    args.push_back("-o");
    args.push_back(o);
  }
  if (!identity_file.empty()) {
    args.push_back("-i");
    args.push_back(identity_file.string());
  }
  return args;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Keys

Result<SshKeyPair> GenerateSshKey(const fs::path& dir, const std::string& name,
                                  const std::string& type) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return MakeError(ErrorCode::kInternal, "cannot create " + dir.string() + ": " + ec.message());
  fs::path key = dir / name;
  fs::path pub = dir / (name + ".pub");
  // ssh-keygen would ask whether to overwrite, on a stdin we do not answer.
  fs::remove(key, ec);
  fs::remove(pub, ec);
  ASSIGN_OR_RETURN(RunResult run, RunCommand({"/usr/bin/ssh-keygen", "-q", "-t", type, "-N", "",
                                              "-C", name, "-f", key.string()},
                                             "", std::chrono::seconds(60)));
  if (run.exit_code != 0) {
    return MakeError(ErrorCode::kInternal, "ssh-keygen -t " + type + " failed (exit " +
                                               std::to_string(run.exit_code) +
                                               "): " + run.stderr_text + run.stdout_text);
  }
  fs::permissions(pub, fs::perms::owner_read | fs::perms::owner_write, ec);
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write, ec);
  SshKeyPair pair;
  pair.private_key_path = key;
  ASSIGN_OR_RETURN(pair.private_pem, ReadFile(key));
  ASSIGN_OR_RETURN(pair.public_line, ReadFile(pub));
  while (!pair.public_line.empty() &&
         (pair.public_line.back() == '\n' || pair.public_line.back() == '\r')) {
    pair.public_line.pop_back();
  }
  return pair;
}

// ---------------------------------------------------------------------------------------
// Sshd

Result<std::unique_ptr<Sshd>> Sshd::Start(const fs::path& dir,
                                          std::vector<std::string> authorized_public_keys,
                                          std::vector<std::string> extra_config) {
  struct passwd* pw = ::getpwuid(::geteuid());
  if (pw == nullptr) return MakeError(ErrorCode::kFailedPrecondition, "no passwd entry for euid");
  std::unique_ptr<Sshd> sshd(new Sshd());
  sshd->login_ = pw->pw_name;

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return MakeError(ErrorCode::kInternal, "cannot create " + dir.string() + ": " + ec.message());
  sshd->dir_ = fs::absolute(dir);
  const fs::path& d = sshd->dir_;

  if (::geteuid() == 0) {
    // sshd as root chroots its unprivileged pre-auth child into /run/sshd and refuses to
    // start without it; Debian creates it from the service unit, which never ran here.
    if (::mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) return Errno("mkdir /run/sshd");
  }

  ASSIGN_OR_RETURN(SshKeyPair host_key, GenerateSshKey(d, "ssh_host_ed25519_key", "ed25519"));
  {
    // known_hosts wants "type base64"; the comment is noise there.
    std::istringstream in(host_key.public_line);
    std::string type, blob;
    in >> type >> blob;
    sshd->host_key_line_ = type + " " + blob;
  }
  sshd->authorized_keys_ = d / "authorized_keys";
  std::string keys;
  for (const auto& k : authorized_public_keys) keys += k + "\n";
  RETURN_IF_ERROR(WriteFileAtomic(sshd->authorized_keys_, keys, 0600));

  std::vector<std::string> early, late;
  for (const auto& line : extra_config) {
    std::string lower = line.substr(0, 5);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (!late.empty() || lower == "match") {
      late.push_back(line);
    } else {
      early.push_back(line);
    }
  }

  const fs::path config_path = d / "sshd_config";
  const fs::path log_path = d / "sshd.log";
  const fs::path out_path = d / "sshd.out";
  auto quote = [](const fs::path& p) { return "\"" + p.string() + "\""; };
  std::string last_failure;

  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
    std::string config = "# Written by cloudpact::testing::Sshd for one test.\n";
    for (const auto& line : early) config += line + "\n";
    config +=
        "ListenAddress 127.0.0.1\n"
        "Port " +
        std::to_string(port) +
        "\n"
        "HostKey " +
        quote(d / "ssh_host_ed25519_key") +
        "\n"
        "AuthorizedKeysFile " +
        quote(sshd->authorized_keys_) +
        "\n"
        "PidFile " +
        quote(d / "sshd.pid") +
        "\n"
        // The test directory is world-readable /tmp; StrictModes would refuse its keys.
        "StrictModes no\n"
        "UsePAM no\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n"
        // Gateway tests open many connections and sessions at once; the defaults (10:30:100,
        // 10) would make sshd drop some at random.
        "MaxStartups 1000:30:1000\n"
        "MaxSessions 1000\n"
        "LogLevel VERBOSE\n"
        "UseDNS no\n"
        "PrintMotd no\n"
        "PrintLastLog no\n"
        "X11Forwarding no\n";
    for (const auto& line : late) config += line + "\n";
    RETURN_IF_ERROR(WriteFileAtomic(config_path, config, 0600));

    // -E appends, so remember where this attempt's log starts.
    size_t log_offset = ReadOrEmpty(log_path).size();
    int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (in_fd < 0 || out_fd < 0) {
      Error e = Errno("open /dev/null or " + out_path.string());
      CloseFd(in_fd);
      CloseFd(out_fd);
      return e;
    }
    auto pid = Spawn({kSshd, "-D", "-e", "-f", config_path.string(), "-E", log_path.string()},
                     ChildEnvironment({}), in_fd, out_fd, out_fd);
    CloseFd(in_fd);
    CloseFd(out_fd);
    if (!pid.ok()) return std::move(pid).error();
    sshd->pid_ = *pid;
    sshd->port_ = port;

    // Ready = sshd says it listens (so it, not some other process, owns the port) and a
    // connection succeeds. Polling the log is the only signal sshd gives.
    const std::string listening = "Server listening on 127.0.0.1 port " + std::to_string(port);
    auto deadline = Clock::now() + kSshdStartTimeout;
    int pidfd = PidfdOpen(sshd->pid_);
    bool ready = false, exited = false;
    int status = 0;
    while (!ready && !exited && Clock::now() < deadline) {
      if (::waitpid(sshd->pid_, &status, WNOHANG) == sshd->pid_) {
        exited = true;
        break;
      }
      std::string log = ReadOrEmpty(log_path);
      if (log.size() > log_offset && log.find(listening, log_offset) != std::string::npos &&
          CanConnect(port)) {
        ready = true;
        break;
      }
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, pidfd >= 0 ? 1 : 0, std::min(MillisUntil(deadline), 10));
    }
    if (pidfd >= 0) ::close(pidfd);
    if (ready) return sshd;

    std::string log = ReadOrEmpty(log_path);
    std::string attempt_log = log.size() > log_offset ? log.substr(log_offset) : "";
    std::string out = ReadOrEmpty(out_path);
    if (exited) {
      sshd->pid_ = -1;  // reaped
      last_failure = "sshd exited with code " + std::to_string(ExitCodeOf(status)) + "\n--- " +
                     log_path.string() + " (tail):\n" + Tail(attempt_log, 30) + "--- " +
                     out_path.string() + " (tail):\n" + Tail(out, 10);
      if (attempt_log.find("Address already in use") != std::string::npos) continue;
      return MakeError(ErrorCode::kUnavailable, last_failure);
    }
    // Still running but not listening: the destructor kills and reaps it.
    return MakeError(ErrorCode::kUnavailable,
                     "sshd did not listen on 127.0.0.1:" + std::to_string(port) + " within " +
                         std::to_string(kSshdStartTimeout.count()) + " s\n--- " +
                         log_path.string() + " (tail):\n" + Tail(attempt_log, 30) + "--- " +
                         out_path.string() + " (tail):\n" + Tail(out, 10));
  }
  return MakeError(ErrorCode::kUnavailable, "sshd could not bind a free port in " +
                                                std::to_string(kPortAttempts) +
                                                " attempts; last failure: " + last_failure);
}

Sshd::~Sshd() {
  if (pid_ <= 0) return;
  // Connections and their sessions first (see DescendantsOf), with their process groups so
  // that what a session's shell started goes too. SIGKILL: this is teardown, and a session
  // waiting for its client would otherwise linger.
  for (pid_t p : DescendantsOf(pid_)) {
    ::kill(-p, SIGKILL);  // ESRCH unless p leads a group
    ::kill(p, SIGKILL);
  }
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitForExit(pid_, kSshdStopTimeout, &status)) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
}

bool SshdCanAllocatePty() {
  if (::geteuid() == 0) return true;
  struct group* tty = ::getgrnam("tty");
  if (tty == nullptr) return true;  // sshd then uses the user's own group, which it may set
  gid_t tty_gid = tty->gr_gid;
  std::vector<gid_t> groups(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)) + 1);
  int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < n; ++i) {
    if (groups[static_cast<size_t>(i)] == tty_gid) return true;
  }
  if (::getegid() == tty_gid) return true;
  // Otherwise it depends on the group a new pty gets: open one and look.
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return false;
  bool ok = false;
  if (::grantpt(master) == 0 && ::unlockpt(master) == 0) {
    char name[128];
    struct stat st {};
    ok = ::ptsname_r(master, name, sizeof name) == 0 && ::stat(name, &st) == 0 &&
         st.st_gid == tty_gid;
  }
  ::close(master);
  return ok;
}

std::string Sshd::log() const { return ReadOrEmpty(dir_ / "sshd.log"); }

// ---------------------------------------------------------------------------------------
// Client argument builders

std::vector<std::string> SshClientArgs(int port, const std::string& user,
                                       const fs::path& identity_file,
                                       const std::vector<std::string>& extra_options) {
  std::vector<std::string> args = CommonClientOptions(identity_file, extra_options);
  args.insert(args.end(), {"-p", std::to_string(port), user + "@127.0.0.1"});
  return args;
}

std::vector<std::string> SftpArgs(int port, const fs::path& identity_file,
                                  const std::vector<std::string>& extra_options) {
  std::vector<std::string> args = CommonClientOptions(identity_file, extra_options);
  args.insert(args.end(), {"-P", std::to_string(port)});
  return args;
}

std::vector<std::string> ScpArgs(int port, const fs::path& identity_file,
                                 const std::vector<std::string>& extra_options) {
  return SftpArgs(port, identity_file, extra_options);  // same spelling for both
}

std::string SftpDestination(const std::string& user) { return user + "@127.0.0.1"; }

std::string ScpRemote(const std::string& user, const std::string& path) {
  return user + "@127.0.0.1:" + path;
}

// ---------------------------------------------------------------------------------------
// SshProcess

Result<std::unique_ptr<SshProcess>> SshProcess::Start(const std::vector<std::string>& args,
                                                      ProcessOptions options) {
  std::vector<std::string> argv = {kSsh};
  argv.insert(argv.end(), args.begin(), args.end());
  return StartCommand(argv, std::move(options));
}

Result<std::unique_ptr<SshProcess>> SshProcess::StartCommand(const std::vector<std::string>& argv,
                                                             ProcessOptions options) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty argv");
  std::unique_ptr<SshProcess> proc(new SshProcess());
  proc->program_ = argv[0];
  std::vector<std::string> env = options.env;

  if (options.askpass_answer) {
    fs::path dir = options.askpass_dir.empty() ? TempDir("askpass") : options.askpass_dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::string stem =
        "askpass-" + std::to_string(::getpid()) + "-" + std::to_string(g_askpass_counter++);
    fs::path answer = dir / (stem + ".answer");
    fs::path script = dir / (stem + ".sh");
    proc->askpass_log_ = dir / (stem + ".prompts");
    // The answer lives in its own file so that no quoting of it is ever needed; prompts are
    // NUL-terminated because a keyboard-interactive prompt may contain newlines.
    RETURN_IF_ERROR(WriteFileAtomic(answer, *options.askpass_answer + "\n", 0600));
    RETURN_IF_ERROR(WriteFileAtomic(proc->askpass_log_, "", 0600));
    RETURN_IF_ERROR(WriteFileAtomic(script,
                                    "#!/bin/sh\n"
                                    "printf '%s\\0' \"$1\" >> " +
                                        ShellQuote(proc->askpass_log_) +
                                        "\n"
                                        "exec cat " +
                                        ShellQuote(answer) + "\n",
                                    0700));
    env.push_back("SSH_ASKPASS=" + script.string());
    env.push_back("SSH_ASKPASS_REQUIRE=force");
    // Older clients use askpass only with a display; 9.x with "force" does not need one.
    env.push_back("DISPLAY=:0");
  }

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Errno("pipe2");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    Error e = Errno("pipe2");
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return e;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    Error e = Errno("pipe2");
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    return e;
  }
  auto pid = Spawn(argv, ChildEnvironment(env), in_pipe[0], out_pipe[1], err_pipe[1]);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  proc->stdin_fd_ = in_pipe[1];
  proc->stdout_fd_ = out_pipe[0];
  proc->stderr_fd_ = err_pipe[0];
  if (!pid.ok()) return std::move(pid).error();  // the destructor closes the fds
  proc->pid_ = *pid;
  proc->pidfd_ = PidfdOpen(proc->pid_);
  for (int fd : {proc->stdin_fd_, proc->stdout_fd_, proc->stderr_fd_}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return proc;
}

SshProcess::~SshProcess() {
  CloseFd(stdin_fd_);
  if (pid_ > 0) {
    KillGroup();
    Reap(true);
    // Also what it left behind after exiting (a backgrounded child, a ProxyCommand): the
    // group outlives its leader while it has members, so its id cannot have been reused.
    ::kill(-pid_, SIGKILL);
  }
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
  CloseFd(pidfd_);
}

void SshProcess::KillGroup() {
  if (pid_ <= 0 || exit_code_) return;
  // The child called setsid(), so its pid is its process group: this also reaches what it
  // started (askpass, a ProxyCommand), unless those made sessions of their own.
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

bool SshProcess::Reap(bool block) {
  if (exit_code_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_code_ = ExitCodeOf(status);
    CloseFd(pidfd_);
    return true;
  }
  return false;
}

void SshProcess::Pump(int timeout_ms) {
  pollfd fds[3];
  int* owners[3];
  nfds_t n = 0;
  for (int* fd : {&stdout_fd_, &stderr_fd_}) {
    if (*fd >= 0) {
      fds[n] = {*fd, POLLIN, 0};
      owners[n++] = fd;
    }
  }
  nfds_t n_pipes = n;
  if (pidfd_ >= 0 && !exit_code_) fds[n++] = {pidfd_, POLLIN, 0};
  if (n == 0) return;
  // Without a pidfd the child's exit cannot wake us: cap the wait so Wait() notices it.
  if (pidfd_ < 0 && !exit_code_ && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
  int r = ::poll(fds, n, timeout_ms);
  if (r <= 0) return;
  for (nfds_t i = 0; i < n_pipes; ++i) {
    if (fds[i].revents == 0) continue;
    std::string& sink = (owners[i] == &stdout_fd_) ? stdout_ : stderr_;
    char buf[16384];
    for (;;) {
      ssize_t got = ::read(*owners[i], buf, sizeof buf);
      if (got > 0) {
        sink.append(buf, static_cast<size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      CloseFd(*owners[i]);  // EOF or a real error: nothing more will come
      break;
    }
  }
}

Status SshProcess::Write(std::string_view data) {
  if (stdin_fd_ < 0) return MakeError(ErrorCode::kFailedPrecondition, "stdin is closed");
  // A child that exited raises SIGPIPE on our write; block it for this thread and take the
  // EPIPE instead, without changing the process-wide disposition other tests rely on.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  auto deadline = Clock::now() + kWriteTimeout;
  Status result;
  while (!data.empty()) {
    ssize_t n = ::write(stdin_fd_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (Clock::now() >= deadline) {
        result = MakeError(ErrorCode::kUnavailable,
                           "write to " + program_ + " stdin timed out\n" + Describe());
        break;
      }
      // Keep draining its output while we wait: it may be blocked writing to us.
      pollfd p{stdin_fd_, POLLOUT, 0};
      Pump(0);
      ::poll(&p, 1, std::min(MillisUntil(deadline), 50));
      continue;
    }
    int write_errno = errno;
    if (write_errno == EPIPE) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE)) {
        timespec zero{};
        ::sigtimedwait(&pipe_set, nullptr, &zero);
      }
    }
    result = MakeError(
        ErrorCode::kFailedPrecondition,
        "write to " + program_ + " stdin: " + std::strerror(write_errno) + "\n" + Describe());
    break;
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return result;
}

void SshProcess::CloseStdin() { CloseFd(stdin_fd_); }

Result<std::string> SshProcess::ReadUntil(std::string_view needle,
                                          std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (stdout_.find(needle) != std::string::npos) return stdout_;
    if (stdout_fd_ < 0) {
      return MakeError(ErrorCode::kNotFound, "stdout of " + program_ + " ended without \"" +
                                                 std::string(needle) + "\"\n" + Describe());
    }
    if (Clock::now() >= deadline) {
      return MakeError(ErrorCode::kUnavailable,
                       "no \"" + std::string(needle) + "\" on stdout of " + program_ + " within " +
                           std::to_string(timeout.count()) + " ms\n" + Describe());
    }
    Pump(MillisUntil(deadline));
    Reap(false);
  }
}

Result<int> SshProcess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!Reap(false)) {
    if (Clock::now() >= deadline) {
      KillGroup();
      Reap(true);
      Pump(0);
      return MakeError(ErrorCode::kUnavailable, program_ + " still running after " +
                                                    std::to_string(timeout.count()) +
                                                    " ms; killed\n" + Describe());
    }
    Pump(MillisUntil(deadline));
  }
  // Exited: collect what is still in the pipes. Something it started may hold them open,
  // so stop at the deadline (at least a short grace) rather than insist on EOF.
  auto drain_deadline = std::max(deadline, Clock::now() + std::chrono::milliseconds(200));
  while ((stdout_fd_ >= 0 || stderr_fd_ >= 0) && Clock::now() < drain_deadline) {
    Pump(MillisUntil(drain_deadline));
  }
  return *exit_code_;
}

std::vector<std::string> SshProcess::askpass_prompts() const {
  std::vector<std::string> out;
  if (askpass_log_.empty()) return out;
  std::string text = ReadOrEmpty(askpass_log_);
  size_t start = 0;
  for (size_t end; (end = text.find('\0', start)) != std::string::npos; start = end + 1) {
    out.push_back(text.substr(start, end - start));
  }
  return out;
}

std::string SshProcess::Describe() const {
  std::string s = "--- stdout:\n" + stdout_ + "\n--- stderr:\n" + stderr_;
  if (exit_code_) s += "\n--- exit code " + std::to_string(*exit_code_);
  return s;
}

// ---------------------------------------------------------------------------------------
// One-shot runs

Result<RunResult> RunCommand(const std::vector<std::string>& argv, std::string_view stdin_data,
                             std::chrono::milliseconds timeout, ProcessOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<SshProcess> proc,
                   SshProcess::StartCommand(argv, std::move(options)));
  if (!stdin_data.empty()) {
    // A child that exits without reading all its input is not an error here; its exit code
    // says what happened.
    (void)proc->Write(stdin_data);
  }
  proc->CloseStdin();
  ASSIGN_OR_RETURN(int code, proc->Wait(timeout));
  return RunResult{code, proc->stdout_text(), proc->stderr_text()};
}

Result<RunResult> RunSsh(const std::vector<std::string>& args, std::string_view stdin_data,
                         std::chrono::milliseconds timeout, ProcessOptions options) {
  std::vector<std::string> argv = {kSsh};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_data, timeout, std::move(options));
}

}  // namespace cloudpact::testing
