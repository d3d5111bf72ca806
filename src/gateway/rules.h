// The policy's gateway section, compiled: which command lines are allowed, denied, held for
// review or alerted on, and whether a session may transfer files. Compiled once per policy
// version and shared by every session (RE2 objects are thread-safe for matching).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy.h"
#include "directory/model.h"

namespace re2 {
class RE2;
}

namespace cloudpact::gateway {

// Who is doing what where: the facts a gateway rule's `match` is tested against.
struct SessionScope {
  const directory::Resource* target = nullptr;
  std::vector<std::string> roles;  // the operator's roles
  std::string login;
  std::string mode;  // "shell" or "exec"
};

struct CommandVerdict {
  access::CommandAction action = access::CommandAction::kAllow;
  std::string rule;     // the deciding rule, empty when none matched
  std::string message;  // the rule's message
};

class CommandRules {
 public:
  // Compiles every command pattern (the policy parser has already checked that they compile).
  static std::shared_ptr<const CommandRules> Compile(std::shared_ptr<const access::Policy> policy);
  ~CommandRules();
  CommandRules(const CommandRules&) = delete;
  CommandRules& operator=(const CommandRules&) = delete;

  // Each line of `command` (bash's backslash-newline continuations joined first) is tested
  // against the rules in order; the first rule matching a line decides that line, and the
  // most severe decision over all lines is the command's: deny > review > alert > allow.
  CommandVerdict Decide(const SessionScope& scope, std::string_view command) const;
  // Whether SFTP/SCP is allowed; *rule names the deciding rule (empty: no rule, denied).
  bool TransferAllowed(const SessionScope& scope, std::string* rule) const;
  int64_t review_timeout_seconds() const { return policy_->gateway.review_timeout_seconds; }
  const access::Policy& policy() const { return *policy_; }

 private:
  explicit CommandRules(std::shared_ptr<const access::Policy> policy);
  std::shared_ptr<const access::Policy> policy_;
  std::vector<std::unique_ptr<re2::RE2>> patterns_;  // parallel to policy_->gateway.commands
};

bool GatewayMatchApplies(const access::GatewayMatch& match, const SessionScope& scope);

}  // namespace cloudpact::gateway
