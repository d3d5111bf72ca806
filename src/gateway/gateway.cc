#include "gateway/gateway.h"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/encoding.h"
#include "core/files.h"
#include "core/log.h"
#include "crypto/sha256.h"
#include "gateway/line_editor.h"
#include "gateway/rules.h"
#include "gateway/transfer.h"

namespace cloudpact::gateway {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSessionKind = "gateway.session";
constexpr size_t kMaxPendingInput = 64 * 1024;     // operator typeahead held while a command waits
constexpr size_t kMaxWatcherBacklog = 4 << 20;     // a watcher further behind is dropped
constexpr size_t kMaxCommandsKept = 10'000;        // per session record; the ledger has every one
constexpr size_t kChunk = 64 * 1024;
// Without a terminal (exec, SFTP, scp) nothing is held for a decision, so more may be in
// flight: SFTP pipelines its writes, and a small buffer here throttles it.
constexpr size_t kMaxPendingTransfer = 1 << 20;
constexpr int kMaxAuthAttempts = 6;

std::string NewId(const char* prefix) { return prefix + HexEncode(crypto::RandomBytes(8)); }


int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What the operator's terminal shows from the gateway itself, in both languages.
std::string Notice(std::string_view zh, std::string_view en, bool pty) {
  std::string nl = pty ? "\r\n" : "\n";
  return nl + "[cloudpact] " + std::string(zh) + " / " + std::string(en) + nl;
}

// "<type> <base64>" of an OpenSSH public key line, imported for comparison with ssh_key_cmp.
ssh_key ImportPublicLine(const std::string& line) {
  auto sp = line.find(' ');
  if (sp == std::string::npos) return nullptr;
  std::string type = line.substr(0, sp);
  std::string rest = line.substr(sp + 1);
  std::string b64 = rest.substr(0, rest.find(' '));
  ssh_key key = nullptr;
  if (ssh_pki_import_pubkey_base64(b64.c_str(), ssh_key_type_from_name(type.c_str()), &key) != SSH_OK) return nullptr;
  return key;
}

// The host-key algorithms to offer a target so that it presents the pinned key's type.
std::string HostKeyAlgorithms(const std::string& pinned_line) {
  std::string type = pinned_line.substr(0, pinned_line.find(' '));
  if (type == "ssh-rsa") return "rsa-sha2-512,rsa-sha2-256";
  return type;
}

}  // namespace

// --- user syntax ---------------------------------------------------------------------------

Result<GatewayUser> ParseGatewayUser(std::string_view user) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "user name \"" + std::string(user.substr(0, 200)) + "\": " + why +
                         " (expected OPERATOR, OPERATOR:LOGIN:TARGET or OPERATOR:watch:SESSION)");
  };
  if (user.empty() || user.size() > 300) return bad("empty or too long");
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = user.find(':', start);
    parts.emplace_back(user.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  for (const auto& p : parts) {
    if (p.empty()) return bad("empty part");
  }
  GatewayUser u;
  u.operator_id = parts[0];
  if (parts.size() == 1) return u;
  if (parts.size() != 3) return bad("wrong number of parts");
  if (parts[1] == "watch" && parts[2].rfind("ses_", 0) == 0) {
    u.kind = GatewayUser::Kind::kWatch;
    u.session = parts[2];
    return u;
  }
  if (!ValidLogin(parts[1])) return bad("invalid login \"" + parts[1] + "\"");
  u.kind = GatewayUser::Kind::kSession;
  u.login = parts[1];
  u.target = parts[2];
  return u;
}

// --- JSON ----------------------------------------------------------------------------------

Json ToJson(const CommandRecord& c) {
  return {{"seq", c.seq},           {"text", c.text},       {"decision", c.decision},
          {"rule", c.rule},         {"message", c.message}, {"from_echo", c.from_echo},
          {"state", c.state},       {"reviewer", c.reviewer}, {"review_comment", c.review_comment},
          {"time", c.time},         {"ledger_index", c.ledger_index}};
}

namespace {
Json ToJson(const FileRecord& f) {
  return {{"op", f.op},       {"path", f.path},         {"path2", f.path2},       {"direction", f.direction},
          {"bytes", f.bytes}, {"sha256", f.sha256},     {"sequential", f.sequential}, {"complete", f.complete},
          {"time", f.time},   {"ledger_index", f.ledger_index}};
}

SessionInfo SessionFromJson(const Json& j) {
  SessionInfo s;
  s.id = j.value("id", "");
  s.operator_id = j.value("operator", "");
  s.login = j.value("login", "");
  s.target = j.value("target", "");
  s.grant = j.value("grant", "");
  s.role = j.value("role", "");
  s.mode = j.value("mode", "");
  s.command = j.value("command", "");
  s.client = j.value("client", "");
  s.state = j.value("state", "");
  s.started = j.value("started", int64_t{0});
  s.ended = j.value("ended", int64_t{0});
  s.end_reason = j.value("end_reason", "");
  s.exit_status = j.value("exit_status", -1);
  s.recording_sha256 = j.value("recording_sha256", "");
  s.recording_bytes = j.value("recording_bytes", uint64_t{0});
  s.ledger_indexes = j.value("ledger_indexes", std::vector<uint64_t>{});
  for (const auto& c : j.value("commands", Json::array())) {
    CommandRecord r;
    r.seq = c.value("seq", int64_t{0});
    r.text = c.value("text", "");
    r.decision = c.value("decision", "");
    r.rule = c.value("rule", "");
    r.message = c.value("message", "");
    r.from_echo = c.value("from_echo", false);
    r.state = c.value("state", "");
    r.reviewer = c.value("reviewer", "");
    r.review_comment = c.value("review_comment", "");
    r.time = c.value("time", int64_t{0});
    r.ledger_index = c.value("ledger_index", uint64_t{0});
    s.commands.push_back(std::move(r));
  }
  for (const auto& f : j.value("files", Json::array())) {
    FileRecord r;
    r.op = f.value("op", "");
    r.path = f.value("path", "");
    r.path2 = f.value("path2", "");
    r.direction = f.value("direction", "");
    r.bytes = f.value("bytes", uint64_t{0});
    r.sha256 = f.value("sha256", "");
    r.sequential = f.value("sequential", true);
    r.complete = f.value("complete", true);
    r.time = f.value("time", int64_t{0});
    r.ledger_index = f.value("ledger_index", uint64_t{0});
    s.files.push_back(std::move(r));
  }
  return s;
}
}  // namespace

Json ToJson(const SessionInfo& s, bool with_commands) {
  Json j = {{"id", s.id},
            {"operator", s.operator_id},
            {"login", s.login},
            {"target", s.target},
            {"grant", s.grant},
            {"role", s.role},
            {"mode", s.mode},
            {"command", s.command},
            {"client", s.client},
            {"state", s.state},
            {"started", s.started},
            {"ended", s.ended},
            {"end_reason", s.end_reason},
            {"exit_status", s.exit_status},
            {"recording_sha256", s.recording_sha256},
            {"recording_bytes", s.recording_bytes},
            {"watchers", s.watchers},
            {"ledger_indexes", s.ledger_indexes},
            {"command_count", s.commands.size()},
            {"file_count", s.files.size()}};
  if (with_commands) {
    Json cmds = Json::array(), files = Json::array();
    for (const auto& c : s.commands) cmds.push_back(ToJson(c));
    for (const auto& f : s.files) files.push_back(ToJson(f));
    j["commands"] = std::move(cmds);
    j["files"] = std::move(files);
  }
  return j;
}

Json ToJson(const PendingCommand& p) {
  return {{"session", p.session}, {"operator", p.operator_id}, {"login", p.login}, {"target", p.target},
          {"grant", p.grant},     {"command", ToJson(p.command)}, {"deadline", p.deadline}};
}

// --- live state shared between a session, its watchers and the API ---------------------------

namespace {

// A read-only viewer of a live session (OPERATOR:watch:SESSION).
struct Watcher {
  std::mutex mu;
  std::deque<std::string> chunks;
  size_t bytes = 0;
  bool ended = false;
  bool dropped = false;
  std::string who;
};

// A pipe whose read end wakes a session's poll loop from another thread.
class WakePipe {
 public:
  WakePipe() {
    if (pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~WakePipe() {
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  void Wake() {
    if (fds_[1] >= 0) {
      char c = 1;
      (void)!write(fds_[1], &c, 1);
    }
  }
  void Drain() {
    char buf[64];
    while (fds_[0] >= 0 && read(fds_[0], buf, sizeof buf) > 0) {
    }
  }
  int fd() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace

struct Live {
  mutable std::mutex mu;
  SessionInfo info;  // GUARDED_BY(mu)
  std::string terminated_by, terminate_reason;  // GUARDED_BY(mu)
  std::atomic<bool> terminate{false};
  // The command held for review, if any.
  std::optional<PendingCommand> pending;  // GUARDED_BY(mu)
  std::string review_state;               // "" while undecided, then approved/rejected
  std::vector<std::shared_ptr<Watcher>> watchers;  // GUARDED_BY(mu)
  WakePipe wake;
};

struct Gateway::Impl {
  GatewayDeps deps;
  GatewayOptions opt;
  ssh_bind bind = nullptr;
  int port = 0;
  std::string host_key_line;
  std::thread accept_thread;
  WakePipe stop_pipe;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable idle_cv;
  size_t connections = 0;                              // GUARDED_BY(mu)
  std::map<std::string, std::shared_ptr<Live>> live;   // GUARDED_BY(mu)

  // operator + "\n" + key fingerprint → until when a second factor given at the gateway counts.
  std::mutex mfa_mu;
  std::map<std::string, int64_t> mfa_until;  // GUARDED_BY(mfa_mu)

  bool MfaRemembered(const std::string& key) {
    std::lock_guard<std::mutex> lock(mfa_mu);
    auto it = mfa_until.find(key);
    return it != mfa_until.end() && Now() < it->second;
  }
  void RememberMfa(const std::string& key) {
    if (opt.mfa_remember_seconds <= 0) return;
    std::lock_guard<std::mutex> lock(mfa_mu);
    const int64_t now = Now();
    for (auto it = mfa_until.begin(); it != mfa_until.end();) it = it->second <= now ? mfa_until.erase(it) : std::next(it);
    mfa_until[key] = now + opt.mfa_remember_seconds;
  }

  std::mutex rules_mu;
  std::shared_ptr<const access::Policy> rules_policy;  // GUARDED_BY(rules_mu)
  std::shared_ptr<const CommandRules> rules;           // GUARDED_BY(rules_mu)

  int64_t Now() const { return deps.clock ? deps.clock() : SystemNow(); }

  std::shared_ptr<const CommandRules> Rules() {
    auto policy = deps.access->policy();
    std::lock_guard<std::mutex> lock(rules_mu);
    if (policy != rules_policy || !rules) {
      rules = CommandRules::Compile(policy);
      rules_policy = policy;
    }
    return rules;
  }

  void AcceptLoop();
  void Serve(ssh_session session);

  std::shared_ptr<Live> FindLive(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu);
    auto it = live.find(id);
    return it == live.end() ? nullptr : it->second;
  }

  void Persist(const SessionInfo& info) {
    Json j = ToJson(info, true);
    if (j["commands"].size() > kMaxCommandsKept) {
      Json keep = Json::array();
      for (size_t i = 0; i < kMaxCommandsKept; ++i) keep.push_back(j["commands"][i]);
      j["commands"] = std::move(keep);
    }
    auto st = deps.store->WriteRecords({{kSessionKind, info.id, j.dump()}});
    if (!st.ok()) log::Error("gateway: cannot store session record", {{"session", info.id}, {"error", st.error().message}});
  }
};

// --- the client side of a session: an SSH channel, or a buffer for the exec API -------------

namespace {

class ClientPort {
 public:
  virtual ~ClientPort() = default;
  // > 0 bytes read; 0 nothing now; < 0 end of input.
  virtual int Read(char* buf, size_t n) = 0;
  virtual size_t Window() = 0;
  virtual bool Write(std::string_view data, bool is_stderr) = 0;
  virtual void Eof() = 0;
  virtual void Exit(int status, const std::string& signal) = 0;
  virtual void Close() = 0;
  virtual bool Gone() = 0;
};

class SshClientPort : public ClientPort {
 public:
  SshClientPort(ssh_session s, ssh_channel c, ssh_event ev) : s_(s), c_(c), ev_(ev) {}
  int Read(char* buf, size_t n) override {
    int r = ssh_channel_read_nonblocking(c_, buf, static_cast<uint32_t>(n), 0);
    if (r > 0) return r;
    if (r == SSH_EOF || r == SSH_ERROR || ssh_channel_is_eof(c_)) return -1;
    return 0;
  }
  size_t Window() override { return ssh_channel_is_open(c_) ? ssh_channel_window_size(c_) : 0; }
  bool Write(std::string_view data, bool is_stderr) override {
    if (!ssh_channel_is_open(c_)) return false;
    int r = is_stderr ? ssh_channel_write_stderr(c_, data.data(), static_cast<uint32_t>(data.size()))
                      : ssh_channel_write(c_, data.data(), static_cast<uint32_t>(data.size()));
    return r != SSH_ERROR;
  }
  void Eof() override {
    if (!eof_ && ssh_channel_is_open(c_)) ssh_channel_send_eof(c_);
    eof_ = true;
  }
  void Exit(int status, const std::string& signal) override {
    if (!ssh_channel_is_open(c_)) return;
    if (!signal.empty()) {
      ssh_channel_request_send_exit_signal(c_, signal.c_str(), 0, "", "");
    } else if (status >= 0) {
      ssh_channel_request_send_exit_status(c_, status);
    }
  }
  void Close() override {
    if (ssh_channel_is_open(c_)) {
      Eof();
      ssh_channel_close(c_);
    }
    // Wait (briefly) for the client to answer the close and hang up: tearing down the
    // connection with its packets unread would reset it, and the client could lose the last
    // output, the exit status and the gateway's own message.
    // OpenSSH's client disconnects once its channel is closed; closing the socket first
    // makes it fail with "Broken pipe" and exit 255, losing the exit status.
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline && ssh_is_connected(s_)) {
      ssh_event_dopoll(ev_, 100);
    }
  }
  bool Gone() override { return !ssh_is_connected(s_) || ssh_channel_is_closed(c_); }

 private:
  ssh_session s_;
  ssh_channel c_;
  ssh_event ev_;
  bool eof_ = false;
};

class BufferClientPort : public ClientPort {
 public:
  BufferClientPort(std::string input, size_t max_output) : input_(std::move(input)), max_(max_output) {}
  int Read(char* buf, size_t n) override {
    if (pos_ >= input_.size()) return -1;
    size_t k = std::min(n, input_.size() - pos_);
    std::memcpy(buf, input_.data() + pos_, k);
    pos_ += k;
    return static_cast<int>(k);
  }
  size_t Window() override { return 1 << 20; }
  bool Write(std::string_view data, bool is_stderr) override {
    std::string& out = is_stderr ? err : out_;
    size_t room = max_ > out.size() ? max_ - out.size() : 0;
    if (data.size() > room) truncated = true;
    out.append(data.substr(0, room));
    return true;
  }
  void Eof() override {}
  void Exit(int status, const std::string& signal) override {
    exit_status = status;
    exit_signal = signal;
  }
  void Close() override {}
  bool Gone() override { return false; }

  std::string out_, err;
  bool truncated = false;
  int exit_status = -1;
  std::string exit_signal;

 private:
  std::string input_;
  size_t pos_ = 0;
  size_t max_;
};

// The gateway's own SSH connection to a target.
struct Upstream {
  ssh_session s = nullptr;
  ssh_channel c = nullptr;
  ssh_channel_callbacks_struct cb{};
  int exit_status = -1;
  std::string exit_signal;
  bool exited = false;

  ~Upstream() {
    if (c) {
      if (ssh_channel_is_open(c)) ssh_channel_close(c);
      ssh_channel_free(c);
    }
    if (s) {
      ssh_disconnect(s);
      ssh_free(s);
    }
  }

  static void OnExitStatus(ssh_session, ssh_channel, int status, void* ud) {
    auto* u = static_cast<Upstream*>(ud);
    u->exit_status = status;
    u->exited = true;
  }
  static void OnExitSignal(ssh_session, ssh_channel, const char* signal, int, const char*, const char*, void* ud) {
    auto* u = static_cast<Upstream*>(ud);
    u->exit_signal = signal ? signal : "";
    u->exited = true;
  }
};

struct HostKeyMismatch {
  std::string pinned, presented;
};

// Connects and authenticates to the target, checking its host key against the pinned one.
// On a mismatch, *mismatch is filled and kPermissionDenied returned.
Result<std::unique_ptr<Upstream>> ConnectUpstream(const directory::Resource& target, const TargetCredential& cred,
                                                  int timeout_seconds, HostKeyMismatch* mismatch) {
  auto up = std::make_unique<Upstream>();
  up->s = ssh_new();
  if (!up->s) return MakeError(ErrorCode::kInternal, "ssh_new failed");
  const auto& ep = *target.ssh;
  long timeout = timeout_seconds;
  int port = ep.port;
  int no = 0;
  std::string algos = HostKeyAlgorithms(ep.host_key);
  ssh_options_set(up->s, SSH_OPTIONS_PROCESS_CONFIG, &no);  // no ~/.ssh/config surprises
  ssh_options_set(up->s, SSH_OPTIONS_HOST, ep.host.c_str());
  ssh_options_set(up->s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(up->s, SSH_OPTIONS_USER, cred.login.c_str());
  ssh_options_set(up->s, SSH_OPTIONS_TIMEOUT, &timeout);
  ssh_options_set(up->s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(up->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(up->s, SSH_OPTIONS_HOSTKEYS, algos.c_str());
  if (ssh_connect(up->s) != SSH_OK) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach " + target.id + " (" + ep.host + ":" + std::to_string(ep.port) +
                                                  "): " + ssh_get_error(up->s));
  }
  ssh_key presented = nullptr;
  if (ssh_get_server_publickey(up->s, &presented) != SSH_OK) {
    return MakeError(ErrorCode::kUnavailable, "target presented no host key");
  }
  ssh_key pinned = ImportPublicLine(ep.host_key);
  const bool same = pinned != nullptr && ssh_key_cmp(presented, pinned, SSH_KEY_CMP_PUBLIC) == 0;
  std::string presented_fp = SshKeyFingerprint(presented), pinned_fp = pinned ? SshKeyFingerprint(pinned) : "";
  ssh_key_free(presented);
  if (pinned) ssh_key_free(pinned);
  if (!same) {
    *mismatch = {pinned_fp, presented_fp};
    return MakeError(ErrorCode::kPermissionDenied, "host key of " + target.id + " does not match the pinned key (pinned " +
                                                       pinned_fp + ", presented " + presented_fp + ")");
  }
  int rc = SSH_AUTH_DENIED;
  if (cred.kind == "key") {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_base64(cred.secret.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
      return MakeError(ErrorCode::kDataLoss, "the stored credential for " + cred.login + "@" + target.id + " is not a usable key");
    }
    rc = ssh_userauth_publickey(up->s, nullptr, key);
    ssh_key_free(key);
  } else {
    rc = ssh_userauth_password(up->s, nullptr, cred.secret.c_str());
  }
  if (rc != SSH_AUTH_SUCCESS) {
    return MakeError(ErrorCode::kUnavailable, "the target refused the gateway's credential for " + cred.login);
  }
  up->c = ssh_channel_new(up->s);
  if (!up->c || ssh_channel_open_session(up->c) != SSH_OK) {
    return MakeError(ErrorCode::kUnavailable, std::string("cannot open a channel on the target: ") + ssh_get_error(up->s));
  }
  up->cb.userdata = up.get();
  up->cb.channel_exit_status_function = Upstream::OnExitStatus;
  up->cb.channel_exit_signal_function = Upstream::OnExitSignal;
  ssh_callbacks_init(&up->cb);
  ssh_set_channel_callbacks(up->c, &up->cb);
  return up;
}

}  // namespace

// --- one session: authorise, connect, relay, decide, record, ledger ------------------------

namespace {

struct SessionSetup {
  std::string operator_id, login, target_id, mode, command, client;
  bool pty = false;
  std::string term = "xterm";
  int cols = 80, rows = 24;
};

class Runner {
 public:
  Runner(Gateway::Impl& gw, std::shared_ptr<Live> live, ClientPort& port, ssh_event ev, SessionSetup setup)
      : gw_(gw), live_(std::move(live)), port_(port), ev_(ev), setup_(std::move(setup)), start_(Clock::now()) {}

  // Runs the session to its end; every outcome is ledgered (or logged, when the ledger is
  // what failed) and stored as the session's record.
  void Run();
  // For the SSH path: the operator resized the terminal.
  void Resize(int cols, int rows);

 private:
  double T() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  void Say(std::string_view zh, std::string_view en);
  void Refuse(const std::string& reason_zh, const std::string& reason);
  void End(const std::string& reason);
  Result<uint64_t> Evidence(const std::string& type, Json body, std::optional<Json> confidential = std::nullopt);
  bool Authorised(std::string* why);
  bool Relay();
  bool OnOutput(std::string_view data, bool is_stderr);
  bool ProcessInput();
  bool Forward(std::string_view data);
  bool DecideCommand(const CommandLine& line, char submit_byte);
  bool FinishReview();
  bool WaitExecReview(const CommandVerdict& verdict);
  bool FileEvents(Result<std::vector<FileEvent>> events);
  bool RecordFile(const FileEvent& e);
  void Broadcast(std::string_view data);

  Gateway::Impl& gw_;
  std::shared_ptr<Live> live_;
  ClientPort& port_;
  ssh_event ev_;
  SessionSetup setup_;
  Clock::time_point start_;

  const directory::Resource* target_ = nullptr;
  std::shared_ptr<const directory::Snapshot> snap_;
  SessionScope scope_;
  std::shared_ptr<const CommandRules> rules_;
  std::string grant_;
  std::unique_ptr<Upstream> up_;
  std::unique_ptr<RecordingWriter> rec_;
  bool rec_broken_ = false;
  std::unique_ptr<LineEditor> editor_;
  std::optional<SftpTracker> sftp_;
  std::optional<ScpTracker> scp_;
  std::string pending_in_;
  bool client_eof_ = false, sent_up_eof_ = false, sent_client_eof_ = false;
  bool holding_ = false;
  char held_submit_ = '\r';
  int64_t seq_ = 0;
  bool ended_ = false;
  Clock::time_point next_check_{}, next_flush_{};
  std::optional<Clock::time_point> up_eof_at_;
};

Result<uint64_t> Runner::Evidence(const std::string& type, Json body, std::optional<Json> confidential) {
  body["session"] = live_->info.id;
  auto r = gw_.deps.access->RecordEvidence(grant_, {type, std::move(body), setup_.operator_id, std::move(confidential)});
  if (r.ok()) {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.ledger_indexes.push_back(*r);
  }
  return r;
}

void Runner::Say(std::string_view zh, std::string_view en) {
  std::string text = Notice(zh, en, setup_.pty);
  port_.Write(text, /*is_stderr=*/!setup_.pty);  // with a pty there is one stream
  if (rec_ && !rec_broken_) (void)rec_->Output(T(), text);
  Broadcast(text);
}

void Runner::Broadcast(std::string_view data) {
  std::lock_guard<std::mutex> lock(live_->mu);
  for (auto& w : live_->watchers) {
    std::lock_guard<std::mutex> wl(w->mu);
    if (w->dropped) continue;
    if (w->bytes + data.size() > kMaxWatcherBacklog) {
      w->dropped = true;  // a watcher never slows the session down
      continue;
    }
    w->chunks.emplace_back(data);
    w->bytes += data.size();
  }
}

bool Runner::Authorised(std::string* why) {
  auto d = gw_.deps.access->Check(setup_.operator_id, "login:" + setup_.login, setup_.target_id);
  if (!d.allow) {
    *why = d.reason;
    return false;
  }
  if (grant_.empty() && !d.grant.empty()) grant_ = d.grant;
  return true;
}

void Runner::Refuse(const std::string& reason_zh, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.state = "refused";
    live_->info.end_reason = reason;
    live_->info.ended = gw_.Now();
  }
  Say("拒绝: " + reason_zh, "refused: " + reason);
  auto r = Evidence("gateway.session.refused", {{"operator", setup_.operator_id},
                                                {"login", setup_.login},
                                                {"target", setup_.target_id},
                                                {"mode", setup_.mode},
                                                {"client", setup_.client},
                                                {"reason", reason}});
  if (!r.ok()) log::Error("gateway: cannot ledger a refusal", {{"error", r.error().message}});
  port_.Exit(1, "");
  port_.Close();
  std::lock_guard<std::mutex> lock(live_->mu);
  gw_.Persist(live_->info);
  ended_ = true;
}

void Runner::End(const std::string& reason) {
  if (ended_) return;
  ended_ = true;
  const bool normal = reason.rfind("target closed", 0) == 0 || reason.rfind("operator disconnected", 0) == 0;
  if (!normal) Say("会话结束: " + reason, "session ended: " + reason);
  if (up_ && up_->exited) port_.Exit(up_->exit_status, up_->exit_signal);
  else if (!normal) port_.Exit(255, "");
  port_.Close();
  RecordingInfo info;
  std::string rec_error;
  if (rec_) {
    auto fin = rec_->Finish();
    if (fin.ok()) info = *fin;
    else rec_error = fin.error().message;
    rec_.reset();
  }
  std::vector<FileEvent> leftovers;
  if (sftp_) leftovers = sftp_->Finish();
  if (scp_) leftovers = scp_->Finish();
  for (const auto& e : leftovers) (void)RecordFile(e);
  Json body = {{"operator", setup_.operator_id},
               {"login", setup_.login},
               {"target", setup_.target_id},
               {"reason", reason},
               {"exit_status", up_ ? up_->exit_status : -1},
               {"recording_sha256", info.sha256_hex},
               {"recording_bytes", info.bytes},
               {"recording_compressed_bytes", info.compressed_bytes},
               {"recording_events", info.events},
               {"duration", info.duration},
               {"commands", seq_}};
  if (!rec_error.empty()) body["recording_error"] = rec_error;
  auto r = Evidence("gateway.session.end", body);
  if (!r.ok()) log::Error("gateway: cannot ledger a session end", {{"session", live_->info.id}, {"error", r.error().message}});
  std::lock_guard<std::mutex> lock(live_->mu);
  live_->info.state = "ended";
  live_->info.ended = gw_.Now();
  live_->info.end_reason = reason;
  live_->info.exit_status = up_ ? up_->exit_status : -1;
  live_->info.recording_sha256 = info.sha256_hex;
  live_->info.recording_bytes = info.bytes;
  for (auto& w : live_->watchers) {
    std::lock_guard<std::mutex> wl(w->mu);
    w->ended = true;
  }
  gw_.Persist(live_->info);
}

void Runner::Resize(int cols, int rows) {
  setup_.cols = cols;
  setup_.rows = rows;
  if (up_ && up_->c && setup_.pty) ssh_channel_change_pty_size(up_->c, cols, rows);
  if (rec_ && !rec_broken_ && !rec_->Resize(T(), cols, rows).ok()) rec_broken_ = true;
}

bool Runner::RecordFile(const FileEvent& e) {
  FileRecord f;
  f.op = std::string(FileEventKindName(e.kind));
  f.path = e.path;
  f.path2 = e.path2;
  f.direction = e.direction;
  f.bytes = e.bytes;
  f.sha256 = e.sha256_hex;
  f.sequential = e.sequential;
  f.complete = e.complete;
  f.time = gw_.Now();
  Json body = {{"op", f.op}, {"path", f.path}};
  if (!f.path2.empty()) body["path2"] = f.path2;
  if (!f.direction.empty()) body["direction"] = f.direction;
  if (e.kind == FileEvent::Kind::kTransfer) {
    body["bytes"] = f.bytes;
    body["sha256"] = f.sha256;
    body["sequential"] = f.sequential;
    body["complete"] = f.complete;
  }
  if (!e.attrs.empty()) body["attrs"] = e.attrs;
  body["file_id"] = e.file_id;
  auto r = Evidence("gateway.file", body);
  if (!r.ok()) return false;
  f.ledger_index = *r;
  if (rec_ && !rec_broken_) (void)rec_->Marker(T(), "file " + f.op + " " + f.path);
  std::lock_guard<std::mutex> lock(live_->mu);
  live_->info.files.push_back(std::move(f));
  return true;
}

bool Runner::FileEvents(Result<std::vector<FileEvent>> events) {
  if (!events.ok()) {
    End("file transfer stream rejected: " + events.error().message);
    return false;
  }
  for (const auto& e : *events) {
    if (!RecordFile(e)) {
      End("evidence could not be recorded (ledger unavailable)");
      return false;
    }
  }
  return true;
}

bool Runner::OnOutput(std::string_view data, bool is_stderr) {
  // SFTP and scp carry a file protocol, not a terminal: their files are ledgered with their
  // hashes instead, and the recording holds a marker per file.
  const bool terminal = !sftp_ && !scp_;
  if (rec_ && terminal && !rec_->Output(T(), data).ok()) {
    rec_broken_ = true;
    End("the recording could not be written");
    return false;
  }
  if (editor_) editor_->FeedOutput(data);
  if (sftp_ && !FileEvents(sftp_->FromTarget(data))) return false;
  if (scp_ && !FileEvents(scp_->FromTarget(data))) return false;
  if (terminal) Broadcast(data);
  if (!port_.Write(data, is_stderr)) {
    End("operator disconnected");
    return false;
  }
  return true;
}

bool Runner::Forward(std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    int n = ssh_channel_write(up_->c, data.data() + off, static_cast<uint32_t>(data.size() - off));
    if (n == SSH_ERROR) {
      End("target connection lost");
      return false;
    }
    off += static_cast<size_t>(n);
    if (n == 0) ssh_event_dopoll(ev_, 50);
  }
  return true;
}

bool Runner::DecideCommand(const CommandLine& line, char submit_byte) {
  std::string text = line.text;
  bool blank = text.find_first_not_of(" \t\n") == std::string::npos;
  if (blank) return Forward(std::string_view(&submit_byte, 1));
  rules_ = gw_.Rules();  // a policy approved mid-session applies from the next command on
  CommandVerdict v = rules_->Decide(scope_, text);
  CommandRecord c;
  c.seq = ++seq_;
  c.text = text;
  c.decision = std::string(access::CommandActionName(v.action));
  c.rule = v.rule;
  c.message = v.message;
  c.from_echo = line.from_echo;
  c.time = gw_.Now();
  c.state = v.action == access::CommandAction::kDeny     ? "denied"
            : v.action == access::CommandAction::kReview ? "pending"
                                                          : "allowed";
  Json body = {{"seq", c.seq},
               {"decision", c.decision},
               {"rule", c.rule},
               {"from_echo", c.from_echo},
               {"echo_differs", line.echo_differs},
               {"truncated", line.truncated},
               {"command_sha256", crypto::Sha256Hex(text)}};
  // The line itself may hold secrets typed on it: it is kept off the public tree, committed to
  // by the entry, and readable with ledger:read_confidential (and through the session API).
  auto r = Evidence("gateway.command", body, Json{{"command", text}});
  if (!r.ok()) {
    End("evidence could not be recorded (ledger unavailable); the command was not run");
    return false;
  }
  c.ledger_index = *r;
  if (rec_) {
    if (!rec_->Marker(T(), c.decision + ": " + text).ok() || !rec_->Flush().ok()) {
      rec_broken_ = true;
      End("the recording could not be written; the command was not run");
      return false;
    }
  }
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.commands.push_back(c);
  }
  switch (v.action) {
    case access::CommandAction::kAllow:
    case access::CommandAction::kAlert:
      if (v.action == access::CommandAction::kAlert) {
        log::Warn("gateway: alert rule matched",
            {{"session", live_->info.id}, {"rule", v.rule}, {"operator", setup_.operator_id}});
      }
      return Forward(std::string_view(&submit_byte, 1));
    case access::CommandAction::kDeny:
      // The line's keystrokes reached the shell's line editor (for the echo), but not the key
      // that runs it: discard the line there.
      editor_->Reset();
      if (!Forward("\x03")) return false;
      Say("命令被拒绝 (规则 " + v.rule + "): " + v.message, "command denied (rule " + v.rule + "): " + v.message);
      return true;
    case access::CommandAction::kReview: {
      std::lock_guard<std::mutex> lock(live_->mu);
      live_->pending = PendingCommand{live_->info.id, setup_.operator_id, setup_.login, setup_.target_id, grant_, c,
                                      gw_.Now() + rules_->review_timeout_seconds()};
      live_->review_state.clear();
      holding_ = true;
      held_submit_ = submit_byte;
    }
      Say("命令待审批 (规则 " + v.rule + ", 编号 " + std::to_string(c.seq) + "), 最多等待 " +
              std::to_string(rules_->review_timeout_seconds()) + " 秒; Ctrl-C 撤回",
          "command held for review (rule " + v.rule + ", #" + std::to_string(c.seq) + "), waiting up to " +
              std::to_string(rules_->review_timeout_seconds()) + "s; Ctrl-C withdraws it");
      return true;
  }
  return true;
}

// Called while a command is held: acts on a decision, a timeout or a withdrawal.
bool Runner::FinishReview() {
  std::string state, reviewer;
  int64_t seq = 0, deadline = 0;
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    if (!live_->pending) {
      holding_ = false;
      return true;
    }
    state = live_->review_state;
    seq = live_->pending->command.seq;
    deadline = live_->pending->deadline;
    reviewer = live_->pending->command.reviewer;
  }
  const bool withdrawn = pending_in_.find('\x03') != std::string::npos;
  if (state.empty() && !withdrawn && gw_.Now() < deadline) return true;  // still waiting
  if (state.empty()) {
    state = withdrawn ? "withdrawn" : "timed_out";
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->review_state = state;  // a late decision now finds the command gone
  }
  if (state == "withdrawn" || state == "timed_out") {
    auto r = Evidence("gateway.command.review", {{"seq", seq}, {"decision", state}, {"reviewer", ""}});
    if (!r.ok()) {
      End("evidence could not be recorded (ledger unavailable)");
      return false;
    }
  }
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    for (auto& c : live_->info.commands) {
      if (c.seq == seq) c.state = state;
    }
    live_->pending.reset();
  }
  holding_ = false;
  if (withdrawn) pending_in_.erase(0, pending_in_.find('\x03') + 1);
  if (state == "approved") {
    Say("命令已由 " + reviewer + " 批准", "command approved by " + reviewer);
    return Forward(std::string_view(&held_submit_, 1));
  }
  editor_->Reset();
  if (!Forward("\x03")) return false;
  if (state == "rejected") Say("命令被 " + reviewer + " 驳回", "command rejected by " + reviewer);
  else if (state == "timed_out") Say("审批超时, 命令未执行", "review timed out; the command was not run");
  else Say("命令已撤回", "command withdrawn");
  return true;
}

bool Runner::ProcessInput() {
  while (!pending_in_.empty() && !holding_) {
    size_t win = ssh_channel_window_size(up_->c);
    if (win == 0) return true;
    if (!editor_) {
      size_t n = std::min(win, pending_in_.size());
      if (scp_ && !FileEvents(scp_->FromClient(std::string_view(pending_in_).substr(0, n)))) return false;
      if (sftp_ && !FileEvents(sftp_->FromClient(std::string_view(pending_in_).substr(0, n)))) return false;
      if (!Forward(std::string_view(pending_in_).substr(0, n))) return false;
      pending_in_.erase(0, n);
      continue;
    }
    std::optional<CommandLine> line;
    std::string_view view(pending_in_);
    size_t n = editor_->FeedInput(view.substr(0, std::min(win, view.size())), &line);
    if (n == 0) return true;
    if (!line) {
      if (!Forward(view.substr(0, n))) return false;
      pending_in_.erase(0, n);
      continue;
    }
    // Everything before the submitting key goes on; the key waits for the decision.
    if (n > 1 && !Forward(view.substr(0, n - 1))) return false;
    char submit = pending_in_[n - 1];
    pending_in_.erase(0, n);
    if (!DecideCommand(*line, submit)) return false;
  }
  return true;
}

bool Runner::WaitExecReview(const CommandVerdict& v) {
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->pending = PendingCommand{live_->info.id, setup_.operator_id, setup_.login, setup_.target_id, grant_,
                                    live_->info.commands.back(), gw_.Now() + rules_->review_timeout_seconds()};
    live_->review_state.clear();
  }
  Say("命令待审批 (规则 " + v.rule + ")", "command held for review (rule " + v.rule + ")");
  while (true) {
    std::string state;
    int64_t deadline;
    {
      std::lock_guard<std::mutex> lock(live_->mu);
      state = live_->review_state;
      deadline = live_->pending->deadline;
    }
    if (state.empty() && gw_.Now() >= deadline) {
      {
        std::lock_guard<std::mutex> lock(live_->mu);
        live_->review_state = state = "timed_out";
      }
      // The ledger failing here changes nothing: the command is not run either way.
      (void)Evidence("gateway.command.review", {{"seq", seq_}, {"decision", "timed_out"}, {"reviewer", ""}});
    }
    if (!state.empty()) {
      std::lock_guard<std::mutex> lock(live_->mu);
      live_->info.commands.back().state = state;
      live_->pending.reset();
      return state == "approved";
    }
    if (live_->terminate || gw_.stopping || port_.Gone()) return false;
    if (ev_) {
      ssh_event_dopoll(ev_, 200);
    } else {
      pollfd p{live_->wake.fd(), POLLIN, 0};
      poll(&p, 1, 200);
    }
    live_->wake.Drain();
  }
}

bool Runner::Relay() {
  std::vector<char> buf(kChunk);
  while (true) {
    if (gw_.stopping) {
      End("the gateway is stopping");
      return false;
    }
    if (live_->terminate) {
      std::string by, why;
      {
        std::lock_guard<std::mutex> lock(live_->mu);
        by = live_->terminated_by;
        why = live_->terminate_reason;
      }
      End("terminated by " + by + (why.empty() ? "" : ": " + why));
      return false;
    }
    auto now = Clock::now();
    if (now >= next_check_) {
      std::string why;
      if (!Authorised(&why)) {
        End("the grant no longer covers this session (" + why + ")");
        return false;
      }
      next_check_ = now + std::chrono::milliseconds(gw_.opt.check_interval_ms);
    }
    if (rec_ && now >= next_flush_) {
      if (!rec_->Flush().ok()) {
        rec_broken_ = true;
        End("the recording could not be written");
        return false;
      }
      next_flush_ = now + std::chrono::seconds(1);
    }
    // Whether anything moved this round: if so, look again at once (libssh may hold more
    // than one round takes) instead of sleeping in poll until the next packet.
    bool progress = false;
    // Target → operator, as fast as the operator's window allows.
    for (int err = 0; err < 2; ++err) {
      while (true) {
        size_t win = port_.Window();
        if (win == 0) break;
        int n = ssh_channel_read_nonblocking(up_->c, buf.data(), static_cast<uint32_t>(std::min(win, buf.size())), err);
        if (n <= 0) break;
        progress = true;
        if (!OnOutput(std::string_view(buf.data(), static_cast<size_t>(n)), err == 1)) return false;
      }
    }
    // Operator → target, through the command decisions.
    const size_t max_pending = editor_ ? kMaxPendingInput : kMaxPendingTransfer;
    while (!client_eof_ && pending_in_.size() < max_pending) {
      int n = port_.Read(buf.data(), std::min(buf.size(), max_pending - pending_in_.size()));
      if (n < 0) {
        client_eof_ = true;
        break;
      }
      if (n == 0) break;
      progress = true;
      std::string_view in(buf.data(), static_cast<size_t>(n));
      if (rec_ && setup_.mode == "shell" && !rec_->Input(T(), in).ok()) {
        rec_broken_ = true;
        End("the recording could not be written");
        return false;
      }
      pending_in_.append(in);
    }
    if (holding_ && !FinishReview()) return false;
    if (!ProcessInput()) return false;
    if (client_eof_ && pending_in_.empty() && !sent_up_eof_ && !holding_) {
      ssh_channel_send_eof(up_->c);
      sent_up_eof_ = true;
    }
    // The target is done once it sent EOF and everything it sent has been passed on; its exit
    // status follows the EOF, so wait for that (briefly) too.
    if (ssh_channel_is_eof(up_->c) && ssh_channel_poll(up_->c, 0) <= 0 && ssh_channel_poll(up_->c, 1) <= 0) {
      if (!up_eof_at_) up_eof_at_ = Clock::now();
      if (up_->exited || ssh_channel_is_closed(up_->c) || Clock::now() - *up_eof_at_ > std::chrono::seconds(2)) {
        End("target closed the session");
        return true;
      }
    } else if (!ssh_is_connected(up_->s)) {
      End("target connection lost");
      return false;
    }
    if (port_.Gone()) {
      End("operator disconnected");
      return true;
    }
    if (ssh_event_dopoll(ev_, progress ? 0 : 100) == SSH_ERROR && port_.Gone()) {
      End("operator disconnected");
      return true;
    }
    live_->wake.Drain();
  }
}

void Runner::Run() {
  snap_ = gw_.deps.directory->snapshot();
  target_ = snap_->FindResource(setup_.target_id);
  const directory::Staff* staff = snap_->FindStaff(setup_.operator_id);
  rules_ = gw_.Rules();
  scope_.target = target_;
  scope_.login = setup_.login;
  scope_.mode = setup_.mode == "shell" ? "shell" : "exec";
  if (staff) scope_.roles = staff->roles;

  std::string why;
  if (!target_) return Refuse("目标不存在", "no such target " + setup_.target_id);
  if (!target_->ssh) return Refuse("目标未登记 SSH 接入", setup_.target_id + " is not registered as an SSH target");
  if (!Authorised(&why)) {
    return Refuse("没有覆盖此会话的有效授权", "no active grant covers login:" + setup_.login + " on " + setup_.target_id +
                                                    " (" + why + "); request one with `cloudpact access request`");
  }
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.grant = grant_;
  }
  auto cred = gw_.deps.credentials->Get(setup_.target_id, setup_.login);
  if (!cred.ok()) return Refuse("网关没有该登录名的凭据", "the gateway holds no credential for " + setup_.login + " on " + setup_.target_id);

  // What kind of session this is decides which rules apply before anything reaches the target.
  std::optional<CommandVerdict> exec_verdict;
  if (setup_.mode == "exec") {
    if (auto scp = ScpTracker::ForCommand(setup_.command)) {
      setup_.mode = "scp";
      scp_ = std::move(*scp);
    }
  }
  if (setup_.mode == "sftp" || setup_.mode == "scp") {
    std::string rule;
    if (!rules_->TransferAllowed(scope_, &rule)) {
      return Refuse("策略不允许文件传输", "file transfer is not allowed on this target" +
                                            (rule.empty() ? std::string(" (no rule allows it)") : " (rule " + rule + ")"));
    }
    if (setup_.mode == "sftp") sftp_.emplace();
  }
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.mode = setup_.mode;
  }
  Json start = {{"operator", setup_.operator_id}, {"login", setup_.login},   {"target", setup_.target_id},
                {"grant", grant_},                {"mode", setup_.mode},     {"client", setup_.client},
                {"policy_version", gw_.deps.access->policy_version()}};
  std::optional<Json> confidential;
  if (!setup_.command.empty()) {
    start["command_sha256"] = crypto::Sha256Hex(setup_.command);
    confidential = Json{{"command", setup_.command}};
  }
  auto started = Evidence("gateway.session.start", start, confidential);
  if (!started.ok()) {
    Say("无法记录审计证据, 会话被拒绝", "evidence could not be recorded (ledger unavailable); session refused");
    port_.Exit(1, "");
    port_.Close();
    std::lock_guard<std::mutex> lock(live_->mu);
    live_->info.state = "refused";
    live_->info.end_reason = "ledger unavailable";
    ended_ = true;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(live_->mu);
    gw_.Persist(live_->info);  // so that a crash mid-session leaves a record of its start
  }


  if (setup_.mode == "exec") {
    CommandVerdict v = rules_->Decide(scope_, setup_.command);
    CommandRecord c;
    c.seq = ++seq_;
    c.text = setup_.command;
    c.decision = std::string(access::CommandActionName(v.action));
    c.rule = v.rule;
    c.message = v.message;
    c.time = gw_.Now();
    c.state = v.action == access::CommandAction::kDeny ? "denied"
              : v.action == access::CommandAction::kReview ? "pending" : "allowed";
    auto r = Evidence("gateway.command", {{"seq", c.seq}, {"decision", c.decision}, {"rule", c.rule},
                                          {"command_sha256", crypto::Sha256Hex(c.text)}},
                      Json{{"command", c.text}});
    if (!r.ok()) return End("evidence could not be recorded (ledger unavailable)");
    c.ledger_index = *r;
    {
      std::lock_guard<std::mutex> lock(live_->mu);
      live_->info.commands.push_back(c);
    }
    if (v.action == access::CommandAction::kDeny) {
      Say("命令被拒绝 (规则 " + v.rule + "): " + v.message, "command denied (rule " + v.rule + "): " + v.message);
      return End("command denied");
    }
    if (v.action == access::CommandAction::kReview && !WaitExecReview(v)) {
      return End("command not approved");
    }
  }

  RecordingHeader header;
  header.width = setup_.cols;
  header.height = setup_.rows;
  header.timestamp = gw_.Now();
  header.term = setup_.term;
  header.title = setup_.operator_id + " → " + setup_.login + "@" + setup_.target_id + " (" + live_->info.id + ")";
  auto rec = gw_.deps.recordings->Begin(header);
  if (!rec.ok()) return End("the recording store is unavailable (" + rec.error().message + ")");
  rec_ = std::move(*rec);
  if (!setup_.command.empty() && !rec_->Marker(0, setup_.mode + ": " + setup_.command).ok()) {
    return End("the recording could not be written");
  }

  HostKeyMismatch mismatch;
  auto up = ConnectUpstream(*target_, *cred, gw_.opt.connect_timeout_seconds, &mismatch);
  if (!up.ok()) {
    if (!mismatch.presented.empty()) {
      (void)Evidence("gateway.hostkey_mismatch", {{"target", setup_.target_id},
                                                   {"pinned", mismatch.pinned},
                                                   {"presented", mismatch.presented}});
      return End("the target's host key does not match the pinned key (pinned " + mismatch.pinned + ", presented " +
                 mismatch.presented + ")");
    }
    return End(up.error().message);
  }
  up_ = std::move(*up);
  int rc = SSH_OK;
  if (setup_.pty) rc = ssh_channel_request_pty_size(up_->c, setup_.term.c_str(), setup_.cols, setup_.rows);
  if (rc == SSH_OK) {
    if (setup_.mode == "shell") rc = ssh_channel_request_shell(up_->c);
    else if (setup_.mode == "sftp") rc = ssh_channel_request_subsystem(up_->c, "sftp");
    else rc = ssh_channel_request_exec(up_->c, setup_.command.c_str());
  }
  if (rc != SSH_OK) return End(std::string("the target refused the session request: ") + ssh_get_error(up_->s));
  ssh_set_blocking(up_->s, 0);
  if (setup_.mode == "shell") editor_ = std::make_unique<LineEditor>();
  ssh_event_add_session(ev_, up_->s);
  Relay();
  ssh_event_remove_session(ev_, up_->s);
}

}  // namespace

// --- the SSH server ---------------------------------------------------------------------

namespace {

// Per-connection state shared with libssh's callbacks (which run on the connection's thread).
struct Conn {
  Gateway::Impl* gw = nullptr;
  ssh_session session = nullptr;
  std::string user_name;  // the first user name presented; a change is refused
  GatewayUser user;
  bool key_ok = false;
  std::string mfa_key;  // operator + key fingerprint, for MfaRemembered
  bool authenticated = false;
  int attempts = 0;
  ssh_channel channel = nullptr;
  bool request_ready = false;
  std::string mode, command;
  bool pty = false;
  std::string term = "xterm";
  int cols = 80, rows = 24;
  Runner* runner = nullptr;
  ssh_server_callbacks_struct server_cb{};
  ssh_channel_callbacks_struct channel_cb{};
};

bool KeyMatches(const directory::Staff& staff, ssh_key key) {
  for (const auto& line : staff.ssh_keys) {
    ssh_key k = ImportPublicLine(line);
    if (!k) continue;
    bool same = ssh_key_cmp(k, key, SSH_KEY_CMP_PUBLIC) == 0;
    ssh_key_free(k);
    if (same) return true;
  }
  return false;
}

int OnAuthPubkey(ssh_session session, const char* user, ssh_key key, char state, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (++c->attempts > kMaxAuthAttempts * 2) return SSH_AUTH_DENIED;
  if (c->user_name.empty()) c->user_name = user ? user : "";
  if (c->user_name != (user ? user : "")) return SSH_AUTH_DENIED;
  auto parsed = ParseGatewayUser(c->user_name);
  if (!parsed.ok()) return SSH_AUTH_DENIED;
  c->user = *parsed;
  auto snap = c->gw->deps.directory->snapshot();
  const auto* staff = snap->FindStaff(c->user.operator_id);
  if (!staff || staff->disabled || !KeyMatches(*staff, key)) return SSH_AUTH_DENIED;
  if (state == SSH_PUBLICKEY_STATE_NONE) return SSH_AUTH_SUCCESS;  // "this key would do"
  if (state != SSH_PUBLICKEY_STATE_VALID) return SSH_AUTH_DENIED;
  c->key_ok = true;
  c->mfa_key = c->user.operator_id + "\n" + SshKeyFingerprint(key);
  if (c->gw->deps.access->MfaRequired(c->user.operator_id) && !c->gw->MfaRemembered(c->mfa_key)) {
    ssh_set_auth_methods(session, SSH_AUTH_METHOD_INTERACTIVE);
    return SSH_AUTH_PARTIAL;
  }
  c->authenticated = true;
  return SSH_AUTH_SUCCESS;
}

int OnMessage(ssh_session session, ssh_message msg, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (ssh_message_type(msg) == SSH_REQUEST_AUTH && ssh_message_subtype(msg) == SSH_AUTH_METHOD_INTERACTIVE) {
    if (!c->key_ok || !c->gw->deps.verify_totp) return 1;
    if (!ssh_message_auth_kbdint_is_response(msg)) {
      const char* prompts[] = {"TOTP 验证码 / code: "};
      char echo[] = {0};
      ssh_message_auth_interactive_request(msg, "cloudpact", "二次验证 / second factor", 1, prompts, echo);
      return 0;
    }
    if (++c->attempts > kMaxAuthAttempts * 2) return 1;
    const char* answer = ssh_userauth_kbdint_getnanswers(session) == 1 ? ssh_userauth_kbdint_getanswer(session, 0) : nullptr;
    if (answer && c->gw->deps.verify_totp(c->user.operator_id, answer).ok()) {
      c->authenticated = true;
      c->gw->RememberMfa(c->mfa_key);
      ssh_message_auth_reply_success(msg, 0);
      return 0;
    }
    return 1;
  }
  return 1;  // everything else (port forwarding, agent, x11, ...) is refused
}

int OnPty(ssh_session, ssh_channel, const char* term, int cols, int rows, int, int, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->request_ready) return -1;
  c->pty = true;
  if (term && std::strlen(term) < 64) c->term = term;
  c->cols = std::clamp(cols, 1, 65535);
  c->rows = std::clamp(rows, 1, 65535);
  return 0;
}

int OnShell(ssh_session, ssh_channel, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->request_ready) return -1;
  c->mode = "shell";
  c->request_ready = true;
  return 0;
}

int OnExec(ssh_session, ssh_channel, const char* command, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->request_ready || !command || std::strlen(command) > 64 * 1024) return -1;
  c->mode = "exec";
  c->command = command;
  c->request_ready = true;
  return 0;
}

int OnSubsystem(ssh_session, ssh_channel, const char* subsystem, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (c->request_ready || !subsystem || std::strcmp(subsystem, "sftp") != 0) return -1;
  c->mode = "sftp";
  c->request_ready = true;
  return 0;
}

int OnWindowChange(ssh_session, ssh_channel, int cols, int rows, int, int, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  c->cols = std::clamp(cols, 1, 65535);
  c->rows = std::clamp(rows, 1, 65535);
  if (c->runner) c->runner->Resize(c->cols, c->rows);
  return 0;
}

ssh_channel OnChannelOpen(ssh_session session, void* ud) {
  auto* c = static_cast<Conn*>(ud);
  if (!c->authenticated || c->channel) return nullptr;  // one session channel per connection
  c->channel = ssh_channel_new(session);
  if (!c->channel) return nullptr;
  c->channel_cb.userdata = c;
  c->channel_cb.channel_pty_request_function = OnPty;
  c->channel_cb.channel_shell_request_function = OnShell;
  c->channel_cb.channel_exec_request_function = OnExec;
  c->channel_cb.channel_subsystem_request_function = OnSubsystem;
  c->channel_cb.channel_pty_window_change_function = OnWindowChange;
  ssh_callbacks_init(&c->channel_cb);
  ssh_set_channel_callbacks(c->channel, &c->channel_cb);
  return c->channel;
}

int OnWake(socket_t fd, int, void*) {
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  return 0;
}

}  // namespace

void Gateway::Impl::AcceptLoop() {
  const int bind_fd = ssh_bind_get_fd(bind);
  while (!stopping) {
    pollfd fds[2] = {{bind_fd, POLLIN, 0}, {stop_pipe.fd(), POLLIN, 0}};
    if (poll(fds, 2, 1000) <= 0) continue;
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    ssh_session s = ssh_new();
    if (!s) continue;
    if (ssh_bind_accept(bind, s) != SSH_OK) {
      ssh_free(s);
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (connections >= opt.max_connections) {
        ssh_disconnect(s);
        ssh_free(s);
        log::Warn("gateway: connection limit reached", {{"limit", opt.max_connections}});
        continue;
      }
      ++connections;
    }
    std::thread([this, s] {
      Serve(s);
      ssh_disconnect(s);
      ssh_free(s);
      std::lock_guard<std::mutex> lock(mu);
      --connections;
      idle_cv.notify_all();
    }).detach();
  }
}

void Gateway::Impl::Serve(ssh_session s) {
  Conn c;
  c.gw = this;
  c.session = s;
  c.server_cb.userdata = &c;
  c.server_cb.auth_pubkey_function = OnAuthPubkey;
  c.server_cb.channel_open_request_session_function = OnChannelOpen;
  ssh_callbacks_init(&c.server_cb);
  ssh_set_server_callbacks(s, &c.server_cb);
  ssh_set_message_callback(s, OnMessage, &c);
  ssh_set_auth_methods(s, SSH_AUTH_METHOD_PUBLICKEY);
  long grace = opt.login_grace_seconds;
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &grace);
  if (ssh_handle_key_exchange(s) != SSH_OK) return;

  ssh_event ev = ssh_event_new();
  ssh_event_add_session(ev, s);
  const auto deadline = Clock::now() + std::chrono::seconds(opt.login_grace_seconds);
  while (!c.request_ready && !stopping && Clock::now() < deadline && ssh_is_connected(s) &&
         c.attempts <= kMaxAuthAttempts * 2) {
    ssh_event_dopoll(ev, 200);
  }
  if (!c.request_ready || stopping) {
    ssh_event_remove_session(ev, s);
    ssh_event_free(ev);
    return;
  }
  ssh_set_blocking(s, 0);
  SshClientPort port(s, c.channel, ev);
  const std::string client = [&] {
    std::string out = "ssh";
    int fd = ssh_get_fd(s);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      char host[NI_MAXHOST], serv[NI_MAXSERV];
      if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        out += std::string(" ") + host + ":" + serv;
      }
    }
    return out;
  }();

  if (c.user.kind == GatewayUser::Kind::kList) {
    auto snap = deps.directory->snapshot();
    std::vector<std::string> lines;
    for (const auto& [id, r] : snap->resources) {
      if (!r.ssh) continue;
      auto creds = deps.credentials->List(id);
      if (!creds.ok()) continue;
      for (const auto& cr : *creds) {
        auto d = deps.access->Check(c.user.operator_id, "login:" + cr.login, id);
        if (d.allow) lines.push_back("  " + c.user.operator_id + ":" + cr.login + ":" + id + "   (" + (d.grant.empty() ? "role " + d.role : d.grant) + ")");
      }
    }
    std::sort(lines.begin(), lines.end());
    std::string nl = c.pty ? "\r\n" : "\n";
    std::string text = "cloudpact: 你现在可以访问的目标 / targets you hold grants for:" + nl;
    for (const auto& l : lines) text += l + nl;
    if (lines.empty()) text += "  (无 / none — request access with `cloudpact access request`)" + nl;
    port.Write(text, false);
    port.Exit(0, "");
    port.Close();
  } else if (c.user.kind == GatewayUser::Kind::kWatch) {
    auto perms = deps.access->AdminPermissionsOf(c.user.operator_id);
    auto target = FindLive(c.user.session);
    std::string nl = c.pty ? "\r\n" : "\n";
    if (std::find(perms.begin(), perms.end(), "sessions:read") == perms.end()) {
      port.Write("cloudpact: 需要 sessions:read 权限 / watching needs the sessions:read permission" + nl, true);
      port.Exit(1, "");
      port.Close();
    } else if (!target) {
      port.Write("cloudpact: 没有这个活动会话 / no such live session" + nl, true);
      port.Exit(1, "");
      port.Close();
    } else {
      auto w = std::make_shared<Watcher>();
      w->who = c.user.operator_id;
      std::string owner;
      {
        std::lock_guard<std::mutex> lock(target->mu);
        target->watchers.push_back(w);
        target->info.watchers.push_back(w->who);
        owner = target->info.operator_id;
      }
      auto r = deps.access->RecordEvidence(target->info.grant, {"gateway.session.watch",
                                                                 {{"session", target->info.id}, {"watcher", w->who}},
                                                                 w->who,
                                                                 std::nullopt});
      if (!r.ok()) {
        port.Write("cloudpact: 无法记录审计证据 / evidence could not be recorded" + nl, true);
        w->ended = true;
      } else {
        port.Write("cloudpact: 只读观看 " + c.user.session + " (" + owner + ") / watching read-only" + nl, false);
      }
      char buf[1024];
      while (!stopping && !port.Gone()) {
        std::deque<std::string> chunks;
        bool ended;
        {
          std::lock_guard<std::mutex> lock(w->mu);
          chunks.swap(w->chunks);
          w->bytes = 0;
          ended = w->ended || w->dropped;
        }
        for (auto& ch : chunks) port.Write(ch, false);
        if (ended) break;
        while (port.Read(buf, sizeof buf) > 0) {
        }  // read-only: keystrokes are dropped
        ssh_event_dopoll(ev, 50);
      }
      port.Write(nl + "cloudpact: 观看结束 / watch ended" + nl, false);
      port.Exit(0, "");
      port.Close();
    }
  } else {
    auto live = std::make_shared<Live>();
    live->info.id = NewId("ses_");
    live->info.operator_id = c.user.operator_id;
    live->info.login = c.user.login;
    live->info.target = c.user.target;
    live->info.mode = c.mode;
    live->info.command = c.command;
    live->info.client = client;
    live->info.state = "active";
    live->info.started = Now();
    {
      std::lock_guard<std::mutex> lock(mu);
      this->live.emplace(live->info.id, live);
    }
    ssh_event_add_fd(ev, live->wake.fd(), POLLIN, OnWake, nullptr);
    SessionSetup setup{c.user.operator_id, c.user.login, c.user.target, c.mode, c.command, client,
                       c.pty, c.term, c.cols, c.rows};
    Runner runner(*this, live, port, ev, setup);
    c.runner = &runner;
    runner.Run();
    c.runner = nullptr;
    ssh_event_remove_fd(ev, live->wake.fd());
    std::lock_guard<std::mutex> lock(mu);
    this->live.erase(live->info.id);
  }
  ssh_event_remove_session(ev, s);
  ssh_event_free(ev);
}

// --- Gateway ------------------------------------------------------------------------------

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  impl_->stopping = true;
  impl_->stop_pipe.Wake();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [_, l] : impl_->live) l->wake.Wake();
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  // Connection threads use this object until they return; each is bounded (login grace,
  // connect timeout, sessions see `stopping` within one poll), so wait for all of them.
  std::unique_lock<std::mutex> lock(impl_->mu);
  while (!impl_->idle_cv.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->connections == 0; })) {
    log::Warn("gateway: waiting for connections to close", {{"connections", impl_->connections}});
  }
  lock.unlock();
  if (impl_->bind) ssh_bind_free(impl_->bind);
}

Result<std::unique_ptr<Gateway>> Gateway::Start(GatewayDeps deps, GatewayOptions options) {
  static std::once_flag init;
  std::call_once(init, [] { ssh_init(); });
  auto impl = std::make_unique<Impl>();
  impl->deps = deps;
  impl->opt = options;

  // The host key: generated once, kept 0600; operators pin its public half.
  if (!std::filesystem::exists(options.host_key)) {
    ssh_key key = nullptr;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) return MakeError(ErrorCode::kInternal, "cannot generate a host key");
    char* b64 = nullptr;
    int rc = ssh_pki_export_privkey_base64(key, nullptr, nullptr, nullptr, &b64);
    ssh_key_free(key);
    if (rc != SSH_OK || !b64) return MakeError(ErrorCode::kInternal, "cannot export the host key");
    std::string pem(b64);
    ssh_string_free_char(b64);
    RETURN_IF_ERROR(WriteFileAtomic(options.host_key, pem, 0600));
  }
  ssh_key host = nullptr;
  if (ssh_pki_import_privkey_file(options.host_key.c_str(), nullptr, nullptr, nullptr, &host) != SSH_OK) {
    return MakeError(ErrorCode::kFailedPrecondition, "cannot read the gateway host key " + options.host_key.string());
  }
  char* pub = nullptr;
  ssh_key pubkey = nullptr;
  if (ssh_pki_export_privkey_to_pubkey(host, &pubkey) == SSH_OK && ssh_pki_export_pubkey_base64(pubkey, &pub) == SSH_OK) {
    impl->host_key_line = std::string(ssh_key_type_to_char(ssh_key_type(pubkey))) + " " + pub;
  }
  ssh_string_free_char(pub);
  ssh_key_free(pubkey);
  ssh_key_free(host);

  impl->bind = ssh_bind_new();
  int no = 0;
  ssh_bind_options_set(impl->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
  ssh_bind_options_set(impl->bind, SSH_BIND_OPTIONS_BINDADDR, options.host.c_str());
  std::string port = std::to_string(options.port);
  ssh_bind_options_set(impl->bind, SSH_BIND_OPTIONS_BINDPORT_STR, port.c_str());
  ssh_bind_options_set(impl->bind, SSH_BIND_OPTIONS_HOSTKEY, options.host_key.c_str());
  if (ssh_bind_listen(impl->bind) != SSH_OK) {
    std::string err = ssh_get_error(impl->bind);
    ssh_bind_free(impl->bind);
    impl->bind = nullptr;
    return MakeError(ErrorCode::kUnavailable, "gateway: cannot listen on " + options.host + ":" + port + ": " + err);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(ssh_bind_get_fd(impl->bind), reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    impl->port = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                            : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

int Gateway::port() const { return impl_->port; }
std::string Gateway::host_key_line() const { return impl_->host_key_line; }

std::vector<SessionInfo> Gateway::Sessions(bool active_only) const {
  std::vector<SessionInfo> out;
  std::map<std::string, bool> seen;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (const auto& [id, l] : impl_->live) {
      std::lock_guard<std::mutex> ll(l->mu);
      out.push_back(l->info);
      seen[id] = true;
    }
  }
  if (!active_only) {
    auto records = impl_->deps.store->ListRecords(kSessionKind);
    if (records.ok()) {
      for (const auto& r : *records) {
        if (seen.count(r.id)) continue;
        auto j = Json::parse(r.body, nullptr, false);
        if (j.is_object()) out.push_back(SessionFromJson(j));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
    return a.started != b.started ? a.started > b.started : a.id < b.id;
  });
  return out;
}

Result<SessionInfo> Gateway::GetSession(const std::string& id) const {
  if (auto l = impl_->FindLive(id)) {
    std::lock_guard<std::mutex> lock(l->mu);
    return l->info;
  }
  ASSIGN_OR_RETURN(auto rec, impl_->deps.store->GetRecord(kSessionKind, id));
  if (!rec) return MakeError(ErrorCode::kNotFound, "no session " + id);
  auto j = Json::parse(rec->body, nullptr, false);
  if (!j.is_object()) return MakeError(ErrorCode::kDataLoss, "stored session " + id + " is not JSON");
  return SessionFromJson(j);
}

Status Gateway::Terminate(const std::string& id, const std::string& actor, const std::string& reason) {
  auto l = impl_->FindLive(id);
  if (!l) return MakeError(ErrorCode::kNotFound, "no live session " + id);
  std::string grant;
  {
    std::lock_guard<std::mutex> lock(l->mu);
    grant = l->info.grant;
  }
  ASSIGN_OR_RETURN(auto idx, impl_->deps.access->RecordEvidence(grant, {"gateway.session.terminate",
                                                                         {{"session", id}, {"reason", reason}},
                                                                         actor,
                                                                         std::nullopt}));
  (void)idx;
  {
    std::lock_guard<std::mutex> lock(l->mu);
    l->terminated_by = actor;
    l->terminate_reason = reason;
  }
  l->terminate = true;
  l->wake.Wake();
  return OkStatus();
}

std::vector<PendingCommand> Gateway::PendingReviews() const {
  std::vector<PendingCommand> out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [_, l] : impl_->live) {
    std::lock_guard<std::mutex> ll(l->mu);
    if (l->pending && l->review_state.empty()) out.push_back(*l->pending);
  }
  return out;
}

Result<CommandRecord> Gateway::ReviewCommand(const std::string& session, int64_t seq, const std::string& reviewer,
                                             bool approve, const std::string& comment) {
  auto l = impl_->FindLive(session);
  if (!l) return MakeError(ErrorCode::kNotFound, "no live session " + session);
  std::string grant;
  {
    std::lock_guard<std::mutex> lock(l->mu);
    if (!l->pending || l->pending->command.seq != seq || !l->review_state.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition, "command #" + std::to_string(seq) + " of " + session +
                                                           " is not waiting for review");
    }
    if (l->pending->operator_id == reviewer) {
      return MakeError(ErrorCode::kPermissionDenied, "operators may not review their own commands");
    }
    grant = l->pending->grant;
  }
  const std::string decision = approve ? "approved" : "rejected";
  // The decision is evidence before it takes effect.
  ASSIGN_OR_RETURN(auto idx, impl_->deps.access->RecordEvidence(
                                 grant, {"gateway.command.review",
                                         {{"session", session}, {"seq", seq}, {"decision", decision},
                                          {"reviewer", reviewer}, {"comment", comment}},
                                         reviewer,
                                         std::nullopt}));
  (void)idx;
  CommandRecord out;
  {
    std::lock_guard<std::mutex> lock(l->mu);
    if (!l->pending || l->pending->command.seq != seq || !l->review_state.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition, "the command is no longer waiting (withdrawn or timed out)");
    }
    l->review_state = decision;
    l->pending->command.reviewer = reviewer;
    l->pending->command.review_comment = comment;
    for (auto& c : l->info.commands) {
      if (c.seq == seq) {
        c.reviewer = reviewer;
        c.review_comment = comment;
        out = c;
      }
    }
    out.state = decision;
  }
  l->wake.Wake();
  return out;
}

Result<ExecResult> Gateway::Exec(const ExecRequest& request) {
  if (!ValidLogin(request.login)) return MakeError(ErrorCode::kInvalidArgument, "invalid login");
  if (request.command.empty() || request.command.size() > 64 * 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "command must be 1 to 65536 bytes");
  }
  auto live = std::make_shared<Live>();
  live->info.id = NewId("ses_");
  live->info.operator_id = request.principal;
  live->info.login = request.login;
  live->info.target = request.target;
  live->info.mode = "exec";
  live->info.command = request.command;
  live->info.client = "api";
  live->info.state = "active";
  live->info.started = impl_->Now();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->live.emplace(live->info.id, live);
  }
  BufferClientPort port(request.stdin_data, impl_->opt.max_exec_output_bytes);
  ssh_event ev = ssh_event_new();
  ssh_event_add_fd(ev, live->wake.fd(), POLLIN, OnWake, nullptr);
  SessionSetup setup{request.principal, request.login, request.target, "exec", request.command, "api", false, "", 80, 24};
  // A deadline for the whole command: terminate it when it passes.
  std::atomic<bool> done{false};
  std::thread timer([&] {
    auto until = Clock::now() + std::chrono::seconds(std::max(1, request.timeout_seconds));
    while (!done && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done) {
      {
        std::lock_guard<std::mutex> lock(live->mu);
        live->terminated_by = "cloudpact";
        live->terminate_reason = "exec timeout";
      }
      live->terminate = true;
      live->wake.Wake();
    }
  });
  {
    Runner runner(*impl_, live, port, ev, setup);
    runner.Run();
  }
  done = true;
  timer.join();
  ssh_event_remove_fd(ev, live->wake.fd());
  ssh_event_free(ev);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->live.erase(live->info.id);
  }
  ExecResult out;
  std::lock_guard<std::mutex> lock(live->mu);
  out.session = live->info.id;
  out.exit_status = port.exit_status;
  out.exit_signal = port.exit_signal;
  out.stdout_data = std::move(port.out_);
  out.stderr_data = std::move(port.err);
  out.truncated = port.truncated;
  if (!live->info.commands.empty()) {
    out.decision = live->info.commands.front().decision;
    out.message = live->info.commands.front().message;
  }
  if (live->info.state == "refused") return MakeError(ErrorCode::kPermissionDenied, live->info.end_reason);
  return out;
}

Result<std::string> Gateway::Recording(const std::string& session, size_t max_bytes) const {
  ASSIGN_OR_RETURN(auto info, GetSession(session));
  if (info.recording_sha256.empty()) {
    return MakeError(ErrorCode::kNotFound, info.state == "active" ? "the session is still running" : "the session has no recording");
  }
  return impl_->deps.recordings->Read(info.recording_sha256, max_bytes);
}

}  // namespace cloudpact::gateway
