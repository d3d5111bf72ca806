// HTTP routes of continuous assessment (issue 6): catalogs and checks, inventory imports,
// runs and their diffs, attestations and exceptions, and the reports (OSCAL assessment
// results, OCSF, CSV, HTML, SARIF, the per-tenant shared-responsibility report). Handlers
// call the Assessor; they own no state. Reports are served only for ledgered runs, so every
// report an assessor receives can be checked against the ledger.
#pragma once

#include <functional>
#include <mutex>

#include "api/governance.h"
#include "api/http.h"
#include "assess/assessor.h"

namespace cloudpact::api {

class AssessRoutes {
 public:
  // `before_run` refreshes cloudpact's own state in the inventory (the server wires it to the
  // directory, access, gateway and ingestion); a failure stops the run (fail closed: a run on
  // stale evidence would look current).
  using BeforeRun = std::function<Status(const std::string& actor)>;
  // `report_delivered` records that a tenant received its shared-responsibility report.
  using ReportDelivered = std::function<void(const std::string& tenant)>;

  AssessRoutes(GovernanceRoutes& governance, assess::Assessor& assessor, directory::Directory& directory,
               BeforeRun before_run, ReportDelivered report_delivered, size_t max_body)
      : gov_(governance), assessor_(assessor), directory_(directory), before_run_(std::move(before_run)),
        report_delivered_(std::move(report_delivered)), max_body_(max_body) {}

  bool Handle(const Request& r, const Respond& respond);

  // Starts a run the way POST /v1/assess/runs does (scheduled runs call this too).
  Result<assess::Run> StartRun(const std::string& catalog, const std::string& platform, const std::string& actor);

 private:
  Response Import(const Request& r, const Caller& c);
  Response PostRun(const Request& r, const Caller& c);
  Response GetRun(const Request& r, const std::string& id);
  Response Scorecard(const std::string& id);
  Response Report(const Request& r, const std::string& id);
  Response Document(const std::string& id);
  Response Diff(const Request& r);
  Response TenantReport(const Request& r, const Caller& c, const std::string& tenant);
  Response PostAttestation(const Request& r, const Caller& c);
  Response PostException(const Request& r, const Caller& c);

  GovernanceRoutes& gov_;
  assess::Assessor& assessor_;
  directory::Directory& directory_;
  BeforeRun before_run_;
  ReportDelivered report_delivered_;
  size_t max_body_;
  std::mutex import_mu_;  // one import at a time: each holds a whole inventory in memory
};

}  // namespace cloudpact::api
