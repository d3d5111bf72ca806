// Correlation of audit-log events with the access module (convention articles 5, 6, 7):
// who in the directory did this, on which resource, with what access, and did an approved
// grant cover it at the time. Pure decisions over the directory and access state in memory;
// the pipeline (pipeline.h) turns them into ledgered evidence and stored findings.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "access/access.h"
#include "directory/directory.h"
#include "ingest/event.h"

namespace cloudpact::correlation {

// One configured log source. `name` keys its saved cursor and is stamped on every event.
struct SourceConfig {
  std::string name;                  // [a-z0-9._-], 1..64 characters
  std::vector<std::string> formats;  // parser names; a syslog stream may carry several
  // The directory platform and resource the log belongs to, for logs written on one host
  // (auth.log, audit.log): they are what the events happened on. Empty: resolved from the
  // names in each event.
  std::string platform;
  std::string resource;
};
Status ValidateSourceConfig(const SourceConfig& source);

// What an event resolved to in the directory, what access it needed and what covered it.
struct Resolved {
  std::string principal;     // staff id; empty when the actor is no one in the directory
  std::string organisation;  // the staff member's
  bool outsourced = false;
  std::string platform;      // directory ids; empty when unresolved
  std::string resource;
  std::string tenant;
  bool tenant_data = false;
  // The access action the operation needed ("login:root", "k8s:create", "api:ecs.deleteinstance");
  // empty when the event is not checked (failures, logouts, unprivileged operations).
  std::string access_action;
  bool checked = false;      // whether coverage was decided
  bool via_gateway = false;  // a login with the gateway's own key for this target
  // What covered it: "role:<name>", "grant:<id>", "break-glass:<id>", "gateway"; empty: nothing.
  std::string coverage;
};

enum class FindingKind {
  kPrivilegedWithoutGrant,     // a privileged operation no standing role or grant covered
  kTenantDataWithoutApproval,  // tenant data touched without a tenant-approved grant: critical
  kOutsideWindow,              // a grant would cover it, but not at that time of day or week
  kGatewayBypassed,            // a login to a gateway-fronted target that did not come through it
};
std::string_view KindName(FindingKind kind);
std::string_view KindTitleZh(FindingKind kind);

struct FindingDraft {
  FindingKind kind;
  std::string severity;  // "critical" or "high"
  std::string reason;
  bool candidate_incident = false;  // art. 7: a candidate data incident to assess for notification
};

struct Analysis {
  Resolved resolved;
  std::vector<FindingDraft> findings;
};

// Whether `fingerprint` ("SHA256:…") is the key the gateway logs in to `resource` with: such a
// login came through the gateway, which authorised and recorded it itself.
using GatewayKeyCheck = std::function<bool(const std::string& resource, const std::string& fingerprint)>;

class Correlator {
 public:
  Correlator(const directory::Directory& directory, const access::AccessService& access,
             GatewayKeyCheck gateway_key = {})
      : directory_(directory), access_(access), gateway_key_(std::move(gateway_key)) {}

  // Thread-safe; memory only (directory snapshot and access state).
  Analysis Analyze(const ingest::OperationEvent& event, const SourceConfig& source) const;

  // The access action an event needs, mapped from its normalised action: ssh.login as L and
  // sudo.exec as L → "login:L"; a privileged process.exec or an account change → "login:root";
  // k8s.VERB → "k8s:VERB"; api.SERVICE.OPERATION → "api:service.operation" (lower case).
  // Empty for events that need none (logouts, failures are decided by the caller).
  static std::string AccessAction(const ingest::OperationEvent& event);

 private:
  const directory::Directory& directory_;
  const access::AccessService& access_;
  GatewayKeyCheck gateway_key_;
};

}  // namespace cloudpact::correlation
