#pragma once

#include <memory>
#include <string>

#include "storage/storage.h"

namespace cloudpact::storage {

// PostgreSQL through libpq; url is a libpq connection URI.
Result<std::unique_ptr<Storage>> OpenPostgres(const std::string& url);

}  // namespace cloudpact::storage
