#include "assess/assessor.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/encoding.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/sha256.h"

namespace cloudpact::assess {
namespace {

using storage::SqlBatch;
using storage::SqlRow;
using storage::SqlValue;

constexpr const char* kRunKind = "assess.run";
constexpr const char* kImportKind = "assess.import";
constexpr const char* kAttestationKind = "assess.attestation";
constexpr const char* kExceptionKind = "assess.exception";
constexpr size_t kLookupChunk = 500;

std::string Table(std::string_view type) { return "inv_" + std::string(type); }

std::string RandomId(std::string_view prefix) { return std::string(prefix) + HexEncode(crypto::RandomBytes(8)); }

std::string ResultId(std::string_view check, std::string_view resource) {
  return "asr_" + crypto::Sha256Hex(std::string(check) + '\0' + std::string(resource)).substr(0, 16);
}

std::string SqlType(ColumnType t) { return t == ColumnType::kText ? "TEXT" : "BIGINT"; }

// The columns every typed table repeats from `inventory`, so checks need no join.
constexpr std::string_view kCommonColumns[] = {"uid", "platform", "tenant", "region", "name"};

SqlValue TextOrNull(const std::string& s) { return s.empty() ? SqlValue{} : SqlValue{s}; }

Json AttestationJson(const Attestation& a) {
  Json ev = Json::array();
  for (const auto& e : a.evidence) ev.push_back({{"name", e.name}, {"sha256", e.sha256}});
  return {{"id", a.id},           {"catalog", a.catalog},   {"requirement", a.requirement},
          {"owner", a.owner},     {"approver", a.approver}, {"statement", a.statement},
          {"evidence", ev},       {"created", a.created_unix}, {"expires", a.expires_unix}};
}

Attestation AttestationFrom(const Json& j) {
  Attestation a;
  a.id = j.value("id", "");
  a.catalog = j.value("catalog", "");
  a.requirement = j.value("requirement", "");
  a.owner = j.value("owner", "");
  a.approver = j.value("approver", "");
  a.statement = j.value("statement", "");
  for (const auto& e : j.value("evidence", Json::array())) {
    a.evidence.push_back({e.value("name", ""), e.value("sha256", "")});
  }
  a.created_unix = j.value("created", int64_t{0});
  a.expires_unix = j.value("expires", int64_t{0});
  return a;
}

Json ExceptionJson(const Exception& e) {
  return {{"id", e.id},       {"check", e.check},     {"resource", e.resource}, {"owner", e.owner},
          {"reason", e.reason}, {"approver", e.approver}, {"created", e.created_unix}, {"expires", e.expires_unix}};
}

Exception ExceptionFrom(const Json& j) {
  Exception e;
  e.id = j.value("id", "");
  e.check = j.value("check", "");
  e.resource = j.value("resource", "");
  e.owner = j.value("owner", "");
  e.reason = j.value("reason", "");
  e.approver = j.value("approver", "");
  e.created_unix = j.value("created", int64_t{0});
  e.expires_unix = j.value("expires", int64_t{0});
  return e;
}

// The run's result document without its results (what the run record stores).
Json RunHeader(const Run& run) {
  Json checks = Json::array();
  for (const auto& [id, s] : run.checks) {
    Json c = {{"id", id},          {"pass", s.pass},   {"fail", s.fail},   {"manual", s.manual},
              {"error", s.error},  {"not_applicable", s.not_applicable}, {"muted", s.muted}};
    if (!s.error_message.empty()) c["error_message"] = s.error_message;
    checks.push_back(std::move(c));
  }
  Json reqs = Json::array();
  for (const auto& r : run.requirements) {
    Json q = {{"catalog", r.catalog->id},
              {"requirement", r.requirement->id},
              {"status", std::string(ResultStatusName(r.status))},
              {"failed_resources", r.failed_resources}};
    if (r.attestation) q["attestation"] = r.attestation->id;
    reqs.push_back(std::move(q));
  }
  Json atts = Json::array();
  for (const auto& a : run.attestations) atts.push_back(AttestationJson(a));
  Json excs = Json::array();
  for (const auto& e : run.exceptions) excs.push_back(ExceptionJson(e));
  return {{"format", "cloudpact.assess.run/1"},
          {"run", run.id},
          {"catalog", run.catalog_filter},
          {"platform", run.platform_filter},
          {"started", run.started_unix},
          {"finished", run.finished_unix},
          {"started_by", run.started_by},
          {"resources", run.resources},
          {"checks", checks},
          {"requirements", reqs},
          {"attestations", atts},
          {"exceptions", excs}};
}

RequirementResult Rollup(const Catalog& cat, const Group& g, const Requirement& req, const Run& run,
                         const std::map<std::pair<std::string, std::string>, const Attestation*>& attested) {
  RequirementResult rr;
  rr.catalog = &cat;
  rr.group = &g;
  rr.requirement = &req;
  auto att = attested.find({cat.id, req.id});
  const Attestation* a = att == attested.end() ? nullptr : att->second;
  if (req.assessment == Assessment::kManual) {
    rr.status = a ? ResultStatus::kPass : ResultStatus::kManual;
    rr.attestation = a;
    return rr;
  }
  uint64_t pass = 0, fail = 0, manual = 0, error = 0;
  for (const auto& id : req.checks) {
    auto it = run.checks.find(id);
    if (it == run.checks.end()) continue;  // not in this run's scope
    const CheckSummary& s = it->second;
    pass += s.pass;
    fail += s.fail - s.muted;
    manual += s.manual;
    error += s.error;
  }
  rr.failed_resources = fail;
  if (fail > 0) {
    rr.status = ResultStatus::kFail;
  } else if (error > 0) {
    rr.status = ResultStatus::kError;  // fail closed: a check that could not run is not a pass
  } else if (manual > 0) {
    rr.status = a ? ResultStatus::kPass : ResultStatus::kManual;
    rr.attestation = a;
  } else if (pass > 0) {
    rr.status = ResultStatus::kPass;
  } else {
    rr.status = a ? ResultStatus::kPass : ResultStatus::kNotApplicable;
    rr.attestation = a;
  }
  return rr;
}

Status ValidateResource(const Resource& r, const std::string& platform) {
  if (r.uid.empty() || r.uid.size() > 1024) return MakeError(ErrorCode::kInvalidArgument, "uid must be 1..1024 bytes");
  if (r.platform != platform) {
    return MakeError(ErrorCode::kInvalidArgument, "resource " + r.uid + " is of platform \"" + r.platform +
                                                      "\", not the imported platform \"" + platform + "\"");
  }
  if (r.type.empty()) return MakeError(ErrorCode::kInvalidArgument, "resource " + r.uid + " has no type");
  const TypeSpec* t = FindType(r.type);
  if (!t) {
    if (!r.attrs.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "resource " + r.uid + " of unknown type \"" + r.type +
                                                        "\" has typed attributes");
    }
    return OkStatus();
  }
  for (const auto& attr : r.attrs) {
    const std::string& name = attr.first;  // (clang 14 cannot capture structured bindings)
    const SqlValue& v = attr.second;
    auto col = std::find_if(t->columns.begin(), t->columns.end(), [&](const ColumnSpec& c) { return c.name == name; });
    if (col == t->columns.end()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "resource " + r.uid + ": type " + r.type + " has no column \"" + name + "\"");
    }
    const bool is_int = std::holds_alternative<int64_t>(v), is_text = std::holds_alternative<std::string>(v);
    if ((col->type == ColumnType::kText && is_int) || (col->type != ColumnType::kText && is_text) ||
        (col->type == ColumnType::kBool && is_int && std::get<int64_t>(v) != 0 && std::get<int64_t>(v) != 1)) {
      return MakeError(ErrorCode::kInvalidArgument, "resource " + r.uid + ": column " + name + " has the wrong type");
    }
  }
  return OkStatus();
}

}  // namespace

std::string_view ResultStatusName(ResultStatus s) {
  switch (s) {
    case ResultStatus::kPass: return "PASS";
    case ResultStatus::kFail: return "FAIL";
    case ResultStatus::kManual: return "MANUAL";
    case ResultStatus::kError: return "ERROR";
    case ResultStatus::kNotApplicable: return "NOT_APPLICABLE";
  }
  return "ERROR";
}

Result<ResultStatus> ParseResultStatus(std::string_view s) {
  for (auto v : {ResultStatus::kPass, ResultStatus::kFail, ResultStatus::kManual, ResultStatus::kError,
                 ResultStatus::kNotApplicable}) {
    if (ResultStatusName(v) == s) return v;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "status \"" + std::string(s) + "\" must be PASS, FAIL, MANUAL, ERROR or NOT_APPLICABLE");
}

Json ToJson(const ImportSummary& s) {
  Json problems = Json::array();
  for (const auto& p : s.first_problems) {
    Json j = {{"line", p.line}, {"message", p.message}};
    if (!p.pointer.empty()) j["pointer"] = p.pointer;
    problems.push_back(std::move(j));
  }
  return {{"id", s.id},           {"platform", s.platform}, {"format", s.format},   {"actor", s.actor},
          {"time", s.time_unix},  {"resources", s.resources}, {"raw_only", s.raw_only}, {"replaced", s.replaced},
          {"by_type", s.by_type}, {"problems", s.problems},  {"first_problems", problems}};
}

Json ToJson(const RunListing& r) {
  Json j = {{"id", r.id},
            {"catalog", r.catalog},
            {"platform", r.platform},
            {"started", r.started_unix},
            {"finished", r.finished_unix},
            {"started_by", r.started_by},
            {"resources", r.resources},
            {"counts",
             {{"pass", r.pass}, {"fail", r.fail}, {"manual", r.manual}, {"error", r.error},
              {"not_applicable", r.not_applicable}, {"muted", r.muted}}},
            {"digest", r.digest},
            {"ledgered", r.ledgered}};
  if (r.ledgered) j["ledger_index"] = r.ledger_index;
  return j;
}

Assessor::Assessor(storage::Storage& store, ledger::Ledger& ledger, CatalogSet catalogs, std::vector<Check> checks,
                   AssessorOptions options)
    : store_(store), ledger_(ledger), catalogs_(std::move(catalogs)), checks_(std::move(checks)),
      options_(options) {
  std::sort(checks_.begin(), checks_.end(), [](const Check& a, const Check& b) { return a.id < b.id; });
}

Result<std::unique_ptr<Assessor>> Assessor::Open(storage::Storage& store, ledger::Ledger& ledger, CatalogSet catalogs,
                                                 std::vector<Check> checks, AssessorOptions options) {
  // Every check a catalog names must exist: a requirement silently judged by nothing would
  // read as NOT_APPLICABLE.
  std::set<std::string> defined;
  for (const auto& c : checks) {
    if (!defined.insert(c.id).second) {
      return MakeError(ErrorCode::kInvalidArgument, "check \"" + c.id + "\" is defined twice (" + c.file + ")");
    }
  }
  for (const auto& cat : catalogs.catalogs) {
    for (const auto& g : cat.groups) {
      for (const auto& r : g.requirements) {
        for (const auto& id : r.checks) {
          if (!defined.count(id)) {
            return MakeError(ErrorCode::kInvalidArgument, "catalog " + cat.id + " line " + std::to_string(r.pos.line) +
                                                              ": requirement " + r.id + " names check \"" + id +
                                                              "\", which no checks file defines");
          }
        }
      }
    }
  }
  std::unique_ptr<Assessor> a(new Assessor(store, ledger, std::move(catalogs), std::move(checks), options));
  RETURN_IF_ERROR(a->EnsureSchema());
  RETURN_IF_ERROR(a->LedgerPending());
  return a;
}

const Check* Assessor::FindCheck(const std::string& id) const {
  auto it = std::lower_bound(checks_.begin(), checks_.end(), id, [](const Check& c, const std::string& v) { return c.id < v; });
  return it != checks_.end() && it->id == id ? &*it : nullptr;
}

Status Assessor::EnsureSchema() {
  RETURN_IF_ERROR(store_.ExecuteSql({{"CREATE TABLE IF NOT EXISTS assess_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)", {}},
                                     // The run's clock, so that checks compare ages the same way on
                                     // both backends (their "now" functions differ) and a run's
                                     // results do not depend on when each check happened to run.
                                     {"CREATE TABLE IF NOT EXISTS assess_now (now_unix BIGINT NOT NULL)", {}},
                                     {"CREATE TABLE IF NOT EXISTS assess_results (run_id TEXT NOT NULL, result_id TEXT NOT NULL, "
                                      "check_id TEXT NOT NULL, resource TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, "
                                      "platform TEXT, tenant TEXT, resource_type TEXT, resource_name TEXT, exception_id TEXT, "
                                      "PRIMARY KEY (run_id, check_id, resource))",
                                      {}}}));
  std::string have, tables;
  RETURN_IF_ERROR(store_.QuerySql("SELECT k, v FROM assess_meta", {}, [&](const SqlRow& r) -> Status {
    if (r.Text(0) == "schema") have = std::string(r.Text(1));
    if (r.Text(0) == "tables") tables = std::string(r.Text(1));
    return OkStatus();
  }, options_.check_timeout));
  const std::string want = SchemaFingerprint();
  if (have == want) return OkStatus();
  // The type schema changed (or this is the first start): rebuild the inventory tables.
  // Inventory is re-importable; runs and their results are kept.
  std::vector<SqlBatch> ddl;
  std::string names = "inventory";
  for (std::string_view t : {std::string_view("inventory")}) ddl.push_back({"DROP TABLE IF EXISTS " + std::string(t), {}});
  size_t start = 0;
  while (start < tables.size()) {
    size_t comma = tables.find(',', start);
    std::string name = tables.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.rfind("inv_", 0) == 0) ddl.push_back({"DROP TABLE IF EXISTS " + name, {}});
    start = comma == std::string::npos ? tables.size() : comma + 1;
  }
  ddl.push_back({"CREATE TABLE inventory (uid TEXT PRIMARY KEY, platform TEXT NOT NULL, type TEXT NOT NULL, "
                 "native_type TEXT, region TEXT, tenant TEXT, name TEXT, labels TEXT, raw TEXT, collected_unix BIGINT, "
                 "import_id TEXT)",
                 {}});
  ddl.push_back({"CREATE INDEX inventory_platform_type ON inventory (platform, type)", {}});
  for (const auto& t : Types()) {
    std::string sql = "CREATE TABLE " + Table(t.type) + " (uid TEXT PRIMARY KEY, platform TEXT NOT NULL, tenant TEXT, region TEXT, name TEXT";
    for (const auto& c : t.columns) sql += ", " + std::string(c.name) + " " + SqlType(c.type);
    sql += ")";
    ddl.push_back({"DROP TABLE IF EXISTS " + Table(t.type), {}});
    ddl.push_back({sql, {}});
    ddl.push_back({"CREATE INDEX " + Table(t.type) + "_platform ON " + Table(t.type) + " (platform)", {}});
    names += "," + Table(t.type);
  }
  ddl.push_back({"DELETE FROM assess_meta WHERE k IN ('schema', 'tables')", {}});
  ddl.push_back({"INSERT INTO assess_meta (k, v) VALUES (?, ?)", {{std::string("schema"), want}, {std::string("tables"), names}}});
  return store_.ExecuteSql(ddl);
}

Result<ImportSummary> Assessor::Import(const std::string& platform, const std::string& format, ImportResult imported,
                                       const std::string& actor) {
  ImportSummary sum;
  sum.id = RandomId("imp_");
  sum.platform = platform;
  sum.format = format;
  sum.actor = actor;
  sum.time_unix = UnixSeconds(SystemNow());
  if (platform.empty()) return MakeError(ErrorCode::kInvalidArgument, "a platform is required");
  auto problem = [&](ImportProblem p) {
    ++sum.problems;
    if (sum.first_problems.size() < options_.max_problems_kept) sum.first_problems.push_back(std::move(p));
  };
  for (auto& p : imported.problems) problem(std::move(p));

  // Resources that cannot be stored are problems like malformed lines: reported, skipped.
  std::set<std::string> types;
  std::unordered_map<std::string, size_t> seen;
  std::vector<const Resource*> keep;
  keep.reserve(imported.resources.size());
  for (const Resource& r : imported.resources) {
    if (Status st = ValidateResource(r, platform); !st.ok()) {
      problem({0, "", st.error().message});
      continue;
    }
    if (!seen.emplace(r.uid, keep.size()).second) {
      problem({0, "", "resource " + r.uid + " appears more than once; the first is kept"});
      continue;
    }
    types.insert(r.type);
    keep.push_back(&r);
  }

  for (const auto& t : imported.covered_types) {
    if (t.empty()) continue;
    types.insert(t);
  }
  for (const auto& t : types) {
    RETURN_IF_ERROR(store_.QuerySql("SELECT COUNT(*) FROM inventory WHERE platform = ? AND type = ?", {platform, t},
                                    [&](const SqlRow& r) -> Status {
                                      sum.replaced += std::stoull(std::string(r.Text(0)));
                                      return OkStatus();
                                    },
                                    options_.check_timeout));
  }

  std::vector<SqlBatch> batches;
  for (const auto& t : types) {
    batches.push_back({"DELETE FROM inventory WHERE platform = ? AND type = ?", {{platform, t}}});
    if (FindType(t)) batches.push_back({"DELETE FROM " + Table(t) + " WHERE platform = ?", {{platform}}});
  }
  SqlBatch generic{"INSERT INTO inventory (uid, platform, type, native_type, region, tenant, name, labels, raw, "
                   "collected_unix, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {}};
  generic.rows.reserve(keep.size());
  std::map<std::string, SqlBatch> typed;
  for (const Resource* r : keep) {
    Json labels = Json::object();
    for (const auto& [k, v] : r->labels) labels[k] = v;
    generic.rows.push_back({r->uid, r->platform, r->type, TextOrNull(r->native_type), TextOrNull(r->region),
                            TextOrNull(r->tenant), TextOrNull(r->name), labels.empty() ? SqlValue{} : SqlValue{labels.dump()},
                            TextOrNull(r->raw), r->collected_unix ? SqlValue{r->collected_unix} : SqlValue{}, sum.id});
    ++sum.by_type[r->type];
    const TypeSpec* t = FindType(r->type);
    if (!t) {
      ++sum.raw_only;
      continue;
    }
    auto [it, fresh] = typed.try_emplace(r->type);
    if (fresh) {
      std::string cols = "uid, platform, tenant, region, name", marks = "?, ?, ?, ?, ?";
      for (const auto& c : t->columns) {
        cols += ", " + std::string(c.name);
        marks += ", ?";
      }
      it->second.sql = "INSERT INTO " + Table(t->type) + " (" + cols + ") VALUES (" + marks + ")";
    }
    std::vector<SqlValue> row{r->uid, r->platform, TextOrNull(r->tenant), TextOrNull(r->region), TextOrNull(r->name)};
    for (const auto& c : t->columns) {
      auto v = r->attrs.find(c.name);
      row.push_back(v == r->attrs.end() ? SqlValue{} : v->second);
    }
    it->second.rows.push_back(std::move(row));
  }
  sum.resources = keep.size();
  batches.push_back(std::move(generic));
  for (auto& [t, b] : typed) batches.push_back(std::move(b));
  RETURN_IF_ERROR(store_.ExecuteSql(batches));
  RETURN_IF_ERROR(store_.WriteRecords({{kImportKind, sum.id, ToJson(sum).dump(), 0}}));
  return sum;
}

Result<std::vector<ImportSummary>> Assessor::Imports() const {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kImportKind));
  std::vector<ImportSummary> out;
  for (const auto& rec : records) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) continue;
    ImportSummary s;
    s.id = j->value("id", "");
    s.platform = j->value("platform", "");
    s.format = j->value("format", "");
    s.actor = j->value("actor", "");
    s.time_unix = j->value("time", int64_t{0});
    s.resources = j->value("resources", uint64_t{0});
    s.raw_only = j->value("raw_only", uint64_t{0});
    s.replaced = j->value("replaced", uint64_t{0});
    s.problems = j->value("problems", uint64_t{0});
    const Json by_type = j->value("by_type", Json::object());  // items() must not outlive it
    for (const auto& [k, v] : by_type.items()) s.by_type[k] = v.get<uint64_t>();
    for (const auto& p : j->value("first_problems", Json::array())) {
      s.first_problems.push_back({p.value("line", 0), p.value("pointer", ""), p.value("message", "")});
    }
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time_unix > b.time_unix; });
  return out;
}

Result<std::map<std::string, uint64_t>> Assessor::InventoryCounts() const {
  std::map<std::string, uint64_t> out;
  RETURN_IF_ERROR(store_.QuerySql("SELECT platform, COUNT(*) FROM inventory GROUP BY platform", {},
                                  [&](const SqlRow& r) -> Status {
                                    out[std::string(r.Text(0))] = std::stoull(std::string(r.Text(1)));
                                    return OkStatus();
                                  },
                                  options_.check_timeout));
  return out;
}

Result<Run> Assessor::RunAssessment(const RunOptions& options) {
  std::lock_guard<std::mutex> lock(run_mu_);
  Run run;
  run.id = RandomId("run_");
  run.catalog_filter = options.catalog;
  run.platform_filter = options.platform;
  run.started_by = options.actor;
  run.started_unix = UnixSeconds(SystemNow());

  // Which checks: those the chosen catalog names, or every check.
  std::vector<const Check*> scope;
  if (!options.catalog.empty()) {
    const Catalog* cat = nullptr;
    for (const auto& c : catalogs_.catalogs) {
      if (c.id == options.catalog) cat = &c;
    }
    if (!cat) return MakeError(ErrorCode::kNotFound, "no catalog \"" + options.catalog + "\"");
    std::set<std::string> ids;
    for (const auto& g : cat->groups) {
      for (const auto& r : g.requirements) ids.insert(r.checks.begin(), r.checks.end());
    }
    for (const auto& id : ids) scope.push_back(FindCheck(id));
  } else {
    for (const auto& c : checks_) scope.push_back(&c);
  }

  // What is in force now: expired attestations and exceptions lapse on their own.
  ASSIGN_OR_RETURN(run.attestations, Attestations(false));
  ASSIGN_OR_RETURN(run.exceptions, Exceptions(false));
  std::map<std::pair<std::string, std::string>, const Exception*> excepted;  // (check, resource or *)
  for (const auto& e : run.exceptions) excepted[{e.check, e.resource}] = &e;

  {
    std::string sql = "SELECT COUNT(*) FROM inventory";
    std::vector<SqlValue> params;
    if (!options.platform.empty()) {
      sql += " WHERE platform = ?";
      params.push_back(options.platform);
    }
    RETURN_IF_ERROR(store_.QuerySql(sql, params, [&](const SqlRow& r) -> Status {
      run.resources = std::stoull(std::string(r.Text(0)));
      return OkStatus();
    }, options_.check_timeout));
  }

  RETURN_IF_ERROR(store_.ExecuteSql({{"DELETE FROM assess_now", {}},
                                     {"INSERT INTO assess_now (now_unix) VALUES (?)", {{run.started_unix}}}}));

  // Each check on its own connection; PASS results are only counted.
  std::vector<CheckSummary> sums(scope.size());
  std::vector<std::vector<CheckResult>> found(scope.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < scope.size();) {
      const Check& check = *scope[i];
      CheckSummary& s = sums[i];
      s.check = &check;
      std::vector<CheckResult>& out = found[i];
      std::string sql = "SELECT c.resource, c.status, c.reason, c.platform, c.tenant FROM (\n" + check.sql + "\n) c";
      std::vector<SqlValue> params;
      if (!options.platform.empty()) {
        sql += " WHERE c.platform = ?";
        params.push_back(options.platform);
      }
      auto t0 = std::chrono::steady_clock::now();
      Status st = store_.QuerySql(sql, params, [&](const SqlRow& r) -> Status {
        std::string_view status = r.IsNull(1) ? std::string_view() : r.Text(1);
        if (status == "PASS" && !r.IsNull(0)) {
          ++s.pass;
          return OkStatus();
        }
        CheckResult cr;
        cr.check = check.id;
        cr.resource = r.IsNull(0) ? "" : std::string(r.Text(0));
        cr.reason = r.IsNull(2) ? "" : std::string(r.Text(2));
        cr.platform = r.IsNull(3) ? "" : std::string(r.Text(3));
        cr.tenant = r.IsNull(4) ? "" : std::string(r.Text(4));
        auto parsed = ParseResultStatus(status);
        if (cr.resource.empty()) {
          cr.status = ResultStatus::kError;
          cr.reason = "the check returned a row without a resource";
        } else if (!parsed.ok()) {
          cr.status = ResultStatus::kError;
          cr.reason = "the check returned " + parsed.error().message;
        } else {
          cr.status = *parsed;
        }
        switch (cr.status) {
          case ResultStatus::kPass: ++s.pass; return OkStatus();
          case ResultStatus::kFail: ++s.fail; break;
          case ResultStatus::kManual: ++s.manual; break;
          case ResultStatus::kError: ++s.error; break;
          case ResultStatus::kNotApplicable: ++s.not_applicable; break;
        }
        out.push_back(std::move(cr));
        return OkStatus();
      }, options_.check_timeout);
      s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!st.ok()) {
        // A check whose SQL fails is ERROR, never PASS; what it judged before failing is
        // discarded so that a half-run check cannot look complete.
        s.pass = s.fail = s.manual = s.not_applicable = 0;
        s.error = 1;
        s.error_message = st.error().message;
        out.clear();
        CheckResult cr;
        cr.check = check.id;
        cr.status = ResultStatus::kError;
        cr.reason = st.error().message;
        out.push_back(std::move(cr));
      }
    }
  };
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(options_.threads, static_cast<int>(scope.size())));
  for (int t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  for (size_t i = 0; i < scope.size(); ++i) {
    for (auto& r : found[i]) {
      r.id = ResultId(r.check, r.resource);
      if (r.status == ResultStatus::kFail) {
        auto e = excepted.find({r.check, r.resource});
        if (e == excepted.end()) e = excepted.find({r.check, "*"});
        if (e != excepted.end()) {
          r.exception_id = e->second->id;
          ++sums[i].muted;
        }
      }
      run.results.push_back(std::move(r));
    }
    run.checks[scope[i]->id] = sums[i];
  }
  std::sort(run.results.begin(), run.results.end(), [](const CheckResult& a, const CheckResult& b) {
    return a.check != b.check ? a.check < b.check : a.resource < b.resource;
  });

  // Types and names of the resources behind non-PASS results, for reports.
  {
    std::unordered_map<std::string, std::vector<CheckResult*>> by_uid;
    for (auto& r : run.results) {
      if (!r.resource.empty()) by_uid[r.resource].push_back(&r);
    }
    std::vector<std::string> uids;
    uids.reserve(by_uid.size());
    for (const auto& [u, _] : by_uid) uids.push_back(u);
    // Few results: look them up by id; many: one scan of the inventory is cheaper than
    // thousands of lookups (each on its own connection).
    auto take = [&](const SqlRow& r) -> Status {
      auto it = by_uid.find(std::string(r.Text(0)));
      if (it == by_uid.end()) return OkStatus();
      for (CheckResult* c : it->second) {
        c->resource_type = std::string(r.Text(1));
        c->resource_name = r.IsNull(2) ? "" : std::string(r.Text(2));
      }
      return OkStatus();
    };
    if (uids.size() > 20 * kLookupChunk) {
      RETURN_IF_ERROR(store_.QuerySql("SELECT uid, type, name FROM inventory", {}, take, options_.check_timeout));
      uids.clear();
    }
    for (size_t b = 0; b < uids.size(); b += kLookupChunk) {
      size_t e = std::min(uids.size(), b + kLookupChunk);
      std::string sql = "SELECT uid, type, name FROM inventory WHERE uid IN (";
      std::vector<SqlValue> params;
      for (size_t i = b; i < e; ++i) {
        sql += i == b ? "?" : ", ?";
        params.push_back(uids[i]);
      }
      sql += ")";
      RETURN_IF_ERROR(store_.QuerySql(sql, params, take, options_.check_timeout));
    }
  }

  std::map<std::pair<std::string, std::string>, const Attestation*> attested;
  for (const auto& a : run.attestations) attested[{a.catalog, a.requirement}] = &a;
  for (const auto& cat : catalogs_.catalogs) {
    if (!options.catalog.empty() && cat.id != options.catalog) continue;
    for (const auto& g : cat.groups) {
      for (const auto& req : g.requirements) run.requirements.push_back(Rollup(cat, g, req, run, attested));
    }
  }
  run.finished_unix = UnixSeconds(SystemNow());
  ASSIGN_OR_RETURN(std::string doc, ResultDocument(run));
  run.digest = crypto::Sha256Hex(doc);

  // Store (results, then the run record, unledgered), then ledger, then mark it ledgered.
  SqlBatch rows{"INSERT INTO assess_results (run_id, result_id, check_id, resource, status, reason, platform, tenant, "
                "resource_type, resource_name, exception_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {}};
  rows.rows.reserve(run.results.size());
  for (const auto& r : run.results) {
    rows.rows.push_back({run.id, r.id, r.check, r.resource, std::string(ResultStatusName(r.status)), r.reason,
                         r.platform, r.tenant, r.resource_type, r.resource_name, TextOrNull(r.exception_id)});
  }
  if (!rows.rows.empty()) RETURN_IF_ERROR(store_.ExecuteSql({rows}));
  Json header = RunHeader(run);
  header["digest"] = run.digest;
  header["ledgered"] = false;
  RETURN_IF_ERROR(store_.WriteRecords({{kRunKind, run.id, header.dump(), 0}}));
  auto index = LedgerRun(run);
  if (!index.ok()) {
    return MakeError(ErrorCode::kUnavailable, "run " + run.id + " is stored but the ledger did not accept it (" +
                                                  index.error().message + "); it is ledgered at the next start");
  }
  run.ledgered = true;
  run.ledger_index = *index;
  return run;
}

Result<uint64_t> Assessor::LedgerRun(const Run& run) {
  uint64_t pass = 0, fail = 0, error = 0;
  for (const auto& [id, s] : run.checks) {
    pass += s.pass;
    fail += s.fail;
    error += s.error;
  }
  Json body = {{"run", run.id},         {"digest", run.digest},     {"catalog", run.catalog_filter},
               {"platform", run.platform_filter}, {"resources", run.resources}, {"checks", run.checks.size()},
               {"pass", pass},          {"fail", fail},             {"error", error},
               {"finished", run.finished_unix}};
  ASSIGN_OR_RETURN(ledger::Appended a, ledger_.Append({"assess.run", body, run.started_by, std::nullopt}));
  ASSIGN_OR_RETURN(auto rec, store_.GetRecord(kRunKind, run.id));
  if (!rec) return MakeError(ErrorCode::kInternal, "run record vanished");
  ASSIGN_OR_RETURN(Json header, ParseJson(rec->body));
  header["ledgered"] = true;
  header["ledger_index"] = a.index;
  RETURN_IF_ERROR(store_.WriteRecords({{kRunKind, run.id, header.dump(), rec->version}}));
  return a.index;
}

Status Assessor::LedgerPending() {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kRunKind));
  for (const auto& rec : records) {
    auto j = ParseJson(rec.body);
    if (!j.ok() || j->value("ledgered", true)) continue;
    ASSIGN_OR_RETURN(Run run, GetRun(rec.id));
    auto st = LedgerRun(run);
    if (!st.ok()) return st.error();
    log::Info("assessment run ledgered at start (it was stored before a crash)", {{"run", run.id}});
  }
  return OkStatus();
}

Result<std::string> Assessor::ResultDocument(const Run& run) {
  // The header is small and goes through the generic canonicaliser; the results (up to
  // millions) are written directly in RFC 8785 form — members in code-point order, strings
  // escaped as the canonicaliser does — rather than built as a JSON tree first, which costs
  // ~5x the time and memory at a million results (assessor_test compares the two).
  ASSIGN_OR_RETURN(std::string head, CanonicalJson(RunHeader(run)));
  // Members sort as …,"resources":N,"results":[…],"run":…; the header has no other "run"
  // key at its top level, and inside strings quotes are escaped, so the first ,"run": is it.
  const size_t at = head.find(",\"run\":");
  if (at == std::string::npos) return MakeError(ErrorCode::kInternal, "run header without a run id");
  std::string out;
  out.reserve(head.size() + run.results.size() * 256);
  out.append(head, 0, at);
  out.append(",\"results\":[");
  bool first = true;
  for (const auto& r : run.results) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"check\":");
    AppendCanonicalString(out, r.check);
    if (!r.exception_id.empty()) {
      out.append(",\"exception\":");
      AppendCanonicalString(out, r.exception_id);
    }
    out.append(",\"id\":");
    AppendCanonicalString(out, r.id);
    out.append(",\"name\":");
    AppendCanonicalString(out, r.resource_name);
    out.append(",\"platform\":");
    AppendCanonicalString(out, r.platform);
    out.append(",\"reason\":");
    AppendCanonicalString(out, r.reason);
    out.append(",\"resource\":");
    AppendCanonicalString(out, r.resource);
    out.append(",\"status\":");
    AppendCanonicalString(out, ResultStatusName(r.status));
    out.append(",\"tenant\":");
    AppendCanonicalString(out, r.tenant);
    out.append(",\"type\":");
    AppendCanonicalString(out, r.resource_type);
    out.push_back('}');
  }
  out.push_back(']');
  out.append(head, at, std::string::npos);
  return out;
}

void Assessor::Link(Run& run) const {
  for (auto& [id, s] : run.checks) s.check = FindCheck(id);
}

Result<Run> Assessor::GetRun(const std::string& id) const {
  ASSIGN_OR_RETURN(auto rec, store_.GetRecord(kRunKind, id));
  if (!rec) return MakeError(ErrorCode::kNotFound, "no assessment run \"" + id + "\"");
  ASSIGN_OR_RETURN(Json j, ParseJson(rec->body));
  Run run;
  run.id = j.value("run", "");
  run.catalog_filter = j.value("catalog", "");
  run.platform_filter = j.value("platform", "");
  run.started_unix = j.value("started", int64_t{0});
  run.finished_unix = j.value("finished", int64_t{0});
  run.started_by = j.value("started_by", "");
  run.resources = j.value("resources", uint64_t{0});
  run.digest = j.value("digest", "");
  run.ledgered = j.value("ledgered", false);
  run.ledger_index = j.value("ledger_index", uint64_t{0});
  for (const auto& c : j.value("checks", Json::array())) {
    CheckSummary s;
    s.pass = c.value("pass", uint64_t{0});
    s.fail = c.value("fail", uint64_t{0});
    s.manual = c.value("manual", uint64_t{0});
    s.error = c.value("error", uint64_t{0});
    s.not_applicable = c.value("not_applicable", uint64_t{0});
    s.muted = c.value("muted", uint64_t{0});
    s.error_message = c.value("error_message", "");
    run.checks[c.value("id", "")] = s;
  }
  for (const auto& a : j.value("attestations", Json::array())) run.attestations.push_back(AttestationFrom(a));
  for (const auto& e : j.value("exceptions", Json::array())) run.exceptions.push_back(ExceptionFrom(e));
  for (const auto& q : j.value("requirements", Json::array())) {
    RequirementResult rr;
    for (const auto& cat : catalogs_.catalogs) {
      if (cat.id != q.value("catalog", "")) continue;
      for (const auto& g : cat.groups) {
        for (const auto& req : g.requirements) {
          if (req.id == q.value("requirement", "")) {
            rr.catalog = &cat;
            rr.group = &g;
            rr.requirement = &req;
          }
        }
      }
    }
    if (!rr.requirement) {
      return MakeError(ErrorCode::kFailedPrecondition, "run " + id + " names requirement " + q.value("catalog", "") +
                                                           "/" + q.value("requirement", "") +
                                                           ", which the loaded catalogs no longer have");
    }
    auto st = ParseResultStatus(q.value("status", ""));
    rr.status = st.ok() ? *st : ResultStatus::kError;
    rr.failed_resources = q.value("failed_resources", uint64_t{0});
    const std::string att = q.value("attestation", "");
    for (const auto& a : run.attestations) {
      if (a.id == att) rr.attestation = &a;
    }
    run.requirements.push_back(rr);
  }
  RETURN_IF_ERROR(store_.QuerySql(
      "SELECT result_id, check_id, resource, status, reason, platform, tenant, resource_type, resource_name, exception_id "
      "FROM assess_results WHERE run_id = ? ORDER BY check_id, resource",
      {id}, [&](const SqlRow& r) -> Status {
        CheckResult cr;
        auto text = [&](size_t i) { return r.IsNull(i) ? std::string() : std::string(r.Text(i)); };
        cr.id = text(0);
        cr.check = text(1);
        cr.resource = text(2);
        auto st = ParseResultStatus(r.Text(3));
        cr.status = st.ok() ? *st : ResultStatus::kError;
        cr.reason = text(4);
        cr.platform = text(5);
        cr.tenant = text(6);
        cr.resource_type = text(7);
        cr.resource_name = text(8);
        cr.exception_id = text(9);
        run.results.push_back(std::move(cr));
        return OkStatus();
      },
      options_.check_timeout));
  // Bytewise order, as the run wrote them (a database collation could order differently).
  std::sort(run.results.begin(), run.results.end(), [](const CheckResult& a, const CheckResult& b) {
    return a.check != b.check ? a.check < b.check : a.resource < b.resource;
  });
  Link(run);
  return run;
}

Result<std::vector<RunListing>> Assessor::ListRuns() const {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kRunKind));
  std::vector<RunListing> out;
  for (const auto& rec : records) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) continue;
    RunListing l;
    l.id = j->value("run", "");
    l.catalog = j->value("catalog", "");
    l.platform = j->value("platform", "");
    l.digest = j->value("digest", "");
    l.started_by = j->value("started_by", "");
    l.started_unix = j->value("started", int64_t{0});
    l.finished_unix = j->value("finished", int64_t{0});
    l.resources = j->value("resources", uint64_t{0});
    l.ledgered = j->value("ledgered", false);
    l.ledger_index = j->value("ledger_index", uint64_t{0});
    for (const auto& c : j->value("checks", Json::array())) {
      l.pass += c.value("pass", uint64_t{0});
      l.fail += c.value("fail", uint64_t{0});
      l.manual += c.value("manual", uint64_t{0});
      l.error += c.value("error", uint64_t{0});
      l.not_applicable += c.value("not_applicable", uint64_t{0});
      l.muted += c.value("muted", uint64_t{0});
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const RunListing& a, const RunListing& b) {
    return a.started_unix != b.started_unix ? a.started_unix > b.started_unix : a.id > b.id;
  });
  return out;
}

Result<RunDiff> Assessor::Diff(const std::string& before, const std::string& after) const {
  ASSIGN_OR_RETURN(Run a, GetRun(before));
  ASSIGN_OR_RETURN(Run b, GetRun(after));
  std::unordered_map<std::string, const CheckResult*> old;
  for (const auto& r : a.results) old[r.id] = &r;
  RunDiff d;
  std::set<std::string> still;
  for (const auto& r : b.results) {
    auto it = old.find(r.id);
    if (it == old.end()) {
      d.added.push_back(r);
      continue;
    }
    still.insert(r.id);
    if (it->second->status != r.status || it->second->reason != r.reason) d.changed.push_back({*it->second, r});
  }
  for (const auto& r : a.results) {
    if (!still.count(r.id)) d.resolved.push_back(r);
  }
  return d;
}

Result<Attestation> Assessor::Attest(Attestation a, const std::string& actor) {
  const int64_t now = UnixSeconds(SystemNow());
  const Requirement* req = nullptr;
  for (const auto& cat : catalogs_.catalogs) {
    if (cat.id == a.catalog) req = cat.Find(a.requirement);
  }
  if (!req) return MakeError(ErrorCode::kNotFound, "no requirement " + a.catalog + "/" + a.requirement);
  if (a.owner.empty() || a.approver.empty() || a.statement.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "an attestation needs an owner, an approver and a statement");
  }
  if (a.owner == a.approver) {
    return MakeError(ErrorCode::kInvalidArgument, "the approver of an attestation must not be its owner");
  }
  if (a.expires_unix <= now) return MakeError(ErrorCode::kInvalidArgument, "an attestation must expire in the future");
  for (const auto& e : a.evidence) {
    if (e.name.empty() || e.sha256.size() != 64 || !HexDecode(e.sha256).ok()) {
      return MakeError(ErrorCode::kInvalidArgument, "each evidence file needs a name and a SHA-256 (64 hex digits)");
    }
  }
  a.id = RandomId("att_");
  a.created_unix = now;
  RETURN_IF_ERROR(store_.WriteRecords({{kAttestationKind, a.id, AttestationJson(a).dump(), 0}}));
  auto appended = ledger_.Append({"assess.attestation", AttestationJson(a), actor, std::nullopt});
  if (!appended.ok()) {
    // Fail closed: an attestation the ledger does not hold does not count.
    (void)store_.WriteRecords({{kAttestationKind, a.id, "", storage::RecordWrite::kAnyVersion, true}});
    return appended.error();
  }
  return a;
}

Result<Exception> Assessor::AddException(Exception e, const std::string& actor) {
  const int64_t now = UnixSeconds(SystemNow());
  if (!FindCheck(e.check)) return MakeError(ErrorCode::kNotFound, "no check \"" + e.check + "\"");
  if (e.resource.empty()) return MakeError(ErrorCode::kInvalidArgument, "an exception names a resource uid, or *");
  if (e.owner.empty() || e.approver.empty() || e.reason.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "an exception needs an owner, a reason and an approver");
  }
  if (e.owner == e.approver) return MakeError(ErrorCode::kInvalidArgument, "the approver of an exception must not be its owner");
  if (e.expires_unix <= now) return MakeError(ErrorCode::kInvalidArgument, "an exception must expire in the future");
  e.id = RandomId("exc_");
  e.created_unix = now;
  RETURN_IF_ERROR(store_.WriteRecords({{kExceptionKind, e.id, ExceptionJson(e).dump(), 0}}));
  auto appended = ledger_.Append({"assess.exception", ExceptionJson(e), actor, std::nullopt});
  if (!appended.ok()) {
    (void)store_.WriteRecords({{kExceptionKind, e.id, "", storage::RecordWrite::kAnyVersion, true}});
    return appended.error();
  }
  return e;
}

Result<std::vector<Attestation>> Assessor::Attestations(bool include_expired) const {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kAttestationKind));
  const int64_t now = UnixSeconds(SystemNow());
  std::vector<Attestation> out;
  for (const auto& rec : records) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) continue;
    Attestation a = AttestationFrom(*j);
    if (include_expired || a.expires_unix > now) out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<Exception>> Assessor::Exceptions(bool include_expired) const {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kExceptionKind));
  const int64_t now = UnixSeconds(SystemNow());
  std::vector<Exception> out;
  for (const auto& rec : records) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) continue;
    Exception e = ExceptionFrom(*j);
    if (include_expired || e.expires_unix > now) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cloudpact::assess
