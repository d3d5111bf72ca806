#include "access/policy.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <limits>
#include <unordered_map>
#include <utility>

#include <re2/re2.h>

namespace cloudpact::access {
namespace {

constexpr size_t kMaxEntries = 10'000;  // per list, and per labels mapping
constexpr size_t kMaxStringBytes = 256;
constexpr size_t kMaxLongStringBytes = 4096;  // command patterns and their messages
constexpr int64_t kMaxPatternMemory = 1 << 20;  // per compiled command pattern (RE2 max_mem)
constexpr int64_t kMaxDurationSeconds = 365LL * 24 * 3600;
constexpr int kMaxApprovals = 10;
constexpr int kMaxUtcOffsetMinutes = 14 * 60;
// Problems kept while parsing, and reported: a hostile document must not make the error
// message (or the memory behind it) grow with its size.
constexpr size_t kMaxProblemsKept = 10'000;
constexpr size_t kMaxProblemsReported = 100;

constexpr std::string_view kDayNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) -> int {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
  };
  auto cont = [&](size_t k, int lo = 0x80, int hi = 0xBF) {
    int b = byte(k);
    return b >= lo && b <= hi;
  };
  int c = byte(0);
  if (c < 0) return 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Text from the document as it may appear in an error message: valid UTF-8 whatever the
// input, control characters and quotes escaped, long values cut short.
std::string Printable(std::string_view s, size_t max_bytes = 80) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = Utf8SequenceLength(s, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (n == 0 || c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + Printable(s) + "\""; }

std::string_view TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "a mapping";
    default:
      return "an unsupported value";
  }
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

bool ParseAppliesTo(std::string_view s, AppliesTo* out) {
  for (AppliesTo a : {AppliesTo::kAll, AppliesTo::kInternal, AppliesTo::kOutsourced}) {
    if (s == AppliesToName(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

// "HH:MM", 00:00 … 24:00.
bool ParseClock(std::string_view s, int* minutes) {
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4))
    return false;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

// "+HH:MM" / "-HH:MM", at most 14 hours either way.
bool ParseUtcOffset(std::string_view s, int* minutes) {
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-')) return false;
  int m = 0;
  if (!ParseClock(s.substr(1), &m) || m > kMaxUtcOffsetMinutes) return false;
  *minutes = s[0] == '-' ? -m : m;
  return true;
}

bool Contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string Join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class PolicyParser {
 public:
  explicit PolicyParser(const YamlDocument& doc) : doc_(doc) {}

  Result<Policy> Run() {
    Policy policy;
    ParsePolicy(doc_.value, &policy);
    if (problems_.empty()) return policy;
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    std::string message;
    const size_t shown = std::min(problems_.size(), kMaxProblemsReported);
    for (size_t i = 0; i < shown; ++i) {
      if (i) message += '\n';
      message += problems_[i].text;
    }
    if (total_problems_ > shown) {
      message += "\n... and " + std::to_string(total_problems_ - shown) + " more problems";
    }
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
  }

 private:
  struct Problem {
    int line;
    std::string text;
  };
  using StringCheck = std::function<void(const std::string& value, const std::string& ptr)>;

  static std::string At(const std::string& ptr, std::string_view key) {
    return JsonPointerAppend(ptr, key);
  }
  static std::string At(const std::string& ptr, size_t index) {
    return JsonPointerAppend(ptr, std::to_string(index));
  }

  void Fail(const std::string& ptr, const std::string& message) {
    ++total_problems_;
    if (problems_.size() >= kMaxProblemsKept) return;
    const int line = doc_.LineOf(ptr);
    std::string text;
    if (line > 0) text = "line " + std::to_string(line) + ": ";
    text += ptr.empty() ? std::string("/") : Printable(ptr, 512);
    text += ": " + message;
    problems_.push_back({line, std::move(text)});
  }

  void WrongType(const Json& v, const std::string& ptr, std::string_view expected) {
    Fail(ptr, "must be " + std::string(expected) + ", not " + std::string(TypeName(v)));
  }

  // Checks that `v` is a mapping and reports every key not in `keys`.
  bool Object(const Json& v, const std::string& ptr, std::initializer_list<std::string_view> keys) {
    if (!v.is_object()) {
      WrongType(v, ptr, "a mapping");
      return false;
    }
    for (const auto& [key, value] : v.items()) {
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      std::string allowed;
      for (std::string_view k : keys) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      Fail(At(ptr, key), "unknown key " + Quote(key) + " (expected one of: " + allowed + ")");
    }
    return true;
  }

  // Calls fn(value, pointer) when `key` is present.
  template <typename F>
  void Field(const Json& obj, const std::string& ptr, std::string_view key, F&& fn) {
    auto it = obj.find(std::string(key));
    if (it != obj.end()) fn(*it, At(ptr, key));
  }

  bool String(const Json& v, const std::string& ptr, std::string* out, bool allow_empty = false,
              size_t max_bytes = kMaxStringBytes) {
    if (!v.is_string()) {
      WrongType(v, ptr, "a string");
      return false;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_bytes) {
      Fail(ptr, "longer than " + std::to_string(max_bytes) + " bytes");
      return false;
    }
    if (!ValidUtf8(s)) {
      Fail(ptr, "not valid UTF-8");
      return false;
    }
    if (s.empty() && !allow_empty) {
      Fail(ptr, "must not be empty");
      return false;
    }
    *out = s;
    return true;
  }

  bool Bool(const Json& v, const std::string& ptr, bool* out) {
    if (!v.is_boolean()) {
      WrongType(v, ptr, "true or false");
      return false;
    }
    *out = v.get<bool>();
    return true;
  }

  // An integer in [lo, hi] (both within int64).
  static bool IntegerIn(const Json& v, int64_t lo, int64_t hi, int64_t* out) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return false;
    }
    const int64_t n = v.get<int64_t>();
    if (n < lo || n > hi) return false;
    *out = n;
    return true;
  }

  bool Int(const Json& v, const std::string& ptr, int lo, int hi, int* out) {
    if (!v.is_number_integer()) {
      WrongType(v, ptr, "an integer");
      return false;
    }
    int64_t n = 0;
    if (!IntegerIn(v, lo, hi, &n)) {
      Fail(ptr, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return false;
    }
    *out = static_cast<int>(n);
    return true;
  }

  bool Duration(const Json& v, const std::string& ptr, int64_t* out) {
    static const std::string kExpected =
        "a duration: seconds, or number+unit groups such as \"90s\", \"1h30m\", \"2d\"";
    if (v.is_number_integer()) {
      if (!IntegerIn(v, 1, kMaxDurationSeconds, out)) {
        Fail(ptr, "duration must be more than 0 and at most 365d");
        return false;
      }
      return true;
    }
    if (!v.is_string()) {
      WrongType(v, ptr, kExpected);
      return false;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (!ParseDuration(s, out)) {
      Fail(ptr, "invalid duration " + Quote(s) +
                    " (units d, h, m, s, largest first; more than 0, at most 365d)");
      return false;
    }
    return true;
  }

  // Checks that `v` is a list of at most kMaxEntries, then calls fn(item, pointer) on each.
  template <typename F>
  bool List(const Json& v, const std::string& ptr, F&& fn) {
    if (!v.is_array()) {
      WrongType(v, ptr, "a list");
      return false;
    }
    if (v.size() > kMaxEntries) {
      Fail(ptr, "more than " + std::to_string(kMaxEntries) + " entries");
      return false;
    }
    for (size_t i = 0; i < v.size(); ++i) fn(v[i], At(ptr, i));
    return true;
  }

  // A list of non-empty strings; `check` (optional) validates each value further and
  // reports what is wrong with it. Values failing the type check are left out.
  void StringList(const Json& v, const std::string& ptr, std::vector<std::string>* out,
                  const StringCheck& check = nullptr) {
    List(v, ptr, [&](const Json& item, const std::string& item_ptr) {
      std::string s;
      if (!String(item, item_ptr, &s)) return;
      if (check) check(s, item_ptr);
      out->push_back(std::move(s));
    });
  }

  void CheckAction(const std::string& s, const std::string& ptr) {
    if (!IsValidActionPattern(s)) {
      Fail(ptr, "invalid action " + Quote(s) +
                    " (expected lower-case [a-z0-9:_.-]+, optionally ending in *, or *)");
    }
  }

  void CheckRoleRef(const std::string& s, const std::string& ptr) {
    if (!role_lines_.count(s)) Fail(ptr, "undefined role " + Quote(s));
  }

  void RoleRefs(const Json& v, const std::string& ptr, std::vector<std::string>* out) {
    StringList(v, ptr, out,
               [this](const std::string& s, const std::string& p) { CheckRoleRef(s, p); });
  }

  void AppliesToField(const Json& v, const std::string& ptr, AppliesTo* out) {
    std::string s;
    if (String(v, ptr, &s) && !ParseAppliesTo(s, out)) {
      Fail(ptr, "invalid applies_to " + Quote(s) + " (expected all, internal or outsourced)");
    }
  }

  void NameField(const Json& obj, const std::string& ptr, std::string_view what, std::string* out) {
    auto it = obj.find("name");
    if (it == obj.end()) {
      Fail(ptr, "missing \"name\"");
      return;
    }
    const std::string name_ptr = At(ptr, "name");
    if (String(*it, name_ptr, out) && !ValidName(*out)) {
      Fail(name_ptr, "invalid " + std::string(what) + " name " + Quote(*out) +
                         " (expected [a-z0-9][a-z0-9_-]{0,62})");
    }
  }

  void ParseSelector(const Json& v, const std::string& ptr, Selector* out) {
    if (!Object(v, ptr, {"platforms", "types", "tenants", "ids", "labels", "tenant_data"})) return;
    Field(v, ptr, "platforms",
          [&](const Json& f, const std::string& p) { StringList(f, p, &out->platforms); });
    Field(v, ptr, "types",
          [&](const Json& f, const std::string& p) { StringList(f, p, &out->types); });
    Field(v, ptr, "tenants",
          [&](const Json& f, const std::string& p) { StringList(f, p, &out->tenants); });
    Field(v, ptr, "ids", [&](const Json& f, const std::string& p) { StringList(f, p, &out->ids); });
    Field(v, ptr, "labels", [&](const Json& f, const std::string& p) {
      if (!f.is_object()) return WrongType(f, p, "a mapping of label names to values");
      if (f.size() > kMaxEntries)
        return Fail(p, "more than " + std::to_string(kMaxEntries) + " labels");
      for (const auto& [key, value] : f.items()) {
        const std::string label_ptr = At(p, key);
        if (key.empty() || key.size() > kMaxStringBytes || !ValidUtf8(key)) {
          Fail(label_ptr,
               "label names must be 1 to " + std::to_string(kMaxStringBytes) + " bytes of UTF-8");
          continue;
        }
        std::string s;
        if (String(value, label_ptr, &s, /*allow_empty=*/true)) out->labels[key] = std::move(s);
      }
    });
    Field(v, ptr, "tenant_data", [&](const Json& f, const std::string& p) {
      bool b = false;
      if (Bool(f, p, &b)) out->tenant_data = b;
    });
  }

  void ParsePermission(const Json& v, const std::string& ptr, Permission* out) {
    if (!Object(v, ptr, {"actions", "resources", "standing"})) return;
    auto it = v.find("actions");
    if (it == v.end()) {
      Fail(ptr, "missing \"actions\": a permission needs at least one action");
    } else if (it->is_array() && it->empty()) {
      Fail(At(ptr, "actions"), "a permission needs at least one action");
    } else {
      StringList(*it, At(ptr, "actions"), &out->actions,
                 [this](const std::string& s, const std::string& p) { CheckAction(s, p); });
    }
    Field(v, ptr, "resources",
          [&](const Json& f, const std::string& p) { ParseSelector(f, p, &out->resources); });
    Field(v, ptr, "standing",
          [&](const Json& f, const std::string& p) { Bool(f, p, &out->standing); });
  }

  void ParseRole(const Json& v, const std::string& ptr, Role* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr,
                {"name", "description", "privileged", "applies_to", "permissions", "admin"}))
      return;
    // The name was read (and checked for duplicates) by CollectRoleNames.
    Field(v, ptr, "description", [&](const Json& f, const std::string& p) {
      String(f, p, &out->description, /*allow_empty=*/true);
    });
    Field(v, ptr, "privileged",
          [&](const Json& f, const std::string& p) { Bool(f, p, &out->privileged); });
    Field(v, ptr, "applies_to",
          [&](const Json& f, const std::string& p) { AppliesToField(f, p, &out->applies_to); });
    Field(v, ptr, "permissions", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        Permission perm;
        ParsePermission(item, item_ptr, &perm);
        out->permissions.push_back(std::move(perm));
      });
    });
    Field(v, ptr, "admin", [&](const Json& f, const std::string& p) {
      StringList(f, p, &out->admin, [this](const std::string& s, const std::string& item_ptr) {
        if (!Contains(AdminPermissions(), s)) {
          Fail(item_ptr, "unknown admin permission " + Quote(s) +
                             " (expected one of: " + Join(AdminPermissions()) + ")");
        }
      });
    });
  }

  // Roles first: every other part of the policy refers to them by name, wherever it stands.
  void CollectRoles(const Json& v, const std::string& ptr, Policy* policy) {
    List(v, ptr, [&](const Json& item, const std::string& item_ptr) {
      Role role;
      if (item.is_object()) {
        NameField(item, item_ptr, "role", &role.name);
        if (!role.name.empty()) {
          auto [it, inserted] = role_lines_.emplace(role.name, doc_.LineOf(item_ptr));
          if (!inserted) {
            std::string first =
                it->second > 0 ? " (first defined on line " + std::to_string(it->second) + ")" : "";
            Fail(At(item_ptr, "name"), "duplicate role name " + Quote(role.name) + first);
          }
        }
      }
      ParseRole(item, item_ptr, &role);
      policy->roles.push_back(std::move(role));
    });
  }

  void ParseWindow(const Json& v, const std::string& ptr, TimeWindow* out) {
    if (!Object(v, ptr, {"days", "from", "to", "utc_offset"})) return;
    bool days_given = false;
    Field(v, ptr, "days", [&](const Json& f, const std::string& p) {
      days_given = true;
      if (f.is_array() && f.empty())
        return Fail(p, "a window needs at least one day (omit days for every day)");
      std::vector<std::string> names;
      StringList(f, p, &names, [&](const std::string& s, const std::string& item_ptr) {
        auto it = std::find(std::begin(kDayNames), std::end(kDayNames), s);
        if (it == std::end(kDayNames)) {
          Fail(item_ptr,
               "invalid day " + Quote(s) + " (expected mon, tue, wed, thu, fri, sat or sun)");
          return;
        }
        const int day = static_cast<int>(it - std::begin(kDayNames));
        if (std::find(out->days.begin(), out->days.end(), day) == out->days.end())
          out->days.push_back(day);
      });
      std::sort(out->days.begin(), out->days.end());
    });
    if (!days_given) out->days = {0, 1, 2, 3, 4, 5, 6};
    bool from_ok = true, to_ok = true;
    auto clock = [&](std::string_view key, int* minutes, bool* ok) {
      Field(v, ptr, key, [&](const Json& f, const std::string& p) {
        std::string s;
        *ok = String(f, p, &s);
        if (*ok && !ParseClock(s, minutes)) {
          *ok = false;
          Fail(p, "invalid time " + Quote(s) + " (expected HH:MM, 00:00 to 24:00)");
        }
      });
    };
    clock("from", &out->from_minute, &from_ok);
    clock("to", &out->to_minute, &to_ok);
    if (from_ok && to_ok && out->from_minute >= out->to_minute) {
      auto hhmm = [](int m) {
        std::string s =
            std::to_string(m / 60 + 100).substr(1) + ":" + std::to_string(m % 60 + 100).substr(1);
        return s;
      };
      Fail(v.contains("to") ? At(ptr, "to") : ptr,
           "\"from\" (" + hhmm(out->from_minute) + ") must be before \"to\" (" +
               hhmm(out->to_minute) + "); split a window that spans midnight into two");
    }
    Field(v, ptr, "utc_offset", [&](const Json& f, const std::string& p) {
      std::string s;
      if (String(f, p, &s) && !ParseUtcOffset(s, &out->utc_offset_minutes)) {
        Fail(p, "invalid utc_offset " + Quote(s) + " (expected +HH:MM or -HH:MM, at most 14:00)");
      }
    });
  }

  void ParseMatch(const Json& v, const std::string& ptr, ApprovalRule* out) {
    if (!Object(v, ptr, {"resources", "actions", "min_risk", "reasons", "applies_to"})) return;
    Field(v, ptr, "resources",
          [&](const Json& f, const std::string& p) { ParseSelector(f, p, &out->resources); });
    Field(v, ptr, "actions", [&](const Json& f, const std::string& p) {
      StringList(f, p, &out->actions, [this](const std::string& s, const std::string& item_ptr) {
        CheckAction(s, item_ptr);
      });
    });
    Field(v, ptr, "min_risk", [&](const Json& f, const std::string& p) {
      std::string s;
      if (String(f, p, &s) && !directory::ParseRisk(s, &out->min_risk)) {
        Fail(p, "invalid risk " + Quote(s) + " (expected low, medium, high or critical)");
      }
    });
    Field(v, ptr, "reasons", [&](const Json& f, const std::string& p) {
      StringList(f, p, &out->reasons, [this](const std::string& s, const std::string& item_ptr) {
        if (!Contains(ReasonCodes(), s)) {
          Fail(item_ptr, "unknown reason code " + Quote(s) +
                             " (expected one of: " + Join(ReasonCodes()) + ")");
        }
      });
    });
    Field(v, ptr, "applies_to",
          [&](const Json& f, const std::string& p) { AppliesToField(f, p, &out->applies_to); });
  }

  void ParseRequire(const Json& v, const std::string& ptr, ApprovalRule* out) {
    if (!Object(v, ptr,
                {"approvals", "approver_roles", "distinct_organisations", "tenant_approval",
                 "max_duration", "windows"})) {
      return;
    }
    bool approvals_ok = true, orgs_ok = false;
    Field(v, ptr, "approvals", [&](const Json& f, const std::string& p) {
      approvals_ok = Int(f, p, 1, kMaxApprovals, &out->approvals);
    });
    Field(v, ptr, "approver_roles",
          [&](const Json& f, const std::string& p) { RoleRefs(f, p, &out->approver_roles); });
    Field(v, ptr, "distinct_organisations", [&](const Json& f, const std::string& p) {
      orgs_ok = Int(f, p, 1, kMaxApprovals, &out->distinct_organisations);
    });
    if (approvals_ok && orgs_ok && out->distinct_organisations > out->approvals) {
      Fail(At(ptr, "distinct_organisations"),
           "distinct_organisations (" + std::to_string(out->distinct_organisations) +
               ") exceeds approvals (" + std::to_string(out->approvals) + ")");
    }
    Field(v, ptr, "tenant_approval",
          [&](const Json& f, const std::string& p) { Bool(f, p, &out->tenant_approval); });
    Field(v, ptr, "max_duration", [&](const Json& f, const std::string& p) {
      int64_t seconds = 0;
      if (Duration(f, p, &seconds)) out->max_duration_seconds = seconds;
    });
    Field(v, ptr, "windows", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        TimeWindow window;
        ParseWindow(item, item_ptr, &window);
        out->windows.push_back(std::move(window));
      });
    });
  }

  void ParseRule(const Json& v, const std::string& ptr, ApprovalRule* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr, {"name", "match", "require"})) return;
    NameField(v, ptr, "rule", &out->name);
    if (!out->name.empty()) {
      auto [it, inserted] = rule_lines_.emplace(out->name, out->line);
      if (!inserted) {
        std::string first =
            it->second > 0 ? " (first defined on line " + std::to_string(it->second) + ")" : "";
        Fail(At(ptr, "name"), "duplicate rule name " + Quote(out->name) + first);
      }
    }
    Field(v, ptr, "match", [&](const Json& f, const std::string& p) { ParseMatch(f, p, out); });
    Field(v, ptr, "require", [&](const Json& f, const std::string& p) { ParseRequire(f, p, out); });
  }

  void ParseRoleConflict(const Json& v, const std::string& ptr, RoleConflict* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr, {"roles", "reason"})) return;
    auto it = v.find("roles");
    if (it == v.end()) {
      Fail(ptr, "missing \"roles\": a role conflict names two roles");
    } else {
      const std::string roles_ptr = At(ptr, "roles");
      std::vector<std::string> roles;
      if (it->is_array() && it->size() != 2) {
        Fail(roles_ptr,
             "a role conflict names exactly two roles, not " + std::to_string(it->size()));
      } else {
        RoleRefs(*it, roles_ptr, &roles);
      }
      if (roles.size() == 2) {
        out->a = roles[0];
        out->b = roles[1];
        if (out->a == out->b)
          Fail(roles_ptr, "role " + Quote(out->a) + " cannot conflict with itself");
      }
    }
    Field(v, ptr, "reason",
          [&](const Json& f, const std::string& p) { String(f, p, &out->reason, true); });
  }

  void ParseApprovalConflict(const Json& v, const std::string& ptr, ApprovalConflict* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr, {"requester_role", "approver_role", "same_organisation", "reason"})) return;
    auto role = [&](std::string_view key, std::string* field) {
      Field(v, ptr, key, [&](const Json& f, const std::string& p) {
        if (String(f, p, field)) CheckRoleRef(*field, p);
      });
    };
    role("requester_role", &out->requester_role);
    role("approver_role", &out->approver_role);
    bool same_ok = true;
    Field(v, ptr, "same_organisation", [&](const Json& f, const std::string& p) {
      same_ok = Bool(f, p, &out->same_organisation);
    });
    Field(v, ptr, "reason",
          [&](const Json& f, const std::string& p) { String(f, p, &out->reason, true); });
    if (same_ok && !out->same_organisation && !v.contains("requester_role") &&
        !v.contains("approver_role")) {
      Fail(ptr,
           "names no requester_role, approver_role or same_organisation, so it would void every "
           "approval");
    }
  }

  void ParseSeparation(const Json& v, const std::string& ptr, Policy* policy) {
    if (!Object(v, ptr, {"role_conflicts", "approval_conflicts"})) return;
    Field(v, ptr, "role_conflicts", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        RoleConflict c;
        ParseRoleConflict(item, item_ptr, &c);
        policy->role_conflicts.push_back(std::move(c));
      });
    });
    Field(v, ptr, "approval_conflicts", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        ApprovalConflict c;
        ParseApprovalConflict(item, item_ptr, &c);
        policy->approval_conflicts.push_back(std::move(c));
      });
    });
  }

  void ParseBreakGlass(const Json& v, const std::string& ptr, BreakGlassRules* out) {
    if (!Object(v, ptr, {"roles", "max_duration", "review_within", "reviewer_roles"})) return;
    Field(v, ptr, "roles",
          [&](const Json& f, const std::string& p) { RoleRefs(f, p, &out->roles); });
    Field(v, ptr, "max_duration",
          [&](const Json& f, const std::string& p) { Duration(f, p, &out->max_duration_seconds); });
    Field(v, ptr, "review_within", [&](const Json& f, const std::string& p) {
      Duration(f, p, &out->review_within_seconds);
    });
    Field(v, ptr, "reviewer_roles",
          [&](const Json& f, const std::string& p) { RoleRefs(f, p, &out->reviewer_roles); });
  }

  void ParseGatewayMatch(const Json& v, const std::string& ptr, GatewayMatch* out) {
    if (!Object(v, ptr, {"resources", "min_risk", "roles", "logins", "modes"})) return;
    Field(v, ptr, "resources",
          [&](const Json& f, const std::string& p) { ParseSelector(f, p, &out->resources); });
    Field(v, ptr, "min_risk", [&](const Json& f, const std::string& p) {
      std::string s;
      if (String(f, p, &s) && !directory::ParseRisk(s, &out->min_risk)) {
        Fail(p, "invalid risk " + Quote(s) + " (expected low, medium, high or critical)");
      }
    });
    Field(v, ptr, "roles", [&](const Json& f, const std::string& p) { RoleRefs(f, p, &out->roles); });
    Field(v, ptr, "logins", [&](const Json& f, const std::string& p) { StringList(f, p, &out->logins); });
    Field(v, ptr, "modes", [&](const Json& f, const std::string& p) {
      StringList(f, p, &out->modes, [this](const std::string& s, const std::string& item_ptr) {
        if (s != "shell" && s != "exec") Fail(item_ptr, "invalid mode " + Quote(s) + " (expected shell or exec)");
      });
    });
  }

  void ParseCommandRule(const Json& v, const std::string& ptr, CommandRule* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr, {"name", "pattern", "action", "message", "match"})) return;
    NameField(v, ptr, "command rule", &out->name);
    auto it = v.find("pattern");
    if (it == v.end()) {
      Fail(ptr, "missing \"pattern\"");
    } else if (String(*it, At(ptr, "pattern"), &out->pattern, false, kMaxLongStringBytes)) {
      // Checked here so that a policy with a pattern the gateway cannot compile is never
      // proposed, rather than failing at the first session.
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(kMaxPatternMemory);
      RE2 re(out->pattern, options);
      if (!re.ok()) Fail(At(ptr, "pattern"), "invalid RE2 pattern: " + Printable(re.error(), 200));
    }
    auto act = v.find("action");
    if (act == v.end()) {
      Fail(ptr, "missing \"action\" (allow, deny, review or alert)");
    } else {
      std::string s;
      if (String(*act, At(ptr, "action"), &s)) {
        if (s == "allow") out->action = CommandAction::kAllow;
        else if (s == "deny") out->action = CommandAction::kDeny;
        else if (s == "review") out->action = CommandAction::kReview;
        else if (s == "alert") out->action = CommandAction::kAlert;
        else Fail(At(ptr, "action"), "invalid action " + Quote(s) + " (expected allow, deny, review or alert)");
      }
    }
    Field(v, ptr, "message",
          [&](const Json& f, const std::string& p) { String(f, p, &out->message, true, kMaxLongStringBytes); });
    Field(v, ptr, "match", [&](const Json& f, const std::string& p) { ParseGatewayMatch(f, p, &out->match); });
  }

  void ParseTransferRule(const Json& v, const std::string& ptr, TransferRule* out) {
    out->line = doc_.LineOf(ptr);
    if (!Object(v, ptr, {"name", "action", "match"})) return;
    NameField(v, ptr, "file transfer rule", &out->name);
    auto act = v.find("action");
    std::string s;
    if (act == v.end()) {
      Fail(ptr, "missing \"action\" (allow or deny)");
    } else if (String(*act, At(ptr, "action"), &s)) {
      if (s == "allow") out->allow = true;
      else if (s != "deny") Fail(At(ptr, "action"), "invalid action " + Quote(s) + " (expected allow or deny)");
    }
    Field(v, ptr, "match", [&](const Json& f, const std::string& p) { ParseGatewayMatch(f, p, &out->match); });
  }

  void ParseGateway(const Json& v, const std::string& ptr, GatewayRules* out) {
    if (!Object(v, ptr, {"commands", "file_transfers", "review_timeout"})) return;
    Field(v, ptr, "review_timeout",
          [&](const Json& f, const std::string& p) { Duration(f, p, &out->review_timeout_seconds); });
    Field(v, ptr, "commands", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        CommandRule rule;
        ParseCommandRule(item, item_ptr, &rule);
        out->commands.push_back(std::move(rule));
      });
    });
    Field(v, ptr, "file_transfers", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        TransferRule rule;
        ParseTransferRule(item, item_ptr, &rule);
        out->transfers.push_back(std::move(rule));
      });
    });
  }

  void ParsePolicy(const Json& v, Policy* policy) {
    if (!Object(v, "",
                {"request_ttl", "default_max_duration", "dormant_after", "roles", "approval_rules",
                 "separation_of_duties", "break_glass", "gateway"})) {
      return;
    }
    Field(v, "", "roles", [&](const Json& f, const std::string& p) { CollectRoles(f, p, policy); });
    Field(v, "", "request_ttl", [&](const Json& f, const std::string& p) {
      Duration(f, p, &policy->request_ttl_seconds);
    });
    Field(v, "", "default_max_duration", [&](const Json& f, const std::string& p) {
      Duration(f, p, &policy->default_max_duration_seconds);
    });
    Field(v, "", "dormant_after", [&](const Json& f, const std::string& p) {
      Duration(f, p, &policy->dormant_after_seconds);
    });
    Field(v, "", "approval_rules", [&](const Json& f, const std::string& p) {
      List(f, p, [&](const Json& item, const std::string& item_ptr) {
        ApprovalRule rule;
        ParseRule(item, item_ptr, &rule);
        policy->rules.push_back(std::move(rule));
      });
    });
    Field(v, "", "separation_of_duties",
          [&](const Json& f, const std::string& p) { ParseSeparation(f, p, policy); });
    Field(v, "", "break_glass", [&](const Json& f, const std::string& p) {
      ParseBreakGlass(f, p, &policy->break_glass);
    });
    Field(v, "", "gateway", [&](const Json& f, const std::string& p) { ParseGateway(f, p, &policy->gateway); });
  }

  const YamlDocument& doc_;
  std::unordered_map<std::string, int> role_lines_;  // defined role name → its line
  std::unordered_map<std::string, int> rule_lines_;
  std::vector<Problem> problems_;
  size_t total_problems_ = 0;
};

}  // namespace

std::string_view CommandActionName(CommandAction action) {
  switch (action) {
    case CommandAction::kAllow: return "allow";
    case CommandAction::kDeny: return "deny";
    case CommandAction::kReview: return "review";
    case CommandAction::kAlert: return "alert";
  }
  return "allow";
}

bool Selector::Matches(const directory::Resource& resource) const {
  if (!platforms.empty() && !Contains(platforms, resource.platform)) return false;
  if (!types.empty() && !Contains(types, resource.type)) return false;
  if (!tenants.empty()) {
    bool any = false;
    for (const auto& t : tenants) {
      if (t == "provider")
        any = resource.tenant.empty();
      else if (t == "*")
        any = !resource.tenant.empty();
      else
        any = !resource.tenant.empty() && resource.tenant == t;
      if (any) break;
    }
    if (!any) return false;
  }
  if (!ids.empty() && !Contains(ids, resource.id)) return false;
  for (const auto& [key, value] : labels) {
    auto it = resource.labels.find(key);
    if (it == resource.labels.end() || it->second != value) return false;
  }
  if (tenant_data.has_value() && *tenant_data != resource.tenant_data) return false;
  return true;
}

bool ActionMatches(std::string_view pattern, std::string_view action) {
  if (pattern.empty() || action.empty()) return false;
  if (pattern == "*") return true;
  if (pattern.back() == '*') {
    pattern.remove_suffix(1);
    return action.substr(0, pattern.size()) == pattern;
  }
  return pattern == action;
}

bool AnyActionMatches(const std::vector<std::string>& patterns, std::string_view action) {
  for (const auto& p : patterns) {
    if (ActionMatches(p, action)) return true;
  }
  return false;
}

bool IsValidActionPattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') pattern.remove_suffix(1);
  if (pattern.empty()) return false;
  for (char c : pattern) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool AppliesToStaff(AppliesTo applies_to, directory::StaffKind kind) {
  switch (applies_to) {
    case AppliesTo::kAll:
      return true;
    case AppliesTo::kInternal:
      return kind == directory::StaffKind::kInternal;
    case AppliesTo::kOutsourced:
      return kind == directory::StaffKind::kOutsourced;
  }
  return false;
}

std::string_view AppliesToName(AppliesTo applies_to) {
  switch (applies_to) {
    case AppliesTo::kAll:
      return "all";
    case AppliesTo::kInternal:
      return "internal";
    case AppliesTo::kOutsourced:
      return "outsourced";
  }
  return "unknown";
}

bool TimeWindow::Contains(int64_t unix_seconds) const {
  // Split first so that adding the offset cannot overflow at the ends of int64.
  int64_t day = FloorDiv(unix_seconds, 86400);
  int64_t second = FloorMod(unix_seconds, 86400) + static_cast<int64_t>(utc_offset_minutes) * 60;
  day += FloorDiv(second, 86400);
  second = FloorMod(second, 86400);
  const int weekday = static_cast<int>(FloorMod(day + 3, 7));  // 1970-01-01 was a Thursday
  const int minute = static_cast<int>(second / 60);
  if (std::find(days.begin(), days.end(), weekday) == days.end()) return false;
  return minute >= from_minute && minute < to_minute;
}

const Role* Policy::FindRole(std::string_view name) const {
  for (const auto& role : roles) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

const std::vector<std::string>& ReasonCodes() {
  static const auto* codes = new std::vector<std::string>{"customer_support", "incident_response",
                                                          "maintenance", "legal_request"};
  return *codes;
}

const std::vector<std::string>& AdminPermissions() {
  static const auto* permissions = new std::vector<std::string>{"access:request",
                                                                "access:review",
                                                                "access:revoke",
                                                                "access:breakglass",
                                                                "authz:check",
                                                                "directory:read",
                                                                "directory:write",
                                                                "policy:propose",
                                                                "policy:approve",
                                                                "posture:read",
                                                                "tenant:read",
                                                                "ledger:append",
                                                                "ledger:read_confidential",
                                                                "ledger:erase",
                                                                "tokens:create",
                                                                "sessions:read",
                                                                "sessions:control",
                                                                "targets:credentials",
                                                                "ingest:write",
                                                                "findings:read",
                                                                "assess:read",
                                                                "assess:run",
                                                                "assess:import",
                                                                "assess:attest"};
  return *permissions;
}

bool ParseDuration(std::string_view text, int64_t* seconds) {
  static constexpr struct {
    char unit;
    int64_t seconds;
  } kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  int64_t total = 0;
  size_t next_unit = 0;  // units must come largest first, each at most once
  size_t i = 0;
  if (text.empty()) return false;
  while (i < text.size()) {
    int64_t value = 0;
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxDurationSeconds) return false;
      ++i;
    }
    if (i == start || i == text.size()) return false;
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].unit != text[i]) ++u;
    if (u == std::size(kUnits)) return false;
    next_unit = u + 1;
    ++i;
    total += value * kUnits[u].seconds;
    if (total > kMaxDurationSeconds) return false;
  }
  if (total <= 0) return false;
  *seconds = total;
  return true;
}

Result<Policy> ParsePolicy(const YamlDocument& doc) { return PolicyParser(doc).Run(); }

Result<Policy> ParsePolicyYaml(std::string_view yaml) {
  ASSIGN_OR_RETURN(YamlDocument doc, ParseYaml(yaml));
  return ParsePolicy(doc);
}

}  // namespace cloudpact::access
