// What an assessment run produced, as the reports read it (OSCAL assessment results, OCSF,
// CSV, HTML, SARIF, the per-tenant report). The runner (runner.h) builds it; reports never
// query storage themselves, so a report is a pure function of a run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "assess/catalog.h"
#include "assess/checks.h"

namespace cloudpact::assess {

enum class ResultStatus { kPass, kFail, kManual, kError, kNotApplicable };
std::string_view ResultStatusName(ResultStatus s);  // "PASS", "FAIL", "MANUAL", "ERROR", "NOT_APPLICABLE"
Result<ResultStatus> ParseResultStatus(std::string_view s);

// One check's verdict on one resource. Its id is stable across runs: the same check on the
// same resource always has the same id, so runs can be diffed and exceptions pinned.
struct CheckResult {
  std::string id;        // "asr_" + 16 hex of SHA-256(check, resource)
  std::string check;
  std::string resource;  // inventory uid
  ResultStatus status = ResultStatus::kPass;
  std::string reason;
  std::string platform, tenant, resource_type, resource_name;
  // Set when an exception covered a FAIL: the status stays FAIL, the report shows it muted.
  std::string exception_id;
};

// A manual requirement's attestation, or an exception muting a check's failures. Both carry
// an expiry and lapse on their own: an expired one is ignored by the run.
struct Attestation {
  std::string id;
  std::string catalog, requirement;
  std::string owner, approver, statement;
  struct EvidenceFile {
    std::string name;
    std::string sha256;  // hex
  };
  std::vector<EvidenceFile> evidence;
  int64_t created_unix = 0, expires_unix = 0;
};

struct Exception {
  std::string id;
  std::string check;
  std::string resource;  // a uid, or "*" for every resource of the check
  std::string owner, reason, approver;
  int64_t created_unix = 0, expires_unix = 0;
};

struct CheckSummary {
  const Check* check = nullptr;
  uint64_t pass = 0, fail = 0, manual = 0, error = 0, not_applicable = 0;
  uint64_t muted = 0;        // FAILs covered by an exception
  std::string error_message; // the SQL's error when the check itself failed (status ERROR)
  double seconds = 0;
};

// A requirement's verdict, rolled up from its checks (FAIL if any unmuted FAIL; ERROR if
// any check errored and none failed; PASS if all passed; NOT_APPLICABLE if nothing was
// judged) or from an attestation (manual: PASS while attested and unexpired, else MANUAL).
struct RequirementResult {
  const Catalog* catalog = nullptr;
  const Group* group = nullptr;
  const Requirement* requirement = nullptr;
  ResultStatus status = ResultStatus::kNotApplicable;
  uint64_t failed_resources = 0;
  const Attestation* attestation = nullptr;
};

struct Run {
  std::string id;             // "run_" + 16 hex
  std::string catalog_filter; // "" = every catalog
  std::string platform_filter;
  int64_t started_unix = 0, finished_unix = 0;
  std::string started_by;
  uint64_t resources = 0;     // resources in scope
  // Every result that is not PASS, ordered by (check, resource); PASS results are counted in
  // check summaries only (a million resources × 200 checks is mostly PASS).
  std::vector<CheckResult> results;
  std::map<std::string, CheckSummary> checks;  // by check id
  std::vector<RequirementResult> requirements; // catalog order
  std::vector<Attestation> attestations;       // in force during the run
  std::vector<Exception> exceptions;           // in force during the run
  // SHA-256 (hex) of the run's result document (Assessor::ResultDocument: the header with
  // per-check counts and per-requirement status, and every non-PASS result, in RFC 8785
  // form; docs/ASSESS.md), recorded in the ledger as an "assess.run" entry.
  std::string digest;
  uint64_t ledger_index = 0;
  bool ledgered = false;
};

// The difference between two runs, by stable result id.
struct RunDiff {
  std::vector<CheckResult> added;     // not PASS now, absent (PASS or not judged) before
  std::vector<CheckResult> resolved;  // not PASS before, PASS or gone now (as they were)
  std::vector<std::pair<CheckResult, CheckResult>> changed;  // status or reason changed: before, after
};

}  // namespace cloudpact::assess
