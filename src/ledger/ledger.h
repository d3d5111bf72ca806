// The transparency ledger: a batching sequencer that makes appends durable before it
// acknowledges them, an in-memory Merkle tree rebuilt from storage at start, checkpoints
// signed as C2SP signed notes, tiles and proofs for readers, witness cosignatures, and
// off-tree confidential content that can be erased without breaking the tree.
//
// Every module writes its evidence through Append/AppendAsync; the HTTP API is one caller.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"
#include "storage/storage.h"

namespace cloudpact::ledger {

struct LedgerOptions {
  // Longest time between an acknowledged append and a checkpoint that includes it.
  std::chrono::milliseconds checkpoint_interval{500};
  size_t max_batch = 4096;     // leaves per storage transaction (group commit)
  size_t max_queue = 200'000;  // pending appends before callers get kResourceExhausted
  std::vector<crypto::NoteVerifier> witnesses;  // whose cosignatures we accept and serve
};

// What a caller asks to record. The ledger stamps time and actor, and builds the leaf.
struct AppendRequest {
  std::string type;                 // e.g. "access.approval"; [a-z0-9._-], 1..64 chars
  Json body = Json::object();       // public part, in the leaf in clear
  std::string actor;                // authenticated identity of the caller
  std::optional<Json> confidential; // kept off-tree; the leaf holds a salted commitment
};

struct Appended {
  uint64_t index = 0;
  Hash leaf_hash{};
};

// Reader's view of an off-tree confidential part.
struct ConfidentialPart {
  std::string salt_hex;
  std::string content;  // the canonical JSON that was committed to
};

using AppendCallback = std::function<void(Result<Appended>)>;

class Ledger {
 public:
  // Rebuilds the tree from storage and checks the stored checkpoint against it: a
  // mismatch is kDataLoss and the ledger does not open.
  static Result<std::unique_ptr<Ledger>> Open(storage::Storage& store, crypto::NoteSigner signer,
                                              LedgerOptions options);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Validates and canonicalises the request; `done` runs (on the sequencer thread) once the
  // entry is durable, or with the error that kept it from being recorded. Invalid requests
  // and a full queue fail synchronously through `done` too.
  void AppendAsync(AppendRequest request, AppendCallback done);
  Result<Appended> Append(AppendRequest request);  // blocking convenience
  // Appends all and waits for every one; the first error if any failed (the others may
  // still have been recorded: evidence of an attempted change is never withdrawn).
  Result<std::vector<Appended>> AppendMany(std::vector<AppendRequest> requests);
  // Appends pre-built leaf bytes (benchmarks and replication); same durability contract.
  void AppendRawAsync(std::string entry, AppendCallback done);

  // The entry bytes a request would produce at the given time (exposed for tests).
  static Result<storage::LedgerLeaf> BuildLeaf(const AppendRequest& request, const std::string& time);

  uint64_t Size() const;  // durable, in the tree
  const std::string& origin() const { return signer_.name(); }
  crypto::NoteVerifier Verifier() const { return signer_.Verifier(); }

  // The latest signed checkpoint with the witnesses' cosignatures for it.
  std::string CheckpointNote() const;
  Checkpoint LatestCheckpoint() const;
  // Signs and stores a checkpoint of the current tree now, if it grew (tests, shutdown).
  Status PublishCheckpoint();

  Result<std::string> ReadTile(const TileRef& ref) const;  // hash tile or entry bundle
  Result<std::string> ReadEntry(uint64_t index) const;
  Result<Hash> Root(uint64_t size) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t from, uint64_t to) const;

  Result<std::optional<ConfidentialPart>> ReadConfidential(uint64_t index) const;
  // Deletes an entry's confidential content and salt after recording the erasure as an
  // entry of its own ("ledger.erasure"); nothing is deleted if that record fails.
  Result<Appended> EraseConfidential(uint64_t index, const std::string& reason, const std::string& actor);

  // Accepts a copy of the current checkpoint carrying witness cosignatures (C2SP
  // tlog-cosignature). Returns how many known witnesses' signatures were stored.
  Result<size_t> AddCosignatures(std::string_view signed_note);

  // Stops accepting appends, commits everything queued, publishes a last checkpoint.
  void Stop();

 private:
  struct Pending {
    storage::LedgerLeaf leaf;
    AppendCallback done;
    std::chrono::steady_clock::time_point enqueued;
  };

  Ledger(storage::Storage& store, crypto::NoteSigner signer, LedgerOptions options);
  Status Load();
  void Enqueue(storage::LedgerLeaf leaf, AppendCallback done);
  void SequencerLoop();
  void CheckpointLoop();
  Status Resync();  // after a failed commit, adopt whatever storage actually holds
  Status PublishLocked();
  // Rebuilds checkpoint_note_ from checkpoint_, signature_line_ and stored cosignatures.
  Status ComposeNoteLocked();

  storage::Storage& store_;
  const crypto::NoteSigner signer_;
  const LedgerOptions options_;

  mutable std::shared_mutex tree_mu_;
  MerkleTree tree_;  // GUARDED_BY(tree_mu_)

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;  // GUARDED_BY(queue_mu_)
  bool stopping_ = false;      // GUARDED_BY(queue_mu_)

  mutable std::mutex checkpoint_mu_;  // serialises publishing; guards the two below
  std::condition_variable checkpoint_cv_;
  Checkpoint checkpoint_;
  std::string checkpoint_note_;  // checkpoint text, the log's signature, then cosignatures
  std::string signature_line_;   // the log's own signature line for checkpoint_
  std::chrono::steady_clock::time_point last_publish_;
  // When the oldest entry not yet in a checkpoint became durable; unset when none is.
  std::optional<std::chrono::steady_clock::time_point> oldest_unpublished_;
  bool checkpoint_stop_ = false;

  std::thread sequencer_;
  std::thread checkpointer_;
  std::once_flag stop_once_;
};

}  // namespace cloudpact::ledger
