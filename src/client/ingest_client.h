// `cloudpact ingest` and `cloudpact findings`: push log files to a server's ingestion API and
// read the findings correlation raised, each with its event's evidence checked locally
// (docs/INGEST.md). Return the process exit code: 0 success, 1 the server refused or
// verification failed, 2 usage or a local file problem.
#pragma once

#include <string>
#include <vector>

#include "client/governance_client.h"

namespace cloudpact::client {

struct IngestArgs {
  std::string file;  // "-" for standard input
  std::string source;
  std::vector<std::string> formats;
  std::string platform, resource;
  size_t chunk_bytes = 768 * 1024;  // below the server's default 1 MiB body limit
};
// Sends the file in chunks cut at line ends. Each chunk carries an Idempotency-Key derived
// from its position and bytes, so running the command again on the same file adds nothing.
int Ingest(const Context& c, const IngestArgs& a);

struct FindingsArgs {
  std::string kind, severity, principal, resource, tenant, source;
  size_t limit = 100;
};
int FindingsList(const Context& c, const FindingsArgs& a);
// The finding, its event, and a local check: the event's bytes hash to its leaf, the leaf's
// path leads to the batch root, and that root is the one in the batch's ledger entry.
int FindingsShow(const Context& c, const std::string& id);

}  // namespace cloudpact::client
