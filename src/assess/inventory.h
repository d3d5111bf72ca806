// One normalized inventory for every platform (issue 6, art. 2): each resource is a row of
// the generic `inventory` table (platform, type, region, tenant, labels, raw JSON, collected
// time, stable id) plus, for the normalized types below, a row of its typed table
// `inv_<type>` whose columns the checks query. The typed tables are filled at import time
// rather than being SQL views over the raw JSON because JSON functions differ between SQLite
// and PostgreSQL, and because extracting once at import keeps a 200-check run over a million
// resources to plain column scans. Unknown resource types are kept raw in `inventory` only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "storage/storage.h"

namespace cloudpact::assess {

enum class ColumnType { kText, kInteger, kBool };  // kBool is stored as INTEGER 0/1

struct ColumnSpec {
  std::string_view name;
  ColumnType type;
  std::string_view doc;  // one line, for docs/INVENTORY.md and error messages
};

// A normalized resource type and its typed table's columns (besides the generic `uid`,
// `platform`, `tenant`, `region`, `name` that every typed table repeats, so that checks need
// no join for the common filters).
struct TypeSpec {
  std::string_view type;  // e.g. "compute_instance"; table "inv_compute_instance"
  std::string_view doc;
  std::vector<ColumnSpec> columns;
};

// Every normalized type, in a stable order. Adding a type or a column changes
// SchemaFingerprint(), and the inventory tables are rebuilt at the next start (inventory is
// re-importable data; runs and their results are kept).
const std::vector<TypeSpec>& Types();
const TypeSpec* FindType(std::string_view type);
std::string SchemaFingerprint();

// One resource as an importer produced it.
struct Resource {
  // Stable id: "<platform>/<type>/<native id>" unless the source gives a better one. The same
  // resource imported again gets the same uid, so finding ids (check + uid) are stable.
  std::string uid;
  std::string platform;     // a directory platform id or alias, e.g. "openstack-bj1"
  std::string type;         // a TypeSpec::type, or anything else (kept raw, no typed row)
  std::string native_type;  // the source's own kind, e.g. "OS::Nova::Server", "Pod"
  std::string region, tenant, name;
  std::map<std::string, std::string> labels;
  std::string raw;          // the source's JSON for this resource, as received (compact)
  int64_t collected_unix = 0;
  // Typed columns by name (only those of the type's TypeSpec; others are an error at write).
  // A column absent here is NULL: "unknown", which checks treat differently from false.
  std::map<std::string, storage::SqlValue, std::less<>> attrs;
};

// A line (or element) an importer could not use: reported, never silently dropped.
struct ImportProblem {
  int line = 0;         // 1-based line of the input; 0 if the format has no lines
  std::string pointer;  // JSON Pointer within the document or line, if known
  std::string message;
};

struct ImportResult {
  std::vector<Resource> resources;
  std::vector<ImportProblem> problems;
  // Types this input is complete for even when it holds none of them (a snapshot of
  // cloudpact's own state with no open session): their previous rows are removed too.
  std::vector<std::string> covered_types;
};

}  // namespace cloudpact::assess
