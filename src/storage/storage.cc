#include "storage/storage.h"

#include "storage/postgres/postgres_storage.h"
#include "storage/sqlite/sqlite_storage.h"

namespace cloudpact::storage {

Result<std::unique_ptr<Storage>> Storage::Open(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return OpenPostgres(url);
  }
  std::string path = url.rfind("sqlite:", 0) == 0 ? url.substr(7) : url;
  if (path.empty()) return MakeError(ErrorCode::kInvalidArgument, "storage: empty SQLite path");
  return OpenSqlite(path);
}

}  // namespace cloudpact::storage
