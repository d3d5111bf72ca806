// Bearer-token authentication and permission checks. Tokens are 256-bit random secrets;
// only their SHA-256 is stored, and lookups compare hashes in constant time.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "storage/storage.h"

namespace cloudpact::api {

// Every permission the server knows. New modules add theirs here.
namespace perm {
inline constexpr const char* kLedgerAppend = "ledger:append";
inline constexpr const char* kLedgerReadConfidential = "ledger:read_confidential";
inline constexpr const char* kLedgerErase = "ledger:erase";
inline constexpr const char* kTokensCreate = "tokens:create";
inline constexpr const char* kAccessRequest = "access:request";
inline constexpr const char* kAccessReview = "access:review";
inline constexpr const char* kAccessRevoke = "access:revoke";
inline constexpr const char* kAccessBreakGlass = "access:breakglass";
inline constexpr const char* kAuthzCheck = "authz:check";
inline constexpr const char* kDirectoryRead = "directory:read";
inline constexpr const char* kDirectoryWrite = "directory:write";
inline constexpr const char* kPolicyPropose = "policy:propose";
inline constexpr const char* kPolicyApprove = "policy:approve";
inline constexpr const char* kPostureRead = "posture:read";
inline constexpr const char* kTenantRead = "tenant:read";
// Gateway: list, inspect, watch and play back sessions; terminate sessions and decide
// commands held for review; set the credentials the gateway logs in to targets with.
inline constexpr const char* kSessionsRead = "sessions:read";
inline constexpr const char* kSessionsControl = "sessions:control";
inline constexpr const char* kTargetsCredentials = "targets:credentials";
// Audit-log ingestion: push log lines; read findings and the evidence of their events.
inline constexpr const char* kIngestWrite = "ingest:write";
inline constexpr const char* kFindingsRead = "findings:read";
// Continuous assessment: read catalogs, runs and reports; start runs; import inventories;
// record attestations of manual requirements and exceptions to checks.
inline constexpr const char* kAssessRead = "assess:read";
inline constexpr const char* kAssessRun = "assess:run";
inline constexpr const char* kAssessImport = "assess:import";
inline constexpr const char* kAssessAttest = "assess:attest";
}  // namespace perm
const std::vector<std::string>& AllPermissions();

struct Principal {
  std::string token_id;
  std::string name;
  std::vector<std::string> permissions;
  bool Has(std::string_view permission) const;
};

struct IssuedToken {
  storage::ApiToken record;
  std::string secret;  // shown once, never stored
};

class Authenticator {
 public:
  explicit Authenticator(storage::Storage& store) : store_(store) {}

  // From an "Authorization: Bearer …" header value: kUnauthenticated if missing, malformed,
  // unknown or expired.
  Result<Principal> Authenticate(std::string_view authorization_header);
  // Makes a token without storing it, so that the caller can record the issuance as
  // evidence first; permissions must be known ones. expires_unix 0 = never.
  Result<IssuedToken> Mint(const std::string& name, std::vector<std::string> permissions,
                           int64_t expires_unix);
  Status Save(const IssuedToken& token);
  // Mint and Save, for tests and tools that keep no evidence.
  Result<IssuedToken> Issue(const std::string& name, std::vector<std::string> permissions,
                            int64_t expires_unix);

 private:
  storage::Storage& store_;
  std::mutex mu_;
  std::unordered_map<std::string, storage::ApiToken> cache_;  // by secret hash; GUARDED_BY(mu_)
};

}  // namespace cloudpact::api
