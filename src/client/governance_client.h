// `cloudpact <noun> <verb>` client commands for access governance: they call a server's
// REST API (docs/API.md) and print for people (or JSON with --json). Each returns the
// process exit code: 0 success, 1 the server refused or verification failed, 2 usage.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cloudpact::client {

struct Context {
  std::string url;         // server base URL, e.g. http://127.0.0.1:8080
  std::string token;       // bearer token (from --token, --token-file or CLOUDPACT_TOKEN)
  std::string ca_file;
  bool json = false;       // print the server's JSON instead of a summary
};

int Apply(const Context& c, const std::string& file);
int PolicyPropose(const Context& c, const std::string& file);
int PolicyDecide(const Context& c, int64_t version, bool approve, const std::string& reason);
int PolicyList(const Context& c);

struct RequestArgs {
  std::vector<std::string> resources, actions;
  std::string reason, justification, ticket;
  int64_t duration_seconds = 0;
};
int AccessRequest(const Context& c, const RequestArgs& a, bool break_glass);
int AccessList(const Context& c, const std::string& state, bool reviewable);
int AccessShow(const Context& c, const std::string& id);
// With key_file (a tenant approver's Ed25519 seed, base64): fetches the request, recomputes
// its digest from the canonical form locally, and signs the decision.
int AccessReview(const Context& c, const std::string& id, const std::string& decision, const std::string& comment,
                 const std::string& key_file);
int AccessRevoke(const Context& c, const std::string& id, const std::string& reason);
int AuthzCheck(const Context& c, const std::string& principal, const std::string& action, const std::string& resource);
int Posture(const Context& c);
// Writes a new approver key: seed (base64, 0600) to key_file, prints the public key to register.
int TenantKeygen(const std::string& key_file);
// Verifies the whole log (every tile against the signed checkpoint) and then checks every
// grant on the tenant's resources from the entries alone. Needs no token.
int TenantVerify(const std::string& ledger_url, const std::string& vkey, const std::string& tenant,
                 const std::vector<std::string>& pinned_keys, bool json);

}  // namespace cloudpact::client
