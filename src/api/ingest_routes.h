// HTTP routes of audit-log ingestion: pushing log lines (one-off files from `cloudpact ingest`,
// or any shipper that can POST), the findings correlation raised, and the evidence of each
// event, provable up to the ledger. Handlers call the correlation pipeline; they own no state.
#pragma once

#include "api/governance.h"
#include "api/http.h"
#include "correlation/pipeline.h"

namespace cloudpact::api {

class IngestRoutes {
 public:
  IngestRoutes(GovernanceRoutes& governance, correlation::Pipeline& pipeline)
      : gov_(governance), pipeline_(pipeline) {}

  // Handles the request and returns true if the path is one of these routes.
  bool Handle(const Request& r, const Respond& respond);

 private:
  Response Push(const Request& r, const Caller& c);
  Response ListFindings(const Request& r);
  Response GetFinding(const Caller& c, const std::string& id);
  Response Evidence(const Caller& c, const std::string& batch, const std::string& index);

  GovernanceRoutes& gov_;
  correlation::Pipeline& pipeline_;
};

}  // namespace cloudpact::api
