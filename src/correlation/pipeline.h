// The ingestion pipeline: sources → parsers → correlation → evidence. Events are committed in
// batches; each batch is one storage transaction (its events, dead letters, findings and the
// source's new cursor together) and one "ingest.batch" ledger entry holding the RFC 6962
// Merkle root of its events' canonical bytes, so that every event is provable from a signed
// checkpoint. Confidential content (command lines, request URIs, unparseable raw lines) stays
// off the tree behind salted commitments and can be erased (docs/INGEST.md).
//
// Durability: a source advances only when its batch is durable; a restart resumes after the
// last committed cursor (parsers' half-assembled events are saved with it), so nothing is lost
// and nothing is counted twice. The queue between readers and the committer is bounded:
// when storage or the ledger is slow, readers stop reading (files and the spool hold the rest).
// Fail closed: a batch the ledger has not accepted is retried, and its source does not advance.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "correlation/correlator.h"
#include "ingest/source.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::correlation {

struct PipelineOptions {
  size_t max_batch_events = 2048;  // events and dead letters per batch
  size_t queue_batches = 16;       // bounded queue between readers and the committer
  std::string actor = "cloudpact-ingest";
  int retry_ms = 1000;             // after a storage or ledger failure
};

// A finding as stored: one per (kind, event); its id is stable across replays.
struct Finding {
  std::string id;        // "fnd_" + 16 hex digits of SHA-256(kind, event leaf hash)
  std::string kind;      // KindName()
  std::string severity;  // "critical" or "high"
  std::string state = "open";
  std::string title_zh;
  std::string reason;
  bool candidate_incident = false;
  int64_t time_ms = 0;   // when the operation happened
  std::string principal, actor, platform, resource, tenant, action, access_action, source;
  std::string batch;     // where its event is: batch id and position
  uint64_t event_index = 0;
  std::string event_hash;  // hex RFC 6962 leaf hash of the event's canonical bytes
  int64_t created = 0;     // unix seconds
};
Json ToJson(const Finding& f);

struct IngestSummary {
  uint64_t lines = 0, events = 0, dead_letters = 0, findings = 0;
  std::vector<std::string> batches;
  std::vector<std::string> finding_ids;
  bool duplicate = false;  // this push's key was ingested before; nothing new was written
  // Stored durably, and in the ledger too. False: the ledger refused for now; the batches are
  // ledgered before anything else is stored (Pipeline retries), and their findings already count.
  bool ledgered = true;
};
Json ToJson(const IngestSummary& s);

struct FindingFilter {
  std::string state, kind, severity, principal, resource, tenant, source;
  std::string after;  // id to continue after (ids sort by creation within a run)
  size_t limit = 100;
};

class Pipeline {
 public:
  // Recovers batches stored but not yet ledgered (a crash between the two) before returning.
  static Result<std::unique_ptr<Pipeline>> Start(storage::Storage& store, ledger::Ledger& ledger,
                                                 const Correlator& correlator, PipelineOptions options = {});
  ~Pipeline();  // Stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // A continuous source on its own thread, from its saved cursor.
  Status AddSource(SourceConfig config, std::unique_ptr<ingest::Source> source);
  // Lines pushed over HTTP or by `cloudpact ingest`: parsed, correlated and committed before
  // this returns. A non-empty `key` makes the push idempotent: the same (source, key) again
  // returns the first push's summary with duplicate = true and writes nothing.
  // `actor` (who pushed) signs the batches' ledger entries.
  Result<IngestSummary> Ingest(const SourceConfig& config, std::string_view text, const std::string& key,
                               uint64_t first_line_no = 1, const std::string& actor = "");
  // Stops the sources, commits what is queued.
  void Stop();

  // Readers.
  Result<std::vector<Finding>> Findings(const FindingFilter& filter) const;
  Result<std::optional<Finding>> GetFinding(const std::string& id) const;
  // The event at `index` of `batch` with what proves it: its canonical bytes, its inclusion
  // path in the batch root, the batch's ledger entry and index (the ledger's own proof routes
  // take it from there), and its confidential part when `confidential` is set.
  Result<Json> EventEvidence(const std::string& batch, uint64_t index, bool confidential) const;
  // Per-source state: cursor, lines, events, dead letters.
  Result<Json> Sources() const;

  struct Impl;

 private:
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The leaf hash of an event's canonical bytes, and the root of a batch: RFC 6962 (also used
// by verifiers and tests).
std::string EventCanonicalType();  // "cloudpact.operation-event/v1"
// An event's canonical bytes (RFC 8785): the event as parsed, what it resolved to, its
// coverage and findings, and the commitment to its confidential part when it has one.
std::string EventCanonical(const SourceConfig& source, const ingest::OperationEvent& event, const Analysis& analysis,
                           const std::string& commitment_hex);

}  // namespace cloudpact::correlation
