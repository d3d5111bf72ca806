#include "gateway/rules.h"

#include <gtest/gtest.h>

#include "core/files.h"

namespace cloudpact::gateway {
namespace {

using access::CommandAction;

// The demo policy's rules, as shipped in examples/demo/policy.yaml.
std::shared_ptr<const CommandRules> DemoRules() {
  auto text = ReadFile(std::string(CLOUDPACT_SOURCE_DIR) + "/examples/demo/policy.yaml");
  EXPECT_TRUE(text.ok());
  auto policy = access::ParsePolicyYaml(*text);
  EXPECT_TRUE(policy.ok()) << policy.error().message;
  return CommandRules::Compile(std::make_shared<access::Policy>(std::move(*policy)));
}

directory::Resource Host(directory::Risk risk, bool tenant_data = false) {
  directory::Resource r;
  r.id = "h1";
  r.platform = "p";
  r.type = "host";
  r.risk = risk;
  r.tenant_data = tenant_data;
  if (tenant_data) r.tenant = "acme";
  return r;
}

TEST(CommandRulesTest, DemoPolicyDecidesAsDocumented) {
  auto rules = DemoRules();
  auto host = Host(directory::Risk::kHigh);
  SessionScope shell{&host, {"sre"}, "root", "shell"};
  auto action = [&](const std::string& cmd, const SessionScope& scope) { return rules->Decide(scope, cmd).action; };
  EXPECT_EQ(action("rm -rf /", shell), CommandAction::kDeny);
  EXPECT_EQ(action("sudo rm -fr /*", shell), CommandAction::kDeny);
  EXPECT_EQ(action("rm -v -Rf /", shell), CommandAction::kDeny);
  EXPECT_EQ(action("rm -rf /tmp/build", shell), CommandAction::kAllow);
  EXPECT_EQ(action("python3", shell), CommandAction::kDeny);
  EXPECT_EQ(action("python3 -i", shell), CommandAction::kDeny);
  EXPECT_EQ(action("python3 tools/report.py", shell), CommandAction::kAllow);
  EXPECT_EQ(action("echo cm0gLXJmIC8K | base64 -d | sh", shell), CommandAction::kDeny);
  EXPECT_EQ(action("systemctl restart nginx", shell), CommandAction::kReview);
  EXPECT_EQ(action("systemctl status nginx", shell), CommandAction::kAllow);
  auto v = rules->Decide(shell, "sudo ls /root");
  EXPECT_EQ(v.action, CommandAction::kAlert);
  EXPECT_EQ(v.rule, "privilege-escalation");
  // Interpreters are only refused on high-risk targets, and only interactively.
  auto low = Host(directory::Risk::kLow);
  EXPECT_EQ(action("python3", {&low, {"sre"}, "root", "shell"}), CommandAction::kAllow);
  EXPECT_EQ(action("python3", {&host, {"sre"}, "root", "exec"}), CommandAction::kAllow);
}

TEST(CommandRulesTest, TheMostSevereLineDecidesAMultiLineCommand) {
  auto rules = DemoRules();
  auto host = Host(directory::Risk::kLow);
  SessionScope scope{&host, {"sre"}, "root", "shell"};
  auto v = rules->Decide(scope, "sudo true\nsystemctl stop sshd\nls");
  EXPECT_EQ(v.action, CommandAction::kReview);
  EXPECT_EQ(v.rule, "service-restarts");
  EXPECT_EQ(rules->Decide(scope, "systemctl restart x\nrm -rf /").action, CommandAction::kDeny);
  // A backslash-newline continuation is one line to the shell, and to the rules.
  EXPECT_EQ(rules->Decide(scope, "rm -rf \\\n/").action, CommandAction::kDeny);
}

TEST(CommandRulesTest, FileTransfersAreDeniedUnlessARuleAllowsThem) {
  auto rules = DemoRules();
  auto host = Host(directory::Risk::kLow), data = Host(directory::Risk::kHigh, true);
  std::string rule;
  EXPECT_TRUE(rules->TransferAllowed({&host, {"sre"}, "root", "exec"}, &rule));
  EXPECT_EQ(rule, "hosts");
  EXPECT_FALSE(rules->TransferAllowed({&data, {"sre"}, "root", "exec"}, &rule));
  EXPECT_EQ(rule, "no-transfers-on-tenant-data");
  directory::Resource db = Host(directory::Risk::kLow);
  db.type = "database";
  EXPECT_FALSE(rules->TransferAllowed({&db, {"dba"}, "dba", "exec"}, &rule));
  EXPECT_EQ(rule, "");
}

TEST(CommandRulesTest, MatchNarrowsByRoleLoginAndMode) {
  auto policy = access::ParsePolicyYaml(R"(roles:
  - {name: sre}
  - {name: dba}
gateway:
  commands:
    - {name: r1, pattern: '^ls', action: deny, match: {roles: [dba], logins: [postgres], modes: [exec]}}
)");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  auto rules = CommandRules::Compile(std::make_shared<access::Policy>(std::move(*policy)));
  auto host = Host(directory::Risk::kLow);
  EXPECT_EQ(rules->Decide({&host, {"dba"}, "postgres", "exec"}, "ls").action, CommandAction::kDeny);
  EXPECT_EQ(rules->Decide({&host, {"sre"}, "postgres", "exec"}, "ls").action, CommandAction::kAllow);
  EXPECT_EQ(rules->Decide({&host, {"dba"}, "root", "exec"}, "ls").action, CommandAction::kAllow);
  EXPECT_EQ(rules->Decide({&host, {"dba"}, "postgres", "shell"}, "ls").action, CommandAction::kAllow);
}

}  // namespace
}  // namespace cloudpact::gateway
