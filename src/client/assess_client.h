// `cloudpact assess …`: load platform inventories, run assessments, read their results, diffs
// and reports, record attestations and exceptions, verify a run against the ledger, and the
// release gate (docs/ASSESS.md). Exit codes: 0 success, 1 the server refused, verification
// failed or the gate failed, 2 usage or a local file problem.
#pragma once

#include <string>

#include "client/governance_client.h"

namespace cloudpact::client {

struct AssessImportArgs {
  std::string file;  // "-" for standard input
  std::string platform, format, region;
};
int AssessImport(const Context& c, const AssessImportArgs& a);

int AssessRun(const Context& c, const std::string& catalog, const std::string& platform);
int AssessList(const Context& c);
int AssessShow(const Context& c, const std::string& run, const std::string& status, size_t limit);
int AssessDiff(const Context& c, const std::string& from, const std::string& to);
// Writes the report to `out` ("-" for standard output).
int AssessReport(const Context& c, const std::string& run, const std::string& format, const std::string& out);

struct AttestArgs {
  std::string catalog, requirement, owner, statement, expires;
  std::vector<std::string> evidence_files;  // hashed locally; only names and SHA-256 travel
};
int AssessAttest(const Context& c, const AttestArgs& a);
struct ExceptionArgs {
  std::string check, resource, owner, reason, expires;
};
int AssessException(const Context& c, const ExceptionArgs& a);

// Checks, from the ledger alone, that the run's result document is the one ledgered: the
// whole log verifies under `vkey` (signature, tiles, root), and its "assess.run" entry for
// the run holds the document's SHA-256. The document comes from the server (--run) or from
// a file an assessor was handed (--document), which needs no token.
int AssessVerify(const Context& c, const std::string& run, const std::string& document_file, const std::string& vkey);

// The release gate (art. 4), offline: imports SNAPSHOT into a throwaway database, runs the
// checks a profile names (a catalog id, or "all"), writes SARIF, and exits 1 if an unmuted
// FAIL or any ERROR is at or above `fail_on`.
struct GateArgs {
  std::string profile = "all";
  std::string input, format = "ndjson", platform = "release";
  std::string catalogs_dir;  // default: the installed or source catalogs/
  std::string sarif;         // "" → no file; "-" → standard output
  std::string fail_on = "high";
};
int AssessGate(const GateArgs& a);

}  // namespace cloudpact::client
