// Access policy as data: roles, approval rules, separation-of-duty constraints and the
// break-glass rules, written in YAML (or the same shape in JSON through the API) and
// validated with line-numbered errors before it can be proposed. See docs/ACCESS.md for
// the file format.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/yaml.h"
#include "directory/model.h"

namespace cloudpact::access {

// Which resources a permission or rule covers. Every non-empty field must match; an empty
// field matches anything. `tenants` holds tenant ids, or "provider" for the provider's own
// resources, or "*" for any tenant-owned resource.
struct Selector {
  std::vector<std::string> platforms;
  std::vector<std::string> types;
  std::vector<std::string> tenants;
  std::vector<std::string> ids;                 // exact resource ids
  std::map<std::string, std::string> labels;    // all must be present with these values
  std::optional<bool> tenant_data;
  bool Matches(const directory::Resource& resource) const;
};

// Action patterns: an exact action ("login:root", "exec", "db:read"), a prefix wildcard
// ("login:*"), or "*". Actions are lower-case [a-z0-9:_.-]+.
bool ActionMatches(std::string_view pattern, std::string_view action);
bool AnyActionMatches(const std::vector<std::string>& patterns, std::string_view action);
// Whether `pattern` is a well-formed action pattern as above: [a-z0-9:_.-]+ optionally
// followed by one '*', or exactly "*".
bool IsValidActionPattern(std::string_view pattern);

// Whom a role or rule applies to. kAll unless the policy names a difference explicitly;
// every other value is listed by the posture report as an internal/outsourced difference.
enum class AppliesTo { kAll, kInternal, kOutsourced };
bool AppliesToStaff(AppliesTo applies_to, directory::StaffKind kind);
std::string_view AppliesToName(AppliesTo applies_to);

struct Permission {
  std::vector<std::string> actions;
  Selector resources;
  // true: held at all times (standing privilege). false: only through an approved
  // just-in-time request.
  bool standing = false;
};

struct Role {
  std::string name;
  std::string description;
  bool privileged = false;  // counted by the posture report; needs MFA
  AppliesTo applies_to = AppliesTo::kAll;
  std::vector<Permission> permissions;
  // cloudpact's own permissions the role confers, e.g. "access:review", "policy:approve",
  // "directory:write" (see api/auth.h).
  std::vector<std::string> admin;
  int line = 0;
};

// A weekly window, in a fixed UTC offset: days 0 = Monday … 6 = Sunday; minutes since
// midnight, from inclusive, to exclusive (to > from). The parser fills all seven days when
// the policy names none; an empty `days` contains no instant.
struct TimeWindow {
  std::vector<int> days;
  int from_minute = 0;
  int to_minute = 24 * 60;
  int utc_offset_minutes = 0;
  bool Contains(int64_t unix_seconds) const;
};

// What a request needs before a grant exists. Every rule that matches a request applies.
struct ApprovalRule {
  std::string name;
  // Matching: the rule applies when some resource in the scope matches `resources`, and
  // (if given) some action matches `actions`, the scope's highest risk is at least
  // `min_risk`, the reason is in `reasons`, and the requester is covered by `applies_to`.
  Selector resources;
  std::vector<std::string> actions;
  directory::Risk min_risk = directory::Risk::kLow;
  std::vector<std::string> reasons;
  AppliesTo applies_to = AppliesTo::kAll;
  // Requirements.
  int approvals = 1;                        // k distinct approvers (never the requester)
  std::vector<std::string> approver_roles;  // empty: anyone whose roles grant access:review
  int distinct_organisations = 1;           // approvers from at least this many organisations
  bool tenant_approval = false;             // implied anyway when the scope holds tenant data
  std::optional<int64_t> max_duration_seconds;
  std::vector<TimeWindow> windows;          // the grant is usable only inside (empty: always)
  int line = 0;
};

// Two roles no one may hold together.
struct RoleConflict {
  std::string a, b;
  std::string reason;
  int line = 0;
};

// An approval that does not count: an approver holding `approver_role` reviewing a request
// of someone holding `requester_role` (either may be empty = any), or (same_organisation)
// an approver from the requester's own organisation.
struct ApprovalConflict {
  std::string requester_role;
  std::string approver_role;
  bool same_organisation = false;
  std::string reason;
  int line = 0;
};

struct BreakGlassRules {
  std::vector<std::string> roles;            // who may break glass (empty: nobody)
  int64_t max_duration_seconds = 4 * 3600;
  int64_t review_within_seconds = 24 * 3600; // after-the-fact review deadline
  std::vector<std::string> reviewer_roles;   // empty: anyone whose roles grant access:review
};

// What the SSH gateway does with a command line (docs/GATEWAY.md).
enum class CommandAction { kAllow, kDeny, kReview, kAlert };
std::string_view CommandActionName(CommandAction action);

// Which sessions a gateway rule covers. Every non-empty field must match.
struct GatewayMatch {
  Selector resources;                        // the target
  directory::Risk min_risk = directory::Risk::kLow;
  std::vector<std::string> roles;            // the operator holds one of these
  std::vector<std::string> logins;           // the login on the target
  std::vector<std::string> modes;            // "shell" (interactive) or "exec"; empty: both
};

// A command rule: an RE2 pattern searched for in each line of a command (unanchored; use ^
// and $ to anchor). The first rule whose pattern and match apply decides.
struct CommandRule {
  std::string name;
  std::string pattern;
  CommandAction action = CommandAction::kAllow;
  std::string message;  // shown to the operator and ledgered
  GatewayMatch match;
  int line = 0;
};

// Whether SFTP/SCP is allowed for a session; the first matching rule decides, and with no
// matching rule file transfer is denied.
struct TransferRule {
  std::string name;
  bool allow = false;
  GatewayMatch match;
  int line = 0;
};

struct GatewayRules {
  std::vector<CommandRule> commands;    // no matching rule: allow
  std::vector<TransferRule> transfers;  // no matching rule: deny
  int64_t review_timeout_seconds = 300; // a held command is dropped after this
};

struct Policy {
  std::vector<Role> roles;
  std::vector<ApprovalRule> rules;
  std::vector<RoleConflict> role_conflicts;
  std::vector<ApprovalConflict> approval_conflicts;
  BreakGlassRules break_glass;
  GatewayRules gateway;
  int64_t request_ttl_seconds = 12 * 3600;          // undecided requests expire
  int64_t default_max_duration_seconds = 8 * 3600;  // cap when no rule says otherwise
  int64_t dormant_after_seconds = 90 * 24 * 3600;   // posture: unused privileged accounts

  const Role* FindRole(std::string_view name) const;
};

// The valid reason codes of an access request.
const std::vector<std::string>& ReasonCodes();  // customer_support, incident_response, maintenance, legal_request

// cloudpact's own permissions a role may confer through `admin`.
const std::vector<std::string>& AdminPermissions();

// A policy duration: number+unit groups with units d, h, m, s, each unit at most once and
// largest first ("90s", "1h30m", "2d"). Sets *seconds and returns true when the text is
// well formed and the value is in (0, 365d].
bool ParseDuration(std::string_view text, int64_t* seconds);

// Parses and validates a policy. On failure the error (kInvalidArgument) lists every
// problem found, one per line, each starting "line N: " when the source has lines.
Result<Policy> ParsePolicy(const YamlDocument& doc);
Result<Policy> ParsePolicyYaml(std::string_view yaml);

}  // namespace cloudpact::access
