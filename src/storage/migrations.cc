#include "storage/storage.h"

namespace cloudpact::storage {

// Append-only list: never edit a released migration, add a new version instead.
const std::vector<Migration>& Migrations(std::string_view backend) {
  static const std::vector<Migration> kSqlite = {
      {1, "ledger and tokens", R"sql(
CREATE TABLE ledger_leaves (
  idx INTEGER PRIMARY KEY,
  entry BLOB NOT NULL,
  leaf_hash BLOB NOT NULL
);
CREATE TABLE ledger_confidential (
  idx INTEGER PRIMARY KEY,
  salt BLOB NOT NULL,
  content BLOB NOT NULL
);
CREATE TABLE ledger_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size INTEGER NOT NULL,
  note TEXT NOT NULL
);
CREATE TABLE ledger_cosignatures (
  witness TEXT NOT NULL,
  size INTEGER NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (witness, size)
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash BLOB NOT NULL UNIQUE,
  permissions TEXT NOT NULL,
  created_unix INTEGER NOT NULL,
  expires_unix INTEGER NOT NULL
);
)sql"},
      {2, "module records", R"sql(
CREATE TABLE records (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  updated_unix INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
);
)sql"},
  };
  static const std::vector<Migration> kPostgres = {
      {1, "ledger and tokens", R"sql(
CREATE TABLE ledger_leaves (
  idx BIGINT PRIMARY KEY,
  entry BYTEA NOT NULL,
  leaf_hash BYTEA NOT NULL
);
CREATE TABLE ledger_confidential (
  idx BIGINT PRIMARY KEY,
  salt BYTEA NOT NULL,
  content BYTEA NOT NULL
);
CREATE TABLE ledger_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  size BIGINT NOT NULL,
  note TEXT NOT NULL
);
CREATE TABLE ledger_cosignatures (
  witness TEXT NOT NULL,
  size BIGINT NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (witness, size)
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash BYTEA NOT NULL UNIQUE,
  permissions TEXT NOT NULL,
  created_unix BIGINT NOT NULL,
  expires_unix BIGINT NOT NULL
);
)sql"},
      {2, "module records", R"sql(
CREATE TABLE records (
  kind TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  body TEXT NOT NULL,
  updated_unix BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
);
)sql"},
  };
  return backend == "postgresql" ? kPostgres : kSqlite;
}

}  // namespace cloudpact::storage
