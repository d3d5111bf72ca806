// Checks as data (issue 6): each check is one SQL query over the inventory's typed tables,
// kept in catalogs/checks/*.yaml and loaded without rebuilding. A check's query returns one
// row per resource it judges, with the columns
//   resource  the resource's uid (inventory.uid)
//   status    'PASS', 'FAIL', 'MANUAL', 'ERROR' or 'NOT_APPLICABLE'
//   reason    why, in a sentence (may be NULL for PASS)
// The SQL must run unchanged on SQLite and PostgreSQL: plain SELECT/WITH, CASE, COALESCE,
// aggregates, no JSON functions, booleans as 0/1. It runs read-only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/yaml.h"

namespace cloudpact::assess {

enum class Severity { kInfo, kLow, kMedium, kHigh, kCritical };
std::string_view SeverityName(Severity s);  // "info" … "critical"
Result<Severity> ParseSeverity(std::string_view s);

struct Check {
  std::string id;  // [a-z][a-z0-9_]*, as catalogs name it
  std::string title_zh, title_en;
  std::string remediation_zh, remediation_en;
  Severity severity = Severity::kMedium;
  std::vector<std::string> resource_types;  // the types it reads (for NOT_APPLICABLE and docs)
  std::string sql;
  std::string file;  // where it was defined, for messages
  int line = 0;
};

// Parses one checks document (`checks: [...]`). Errors name the line and JSON Pointer.
Result<std::vector<Check>> LoadChecks(const YamlDocument& doc);
// Every *.yaml in dir, ids unique across files; messages name the file.
Result<std::vector<Check>> LoadCheckDirectory(const std::filesystem::path& dir);

}  // namespace cloudpact::assess
