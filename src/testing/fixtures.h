// Test support: where the shared fixtures live. shared/ sits beside the checkout, both in
// development and in CI, so paths are relative to CLOUDPACT_SOURCE_DIR (set per test target).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/files.h"

namespace cloudpact::testing {

inline std::string SharedDir() { return std::string(CLOUDPACT_SOURCE_DIR) + "/../shared"; }
// Tessera's 15-entry test log (shared/interop/tessera-testlog/README.md).
inline std::string TesseraDir() { return SharedDir() + "/interop/tessera-testlog"; }

// A fixture file's bytes; a missing fixture fails the test instead of reading as empty.
inline std::string ReadFixture(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.error().message;
    return "";
  }
  return std::move(bytes).value();
}

}  // namespace cloudpact::testing
