// Access policies written by people: any bytes either fail with a bounded, printable
// message or yield a policy that keeps every promise the validator makes, and the same
// value as JSON (from the REST API) is judged the same way.

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "access/policy.h"
#include "core/json.h"
#include "core/yaml.h"

namespace {

using cloudpact::access::Policy;

void Check(bool ok) {
  if (!ok) std::abort();
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) return false;
  }
  return true;
}

bool Duration(int64_t s) { return s > 0 && s <= 365LL * 86400; }

void CheckRoleRef(const Policy& p, const std::string& name, bool allow_empty) {
  Check((allow_empty && name.empty()) || p.FindRole(name) != nullptr);
}

void CheckPolicy(const Policy& p, uint64_t seed) {
  Check(Duration(p.request_ttl_seconds) && Duration(p.default_max_duration_seconds) &&
        Duration(p.dormant_after_seconds));
  Check(p.roles.size() <= 10'000 && p.rules.size() <= 10'000);
  cloudpact::directory::Resource resource;
  resource.tenant = seed & 1 ? "acme" : "";
  resource.tenant_data = seed & 2;
  for (const auto& role : p.roles) {
    Check(ValidName(role.name) && p.FindRole(role.name) != nullptr);
    Check(role.description.size() <= 256);
    for (const auto& perm : role.permissions) {
      Check(!perm.actions.empty());
      for (const auto& a : perm.actions) {
        Check(cloudpact::access::IsValidActionPattern(a));
        Check(cloudpact::access::ActionMatches(
            a, a.back() == '*' ? a.substr(0, a.size() - 1) + "x" : a));
      }
      (void)perm.resources.Matches(resource);
    }
    for (const auto& a : role.admin) {
      bool known = false;
      for (const auto& k : cloudpact::access::AdminPermissions()) known |= k == a;
      Check(known);
    }
  }
  for (const auto& rule : p.rules) {
    Check(ValidName(rule.name));
    Check(rule.approvals >= 1 && rule.approvals <= 10);
    Check(rule.distinct_organisations >= 1 && rule.distinct_organisations <= rule.approvals);
    for (const auto& r : rule.approver_roles) CheckRoleRef(p, r, false);
    for (const auto& a : rule.actions) Check(cloudpact::access::IsValidActionPattern(a));
    if (rule.max_duration_seconds) Check(Duration(*rule.max_duration_seconds));
    for (const auto& w : rule.windows) {
      Check(!w.days.empty() && w.days.size() <= 7);
      for (int d : w.days) Check(d >= 0 && d <= 6);
      Check(w.from_minute >= 0 && w.from_minute < w.to_minute && w.to_minute <= 24 * 60);
      Check(w.utc_offset_minutes >= -14 * 60 && w.utc_offset_minutes <= 14 * 60);
      (void)w.Contains(static_cast<int64_t>(seed));
      (void)w.Contains(-static_cast<int64_t>(seed >> 1));
    }
    (void)rule.resources.Matches(resource);
  }
  for (const auto& c : p.role_conflicts) {
    CheckRoleRef(p, c.a, false);
    CheckRoleRef(p, c.b, false);
    Check(c.a != c.b);
  }
  for (const auto& c : p.approval_conflicts) {
    CheckRoleRef(p, c.requester_role, true);
    CheckRoleRef(p, c.approver_role, true);
    Check(c.same_organisation || !c.requester_role.empty() || !c.approver_role.empty());
  }
  for (const auto& r : p.break_glass.roles) CheckRoleRef(p, r, false);
  for (const auto& r : p.break_glass.reviewer_roles) CheckRoleRef(p, r, false);
  Check(Duration(p.break_glass.max_duration_seconds) &&
        Duration(p.break_glass.review_within_seconds));
}

// Error messages reach HTTP responses and the ledger as JSON strings: they must be valid
// UTF-8 (dump throws otherwise) and bounded.
void CheckMessage(const std::string& message) {
  Check(!message.empty());
  size_t lines = 1;
  for (char c : message) lines += c == '\n';
  Check(lines <= 101);
  try {
    (void)cloudpact::Json(message).dump();
  } catch (const cloudpact::Json::exception&) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (size > (1 << 16)) return 0;
  cloudpact::YamlLimits limits;
  limits.max_bytes = 1 << 16;
  limits.max_nodes = 50'000;
  auto doc = cloudpact::ParseYaml(in, limits);
  if (!doc.ok()) return 0;
  auto policy = cloudpact::access::ParsePolicy(*doc);
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 0x100000001b3ULL;
  if (policy.ok()) {
    CheckPolicy(*policy, seed);
  } else {
    Check(policy.error().code == cloudpact::ErrorCode::kInvalidArgument);
    CheckMessage(policy.error().message);
  }
  // Source lines decide nothing but the messages.
  auto from_json = cloudpact::access::ParsePolicy(cloudpact::FromJson(doc->value));
  Check(from_json.ok() == policy.ok());
  if (!from_json.ok()) CheckMessage(from_json.error().message);
  return 0;
}
