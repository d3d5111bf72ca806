// Reports of an assessment run (issue 6, item 5; the gate's SARIF, item 6). Every function
// here is a pure function of (Run, CatalogSet, options): no clock, no storage, no
// randomness. The same run renders to the same bytes, so a report can be re-rendered later
// and compared, and what an assessor checks in the ledger is the run's digest (Run::digest,
// an "assess.run" entry), which every report carries with the command that verifies it.
//
// Formats and their mapping decisions are documented in docs/REPORTS.md:
//   ToOscalAssessmentResults  OSCAL 1.1.2 assessment-results (valid against NIST's schema)
//   ToOcsfJsonLines           OCSF 1.3.0 Compliance Finding (class 2003), one per line
//   ToCsv                     RFC 4180, UTF-8 with BOM, formula-injection safe
//   ToHtml                    one self-contained bilingual file (inline CSS and SVG)
//   ToTenantReport(Json)      the per-tenant shared-responsibility report (art. 3)
//   ToSarif / GateExitCode    `cloudpact assess gate` (art. 4)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "assess/catalog.h"
#include "assess/checks.h"
#include "assess/results.h"
#include "core/json.h"

namespace cloudpact::assess {

// The command an assessor runs to check a run's digest against the ledger.
std::string VerifyCommand(const Run& run);  // "cloudpact assess verify --run RUN_ID --url SERVER --key LEDGER_VERIFIER_KEY"

// --- OSCAL ---------------------------------------------------------------------------

struct OscalOptions {
  // FAIL/ERROR results listed as individual observations per check; the rest of a check's
  // results are counted in one aggregate observation (the CSV and OCSF exports list them
  // all, and the digest covers them all). 0 = aggregate everything.
  size_t max_observations_per_check = 100;
};

// OSCAL 1.1.2 assessment-results: one `result` for the run; `reviewed-controls` names the
// requirements in scope per catalog; an observation per FAIL/ERROR result (bounded, above),
// per check whose SQL failed and per attestation; a finding per requirement targeting it as
// an objective-id with state satisfied/not-satisfied; exceptions as risks with status
// deviation-approved and their expiry as deadline. UUIDs are version 5 UUIDs of
// "cloudpact:run:<run id>:<element>", and every timestamp comes from the run.
Json ToOscalAssessmentResults(const Run& run, const CatalogSet& catalogs, const OscalOptions& options = {});

// --- OCSF ----------------------------------------------------------------------------

inline constexpr std::string_view kOcsfVersion = "1.3.0";

// One OCSF Compliance Finding (class_uid 2003, category_uid 2, activity Create) per
// FAIL, ERROR or MANUAL result, plus one per check whose SQL failed without a result row;
// each line is compact JSON ending in "\n". NOT_APPLICABLE results are not findings.
std::string ToOcsfJsonLines(const Run& run, const CatalogSet& catalogs);

// --- CSV -----------------------------------------------------------------------------

// RFC 4180 with a UTF-8 byte order mark and CRLF line ends. One "check" row per check
// (with its PASS/FAIL/… counts), then one "result" row per non-PASS result. Cells that a
// spreadsheet would read as a formula (first character = + - @ TAB CR) get a leading '.
std::string ToCsv(const Run& run, const CatalogSet& catalogs);

// --- HTML ----------------------------------------------------------------------------

// A previous run, for the trend chart.
struct RunSummary {
  std::string id;
  int64_t finished_unix = 0;
  uint64_t pass = 0, fail = 0;
};

struct HtmlOptions {
  std::vector<RunSummary> trend;  // earlier runs, any order; the current run is added
  size_t max_failing_rows = 500;  // rows of the failing-results table; the rest are counted
  std::string organization;       // shown in the title if set (e.g. the provider's name)
};

// A single self-contained HTML file, Simplified Chinese first with English beside it:
// scorecards per catalog group (articles, GB/T control points/families) and per platform,
// inline SVG charts, the checks, the failing results (bounded), attestations and exceptions
// with expiry, and the run id, digest and ledger index with how to verify them. It loads
// nothing: no scripts, no external URLs, and a Content-Security-Policy that forbids both.
std::string ToHtml(const Run& run, const CatalogSet& catalogs, const HtmlOptions& options = {});

// --- Per-tenant shared-responsibility report (art. 3) --------------------------------

// For `tenant` using `service_model` ("iaas", "paas" or "saas"): the requirements that apply
// to that model, split into the customer's, shared and the provider's, and the tenant's own
// open findings (results whose tenant is `tenant`: FAIL, ERROR, MANUAL; muted ones marked).
// Nothing about other tenants' resources is included. An unknown service model yields a
// report that says so and lists no responsibilities.
std::string ToTenantReport(const Run& run, const CatalogSet& catalogs, std::string_view tenant,
                           std::string_view service_model, const HtmlOptions& options = {});
Json ToTenantReportJson(const Run& run, const CatalogSet& catalogs, std::string_view tenant,
                        std::string_view service_model);

// --- Gate (art. 4) -------------------------------------------------------------------

inline constexpr std::string_view kSarifSchema =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json";

// SARIF 2.1.0: a rule per check, a result per FAIL/ERROR (muted ones carry an accepted
// external suppression), located by logical location (the resource uid), since checks
// judge resources, not files.
Json ToSarif(const Run& run, const CatalogSet& catalogs);

// 0 if no unmuted FAIL or ERROR at or above `threshold`, else 1. ERROR counts as failing
// (fail closed), as does a check whose SQL failed, and a result whose check is unknown is
// treated as critical.
int GateExitCode(const Run& run, Severity threshold);

// --- Shared by the report files (not part of the stable interface) -------------------
namespace report_detail {

std::string_view StatusName(ResultStatus s);  // "PASS", "FAIL", …
std::string_view SeverityText(Severity s);    // "info" … "critical"
// 2026-11-27T12:00:00Z; negative or zero times render as the epoch.
std::string UnixToRfc3339(int64_t unix_seconds);
// The run's severity for a check id (critical if the check is unknown: fail closed).
Severity CheckSeverity(const Run& run, const std::string& check);
const Check* FindCheck(const Run& run, const std::string& check);
// The in-scope requirements (Run::requirements) that name each check, in catalog order.
class CheckRequirements {
 public:
  explicit CheckRequirements(const Run& run);
  const std::vector<const RequirementResult*>& Of(std::string_view check) const;

 private:
  std::map<std::string, std::vector<const RequirementResult*>, std::less<>> by_check_;
  std::vector<const RequirementResult*> none_;
};
// "catalog/requirement".
std::string RequirementKey(const RequirementResult& r);
// Whether a result is failing for the gate and the reports: FAIL or ERROR.
inline bool IsFailing(ResultStatus s) { return s == ResultStatus::kFail || s == ResultStatus::kError; }

}  // namespace report_detail
}  // namespace cloudpact::assess
