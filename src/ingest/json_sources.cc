// JSON audit sources: Kubernetes audit events, OpenStack CADF events and cloud API trails
// (AWS CloudTrail, Alibaba ActionTrail), one JSON document per line (NDJSON).
//
// Each LineParser owns one simdjson On-Demand parser and one padded line buffer, reused for
// every line: after the largest line seen, a parser allocates nothing more than the events it
// returns. Lines over kMaxLineBytes are errors before any parsing. Every document is read in
// one forward pass over its fields (any order, unknown fields skipped by simdjson without
// recursion); this code descends at most four levels into the objects it reads itself, so
// arbitrarily deep input elsewhere costs time linear in its size and no stack.
//
// The mapping rules (which records are events, what is privileged) are stated where they are
// implemented, below.
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/encoding.h"
#include "crypto/sha256.h"
#include "ingest/event.h"

namespace cloudpact::ingest {
namespace {

namespace od = simdjson::ondemand;

// Bounds on untrusted input. A real audit line is a few KiB; CloudTrail's {"Records":[…]}
// lines are the largest, and the caller dead-letters anything over the bound.
constexpr size_t kMaxLineBytes = size_t{1} << 20;
constexpr size_t kMaxDepth = 64;
constexpr size_t kInitialCapacity = 16 * 1024;
// requestParameters can be large; the detail keeps a bounded prefix.
constexpr size_t kMaxDetailBytes = 4096;
constexpr size_t kMaxQuotedInMessage = 64;

constexpr int kApiActivityClass = 6003;
// OCSF API Activity activity_id values.
constexpr int kActivityCreate = 1;
constexpr int kActivityRead = 2;
constexpr int kActivityUpdate = 3;
constexpr int kActivityDelete = 4;
constexpr int kActivityOther = 99;

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidArgument, std::move(message)); }

Error JsonError(simdjson::error_code e) {
  return Invalid(std::string("invalid JSON: ") + simdjson::error_message(e));
}

// A value quoted in an error message, bounded so that a huge field cannot bloat the message.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, kMaxQuotedInMessage));
  if (s.size() > kMaxQuotedInMessage) out += "…";
  out += '"';
  return out;
}

Error Missing(std::string_view field) { return Invalid("missing field \"" + std::string(field) + "\""); }

// ---------------------------------------------------------------------------------------
// RFC 3339 timestamps, parsed by hand (no locale, no time zone database).

int64_t DaysFromCivil(int64_t y, int m, int d) {  // proleptic Gregorian, 1970-01-01 = 0
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" to Unix milliseconds (fraction truncated). Also
// accepted, because the producers write them: 't'/' ' as separator, 'z', offsets without the
// colon (pycadf's "%z": "+0000"), and — only when zone_optional, for the oslo envelope's
// "timestamp" (Python's str(utcnow())) — no zone at all, meaning UTC.
std::optional<int64_t> ParseTimestampMs(std::string_view s, bool zone_optional = false) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {  // 60: a leap second, counted as the next second
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 3) millis = millis * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start || pos - start > 18) return std::nullopt;
    for (size_t n = pos - start; n < 3; ++n) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (pos == s.size()) {
    if (!zone_optional) return std::nullopt;
  } else if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    // UTC
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    size_t mpos = pos + 3;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, mpos, 2, &om) || mpos + 2 != s.size() ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                          second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

// ---------------------------------------------------------------------------------------
// On-Demand helpers. Each reads one value and fails with a message naming the field.

Status ReadString(od::value& v, std::string_view field, std::string* out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(e);
  if (t == od::json_type::null) {  // CloudTrail writes null for absent optional fields
    out->clear();
    return OkStatus();
  }
  if (t != od::json_type::string) return Invalid("field \"" + std::string(field) + "\": expected a string");
  std::string_view sv;
  if (auto e = v.get_string().get(sv)) return JsonError(e);
  out->assign(sv);
  return OkStatus();
}

// Calls f(key, value) for each field of an object; null counts as an empty object.
template <typename F>
Status ForEachField(od::object obj, F&& f) {
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return JsonError(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return JsonError(e);
    Status s = f(key, field.value());
    if (!s.ok()) return s;
  }
  return OkStatus();
}

template <typename F>
Status ForEachField(od::value& v, std::string_view field, F&& f) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(e);
  if (t == od::json_type::null) return OkStatus();
  if (t != od::json_type::object) return Invalid("field \"" + std::string(field) + "\": expected an object");
  od::object obj;
  if (auto e = v.get_object().get(obj)) return JsonError(e);
  return ForEachField(obj, std::forward<F>(f));
}

// Calls f(element) for each element of an array; null counts as an empty array.
template <typename F>
Status ForEachElement(od::value& v, std::string_view field, F&& f) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(e);
  if (t == od::json_type::null) return OkStatus();
  if (t != od::json_type::array) return Invalid("field \"" + std::string(field) + "\": expected an array");
  od::array arr;
  if (auto e = v.get_array().get(arr)) return JsonError(e);
  for (auto element_result : arr) {
    od::value element;
    if (auto e = std::move(element_result).get(element)) return JsonError(e);
    Status s = f(element);
    if (!s.ok()) return s;
  }
  return OkStatus();
}

// The first string of an array of strings (sourceIPs); the rest are checked and skipped.
Status ReadFirstString(od::value& v, std::string_view field, std::string* out) {
  bool first = true;
  return ForEachElement(v, field, [&](od::value& element) -> Status {
    std::string s;
    RETURN_IF_ERROR(ReadString(element, field, &s));
    if (first) *out = std::move(s);
    first = false;
    return OkStatus();
  });
}

// A JSON boolean, or the strings "true"/"false" (some exporters stringify readOnly).
Status ReadBool(od::value& v, std::string_view field, std::optional<bool>* out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(e);
  if (t == od::json_type::null) return OkStatus();
  if (t == od::json_type::boolean) {
    bool b;
    if (auto e = v.get_bool().get(b)) return JsonError(e);
    *out = b;
    return OkStatus();
  }
  if (t == od::json_type::string) {
    std::string_view sv;
    if (auto e = v.get_string().get(sv)) return JsonError(e);
    if (sv == "true" || sv == "false") {
      *out = sv == "true";
      return OkStatus();
    }
  }
  return Invalid("field \"" + std::string(field) + "\": expected a boolean");
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Truncate(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return std::string(s.substr(0, cut)) + "…";
}

// ---------------------------------------------------------------------------------------
// The shared line handling: bounds, padded copy, whole-document check, common fields.

class JsonLineParser : public LineParser {
 public:
  explicit JsonLineParser(std::string_view name) : name_(name), parser_(kMaxLineBytes) {
    // Sets the depth bound (iterate() keeps it when it grows the capacity for a longer line).
    if (parser_.allocate(kInitialCapacity, kMaxDepth) != simdjson::SUCCESS) {
      // Memory is short now; iterate() retries the allocation, with simdjson's default depth.
    }
  }

  Result<std::vector<OperationEvent>> Feed(std::string_view line, uint64_t line_no) final {
    std::vector<OperationEvent> events;
    if (line.size() > kMaxLineBytes) {
      return Invalid("line " + std::to_string(line_no) + ": " + std::to_string(line.size()) +
                     " bytes, over the limit of " + std::to_string(kMaxLineBytes));
    }
    // Blank lines (and a lone "\r") carry nothing: not events, not errors.
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return events;

    if (buffer_.size() < line.size() + simdjson::SIMDJSON_PADDING) {
      buffer_.resize(line.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buffer_.data(), line.data(), line.size());
    std::memset(buffer_.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);

    Status status = [&]() -> Status {
      od::document doc;
      if (auto e = parser_.iterate(buffer_.data(), line.size(), buffer_.size()).get(doc)) {
        return JsonError(e);
      }
      od::json_type t;
      if (auto e = doc.type().get(t)) return JsonError(e);
      if (t != od::json_type::object) return Invalid("not a JSON object");
      od::object obj;
      if (auto e = doc.get_object().get(obj)) return JsonError(e);
      RETURN_IF_ERROR(Read(obj));
      // Past the object: simdjson 3.0 reports OUT_OF_BOUNDS there when nothing follows.
      const char* rest = nullptr;
      if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
        return Invalid("invalid JSON: content after the object");
      }
      return Map(&events);
    }();
    if (!status.ok()) {
      return Invalid("line " + std::to_string(line_no) + ": " + name_ + ": " + status.error().message);
    }
    if (!events.empty()) {
      const std::string hash = HexEncode(crypto::AsBytes(crypto::Sha256(line)));
      for (auto& e : events) {
        e.source = name_;
        e.line = line_no;
        e.raw_sha256 = hash;  // a Records line: every record shares its line's hash
        e.ocsf_class_uid = kApiActivityClass;
      }
    }
    return events;
  }

  std::vector<OperationEvent> Finish() final { return {}; }  // every line stands alone
  std::string_view name() const final { return name_; }

 protected:
  // Reads the line's top-level object into the parser's record state (reset first); only JSON
  // structure and field types are checked here, so that a malformed line is reported as such.
  virtual Status Read(od::object& obj) = 0;
  // Checks the record read and appends its events (none for skipped records).
  virtual Status Map(std::vector<OperationEvent>* out) = 0;

 private:
  std::string name_;
  od::parser parser_;
  std::string buffer_;  // the line and SIMDJSON_PADDING bytes, reused
};

// ---------------------------------------------------------------------------------------
// Kubernetes audit events (audit.k8s.io/v1 Event, one per line as the log backend writes).

struct K8sRecord {
  std::string kind, api_version, stage, verb, username, impersonated, source_ip, request_uri;
  std::string audit_id, received, stage_ts;
  bool has_object_ref = false;
  std::string resource, ns, name, subresource, api_group;
  bool in_masters = false;  // user or impersonated user in system:masters
  std::optional<int64_t> code;
};

Status ReadK8sUser(od::value& v, std::string_view field, std::string* username, bool* in_masters) {
  return ForEachField(v, field, [&](std::string_view key, od::value& value) -> Status {
    if (key == "username") return ReadString(value, "username", username);
    if (key == "groups") {
      return ForEachElement(value, "groups", [&](od::value& g) -> Status {
        std::string group;
        RETURN_IF_ERROR(ReadString(g, "groups", &group));
        if (group == "system:masters") *in_masters = true;
        return OkStatus();
      });
    }
    return OkStatus();
  });
}

int K8sActivity(std::string_view verb) {
  if (verb == "create") return kActivityCreate;
  if (verb == "get" || verb == "list" || verb == "watch") return kActivityRead;
  if (verb == "update" || verb == "patch") return kActivityUpdate;
  if (verb == "delete" || verb == "deletecollection") return kActivityDelete;
  return kActivityOther;
}

// Privileged (documented rule):
//  - the user, or the impersonated user, is in group system:masters (bypasses RBAC);
//  - the subresource is exec, attach or portforward, whatever the verb (kubectl exec is a
//    POST=create, its WebSocket form a GET=get): a shell in a pod goes through the gateway;
//  - a write (create, update, patch, delete, deletecollection) on secrets in the core group,
//    or on roles, rolebindings, clusterroles, clusterrolebindings in rbac.authorization.k8s.io
//    (or with no group recorded); a custom resource of the same name in another group is not.
bool K8sPrivileged(const K8sRecord& r) {
  if (r.in_masters) return true;
  if (r.subresource == "exec" || r.subresource == "attach" || r.subresource == "portforward") return true;
  const bool write = r.verb == "create" || r.verb == "update" || r.verb == "patch" || r.verb == "delete" ||
                     r.verb == "deletecollection";
  if (!write) return false;
  if (r.resource == "secrets") return r.api_group.empty();
  if (r.resource == "roles" || r.resource == "rolebindings" || r.resource == "clusterroles" ||
      r.resource == "clusterrolebindings") {
    return r.api_group.empty() || r.api_group == "rbac.authorization.k8s.io";
  }
  return false;
}

class K8sAuditParser final : public JsonLineParser {
 public:
  K8sAuditParser() : JsonLineParser("k8s-audit") {}

 protected:
  Status Read(od::object& obj) override {
    r_ = K8sRecord();
    K8sRecord& r = r_;
    return ForEachField(obj, [&](std::string_view key, od::value& v) -> Status {
      if (key == "kind") return ReadString(v, key, &r.kind);
      if (key == "apiVersion") return ReadString(v, key, &r.api_version);
      if (key == "stage") return ReadString(v, key, &r.stage);
      if (key == "verb") return ReadString(v, key, &r.verb);
      if (key == "auditID") return ReadString(v, key, &r.audit_id);
      if (key == "requestURI") return ReadString(v, key, &r.request_uri);
      if (key == "requestReceivedTimestamp") return ReadString(v, key, &r.received);
      if (key == "stageTimestamp") return ReadString(v, key, &r.stage_ts);
      if (key == "sourceIPs") return ReadFirstString(v, key, &r.source_ip);
      if (key == "user") return ReadK8sUser(v, key, &r.username, &r.in_masters);
      if (key == "impersonatedUser") return ReadK8sUser(v, key, &r.impersonated, &r.in_masters);
      if (key == "objectRef") {
        r.has_object_ref = true;
        return ForEachField(v, key, [&](std::string_view k, od::value& f) -> Status {
          if (k == "resource") return ReadString(f, k, &r.resource);
          if (k == "namespace") return ReadString(f, k, &r.ns);
          if (k == "name") return ReadString(f, k, &r.name);
          if (k == "subresource") return ReadString(f, k, &r.subresource);
          if (k == "apiGroup") return ReadString(f, k, &r.api_group);
          return OkStatus();
        });
      }
      if (key == "responseStatus") {
        return ForEachField(v, key, [&](std::string_view k, od::value& f) -> Status {
          if (k != "code") return OkStatus();
          int64_t code;
          if (f.get_int64().get(code)) return Invalid("field \"responseStatus.code\": expected an integer");
          r.code = code;
          return OkStatus();
        });
      }
      return OkStatus();
    });
  }

  Status Map(std::vector<OperationEvent>* out) override {
    const K8sRecord& r = r_;
    if (r.kind != "Event") return Invalid("kind is " + Quote(r.kind) + ", expected \"Event\"");
    if (r.api_version != "audit.k8s.io/v1") {
      return Invalid("apiVersion is " + Quote(r.api_version) + ", expected \"audit.k8s.io/v1\"");
    }
    // One request is logged once per stage; only the final stage of each becomes an event.
    if (r.stage == "RequestReceived" || r.stage == "ResponseStarted") return OkStatus();
    if (r.stage != "ResponseComplete" && r.stage != "Panic") {
      return r.stage.empty() ? Missing("stage") : Invalid("unknown stage " + Quote(r.stage));
    }
    if (r.audit_id.empty()) return Missing("auditID");
    if (r.verb.empty()) return Missing("verb");
    if (r.username.empty()) return Missing("user.username");
    // The request's arrival is when the operation happened (an exec session's stageTimestamp
    // is its end); stageTimestamp stands in when the arrival is not recorded.
    const std::string& ts = r.received.empty() ? r.stage_ts : r.received;
    const char* ts_field = r.received.empty() ? "stageTimestamp" : "requestReceivedTimestamp";
    if (ts.empty()) return Missing("requestReceivedTimestamp");
    auto time_ms = ParseTimestampMs(ts);
    if (!time_ms) return Invalid(std::string(ts_field) + " " + Quote(ts) + " is not an RFC 3339 timestamp");

    OperationEvent e;
    e.time_ms = *time_ms;
    e.actor = r.username;
    e.target_login = r.impersonated;
    e.source_ip = r.source_ip;
    e.action = "k8s." + r.verb;
    e.event_id = r.audit_id;
    if (r.has_object_ref) {
      e.target = r.resource;
      if (!r.subresource.empty()) e.target += "/" + r.subresource;
      e.target += "/" + r.ns + "/" + r.name;
    } else {
      e.target = r.request_uri;  // a non-resource URL such as /healthz
    }
    if (r.code) {
      e.outcome = *r.code < 400 ? "success" : "failure";
    } else {
      e.outcome = r.stage == "Panic" ? "failure" : "unknown";
    }
    e.privileged = K8sPrivileged(r);
    e.detail = r.request_uri;
    e.ocsf_activity_id = K8sActivity(r.verb);
    out->push_back(std::move(e));
    return OkStatus();
  }

 private:
  K8sRecord r_;
};

// ---------------------------------------------------------------------------------------
// OpenStack CADF events (pyCADF; keystonemiddleware's audit filter and keystone's own
// notifications), bare or inside the oslo notification envelope {"event_type", "payload", …}.

constexpr std::string_view kCadfEventTypeUri = "http://schemas.dmtf.org/cloud/audit/1.0/event";

struct CadfRecord {
  std::string type_uri, event_type, event_time, action, outcome, request_path;
  std::string initiator_id, initiator_name, project_id, domain_id, address;
  std::string target_id, target_name, target_type, observer_name;
  // The envelope, when there is one.
  bool has_payload = false;
  std::string env_event_type, env_timestamp, publisher_id;
  std::string id;  // the event's own id (a UUID in pyCADF)
};

// "service/compute/servers" → {"service", "compute", "servers"}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    if (slash != 0) out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// The service of a target typeURI: the segment after "service/" or "data/" (keystonemiddleware
// writes "service/compute/servers", keystone "data/security/account/user"), else the first.
std::string CadfService(std::string_view type_uri) {
  const auto segs = Segments(type_uri);
  if (segs.empty()) return "unknown";
  if ((segs[0] == "service" || segs[0] == "data") && segs.size() > 1) return std::string(segs[1]);
  return std::string(segs[0]);
}

// The CADF action's verb: "read/list" → "read", keystone's "created.user" → "create".
std::string_view CadfVerb(std::string_view action) {
  const std::string_view head = action.substr(0, action.find_first_of("/."));
  if (head == "create" || head == "created") return "create";
  if (head == "read") return "read";
  if (head == "update" || head == "updated" || head == "disabled" || head == "enabled") return "update";
  if (head == "delete" || head == "deleted") return "delete";
  return head;
}

int CadfActivity(std::string_view verb) {
  if (verb == "create") return kActivityCreate;
  if (verb == "read") return kActivityRead;
  if (verb == "update") return kActivityUpdate;
  if (verb == "delete") return kActivityDelete;
  return kActivityOther;
}

// Privileged (documented rule):
//  - any action other than read or authenticate on an identity target: service "identity"
//    (keystonemiddleware) or "security" (keystone), with a path segment naming users, roles,
//    role assignments, projects, domains, groups or credentials (singular or plural), e.g.
//    "service/identity/role_assignments", "data/security/account/user";
//  - a delete of servers, volumes or images (a segment "servers", "volumes" or "images").
bool CadfPrivileged(std::string_view target_type, std::string_view verb) {
  const auto segs = Segments(target_type);
  const std::string service = CadfService(target_type);
  if ((service == "identity" || service == "security") && verb != "read" && verb != "authenticate") {
    static constexpr std::array<std::string_view, 16> kAdminNouns = {
        "users", "user", "roles", "role", "role_assignments", "role_assignment", "projects", "project",
        "domains", "domain", "groups", "group", "credentials", "credential", "account", "trusts"};
    for (auto seg : segs) {
      if (std::find(kAdminNouns.begin(), kAdminNouns.end(), seg) != kAdminNouns.end()) return true;
    }
  }
  if (verb == "delete") {
    for (auto seg : segs) {
      if (seg == "servers" || seg == "volumes" || seg == "images") return true;
    }
  }
  return false;
}

Status ReadCadfResource(od::value& v, std::string_view field, std::string* id, std::string* name,
                        std::string* type_uri, std::string* project_id, std::string* domain_id,
                        std::string* address) {
  return ForEachField(v, field, [&](std::string_view k, od::value& f) -> Status {
    if (k == "id") return ReadString(f, k, id);
    if (k == "name") return ReadString(f, k, name);
    if (k == "typeURI" && type_uri) return ReadString(f, k, type_uri);
    if (k == "project_id" && project_id) return ReadString(f, k, project_id);
    if (k == "domain_id" && domain_id) return ReadString(f, k, domain_id);
    if (k == "host" && address) {
      return ForEachField(f, k, [&](std::string_view hk, od::value& h) -> Status {
        return hk == "address" ? ReadString(h, "host.address", address) : OkStatus();
      });
    }
    return OkStatus();
  });
}

class CadfParser final : public JsonLineParser {
 public:
  CadfParser() : JsonLineParser("cadf") {}

 protected:
  Status Read(od::object& obj) override {
    r_ = CadfRecord();
    CadfRecord& r = r_;
    return ForEachField(obj, [&](std::string_view key, od::value& v) -> Status {
      if (key == "payload") {
        r.has_payload = true;
        return ForEachField(v, key, [&](std::string_view k, od::value& f) { return ReadEventField(k, f, &r); });
      }
      if (key == "event_type") return ReadString(v, key, &r.env_event_type);
      if (key == "timestamp") return ReadString(v, key, &r.env_timestamp);
      if (key == "publisher_id") return ReadString(v, key, &r.publisher_id);
      return ReadEventField(key, v, &r);
    });
  }

  Status Map(std::vector<OperationEvent>* out) override {
    const CadfRecord& r = r_;
    if (r.type_uri != kCadfEventTypeUri) {
      if (r.type_uri.empty()) return Missing(r.has_payload ? "payload.typeURI" : "typeURI");
      return Invalid("typeURI is " + Quote(r.type_uri) + ", expected \"" + std::string(kCadfEventTypeUri) + "\"");
    }
    // monitor (measurements) and control (policy decisions) events describe no operation.
    if (r.event_type == "monitor" || r.event_type == "control") return OkStatus();
    if (r.event_type != "activity") {
      return r.event_type.empty() ? Missing("eventType") : Invalid("unknown eventType " + Quote(r.event_type));
    }
    // keystonemiddleware notifies each request twice: "pending" when it arrives
    // (audit.http.request), then the outcome (audit.http.response). The second is the event.
    if (r.outcome == "pending") return OkStatus();
    if (r.outcome != "success" && r.outcome != "failure" && r.outcome != "unknown") {
      return r.outcome.empty() ? Missing("outcome") : Invalid("unknown outcome " + Quote(r.outcome));
    }
    if (r.action.empty()) return Missing("action");
    if (r.initiator_name.empty() && r.initiator_id.empty()) return Missing("initiator");
    if (r.target_type.empty() && r.target_id.empty()) return Missing("target");
    if (r.event_time.empty()) return Missing("eventTime");
    auto time_ms = ParseTimestampMs(r.event_time);
    if (!time_ms) return Invalid("eventTime " + Quote(r.event_time) + " is not an RFC 3339 timestamp");
    if (!r.env_timestamp.empty() && !ParseTimestampMs(r.env_timestamp, /*zone_optional=*/true)) {
      return Invalid("timestamp " + Quote(r.env_timestamp) + " is not a timestamp");
    }

    const std::string_view verb = CadfVerb(r.action);
    OperationEvent e;
    e.time_ms = *time_ms;
    e.actor = r.initiator_name.empty() ? r.initiator_id : r.initiator_name;
    e.actor_org = r.project_id.empty() ? r.domain_id : r.project_id;
    e.source_ip = r.address;
    e.platform = r.publisher_id.empty() ? r.observer_name : r.publisher_id;
    e.action = "api." + CadfService(r.target_type) + "." + r.action;
    e.target = r.target_id.empty() ? r.target_name : r.target_id;
    e.outcome = r.outcome;
    e.privileged = CadfPrivileged(r.target_type, verb);
    e.detail = !r.request_path.empty() ? r.request_path : r.env_event_type;
    e.ocsf_activity_id = CadfActivity(verb);
    e.event_id = r.id;
    out->push_back(std::move(e));
    return OkStatus();
  }

 private:
  CadfRecord r_;

  static Status ReadEventField(std::string_view key, od::value& v, CadfRecord* r) {
    if (key == "typeURI") return ReadString(v, key, &r->type_uri);
    if (key == "id") return ReadString(v, key, &r->id);
    if (key == "eventType") return ReadString(v, key, &r->event_type);
    if (key == "eventTime") return ReadString(v, key, &r->event_time);
    if (key == "action") return ReadString(v, key, &r->action);
    if (key == "outcome") return ReadString(v, key, &r->outcome);
    if (key == "requestPath") return ReadString(v, key, &r->request_path);
    if (key == "initiatorId") return ReadString(v, key, &r->initiator_id);
    if (key == "targetId") return ReadString(v, key, &r->target_id);
    if (key == "initiator") {
      return ReadCadfResource(v, key, &r->initiator_id, &r->initiator_name, nullptr, &r->project_id,
                              &r->domain_id, &r->address);
    }
    if (key == "target") {
      return ReadCadfResource(v, key, &r->target_id, &r->target_name, &r->target_type, nullptr, nullptr,
                              nullptr);
    }
    if (key == "observer") {
      std::string id;
      return ReadCadfResource(v, key, &id, &r->observer_name, nullptr, nullptr, nullptr, nullptr);
    }
    return OkStatus();
  }
};

// ---------------------------------------------------------------------------------------
// Cloud API trails: AWS CloudTrail records and Alibaba Cloud ActionTrail events, one record
// per line or a whole CloudTrail log file's {"Records":[…]} on one line.

struct TrailRecord {
  std::string event_time, event_name, event_source, service_name, region;
  std::string id_type, user_name, arn, account_id, principal_id, invoked_by;
  std::string source_ip, error_code, error_message, recipient_account, resource, detail;
  bool has_identity = false;
  std::optional<bool> read_only;
  std::string event_rw;  // ActionTrail: "Read" / "Write"
  std::string event_id;
};

Status ReadTrailField(std::string_view key, od::value& v, TrailRecord* r) {
  if (key == "eventTime") return ReadString(v, key, &r->event_time);
  if (key == "eventName") return ReadString(v, key, &r->event_name);
  if (key == "eventID" || key == "eventId") return ReadString(v, key, &r->event_id);
  if (key == "eventSource") return ReadString(v, key, &r->event_source);
  if (key == "serviceName") return ReadString(v, key, &r->service_name);
  if (key == "awsRegion" || key == "acsRegion") return ReadString(v, key, &r->region);
  if (key == "sourceIPAddress" || key == "sourceIpAddress") return ReadString(v, key, &r->source_ip);
  if (key == "errorCode") return ReadString(v, key, &r->error_code);
  if (key == "errorMessage") return ReadString(v, key, &r->error_message);
  if (key == "recipientAccountId") return ReadString(v, key, &r->recipient_account);
  if (key == "readOnly") return ReadBool(v, key, &r->read_only);
  if (key == "eventRW") return ReadString(v, key, &r->event_rw);
  if (key == "userIdentity") {
    od::json_type t;
    if (auto e = v.type().get(t)) return JsonError(e);
    r->has_identity = t == od::json_type::object;
    return ForEachField(v, key, [&](std::string_view k, od::value& f) -> Status {
      if (k == "type") return ReadString(f, k, &r->id_type);
      if (k == "userName") return ReadString(f, k, &r->user_name);
      if (k == "arn") return ReadString(f, k, &r->arn);
      if (k == "accountId") return ReadString(f, k, &r->account_id);
      if (k == "principalId") return ReadString(f, k, &r->principal_id);
      if (k == "invokedBy") return ReadString(f, k, &r->invoked_by);
      return OkStatus();
    });
  }
  if (key == "requestParameters") {
    od::json_type t;
    if (auto e = v.type().get(t)) return JsonError(e);
    if (t == od::json_type::null) return OkStatus();
    std::string_view raw;  // simdjson 3.0 has raw_json() on objects and arrays, not values
    simdjson::error_code e = simdjson::SUCCESS;
    if (t == od::json_type::object) {
      od::object o;
      e = v.get_object().get(o);
      if (!e) e = o.raw_json().get(raw);
    } else if (t == od::json_type::array) {
      od::array a;
      e = v.get_array().get(a);
      if (!e) e = a.raw_json().get(raw);
    } else {
      raw = v.raw_json_token();
    }
    if (e) return JsonError(e);
    r->detail = Truncate(raw, kMaxDetailBytes);
    return OkStatus();
  }
  if (key == "resources") {  // CloudTrail: [{"ARN", "accountId", "type"}]; the first ARN
    return ForEachElement(v, key, [&](od::value& element) -> Status {
      return ForEachField(element, key, [&](std::string_view k, od::value& f) -> Status {
        if (k != "ARN" || !r->resource.empty()) return OkStatus();
        return ReadString(f, "resources.ARN", &r->resource);
      });
    });
  }
  if (key == "referencedResources") {  // ActionTrail: {"ACS::ECS::Instance": ["i-…"]}
    return ForEachField(v, key, [&](std::string_view, od::value& ids) -> Status {
      return ForEachElement(ids, key, [&](od::value& id) -> Status {
        std::string s;
        RETURN_IF_ERROR(ReadString(id, key, &s));
        if (r->resource.empty()) r->resource = std::move(s);
        return OkStatus();
      });
    });
  }
  return OkStatus();
}

// The service's short name: ActionTrail's serviceName lowercased ("Ecs" → "ecs"), else the
// first label of eventSource ("ec2.amazonaws.com" → "ec2"), less a "-<region>" suffix
// (ActionTrail's "ecs-cn-hangzhou.aliyuncs.com" → "ecs").
std::string TrailService(const TrailRecord& r) {
  if (!r.service_name.empty()) return Lower(r.service_name);
  std::string_view label = std::string_view(r.event_source).substr(0, r.event_source.find('.'));
  if (!r.region.empty() && label.size() > r.region.size() + 1 &&
      label.substr(label.size() - r.region.size()) == r.region &&
      label[label.size() - r.region.size() - 1] == '-') {
    label.remove_suffix(r.region.size() + 1);
  }
  return Lower(label);
}

// Read-only: the record's readOnly (CloudTrail) or eventRW (ActionTrail) when present, else an
// operation named Get*, List*, Describe*, Head*, Lookup*, Search*, Query* or Check*.
bool TrailReadOnly(const TrailRecord& r) {
  if (r.read_only) return *r.read_only;
  if (!r.event_rw.empty()) return r.event_rw == "Read";
  static constexpr std::array<std::string_view, 8> kReadPrefixes = {"Get",    "List",   "Describe", "Head",
                                                                    "Lookup", "Search", "Query",    "Check"};
  for (auto p : kReadPrefixes) {
    if (StartsWith(r.event_name, p)) return true;
  }
  return false;
}

int TrailActivity(const TrailRecord& r, bool read_only) {
  if (read_only) return kActivityRead;
  const std::string_view n = r.event_name;
  for (auto p : {"Create", "Run", "Add", "Allocate", "Import", "Register", "Put"}) {
    if (StartsWith(n, p)) return kActivityCreate;
  }
  for (auto p : {"Delete", "Terminate", "Remove", "Deregister", "Release", "Detach"}) {
    if (StartsWith(n, p)) return kActivityDelete;
  }
  return kActivityUpdate;
}

// Privileged (documented rule):
//  - the caller is the account itself: userIdentity.type "Root" (CloudTrail) or
//    "root-account" (ActionTrail), whatever it does, including reads and console sign-in;
//  - a write (not read-only, see TrailReadOnly) on a service that controls who may do what
//    or what is recorded: iam, ram, ims (Alibaba identity), sso, identitystore, organizations,
//    resourcemanager, kms, cloudtrail, actiontrail.
bool TrailPrivileged(const TrailRecord& r, std::string_view service, bool read_only) {
  if (r.id_type == "Root" || r.id_type == "root-account") return true;
  if (read_only) return false;
  static constexpr std::array<std::string_view, 10> kSensitive = {
      "iam", "ram", "ims", "sso", "identitystore", "organizations", "resourcemanager", "kms", "cloudtrail",
      "actiontrail"};
  return std::find(kSensitive.begin(), kSensitive.end(), service) != kSensitive.end();
}

Status TrailEvent(const TrailRecord& r, std::vector<OperationEvent>* out) {
  if (r.event_name.empty()) return Missing("eventName");
  if (r.event_source.empty() && r.service_name.empty()) return Missing("eventSource");
  if (!r.has_identity) return Missing("userIdentity");
  if (r.event_time.empty()) return Missing("eventTime");
  auto time_ms = ParseTimestampMs(r.event_time);
  if (!time_ms) return Invalid("eventTime " + Quote(r.event_time) + " is not an RFC 3339 timestamp");

  const std::string service = TrailService(r);
  const bool read_only = TrailReadOnly(r);
  OperationEvent e;
  e.time_ms = *time_ms;
  // An IAM user's name; for roles, federated users and the root account the ARN names the
  // principal (assumed-role/Role/session); ActionTrail's root account has only principalId;
  // an AWS service, invokedBy.
  e.actor = !r.user_name.empty()      ? r.user_name
            : !r.arn.empty()          ? r.arn
            : !r.principal_id.empty() ? r.principal_id
            : !r.invoked_by.empty()   ? r.invoked_by
                                      : r.account_id;
  if (e.actor.empty()) return Invalid("userIdentity names no one (no userName, arn, principalId, invokedBy or accountId)");
  e.actor_org = r.account_id.empty() ? r.recipient_account : r.account_id;
  e.source_ip = r.source_ip;
  e.platform = r.region;
  e.action = "api." + service + "." + r.event_name;
  e.target = r.resource.empty() ? r.event_source : r.resource;
  e.outcome = r.error_code.empty() && r.error_message.empty() ? "success" : "failure";
  e.privileged = TrailPrivileged(r, service, read_only);
  e.detail = r.detail;
  e.ocsf_activity_id = TrailActivity(r, read_only);
  e.event_id = r.event_id;
  out->push_back(std::move(e));
  return OkStatus();
}

class CloudTrailParser final : public JsonLineParser {
 public:
  CloudTrailParser() : JsonLineParser("cloudtrail") {}

 protected:
  Status Read(od::object& obj) override {
    top_ = TrailRecord();
    records_.clear();
    has_records_ = false;
    return ForEachField(obj, [&](std::string_view key, od::value& v) -> Status {
      if (key != "Records") return ReadTrailField(key, v, &top_);
      has_records_ = true;
      records_.clear();  // a repeated "Records": the last wins, as for any other field
      return ForEachElement(v, key, [&](od::value& element) -> Status {
        const std::string where = "Records[" + std::to_string(records_.size()) + "]: ";
        od::json_type t;
        if (auto e = element.type().get(t)) return JsonError(e);
        if (t != od::json_type::object) return Invalid(where + "expected an object");
        TrailRecord& r = records_.emplace_back();
        Status s = ForEachField(element, key, [&](std::string_view k, od::value& f) { return ReadTrailField(k, f, &r); });
        if (!s.ok()) return Invalid(where + s.error().message);
        return OkStatus();
      });
    });
  }

  Status Map(std::vector<OperationEvent>* out) override {
    // A log file's {"Records":[…]} (possibly empty), else the line is one record.
    if (!has_records_) return TrailEvent(top_, out);
    for (size_t i = 0; i < records_.size(); ++i) {
      Status s = TrailEvent(records_[i], out);
      if (!s.ok()) return Invalid("Records[" + std::to_string(i) + "]: " + s.error().message);
    }
    return OkStatus();
  }

 private:
  TrailRecord top_;
  std::vector<TrailRecord> records_;  // reused: capacity kept from line to line
  bool has_records_ = false;
};

}  // namespace

std::unique_ptr<LineParser> MakeK8sAuditParser() { return std::make_unique<K8sAuditParser>(); }
std::unique_ptr<LineParser> MakeCadfParser() { return std::make_unique<CadfParser>(); }
std::unique_ptr<LineParser> MakeCloudTrailParser() { return std::make_unique<CloudTrailParser>(); }

}  // namespace cloudpact::ingest
