// The SSH gateway against direct SSH, in one process and one run (docs/BENCHMARKS.md,
// issue 4). Real programs on both ends: Debian's OpenSSH client as the operator, Debian's
// sshd on a loopback port as the target, and the gateway in process (SQLite storage,
// ledger, access policy, sealed target credential, recordings on disk) in between.
//
//   throughput  bytes/s of `cat FILE` (a pre-generated random file) read from ssh's stdout,
//               from the first byte to EOF, so the login (slow here: root's .bashrc runs
//               pyenv) is excluded; direct and gateway runs alternate.
//   latency     one byte written to an interactive -tt session whose remote side is
//               `stty raw -echo; exec cat`, timed until that byte comes back; direct and
//               gateway samples alternate in blocks.
//   sessions    N interactive shells through the gateway, opened with bounded parallelism
//               and held open; the gateway's RSS and threads (this process) before and after.
//   recording   RecordingWriter::Output alone (no SSH), on random bytes and on terminal text,
//               fed in the relay's 32 KiB pieces: what the recording costs per MiB of output.
//
// A measurement, not a test: it reports what it saw, and exits non-zero only if it could
// not set up or a phase failed outright.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "access/access.h"
#include "core/files.h"
#include "core/yaml.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "crypto/seal.h"
#include "directory/directory.h"
#include "gateway/credentials.h"
#include "gateway/gateway.h"
#include "gateway/recording.h"
#include "ledger/ledger.h"
#include "testing/backends.h"
#include "testing/sshd.h"

extern char** environ;

namespace cloudpact::gateway {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kTotp = "424242";
constexpr const char* kSsh = "/usr/bin/ssh";

// The gateway test's policy, less the review rule: a privileged role (so TOTP is asked) and
// command rules that are evaluated on every line but match nothing the benchmark types, and
// file transfers allowed.
constexpr const char* kPolicy = R"(roles:
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*"], resources: {types: [host]}}
  - name: lead
    admin: [access:review, sessions:read, sessions:control]
gateway:
  commands:
    - {name: no-denied-files, pattern: 'touch\s+\S*denied', action: deny}
    - {name: watch-id, pattern: '^id\b', action: alert}
  file_transfers:
    - {name: sftp-hosts, action: allow, match: {resources: {labels: {sftp: "yes"}}}}
)";

struct Config {
  uint64_t bytes = 256ull << 20;
  int runs = 3;
  int warmup = 200;
  int samples = 2000;
  int blocks = 10;
  int sessions = 200;
  int parallel = 4;
  int hold_seconds = 10;
  std::string phases = "recording,throughput,sftp,latency,sessions";
  std::vector<std::string> ssh_options;  // e.g. Ciphers=aes128-gcm@openssh.com
};

// The pieces GatewayTest::SetUp wires together, on SQLite, plus the target sshd.
class Lab {
 public:
  static Result<std::unique_ptr<Lab>> Start(const fs::path& dir) {
    std::unique_ptr<Lab> lab(new Lab);
    lab->dir_ = dir;
    lab->store_ = testing::OpenFresh("sqlite", "gateway-bench");
    ASSIGN_OR_RETURN(auto seed, crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x09')));
    ASSIGN_OR_RETURN(lab->ledger_, ledger::Ledger::Open(*lab->store_, crypto::NoteSigner("bench.example/gw", seed), {}));
    ASSIGN_OR_RETURN(lab->directory_, directory::Directory::Load(*lab->store_, *lab->ledger_));
    ASSIGN_OR_RETURN(lab->access_, access::AccessService::Load(*lab->store_, *lab->ledger_, *lab->directory_));
    RETURN_IF_ERROR(lab->access_->ProposePolicy(kPolicy, "root-admin"));

    ASSIGN_OR_RETURN(lab->alice_, testing::GenerateSshKey(dir, "alice"));
    ASSIGN_OR_RETURN(auto erin, testing::GenerateSshKey(dir, "erin"));
    ASSIGN_OR_RETURN(auto target_key, testing::GenerateSshKey(dir, "gateway-to-target"));
    // The direct client logs in with alice's key too, so both paths authenticate alike at
    // the target (publickey) and differ only by the gateway.
    ASSIGN_OR_RETURN(lab->sshd_, testing::Sshd::Start(dir / "sshd", {target_key.public_line, lab->alice_.public_line}));
    const std::string port = std::to_string(lab->sshd_->port());
    std::string yaml = "platforms: [{id: lab}]\nresources:\n"
                       "  - {id: tgt01, platform: lab, type: host, labels: {sftp: \"yes\"}, ssh: {host: 127.0.0.1, port: " + port +
                       ", host_key: \"" + lab->sshd_->host_key_line() + "\"}}\n"
                       "staff:\n"
                       "  - {id: alice, roles: [sre], ssh_keys: [\"" + lab->alice_.public_line + "\"]}\n"
                       "  - {id: erin, roles: [lead], ssh_keys: [\"" + erin.public_line + "\"]}\n";
    ASSIGN_OR_RETURN(auto doc, ParseYaml(yaml));
    ASSIGN_OR_RETURN(auto spec, directory::ParseDirectory(doc));
    RETURN_IF_ERROR(lab->directory_->Apply(spec, "root-admin"));

    ASSIGN_OR_RETURN(auto sealer, crypto::Sealer::FromKey(std::string(32, 'k')));
    lab->sealer_ = std::make_unique<crypto::Sealer>(std::move(sealer));
    lab->credentials_ = std::make_unique<Credentials>(*lab->store_, *lab->ledger_, *lab->sealer_);
    RETURN_IF_ERROR(lab->credentials_->Set("tgt01", lab->sshd_->login(), "key", target_key.private_pem, "root-admin", 1));
    ASSIGN_OR_RETURN(lab->recordings_, OpenRecordingStore(dir / "recordings"));

    access::NewRequest r;
    r.resources = {"tgt01"};
    r.actions = {"login:" + lab->sshd_->login()};
    r.reason = "maintenance";
    r.justification = "gateway benchmark";
    r.ticket = "CHG-1";
    r.duration_seconds = 6 * 3600;
    ASSIGN_OR_RETURN(auto req, lab->access_->CreateRequest("alice", r));
    RETURN_IF_ERROR(lab->access_->AddReview(req.id, "erin", {"approve", "", ""}));

    GatewayDeps deps;
    deps.store = lab->store_.get();
    deps.ledger = lab->ledger_.get();
    deps.directory = lab->directory_.get();
    deps.access = lab->access_.get();
    deps.credentials = lab->credentials_.get();
    deps.recordings = lab->recordings_.get();
    deps.verify_totp = [](const std::string&, const std::string& code) {
      return code == kTotp ? OkStatus() : Status(MakeError(ErrorCode::kUnauthenticated, "wrong code"));
    };
    GatewayOptions opt;
    opt.port = 0;
    opt.host_key = dir / "gateway-host-key";  // check_interval_ms: the default (250)
    ASSIGN_OR_RETURN(lab->gateway_, Gateway::Start(deps, opt));

    // SSH_ASKPASS for the TOTP prompt, for the benchmark's own children (SshProcess makes
    // its own).
    lab->askpass_ = dir / "askpass";
    RETURN_IF_ERROR(WriteFileAtomic(lab->askpass_, std::string("#!/bin/sh\necho ") + kTotp + "\n", 0700));
    return lab;
  }

  ~Lab() {
    gateway_.reset();  // ends the sessions before the target and the stores go
    sshd_.reset();
  }

  Gateway& gateway() { return *gateway_; }
  const fs::path& dir() const { return dir_; }
  const fs::path& askpass() const { return askpass_; }

  // ssh options and destination, through the gateway or straight to the target.
  std::vector<std::string> Args(bool via_gateway, const std::vector<std::string>& flags,
                                const std::vector<std::string>& options) const {
    std::vector<std::string> extra;
    for (const auto& o : options) extra.insert(extra.end(), {"-o", o});
    auto args = via_gateway
                    ? testing::SshClientArgs(gateway_->port(), "alice:" + sshd_->login() + ":tgt01",
                                             alice_.private_key_path, extra)
                    : testing::SshClientArgs(sshd_->port(), sshd_->login(), alice_.private_key_path, extra);
    args.insert(args.begin(), flags.begin(), flags.end());
    return args;
  }
  // sftp, its commands read from stdin (-b would set BatchMode, which disables the
  // keyboard-interactive TOTP prompt).
  std::vector<std::string> SftpArgv(bool via_gateway, const std::vector<std::string>& options) const {
    std::vector<std::string> extra;
    for (const auto& o : options) extra.insert(extra.end(), {"-o", o});
    std::vector<std::string> argv = {"/usr/bin/sftp"};
    for (auto& a : testing::SftpArgs(via_gateway ? gateway_->port() : sshd_->port(), alice_.private_key_path, extra)) {
      argv.push_back(a);
    }
    // A user name with colons goes in -o User= (sftp parses USER@HOST:PATH).
    argv.insert(argv.end(), {"-o", "User=" + (via_gateway ? "alice:" + sshd_->login() + ":tgt01" : sshd_->login()),
                             "127.0.0.1"});
    return argv;
  }
  testing::ProcessOptions Totp() const {
    testing::ProcessOptions o;
    o.askpass_answer = kTotp;
    o.askpass_dir = dir_ / "askpass-sessions";
    return o;
  }

 private:
  Lab() = default;
  fs::path dir_, askpass_;
  std::unique_ptr<storage::Storage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<access::AccessService> access_;
  std::unique_ptr<crypto::Sealer> sealer_;
  std::unique_ptr<Credentials> credentials_;
  std::unique_ptr<RecordingStore> recordings_;
  std::unique_ptr<testing::Sshd> sshd_;
  testing::SshKeyPair alice_;
  std::unique_ptr<Gateway> gateway_;
};

// An ssh client with raw pipes for stdin and stdout (SshProcess keeps all output in a
// string and searches it, which would be the bottleneck here) and stderr in a file.
class Client {
 public:
  static Result<std::unique_ptr<Client>> Start(const Lab& lab, std::vector<std::string> args, const fs::path& err) {
    args.insert(args.begin(), kSsh);
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (name != "SSH_AUTH_SOCK" && name != "SSH_ASKPASS" && name != "SSH_ASKPASS_REQUIRE" && name != "DISPLAY") {
        env.push_back(entry);
      }
    }
    env.insert(env.end(), {"SSH_ASKPASS=" + lab.askpass().string(), "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"});
    std::vector<char*> c_args, c_env;
    for (auto& a : args) c_args.push_back(a.data());
    c_args.push_back(nullptr);
    for (auto& e : env) c_env.push_back(e.data());
    c_env.push_back(nullptr);

    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      return MakeError(ErrorCode::kInternal, std::string("pipe2: ") + std::strerror(errno));
    }
    ::fcntl(out[0], F_SETPIPE_SZ, 1 << 20);  // as large as unprivileged limits allow
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own session: no controlling terminal, so the TOTP prompt goes to askpass.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    std::unique_ptr<Client> c(new Client);
    int rc = ::posix_spawn(&c->pid_, kSsh, &fa, &attr, c_args.data(), c_env.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(in[0]);
    ::close(out[1]);
    c->in_ = in[1];
    c->out_ = out[0];
    c->err_ = err;
    if (rc != 0) return MakeError(ErrorCode::kInternal, std::string("posix_spawn ssh: ") + std::strerror(rc));
    return c;
  }

  ~Client() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  int out() const { return out_; }
  std::string stderr_text() const {
    std::ifstream f(err_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  Status Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(in_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return MakeError(ErrorCode::kInternal, std::string("write to ssh: ") + std::strerror(errno));
      data.remove_prefix(static_cast<size_t>(n));
    }
    return OkStatus();
  }

  // Reads into `buf`; 0 on EOF; fails after `timeout` without data.
  Result<size_t> Read(char* buf, size_t size, std::chrono::milliseconds timeout) {
    pollfd p{out_, POLLIN, 0};
    for (;;) {
      int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return MakeError(ErrorCode::kUnavailable, "no output from ssh; stderr: " + stderr_text());
      ssize_t n = ::read(out_, buf, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return MakeError(ErrorCode::kInternal, std::string("read from ssh: ") + std::strerror(errno));
      return static_cast<size_t>(n);
    }
  }

  // Reads until the output seen since the call contains `needle`.
  Status ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
    std::string seen;
    char buf[4096];
    const auto deadline = Clock::now() + timeout;
    while (seen.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return MakeError(ErrorCode::kUnavailable, "waiting for " + std::string(needle) + "; saw: " + seen);
      ASSIGN_OR_RETURN(size_t n, Read(buf, sizeof buf, left));
      if (n == 0) return MakeError(ErrorCode::kUnavailable, "EOF before " + std::string(needle) + "; saw: " + seen + "\nstderr: " + stderr_text());
      seen.append(buf, n);
    }
    return OkStatus();
  }

  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  Client() = default;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  fs::path err_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 50); }

std::string StatusLine(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return line;
  }
  return std::string(field) + " ?";
}

long StatusKiB(const char* field) {  // VmRSS:  12345 kB -> 12345; Threads: 7 -> 7
  std::string line = StatusLine(field);
  return std::atol(line.c_str() + std::strlen(field));
}

const char* Name(bool via_gateway) { return via_gateway ? "gateway" : "direct"; }

// --- throughput --------------------------------------------------------------------

struct Transfer {
  double mib_per_s = 0;
  double total_seconds = 0;  // spawn to exit, login included
  double cpu_seconds = 0;    // this process (the gateway, and the reader) from first byte to EOF
};

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Result<Transfer> OneTransfer(Lab& lab, const Config& cfg, bool via_gateway, const fs::path& file, int run) {
  const auto start = Clock::now();
  auto args = lab.Args(via_gateway, {}, cfg.ssh_options);
  args.push_back("cat " + file.string());
  ASSIGN_OR_RETURN(auto c, Client::Start(lab, args, lab.dir() / ("xfer-" + std::string(Name(via_gateway)) + ".err")));
  std::vector<char> buf(1 << 20);
  uint64_t bytes = 0;
  Clock::time_point first{};
  double cpu0 = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, c->Read(buf.data(), buf.size(), 120s));
    if (n == 0) break;
    if (bytes == 0) {
      first = Clock::now();
      cpu0 = CpuSeconds();
    }
    bytes += n;
  }
  const auto last = Clock::now();
  const double cpu1 = CpuSeconds();
  int code = c->Wait();
  if (code != 0 || bytes != cfg.bytes) {
    return MakeError(ErrorCode::kInternal, std::string(Name(via_gateway)) + ": ssh exited " + std::to_string(code) +
                                               " after " + std::to_string(bytes) + " bytes; stderr: " + c->stderr_text());
  }
  Transfer t;
  t.mib_per_s = static_cast<double>(bytes) / (1 << 20) / std::chrono::duration<double>(last - first).count();
  t.total_seconds = std::chrono::duration<double>(last - start).count();
  t.cpu_seconds = cpu1 - cpu0;
  return t;
}

// The whole sftp run (login, `put`, bye), in seconds.
Result<double> SftpRun(Lab& lab, const Config& cfg, bool via_gateway, const std::string& commands) {
  const auto t0 = Clock::now();
  ASSIGN_OR_RETURN(auto r, testing::RunCommand(lab.SftpArgv(via_gateway, cfg.ssh_options), commands + "bye\n", 300s,
                                               lab.Totp()));
  if (r.exit_code != 0) {
    return MakeError(ErrorCode::kInternal, std::string(Name(via_gateway)) + " sftp exited " +
                                               std::to_string(r.exit_code) + ": " + r.stderr_text);
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// sftp upload of the same file: the gateway's file-transfer path (SFTP stream parsed,
// hashed and ledgered) rather than an exec session's asciicast recording. Timed as the
// whole run less the median of runs that only log in and say bye.
Status SftpUpload(Lab& lab, const Config& cfg, const fs::path& file) {
  std::printf("-- sftp put of the same file; rate = bytes / (put run - login-only run)\n");
  std::vector<double> rate[2], login[2];
  for (int run = 0; run < cfg.runs; ++run) {
    for (int k = 0; k < 2; ++k) {
      const bool g = ((run + k) % 2) == 1;
      ASSIGN_OR_RETURN(double l, SftpRun(lab, cfg, g, ""));
      login[g].push_back(l);
    }
  }
  for (bool g : {false, true}) {
    std::printf("login-only %-8s median %.2f s\n", Name(g), Median(login[g]));
  }
  for (int run = 0; run < cfg.runs; ++run) {
    for (int k = 0; k < 2; ++k) {
      const bool g = ((run + k) % 2) == 1;
      const fs::path remote = lab.dir() / ("uploaded-" + std::string(Name(g)) + ".bin");
      const double cpu0 = CpuSeconds();
      ASSIGN_OR_RETURN(double t, SftpRun(lab, cfg, g, "put " + file.string() + " " + remote.string() + "\n"));
      const double cpu = CpuSeconds() - cpu0;
      std::error_code ec;
      const auto size = fs::file_size(remote, ec);
      if (ec || size != cfg.bytes) return MakeError(ErrorCode::kInternal, std::string(Name(g)) + ": upload incomplete");
      fs::remove(remote, ec);
      const double r = static_cast<double>(cfg.bytes) / (1 << 20) / std::max(1e-3, t - Median(login[g]));
      rate[g].push_back(r);
      std::printf("run %d %-8s %8.1f MiB/s  %6.2f s whole run  %6.2f s CPU in this process\n", run, Name(g), r, t, cpu);
      std::fflush(stdout);
    }
  }
  const double d = Median(rate[0]), g = Median(rate[1]);
  std::printf("median   direct %.1f MiB/s, gateway %.1f MiB/s, ratio %.1f %% (target >= 70 %%)\n\n", d, g, 100 * g / d);
  std::fflush(stdout);
  return OkStatus();
}

Status Throughput(Lab& lab, const Config& cfg) {
  const fs::path file = lab.dir() / "random.bin";
  {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    std::ofstream out(file, std::ios::binary);
    std::vector<char> buf(1 << 20);
    for (uint64_t left = cfg.bytes; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      rnd.read(buf.data(), static_cast<std::streamsize>(n));
      out.write(buf.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
  }
  std::printf("== throughput: cat of a %.0f MiB random file (page cache), stdout read by this process\n",
              static_cast<double>(cfg.bytes) / (1 << 20));
  std::vector<double> rate[2], total[2];
  for (int run = 0; run < cfg.runs; ++run) {
    // Alternate the order so that neither path always runs on a warmer or quieter machine.
    for (int k = 0; k < 2; ++k) {
      const bool via_gateway = ((run + k) % 2) == 1;
      ASSIGN_OR_RETURN(Transfer t, OneTransfer(lab, cfg, via_gateway, file, run));
      rate[via_gateway].push_back(t.mib_per_s);
      total[via_gateway].push_back(t.total_seconds);
      std::printf("run %d %-8s %8.1f MiB/s (first byte to EOF)  %6.2f s spawn to exit  %6.2f s CPU in this process\n",
                  run, Name(via_gateway), t.mib_per_s, t.total_seconds, t.cpu_seconds);
      std::fflush(stdout);
    }
  }
  const double d = Median(rate[0]), g = Median(rate[1]);
  std::printf("median   direct %.1f MiB/s, gateway %.1f MiB/s, ratio %.1f %% (target >= 70 %%)\n", d, g, 100 * g / d);
  std::printf("median   spawn-to-exit direct %.2f s, gateway %.2f s\n\n", Median(total[0]), Median(total[1]));
  std::fflush(stdout);
  if (cfg.phases.find("sftp") != std::string::npos) RETURN_IF_ERROR(SftpUpload(lab, cfg, file));
  std::error_code ec;
  fs::remove(file, ec);
  return OkStatus();
}

// --- recording alone ------------------------------------------------------------------

// Terminal text as a shell session shows it: coloured `ls -l` lines, log lines, a prompt, some
// CJK and emoji, CRLF line ends; about 90 % printable ASCII.
std::string TerminalText(size_t size) {
  std::string text;
  uint32_t x = 12345;
  auto next = [&x] { return x = x * 1664525 + 1013904223; };
  while (text.size() < size) {
    switch (next() % 4) {
      case 0:
        text += "drwxr-xr-x  2 root root " + std::to_string(next() % 100000) +
                " Nov 27 18:01 \x1b[01;34mdir" + std::to_string(next() % 100) + "\x1b[0m\r\n";
        break;
      case 1:
        text += "2026-11-27T18:01:" + std::to_string(next() % 60) +
                "Z INFO request id=" + std::to_string(next()) + " path=\"/api/v1/items\" took " +
                std::to_string(next() % 1000) + "ms\r\n";
        break;
      case 2:
        text += "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x95\xe3\x82\xa1\xe3\x82"
                "\xa4\xe3\x83\xab.txt  \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87\r\n";
        break;
      default:
        text += "\x1b]0;root@tgt01: ~\x07\x1b[?2004hroot@tgt01:~# \tls --color=auto\x1b[?2004l\r\n";
        break;
    }
  }
  text.resize(size);
  return text;
}

// One writer, `data` given to Output in kPiece-byte calls as the relay does, then Finish.
Status RecordOnce(RecordingStore& store, const char* name, const std::string& data) {
  constexpr size_t kPiece = 32 << 10;
  auto w = store.Begin(RecordingHeader{});
  if (!w.ok()) return w.error();
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  double t = 0;
  for (size_t pos = 0; pos < data.size(); pos += kPiece) {
    t += 1e-4;
    RETURN_IF_ERROR((*w)->Output(t, std::string_view(data).substr(pos, kPiece)));
  }
  ASSIGN_OR_RETURN(RecordingInfo info, (*w)->Finish());
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double mib = static_cast<double>(data.size()) / (1 << 20);
  std::printf("%-9s %6.0f MiB in %6.3f s = %7.1f MiB/s of output (%.3f s CPU); asciicast %.2f x input, "
              "compressed %.2f x input\n",
              name, mib, secs, mib / secs, CpuSeconds() - cpu0,
              static_cast<double>(info.bytes) / static_cast<double>(data.size()),
              static_cast<double>(info.compressed_bytes) / static_cast<double>(data.size()));
  std::fflush(stdout);
  return OkStatus();
}

Status Recording(Lab& lab, const Config& cfg) {
  const size_t size = static_cast<size_t>(std::min<uint64_t>(cfg.bytes, 64ull << 20));
  std::printf("== recording alone: RecordingWriter::Output in 32 KiB calls, then Finish\n");
  ASSIGN_OR_RETURN(auto store, OpenRecordingStore(lab.dir() / "recording-bench"));
  std::string random(size, '\0');
  {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    rnd.read(random.data(), static_cast<std::streamsize>(random.size()));
  }
  const std::string text = TerminalText(size);
  for (int run = 0; run < cfg.runs; ++run) {
    RETURN_IF_ERROR(RecordOnce(*store, "random", random));
    RETURN_IF_ERROR(RecordOnce(*store, "terminal", text));
  }
  std::printf("\n");
  return OkStatus();
}

// --- keystroke echo latency -----------------------------------------------------------

// An interactive session whose far end echoes every byte itself (cat in raw mode, no
// line discipline echo), so each byte written comes back exactly once.
Result<std::unique_ptr<Client>> EchoSession(Lab& lab, const Config& cfg, bool via_gateway) {
  ASSIGN_OR_RETURN(auto c, Client::Start(lab, lab.Args(via_gateway, {"-tt"}, cfg.ssh_options),
                                         lab.dir() / ("echo-" + std::string(Name(via_gateway)) + ".err")));
  RETURN_IF_ERROR(c->Write("stty raw -echo; echo RE''ADY; exec cat\r"));
  RETURN_IF_ERROR(c->ReadUntil("READY", 60s));
  // Whatever followed READY (its newline) is flushed by a round trip of a sentinel.
  RETURN_IF_ERROR(c->Write("#"));
  RETURN_IF_ERROR(c->ReadUntil("#", 10s));
  return c;
}

Result<double> Echo(Client& c, char byte) {
  char got = 0;
  const auto t0 = Clock::now();
  RETURN_IF_ERROR(c.Write(std::string_view(&byte, 1)));
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, c.Read(&got, 1, 10s));
    if (n == 0) return MakeError(ErrorCode::kUnavailable, "EOF in echo session; stderr: " + c.stderr_text());
    if (got == byte) break;
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

Status Latency(Lab& lab, const Config& cfg) {
  std::printf("== keystroke echo: 1 byte to `stty raw -echo; exec cat` in a -tt session and back\n");
  std::unique_ptr<Client> c[2];
  for (bool g : {false, true}) {
    ASSIGN_OR_RETURN(c[g], EchoSession(lab, cfg, g));
  }
  int letter = 0;
  auto next = [&] { return static_cast<char>('a' + (letter++ % 26)); };
  for (bool g : {false, true}) {
    for (int i = 0; i < cfg.warmup; ++i) RETURN_IF_ERROR(Echo(*c[g], next()));
  }
  std::vector<double> us[2];
  const int per_block = std::max(1, cfg.samples / cfg.blocks);
  for (int b = 0; b < cfg.blocks; ++b) {
    for (int k = 0; k < 2; ++k) {
      const bool g = ((b + k) % 2) == 1;
      for (int i = 0; i < per_block; ++i) {
        ASSIGN_OR_RETURN(double t, Echo(*c[g], next()));
        us[g].push_back(t);
      }
    }
  }
  for (bool g : {false, true}) {
    std::printf("%-8s n=%zu  p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  max %8.1f us\n", Name(g), us[g].size(),
                Percentile(us[g], 50), Percentile(us[g], 90), Percentile(us[g], 99), Percentile(us[g], 100));
  }
  std::printf("added    p50 %+.1f us, p99 %+.1f us (target <= 1000 us at p99)\n\n",
              Percentile(us[1], 50) - Percentile(us[0], 50), Percentile(us[1], 99) - Percentile(us[0], 99));
  std::fflush(stdout);
  return OkStatus();
}

// --- concurrent sessions ----------------------------------------------------------------

Status Sessions(Lab& lab, const Config& cfg) {
  std::printf("== concurrent interactive sessions through the gateway: %d, opened %d at a time\n", cfg.sessions,
              cfg.parallel);
  // Let sessions of earlier phases finish so that the baseline holds none.
  for (int i = 0; i < 200 && !lab.gateway().Sessions(true).empty(); ++i) std::this_thread::sleep_for(50ms);
  const long rss0 = StatusKiB("VmRSS:"), threads0 = StatusKiB("Threads:");
  std::printf("before   gateway sessions %zu, VmRSS %ld KiB, threads %ld\n", lab.gateway().Sessions(true).size(), rss0,
              threads0);
  std::fflush(stdout);

  std::vector<std::unique_ptr<testing::SshProcess>> shells(static_cast<size_t>(cfg.sessions));
  std::vector<double> login_s(static_cast<size_t>(cfg.sessions), -1);
  std::atomic<int> next{0}, failed{0};
  std::mutex mu;
  std::string first_error;
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < cfg.parallel; ++w) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < cfg.sessions;) {
        const auto t0 = Clock::now();
        auto p = testing::SshProcess::Start(lab.Args(true, {"-tt"}, cfg.ssh_options), lab.Totp());
        Status s = p.ok() ? (*p)->Write("echo ready-$((40+2))\r") : Status(p.error());
        if (s.ok()) {
          auto seen = (*p)->ReadUntil("ready-42", 120s);
          if (!seen.ok()) s = seen.error();
        }
        if (!s.ok()) {
          ++failed;
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) first_error = s.error().message;
          continue;
        }
        login_s[static_cast<size_t>(i)] = std::chrono::duration<double>(Clock::now() - t0).count();
        shells[static_cast<size_t>(i)] = std::move(*p);
      }
    });
  }
  for (auto& t : workers) t.join();
  const double open_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> logins;
  for (double s : login_s) {
    if (s >= 0) logins.push_back(s);
  }
  const int opened = cfg.sessions - failed;
  std::printf("opened   %d of %d in %.1f s; login to first prompt p50 %.2f s, max %.2f s\n", opened, cfg.sessions,
              open_s, Median(logins), Percentile(logins, 100));
  if (!first_error.empty()) std::printf("first failure: %s\n", first_error.c_str());
  std::fflush(stdout);

  // Held open, each session still re-checking its grant; then every one must still answer.
  std::this_thread::sleep_for(std::chrono::seconds(cfg.hold_seconds));
  const long rss1 = StatusKiB("VmRSS:"), threads1 = StatusKiB("Threads:");
  const size_t live = lab.gateway().Sessions(true).size();
  int alive = 0;
  for (size_t i = 0; i < shells.size(); ++i) {
    if (!shells[i]) continue;
    const std::string tag = "alive-" + std::to_string(i) + "-";
    if (shells[i]->Write("echo " + tag + "$((1+1))\r").ok() && shells[i]->ReadUntil(tag + "2", 30s).ok()) ++alive;
  }
  std::printf("after    gateway sessions %zu, VmRSS %ld KiB, threads %ld (after %d s held)\n", live, rss1, threads1,
              cfg.hold_seconds);
  std::printf("answered %d of %d a command after the hold\n", alive, opened);
  if (opened > 0) {
    std::printf("per session: %.0f KiB RSS, %.2f threads\n", static_cast<double>(rss1 - rss0) / opened,
                static_cast<double>(threads1 - threads0) / opened);
  }
  std::fflush(stdout);
  shells.clear();  // kills the clients; the gateway ends their sessions
  for (int i = 0; i < 600 && !lab.gateway().Sessions(true).empty(); ++i) std::this_thread::sleep_for(50ms);
  std::printf("closed   gateway sessions %zu, VmRSS %ld KiB, threads %ld\n\n", lab.gateway().Sessions(true).size(),
              StatusKiB("VmRSS:"), StatusKiB("Threads:"));
  std::fflush(stdout);
  return OkStatus();
}

int Main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"SSH gateway vs direct SSH to the same sshd"};
  app.add_option("--bytes", cfg.bytes, "bytes per transfer");
  app.add_option("--runs", cfg.runs, "transfers per path");
  app.add_option("--warmup", cfg.warmup, "echo samples discarded per path");
  app.add_option("--samples", cfg.samples, "echo samples per path");
  app.add_option("--blocks", cfg.blocks, "alternating blocks the echo samples are taken in");
  app.add_option("--sessions", cfg.sessions, "concurrent sessions to open");
  app.add_option("--parallel", cfg.parallel, "sessions being opened at once");
  app.add_option("--hold-seconds", cfg.hold_seconds, "how long the sessions are held open");
  app.add_option("--phases", cfg.phases, "comma-separated: recording, throughput (sftp: with an sftp upload), latency, sessions");
  app.add_option("--ssh-option", cfg.ssh_options, "extra ssh -o option for every client (repeatable)");
  CLI11_PARSE(app, argc, argv);

  ::signal(SIGPIPE, SIG_IGN);
  rlimit nofile{};  // a few descriptors per session, for clients and gateway alike
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  const fs::path dir = testing::TempDir("gateway-bench-" + std::to_string(::getpid()));
  auto lab = Lab::Start(dir);
  if (!lab.ok()) {
    std::fprintf(stderr, "setup: %s\n", lab.error().message.c_str());
    return 1;
  }
  std::printf("gateway on 127.0.0.1:%d, target sshd (OpenSSH) on loopback; %s\n\n", (*lab)->gateway().port(),
              StatusLine("VmRSS:").c_str());
  std::fflush(stdout);
  int rc = 0;
  auto run = [&](const char* phase, Status (*fn)(Lab&, const Config&)) {
    if (cfg.phases.find(phase) == std::string::npos) return;
    Status s = fn(**lab, cfg);
    if (!s.ok()) {
      std::printf("%s FAILED: %s\n\n", phase, s.error().message.c_str());
      rc = 1;
    }
  };
  run("recording", Recording);
  run("throughput", Throughput);
  run("latency", Latency);
  run("sessions", Sessions);
  lab->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;
}

}  // namespace
}  // namespace cloudpact::gateway

int main(int argc, char** argv) { return cloudpact::gateway::Main(argc, argv); }
