// A tlog-tiles client: fetches a checkpoint and every tile and entry bundle it commits to,
// verifies the signature, recomputes every tile and the root from the entries, and checks
// that the log still extends the last checkpoint the client saw. It trusts nothing the
// log says that it cannot recompute.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"

namespace cloudpact::ledger {

// Resolves paths relative to the log prefix: "checkpoint", "tile/0/x001/234.p/7", …
class TileSource {
 public:
  virtual ~TileSource() = default;
  // kNotFound when the resource does not exist; other errors for transport failures.
  virtual Result<std::string> Get(const std::string& path) = 0;
};

std::unique_ptr<TileSource> DirectoryTileSource(std::string dir);
// http:// or https:// prefix, e.g. "http://127.0.0.1:8080/ledger". Keeps one connection.
Result<std::unique_ptr<TileSource>> HttpTileSource(const std::string& url);

// What a verifier remembers between runs (the --state file).
struct VerifierState {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  // The right edge of the tree at `size`: the roots of its perfect subtrees, largest
  // first (one per set bit of size). With it the next run fetches only new tiles and
  // proves the new root extends this one. Empty: the next run audits everything.
  std::vector<Hash> frontier;
  std::string ToJson() const;
  static Result<VerifierState> FromJson(std::string_view text);
};

// Receives each entry whose hash matched its tile, in index order. Entries arrive before
// the root is checked: trust them only if VerifyLog then returns OK.
using EntryCallback = std::function<void(uint64_t index, std::string_view entry)>;

struct VerifyOptions {
  bool check_entries = true;  // fetch entry bundles and rehash them against level-0 tiles
  // With a previous state that has a frontier, verify only what was added since; false
  // re-audits every tile at every level.
  bool incremental = true;
  std::vector<crypto::NoteVerifier> witnesses;  // cosignatures to check and report
  std::optional<VerifierState> previous;
  EntryCallback on_entry;  // only with check_entries; incremental runs see only new entries
};

struct VerifyReport {
  Checkpoint checkpoint;
  VerifierState state;  // what to remember for the next run
  bool incremental = false;  // only the tiles added since `previous` were fetched
  std::vector<std::string> cosigned_by;  // witnesses whose cosignature verified
  uint64_t tiles_checked = 0;
  uint64_t entries_checked = 0;
  bool consistent_with_previous = false;  // true when a previous state was given and holds
};

// kPermissionDenied for a bad signature, kDataLoss for any mismatch (tile, entry, root,
// consistency), kInvalidArgument for malformed data, kNotFound for missing tiles.
Result<VerifyReport> VerifyLog(TileSource& source, const crypto::NoteVerifier& log_key,
                               const VerifyOptions& options);

}  // namespace cloudpact::ledger
