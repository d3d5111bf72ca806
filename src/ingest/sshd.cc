// sshd's authentication log lines (OpenSSH auth.c auth_log, packet.c, pam_unix), framed by
// syslog or as sshd -e / -E writes them. Lines of other programs (auth.log also holds
// sudo, CRON, systemd-logind) and sshd lines that record no login, failure or logout give
// no event.
#include "crypto/sha256.h"
#include "ingest/syslog.h"

namespace cloudpact::ingest {
namespace {

using namespace syslog_internal;

// "USER from IP port N…" → USER and IP. The user name comes from the client and may contain
// " from ", so the address is the last " from " before the last " port ".
bool SplitUserFrom(std::string_view s, std::string_view* user, std::string_view* ip) {
  size_t port = s.rfind(" port ");
  std::string_view head = port == std::string_view::npos ? s : s.substr(0, port);
  size_t from = head.rfind(" from ");
  if (from == std::string_view::npos) return false;
  *user = head.substr(0, from);
  *ip = head.substr(from + 6);
  return !ip->empty() && ip->find(' ') == std::string_view::npos;
}

bool IsSshdApp(std::string_view app) {
  // OpenSSH 9.8+ logs the session as "sshd-session" and pre-auth as "sshd-auth".
  return app == "sshd" || app.starts_with("sshd-");
}

class SshdParser final : public LineParser {
 public:
  explicit SshdParser(SyslogOptions options) : options_(std::move(options)) {}

  Result<std::vector<OperationEvent>> Feed(std::string_view line, uint64_t line_no) override {
    std::vector<OperationEvent> out;
    RETURN_IF_ERROR(CheckLineLength(line, line_no));
    int64_t now = NowMs(options_);
    ASSIGN_OR_RETURN(SyslogLine f, ParseSyslogLine(line, now));
    if (f.framed && !IsSshdApp(f.app)) return out;
    std::string_view msg = f.msg;
    if (msg.ends_with(" [preauth]")) msg.remove_suffix(10);

    std::string_view action, outcome, user, ip, detail;
    if (msg.starts_with("Accepted ") || msg.starts_with("Failed ")) {
      bool ok = msg[0] == 'A';
      std::string_view rest = msg.substr(ok ? 9 : 7);
      size_t sp = rest.find(" for ");
      if (sp == std::string_view::npos || sp == 0) return out;
      std::string_view method = rest.substr(0, sp);
      // Clients try "none" first to learn the methods; that is no failed login.
      if (method == "none") return out;
      std::string_view tail = rest.substr(sp + 5);
      if (!SplitUserFrom(tail, &user, &ip)) return out;
      if (user.starts_with("invalid user ")) user.remove_prefix(13);
      action = ok ? "ssh.login" : "ssh.login_failed";
      outcome = ok ? "success" : "failure";
      detail = method;
      size_t key = tail.find(" ssh2: ", ip.data() + ip.size() - tail.data());
      if (key != std::string_view::npos) {
        std::string d(method);
        d += ' ';
        d += tail.substr(key + 7);
        auto events = Emit(f, now, line, line_no, action, outcome, user, ip, d);
        // "ssh2: ED25519 SHA256:…" (certificates add " ID … (serial …) CA …" after it).
        std::string_view k = tail.substr(key + 7);
        if (size_t fp = k.find("SHA256:"); fp != std::string_view::npos) {
          k = k.substr(fp);
          events[0].key_fingerprint = Sanitized(k.substr(0, std::min(k.find(' '), size_t{64})));
        }
        return events;
      }
    } else if (msg.starts_with("Invalid user ")) {
      std::string_view rest = msg.substr(13);
      if (!SplitUserFrom(rest, &user, &ip)) return out;
      action = "ssh.login_failed";
      outcome = "failure";
      detail = "invalid user";
    } else if (msg.starts_with("Disconnected from user ")) {
      // "Disconnected from user USER IP port N"; the user name may contain spaces.
      std::string_view rest = msg.substr(23);
      size_t port = rest.rfind(" port ");
      if (port == std::string_view::npos) return out;
      rest = rest.substr(0, port);
      size_t sp = rest.rfind(' ');
      if (sp == std::string_view::npos || sp == 0) return out;
      user = rest.substr(0, sp);
      ip = rest.substr(sp + 1);
      action = "ssh.logout";
      outcome = "success";
    } else if (constexpr std::string_view kClosed =
                   "pam_unix(sshd:session): session closed for user ";
               msg.starts_with(kClosed)) {
      user = msg.substr(kClosed.size());
      action = "ssh.logout";
      outcome = "success";
    } else {
      return out;
    }
    if (user.empty()) return out;
    return Emit(f, now, line, line_no, action, outcome, user, ip, detail);
  }

  std::vector<OperationEvent> Finish() override { return {}; }
  std::string_view name() const override { return "sshd"; }

 private:
  std::vector<OperationEvent> Emit(const SyslogLine& f, int64_t now, std::string_view line,
                                   uint64_t line_no, std::string_view action,
                                   std::string_view outcome, std::string_view user,
                                   std::string_view ip, std::string_view detail) {
    std::vector<OperationEvent> out(1);
    OperationEvent& e = out[0];
    e.time_ms = f.has_time ? f.time_ms : now;
    e.source = "sshd";
    e.actor = Sanitized(user);
    e.target_login = e.actor;
    e.source_ip = Sanitized(ip);
    e.target = Sanitized(f.host);
    e.platform = e.target;
    e.action = action;
    e.outcome = outcome;
    e.privileged = user == "root";
    e.detail = Sanitized(detail);
    e.raw_sha256 = crypto::Sha256Hex(line);
    e.line = line_no;
    e.ocsf_class_uid = 3002;                          // Authentication
    e.ocsf_activity_id = action == "ssh.logout" ? 2 : 1;  // Logoff : Logon
    return out;
  }

  SyslogOptions options_;
};

}  // namespace

std::unique_ptr<LineParser> MakeSshdParser(const SyslogOptions& options) {
  return std::make_unique<SshdParser>(options);
}
std::unique_ptr<LineParser> MakeSshdParser() { return MakeSshdParser(SyslogOptions{}); }

}  // namespace cloudpact::ingest
