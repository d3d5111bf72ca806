// Linux audit records (auditd's audit.log, raw or log_format=ENRICHED; through syslog via
// audisp-syslog; or the kernel's "audit: type=1300 audit(…)" lines from journald/kmsg).
//
// Kernel events span several records (SYSCALL, EXECVE, CWD, PATH…, PROCTITLE, EOE) sharing
// msg=audit(TIME:SERIAL); they are joined, and an event is complete at its EOE, at Finish,
// when kMaxPending events are in assembly (the oldest is completed), when kMaxPendingBytes
// are held, or when a record more than kStaleMs younger than it arrives. User-space records
// (USER_*, CRED_*, ADD_USER, …) are events of one record each.
//
// Events: an execve (an EXECVE record) → process.exec; USER_LOGIN/USER_LOGOUT → ssh.* when
// sshd wrote them, user.login/user.login_failed/user.logout otherwise; USER_CMD (sudo) →
// sudo.exec/sudo.denied; a failed USER_AUTH by sudo → sudo.denied; account and group
// management (ADD_USER, DEL_USER, USER_MGMT, USER_CHAUTHTOK, ADD_GROUP, DEL_GROUP, GRP_MGMT,
// ACCT_LOCK, ACCT_UNLOCK) → user.change. Other events (file watches, CRED_*, USER_START…)
// give none. ausearch -i output (local times, " : " separators) is not read.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/sha256.h"
#include "ingest/syslog.h"

namespace cloudpact::ingest {
namespace {

using namespace syslog_internal;

constexpr size_t kMaxPending = 1024;              // events in assembly
constexpr size_t kMaxRecordsPerEvent = 256;       // EXECVE of a 2 MiB argv is ~256 records
constexpr size_t kMaxPendingBytes = 16 << 20;     // all records held, all events
constexpr int64_t kStaleMs = 5000;
constexpr uint64_t kUnsetId = 4294967295u;        // auid of processes outside any login

struct Header {
  std::string_view node;
  std::string_view type;  // the name; numeric kernel types are mapped
  int64_t time_ms = 0;
  uint64_t serial = 0;
  std::string_view body;
};

std::string_view TypeName(std::string_view t) {
  if (t.empty() || t[0] < '0' || t[0] > '9') return t;
  struct Entry {
    std::string_view num, name;
  };
  static constexpr Entry kTypes[] = {
      {"1100", "USER_AUTH"},     {"1101", "USER_ACCT"},      {"1102", "USER_MGMT"},
      {"1103", "CRED_ACQ"},      {"1104", "CRED_DISP"},      {"1105", "USER_START"},
      {"1106", "USER_END"},      {"1108", "USER_CHAUTHTOK"}, {"1109", "USER_ERR"},
      {"1110", "CRED_REFR"},     {"1112", "USER_LOGIN"},     {"1113", "USER_LOGOUT"},
      {"1114", "ADD_USER"},      {"1115", "DEL_USER"},       {"1116", "ADD_GROUP"},
      {"1117", "DEL_GROUP"},     {"1123", "USER_CMD"},       {"1132", "GRP_MGMT"},
      {"1135", "ACCT_LOCK"},     {"1136", "ACCT_UNLOCK"},    {"1300", "SYSCALL"},
      {"1302", "PATH"},          {"1307", "CWD"},            {"1309", "EXECVE"},
      {"1320", "EOE"},           {"1327", "PROCTITLE"},
  };
  for (const auto& e : kTypes)
    if (e.num == t) return e.name;
  return t;
}

bool IsStandalone(std::string_view type) {
  for (std::string_view p : {"USER_", "CRED_", "ADD_", "DEL_", "GRP_", "ACCT_", "SERVICE_",
                             "DAEMON_", "USYS_", "SYSTEM_", "ROLE_", "CHUSER_ID", "CHGRP_ID",
                             "ANOM_LOGIN"})
    if (type.starts_with(p)) return true;
  if (type.size() == 4 && type[0] >= '1' && type[0] <= '2' && type[1] >= '0' && type[1] <= '9') {
    // Unmapped numbers: 1100-1299 and 2100-2999 are user space (linux/audit.h).
    int n = (type[0] - '0') * 1000 + (type[1] - '0') * 100;
    return n == 1100 || n == 1200 || (n >= 2100 && n <= 2900);
  }
  return false;
}

bool ParseUint(std::string_view s, size_t max_digits, uint64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

Error RecordError(uint64_t line_no, std::string_view what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "line " + std::to_string(line_no) + ": malformed audit record: " +
                       std::string(what));
}

Result<Header> ParseHeader(std::string_view rec, uint64_t line_no) {
  Header h;
  if (rec.starts_with("node=")) {
    size_t sp = rec.find(' ');
    if (sp == std::string_view::npos) return RecordError(line_no, "node= without type=");
    h.node = rec.substr(5, sp - 5);
    rec.remove_prefix(sp + 1);
  }
  if (!rec.starts_with("type=")) return RecordError(line_no, "expected type=");
  size_t sp = rec.find(' ');
  if (sp == std::string_view::npos || sp == 5) return RecordError(line_no, "type= has no value or nothing follows it");
  h.type = TypeName(rec.substr(5, sp - 5));
  rec.remove_prefix(sp + 1);
  if (rec.starts_with("msg=")) rec.remove_prefix(4);
  if (!rec.starts_with("audit(")) return RecordError(line_no, "expected msg=audit(TIME:SERIAL)");
  rec.remove_prefix(6);
  size_t close = rec.find(')');
  if (close == std::string_view::npos) return RecordError(line_no, "audit( is not closed");
  std::string_view stamp = rec.substr(0, close);
  size_t dot = stamp.find('.'), colon = stamp.find(':');
  uint64_t sec = 0, frac = 0;
  if (dot == std::string_view::npos || colon == std::string_view::npos || colon < dot ||
      !ParseUint(stamp.substr(0, dot), 12, &sec) ||
      !ParseUint(stamp.substr(dot + 1, colon - dot - 1), 3, &frac) ||
      !ParseUint(stamp.substr(colon + 1), 19, &h.serial))
    return RecordError(line_no, "audit(" + std::string(stamp.substr(0, 64)) +
                                    ") is not audit(SECONDS.MILLIS:SERIAL)");
  for (size_t n = colon - dot - 1; n < 3; ++n) frac *= 10;
  h.time_ms = static_cast<int64_t>(sec * 1000 + frac);
  rec.remove_prefix(close + 1);
  if (rec.starts_with(" :")) rec.remove_prefix(1);  // as some documentation prints it
  if (!rec.starts_with(":")) return RecordError(line_no, "audit(…) not followed by ':'");
  rec.remove_prefix(1);
  if (rec.starts_with(" ")) rec.remove_prefix(1);
  h.body = rec;
  return h;
}

// key=value pairs of a record body: values bare, "quoted", or a nested msg='…' whose own
// pairs are visited in turn; \x1d separates the raw fields from the ENRICHED ones (whose
// keys are upper case: AUID="alice").
template <typename F>
void ForEachField(std::string_view body, F&& visit) {
  size_t p = 0, n = body.size();
  while (p < n) {
    char c = body[p];
    if (c == ' ' || c == '\x1d' || c == '\'') {
      ++p;
      continue;
    }
    size_t k = p;
    while (p < n && body[p] != '=' && body[p] != ' ' && body[p] != '\x1d') ++p;
    if (p >= n || body[p] != '=') continue;  // a word without '=': skipped
    std::string_view key = body.substr(k, p - k);
    ++p;
    if (p < n && body[p] == '\'') continue;  // msg='…': visit what is inside
    if (p < n && body[p] == '"') {
      size_t q = body.find('"', p + 1);
      if (q == std::string_view::npos) q = n;
      visit(key, body.substr(p + 1, q - p - 1), true);
      p = q + 1;
      continue;
    }
    size_t v = p;
    while (p < n && body[p] != ' ' && body[p] != '\x1d') ++p;
    // Words without '=' continue a bare value: msg='op=adding user id=1001 …'.
    while (p < n && body[p] == ' ') {
      size_t w = p + 1;
      while (w < n && body[w] != ' ' && body[w] != '=' && body[w] != '\x1d' && body[w] != '\'')
        ++w;
      if (w == p + 1 || (w < n && body[w] == '=')) break;
      p = w;
    }
    std::string_view value = body.substr(v, p - v);
    if (value.ends_with('\'')) value.remove_suffix(1);
    visit(key, value, false);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Audit logs untrusted strings quoted when plain, as bare hex otherwise (audit_log_untrustedstring).
void AppendDecoded(std::string& out, std::string_view v, bool quoted) {
  if (quoted || v.size() % 2 != 0 || v.empty() || v == "(null)") {
    out.append(v);
    return;
  }
  for (char c : v)
    if (HexDigit(c) < 0) {
      out.append(v);
      return;
    }
  for (size_t i = 0; i < v.size(); i += 2)
    out += static_cast<char>(HexDigit(v[i]) * 16 + HexDigit(v[i + 1]));
}

std::string Decoded(std::string_view v, bool quoted) {
  std::string out;
  AppendDecoded(out, v, quoted);
  return out;
}

bool ParseId(std::string_view v, uint64_t* out) {
  if (v == "-1") {
    *out = kUnsetId;
    return true;
  }
  return ParseUint(v, 10, out);
}

// "uid:1000", "unset" for the unset id, or the enriched name when the log gives one.
std::string IdName(std::string_view enriched, std::string_view raw) {
  if (!enriched.empty()) return Sanitized(enriched);
  if (raw.empty()) return {};
  uint64_t id = 0;
  if (ParseId(raw, &id) && id == kUnsetId) return "unset";
  return "uid:" + Sanitized(raw);
}

struct Pending {
  std::string node;
  int64_t time_ms = 0;
  uint64_t serial = 0;
  uint64_t first_line = 0;
  std::string host;
  // The lines as fed, joined by "\n" (what raw_sha256 covers): no allocation per line.
  std::string text;
  std::vector<uint32_t> line_at;    // where each line starts in text
  std::vector<uint32_t> record_at;  // where each line's record starts (after any frame)
  std::vector<uint64_t> line_nos;   // each line's number, for PendingLines
  size_t records() const { return line_at.size(); }
  std::string_view Line(size_t i) const {
    size_t end = i + 1 < line_at.size() ? line_at[i + 1] - 1 : text.size();
    return std::string_view(text).substr(line_at[i], end - line_at[i]);
  }
  void Add(std::string_view line, std::string_view rec, uint64_t line_no) {
    line_nos.push_back(line_no);
    if (!line_at.empty()) text += '\n';
    line_at.push_back(static_cast<uint32_t>(text.size()));
    record_at.push_back(static_cast<uint32_t>(text.size() + (rec.data() - line.data())));
    text.append(line);
  }
  std::string_view Record(size_t i) const {
    size_t end = i + 1 < line_at.size() ? line_at[i + 1] - 1 : text.size();
    return std::string_view(text).substr(record_at[i], end - record_at[i]);
  }
};

// The fields one event's records give.
struct Fields {
  std::string_view success, auid, uid, euid, enriched_auid, enriched_uid, enriched_euid, exe,
      res, op, acct, id, enriched_id, addr, hostname, cmd, arch, syscall, enriched_syscall;
  bool exe_quoted = true, acct_quoted = true, cmd_quoted = true;
  bool has_execve = false;
  std::vector<std::pair<uint64_t, std::string>> args;  // (index, decoded), EXECVE order
  std::string proctitle;
};

class AuditdParser final : public LineParser {
 public:
  explicit AuditdParser(SyslogOptions options) : options_(std::move(options)) {}

  Result<std::vector<OperationEvent>> Feed(std::string_view line, uint64_t line_no) override {
    RETURN_IF_ERROR(CheckLineLength(line, line_no));
    std::vector<OperationEvent> out;
    std::string_view rec = StripEol(line);
    if (rec.empty()) return out;
    std::string_view host;
    if (!rec.starts_with("type=") && !rec.starts_with("node=")) {
      ASSIGN_OR_RETURN(SyslogLine f, ParseSyslogLine(rec, NowMs(options_)));
      std::string_view msg = f.msg;
      if (msg.starts_with("audit: ")) msg.remove_prefix(7);
      if (!msg.starts_with("type=") && !msg.starts_with("node=")) {
        if (f.framed) return out;  // another program's line in a shared log
        return RecordError(line_no, "expected \"type=NAME msg=audit(TIME:SERIAL): …\", got \"" +
                                        Sanitized(rec.substr(0, 40)) + "\"");
      }
      host = f.host;
      rec = msg;
    }
    ASSIGN_OR_RETURN(Header h, ParseHeader(rec, line_no));

    if (IsStandalone(h.type)) {
      Pending p{std::string(h.node), h.time_ms, h.serial, line_no, std::string(host), {}, {}, {}, {}};
      p.Add(line, rec, line_no);
      FlushStale(h.time_ms, out);
      Complete(p, out);
      return out;
    }

    size_t idx = Find(h);
    if (idx == kNone) {
      FlushStale(h.time_ms, out);
      while (pending_.size() >= kMaxPending ||
             (!pending_.empty() && pending_bytes_ + line.size() > kMaxPendingBytes))
        CompleteOldest(out);
      pending_.push_back(Pending{std::string(h.node), h.time_ms, h.serial, line_no,
                                 std::string(host), {}, {}, {}, {}});
      idx = pending_.size() - 1;
    } else if (pending_[idx].records() >= kMaxRecordsPerEvent) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "line " + std::to_string(line_no) + ": audit event " +
                           std::to_string(h.serial) + " already has " +
                           std::to_string(kMaxRecordsPerEvent) +
                           " records, the most one event may have; this record is not joined");
    } else {
      // Older events make room; this one may exceed the bound by at most its own records.
      while (idx > 0 && pending_bytes_ + line.size() > kMaxPendingBytes) {
        CompleteOldest(out);
        --idx;
      }
    }
    Pending& p = pending_[idx];
    size_t before = p.text.size();
    p.Add(line, rec, line_no);
    pending_bytes_ += p.text.size() - before;
    if (h.type == "EOE") {
      Pending done = std::move(p);
      pending_bytes_ -= done.text.size();
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(idx));
      Complete(done, out);
    }
    return out;
  }

  std::vector<OperationEvent> Finish() override {
    std::vector<OperationEvent> out;
    while (!pending_.empty()) CompleteOldest(out);
    return out;
  }

  std::string_view name() const override { return "auditd"; }

  std::vector<std::pair<uint64_t, std::string>> PendingLines() const override {
    std::vector<std::pair<uint64_t, std::string>> lines;
    for (const Pending& p : pending_)
      for (size_t i = 0; i < p.records(); ++i) lines.emplace_back(p.line_nos[i], std::string(p.Line(i)));
    std::sort(lines.begin(), lines.end());
    return lines;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  size_t Find(const Header& h) const {
    for (size_t i = pending_.size(); i-- > 0;) {
      const Pending& p = pending_[i];
      if (p.serial == h.serial && p.time_ms == h.time_ms && p.node == h.node) return i;
    }
    return kNone;
  }

  void CompleteOldest(std::vector<OperationEvent>& out) {
    Pending p = std::move(pending_.front());
    pending_.erase(pending_.begin());
    pending_bytes_ -= p.text.size();
    Complete(p, out);
  }

  void FlushStale(int64_t now_ms, std::vector<OperationEvent>& out) {
    while (!pending_.empty() && pending_.front().time_ms < now_ms - kStaleMs) CompleteOldest(out);
  }

  void Complete(const Pending& p, std::vector<OperationEvent>& out) {
    Fields f;
    std::string_view type;  // of the first record
    for (size_t i = 0; i < p.records(); ++i) {
      std::string_view rec = StripEol(p.Record(i));
      auto h = ParseHeader(rec, p.first_line);  // parsed when fed: cannot fail
      if (!h.ok()) continue;
      if (type.empty()) type = h->type;
      Collect(h->type, h->body, f);
    }
    OperationEvent e;
    if (!Build(type, f, e)) return;
    e.time_ms = p.time_ms;
    e.source = "auditd";
    e.target = Sanitized(!p.node.empty() ? std::string_view(p.node) : std::string_view(p.host));
    e.platform = e.target;
    e.line = p.first_line;
    e.raw_sha256 = crypto::Sha256Hex(p.text);
    out.push_back(std::move(e));
  }

  static void Collect(std::string_view type, std::string_view body, Fields& f) {
    if (type == "EXECVE") {
      f.has_execve = true;
      ForEachField(body, [&](std::string_view k, std::string_view v, bool quoted) {
        // a0="ls", a1=2D6C (hex), a2_len=300000 then a2[0]=…, a2[1]=… (chunks of one arg)
        if (k.size() < 2 || k[0] != 'a' || k[1] < '0' || k[1] > '9') return;
        size_t end = 1;
        while (end < k.size() && k[end] >= '0' && k[end] <= '9') ++end;
        uint64_t idx = 0;
        if (!ParseUint(k.substr(1, end - 1), 7, &idx)) return;
        std::string_view suffix = k.substr(end);
        if (suffix == "_len") return;
        if (!suffix.empty() && suffix[0] != '[') return;
        if (!suffix.empty() && !f.args.empty() && f.args.back().first == idx) {
          AppendDecoded(f.args.back().second, v, quoted);
          return;
        }
        f.args.emplace_back(idx, Decoded(v, quoted));
      });
      return;
    }
    if (type == "PROCTITLE") {
      ForEachField(body, [&](std::string_view k, std::string_view v, bool quoted) {
        if (k == "proctitle") f.proctitle = Decoded(v, quoted);
      });
      return;
    }
    if (type == "PATH" || type == "CWD" || type == "EOE") return;
    ForEachField(body, [&](std::string_view k, std::string_view v, bool quoted) {
      if (k == "success") f.success = v;
      else if (k == "arch") f.arch = v;
      else if (k == "syscall") f.syscall = v;
      else if (k == "SYSCALL") f.enriched_syscall = v;
      else if (k == "auid") f.auid = v;
      else if (k == "uid") f.uid = v;
      else if (k == "euid") f.euid = v;
      else if (k == "AUID") f.enriched_auid = v;
      else if (k == "UID") f.enriched_uid = v;
      else if (k == "EUID") f.enriched_euid = v;
      else if (k == "ID") f.enriched_id = v;
      else if (k == "exe") f.exe = v, f.exe_quoted = quoted;
      else if (k == "res" || k == "result") f.res = v;
      else if (k == "op") f.op = v;
      else if (k == "acct") f.acct = v, f.acct_quoted = quoted;
      else if (k == "id") f.id = v;
      else if (k == "addr") f.addr = v;
      else if (k == "hostname") f.hostname = v;
      else if (k == "cmd") f.cmd = v, f.cmd_quoted = quoted;
    });
  }

  // A failed execve has no EXECVE record, only its SYSCALL.
  static bool IsExecSyscall(const Fields& f) {
    if (f.enriched_syscall == "execve" || f.enriched_syscall == "execveat") return true;
    if (f.arch == "c000003e") return f.syscall == "59" || f.syscall == "322";  // x86_64
    if (f.arch == "c00000b7") return f.syscall == "221" || f.syscall == "281";  // aarch64
    if (f.arch == "40000003") return f.syscall == "11" || f.syscall == "358";   // i386
    return false;
  }

  static std::string_view Outcome(std::string_view v) {
    if (v == "yes" || v == "success") return "success";
    if (v == "no" || v == "failed" || v == "fail" || v == "failure") return "failure";
    return "unknown";
  }

  static bool IsRootId(std::string_view raw, std::string_view enriched) {
    if (enriched == "root") return true;
    uint64_t id = 1;
    return ParseId(raw, &id) && id == 0;
  }

  // The account a USER_* record is about: acct="name" (hex when odd), else id=N.
  static std::string Account(const Fields& f) {
    if (!f.acct.empty() && f.acct != "?") return Sanitized(Decoded(f.acct, f.acct_quoted));
    if (!f.enriched_id.empty()) return Sanitized(f.enriched_id);
    if (!f.id.empty() && f.id != "?") return IdName({}, f.id);
    return {};
  }

  // Fills what depends on the event's records; false when they record no operation.
  static bool Build(std::string_view type, Fields& f, OperationEvent& e) {
    uint64_t auid = kUnsetId;
    bool auid_known = ParseId(f.auid, &auid);
    std::string exe = Decoded(f.exe, f.exe_quoted);
    bool by_sshd = exe.ends_with("/sshd") || exe.ends_with("/sshd-session") || exe == "sshd";
    bool by_sudo = exe.ends_with("/sudo") || exe == "sudo";

    if (f.has_execve || IsExecSyscall(f)) {
      e.action = "process.exec";
      e.outcome = Outcome(f.success);
      e.actor = IdName(f.enriched_auid, f.auid);
      e.target_login = IdName(f.enriched_uid, f.uid);
      bool as_root = IsRootId(f.uid, f.enriched_uid) || IsRootId(f.euid, f.enriched_euid);
      e.privileged = as_root && auid_known && auid != 0 && auid != kUnsetId;
      std::vector<std::pair<uint64_t, std::string>>& args = f.args;
      std::stable_sort(args.begin(), args.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [i, a] : args) {
        if (!e.detail.empty()) e.detail += ' ';
        AppendShellWord(e.detail, a);
      }
      if (e.detail.empty() && !f.proctitle.empty()) {
        // PROCTITLE: argv joined by NULs (truncated by the kernel at 128 bytes).
        std::string_view pt = f.proctitle;
        size_t start = 0;
        for (size_t i = 0; i <= pt.size(); ++i) {
          if (i == pt.size() || pt[i] == '\0') {
            if (i > start) {
              if (!e.detail.empty()) e.detail += ' ';
              AppendShellWord(e.detail, pt.substr(start, i - start));
            }
            start = i + 1;
          }
        }
      }
      if (e.detail.empty()) AppendShellWord(e.detail, exe);
      e.ocsf_class_uid = 1007;  // Process Activity
      e.ocsf_activity_id = 1;   // Launch
      return true;
    }

    std::string_view outcome = Outcome(f.res);
    auto from_addr = [&]() {
      if (!f.addr.empty() && f.addr != "?") e.source_ip = Sanitized(f.addr);
    };
    if (type == "USER_LOGIN" || type == "USER_LOGOUT") {
      bool login = type == "USER_LOGIN";
      std::string prefix = by_sshd ? "ssh." : "user.";
      e.action = prefix + (!login ? "logout" : outcome == "failure" ? "login_failed" : "login");
      e.outcome = outcome;
      e.actor = Account(f);
      e.target_login = e.actor;
      e.privileged = e.actor == "root" || e.actor == "uid:0";
      from_addr();
      e.detail = Sanitized(exe);
      e.ocsf_class_uid = 3002;  // Authentication
      e.ocsf_activity_id = login ? 1 : 2;
      return true;
    }
    if (type == "USER_AUTH") {
      // Successes precede a USER_LOGIN or USER_CMD; sshd's failures get a USER_LOGIN too.
      if (outcome != "failure" || by_sshd) return false;
      e.action = by_sudo ? "sudo.denied" : "user.login_failed";
      e.outcome = outcome;
      e.actor = by_sudo ? IdName(f.enriched_auid, f.auid) : Account(f);
      if (by_sudo) e.target_login = Account(f);
      if (e.actor.empty()) e.actor = Account(f);
      from_addr();
      e.detail = Sanitized(exe);
      e.ocsf_class_uid = by_sudo ? 1007 : 3002;
      e.ocsf_activity_id = 1;
      return true;
    }
    if (type == "USER_CMD") {
      e.action = outcome == "failure" ? "sudo.denied" : "sudo.exec";
      e.outcome = outcome;
      e.actor = IdName(f.enriched_auid, f.auid);
      e.detail = Sanitized(Decoded(f.cmd, f.cmd_quoted));
      e.ocsf_class_uid = 1007;
      e.ocsf_activity_id = 1;
      return true;
    }
    struct Change {
      std::string_view type;
      int activity;  // OCSF Account Change activity_id
    };
    static constexpr Change kChanges[] = {
        {"ADD_USER", 1},  {"DEL_USER", 6},  {"USER_MGMT", 99}, {"USER_CHAUTHTOK", 3},
        {"ADD_GROUP", 99}, {"DEL_GROUP", 99}, {"GRP_MGMT", 99},  {"ACCT_LOCK", 9},
        {"ACCT_UNLOCK", 99}};
    for (const Change& c : kChanges) {
      if (type != c.type) continue;
      e.action = "user.change";
      e.outcome = outcome;
      e.actor = IdName(f.enriched_auid, f.auid);
      e.target_login = Account(f);
      e.privileged = true;
      e.detail = std::string(type);
      if (!f.op.empty()) {
        e.detail += " op=";
        AppendSanitized(e.detail, f.op);
      }
      if (!exe.empty()) {
        e.detail += " exe=";
        AppendSanitized(e.detail, exe);
      }
      e.ocsf_class_uid = 3001;  // Account Change
      e.ocsf_activity_id = c.activity;
      return true;
    }
    return false;
  }

  SyslogOptions options_;
  std::vector<Pending> pending_;  // in order of their first record
  size_t pending_bytes_ = 0;
};

}  // namespace

std::unique_ptr<LineParser> MakeAuditdParser(const SyslogOptions& options) {
  return std::make_unique<AuditdParser>(options);
}
std::unique_ptr<LineParser> MakeAuditdParser() { return MakeAuditdParser(SyslogOptions{}); }

}  // namespace cloudpact::ingest
