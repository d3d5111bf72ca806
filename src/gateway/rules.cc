#include "gateway/rules.h"

#include <algorithm>

#include <re2/re2.h>

namespace cloudpact::gateway {
namespace {

int Severity(access::CommandAction a) {
  switch (a) {
    case access::CommandAction::kAllow: return 0;
    case access::CommandAction::kAlert: return 1;
    case access::CommandAction::kReview: return 2;
    case access::CommandAction::kDeny: return 3;
  }
  return 0;
}

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Lines as the shell will see them: "a \<newline>b" is one line "a b".
std::vector<std::string> LogicalLines(std::string_view command) {
  std::vector<std::string> lines(1);
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == '\\' && i + 1 < command.size() && command[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (c == '\n') {
      lines.emplace_back();
      continue;
    }
    lines.back().push_back(c);
  }
  return lines;
}

}  // namespace

bool GatewayMatchApplies(const access::GatewayMatch& match, const SessionScope& scope) {
  if (scope.target == nullptr) return false;
  if (!match.resources.Matches(*scope.target)) return false;
  if (scope.target->risk < match.min_risk) return false;
  if (!match.logins.empty() && !Contains(match.logins, scope.login)) return false;
  if (!match.modes.empty() && !Contains(match.modes, scope.mode)) return false;
  if (!match.roles.empty() &&
      std::none_of(match.roles.begin(), match.roles.end(), [&](const std::string& r) { return Contains(scope.roles, r); })) {
    return false;
  }
  return true;
}

std::shared_ptr<const CommandRules> CommandRules::Compile(std::shared_ptr<const access::Policy> policy) {
  std::shared_ptr<CommandRules> rules(new CommandRules(std::move(policy)));
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  for (const auto& rule : rules->policy_->gateway.commands) {
    rules->patterns_.push_back(std::make_unique<RE2>(rule.pattern, options));
  }
  return rules;
}

CommandRules::CommandRules(std::shared_ptr<const access::Policy> policy) : policy_(std::move(policy)) {}
CommandRules::~CommandRules() = default;

CommandVerdict CommandRules::Decide(const SessionScope& scope, std::string_view command) const {
  CommandVerdict verdict;
  const auto& list = policy_->gateway.commands;
  for (const std::string& line : LogicalLines(command)) {
    for (size_t i = 0; i < list.size(); ++i) {
      // A pattern that failed to compile (cannot happen for a policy that was accepted)
      // matches everything: fail closed rather than let the rule be silently skipped.
      const bool hit = !patterns_[i]->ok() || RE2::PartialMatch(line, *patterns_[i]);
      if (!hit || !GatewayMatchApplies(list[i].match, scope)) continue;
      if (Severity(list[i].action) > Severity(verdict.action) || verdict.rule.empty()) {
        if (Severity(list[i].action) >= Severity(verdict.action)) {
          verdict = {list[i].action, list[i].name, list[i].message};
        }
      }
      break;  // first matching rule decides this line
    }
  }
  return verdict;
}

bool CommandRules::TransferAllowed(const SessionScope& scope, std::string* rule) const {
  for (const auto& t : policy_->gateway.transfers) {
    if (!GatewayMatchApplies(t.match, scope)) continue;
    if (rule) *rule = t.name;
    return t.allow;
  }
  if (rule) rule->clear();
  return false;
}

}  // namespace cloudpact::gateway
