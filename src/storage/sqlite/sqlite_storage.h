#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace cloudpact::storage {

// SQLite in WAL mode with synchronous=FULL: a commit is on disk before it returns.
// Creates the file (mode 0600) if it does not exist.
Result<std::unique_ptr<Storage>> OpenSqlite(const std::string& path);

}  // namespace cloudpact::storage
