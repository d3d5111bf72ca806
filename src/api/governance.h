// HTTP routes of access governance: the directory, the policy, access requests and reviews,
// break-glass, authorization checks, posture and the tenant's access log. Handlers call the
// directory and access modules' interfaces; they own no state.
#pragma once

#include <string>

#include "access/access.h"
#include "api/auth.h"
#include "api/http.h"
#include "directory/directory.h"
#include "ledger/ledger.h"

namespace cloudpact::api {

class Accounts;

// Who is calling and what they may do here: a token's permissions, narrowed — when the
// token belongs to someone in the directory — to what that person's roles confer now, so
// that removing a role takes effect at once even for tokens already issued.
struct Caller {
  std::string name;
  std::string kind;  // "staff", "approver", "auditor", or "" for service tokens
  std::vector<std::string> permissions;
  bool via_session = false;
  bool mfa = false;  // a session whose sign-in checked a TOTP code (never true for tokens)
  bool enrolment_only = false;  // signed in by password, must enrol TOTP before anything else
  bool Has(std::string_view permission) const;
};

class GovernanceRoutes {
 public:
  GovernanceRoutes(Authenticator& auth, ledger::Ledger& ledger, directory::Directory& directory,
                   access::AccessService& access, size_t max_body)
      : auth_(auth), ledger_(ledger), directory_(directory), access_(access), max_body_(max_body) {}

  // Sign-in sessions (cookie + CSRF header) as a second way to authenticate; optional.
  void SetAccounts(Accounts* accounts) { accounts_ = accounts; }

  // Handles the request and returns true if the path is one of these routes.
  bool Handle(const Request& r, const Respond& respond);

  // The caller behind a request with `permission`, or the 401/403 error.
  Result<Caller> Authorize(const Request& r, std::string_view permission);
  // Who is calling (token, or session cookie with its CSRF header on writes), before any
  // permission check.
  Result<Caller> Identify(const Request& r);

 private:
  Response ApplyDirectory(const Request& r, const Caller& c);
  Response ListDirectory(const Request& r, const std::string& kind);
  Response GetDirectoryRecord(const std::string& kind, const std::string& id);
  Response ProposePolicy(const Request& r, const Caller& c);
  Response Policies();
  Response GetPolicy(int64_t version);
  Response DecidePolicy(const Request& r, const Caller& c, int64_t version, bool approve);
  Response CreateRequest(const Request& r, const Caller& c, bool break_glass);
  Response ListRequests(const Request& r, const Caller& c);
  Response GetRequest(const Caller& c, const std::string& id);
  Response Review(const Request& r, const Caller& c, const std::string& id);
  Response Revoke(const Request& r, const Caller& c, const std::string& id);
  Response Check(const Request& r);
  Response RecordUse(const Request& r);
  Response TenantLog(const Caller& c, const std::string& tenant);
  Response SignIn(const Request& r);
  Response SignOut(const Request& r);
  Response Me(const Request& r);
  Response RegisterApproverKey(const Request& r);
  Response BeginTotp(const Request& r);
  Response ConfirmTotp(const Request& r);
  Response SetPassword(const Request& r, const std::string& principal);
  Response Unlock(const Request& r, const std::string& principal);
  Json RequestView(const access::AccessRequest& req, const Caller& c) const;
  // A ledger entry as the tenant's access log shows it: its bytes and an inclusion proof
  // against a checkpoint of tree_size entries (or pending_checkpoint when it is newer).
  Json LogEntry(uint64_t index, uint64_t tree_size) const;
  bool MaySee(const Caller& c, const access::AccessRequest& req) const;

  Authenticator& auth_;
  ledger::Ledger& ledger_;
  directory::Directory& directory_;
  access::AccessService& access_;
  size_t max_body_;
  Accounts* accounts_ = nullptr;
};

}  // namespace cloudpact::api
