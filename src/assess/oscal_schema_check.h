// Test support shared by the catalog and report tests: runs NIST's OSCAL JSON schema on a
// document through tests/data/oscal/validate.py (python3-jsonschema, with the \p{L} shim).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/json.h"
#include "testing/backends.h"

namespace cloudpact::assess::testing_support {

inline const std::filesystem::path kOscalSchemas = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "tests/data/oscal";

// The validator's exit status for `doc` against `schema` (a file in tests/data/oscal): 0 valid.
// Its output is printed when the document does not validate.
inline int ValidateOscal(const Json& doc, const std::string& schema, const std::string& tag) {
  const auto path = cloudpact::testing::TempDir("oscal-" + tag) / "doc.json";
  std::ofstream(path) << doc.dump(1);
  const std::string cmd = "/usr/bin/python3 '" + (kOscalSchemas / "validate.py").string() + "' '" +
                          (kOscalSchemas / schema).string() + "' '" + path.string() + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[512];
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  if (rc != 0) std::fprintf(stderr, "validator (%s):\n%s\n", tag.c_str(), out.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace cloudpact::assess::testing_support
