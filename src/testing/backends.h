// Test support: the storage backends every storage-dependent suite runs on. SQLite always;
// PostgreSQL when CLOUDPACT_TEST_PG_URL names a server (the test command starts one on
// loopback and sets it, and the BackendsTest.PostgresConfigured test fails without it, so
// a run that silently skipped PostgreSQL cannot pass).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace cloudpact::testing {

std::vector<std::string> BackendNames();  // "sqlite", and "postgresql" if configured

// A fresh, empty store of the named backend: a new SQLite file in a temporary directory,
// or a new schema-less database on the PostgreSQL server. `tag` keeps names unique.
std::string FreshStorageUrl(const std::string& backend, const std::string& tag);
std::unique_ptr<storage::Storage> OpenFresh(const std::string& backend, const std::string& tag);

// A new temporary directory, removed by the OS tmp cleaner (tests may inspect it after).
std::filesystem::path TempDir(const std::string& tag);

}  // namespace cloudpact::testing
