// The one storage interface of cloudpact. Two real backends implement it — SQLite (the
// embedded default) and PostgreSQL — and both pass the same test suite
// (storage_suite_test.cc). Each module owns its own methods here; no module reads
// another's tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "crypto/sha256.h"

namespace cloudpact::storage {

// One ledger leaf as the sequencer commits it.
struct LedgerLeaf {
  std::string entry;                    // the exact leaf bytes (RFC 8785 JSON)
  crypto::Hash leaf_hash{};             // RFC 6962 leaf hash of entry
  std::optional<std::string> salt;      // off-tree confidential part, committed to in entry
  std::optional<std::string> confidential;
};

struct Confidential {
  std::string salt;
  std::string content;
};

struct ApiToken {
  std::string id;                        // public identifier, e.g. "tok_…"
  std::string name;                      // who it belongs to (stamped into ledger entries)
  crypto::Hash secret_hash{};            // SHA-256 of the bearer secret; the secret is never stored
  std::vector<std::string> permissions;  // e.g. "ledger:append", or "*" for all
  int64_t created_unix = 0;
  int64_t expires_unix = 0;              // 0: no expiry
};

// A module's own state as a versioned JSON document. Kinds are namespaced by module
// ("directory.staff", "access.request", …); a module reads and writes only its own kinds.
struct Record {
  std::string kind;
  std::string id;
  std::string body;      // JSON text
  int64_t version = 0;   // 1 on first write, +1 on each update
  int64_t updated_unix = 0;
};

struct RecordWrite {
  static constexpr int64_t kAnyVersion = -1;
  std::string kind;
  std::string id;
  std::string body;
  // 0: the record must not exist yet; n > 0: it must be at version n (optimistic
  // concurrency); kAnyVersion: upsert unconditionally.
  int64_t expected_version = kAnyVersion;
  bool erase = false;
};

// A value bound to, or read from, the SQL tables of the assessment: NULL, an integer, text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// One statement and the parameter rows it runs with ('?' placeholders, in either backend).
// With no rows it runs once without parameters (DDL, DELETE …).
struct SqlBatch {
  std::string sql;
  std::vector<std::vector<SqlValue>> rows;
};

// One row of a query's result, valid only during the callback. Every value reads as text
// (integers in decimal), the one representation both backends give alike.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual size_t size() const = 0;
  virtual bool IsNull(size_t column) const = 0;
  virtual std::string_view Text(size_t column) const = 0;
};
using SqlRowFn = std::function<Status(const SqlRow&)>;

class Storage {
 public:
  virtual ~Storage() = default;

  // Opens "sqlite:PATH" (or a bare path), or "postgresql://…"; applies pending migrations.
  static Result<std::unique_ptr<Storage>> Open(const std::string& url);

  virtual std::string Backend() const = 0;  // "sqlite" or "postgresql"
  virtual Result<int> SchemaVersion() = 0;

  // --- ledger ---
  // Number of committed leaves.
  virtual Result<uint64_t> LedgerSize() = 0;
  // Commits leaves at [first_index, first_index + n) atomically and durably (fsync'd before
  // returning OK). kFailedPrecondition if first_index is not the current size: a second
  // sequencer must never interleave.
  virtual Status AppendLeaves(uint64_t first_index, const std::vector<LedgerLeaf>& leaves) = 0;
  // Entries [begin, end), in order; fewer if the log is shorter.
  virtual Result<std::vector<std::string>> ReadEntries(uint64_t begin, uint64_t end) = 0;
  // Leaf hashes [begin, end), in order, to rebuild the in-memory tree at start.
  virtual Result<std::vector<crypto::Hash>> ReadLeafHashes(uint64_t begin, uint64_t end) = 0;
  virtual Result<std::optional<Confidential>> ReadConfidential(uint64_t index) = 0;
  // Deletes content and salt; the leaf (and so the tree) is untouched. kNotFound if none.
  virtual Status EraseConfidential(uint64_t index) = 0;
  // The latest published checkpoint (signed note), replaced atomically.
  virtual Status SaveCheckpoint(uint64_t size, const std::string& note) = 0;
  virtual Result<std::optional<std::string>> LatestCheckpoint() = 0;
  // Cosignature lines by witness key name, for the checkpoint of the given size.
  virtual Status SaveCosignature(const std::string& witness, uint64_t size, const std::string& line) = 0;
  virtual Result<std::vector<std::string>> Cosignatures(uint64_t size) = 0;

  // --- API tokens ---
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<std::optional<ApiToken>> FindToken(const crypto::Hash& secret_hash) = 0;
  virtual Result<std::vector<ApiToken>> ListTokens() = 0;

  // --- records ---
  // Applies every write in one transaction, durably. kFailedPrecondition, with nothing
  // written, if any record's version is not the expected one.
  virtual Status WriteRecords(const std::vector<RecordWrite>& writes) = 0;
  virtual Result<std::optional<Record>> GetRecord(const std::string& kind, const std::string& id) = 0;
  // Every record of a kind, ordered by id (bytewise).
  virtual Result<std::vector<Record>> ListRecords(const std::string& kind) = 0;

  // --- SQL tables of the assessment (issue 6) ---
  // The assessment's checks are SQL that must run unchanged on both backends, so its
  // inventory and results live in tables of its own, named "inventory", "inv_*" and
  // "assess_*", which only src/assess creates and touches (through these two calls).
  // Runs every batch in one transaction, durably; on error nothing is written.
  virtual Status ExecuteSql(const std::vector<SqlBatch>& batches) = 0;
  // Runs one query read-only (the database refuses writes: a read-only SQLite connection,
  // a READ ONLY PostgreSQL transaction) and streams its rows to on_row; an error from
  // on_row stops the query and is returned. Longer than `timeout`: kResourceExhausted.
  // Safe to call from several threads at once (each call uses its own connection).
  virtual Status QuerySql(const std::string& sql, const std::vector<SqlValue>& params,
                          const SqlRowFn& on_row, std::chrono::milliseconds timeout) = 0;
};

// Migrations are SQL that both backends accept; each backend adds its own dialect bits.
struct Migration {
  int version;
  const char* description;
  const char* sql;  // may hold several statements separated by ';'
};
const std::vector<Migration>& Migrations(std::string_view backend);

}  // namespace cloudpact::storage
