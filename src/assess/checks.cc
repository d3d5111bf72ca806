#include "assess/checks.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "assess/inventory.h"
#include "assess/reader.h"
#include "core/files.h"

namespace cloudpact::assess {
namespace {
using namespace internal;  // NOLINT(google-build-using-namespace): the shared reader helpers

constexpr size_t kMaxSql = 64 * 1024;

// The first keyword, to refuse anything but a query before it reaches the database (which
// refuses writes anyway: QuerySql is read-only). Comments first are skipped.
std::string FirstKeyword(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.compare(i, 2, "--") == 0) {
      i = sql.find('\n', i);
      if (i == std::string::npos) return "";
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++]))));
  }
  return word;
}

// A ';' outside string literals and quoted identifiers would start a second statement.
bool HasStatementSeparator(const std::string& sql) {
  char quote = 0;
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
    } else if (ch == ';') {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "medium";
}

Result<Severity> ParseSeverity(std::string_view s) {
  for (Severity v : {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (SeverityName(v) == s) return v;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "severity \"" + std::string(s) + "\" must be info, low, medium, high or critical");
}

Result<std::vector<Check>> LoadChecks(const YamlDocument& doc) {
  Reader r("checks", doc);
  RETURN_IF_ERROR(r.OnlyKeys(doc.value, "", {"checks"}));
  if (!doc.value.contains("checks") || !doc.value["checks"].is_array()) return r.Fail("", "checks must be a list");
  std::vector<Check> out;
  const Json& list = doc.value["checks"];
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string ptr = "/checks/" + std::to_string(i);
    const Json& c = list[i];
    RETURN_IF_ERROR(r.OnlyKeys(c, ptr, {"id", "title_zh", "title_en", "remediation_zh", "remediation_en", "severity",
                                        "resource_types", "sql"}));
    Check check;
    ASSIGN_OR_RETURN(check.id, r.Text(c, ptr, "id", true));
    if (!ValidCheckId(check.id)) return r.Fail(ptr + "/id", "check id \"" + check.id + "\" must match [a-z][a-z0-9_]*");
    ASSIGN_OR_RETURN(check.title_zh, r.Text(c, ptr, "title_zh", true));
    ASSIGN_OR_RETURN(check.title_en, r.Text(c, ptr, "title_en", true));
    ASSIGN_OR_RETURN(check.remediation_zh, r.Text(c, ptr, "remediation_zh", false));
    ASSIGN_OR_RETURN(check.remediation_en, r.Text(c, ptr, "remediation_en", false));
    ASSIGN_OR_RETURN(std::string sev, r.Text(c, ptr, "severity", true));
    auto severity = ParseSeverity(sev);
    if (!severity.ok()) return r.Fail(ptr + "/severity", severity.error().message);
    check.severity = *severity;
    if (!c.contains("resource_types") || !c["resource_types"].is_array() || c["resource_types"].empty()) {
      return r.Fail(ptr, "resource_types must be a non-empty list of inventory types");
    }
    for (size_t t = 0; t < c["resource_types"].size(); ++t) {
      const Json& v = c["resource_types"][t];
      const std::string tp = ptr + "/resource_types/" + std::to_string(t);
      if (!v.is_string() || !FindType(v.get<std::string>())) {
        return r.Fail(tp, "unknown inventory type (docs/INVENTORY.md lists them)");
      }
      check.resource_types.push_back(v.get<std::string>());
    }
    if (!c.contains("sql") || !c["sql"].is_string()) return r.Fail(ptr, "sql is required");
    check.sql = c["sql"].get<std::string>();
    while (!check.sql.empty() && (std::isspace(static_cast<unsigned char>(check.sql.back())) || check.sql.back() == ';')) {
      check.sql.pop_back();
    }
    if (check.sql.size() > kMaxSql) return r.Fail(ptr + "/sql", "sql is longer than 64 KiB");
    const std::string kw = FirstKeyword(check.sql);
    if (kw != "SELECT" && kw != "WITH") return r.Fail(ptr + "/sql", "sql must be one query (SELECT or WITH)");
    if (HasStatementSeparator(check.sql)) {
      return r.Fail(ptr + "/sql", "sql must be one statement (no ';' inside)");
    }
    check.line = doc.LineOf(ptr);
    out.push_back(std::move(check));
  }
  return out;
}

Result<std::vector<Check>> LoadCheckDirectory(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files, YamlFilesIn(dir));
  std::vector<Check> all;
  std::map<std::string, std::string> where;
  for (const auto& p : files) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(p));
    auto doc = ParseYaml(text);
    if (!doc.ok()) return MakeError(doc.error().code, p.string() + ": " + doc.error().message);
    auto checks = LoadChecks(*doc);
    if (!checks.ok()) return MakeError(checks.error().code, p.string() + ": " + checks.error().message);
    for (Check& c : *checks) {
      c.file = p.string();
      auto [it, fresh] = where.emplace(c.id, c.file + " line " + std::to_string(c.line));
      if (!fresh) {
        return MakeError(ErrorCode::kInvalidArgument, c.file + " line " + std::to_string(c.line) + ": check \"" + c.id +
                                                          "\" is already defined at " + it->second);
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

}  // namespace cloudpact::assess
