// sudo's log lines: the classic sudoers format through syslog or sudo's own log file
//   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx
//   alice : 3 incorrect password attempts ; TTY=pts/0 ; … ; COMMAND=/bin/ls
//   Nov 27 18:00:01 : alice : TTY=…            (sudo.log; "Nov 27 18:00:01 2026 : …" too, whose
//                                               year is ignored: the RFC 3164 rule applies)
// and sudo 1.9's JSON (log_format=json): one compact object per line, {"accept":{…}},
// {"reject":{…}}, or through syslog as @cee:{"sudo":{"accept":{…}}}. Multi-line
// (json_pretty) log files must be written compact to be read line by line. "exit" and
// "alert" records and pam_unix(sudo:…) lines give no event.
#include <cstdint>

#include "core/json.h"
#include "crypto/sha256.h"
#include "ingest/syslog.h"

namespace cloudpact::ingest {
namespace {

using namespace syslog_internal;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

const Json* Member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string_view StringMember(const Json& j, const char* key) {
  const Json* v = Member(j, key);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_ref<const std::string&>();
}

// {"seconds": N, "nanoseconds": N} → ms, or false.
bool TimeMember(const Json& j, const char* key, int64_t* ms) {
  const Json* t = Member(j, key);
  if (t == nullptr) return false;
  const Json* s = Member(*t, "seconds");
  if (s == nullptr || !s->is_number_integer()) return false;
  int64_t sec = s->get<int64_t>();
  if (sec < -(int64_t{1} << 40) || sec > (int64_t{1} << 40)) return false;
  int64_t ns = 0;
  if (const Json* n = Member(*t, "nanoseconds"); n != nullptr && n->is_number_integer())
    ns = n->get<int64_t>();
  if (ns < 0 || ns >= 1000000000) ns = 0;
  *ms = sec * 1000 + ns / 1000000;
  return true;
}

class SudoParser final : public LineParser {
 public:
  explicit SudoParser(SyslogOptions options) : options_(std::move(options)) {}

  Result<std::vector<OperationEvent>> Feed(std::string_view line, uint64_t line_no) override {
    RETURN_IF_ERROR(CheckLineLength(line, line_no));
    int64_t now = NowMs(options_);
    ASSIGN_OR_RETURN(SyslogLine f, ParseSyslogLine(line, now));
    std::vector<OperationEvent> out;
    if (f.framed && f.app != "sudo") return out;
    std::string_view msg = f.msg;
    if (!f.framed) {
      // sudo.log: "Mmm dd hh:mm:ss[ YYYY] : user : …": the frame parser left " : user : …"
      // or "YYYY : user : …".
      if (f.has_time && msg.size() >= 7 && msg[4] == ' ' && msg[5] == ':' &&
          msg.substr(0, 4).find_first_not_of("0123456789") == std::string_view::npos) {
        msg.remove_prefix(5);
      }
      if (f.has_time && msg.starts_with(": ")) msg.remove_prefix(2);
    }
    if (msg.starts_with("@cee:")) msg.remove_prefix(5);
    msg = Trim(msg);
    if (msg.starts_with("{")) return FeedJson(f, now, msg, line, line_no);
    return FeedClassic(f, now, msg, line, line_no);
  }

  std::vector<OperationEvent> Finish() override { return {}; }
  std::string_view name() const override { return "sudo"; }

 private:
  OperationEvent Base(const SyslogLine& f, int64_t now, std::string_view line, uint64_t line_no) {
    OperationEvent e;
    e.time_ms = f.has_time ? f.time_ms : now;
    e.source = "sudo";
    e.target = Sanitized(f.host);
    e.platform = e.target;
    e.raw_sha256 = crypto::Sha256Hex(line);
    e.line = line_no;
    e.ocsf_class_uid = 1007;  // Process Activity
    e.ocsf_activity_id = 1;   // Launch
    return e;
  }

  Result<std::vector<OperationEvent>> FeedClassic(const SyslogLine& f, int64_t now,
                                                  std::string_view msg, std::string_view line,
                                                  uint64_t line_no) {
    std::vector<OperationEvent> out;
    size_t colon = msg.find(" : ");
    if (colon == std::string_view::npos || colon == 0) return out;
    std::string_view user = Trim(msg.substr(0, colon));
    std::string_view rest = msg.substr(colon + 3);
    std::string_view runuser, command, reason;
    bool have_command = false;
    while (!rest.empty()) {
      if (rest.starts_with("COMMAND=")) {  // always last; may itself contain " ; "
        command = rest.substr(8);
        have_command = true;
        break;
      }
      size_t semi = rest.find(" ; ");
      std::string_view seg = semi == std::string_view::npos ? rest : rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 3);
      if (seg.starts_with("USER=")) runuser = seg.substr(5);
      else if (seg.find('=') == std::string_view::npos && reason.empty()) reason = Trim(seg);
    }
    if (!have_command || user.empty() || user.find(' ') != std::string_view::npos) return out;
    out.push_back(Base(f, now, line, line_no));
    OperationEvent& e = out.back();
    bool denied = !reason.empty();
    e.action = denied ? "sudo.denied" : "sudo.exec";
    e.outcome = denied ? "failure" : "success";
    e.actor = Sanitized(user);
    e.target_login = Sanitized(runuser);
    e.privileged = runuser == "root";
    e.detail = Sanitized(command);
    if (denied) {
      e.detail += " (";
      AppendSanitized(e.detail, reason);
      e.detail += ')';
    }
    return out;
  }

  Result<std::vector<OperationEvent>> FeedJson(const SyslogLine& f, int64_t now,
                                               std::string_view msg, std::string_view line,
                                               uint64_t line_no) {
    auto parsed = ParseJson(msg, {kMaxLineBytes, 32});
    if (!parsed.ok())
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(line_no) +
                           ": malformed sudo JSON log record: " + parsed.error().message);
    const Json* root = &*parsed;
    if (const Json* s = Member(*root, "sudo"); s != nullptr) root = s;
    std::vector<OperationEvent> out;
    const Json* rec = Member(*root, "accept");
    bool denied = false;
    if (rec == nullptr) {
      rec = Member(*root, "reject");
      denied = true;
    }
    if (rec == nullptr) return out;  // exit, alert, or not a sudo record
    if (!rec->is_object())
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(line_no) + ": sudo JSON \"" +
                           (denied ? "reject" : "accept") + "\" is not an object");
    std::string_view user = StringMember(*rec, "submituser");
    if (user.empty())
      return MakeError(ErrorCode::kInvalidArgument,
                       "line " + std::to_string(line_no) + ": sudo JSON record has no submituser");
    out.push_back(Base(f, now, line, line_no));
    OperationEvent& e = out.back();
    int64_t t = 0;
    if (TimeMember(*rec, "submit_time", &t) || TimeMember(*rec, "server_time", &t)) e.time_ms = t;
    e.action = denied ? "sudo.denied" : "sudo.exec";
    e.outcome = denied ? "failure" : "success";
    e.actor = Sanitized(user);
    std::string_view runuser = StringMember(*rec, "runuser");
    e.target_login = Sanitized(runuser);
    bool root_uid = false;
    if (const Json* uid = Member(*rec, "runuid"); uid != nullptr && uid->is_number_integer())
      root_uid = uid->get<int64_t>() == 0;
    e.privileged = runuser == "root" || root_uid;
    if (std::string_view host = StringMember(*rec, "submithost"); !host.empty()) {
      e.target = Sanitized(host);
      e.platform = e.target;
    }
    std::string_view command = StringMember(*rec, "command");
    const Json* argv = Member(*rec, "runargv");
    if (!command.empty()) AppendShellWord(e.detail, command);
    if (argv != nullptr && argv->is_array()) {
      bool first = true;
      for (const Json& a : *argv) {
        if (first) {  // argv[0]: the command's name, already given as "command"
          first = false;
          if (!command.empty()) continue;
        }
        if (!a.is_string()) continue;
        if (!e.detail.empty()) e.detail += ' ';
        AppendShellWord(e.detail, a.get_ref<const std::string&>());
      }
    }
    if (denied) {
      if (std::string_view reason = StringMember(*rec, "reason"); !reason.empty()) {
        e.detail += " (";
        AppendSanitized(e.detail, reason);
        e.detail += ')';
      }
    }
    return out;
  }

  SyslogOptions options_;
};

}  // namespace

std::unique_ptr<LineParser> MakeSudoParser(const SyslogOptions& options) {
  return std::make_unique<SudoParser>(options);
}
std::unique_ptr<LineParser> MakeSudoParser() { return MakeSudoParser(SyslogOptions{}); }

}  // namespace cloudpact::ingest
