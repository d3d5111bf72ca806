// OCSF, CSV and SARIF renderings of a run, the gate's exit code, and the helpers the other
// report files share (docs/REPORTS.md).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "assess/report.h"

namespace cloudpact::assess {
namespace report_detail {

// The names the engine defines (results.h, checks.h), under the names the reports use.
std::string_view StatusName(ResultStatus s) { return ResultStatusName(s); }
std::string_view SeverityText(Severity s) { return SeverityName(s); }

std::string UnixToRfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds > 0 ? unix_seconds : 0);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

const Check* FindCheck(const Run& run, const std::string& check) {
  auto it = run.checks.find(check);
  return it == run.checks.end() ? nullptr : it->second.check;
}

Severity CheckSeverity(const Run& run, const std::string& check) {
  const Check* c = FindCheck(run, check);
  return c ? c->severity : Severity::kCritical;
}

CheckRequirements::CheckRequirements(const Run& run) {
  for (const auto& r : run.requirements) {
    if (!r.requirement) continue;
    for (const auto& c : r.requirement->checks) {
      auto& v = by_check_[c];
      if (std::find(v.begin(), v.end(), &r) == v.end()) v.push_back(&r);
    }
  }
}

const std::vector<const RequirementResult*>& CheckRequirements::Of(std::string_view check) const {
  auto it = by_check_.find(check);
  return it == by_check_.end() ? none_ : it->second;
}

std::string RequirementKey(const RequirementResult& r) {
  return (r.catalog ? r.catalog->id : std::string()) + "/" + (r.requirement ? r.requirement->id : std::string());
}

}  // namespace report_detail

using namespace report_detail;  // NOLINT: this file's own helpers

std::string VerifyCommand(const Run& run) {
  return "cloudpact assess verify --run " + run.id + " --url SERVER --key LEDGER_VERIFIER_KEY";
}

namespace {

// --- OCSF --------------------------------------------------------------------------

int OcsfSeverityId(Severity s) {
  switch (s) {
    case Severity::kInfo: return 1;
    case Severity::kLow: return 2;
    case Severity::kMedium: return 3;
    case Severity::kHigh: return 4;
    case Severity::kCritical: return 5;
  }
  return 5;
}

std::string_view OcsfSeverityCaption(int id) {
  static constexpr std::string_view kNames[] = {"Unknown", "Informational", "Low", "Medium", "High", "Critical"};
  return id >= 0 && id <= 5 ? kNames[id] : "Unknown";
}

Json OcsfFinding(const Run& run, const CheckRequirements& index, const std::string& uid, const std::string& check,
                 ResultStatus status, const std::string& reason, const CheckResult* r) {
  const Check* c = FindCheck(run, check);
  const int sev = OcsfSeverityId(c ? c->severity : Severity::kCritical);
  const int64_t ms = run.finished_unix * 1000;
  const bool muted = r && !r->exception_id.empty() && status == ResultStatus::kFail;

  Json requirements = Json::array();
  std::set<std::string> standards;
  for (const RequirementResult* q : index.Of(check)) {
    requirements.push_back(RequirementKey(*q));
    if (q->catalog) standards.insert(q->catalog->id);
  }
  Json compliance = {{"control", check}, {"requirements", requirements}, {"standards", Json(standards)},
                     {"status_code", StatusName(status)}};
  switch (status) {
    case ResultStatus::kFail: compliance["status_id"] = 3; compliance["status"] = "Fail"; break;
    case ResultStatus::kManual: compliance["status_id"] = 2; compliance["status"] = "Warning"; break;
    default: compliance["status_id"] = 99; compliance["status"] = "Error"; break;
  }
  if (!reason.empty()) compliance["status_detail"] = reason;

  const std::string title = c && !c->title_en.empty() ? c->title_en : check;
  Json info = {{"uid", uid}, {"title", title}, {"created_time", ms}, {"types", Json::array({"cloudpact/" + check})}};
  if (!reason.empty()) info["desc"] = reason;

  Json metadata = {{"version", kOcsfVersion},
                   {"product", {{"name", "cloudpact"}, {"vendor_name", "cloudpact"}, {"feature", {{"name", "assess"}}}}},
                   {"correlation_uid", run.id},
                   {"logged_time", ms}};
  if (r && !r->tenant.empty()) metadata["tenant_uid"] = r->tenant;

  Json out = {{"activity_id", 1},
              {"activity_name", "Create"},
              {"category_uid", 2},
              {"category_name", "Findings"},
              {"class_uid", 2003},
              {"class_name", "Compliance Finding"},
              {"type_uid", 200301},
              {"type_name", "Compliance Finding: Create"},
              {"severity_id", sev},
              {"severity", OcsfSeverityCaption(sev)},
              {"status_id", muted ? 3 : 1},
              {"status", muted ? "Suppressed" : "New"},
              {"time", ms},
              {"message", reason.empty() ? title : reason},
              {"metadata", std::move(metadata)},
              {"finding_info", std::move(info)},
              {"compliance", std::move(compliance)}};
  if (r && !r->resource.empty()) {
    Json res = {{"uid", r->resource}};
    if (!r->resource_name.empty()) res["name"] = r->resource_name;
    if (!r->resource_type.empty()) res["type"] = r->resource_type;
    Json data = Json::object();
    if (!r->platform.empty()) data["platform"] = r->platform;
    if (!r->tenant.empty()) data["tenant"] = r->tenant;
    if (!data.empty()) res["data"] = std::move(data);
    out["resources"] = Json::array({std::move(res)});
  }
  if (c && !c->remediation_en.empty()) out["remediation"] = {{"desc", c->remediation_en}};
  Json ours = {{"run_id", run.id}, {"digest", run.digest}, {"ledgered", run.ledgered}, {"status", StatusName(status)}};
  if (run.ledgered) ours["ledger_index"] = run.ledger_index;
  if (r) {
    if (!r->platform.empty()) ours["platform"] = r->platform;
    if (!r->tenant.empty()) ours["tenant"] = r->tenant;
    if (!r->exception_id.empty()) ours["exception_id"] = r->exception_id;
  }
  if (c && !c->title_zh.empty()) ours["title_zh"] = c->title_zh;
  if (c && !c->remediation_zh.empty()) ours["remediation_zh"] = c->remediation_zh;
  out["unmapped"] = {{"cloudpact", std::move(ours)}};
  return out;
}

// Checks whose SQL failed but that left no ERROR result row: they still have to show up.
std::vector<std::string> ChecksErroredWithoutRows(const Run& run) {
  std::set<std::string> with_rows;
  for (const auto& r : run.results)
    if (r.status == ResultStatus::kError) with_rows.insert(r.check);
  std::vector<std::string> out;
  for (const auto& [id, s] : run.checks)
    if (!s.error_message.empty() && !with_rows.count(id)) out.push_back(id);
  return out;
}

// --- CSV ---------------------------------------------------------------------------

void CsvCell(std::string& out, std::string_view v) {
  // Formula injection: a spreadsheet evaluates a cell starting with one of these.
  const bool formula = !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' ||
                                      v[0] == '\r');
  const bool quote = formula || v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  if (formula) out.push_back('\'');
  for (char ch : v) {
    if (ch == '"') out.push_back('"');
    out.push_back(ch);
  }
  out.push_back('"');
}

void CsvRow(std::string& out, std::initializer_list<std::string_view> cells) {
  bool first = true;
  for (std::string_view c : cells) {
    if (!first) out.push_back(',');
    first = false;
    CsvCell(out, c);
  }
  out.append("\r\n");
}

std::string JoinRequirements(const CheckRequirements& index, const std::string& check) {
  std::string s;
  for (const RequirementResult* q : index.Of(check)) {
    if (!s.empty()) s.push_back(';');
    s += RequirementKey(*q);
  }
  return s;
}

// --- SARIF -------------------------------------------------------------------------

std::string_view SarifLevel(Severity s) {
  switch (s) {
    case Severity::kCritical:
    case Severity::kHigh: return "error";
    case Severity::kMedium: return "warning";
    default: return "note";
  }
}

// GitHub code scanning reads this (a CVSS-like score as a string).
std::string_view SecuritySeverity(Severity s) {
  switch (s) {
    case Severity::kCritical: return "9.5";
    case Severity::kHigh: return "8.0";
    case Severity::kMedium: return "5.5";
    case Severity::kLow: return "3.0";
    default: return "0.0";
  }
}

}  // namespace

std::string ToOcsfJsonLines(const Run& run, const CatalogSet& /*catalogs*/) {
  const CheckRequirements index(run);
  std::string out;
  out.reserve(run.results.size() * 1400);
  for (const auto& r : run.results) {
    if (r.status == ResultStatus::kPass || r.status == ResultStatus::kNotApplicable) continue;
    out += OcsfFinding(run, index, r.id, r.check, r.status, r.reason, &r).dump(-1, ' ', false, Json::error_handler_t::replace);
    out.push_back('\n');
  }
  for (const auto& check : ChecksErroredWithoutRows(run)) {
    out += OcsfFinding(run, index, "chkerr_" + check, check, ResultStatus::kError, run.checks.at(check).error_message,
                       nullptr)
               .dump(-1, ' ', false, Json::error_handler_t::replace);
    out.push_back('\n');
  }
  return out;
}

std::string ToCsv(const Run& run, const CatalogSet& /*catalogs*/) {
  const CheckRequirements index(run);
  std::string out = "\xEF\xBB\xBF";  // UTF-8 BOM: Excel otherwise reads the Chinese as ANSI
  out.reserve(256 + run.results.size() * 300);
  CsvRow(out, {"kind", "run_id", "check", "severity", "status", "result_id", "platform", "tenant", "resource_type",
               "resource", "resource_name", "reason", "muted_by", "requirements", "title_zh", "title_en", "pass",
               "fail", "error", "manual", "not_applicable", "muted"});
  for (const auto& [id, s] : run.checks) {
    const Check* c = s.check;
    std::string_view status = !s.error_message.empty() || s.error > 0 ? "ERROR"
                              : s.fail > s.muted                      ? "FAIL"
                              : s.manual > 0                          ? "MANUAL"
                              : s.pass > 0                            ? "PASS"
                                                                      : "NOT_APPLICABLE";
    const std::string reqs = JoinRequirements(index, id);
    CsvRow(out, {"check", run.id, id, SeverityText(c ? c->severity : Severity::kCritical), status, "", "", "", "", "",
                 "", s.error_message, "", reqs, c ? std::string_view(c->title_zh) : "",
                 c ? std::string_view(c->title_en) : "", std::to_string(s.pass), std::to_string(s.fail),
                 std::to_string(s.error), std::to_string(s.manual), std::to_string(s.not_applicable),
                 std::to_string(s.muted)});
  }
  std::string reqs_check, reqs;  // results are ordered by check: join once per check
  for (const auto& r : run.results) {
    if (r.status == ResultStatus::kPass) continue;
    if (r.check != reqs_check) {
      reqs_check = r.check;
      reqs = JoinRequirements(index, r.check);
    }
    const Check* c = FindCheck(run, r.check);
    CsvRow(out, {"result", run.id, r.check, SeverityText(c ? c->severity : Severity::kCritical), StatusName(r.status),
                 r.id, r.platform, r.tenant, r.resource_type, r.resource, r.resource_name, r.reason, r.exception_id,
                 reqs, c ? std::string_view(c->title_zh) : "", c ? std::string_view(c->title_en) : "", "", "", "", "",
                 "", ""});
  }
  return out;
}

Json ToSarif(const Run& run, const CatalogSet& /*catalogs*/) {
  const CheckRequirements index(run);
  Json rules = Json::array();
  std::map<std::string, size_t, std::less<>> rule_index;
  for (const auto& [id, s] : run.checks) {
    const Check* c = s.check;
    const Severity sev = c ? c->severity : Severity::kCritical;
    Json tags = Json::array({"security", "compliance"});
    for (const RequirementResult* q : index.Of(id)) tags.push_back(RequirementKey(*q));
    Json rule = {{"id", id},
                 {"shortDescription", {{"text", c && !c->title_en.empty() ? c->title_en : id}}},
                 {"defaultConfiguration", {{"level", SarifLevel(sev)}}},
                 {"properties",
                  {{"title_zh", c ? c->title_zh : ""},
                   {"title_en", c ? c->title_en : ""},
                   {"severity", SeverityText(sev)},
                   {"security-severity", SecuritySeverity(sev)},
                   {"tags", tags}}}};
    if (c && !c->remediation_en.empty()) {
      rule["help"] = {{"text", c->remediation_en + (c->remediation_zh.empty() ? "" : "\n" + c->remediation_zh)}};
    }
    rule_index[id] = rules.size();
    rules.push_back(std::move(rule));
  }
  Json results = Json::array();
  auto add = [&](const std::string& check, ResultStatus status, const std::string& reason, const CheckResult* r) {
    const Severity sev = CheckSeverity(run, check);
    Json res = {{"ruleId", check},
                // ERROR is reported as an error whatever the check's severity: it was not judged.
                {"level", status == ResultStatus::kError ? "error" : SarifLevel(sev)},
                {"message", {{"text", reason.empty() ? std::string(StatusName(status)) + ": " + check : reason}}},
                {"kind", "fail"}};
    if (auto it = rule_index.find(check); it != rule_index.end()) res["ruleIndex"] = it->second;
    Json props = {{"status", StatusName(status)}, {"severity", SeverityText(sev)}};
    if (r) {
      Json loc = {{"fullyQualifiedName", r->resource}, {"kind", "resource"}};
      if (!r->resource_name.empty()) loc["name"] = r->resource_name;
      res["locations"] = Json::array({{{"logicalLocations", Json::array({loc})}}});
      res["partialFingerprints"] = {{"cloudpactResultId/v1", r->id}};
      if (!r->platform.empty()) props["platform"] = r->platform;
      if (!r->tenant.empty()) props["tenant"] = r->tenant;
      if (!r->resource_type.empty()) props["resource_type"] = r->resource_type;
      if (!r->exception_id.empty() && status == ResultStatus::kFail) {
        res["suppressions"] = Json::array(
            {{{"kind", "external"}, {"status", "accepted"}, {"justification", "cloudpact exception " + r->exception_id}}});
      }
    }
    res["properties"] = std::move(props);
    results.push_back(std::move(res));
  };
  for (const auto& r : run.results)
    if (IsFailing(r.status)) add(r.check, r.status, r.reason, &r);
  for (const auto& check : ChecksErroredWithoutRows(run))
    add(check, ResultStatus::kError, run.checks.at(check).error_message, nullptr);

  bool all_ran = true;
  for (const auto& [id, s] : run.checks) all_ran = all_ran && s.error_message.empty();
  Json run_props = {{"run_id", run.id}, {"digest", run.digest}, {"ledgered", run.ledgered},
                    {"verify", VerifyCommand(run)}};
  if (run.ledgered) run_props["ledger_index"] = run.ledger_index;
  Json sarif_run = {
      {"tool", {{"driver", {{"name", "cloudpact"}, {"rules", std::move(rules)}}}}},
      {"automationDetails", {{"id", "cloudpact/assess/" + run.id}}},
      {"invocations", Json::array({{{"executionSuccessful", all_ran},
                                    {"startTimeUtc", UnixToRfc3339(run.started_unix)},
                                    {"endTimeUtc", UnixToRfc3339(run.finished_unix)}}})},
      {"results", std::move(results)},
      {"properties", std::move(run_props)}};
  return {{"$schema", kSarifSchema}, {"version", "2.1.0"}, {"runs", Json::array({std::move(sarif_run)})}};
}

int GateExitCode(const Run& run, Severity threshold) {
  for (const auto& r : run.results) {
    if (!IsFailing(r.status)) continue;
    if (r.status == ResultStatus::kFail && !r.exception_id.empty()) continue;  // muted
    if (CheckSeverity(run, r.check) >= threshold) return 1;
  }
  // The summaries too: a check whose SQL failed may have left no result row.
  for (const auto& [id, s] : run.checks) {
    const bool failing = !s.error_message.empty() || s.error > 0 || s.fail > s.muted;
    if (failing && (s.check ? s.check->severity : Severity::kCritical) >= threshold) return 1;
  }
  return 0;
}

}  // namespace cloudpact::assess
