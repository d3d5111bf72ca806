// A tenant's own check of the ledger, needing nothing from the provider but the log itself:
// every grant touching the tenant's data must carry a valid Ed25519 signature by one of the
// tenant's approvers over the request's digest, or be a break-glass access that names the
// tenant as notified. Used by `cloudpact tenant verify` after the ledger verifier has
// checked every entry against a signed checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace cloudpact::access {

struct TenantAccessRecord {
  uint64_t index = 0;
  std::string type;  // "access.grant" or "access.breakglass"
  std::string request_id;
  std::string requester;
  std::vector<std::string> resources;  // the tenant's resources in scope
  std::vector<std::string> actions;
  std::string reason;
  int64_t granted = 0, expires = 0;
  std::vector<std::string> approvers;  // provider staff
  std::vector<std::string> tenant_signers;
  bool tenant_data = false;
  bool ok = true;
};

struct TenantAuditReport {
  std::vector<TenantAccessRecord> accesses;
  uint64_t uses = 0;                    // access.use entries on the tenant's resources
  std::vector<std::string> problems;    // empty: everything verified
  // approver id → base64 key, the latest registered (by a "directory.approver" entry, or a
  // "directory.approver_key" entry of an approver who registered it, whose proof is checked)
  std::map<std::string, std::string> approver_keys;
};

class TenantAuditor {
 public:
  // pinned_keys: base64 Ed25519 keys the tenant itself trusts; when given, a signature by a
  // key the provider registered but the tenant did not pin is a problem (the provider
  // cannot register a key of its own and sign with it).
  TenantAuditor(std::string tenant, std::string log_origin, std::vector<std::string> pinned_keys = {});

  // Feed every entry of the log in index order.
  void Add(uint64_t index, std::string_view entry);
  TenantAuditReport Finish() const { return report_; }

 private:
  struct ResourceState {
    std::string tenant;
    bool tenant_data = false;
  };
  void Grant(uint64_t index, const Json& entry, bool break_glass);

  std::string tenant_, origin_;
  std::set<std::string> pinned_;
  std::map<std::string, ResourceState> resources_;
  std::map<std::string, std::set<std::string>> keys_;  // approver → keys registered so far
  TenantAuditReport report_;
};

}  // namespace cloudpact::access
