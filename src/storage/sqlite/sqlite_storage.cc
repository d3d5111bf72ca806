#include "storage/sqlite/sqlite_storage.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/json.h"
#include "core/time.h"

namespace cloudpact::storage {
namespace {

using crypto::Hash;

Error SqliteError(sqlite3* db, std::string_view what) {
  int code = sqlite3_errcode(db);
  ErrorCode ec = (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_FULL ||
                  code == SQLITE_IOERR || code == SQLITE_CANTOPEN)
                     ? ErrorCode::kUnavailable
                     : ErrorCode::kInternal;
  return MakeError(ec, std::string("sqlite: ") + std::string(what) + ": " + sqlite3_errmsg(db));
}

// A prepared statement, reset on destruction so it can be cached.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // SQLITE_ROW → true, SQLITE_DONE → false, else error.
  Result<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, "step");
  }
  Status Exec() {
    ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return OkStatus();
  }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }
  std::string Text(int col) { return Blob(col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class Connection {
 public:
  ~Connection() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }
  Status Open(const std::string& path, bool readonly) {
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;  // each Connection is guarded by its own mutex
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      return MakeError(ErrorCode::kUnavailable, "sqlite: cannot open " + path + ": " +
                                                    (db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, 5000);
    return OkStatus();
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return MakeError(ErrorCode::kInternal, std::string("sqlite: ") + msg);
    }
    return OkStatus();
  }
  Result<Stmt> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
        return SqliteError(db_, "prepare");
      }
      it = cache_.emplace(sql, s).first;
    }
    return Stmt(db_, it->second);
  }
  sqlite3* db() { return db_; }
  std::mutex mu;

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;  // keyed by the literal's address
};

std::string JoinPermissions(const std::vector<std::string>& p) { return Json(p).dump(); }
std::vector<std::string> SplitPermissions(const std::string& s) {
  auto j = ParseJson(s);
  if (!j.ok() || !j->is_array()) return {};
  std::vector<std::string> out;
  for (const auto& e : *j) if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

class SqliteStorage final : public Storage {
 public:
  Status Init(const std::string& path) {
    path_ = path;
    // Create the file ourselves so that it is 0600 from its first byte.
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return MakeError(ErrorCode::kUnavailable, "sqlite: cannot create " + path + ": " + std::strerror(errno));
    ::close(fd);
    RETURN_IF_ERROR(w_.Open(path, false));
    RETURN_IF_ERROR(w_.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
    RETURN_IF_ERROR(Migrate());
    RETURN_IF_ERROR(r_.Open(path, true));
    return OkStatus();
  }

  std::string Backend() const override { return "sqlite"; }

  Result<int> SchemaVersion() override {
    std::lock_guard<std::mutex> lock(w_.mu);
    return CurrentVersion();
  }

  Result<uint64_t> LedgerSize() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? static_cast<uint64_t>(s.Int(0)) : 0;
  }

  Status AppendLeaves(uint64_t first_index, const std::vector<LedgerLeaf>& leaves) override {
    return WriteTransaction([&] { return AppendLocked(first_index, leaves); });
  }

  Result<std::vector<std::string>> ReadEntries(uint64_t begin, uint64_t end) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT entry FROM ledger_leaves WHERE idx >= ? AND idx < ? ORDER BY idx"));
    s.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    std::vector<std::string> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.Blob(0));
    }
    return out;
  }

  Result<std::vector<Hash>> ReadLeafHashes(uint64_t begin, uint64_t end) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT idx, leaf_hash FROM ledger_leaves WHERE idx >= ? AND idx < ? ORDER BY idx"));
    s.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    std::vector<Hash> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      std::string h = s.Blob(1);
      if (h.size() != 32 || static_cast<uint64_t>(s.Int(0)) != begin + out.size()) {
        return MakeError(ErrorCode::kDataLoss, "sqlite: ledger leaves are not contiguous or hashes are malformed");
      }
      Hash hash;
      std::memcpy(hash.data(), h.data(), 32);
      out.push_back(hash);
    }
    return out;
  }

  Result<std::optional<Confidential>> ReadConfidential(uint64_t index) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT salt, content FROM ledger_confidential WHERE idx = ?"));
    s.Bind(1, static_cast<int64_t>(index));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Confidential>();
    return std::optional<Confidential>(Confidential{s.Blob(0), s.Blob(1)});
  }

  Status EraseConfidential(uint64_t index) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Stmt s, w_.Prepare("DELETE FROM ledger_confidential WHERE idx = ?"));
    s.Bind(1, static_cast<int64_t>(index));
    RETURN_IF_ERROR(s.Exec());
    if (sqlite3_changes(w_.db()) == 0) return MakeError(ErrorCode::kNotFound, "no confidential content at that index");
    return OkStatus();
  }

  Status SaveCheckpoint(uint64_t size, const std::string& note) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
        "INSERT INTO ledger_checkpoint (id, size, note) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note"));
    s.Bind(1, static_cast<int64_t>(size)).Bind(2, note);
    return s.Exec();
  }

  Result<std::optional<std::string>> LatestCheckpoint() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT note FROM ledger_checkpoint WHERE id = 1"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(s.Text(0));
  }

  Status SaveCosignature(const std::string& witness, uint64_t size, const std::string& line) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
        "INSERT INTO ledger_cosignatures (witness, size, line) VALUES (?, ?, ?) "
        "ON CONFLICT (witness, size) DO UPDATE SET line = excluded.line"));
    s.Bind(1, witness).Bind(2, static_cast<int64_t>(size)).Bind(3, line);
    return s.Exec();
  }

  Result<std::vector<std::string>> Cosignatures(uint64_t size) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare("SELECT line FROM ledger_cosignatures WHERE size = ? ORDER BY witness"));
    s.Bind(1, static_cast<int64_t>(size));
    std::vector<std::string> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.Text(0));
    }
    return out;
  }

  Status PutToken(const ApiToken& t) override {
    std::lock_guard<std::mutex> lock(w_.mu);
    ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
        "INSERT INTO api_tokens (id, name, secret_hash, permissions, created_unix, expires_unix) "
        "VALUES (?, ?, ?, ?, ?, ?)"));
    s.Bind(1, t.id).Bind(2, t.name).BindBlob(3, crypto::AsBytes(t.secret_hash))
        .Bind(4, JoinPermissions(t.permissions)).Bind(5, t.created_unix).Bind(6, t.expires_unix);
    Status st = s.Exec();
    if (!st.ok() && sqlite3_extended_errcode(w_.db()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return MakeError(ErrorCode::kAlreadyExists, "token id already exists");
    }
    return st;
  }

  Result<std::optional<ApiToken>> FindToken(const Hash& secret_hash) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare(
        "SELECT id, name, secret_hash, permissions, created_unix, expires_unix FROM api_tokens WHERE secret_hash = ?"));
    s.BindBlob(1, crypto::AsBytes(secret_hash));
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<ApiToken>();
    return std::optional<ApiToken>(ReadToken(s));
  }

  Result<std::vector<ApiToken>> ListTokens() override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare(
        "SELECT id, name, secret_hash, permissions, created_unix, expires_unix FROM api_tokens ORDER BY created_unix, id"));
    std::vector<ApiToken> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadToken(s));
    }
    return out;
  }

  Status WriteRecords(const std::vector<RecordWrite>& writes) override {
    return WriteTransaction([&] { return WriteRecordsLocked(writes); });
  }

  Result<std::optional<Record>> GetRecord(const std::string& kind, const std::string& id) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare(
        "SELECT kind, id, body, version, updated_unix FROM records WHERE kind = ? AND id = ?"));
    s.Bind(1, kind).Bind(2, id);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<Record>();
    return std::optional<Record>(Record{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)});
  }

  Result<std::vector<Record>> ListRecords(const std::string& kind) override {
    std::lock_guard<std::mutex> lock(r_.mu);
    ASSIGN_OR_RETURN(Stmt s, r_.Prepare(
        "SELECT kind, id, body, version, updated_unix FROM records WHERE kind = ? ORDER BY id"));
    s.Bind(1, kind);
    std::vector<Record> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(Record{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)});
    }
    return out;
  }

  Status ExecuteSql(const std::vector<SqlBatch>& batches) override {
    return WriteTransaction([&]() -> Status {
      for (const SqlBatch& b : batches) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(w_.db(), b.sql.c_str(), static_cast<int>(b.sql.size()), &raw, nullptr) != SQLITE_OK) {
          return SqliteError(w_.db(), "prepare");
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
        if (!raw) continue;  // only whitespace or a comment
        auto run = [&](const std::vector<SqlValue>* params) -> Status {
          if (params) RETURN_IF_ERROR(BindAll(raw, *params));
          int rc;
          while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
          }
          if (rc != SQLITE_DONE) return SqliteError(w_.db(), "execute");
          sqlite3_reset(raw);
          return OkStatus();
        };
        if (b.rows.empty()) {
          RETURN_IF_ERROR(run(nullptr));
        } else {
          for (const auto& row : b.rows) RETURN_IF_ERROR(run(&row));
        }
      }
      return OkStatus();
    });
  }

  // Each call opens its own read-only connection: queries from several threads then run in
  // parallel (WAL lets readers beside the writer), and PRAGMA query_only makes the database
  // itself refuse writes whatever the SQL says. Opening costs ~0.1 ms, noise beside a check.
  Status QuerySql(const std::string& sql, const std::vector<SqlValue>& params,
                  const SqlRowFn& on_row, std::chrono::milliseconds timeout) override {
    Connection c;
    RETURN_IF_ERROR(c.Open(path_, true));
    RETURN_IF_ERROR(c.Exec("PRAGMA query_only = ON"));
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(c.db(), sql.c_str(), static_cast<int>(sql.size()), &raw, &tail) != SQLITE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("sqlite: ") + sqlite3_errmsg(c.db()));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (!raw) return MakeError(ErrorCode::kInvalidArgument, "sqlite: empty query");
    for (; tail && *tail; ++tail) {
      if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != '\r' && *tail != ';') {
        return MakeError(ErrorCode::kInvalidArgument, "sqlite: one statement per query");
      }
    }
    if (!sqlite3_stmt_readonly(raw)) return MakeError(ErrorCode::kPermissionDenied, "sqlite: query is not read-only");
    RETURN_IF_ERROR(BindAll(raw, params));
    // The progress handler interrupts a query that outlives its deadline (checked every
    // ~10k VM steps, a few microseconds).
    struct Deadline {
      std::chrono::steady_clock::time_point at;
      bool hit = false;
    } deadline{std::chrono::steady_clock::now() + timeout};
    sqlite3_progress_handler(
        c.db(), 10000,
        [](void* p) -> int {
          auto* d = static_cast<Deadline*>(p);
          if (std::chrono::steady_clock::now() < d->at) return 0;
          d->hit = true;
          return 1;
        },
        &deadline);
    class Row final : public SqlRow {
     public:
      explicit Row(sqlite3_stmt* s) : s_(s), n_(static_cast<size_t>(sqlite3_column_count(s))) {}
      size_t size() const override { return n_; }
      bool IsNull(size_t i) const override { return sqlite3_column_type(s_, static_cast<int>(i)) == SQLITE_NULL; }
      std::string_view Text(size_t i) const override {
        const auto* p = sqlite3_column_text(s_, static_cast<int>(i));
        int n = sqlite3_column_bytes(s_, static_cast<int>(i));
        return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
      }

     private:
      sqlite3_stmt* s_;
      size_t n_;
    } row(raw);
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      RETURN_IF_ERROR(on_row(row));
    }
    if (rc == SQLITE_DONE) return OkStatus();
    if (deadline.hit) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "sqlite: query took longer than " + std::to_string(timeout.count()) + " ms");
    }
    return MakeError(ErrorCode::kInvalidArgument, std::string("sqlite: ") + sqlite3_errmsg(c.db()));
  }

 private:
  static Status BindAll(sqlite3_stmt* s, const std::vector<SqlValue>& params) {
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(s)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "sqlite: statement takes " + std::to_string(sqlite3_bind_parameter_count(s)) +
                           " parameters, given " + std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      const SqlValue& v = params[i];
      if (std::holds_alternative<int64_t>(v)) {
        sqlite3_bind_int64(s, idx, std::get<int64_t>(v));
      } else if (std::holds_alternative<std::string>(v)) {
        const auto& t = std::get<std::string>(v);
        sqlite3_bind_text(s, idx, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_null(s, idx);
      }
    }
    return OkStatus();
  }

  // Runs `body` in one exclusive write transaction: all of it is committed, or none.
  template <typename F>
  Status WriteTransaction(F&& body) {
    std::lock_guard<std::mutex> lock(w_.mu);
    RETURN_IF_ERROR(w_.Exec("BEGIN IMMEDIATE"));
    Status st = body();
    if (!st.ok()) {
      (void)w_.Exec("ROLLBACK");
      return st;
    }
    if (auto c = w_.Exec("COMMIT"); !c.ok()) {
      (void)w_.Exec("ROLLBACK");
      return MakeError(ErrorCode::kUnavailable, c.error().message);
    }
    return OkStatus();
  }

  // Conditional statements, as in the PostgreSQL backend; BEGIN IMMEDIATE already makes the
  // whole batch exclusive here.
  Status WriteRecordsLocked(const std::vector<RecordWrite>& writes) {
    const int64_t now = UnixSeconds(SystemNow());
    for (const RecordWrite& w : writes) {
      const bool any = w.expected_version == RecordWrite::kAnyVersion;
      if (w.erase) {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare("DELETE FROM records WHERE kind = ? AND id = ? AND (? < 0 OR version = ?)"));
        s.Bind(1, w.kind).Bind(2, w.id).Bind(3, w.expected_version).Bind(4, w.expected_version);
        RETURN_IF_ERROR(s.Exec());
      } else if (any) {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
            "INSERT INTO records (kind, id, version, body, updated_unix) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET version = records.version + 1, body = excluded.body, "
            "updated_unix = excluded.updated_unix"));
        s.Bind(1, w.kind).Bind(2, w.id).Bind(3, w.body).Bind(4, now);
        RETURN_IF_ERROR(s.Exec());
      } else if (w.expected_version == 0) {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
            "INSERT INTO records (kind, id, version, body, updated_unix) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (kind, id) DO NOTHING"));
        s.Bind(1, w.kind).Bind(2, w.id).Bind(3, w.body).Bind(4, now);
        RETURN_IF_ERROR(s.Exec());
      } else {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare(
            "UPDATE records SET version = version + 1, body = ?, updated_unix = ? WHERE kind = ? AND id = ? AND version = ?"));
        s.Bind(1, w.body).Bind(2, now).Bind(3, w.kind).Bind(4, w.id).Bind(5, w.expected_version);
        RETURN_IF_ERROR(s.Exec());
      }
      if (!any && sqlite3_changes(w_.db()) == 0) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "record " + w.kind + "/" + w.id + " is not at version " + std::to_string(w.expected_version));
      }
    }
    return OkStatus();
  }

  static ApiToken ReadToken(Stmt& s) {
    ApiToken t;
    t.id = s.Text(0);
    t.name = s.Text(1);
    std::string h = s.Blob(2);
    if (h.size() == 32) std::memcpy(t.secret_hash.data(), h.data(), 32);
    t.permissions = SplitPermissions(s.Text(3));
    t.created_unix = s.Int(4);
    t.expires_unix = s.Int(5);
    return t;
  }

  Result<int> CurrentVersion() {
    RETURN_IF_ERROR(w_.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL)"));
    ASSIGN_OR_RETURN(Stmt s, w_.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? static_cast<int>(s.Int(0)) : 0;
  }

  Status Migrate() {
    std::lock_guard<std::mutex> lock(w_.mu);
    RETURN_IF_ERROR(w_.Exec("BEGIN IMMEDIATE"));
    auto apply = [&]() -> Status {
      ASSIGN_OR_RETURN(int current, CurrentVersion());
      for (const auto& m : Migrations("sqlite")) {
        if (m.version <= current) continue;
        RETURN_IF_ERROR(w_.Exec(m.sql));
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare("INSERT INTO schema_migrations (version, description) VALUES (?, ?)"));
        s.Bind(1, m.version).Bind(2, m.description);
        RETURN_IF_ERROR(s.Exec());
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
    ASSIGN_OR_RETURN(Stmt size_q, w_.Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves"));
    ASSIGN_OR_RETURN(bool row, size_q.Step());
    uint64_t size = row ? static_cast<uint64_t>(size_q.Int(0)) : 0;
    if (size != first_index) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "ledger: append at " + std::to_string(first_index) + " but size is " + std::to_string(size));
    }
    uint64_t idx = first_index;
    for (const auto& leaf : leaves) {
      {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare("INSERT INTO ledger_leaves (idx, entry, leaf_hash) VALUES (?, ?, ?)"));
        s.Bind(1, static_cast<int64_t>(idx)).BindBlob(2, leaf.entry).BindBlob(3, crypto::AsBytes(leaf.leaf_hash));
        RETURN_IF_ERROR(s.Exec());
      }
      if (leaf.confidential) {
        ASSIGN_OR_RETURN(Stmt s, w_.Prepare("INSERT INTO ledger_confidential (idx, salt, content) VALUES (?, ?, ?)"));
        s.Bind(1, static_cast<int64_t>(idx)).BindBlob(2, leaf.salt ? std::string_view(*leaf.salt) : std::string_view()).BindBlob(3, *leaf.confidential);
        RETURN_IF_ERROR(s.Exec());
      }
      ++idx;
    }
    return OkStatus();
  }

  std::string path_;
  Connection w_;  // the one writer
  Connection r_;  // reads run beside the writer thanks to WAL
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenSqlite(const std::string& path) {
  auto s = std::make_unique<SqliteStorage>();
  RETURN_IF_ERROR(s->Init(path));
  return std::unique_ptr<Storage>(std::move(s));
}

}  // namespace cloudpact::storage
