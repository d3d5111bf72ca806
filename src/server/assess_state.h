// cloudpact's own state as an inventory (platform "cloudpact"), refreshed before every
// assessment run so that the checks over cloudpact's evidence (privileged operations without
// a grant, recordings complete, standing privileged accounts, …) judge the present. This is
// server wiring: it reads the directory, access, gateway, ingestion and ledger modules and
// writes only through the Assessor.
#pragma once

#include <string>

#include "access/access.h"
#include "assess/assessor.h"
#include "correlation/pipeline.h"
#include "directory/directory.h"
#include "gateway/gateway.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::server {

inline constexpr const char* kOwnPlatform = "cloudpact";
// Record kind: when each tenant last read its shared-responsibility report (id = tenant).
inline constexpr const char* kTenantReportKind = "assess.tenant_report";

struct OwnStateSources {
  directory::Directory& directory;
  access::AccessService& access;
  ledger::Ledger& ledger;
  storage::Storage& store;
  assess::Assessor& assessor;
  gateway::Gateway* gateway = nullptr;         // null when the gateway is off
  correlation::Pipeline* pipeline = nullptr;   // null when ingestion is off
  size_t witnesses = 0;                        // witness keys configured
};

// Collects and imports cloudpact's own state, replacing the previous snapshot.
Status RefreshOwnState(const OwnStateSources& s, const std::string& actor);

}  // namespace cloudpact::server
