#include "storage/postgres/postgres_storage.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/time.h"

namespace cloudpact::storage {
namespace {

using crypto::Hash;

// Type OIDs from pg_type.h (server headers are not a build dependency). They are fixed by
// the PostgreSQL catalog and have never changed.
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8ArrayOid = 1016;
constexpr Oid kByteaArrayOid = 1001;

// Key for pg_advisory_xact_lock while migrating ("cloudpac" in ASCII), so that servers
// starting at once against one database apply each migration exactly once.
constexpr int64_t kMigrationLockKey = 0x636c6f7564706163;

// AppendLeaves sends leaves in chunks bounded by rows and bytes: one array parameter per
// column keeps round trips low, but a protocol message must stay far below libpq's and the
// server's 1 GiB limits even for batches of large entries.
constexpr size_t kChunkMaxRows = 4096;
constexpr size_t kChunkMaxBytes = 32 << 20;

// Same bound as SQLite's busy_timeout: a writer stuck behind another fails as kUnavailable
// instead of hanging the caller.
constexpr const char* kLockTimeout = "SET LOCAL lock_timeout = '5s'";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Errors a caller may retry (the server or the network is the problem, not the request).
// The analogue of SQLITE_BUSY/LOCKED/FULL/IOERR in the SQLite backend.
bool IsTransient(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return true;  // no SQLSTATE: libpq lost the connection
  std::string_view cls = sqlstate.substr(0, 2);
  return cls == "08" ||        // connection exception
         cls == "40" ||        // serialization failure, deadlock
         cls == "53" ||        // insufficient resources (disk full, out of memory)
         cls == "57" ||        // operator intervention (shutdown, cancel)
         cls == "58" ||        // system error (I/O)
         sqlstate == "55P03";  // lock_not_available (lock_timeout)
}

std::string TrimMessage(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown error" : s;
}

// One statement parameter. Text parameters own a NUL-terminated copy because libpq reads
// text-format values as C strings; binary ones borrow the caller's bytes, which outlive the
// call, to avoid copying entries.
struct Param {
  static Param Int(int64_t v) { return Param{std::to_string(v), {}, kInt8Oid, false}; }
  static Param Text(std::string_view v) { return Param{std::string(v), {}, kTextOid, false}; }
  static Param Bytes(std::string_view v) { return Param{{}, v, kByteaOid, true}; }
  static Param Array(std::string encoded, Oid type) {
    return Param{std::move(encoded), {}, type, true, true};
  }

  std::string owned;
  std::string_view borrowed;
  Oid type;
  bool binary;
  bool binary_owned = false;

  std::string_view view() const { return binary && !binary_owned ? borrowed : owned; }
};

void PutInt32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void PutInt64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// A one-dimensional array in PostgreSQL's binary wire format (array_recv): ndim, has-null
// flag, element type, then per dimension its length and lower bound, then each element as
// a length-prefixed value.
class ArrayWriter {
 public:
  ArrayWriter(Oid element_type, size_t n) {
    PutInt32(buf_, 1);
    PutInt32(buf_, 0);
    PutInt32(buf_, element_type);
    PutInt32(buf_, static_cast<uint32_t>(n));
    PutInt32(buf_, 1);
  }
  void AddBytes(std::string_view v) {
    PutInt32(buf_, static_cast<uint32_t>(v.size()));
    buf_.append(v);
  }
  void AddInt64(int64_t v) {
    PutInt32(buf_, 8);
    PutInt64(buf_, static_cast<uint64_t>(v));
  }
  std::string Take() && { return std::move(buf_); }

 private:
  std::string buf_;
};

// A query's rows, always fetched in binary format so that BYTEA arrives as raw bytes.
class Rows {
 public:
  explicit Rows(ResultPtr r) : r_(std::move(r)) {}
  int size() const { return PQntuples(r_.get()); }
  // Binary integers are big-endian; their width follows the column type (INTEGER: 4,
  // BIGINT: 8), so decode by length rather than trusting the caller to know it.
  int64_t Int(int row, int col) const {
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col));
    int n = PQgetlength(r_.get(), row, col);
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
    if (n > 0 && n < 8 && (p[0] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string Bytes(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  std::string Text(int row, int col) const { return Bytes(row, col); }
  // Rows touched by INSERT/UPDATE/DELETE.
  uint64_t Affected() const {
    const char* n = PQcmdTuples(r_.get());
    return (n && *n) ? std::strtoull(n, nullptr, 10) : 0;
  }

 private:
  ResultPtr r_;
};

class Connection {
 public:
  ~Connection() {
    if (conn_) PQfinish(conn_);
  }

  Status Open(const std::string& url) {
    conn_ = PQconnectdb(url.c_str());
    if (!conn_) return MakeError(ErrorCode::kUnavailable, "postgresql: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      // libpq's message names host and cause but never the password.
      return MakeError(ErrorCode::kUnavailable,
                       "postgresql: cannot connect: " + TrimMessage(PQerrorMessage(conn_)));
    }
    return Configure();
  }

  // Runs sql through the simple protocol, which accepts several statements at once and
  // needs no parameters: transaction control and migrations.
  Status Exec(const char* sql) {
    RETURN_IF_ERROR(EnsureConnected());
    ResultPtr r(PQexec(conn_, sql));
    return Check(r.get(), "exec");
  }

  // Runs a statement prepared once per connection (cached by the literal's address, like
  // the SQLite backend), with binary BYTEA parameters and binary results.
  Result<Rows> Query(const char* sql, const std::vector<Param>& params) {
    RETURN_IF_ERROR(EnsureConnected());
    ASSIGN_OR_RETURN(const std::string* name, Prepare(sql, params));
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      std::string_view v = params[i].view();
      if (!params[i].binary && v.find('\0') != std::string_view::npos) {
        // A text value would be silently truncated at the NUL; PostgreSQL TEXT cannot hold
        // one anyway.
        return MakeError(ErrorCode::kInvalidArgument, "postgresql: text value contains NUL");
      }
      values[i] = v.data();
      lengths[i] = static_cast<int>(v.size());
      formats[i] = params[i].binary ? 1 : 0;
    }
    ResultPtr r(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()), values.data(),
                               lengths.data(), formats.data(), /*resultFormat=*/1));
    RETURN_IF_ERROR(Check(r.get(), "query"));
    return Rows(std::move(r));
  }

  // Runs a statement built at run time (the assessment's SQL) once per parameter row, all
  // parameters in text format so that PostgreSQL infers their types from the columns. Rows
  // go through libpq's pipeline mode in chunks: one round trip per chunk rather than per
  // row, which is what makes a million-row import feasible over a network.
  Status ExecDynamic(const std::string& sql, const std::vector<std::vector<SqlValue>>& rows) {
    RETURN_IF_ERROR(EnsureConnected());
    ResultPtr prep(PQprepare(conn_, "cp_dynamic", sql.c_str(), 0, nullptr));
    RETURN_IF_ERROR(Check(prep.get(), "prepare"));
    struct Dealloc {
      PGconn* c;
      ~Dealloc() { ResultPtr r(PQexec(c, "DEALLOCATE cp_dynamic")); }
    };
    if (rows.empty()) {
      ResultPtr r(PQexecPrepared(conn_, "cp_dynamic", 0, nullptr, nullptr, nullptr, 0));
      Status st = Check(r.get(), "execute");
      Dealloc{conn_};
      return st;
    }
    if (PQenterPipelineMode(conn_) != 1) return MakeError(ErrorCode::kUnavailable, "postgresql: cannot enter pipeline mode");
    Status result = OkStatus();
    constexpr size_t kChunk = 1000;
    std::vector<const char*> values;
    for (size_t begin = 0; begin < rows.size() && result.ok(); begin += kChunk) {
      size_t end = std::min(rows.size(), begin + kChunk);
      std::vector<std::string> ints;  // keeps integer texts alive until sent
      for (size_t i = begin; i < end; ++i) {
        values.clear();
        ints.clear();
        ints.reserve(rows[i].size());
        for (const SqlValue& v : rows[i]) {
          if (std::holds_alternative<int64_t>(v)) {
            ints.push_back(std::to_string(std::get<int64_t>(v)));
            values.push_back(ints.back().c_str());
          } else if (std::holds_alternative<std::string>(v)) {
            const auto& t = std::get<std::string>(v);
            if (t.find('\0') != std::string::npos) {
              result = MakeError(ErrorCode::kInvalidArgument, "postgresql: text value contains NUL");
              break;
            }
            values.push_back(t.c_str());
          } else {
            values.push_back(nullptr);
          }
        }
        if (!result.ok()) break;
        if (PQsendQueryPrepared(conn_, "cp_dynamic", static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0) != 1) {
          result = MakeError(ErrorCode::kUnavailable, "postgresql: send: " + TrimMessage(PQerrorMessage(conn_)));
          break;
        }
      }
      if (PQpipelineSync(conn_) != 1) {
        result = MakeError(ErrorCode::kUnavailable, "postgresql: pipeline sync failed");
        break;
      }
      // Drain every result up to the sync point, keeping the first error.
      while (true) {
        ResultPtr r(PQgetResult(conn_));
        if (!r) continue;  // end of one query's results
        ExecStatusType st = PQresultStatus(r.get());
        if (st == PGRES_PIPELINE_SYNC) break;
        if (st == PGRES_FATAL_ERROR && result.ok()) result = Check(r.get(), "execute");
        if (PQstatus(conn_) != CONNECTION_OK) {
          if (result.ok()) result = MakeError(ErrorCode::kUnavailable, "postgresql: connection lost");
          break;
        }
      }
    }
    PQexitPipelineMode(conn_);
    Dealloc{conn_};
    return result;
  }

  // Streams one read-only query's rows (text format) in single-row mode, so a result of
  // millions of rows is never held whole.
  Status QueryStreaming(const std::string& sql, const std::vector<SqlValue>& params, const SqlRowFn& on_row) {
    std::vector<std::string> texts;
    std::vector<const char*> values;
    texts.reserve(params.size());
    for (const SqlValue& v : params) {
      if (std::holds_alternative<int64_t>(v)) {
        texts.push_back(std::to_string(std::get<int64_t>(v)));
      } else if (std::holds_alternative<std::string>(v)) {
        texts.push_back(std::get<std::string>(v));
      } else {
        texts.emplace_back();
      }
    }
    for (size_t i = 0; i < params.size(); ++i) {
      values.push_back(std::holds_alternative<std::monostate>(params[i]) ? nullptr : texts[i].c_str());
    }
    if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0) != 1) {
      return MakeError(ErrorCode::kUnavailable, "postgresql: send: " + TrimMessage(PQerrorMessage(conn_)));
    }
    PQsetSingleRowMode(conn_);
    class Row final : public SqlRow {
     public:
      explicit Row(PGresult* r) : r_(r) {}
      size_t size() const override { return static_cast<size_t>(PQnfields(r_)); }
      bool IsNull(size_t i) const override { return PQgetisnull(r_, 0, static_cast<int>(i)) != 0; }
      std::string_view Text(size_t i) const override {
        return std::string_view(PQgetvalue(r_, 0, static_cast<int>(i)),
                                static_cast<size_t>(PQgetlength(r_, 0, static_cast<int>(i))));
      }

     private:
      PGresult* r_;
    };
    Status result = OkStatus();
    while (ResultPtr r{PQgetResult(conn_)}) {
      ExecStatusType st = PQresultStatus(r.get());
      if (st == PGRES_SINGLE_TUPLE) {
        if (result.ok()) {
          Row row(r.get());
          result = on_row(row);
          if (!result.ok()) PQrequestCancel(conn_);  // stop sending; drain what is in flight
        }
      } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && result.ok()) {
        result = Check(r.get(), "query");
      }
    }
    return result;
  }

  // SQLSTATE and constraint of the last failed statement, for callers that map specific
  // violations (like sqlite3_extended_errcode in the SQLite backend).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  const std::string& last_constraint() const { return last_constraint_; }

  // A transaction left open by an error (e.g. the connection died between statements)
  // must not swallow the next caller's statements.
  void RollbackIfOpen() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
      ResultPtr r(PQexec(conn_, "ROLLBACK"));
    }
  }

  std::mutex mu;

 private:
  Status Configure() {
    // Text columns come back in the client encoding; pin it so results do not depend on
    // the server's or the environment's defaults.
    if (PQsetClientEncoding(conn_, "UTF8") != 0) {
      return MakeError(ErrorCode::kUnavailable, "postgresql: cannot set client encoding: " +
                                                    TrimMessage(PQerrorMessage(conn_)));
    }
    // An acknowledged entry must be on disk. A server configured with
    // synchronous_commit=off (or local, on a replicated primary) would acknowledge before
    // that; raise it to at least "on" for this session, keeping stricter settings.
    ResultPtr r(PQexec(conn_, "SHOW synchronous_commit"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      return MakeError(ErrorCode::kUnavailable, "postgresql: cannot read synchronous_commit");
    }
    std::string level = PQgetvalue(r.get(), 0, 0);
    if (level == "off" || level == "local") {
      ResultPtr set(PQexec(conn_, "SET synchronous_commit TO on"));
      if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
        return MakeError(ErrorCode::kUnavailable, "postgresql: cannot set synchronous_commit");
      }
    }
    return OkStatus();
  }

  // After the server restarts or the network drops, reconnect on the next call instead of
  // failing forever; prepared statements die with the old session.
  Status EnsureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) return OkStatus();
    PQreset(conn_);
    statements_.clear();
    if (PQstatus(conn_) != CONNECTION_OK) {
      return MakeError(ErrorCode::kUnavailable,
                       "postgresql: reconnect failed: " + TrimMessage(PQerrorMessage(conn_)));
    }
    return Configure();
  }

  Result<const std::string*> Prepare(const char* sql, const std::vector<Param>& params) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return &it->second;
    std::string name = "cp_" + std::to_string(statements_.size() + 1);
    std::vector<Oid> types(params.size());
    for (size_t i = 0; i < params.size(); ++i) types[i] = params[i].type;
    ResultPtr r(PQprepare(conn_, name.c_str(), sql, static_cast<int>(types.size()), types.data()));
    RETURN_IF_ERROR(Check(r.get(), "prepare"));
    return &statements_.emplace(sql, std::move(name)).first->second;
  }

  Status Check(PGresult* r, std::string_view what) {
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return OkStatus();
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    last_sqlstate_ = state ? state : "";
    last_constraint_ = constraint ? constraint : "";
    // Only the primary message: DETAIL may quote row values (a duplicate key shows the
    // secret hash, a failed insert could show confidential content), and errors travel.
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (!primary && r && *PQresultErrorMessage(r)) primary = PQresultErrorMessage(r);
    std::string msg = TrimMessage(primary ? primary : PQerrorMessage(conn_));
    bool transient = IsTransient(last_sqlstate_) || PQstatus(conn_) != CONNECTION_OK;
    return MakeError(transient ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                     "postgresql: " + std::string(what) + ": " + msg);
  }

  PGconn* conn_ = nullptr;
  std::unordered_map<const char*, std::string> statements_;  // keyed by the literal's address
  std::string last_sqlstate_;
  std::string last_constraint_;
};

std::string JoinPermissions(const std::vector<std::string>& p) { return Json(p).dump(); }
std::vector<std::string> SplitPermissions(const std::string& s) {
  auto j = ParseJson(s);
  if (!j.ok() || !j->is_array()) return {};
  std::vector<std::string> out;
  for (const auto& e : *j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

// '?' → '$1', '$2', … outside quoted strings and identifiers, so the assessment writes one
// SQL text for both backends.
std::string NumberPlaceholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
      out.push_back(ch);
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out.push_back(ch);
    } else if (ch == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

class PostgresStorage final : public Storage {
 public:
  Status Init(const std::string& url) {
    url_ = url;
    RETURN_IF_ERROR(w_.Open(url));
    RETURN_IF_ERROR(Migrate());
    RETURN_IF_ERROR(r_.Open(url));
    return OkStatus();
  }

  std::string Backend() const override { return "postgresql"; }

  Result<int> SchemaVersion() override {
    std::lock_guard<std::mutex> lock(w_.mu);
    return CurrentVersion();
  }

  Result<uint64_t> LedgerSize() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows,
                     r_.Query("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", {}));
    return rows.size() > 0 ? static_cast<uint64_t>(rows.Int(0, 0)) : 0;
  }

  // Durability: COMMIT returns only after the WAL record is flushed to disk, because every
  // session runs with synchronous_commit at least "on" (Configure); a stricter setting such
  // as remote_apply is kept. fsync=off on the server would defeat this, and is the
  // operator's to avoid.
  Status AppendLeaves(uint64_t first_index, const std::vector<LedgerLeaf>& leaves) override {
    // A failed COMMIT (or a lost connection during it) leaves the outcome unknown to us;
    // kUnavailable lets the sequencer retry, and the size check makes a retry safe.
    return WriteTransaction([&] { return AppendLocked(first_index, leaves); });
  }

  Result<std::vector<std::string>> ReadEntries(uint64_t begin, uint64_t end) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(
        Rows rows,
        r_.Query("SELECT entry FROM ledger_leaves WHERE idx >= $1 AND idx < $2 "
                 "ORDER BY idx",
                 {Param::Int(static_cast<int64_t>(begin)), Param::Int(static_cast<int64_t>(end))}));
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.Bytes(i, 0));
    return out;
  }

  Result<std::vector<Hash>> ReadLeafHashes(uint64_t begin, uint64_t end) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT idx, leaf_hash FROM ledger_leaves "
                                         "WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                                         {Param::Int(static_cast<int64_t>(begin)),
                                          Param::Int(static_cast<int64_t>(end))}));
    std::vector<Hash> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) {
      std::string h = rows.Bytes(i, 1);
      if (h.size() != 32 || static_cast<uint64_t>(rows.Int(i, 0)) != begin + out.size()) {
        return MakeError(ErrorCode::kDataLoss,
                         "postgresql: ledger leaves are not contiguous or hashes are malformed");
      }
      Hash hash;
      std::memcpy(hash.data(), h.data(), 32);
      out.push_back(hash);
    }
    return out;
  }

  Result<std::optional<Confidential>> ReadConfidential(uint64_t index) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows,
                     r_.Query("SELECT salt, content FROM ledger_confidential WHERE idx = $1",
                              {Param::Int(static_cast<int64_t>(index))}));
    if (rows.size() == 0) return std::optional<Confidential>();
    return std::optional<Confidential>(Confidential{rows.Bytes(0, 0), rows.Bytes(0, 1)});
  }

  Status EraseConfidential(uint64_t index) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Rows rows, w_.Query("DELETE FROM ledger_confidential WHERE idx = $1",
                                         {Param::Int(static_cast<int64_t>(index))}));
    if (rows.Affected() == 0) {
      return MakeError(ErrorCode::kNotFound, "no confidential content at that index");
    }
    return OkStatus();
  }

  Status SaveCheckpoint(uint64_t size, const std::string& note) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Rows rows,
                     w_.Query("INSERT INTO ledger_checkpoint (id, size, note) VALUES (1, $1, $2) "
                              "ON CONFLICT (id) DO UPDATE SET size = excluded.size, "
                              "note = excluded.note",
                              {Param::Int(static_cast<int64_t>(size)), Param::Text(note)}));
    return OkStatus();
  }

  Result<std::optional<std::string>> LatestCheckpoint() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT note FROM ledger_checkpoint WHERE id = 1", {}));
    if (rows.size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows.Text(0, 0));
  }

  Status SaveCosignature(const std::string& witness, uint64_t size,
                         const std::string& line) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Rows rows,
                     w_.Query("INSERT INTO ledger_cosignatures (witness, size, line) "
                              "VALUES ($1, $2, $3) "
                              "ON CONFLICT (witness, size) DO UPDATE SET line = excluded.line",
                              {Param::Text(witness), Param::Int(static_cast<int64_t>(size)),
                               Param::Text(line)}));
    return OkStatus();
  }

  Result<std::vector<std::string>> Cosignatures(uint64_t size) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    // COLLATE "C": byte order, as SQLite's default BINARY collation, whatever the
    // database's locale.
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT line FROM ledger_cosignatures WHERE size = $1 "
                                         "ORDER BY witness COLLATE \"C\"",
                                         {Param::Int(static_cast<int64_t>(size))}));
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) out.push_back(rows.Text(i, 0));
    return out;
  }

  Status PutToken(const ApiToken& t) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    auto rows = w_.Query(
        "INSERT INTO api_tokens (id, name, secret_hash, permissions, created_unix, "
        "expires_unix) VALUES ($1, $2, $3, $4, $5, $6)",
        {Param::Text(t.id), Param::Text(t.name), Param::Bytes(crypto::AsBytes(t.secret_hash)),
         Param::Text(JoinPermissions(t.permissions)), Param::Int(t.created_unix),
         Param::Int(t.expires_unix)});
    // Only a duplicate id is kAlreadyExists, as in SQLite; a duplicate secret hash is a
    // different (and alarming) problem and stays an internal error.
    if (!rows.ok() && w_.last_sqlstate() == "23505" && w_.last_constraint() == "api_tokens_pkey") {
      return MakeError(ErrorCode::kAlreadyExists, "token id already exists");
    }
    if (!rows.ok()) return std::move(rows).error();
    return OkStatus();
  }

  Result<std::optional<ApiToken>> FindToken(const Hash& secret_hash) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT id, name, secret_hash, permissions, created_unix, "
                                         "expires_unix FROM api_tokens WHERE secret_hash = $1",
                                         {Param::Bytes(crypto::AsBytes(secret_hash))}));
    if (rows.size() == 0) return std::optional<ApiToken>();
    return std::optional<ApiToken>(ReadToken(rows, 0));
  }

  Result<std::vector<ApiToken>> ListTokens() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(
        Rows rows, r_.Query("SELECT id, name, secret_hash, permissions, created_unix, "
                            "expires_unix FROM api_tokens ORDER BY created_unix, id COLLATE \"C\"",
                            {}));
    std::vector<ApiToken> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadToken(rows, i));
    return out;
  }

  Status WriteRecords(const std::vector<RecordWrite>& writes) override {
    return WriteTransaction([&] { return WriteRecordsLocked(writes); });
  }

  Result<std::optional<Record>> GetRecord(const std::string& kind, const std::string& id) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT kind, id, body, version, updated_unix FROM records "
                                         "WHERE kind = $1 AND id = $2",
                                         {Param::Text(kind), Param::Text(id)}));
    if (rows.size() == 0) return std::optional<Record>();
    return std::optional<Record>(ReadRecord(rows, 0));
  }

  Result<std::vector<Record>> ListRecords(const std::string& kind) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Rows rows, r_.Query("SELECT kind, id, body, version, updated_unix FROM records "
                                         "WHERE kind = $1 ORDER BY id",
                                         {Param::Text(kind)}));
    std::vector<Record> out;
    out.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) out.push_back(ReadRecord(rows, i));
    return out;
  }

  Status ExecuteSql(const std::vector<SqlBatch>& batches) override {
    return WriteTransaction([&]() -> Status {
      for (const SqlBatch& b : batches) RETURN_IF_ERROR(w_.ExecDynamic(NumberPlaceholders(b.sql), b.rows));
      return OkStatus();
    });
  }

  // Each call has its own session (so checks run in parallel), in a READ ONLY transaction
  // with a statement_timeout: the server refuses writes and stops runaway queries itself.
  Status QuerySql(const std::string& sql, const std::vector<SqlValue>& params, const SqlRowFn& on_row,
                  std::chrono::milliseconds timeout) override {
    Connection c;
    RETURN_IF_ERROR(c.Open(url_));
    RETURN_IF_ERROR(c.Exec("BEGIN READ ONLY"));
    std::string set = "SET LOCAL statement_timeout = " + std::to_string(std::max<int64_t>(1, timeout.count()));
    RETURN_IF_ERROR(c.Exec(set.c_str()));
    Status st = c.QueryStreaming(NumberPlaceholders(sql), params, on_row);
    c.RollbackIfOpen();
    if (!st.ok() && c.last_sqlstate() == "57014") {  // query_canceled: the timeout
      return MakeError(ErrorCode::kResourceExhausted,
                       "postgresql: query took longer than " + std::to_string(timeout.count()) + " ms");
    }
    if (!st.ok() && st.error().code == ErrorCode::kInternal) {
      return MakeError(ErrorCode::kInvalidArgument, st.error().message);  // the SQL's fault
    }
    return st;
  }

 private:
  // Runs `body` in one transaction on the writer connection: all of it is committed, or none.
  template <typename F>
  Status WriteTransaction(F&& body) {
    std::lock_guard<std::mutex> lock(w_.mu);
    w_.RollbackIfOpen();
    RETURN_IF_ERROR(w_.Exec("BEGIN"));
    Status st = body();
    if (!st.ok()) {
      (void)w_.Exec("ROLLBACK");
      return st;
    }
    if (auto c = w_.Exec("COMMIT"); !c.ok()) {
      w_.RollbackIfOpen();
      return MakeError(ErrorCode::kUnavailable, c.error().message);
    }
    return OkStatus();
  }

  static Record ReadRecord(const Rows& rows, int i) {
    return Record{rows.Text(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Int(i, 3), rows.Int(i, 4)};
  }

  // Each write is one conditional statement, so that the version check and the write are
  // atomic even across server processes (a SELECT … FOR UPDATE cannot lock a row that does
  // not exist yet, so two creators could both pass it).
  Status WriteRecordsLocked(const std::vector<RecordWrite>& writes) {
    const int64_t now = UnixSeconds(SystemNow());
    for (const RecordWrite& w : writes) {
      Result<Rows> rows = MakeError(ErrorCode::kInternal, "unreachable");
      const bool any = w.expected_version == RecordWrite::kAnyVersion;
      if (w.erase) {
        rows = w_.Query("DELETE FROM records WHERE kind = $1 AND id = $2 AND ($3 < 0 OR version = $3)",
                        {Param::Text(w.kind), Param::Text(w.id), Param::Int(w.expected_version)});
      } else if (any) {
        rows = w_.Query("INSERT INTO records (kind, id, version, body, updated_unix) VALUES ($1, $2, 1, $3, $4) "
                        "ON CONFLICT (kind, id) DO UPDATE SET version = records.version + 1, body = excluded.body, "
                        "updated_unix = excluded.updated_unix",
                        {Param::Text(w.kind), Param::Text(w.id), Param::Text(w.body), Param::Int(now)});
      } else if (w.expected_version == 0) {
        rows = w_.Query("INSERT INTO records (kind, id, version, body, updated_unix) VALUES ($1, $2, 1, $3, $4) "
                        "ON CONFLICT (kind, id) DO NOTHING",
                        {Param::Text(w.kind), Param::Text(w.id), Param::Text(w.body), Param::Int(now)});
      } else {
        rows = w_.Query("UPDATE records SET version = version + 1, body = $3, updated_unix = $4 "
                        "WHERE kind = $1 AND id = $2 AND version = $5",
                        {Param::Text(w.kind), Param::Text(w.id), Param::Text(w.body), Param::Int(now),
                         Param::Int(w.expected_version)});
      }
      if (!rows.ok()) return std::move(rows).error();
      if (!any && rows->Affected() == 0) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "record " + w.kind + "/" + w.id + " is not at version " + std::to_string(w.expected_version));
      }
    }
    return OkStatus();
  }

 private:
  static ApiToken ReadToken(const Rows& rows, int i) {
    ApiToken t;
    t.id = rows.Text(i, 0);
    t.name = rows.Text(i, 1);
    std::string h = rows.Bytes(i, 2);
    if (h.size() == 32) std::memcpy(t.secret_hash.data(), h.data(), 32);
    t.permissions = SplitPermissions(rows.Text(i, 3));
    t.created_unix = rows.Int(i, 4);
    t.expires_unix = rows.Int(i, 5);
    return t;
  }

  Result<int> CurrentVersion() {
    ASSIGN_OR_RETURN(Rows rows,
                     w_.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}));
    return rows.size() > 0 ? static_cast<int>(rows.Int(0, 0)) : 0;
  }

  Status Migrate() {
    std::lock_guard<std::mutex> lock(w_.mu);
    RETURN_IF_ERROR(w_.Exec("BEGIN"));
    auto apply = [&]() -> Status {
      // Held until COMMIT: a second server starting now waits here and then sees our
      // migrations as applied. CREATE TABLE IF NOT EXISTS alone is not safe concurrently.
      ASSIGN_OR_RETURN(Rows locked, w_.Query("SELECT pg_advisory_xact_lock($1)",
                                             {Param::Int(kMigrationLockKey)}));
      // IF NOT EXISTS raises a NOTICE on every start after the first, which libpq would
      // print to stderr.
      RETURN_IF_ERROR(w_.Exec("SET LOCAL client_min_messages = warning"));
      RETURN_IF_ERROR(
          w_.Exec("CREATE TABLE IF NOT EXISTS schema_migrations "
                  "(version INTEGER PRIMARY KEY, description TEXT NOT NULL)"));
      ASSIGN_OR_RETURN(int current, CurrentVersion());
      for (const auto& m : Migrations("postgresql")) {
        if (m.version <= current) continue;
        RETURN_IF_ERROR(w_.Exec(m.sql));
        ASSIGN_OR_RETURN(Rows inserted,
                         w_.Query("INSERT INTO schema_migrations (version, description) "
                                  "VALUES ($1, $2)",
                                  {Param::Int(m.version), Param::Text(m.description)}));
      }
      return OkStatus();
    };
    Status st = apply();
    if (!st.ok()) {
      (void)w_.Exec("ROLLBACK");
      return st;
    }
    return w_.Exec("COMMIT");
  }

  Status AppendLocked(uint64_t first_index, const std::vector<LedgerLeaf>& leaves) {
    RETURN_IF_ERROR(w_.Exec(kLockTimeout));
    // Serialises appenders (another process included) the way BEGIN IMMEDIATE does in
    // SQLite, so a second sequencer reads the committed size and gets kFailedPrecondition
    // rather than a unique violation. SHARE ROW EXCLUSIVE conflicts with itself and with
    // INSERT, but not with plain SELECT, so readers are not blocked.
    RETURN_IF_ERROR(w_.Exec("LOCK TABLE ledger_leaves IN SHARE ROW EXCLUSIVE MODE"));
    ASSIGN_OR_RETURN(Rows size_q,
                     w_.Query("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves", {}));
    uint64_t size = size_q.size() > 0 ? static_cast<uint64_t>(size_q.Int(0, 0)) : 0;
    if (size != first_index) {
      return MakeError(ErrorCode::kFailedPrecondition, "ledger: append at " +
                                                           std::to_string(first_index) +
                                                           " but size is " + std::to_string(size));
    }
    size_t begin = 0;
    while (begin < leaves.size()) {
      size_t end = begin;
      size_t bytes = 0;
      while (end < leaves.size() && end - begin < kChunkMaxRows) {
        const LedgerLeaf& leaf = leaves[end];
        size_t leaf_bytes = leaf.entry.size() + (leaf.salt ? leaf.salt->size() : 0) +
                            (leaf.confidential ? leaf.confidential->size() : 0);
        if (end > begin && bytes + leaf_bytes > kChunkMaxBytes) break;  // one leaf always fits
        bytes += leaf_bytes;
        ++end;
      }
      RETURN_IF_ERROR(InsertChunk(first_index + begin, leaves, begin, end));
      begin = end;
    }
    return OkStatus();
  }

  // Inserts leaves [begin, end) starting at ledger index first: one statement for the
  // leaves and, if any are confidential, one for their content, each taking whole columns
  // as binary arrays, so a chunk costs two round trips rather than one per row.
  Status InsertChunk(uint64_t first, const std::vector<LedgerLeaf>& leaves, size_t begin,
                     size_t end) {
    size_t n = end - begin;
    ArrayWriter entries(kByteaOid, n);
    ArrayWriter hashes(kByteaOid, n);
    size_t n_conf = 0;
    for (size_t i = begin; i < end; ++i) {
      entries.AddBytes(leaves[i].entry);
      hashes.AddBytes(crypto::AsBytes(leaves[i].leaf_hash));
      if (leaves[i].confidential) ++n_conf;
    }
    ASSIGN_OR_RETURN(
        Rows inserted,
        w_.Query(
            "INSERT INTO ledger_leaves (idx, entry, leaf_hash) "
            "SELECT $1::bigint + t.ord - 1, t.entry, t.leaf_hash "
            "FROM unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS t(entry, leaf_hash, ord)",
            {Param::Int(static_cast<int64_t>(first)),
             Param::Array(std::move(entries).Take(), kByteaArrayOid),
             Param::Array(std::move(hashes).Take(), kByteaArrayOid)}));
    if (inserted.Affected() != n) {
      return MakeError(ErrorCode::kInternal, "postgresql: inserted " +
                                                 std::to_string(inserted.Affected()) +
                                                 " leaves, expected " + std::to_string(n));
    }
    if (n_conf == 0) return OkStatus();
    ArrayWriter idx(kInt8Oid, n_conf);
    ArrayWriter salts(kByteaOid, n_conf);
    ArrayWriter contents(kByteaOid, n_conf);
    for (size_t i = begin; i < end; ++i) {
      if (!leaves[i].confidential) continue;
      idx.AddInt64(static_cast<int64_t>(first + (i - begin)));
      salts.AddBytes(leaves[i].salt.value_or(""));
      contents.AddBytes(*leaves[i].confidential);
    }
    ASSIGN_OR_RETURN(Rows conf,
                     w_.Query("INSERT INTO ledger_confidential (idx, salt, content) "
                              "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
                              {Param::Array(std::move(idx).Take(), kInt8ArrayOid),
                               Param::Array(std::move(salts).Take(), kByteaArrayOid),
                               Param::Array(std::move(contents).Take(), kByteaArrayOid)}));
    return OkStatus();
  }

  std::string url_;
  Connection w_;  // the one writer
  Connection r_;  // reads on their own session, so they never queue behind an append
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenPostgres(const std::string& url) {
  auto s = std::make_unique<PostgresStorage>();
  RETURN_IF_ERROR(s->Init(url));
  return std::unique_ptr<Storage>(std::move(s));
}

}  // namespace cloudpact::storage
