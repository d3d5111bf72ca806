#include "access/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cloudpact::access {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The 1-based line of the first occurrence of `needle` in `text` (0: absent), so that the
// tests state which source line an error must name without counting by hand.
int LineOf(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  if (at == std::string_view::npos) return 0;
  int line = 1;
  for (size_t i = 0; i < at; ++i) line += text[i] == '\n';
  return line;
}

// Unix seconds of a UTC civil time (Howard Hinnant's days_from_civil).
int64_t Utc(int y, int m, int d, int hh, int mm) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + hh * 3600 + mm * 60;
}

// The error of a policy that must not parse.
std::string Problems(std::string_view yaml) {
  auto policy = ParsePolicyYaml(yaml);
  if (policy.ok()) {
    ADD_FAILURE() << "policy parsed but should not have:\n" << yaml;
    return "";
  }
  EXPECT_EQ(policy.error().code, ErrorCode::kInvalidArgument);
  return policy.error().message;
}

Policy MustParse(std::string_view yaml) {
  auto policy = ParsePolicyYaml(yaml);
  if (!policy.ok()) {
    ADD_FAILURE() << policy.error().message;
    return {};
  }
  return std::move(policy).value();
}

constexpr std::string_view kFull = R"(request_ttl: 6h
default_max_duration: 4h
dormant_after: 30d
roles:
  - name: dba
    description: Database administration
    privileged: true
    applies_to: all
    permissions:
      - actions: [login:dba, "db:*"]
        resources: {platforms: [p1], types: [database], tenants: [acme, provider, "*"], ids: [db01], labels: {env: prod}, tenant_data: true}
        standing: false
      - actions: [db:read]
        standing: true
  - name: sre-lead
    admin: [access:review, policy:approve]
  - name: sre-oncall
    privileged: true
    applies_to: internal
    permissions:
      - actions: ["*"]
  - name: security-admin
    admin: [access:review]
  - name: auditor
    applies_to: internal
  - name: contractor
    applies_to: outsourced
  - name: contractor-lead
    applies_to: outsourced
    admin: [access:review]
approval_rules:
  - name: tenant-data
    match:
      resources: {tenant_data: true}
      actions: ["db:*"]
      min_risk: high
      reasons: [incident_response, customer_support]
      applies_to: outsourced
    require:
      approvals: 2
      approver_roles: [sre-lead]
      distinct_organisations: 2
      tenant_approval: true
      max_duration: 1h30m
      windows:
        - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00", utc_offset: "+08:00"}
        - {days: [sat, sat], to: "12:00"}
        - {from: "22:00", utc_offset: "-05:30"}
  - name: everything
separation_of_duties:
  role_conflicts:
    - {roles: [dba, auditor], reason: "auditors must not administer what they audit"}
  approval_conflicts:
    - {requester_role: contractor, approver_role: contractor-lead, same_organisation: true, reason: "no self-approval"}
    - {same_organisation: true}
break_glass:
  roles: [sre-oncall]
  max_duration: 2h
  review_within: 86400
  reviewer_roles: [security-admin]
)";

TEST(PolicyParse, FullExampleRoundTripsIntoTheStructs) {
  Policy p = MustParse(kFull);
  EXPECT_EQ(p.request_ttl_seconds, 6 * 3600);
  EXPECT_EQ(p.default_max_duration_seconds, 4 * 3600);
  EXPECT_EQ(p.dormant_after_seconds, 30 * 86400);

  ASSERT_EQ(p.roles.size(), 7u);
  const Role& dba = p.roles[0];
  EXPECT_EQ(dba.name, "dba");
  EXPECT_EQ(dba.description, "Database administration");
  EXPECT_TRUE(dba.privileged);
  EXPECT_EQ(dba.applies_to, AppliesTo::kAll);
  EXPECT_EQ(dba.line, LineOf(kFull, "- name: dba"));
  ASSERT_EQ(dba.permissions.size(), 2u);
  const Permission& jit = dba.permissions[0];
  EXPECT_EQ(jit.actions, (std::vector<std::string>{"login:dba", "db:*"}));
  EXPECT_FALSE(jit.standing);
  EXPECT_EQ(jit.resources.platforms, std::vector<std::string>{"p1"});
  EXPECT_EQ(jit.resources.types, std::vector<std::string>{"database"});
  EXPECT_EQ(jit.resources.tenants, (std::vector<std::string>{"acme", "provider", "*"}));
  EXPECT_EQ(jit.resources.ids, std::vector<std::string>{"db01"});
  EXPECT_EQ(jit.resources.labels, (std::map<std::string, std::string>{{"env", "prod"}}));
  EXPECT_EQ(jit.resources.tenant_data, std::optional<bool>(true));
  const Permission& standing = dba.permissions[1];
  EXPECT_TRUE(standing.standing);
  EXPECT_TRUE(standing.resources.platforms.empty());
  EXPECT_FALSE(standing.resources.tenant_data.has_value());
  EXPECT_TRUE(dba.admin.empty());

  EXPECT_EQ(p.roles[1].admin, (std::vector<std::string>{"access:review", "policy:approve"}));
  EXPECT_FALSE(p.roles[1].privileged);
  EXPECT_TRUE(p.roles[1].permissions.empty());
  EXPECT_EQ(p.roles[2].applies_to, AppliesTo::kInternal);
  EXPECT_EQ(p.roles[2].permissions[0].actions, std::vector<std::string>{"*"});
  EXPECT_EQ(p.roles[5].applies_to, AppliesTo::kOutsourced);

  ASSERT_EQ(p.rules.size(), 2u);
  const ApprovalRule& rule = p.rules[0];
  EXPECT_EQ(rule.name, "tenant-data");
  EXPECT_EQ(rule.line, LineOf(kFull, "- name: tenant-data"));
  EXPECT_EQ(rule.resources.tenant_data, std::optional<bool>(true));
  EXPECT_EQ(rule.actions, std::vector<std::string>{"db:*"});
  EXPECT_EQ(rule.min_risk, directory::Risk::kHigh);
  EXPECT_EQ(rule.reasons, (std::vector<std::string>{"incident_response", "customer_support"}));
  EXPECT_EQ(rule.applies_to, AppliesTo::kOutsourced);
  EXPECT_EQ(rule.approvals, 2);
  EXPECT_EQ(rule.approver_roles, std::vector<std::string>{"sre-lead"});
  EXPECT_EQ(rule.distinct_organisations, 2);
  EXPECT_TRUE(rule.tenant_approval);
  EXPECT_EQ(rule.max_duration_seconds, std::optional<int64_t>(5400));
  ASSERT_EQ(rule.windows.size(), 3u);
  EXPECT_EQ(rule.windows[0].days, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(rule.windows[0].from_minute, 9 * 60);
  EXPECT_EQ(rule.windows[0].to_minute, 18 * 60);
  EXPECT_EQ(rule.windows[0].utc_offset_minutes, 8 * 60);
  EXPECT_EQ(rule.windows[1].days, std::vector<int>{5});  // duplicates collapse
  EXPECT_EQ(rule.windows[1].from_minute, 0);
  EXPECT_EQ(rule.windows[1].to_minute, 12 * 60);
  EXPECT_EQ(rule.windows[1].utc_offset_minutes, 0);
  EXPECT_EQ(rule.windows[2].days, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));  // omitted: every day
  EXPECT_EQ(rule.windows[2].to_minute, 24 * 60);
  EXPECT_EQ(rule.windows[2].utc_offset_minutes, -330);

  const ApprovalRule& everything = p.rules[1];  // defaults
  EXPECT_EQ(everything.name, "everything");
  EXPECT_EQ(everything.approvals, 1);
  EXPECT_EQ(everything.distinct_organisations, 1);
  EXPECT_EQ(everything.min_risk, directory::Risk::kLow);
  EXPECT_EQ(everything.applies_to, AppliesTo::kAll);
  EXPECT_FALSE(everything.tenant_approval);
  EXPECT_FALSE(everything.max_duration_seconds.has_value());
  EXPECT_TRUE(everything.windows.empty());

  ASSERT_EQ(p.role_conflicts.size(), 1u);
  EXPECT_EQ(p.role_conflicts[0].a, "dba");
  EXPECT_EQ(p.role_conflicts[0].b, "auditor");
  EXPECT_EQ(p.role_conflicts[0].reason, "auditors must not administer what they audit");
  EXPECT_EQ(p.role_conflicts[0].line, LineOf(kFull, "- {roles: [dba, auditor]"));
  ASSERT_EQ(p.approval_conflicts.size(), 2u);
  EXPECT_EQ(p.approval_conflicts[0].requester_role, "contractor");
  EXPECT_EQ(p.approval_conflicts[0].approver_role, "contractor-lead");
  EXPECT_TRUE(p.approval_conflicts[0].same_organisation);
  EXPECT_EQ(p.approval_conflicts[0].reason, "no self-approval");
  EXPECT_TRUE(p.approval_conflicts[1].requester_role.empty());
  EXPECT_TRUE(p.approval_conflicts[1].same_organisation);

  EXPECT_EQ(p.break_glass.roles, std::vector<std::string>{"sre-oncall"});
  EXPECT_EQ(p.break_glass.max_duration_seconds, 2 * 3600);
  EXPECT_EQ(p.break_glass.review_within_seconds, 86400);
  EXPECT_EQ(p.break_glass.reviewer_roles, std::vector<std::string>{"security-admin"});

  ASSERT_NE(p.FindRole("contractor-lead"), nullptr);
  EXPECT_EQ(p.FindRole("contractor-lead")->name, "contractor-lead");
  EXPECT_EQ(p.FindRole("nobody"), nullptr);
}

TEST(PolicyParse, EmptyPolicyHasTheDefaults) {
  Policy p = MustParse("roles: []\n");
  EXPECT_TRUE(p.roles.empty());
  EXPECT_EQ(p.request_ttl_seconds, 12 * 3600);
  EXPECT_EQ(p.default_max_duration_seconds, 8 * 3600);
  EXPECT_EQ(p.dormant_after_seconds, 90 * 86400);
  EXPECT_TRUE(p.break_glass.roles.empty());
  EXPECT_EQ(p.break_glass.max_duration_seconds, 4 * 3600);
  EXPECT_EQ(p.break_glass.review_within_seconds, 24 * 3600);
  EXPECT_TRUE(MustParse("{}").roles.empty());
}

TEST(PolicyParse, JsonFromTheApiParsesTheSameWithoutLineNumbers) {
  auto good = ParsePolicy(
      FromJson(Json::parse(R"({"roles":[{"name":"ops","permissions":[{"actions":["exec"]}]}]})")));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->roles[0].line, 0);
  auto bad = ParsePolicy(
      FromJson(Json::parse(R"({"roles":[{"name":"ops","permissions":[{"actions":["Exec"]}]}]})")));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "/roles/0/permissions/0/actions/0: invalid action \"Exec\" "
            "(expected lower-case [a-z0-9:_.-]+, optionally ending in *, or *)");
  // JSON numbers that are not integers are not durations.
  auto fractional = ParsePolicy(FromJson(Json::parse(R"({"request_ttl": 1.5})")));
  ASSERT_FALSE(fractional.ok());
  EXPECT_THAT(fractional.error().message, HasSubstr("/request_ttl: must be a duration"));
}

TEST(PolicyParse, YamlErrorsPropagate) {
  auto p = ParsePolicyYaml("roles: []\nroles: []\n");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.error().message, HasSubstr("line 2"));
  EXPECT_THAT(p.error().message, HasSubstr("duplicate key \"roles\""));
}

TEST(PolicyParse, GatewayRules) {
  auto policy = ParsePolicyYaml(R"(roles:
  - {name: sre, permissions: [{actions: ["login:*"], resources: {types: [host]}}]}
gateway:
  review_timeout: 2m
  commands:
    - name: no-interpreters
      pattern: '^\s*(python3?|perl|bash)\s*$'
      action: deny
      message: "交互式解释器被禁止 / interactive interpreters are not allowed"
      match: {min_risk: high, logins: [root], modes: [shell]}
    - {name: review-restarts, pattern: 'systemctl\s+restart', action: review, match: {roles: [sre], resources: {types: [host]}}}
    - {name: watch-sudo, pattern: '\bsudo\b', action: alert}
  file_transfers:
    - {name: none-on-tenant-data, action: deny, match: {resources: {tenant_data: true}}}
    - {name: hosts, action: allow, match: {resources: {types: [host]}}}
)");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  const GatewayRules& g = policy->gateway;
  EXPECT_EQ(g.review_timeout_seconds, 120);
  ASSERT_EQ(g.commands.size(), 3u);
  EXPECT_EQ(g.commands[0].name, "no-interpreters");
  EXPECT_EQ(g.commands[0].action, CommandAction::kDeny);
  EXPECT_EQ(g.commands[0].match.min_risk, directory::Risk::kHigh);
  EXPECT_EQ(g.commands[0].match.logins, std::vector<std::string>{"root"});
  EXPECT_EQ(g.commands[0].match.modes, std::vector<std::string>{"shell"});
  EXPECT_THAT(g.commands[0].message, HasSubstr("interactive interpreters"));
  EXPECT_EQ(g.commands[1].action, CommandAction::kReview);
  EXPECT_EQ(g.commands[1].match.roles, std::vector<std::string>{"sre"});
  EXPECT_EQ(g.commands[2].action, CommandAction::kAlert);
  ASSERT_EQ(g.transfers.size(), 2u);
  EXPECT_FALSE(g.transfers[0].allow);
  EXPECT_TRUE(g.transfers[1].allow);
  EXPECT_EQ(g.transfers[1].line, 15);

  EXPECT_EQ(ParsePolicyYaml("{}")->gateway.review_timeout_seconds, 300);
}

TEST(PolicyValidate, GatewayRulesAreChecked) {
  const std::string problems = Problems(R"(gateway:
  commands:
    - {name: bad-re, pattern: 'ls (unclosed', action: deny}
    - {name: bad-action, pattern: 'x', action: block}
    - {name: no-pattern, action: deny, match: {roles: [ghost], modes: [tty]}}
  file_transfers:
    - {name: t, action: maybe}
)");
  EXPECT_THAT(problems, HasSubstr("line 3: /gateway/commands/0/pattern: invalid RE2 pattern: missing )"));
  EXPECT_THAT(problems, HasSubstr("line 4: /gateway/commands/1/action: invalid action \"block\""));
  EXPECT_THAT(problems, HasSubstr("line 5: /gateway/commands/2: missing \"pattern\""));
  EXPECT_THAT(problems, HasSubstr("line 5: /gateway/commands/2/match/roles/0: undefined role \"ghost\""));
  EXPECT_THAT(problems, HasSubstr("line 5: /gateway/commands/2/match/modes/0: invalid mode \"tty\""));
  EXPECT_THAT(problems, HasSubstr("line 7: /gateway/file_transfers/0/action: invalid action \"maybe\""));
}

TEST(PolicyValidate, TopLevelMustBeAMapping) {
  EXPECT_THAT(Problems("- a\n- b\n"), HasSubstr("line 1: /: must be a mapping, not a list"));
  EXPECT_THAT(Problems(""), HasSubstr("/: must be a mapping, not null"));
}

TEST(PolicyValidate, UnknownKeysAnywhereAreErrors) {
  EXPECT_THAT(Problems("roels: []\n"),
              HasSubstr("line 1: /roels: unknown key \"roels\" (expected one of: "));
  const std::string_view yaml = R"(roles:
  - name: ops
    privileged: true
    permissions:
      - actions: [exec]
        resources: {platform: [p1]}
        standing: false
approval_rules:
  - name: r
    require:
      windows:
        - {days: [mon], form: "09:00"}
break_glass:
  role: [ops]
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(
      m, HasSubstr("line 6: /roles/0/permissions/0/resources/platform: unknown key \"platform\""));
  EXPECT_THAT(m,
              HasSubstr("line 12: /approval_rules/0/require/windows/0/form: unknown key \"form\""));
  EXPECT_THAT(m, HasSubstr("line 14: /break_glass/role: unknown key \"role\""));
}

TEST(PolicyValidate, WrongTypes) {
  const std::string_view yaml = R"(request_ttl: true
roles:
  - name: ops
    privileged: "yes"
    permissions:
      - actions: exec
        resources: {labels: {env: [prod]}}
approval_rules:
  - name: r
    require: {approvals: "2", tenant_approval: 1}
separation_of_duties: []
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(m, HasSubstr("line 1: /request_ttl: must be a duration"));
  EXPECT_THAT(m, HasSubstr("line 4: /roles/0/privileged: must be true or false, not a string"));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/0/permissions/0/actions: must be a list, not a string"));
  EXPECT_THAT(
      m, HasSubstr(
             "line 7: /roles/0/permissions/0/resources/labels/env: must be a string, not a list"));
  EXPECT_THAT(
      m,
      HasSubstr("line 10: /approval_rules/0/require/approvals: must be an integer, not a string"));
  EXPECT_THAT(m, HasSubstr("line 10: /approval_rules/0/require/tenant_approval: must be true or "
                           "false, not an integer"));
  EXPECT_THAT(m, HasSubstr("line 11: /separation_of_duties: must be a mapping, not a list"));
  EXPECT_THAT(Problems("roles: {}\n"), HasSubstr("line 1: /roles: must be a list, not a mapping"));
  EXPECT_THAT(Problems("roles: [ops]\n"),
              HasSubstr("line 1: /roles/0: must be a mapping, not a string"));
}

TEST(PolicyValidate, RoleNamesAreRequiredWellFormedAndUnique) {
  const std::string_view yaml = R"(roles:
  - name: dba
  - name: ops
  - name: dba
  - name: DBA
  - description: nameless
  - name: -x
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(
      m, HasSubstr("line 4: /roles/2/name: duplicate role name \"dba\" (first defined on line 2)"));
  EXPECT_THAT(
      m,
      HasSubstr(
          "line 5: /roles/3/name: invalid role name \"DBA\" (expected [a-z0-9][a-z0-9_-]{0,62})"));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/4: missing \"name\""));
  EXPECT_THAT(m, HasSubstr("line 7: /roles/5/name: invalid role name \"-x\""));
  EXPECT_THAT(Problems("roles:\n  - name: " + std::string(64, 'a') + "\n"),
              HasSubstr("invalid role name"));
  EXPECT_EQ(MustParse("roles:\n  - name: " + std::string(63, 'a') + "\n").roles.size(), 1u);
}

TEST(PolicyValidate, RuleNamesAreUnique) {
  const std::string_view yaml = R"(approval_rules:
  - name: r1
  - name: r1
  - {match: {min_risk: low}}
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(
      m,
      HasSubstr(
          "line 3: /approval_rules/1/name: duplicate rule name \"r1\" (first defined on line 2)"));
  EXPECT_THAT(m, HasSubstr("line 4: /approval_rules/2: missing \"name\""));
}

TEST(PolicyValidate, ReferencesToUndefinedRoles) {
  const std::string_view yaml = R"(roles:
  - name: ops
approval_rules:
  - name: r
    require: {approver_roles: [ops, lead]}
separation_of_duties:
  role_conflicts:
    - {roles: [ops, auditor]}
  approval_conflicts:
    - {requester_role: contractor, approver_role: ops}
    - {requester_role: ops, approver_role: boss}
break_glass:
  roles: [oncall]
  reviewer_roles: [ops, secadmin]
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(
      m, HasSubstr("line 5: /approval_rules/0/require/approver_roles/1: undefined role \"lead\""));
  EXPECT_THAT(
      m, HasSubstr(
             "line 8: /separation_of_duties/role_conflicts/0/roles/1: undefined role \"auditor\""));
  EXPECT_THAT(m, HasSubstr("line 10: /separation_of_duties/approval_conflicts/0/requester_role: "
                           "undefined role \"contractor\""));
  EXPECT_THAT(m, HasSubstr("line 11: /separation_of_duties/approval_conflicts/1/approver_role: "
                           "undefined role \"boss\""));
  EXPECT_THAT(m, HasSubstr("line 13: /break_glass/roles/0: undefined role \"oncall\""));
  EXPECT_THAT(m, HasSubstr("line 14: /break_glass/reviewer_roles/1: undefined role \"secadmin\""));
  EXPECT_THAT(m, Not(HasSubstr("\"ops\"")));
}

TEST(PolicyValidate, RolesMayBeReferencedBeforeTheyAreDefined) {
  // Mapping order is not meaningful: break_glass may come before roles.
  Policy p = MustParse("break_glass: {roles: [ops]}\nroles:\n  - name: ops\n");
  EXPECT_EQ(p.break_glass.roles, std::vector<std::string>{"ops"});
}

TEST(PolicyValidate, RoleConflicts) {
  const std::string_view yaml = R"(roles:
  - name: ops
  - name: dba
separation_of_duties:
  role_conflicts:
    - {roles: [ops, ops], reason: x}
    - {roles: [ops]}
    - {roles: [ops, dba, ops]}
    - {reason: none}
    - {roles: [ops, dba]}
  approval_conflicts:
    - {reason: voids everything}
    - {requester_role: ops, same_organisation: false}
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(m, HasSubstr("line 6: /separation_of_duties/role_conflicts/0/roles: role \"ops\" "
                           "cannot conflict with itself"));
  EXPECT_THAT(m, HasSubstr("line 7: /separation_of_duties/role_conflicts/1/roles: a role conflict "
                           "names exactly two roles, not 1"));
  EXPECT_THAT(m, HasSubstr("line 8: /separation_of_duties/role_conflicts/2/roles: a role conflict "
                           "names exactly two roles, not 3"));
  EXPECT_THAT(m, HasSubstr("line 9: /separation_of_duties/role_conflicts/3: missing \"roles\""));
  EXPECT_THAT(m, Not(HasSubstr("role_conflicts/4")));
  EXPECT_THAT(m, HasSubstr("line 12: /separation_of_duties/approval_conflicts/0: names no "
                           "requester_role, approver_role or same_organisation"));
  EXPECT_THAT(m, Not(HasSubstr("approval_conflicts/1")));
}

TEST(PolicyValidate, ApprovalCounts) {
  const std::string_view yaml = R"(approval_rules:
  - name: a
    require:
      approvals: 2
      distinct_organisations: 3
  - name: b
    require: {distinct_organisations: 2}
  - name: c
    require: {approvals: 0}
  - name: d
    require: {approvals: 11, distinct_organisations: 0}
  - name: e
    require: {approvals: 10, distinct_organisations: 10}
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(m, HasSubstr("line 5: /approval_rules/0/require/distinct_organisations: "
                           "distinct_organisations (3) exceeds approvals (2)"));
  // approvals defaults to 1.
  EXPECT_THAT(m, HasSubstr("line 7: /approval_rules/1/require/distinct_organisations: "
                           "distinct_organisations (2) exceeds approvals (1)"));
  EXPECT_THAT(m,
              HasSubstr("line 9: /approval_rules/2/require/approvals: must be between 1 and 10"));
  EXPECT_THAT(m,
              HasSubstr("line 11: /approval_rules/3/require/approvals: must be between 1 and 10"));
  EXPECT_THAT(
      m,
      HasSubstr(
          "line 11: /approval_rules/3/require/distinct_organisations: must be between 1 and 10"));
  EXPECT_THAT(m, Not(HasSubstr("approval_rules/4")));
}

TEST(PolicyValidate, Windows) {
  const std::string_view yaml = R"(approval_rules:
  - name: r
    require:
      windows:
        - {days: [mon], from: "18:00", to: "09:00"}
        - {days: [fri], from: "09:00", to: "09:00"}
        - {days: [monday], from: "9:00", to: "24:01"}
        - {days: [], utc_offset: "08:00"}
        - {utc_offset: "+15:00"}
        - {from: "24:00"}
        - {days: [sun], from: "00:00", to: "24:00", utc_offset: "-12:00"}
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(m, HasSubstr("line 5: /approval_rules/0/require/windows/0/to: \"from\" (18:00) must "
                           "be before \"to\" (09:00)"));
  EXPECT_THAT(m, HasSubstr("line 6: /approval_rules/0/require/windows/1/to: \"from\" (09:00) must "
                           "be before \"to\" (09:00)"));
  EXPECT_THAT(
      m, HasSubstr("line 7: /approval_rules/0/require/windows/2/days/0: invalid day \"monday\""));
  EXPECT_THAT(m, HasSubstr("line 7: /approval_rules/0/require/windows/2/from: invalid time "
                           "\"9:00\" (expected HH:MM, 00:00 to 24:00)"));
  EXPECT_THAT(m,
              HasSubstr("line 7: /approval_rules/0/require/windows/2/to: invalid time \"24:01\""));
  EXPECT_THAT(
      m, HasSubstr(
             "line 8: /approval_rules/0/require/windows/3/days: a window needs at least one day"));
  EXPECT_THAT(
      m,
      HasSubstr(
          "line 8: /approval_rules/0/require/windows/3/utc_offset: invalid utc_offset \"08:00\""));
  EXPECT_THAT(
      m,
      HasSubstr(
          "line 9: /approval_rules/0/require/windows/4/utc_offset: invalid utc_offset \"+15:00\""));
  EXPECT_THAT(m, HasSubstr("line 10: /approval_rules/0/require/windows/5: \"from\" (24:00) must be "
                           "before \"to\" (24:00)"));
  EXPECT_THAT(m, Not(HasSubstr("windows/6")));
}

TEST(PolicyValidate, AdminPermissionsMustBeKnown) {
  const std::string_view yaml = R"(roles:
  - name: ops
    admin: [access:review, access:approve, ledger:erase]
)";
  EXPECT_THAT(Problems(yaml), HasSubstr("line 3: /roles/0/admin/1: unknown admin permission "
                                        "\"access:approve\" (expected one of: access:request,"));
  const std::vector<std::string> expected = {"access:request",
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
  EXPECT_EQ(AdminPermissions(), expected);
}

TEST(PolicyValidate, ReasonCodesRisksAndAppliesToMustBeKnown) {
  const std::string_view yaml = R"(roles:
  - name: ops
    applies_to: contractors
approval_rules:
  - name: r
    match:
      reasons: [maintenance, curiosity]
      min_risk: extreme
      applies_to: everyone
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(m, HasSubstr("line 3: /roles/0/applies_to: invalid applies_to \"contractors\" "
                           "(expected all, internal or outsourced)"));
  EXPECT_THAT(
      m, HasSubstr(
             "line 7: /approval_rules/0/match/reasons/1: unknown reason code \"curiosity\" "
             "(expected one of: customer_support, incident_response, maintenance, legal_request)"));
  EXPECT_THAT(m, HasSubstr("line 8: /approval_rules/0/match/min_risk: invalid risk \"extreme\""));
  EXPECT_THAT(
      m, HasSubstr("line 9: /approval_rules/0/match/applies_to: invalid applies_to \"everyone\""));
  EXPECT_EQ(ReasonCodes(), (std::vector<std::string>{"customer_support", "incident_response",
                                                     "maintenance", "legal_request"}));
}

TEST(PolicyValidate, PermissionsNeedActions) {
  const std::string_view yaml = R"(roles:
  - name: ops
    permissions:
      - actions: []
      - resources: {types: [host]}
      - actions: [Login, "login:*", "*", "a**", "db*", "", "x y"]
approval_rules:
  - name: r
    match: {actions: ["EXEC"]}
)";
  const std::string m = Problems(yaml);
  EXPECT_THAT(
      m,
      HasSubstr("line 4: /roles/0/permissions/0/actions: a permission needs at least one action"));
  EXPECT_THAT(m, HasSubstr("line 5: /roles/0/permissions/1: missing \"actions\""));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/0/permissions/2/actions/0: invalid action \"Login\""));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/0/permissions/2/actions/3: invalid action \"a**\""));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/0/permissions/2/actions/5: must not be empty"));
  EXPECT_THAT(m, HasSubstr("line 6: /roles/0/permissions/2/actions/6: invalid action \"x y\""));
  EXPECT_THAT(m, Not(HasSubstr("actions/1:")));
  EXPECT_THAT(m, Not(HasSubstr("actions/2:")));
  EXPECT_THAT(m, Not(HasSubstr("actions/4:")));
  EXPECT_THAT(m, HasSubstr("line 9: /approval_rules/0/match/actions/0: invalid action \"EXEC\""));
  // A role without permissions is fine (e.g. one that only confers admin permissions).
  EXPECT_TRUE(
      MustParse("roles:\n  - name: ops\n    permissions: []\n").roles[0].permissions.empty());
}

TEST(PolicyValidate, EveryProblemIsReportedInLineOrder) {
  const std::string_view yaml = R"(roles:
  - name: Ops
    privileged: maybe
break_glass:
  roles: [nobody]
request_ttl: 0
)";
  const std::string m = Problems(yaml);
  EXPECT_EQ(m,
            "line 2: /roles/0/name: invalid role name \"Ops\" (expected [a-z0-9][a-z0-9_-]{0,62})\n"
            "line 3: /roles/0/privileged: must be true or false, not a string\n"
            "line 5: /break_glass/roles/0: undefined role \"nobody\"\n"
            "line 6: /request_ttl: duration must be more than 0 and at most 365d");
}

TEST(PolicyValidate, Bounds) {
  std::string many = "roles:\n";
  for (int i = 0; i <= 10'000; ++i) many += "  - name: r" + std::to_string(i) + "\n";
  EXPECT_THAT(Problems(many), HasSubstr("line 2: /roles: more than 10000 entries"));

  std::string at_limit = "roles:\n";
  for (int i = 0; i < 10'000; ++i) at_limit += "  - name: r" + std::to_string(i) + "\n";
  EXPECT_EQ(MustParse(at_limit).roles.size(), 10'000u);

  const std::string long_desc =
      "roles:\n  - name: ops\n    description: " + std::string(257, 'x') + "\n";
  EXPECT_THAT(Problems(long_desc),
              HasSubstr("line 3: /roles/0/description: longer than 256 bytes"));
  const std::string max_desc =
      "roles:\n  - name: ops\n    description: " + std::string(256, 'x') + "\n";
  EXPECT_EQ(MustParse(max_desc).roles[0].description.size(), 256u);
  const std::string long_label =
      "roles:\n  - name: ops\n    permissions:\n      - actions: [x]\n        resources: {labels: "
      "{" +
      std::string(257, 'k') + ": v}}\n";
  EXPECT_THAT(Problems(long_label), HasSubstr("line 5: "));
}

TEST(PolicyValidate, TheErrorMessageIsBoundedAndPrintable) {
  std::string many = "roles:\n";
  for (int i = 0; i < 500; ++i) many += "  - name: BAD" + std::to_string(i) + "\n";
  const std::string m = Problems(many);
  EXPECT_THAT(m, HasSubstr("line 2: /roles/0/name: invalid role name \"BAD0\""));
  EXPECT_THAT(m, HasSubstr("\n... and 400 more problems"));
  EXPECT_THAT(m, Not(HasSubstr("BAD100\"")));

  // Control characters never reach the message raw; invalid UTF-8 is refused before parsing.
  const std::string bad = Problems("roles:\n  - name: \"a\\x01\\u00e9\"\n");
  EXPECT_THAT(bad, HasSubstr("invalid role name \"a\\x01\xc3\xa9\""));
  EXPECT_THAT(Problems("roles:\n  - name: a\n    x\xff: 1\n"), HasSubstr("not valid UTF-8"));
}

TEST(Durations, ParseDuration) {
  int64_t s = 0;
  EXPECT_TRUE(ParseDuration("90s", &s));
  EXPECT_EQ(s, 90);
  EXPECT_TRUE(ParseDuration("1h30m", &s));
  EXPECT_EQ(s, 5400);
  EXPECT_TRUE(ParseDuration("2d", &s));
  EXPECT_EQ(s, 172800);
  EXPECT_TRUE(ParseDuration("1d2h3m4s", &s));
  EXPECT_EQ(s, 86400 + 7200 + 180 + 4);
  EXPECT_TRUE(ParseDuration("0h1s", &s));
  EXPECT_EQ(s, 1);
  EXPECT_TRUE(ParseDuration("365d", &s));
  EXPECT_EQ(s, 365 * 86400);
  EXPECT_TRUE(ParseDuration("8760h", &s));
  EXPECT_EQ(s, 365 * 86400);

  s = -1;
  for (std::string_view bad :
       {"", "0s", "0d0h", "365d1s", "366d", "8761h", "90", "h", "1h30", "1x", "30m1h", "1h1h",
        "-1h", "+1h", "1.5h", "1 h", " 1h", "1H", "99999999999999999999s"}) {
    EXPECT_FALSE(ParseDuration(bad, &s)) << bad;
  }
  EXPECT_EQ(s, -1);  // untouched on failure
}

TEST(Durations, InPolicies) {
  Policy p = MustParse("request_ttl: 3600\ndefault_max_duration: 45m\ndormant_after: 31536000\n");
  EXPECT_EQ(p.request_ttl_seconds, 3600);
  EXPECT_EQ(p.default_max_duration_seconds, 2700);
  EXPECT_EQ(p.dormant_after_seconds, 365 * 86400);
  const std::string m = Problems(
      "request_ttl: 0\ndefault_max_duration: -5\ndormant_after: 31536001\nbreak_glass: "
      "{max_duration: \"3600\", review_within: 1w}\n");
  EXPECT_THAT(m, HasSubstr("line 1: /request_ttl: duration must be more than 0 and at most 365d"));
  EXPECT_THAT(m, HasSubstr("line 2: /default_max_duration: duration must be more than 0"));
  EXPECT_THAT(m, HasSubstr("line 3: /dormant_after: duration must be more than 0"));
  EXPECT_THAT(m, HasSubstr("line 4: /break_glass/max_duration: invalid duration \"3600\""));
  EXPECT_THAT(m, HasSubstr("line 4: /break_glass/review_within: invalid duration \"1w\""));
}

directory::Resource MakeResource() {
  directory::Resource r;
  r.id = "db01";
  r.platform = "p1";
  r.type = "database";
  r.labels = {{"env", "prod"}, {"team", "core"}};
  r.tenant = "acme";
  r.tenant_data = true;
  return r;
}

TEST(Selector, EmptyMatchesAnything) {
  Selector any;
  EXPECT_TRUE(any.Matches(MakeResource()));
  EXPECT_TRUE(any.Matches(directory::Resource{}));
}

TEST(Selector, EachFieldMustMatch) {
  const directory::Resource r = MakeResource();
  Selector s;
  s.platforms = {"p0", "p1"};
  EXPECT_TRUE(s.Matches(r));
  s.platforms = {"p2"};
  EXPECT_FALSE(s.Matches(r));

  s = {};
  s.types = {"database"};
  EXPECT_TRUE(s.Matches(r));
  s.types = {"host", "bucket"};
  EXPECT_FALSE(s.Matches(r));

  s = {};
  s.ids = {"db01"};
  EXPECT_TRUE(s.Matches(r));
  s.ids = {"db0"};
  EXPECT_FALSE(s.Matches(r));

  s = {};
  s.labels = {{"env", "prod"}};
  EXPECT_TRUE(s.Matches(r));
  s.labels = {{"env", "prod"}, {"team", "core"}};
  EXPECT_TRUE(s.Matches(r));
  s.labels = {{"env", "prod"}, {"team", "edge"}};  // every label must match
  EXPECT_FALSE(s.Matches(r));
  s.labels = {{"zone", "a"}};  // and be present
  EXPECT_FALSE(s.Matches(r));

  s = {};
  s.tenant_data = true;
  EXPECT_TRUE(s.Matches(r));
  s.tenant_data = false;
  EXPECT_FALSE(s.Matches(r));
  directory::Resource no_data = r;
  no_data.tenant_data = false;
  EXPECT_TRUE(s.Matches(no_data));

  s = {};  // all fields together
  s.platforms = {"p1"};
  s.types = {"database"};
  s.tenants = {"acme"};
  s.ids = {"db01"};
  s.labels = {{"env", "prod"}};
  s.tenant_data = true;
  EXPECT_TRUE(s.Matches(r));
  directory::Resource other_platform = r;
  other_platform.platform = "p2";
  EXPECT_FALSE(s.Matches(other_platform));
}

TEST(Selector, Tenants) {
  directory::Resource acme = MakeResource();
  directory::Resource globex = MakeResource();
  globex.tenant = "globex";
  directory::Resource own = MakeResource();
  own.tenant = "";  // the provider's own

  Selector s;
  s.tenants = {"provider"};
  EXPECT_FALSE(s.Matches(acme));
  EXPECT_TRUE(s.Matches(own));

  s.tenants = {"*"};  // any tenant-owned resource, not the provider's
  EXPECT_TRUE(s.Matches(acme));
  EXPECT_TRUE(s.Matches(globex));
  EXPECT_FALSE(s.Matches(own));

  s.tenants = {"acme"};
  EXPECT_TRUE(s.Matches(acme));
  EXPECT_FALSE(s.Matches(globex));
  EXPECT_FALSE(s.Matches(own));

  s.tenants = {"acme", "provider"};
  EXPECT_TRUE(s.Matches(acme));
  EXPECT_FALSE(s.Matches(globex));
  EXPECT_TRUE(s.Matches(own));

  s.tenants = {""};  // never written by the parser; must not select the provider's own
  EXPECT_FALSE(s.Matches(own));
}

TEST(Actions, Matching) {
  EXPECT_TRUE(ActionMatches("login:root", "login:root"));
  EXPECT_FALSE(ActionMatches("login:root", "login:rootx"));
  EXPECT_FALSE(ActionMatches("login:r", "login:root"));  // no partial match without *
  EXPECT_FALSE(ActionMatches("login:root", "login:r"));
  EXPECT_TRUE(ActionMatches("login:*", "login:root"));
  EXPECT_TRUE(ActionMatches("login:*", "login:"));
  EXPECT_FALSE(ActionMatches("login:*", "login"));
  EXPECT_FALSE(ActionMatches("login:*", "db:read"));
  EXPECT_TRUE(ActionMatches("db*", "db:read"));
  EXPECT_TRUE(ActionMatches("*", "exec"));
  EXPECT_TRUE(ActionMatches("*", "login:root"));
  EXPECT_FALSE(ActionMatches("*", ""));
  EXPECT_FALSE(ActionMatches("", ""));
  EXPECT_FALSE(ActionMatches("exec", "EXEC"));

  EXPECT_TRUE(AnyActionMatches({"db:read", "login:*"}, "login:dba"));
  EXPECT_FALSE(AnyActionMatches({"db:read", "login:*"}, "db:write"));
  EXPECT_FALSE(AnyActionMatches({}, "db:write"));

  EXPECT_TRUE(IsValidActionPattern("*"));
  EXPECT_TRUE(IsValidActionPattern("login:*"));
  EXPECT_TRUE(IsValidActionPattern("a.b_c-d:0"));
  EXPECT_FALSE(IsValidActionPattern(""));
  EXPECT_FALSE(IsValidActionPattern("**"));
  EXPECT_FALSE(IsValidActionPattern("*x"));
  EXPECT_FALSE(IsValidActionPattern("a*b"));
  EXPECT_FALSE(IsValidActionPattern("Login"));
}

TEST(AppliesTo, StaffKinds) {
  using directory::StaffKind;
  EXPECT_TRUE(AppliesToStaff(AppliesTo::kAll, StaffKind::kInternal));
  EXPECT_TRUE(AppliesToStaff(AppliesTo::kAll, StaffKind::kOutsourced));
  EXPECT_TRUE(AppliesToStaff(AppliesTo::kInternal, StaffKind::kInternal));
  EXPECT_FALSE(AppliesToStaff(AppliesTo::kInternal, StaffKind::kOutsourced));
  EXPECT_FALSE(AppliesToStaff(AppliesTo::kOutsourced, StaffKind::kInternal));
  EXPECT_TRUE(AppliesToStaff(AppliesTo::kOutsourced, StaffKind::kOutsourced));
  EXPECT_EQ(AppliesToName(AppliesTo::kAll), "all");
  EXPECT_EQ(AppliesToName(AppliesTo::kInternal), "internal");
  EXPECT_EQ(AppliesToName(AppliesTo::kOutsourced), "outsourced");
}

TEST(Risk, NamesRoundTrip) {
  using directory::Risk;
  for (Risk r : {Risk::kLow, Risk::kMedium, Risk::kHigh, Risk::kCritical}) {
    Risk parsed = Risk::kLow;
    ASSERT_TRUE(directory::ParseRisk(directory::RiskName(r), &parsed));
    EXPECT_EQ(parsed, r);
  }
  EXPECT_EQ(directory::RiskName(Risk::kCritical), "critical");
  Risk out = Risk::kHigh;
  EXPECT_FALSE(directory::ParseRisk("High", &out));
  EXPECT_FALSE(directory::ParseRisk("", &out));
  EXPECT_EQ(out, Risk::kHigh);
}

TEST(TimeWindow, Contains) {
  // 2024-01-05 is a Friday. Office hours in UTC+8.
  TimeWindow office;
  office.days = {0, 1, 2, 3, 4};
  office.from_minute = 9 * 60;
  office.to_minute = 18 * 60;
  office.utc_offset_minutes = 8 * 60;
  EXPECT_TRUE(office.Contains(Utc(2024, 1, 5, 1, 0)));    // Fri 09:00 local: from is inclusive
  EXPECT_TRUE(office.Contains(Utc(2024, 1, 5, 9, 59)));   // Fri 17:59 local
  EXPECT_FALSE(office.Contains(Utc(2024, 1, 5, 10, 0)));  // Fri 18:00 local: to is exclusive
  EXPECT_FALSE(office.Contains(Utc(2024, 1, 5, 0, 59)));  // Fri 08:59 local
  // Sunday 17:00 UTC is Monday 01:00 in UTC+8: a weekday, but outside the hours.
  EXPECT_FALSE(office.Contains(Utc(2024, 1, 7, 17, 0)));
  // Monday 01:00 UTC is Monday 09:00 in UTC+8.
  EXPECT_TRUE(office.Contains(Utc(2024, 1, 8, 1, 0)));
  // Saturday 05:00 local (Friday 21:00 UTC): the weekend, whatever the UTC day.
  office.from_minute = 0;
  office.to_minute = 24 * 60;
  EXPECT_FALSE(office.Contains(Utc(2024, 1, 5, 21, 0)));
  EXPECT_TRUE(office.Contains(Utc(2024, 1, 5, 15, 59)));  // Friday 23:59 local

  // Friday 23:30 at +08:00 is Friday 15:30 UTC.
  TimeWindow late_friday;
  late_friday.days = {4};
  late_friday.from_minute = 23 * 60;
  late_friday.to_minute = 24 * 60;
  late_friday.utc_offset_minutes = 8 * 60;
  EXPECT_TRUE(late_friday.Contains(Utc(2024, 1, 5, 15, 30)));
  EXPECT_FALSE(late_friday.Contains(Utc(2024, 1, 5, 16, 0)));  // Saturday 00:00 local
  EXPECT_FALSE(
      late_friday.Contains(Utc(2024, 1, 5, 23, 30)));  // Friday 23:30 UTC is Saturday there
  late_friday.utc_offset_minutes = 0;
  EXPECT_TRUE(late_friday.Contains(Utc(2024, 1, 5, 23, 30)));
  EXPECT_FALSE(late_friday.Contains(Utc(2024, 1, 5, 15, 30)));

  // Negative offsets move the other way: Monday 02:00 UTC is Sunday 21:00 at -05:00.
  TimeWindow sunday_evening;
  sunday_evening.days = {6};
  sunday_evening.from_minute = 20 * 60;
  sunday_evening.to_minute = 22 * 60;
  sunday_evening.utc_offset_minutes = -5 * 60;
  EXPECT_TRUE(sunday_evening.Contains(Utc(2024, 1, 8, 2, 0)));
  EXPECT_FALSE(sunday_evening.Contains(Utc(2024, 1, 7, 21, 0)));  // 16:00 there
  // Half-hour offsets: India, +05:30. Monday 03:30 UTC is Monday 09:00 there.
  TimeWindow india = office;
  india.from_minute = 9 * 60;
  india.to_minute = 10 * 60;
  india.utc_offset_minutes = 330;
  EXPECT_TRUE(india.Contains(Utc(2024, 1, 8, 3, 30)));
  EXPECT_FALSE(india.Contains(Utc(2024, 1, 8, 3, 29)));

  // Before 1970: 1969-12-31 was a Wednesday.
  TimeWindow wednesday;
  wednesday.days = {2};
  EXPECT_TRUE(wednesday.Contains(-3600));
  EXPECT_TRUE(wednesday.Contains(Utc(1969, 12, 31, 0, 0)));
  EXPECT_FALSE(wednesday.Contains(0));  // Thursday
  // The ends of int64 do not overflow.
  TimeWindow every_day;
  every_day.days = {0, 1, 2, 3, 4, 5, 6};
  every_day.utc_offset_minutes = 14 * 60;
  EXPECT_TRUE(every_day.Contains(std::numeric_limits<int64_t>::max()));
  every_day.utc_offset_minutes = -14 * 60;
  EXPECT_TRUE(every_day.Contains(std::numeric_limits<int64_t>::min()));

  // No days: never.
  TimeWindow none;
  EXPECT_FALSE(none.Contains(Utc(2024, 1, 5, 12, 0)));
}

TEST(TimeWindow, ParsedWindowsUseTheirOffset) {
  Policy p = MustParse(R"(approval_rules:
  - name: r
    require:
      windows:
        - {days: [fri], from: "23:00", to: "24:00", utc_offset: "+08:00"}
)");
  ASSERT_EQ(p.rules.size(), 1u);
  const TimeWindow& w = p.rules[0].windows.at(0);
  EXPECT_TRUE(w.Contains(Utc(2024, 1, 5, 15, 30)));  // Friday 23:30 in UTC+8
  EXPECT_FALSE(w.Contains(Utc(2024, 1, 5, 23, 30)));
}

}  // namespace
}  // namespace cloudpact::access
