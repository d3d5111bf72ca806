// Continuous assessment (issue 6): the inventory store, check runs, their results, diffs,
// attestations and exceptions, and the ledger entry of every run.
//
// A run executes each check's SQL read-only over the inventory (in parallel, one connection
// per check), counts PASS results and keeps every other result, applies exceptions and
// attestations in force, rolls checks up into requirements, and writes the run's *result
// document* — RFC 8785 canonical JSON of everything a report shows — whose SHA-256 becomes an
// "assess.run" ledger entry. An assessor re-hashes the document (`cloudpact assess export`)
// and finds the digest in the ledger; every report names the run and its digest.
//
// Fail closed: a run is stored, then ledgered; a run the ledger has not accepted is not
// reported (kUnavailable) and is ledgered at the next start.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "assess/catalog.h"
#include "assess/checks.h"
#include "assess/inventory.h"
#include "assess/results.h"
#include "core/json.h"
#include "core/result.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::assess {

struct AssessorOptions {
  int threads = 2;                                   // checks run at once
  std::chrono::milliseconds check_timeout{300'000};  // per check; longer is ERROR
  size_t max_problems_kept = 100;                    // import problems returned in full
};

struct ImportSummary {
  std::string id;  // "imp_" + 16 hex
  std::string platform, format, actor;
  int64_t time_unix = 0;
  uint64_t resources = 0;  // written
  uint64_t raw_only = 0;   // of an unknown type: kept raw, no typed row
  uint64_t replaced = 0;   // previous resources of the same platform and types removed
  std::map<std::string, uint64_t> by_type;
  uint64_t problems = 0;
  std::vector<ImportProblem> first_problems;  // up to max_problems_kept
};
Json ToJson(const ImportSummary& s);

struct RunOptions {
  std::string catalog;   // only the checks this catalog names; "" = every check
  std::string platform;  // only this platform's resources; "" = all
  std::string actor;
};

// A run as listed (no results).
struct RunListing {
  std::string id, catalog, platform, digest, started_by;
  int64_t started_unix = 0, finished_unix = 0;
  uint64_t resources = 0, pass = 0, fail = 0, manual = 0, error = 0, not_applicable = 0, muted = 0;
  bool ledgered = false;
  uint64_t ledger_index = 0;
};
Json ToJson(const RunListing& r);

class Assessor {
 public:
  // Creates the inventory tables (rebuilding them when the type schema changed) and ledgers
  // any run stored but not yet ledgered. `ledger` may not be null.
  static Result<std::unique_ptr<Assessor>> Open(storage::Storage& store, ledger::Ledger& ledger, CatalogSet catalogs,
                                                std::vector<Check> checks, AssessorOptions options = {});

  const CatalogSet& catalogs() const { return catalogs_; }
  const std::vector<Check>& checks() const { return checks_; }
  const Check* FindCheck(const std::string& id) const;

  // Replaces the platform's resources of every type present in `imported` with them, in one
  // transaction. Problems are kept in the summary (and counted), never dropped silently.
  Result<ImportSummary> Import(const std::string& platform, const std::string& format, ImportResult imported,
                               const std::string& actor);
  Result<std::vector<ImportSummary>> Imports() const;
  // Resources in the inventory, by platform.
  Result<std::map<std::string, uint64_t>> InventoryCounts() const;

  Result<Run> RunAssessment(const RunOptions& options);
  Result<Run> GetRun(const std::string& id) const;  // with its results; kNotFound if none
  Result<std::vector<RunListing>> ListRuns() const;  // newest first
  Result<RunDiff> Diff(const std::string& before, const std::string& after) const;

  // The canonical result document of a run (what its digest covers).
  static Result<std::string> ResultDocument(const Run& run);

  // Manual requirements' attestations; exceptions muting checks' failures. Both need an
  // expiry in the future, an owner and an approver other than the owner (separation of
  // duties); the requirement / the check must exist. An attestation counts only where the
  // checks found nothing to fail: for manual requirements, and automated ones whose checks
  // answer MANUAL (no evidence collected) or judge nothing. Each is ledgered.
  Result<Attestation> Attest(Attestation a, const std::string& actor);
  Result<Exception> AddException(Exception e, const std::string& actor);
  Result<std::vector<Attestation>> Attestations(bool include_expired) const;
  Result<std::vector<Exception>> Exceptions(bool include_expired) const;

 private:
  Assessor(storage::Storage& store, ledger::Ledger& ledger, CatalogSet catalogs, std::vector<Check> checks,
           AssessorOptions options);
  Status EnsureSchema();
  Status LedgerPending();
  Result<uint64_t> LedgerRun(const Run& run);
  void Link(Run& run) const;  // resolves check and requirement pointers for a loaded run

  storage::Storage& store_;
  ledger::Ledger& ledger_;
  CatalogSet catalogs_;
  std::vector<Check> checks_;
  AssessorOptions options_;
  std::mutex run_mu_;  // one run at a time: runs are heavy and their ids are time-based
};

}  // namespace cloudpact::assess
