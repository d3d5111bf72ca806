#include "api/assess_routes.h"

#include <algorithm>

#include "assess/importers.h"
#include "assess/oscal.h"
#include "assess/report.h"
#include "core/encoding.h"
#include "core/time.h"

namespace cloudpact::api {
namespace {

using assess::ResultStatus;

std::string Query(const Request& r, const char* key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
}

Response Bytes(int status, std::string content_type, std::string body) {
  Response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  return res;
}

Json Counts(const assess::CheckSummary& s) {
  return {{"pass", s.pass},   {"fail", s.fail},   {"manual", s.manual}, {"error", s.error},
          {"not_applicable", s.not_applicable}, {"muted", s.muted}};
}

Json ResultJson(const assess::CheckResult& r) {
  Json j = {{"id", r.id},         {"check", r.check},        {"resource", r.resource},
            {"status", std::string(assess::ResultStatusName(r.status))}, {"reason", r.reason},
            {"platform", r.platform}, {"tenant", r.tenant}, {"type", r.resource_type},
            {"name", r.resource_name}};
  if (!r.exception_id.empty()) j["exception"] = r.exception_id;
  return j;
}

assess::RunListing Listing(const assess::Run& run) {
  assess::RunListing l;
  l.id = run.id;
  l.catalog = run.catalog_filter;
  l.platform = run.platform_filter;
  l.digest = run.digest;
  l.started_by = run.started_by;
  l.started_unix = run.started_unix;
  l.finished_unix = run.finished_unix;
  l.resources = run.resources;
  l.ledgered = run.ledgered;
  l.ledger_index = run.ledger_index;
  for (const auto& [id, s] : run.checks) {
    l.pass += s.pass;
    l.fail += s.fail;
    l.manual += s.manual;
    l.error += s.error;
    l.not_applicable += s.not_applicable;
    l.muted += s.muted;
  }
  return l;
}

Result<int64_t> Expiry(const Json& j) {
  if (!j.contains("expires") || !j["expires"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "\"expires\" is required: an RFC 3339 time, e.g. 2027-03-31T00:00:00Z");
  }
  const std::string s = j["expires"].get<std::string>();
  int64_t unix = 0;
  if (!ParseRfc3339Seconds(s, false, &unix)) {
    return MakeError(ErrorCode::kInvalidArgument, "\"expires\" must be an RFC 3339 time, e.g. 2027-03-31T00:00:00Z");
  }
  return unix;
}

SystemTime FromUnix(int64_t s) { return SystemTime(std::chrono::seconds(s)); }

}  // namespace

bool AssessRoutes::Handle(const Request& r, const Respond& respond) {
  auto seg = Segments(r.path);
  if (seg.size() < 3 || seg[0] != "v1" || seg[1] != "assess") return false;
  const bool get = r.method == "GET" || r.method == "HEAD", post = r.method == "POST";
  auto wrong_method = [&] {
    respond(ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + r.path));
    return true;
  };
  auto with = [&](std::string_view permission, auto&& f) {
    auto c = gov_.Authorize(r, permission);
    if (!c.ok()) {
      respond(ErrorResponse(c.error()));
      return true;
    }
    respond(f(*c));
    return true;
  };
  const std::string& what = seg[2];
  if (what == "catalogs" && seg.size() == 3) {
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      Json items = Json::array();
      for (const auto& c : assessor_.catalogs().catalogs) {
        size_t reqs = 0, automated = 0;
        for (const auto& g : c.groups) {
          reqs += g.requirements.size();
          for (const auto& q : g.requirements) automated += q.assessment == assess::Assessment::kAutomated;
        }
        items.push_back({{"id", c.id}, {"title_zh", c.title_zh}, {"title_en", c.title_en}, {"version", c.version},
                         {"source", c.source}, {"groups", c.groups.size()}, {"requirements", reqs},
                         {"automated", automated}});
      }
      return JsonResponse(200, {{"items", items}});
    });
  }
  if (what == "catalogs" && seg.size() == 5 && seg[4] == "oscal") {
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      for (const auto& c : assessor_.catalogs().catalogs) {
        if (c.id == seg[3]) return JsonResponse(200, assess::ToOscalCatalog(c));
      }
      return ErrorResponse(404, "not_found", "no catalog \"" + seg[3] + "\"");
    });
  }
  if (what == "checks" && seg.size() == 3) {
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      Json items = Json::array();
      for (const auto& c : assessor_.checks()) {
        items.push_back({{"id", c.id}, {"title_zh", c.title_zh}, {"title_en", c.title_en},
                         {"severity", std::string(assess::SeverityName(c.severity))},
                         {"resource_types", c.resource_types}, {"sql", c.sql}});
      }
      return JsonResponse(200, {{"items", items}});
    });
  }
  if (what == "imports" && seg.size() == 3) {
    if (post) return with(perm::kAssessImport, [&](const Caller& c) { return Import(r, c); });
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      auto list = assessor_.Imports();
      if (!list.ok()) return ErrorResponse(list.error());
      Json items = Json::array();
      for (const auto& s : *list) items.push_back(assess::ToJson(s));
      return JsonResponse(200, {{"items", items}});
    });
  }
  if (what == "runs" && seg.size() == 3) {
    if (post) return with(perm::kAssessRun, [&](const Caller& c) { return PostRun(r, c); });
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      auto list = assessor_.ListRuns();
      if (!list.ok()) return ErrorResponse(list.error());
      Json items = Json::array();
      for (const auto& l : *list) items.push_back(assess::ToJson(l));
      return JsonResponse(200, {{"runs", items}});
    });
  }
  if (what == "runs" && (seg.size() == 4 || seg.size() == 5)) {
    if (!get) return wrong_method();
    const std::string& id = seg[3];
    const std::string sub = seg.size() == 5 ? seg[4] : "";
    return with(perm::kAssessRead, [&](const Caller&) {
      if (sub.empty()) return GetRun(r, id);
      if (sub == "scorecard") return Scorecard(id);
      if (sub == "report") return Report(r, id);
      if (sub == "document") return Document(id);
      return ErrorResponse(404, "not_found", "no route " + r.path);
    });
  }
  if (what == "diff" && seg.size() == 3) {
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) { return Diff(r); });
  }
  if ((what == "attestations" || what == "exceptions") && seg.size() == 3) {
    const bool att = what == "attestations";
    if (post) {
      return with(perm::kAssessAttest,
                  [&](const Caller& c) { return att ? PostAttestation(r, c) : PostException(r, c); });
    }
    if (!get) return wrong_method();
    return with(perm::kAssessRead, [&](const Caller&) {
      const bool all = Query(r, "expired") == "true";
      Json items = Json::array();
      if (att) {
        auto list = assessor_.Attestations(all);
        if (!list.ok()) return ErrorResponse(list.error());
        for (const auto& a : *list) {
          Json ev = Json::array();
          for (const auto& e : a.evidence) ev.push_back({{"name", e.name}, {"sha256", e.sha256}});
          items.push_back({{"id", a.id}, {"catalog", a.catalog}, {"requirement", a.requirement}, {"owner", a.owner},
                           {"approver", a.approver}, {"statement", a.statement}, {"evidence", ev},
                           {"created", FormatRfc3339(FromUnix(a.created_unix))},
                           {"expires", FormatRfc3339(FromUnix(a.expires_unix))}});
        }
      } else {
        auto list = assessor_.Exceptions(all);
        if (!list.ok()) return ErrorResponse(list.error());
        for (const auto& e : *list) {
          items.push_back({{"id", e.id}, {"check", e.check}, {"resource", e.resource}, {"owner", e.owner},
                           {"approver", e.approver}, {"reason", e.reason},
                           {"created", FormatRfc3339(FromUnix(e.created_unix))},
                           {"expires", FormatRfc3339(FromUnix(e.expires_unix))}});
        }
      }
      return JsonResponse(200, {{"items", items}});
    });
  }
  if (what == "tenant-reports" && seg.size() == 4) {
    if (!get) return wrong_method();
    return with(perm::kTenantRead, [&](const Caller& c) { return TenantReport(r, c, seg[3]); });
  }
  return false;
}

Response AssessRoutes::Import(const Request& r, const Caller& c) {
  assess::ImportOptions o;
  o.platform = Query(r, "platform");
  o.region = Query(r, "region");
  o.collected_unix = UnixSeconds(SystemNow());
  const std::string format = Query(r, "format");
  if (o.platform.empty()) return ErrorResponse(400, "invalid_argument", "query parameter platform is required");
  if (format.empty()) {
    std::string known;
    for (const auto& f : assess::ImportFormats()) known += (known.empty() ? "" : ", ") + f;
    return ErrorResponse(400, "invalid_argument", "query parameter format is required (" + known + ")");
  }
  if (!directory_.snapshot()->ResolvePlatform(o.platform)) {
    return ErrorResponse(404, "not_found", "no platform \"" + o.platform + "\" in the directory");
  }
  std::lock_guard<std::mutex> lock(import_mu_);
  auto parsed = assess::Import(format, r.body, o);
  if (!parsed.ok()) return ErrorResponse(parsed.error());
  auto sum = assessor_.Import(o.platform, format, std::move(parsed).value(), c.name);
  return sum.ok() ? JsonResponse(200, assess::ToJson(*sum)) : ErrorResponse(sum.error());
}

Result<assess::Run> AssessRoutes::StartRun(const std::string& catalog, const std::string& platform,
                                           const std::string& actor) {
  if (before_run_) {
    if (Status st = before_run_(actor); !st.ok()) {
      return MakeError(st.error().code, "cannot refresh cloudpact's own state before the run: " + st.error().message);
    }
  }
  assess::RunOptions o;
  o.catalog = catalog;
  o.platform = platform;
  o.actor = actor;
  return assessor_.RunAssessment(o);
}

Response AssessRoutes::PostRun(const Request& r, const Caller& c) {
  Json j = Json::object();
  if (!r.body.empty()) {
    auto body = JsonObjectBody(r, max_body_);
    if (!body.ok()) return ErrorResponse(body.error());
    j = std::move(body).value();
    if (auto st = OnlyMembers(j, {"catalog", "platform"}); !st.ok()) return ErrorResponse(st.error());
  }
  auto catalog = StringMember(j, "catalog", false, 128);
  auto platform = StringMember(j, "platform", false, 128);
  if (!catalog.ok()) return ErrorResponse(catalog.error());
  if (!platform.ok()) return ErrorResponse(platform.error());
  auto run = StartRun(*catalog, *platform, c.name);
  if (!run.ok()) return ErrorResponse(run.error());
  return JsonResponse(201, assess::ToJson(Listing(*run)));
}

Response AssessRoutes::GetRun(const Request& r, const std::string& id) {
  auto run = assessor_.GetRun(id);
  if (!run.ok()) return ErrorResponse(run.error());
  Json out = assess::ToJson(Listing(*run));
  Json reqs = Json::array();
  for (const auto& q : run->requirements) {
    Json j = {{"catalog", q.catalog->id},        {"group", q.group->id},
              {"requirement", q.requirement->id}, {"title_zh", q.requirement->title_zh},
              {"title_en", q.requirement->title_en}, {"status", std::string(assess::ResultStatusName(q.status))},
              {"failed_resources", q.failed_resources}};
    if (q.attestation) j["attestation"] = q.attestation->id;
    reqs.push_back(std::move(j));
  }
  out["requirements"] = reqs;
  Json checks = Json::array();
  for (const auto& [cid, s] : run->checks) {
    Json j = {{"id", cid}, {"counts", Counts(s)}};
    if (s.check) {
      j["title_zh"] = s.check->title_zh;
      j["title_en"] = s.check->title_en;
      j["severity"] = std::string(assess::SeverityName(s.check->severity));
    }
    if (!s.error_message.empty()) j["error_message"] = s.error_message;
    checks.push_back(std::move(j));
  }
  out["checks"] = checks;
  // Results that are not PASS, filtered and paged by offset.
  const std::string status = Query(r, "status"), check = Query(r, "check"), tenant = Query(r, "tenant");
  uint64_t offset = 0, limit = 100;
  if (auto o = Query(r, "offset"); !o.empty()) {
    auto v = ParseDecimal(o);
    if (!v.ok()) return ErrorResponse(400, "invalid_argument", "offset must be a number");
    offset = *v;
  }
  if (auto l = Query(r, "limit"); !l.empty()) {
    auto v = ParseDecimal(l);
    if (!v.ok() || *v == 0 || *v > 1000) return ErrorResponse(400, "invalid_argument", "limit must be 1 to 1000");
    limit = *v;
  }
  Json results = Json::array();
  uint64_t matched = 0;
  for (const auto& res : run->results) {
    if (!status.empty() && assess::ResultStatusName(res.status) != status) continue;
    if (!check.empty() && res.check != check) continue;
    if (!tenant.empty() && res.tenant != tenant) continue;
    if (matched++ < offset || results.size() >= limit) continue;
    results.push_back(ResultJson(res));
  }
  out["results"] = results;
  out["results_total"] = matched;
  return JsonResponse(200, out);
}

Response AssessRoutes::Scorecard(const std::string& id) {
  auto run = assessor_.GetRun(id);
  if (!run.ok()) return ErrorResponse(run.error());
  Json catalogs = Json::array();
  for (const auto& cat : assessor_.catalogs().catalogs) {
    Json groups = Json::array();
    bool any = false;
    for (const auto& g : cat.groups) {
      std::map<std::string, uint64_t> counts = {{"PASS", 0}, {"FAIL", 0}, {"MANUAL", 0}, {"ERROR", 0}, {"NOT_APPLICABLE", 0}};
      for (const auto& q : run->requirements) {
        if (q.catalog == &cat && q.group == &g) {
          ++counts[std::string(assess::ResultStatusName(q.status))];
          any = true;
        }
      }
      groups.push_back({{"id", g.id}, {"title_zh", g.title_zh}, {"title_en", g.title_en}, {"counts", counts}});
    }
    if (any) catalogs.push_back({{"id", cat.id}, {"title_zh", cat.title_zh}, {"title_en", cat.title_en}, {"groups", groups}});
  }
  std::map<std::string, std::map<std::string, uint64_t>> by_platform;
  for (const auto& res : run->results) {
    auto& p = by_platform[res.platform.empty() ? "-" : res.platform];
    if (res.status == ResultStatus::kFail) ++p[res.exception_id.empty() ? "fail" : "muted"];
    if (res.status == ResultStatus::kError) ++p["error"];
    if (res.status == ResultStatus::kManual) ++p["manual"];
  }
  Json platforms = Json::array();
  for (auto& [p, c] : by_platform) {
    platforms.push_back({{"platform", p}, {"fail", c["fail"]}, {"error", c["error"]}, {"manual", c["manual"]},
                         {"muted", c["muted"]}});
  }
  Json trend = Json::array();
  if (auto runs = assessor_.ListRuns(); runs.ok()) {
    size_t n = 0;
    for (const auto& l : *runs) {
      if (n++ >= 20) break;
      trend.push_back({{"id", l.id}, {"finished", l.finished_unix}, {"pass", l.pass}, {"fail", l.fail}, {"error", l.error}});
    }
    std::reverse(trend.begin(), trend.end());  // oldest first, as a chart reads
  }
  return JsonResponse(200, {{"run", assess::ToJson(Listing(*run))}, {"catalogs", catalogs},
                            {"platforms", platforms}, {"trend", trend}});
}

Response AssessRoutes::Report(const Request& r, const std::string& id) {
  auto run = assessor_.GetRun(id);
  if (!run.ok()) return ErrorResponse(run.error());
  if (!run->ledgered) {
    return ErrorResponse(503, "unavailable", "run " + id + " is not in the ledger yet; its reports are withheld until it is");
  }
  const std::string format = Query(r, "format").empty() ? "html" : Query(r, "format");
  const auto& cats = assessor_.catalogs();
  Response res;
  std::string ext;
  if (format == "oscal") {
    res = Bytes(200, "application/json", assess::ToOscalAssessmentResults(*run, cats).dump(2));
    ext = "oscal.json";
  } else if (format == "ocsf") {
    res = Bytes(200, "application/x-ndjson", assess::ToOcsfJsonLines(*run, cats));
    ext = "ocsf.jsonl";
  } else if (format == "csv") {
    res = Bytes(200, "text/csv; charset=utf-8", assess::ToCsv(*run, cats));
    ext = "csv";
  } else if (format == "sarif") {
    res = Bytes(200, "application/sarif+json", assess::ToSarif(*run, cats).dump(2));
    ext = "sarif";
  } else if (format == "html") {
    assess::HtmlOptions o;
    if (auto runs = assessor_.ListRuns(); runs.ok()) {
      for (const auto& l : *runs) {
        if (l.id != run->id && l.ledgered && l.finished_unix <= run->finished_unix && o.trend.size() < 20) {
          o.trend.push_back({l.id, l.finished_unix, l.pass, l.fail});
        }
      }
    }
    res = Bytes(200, "text/html; charset=utf-8", assess::ToHtml(*run, cats, o));
    // The report is self-contained: nothing may load from anywhere, and no script runs.
    res.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
    ext = "html";
  } else {
    return ErrorResponse(400, "invalid_argument", "format must be html, oscal, ocsf, csv or sarif");
  }
  res.headers["Content-Disposition"] =
      std::string(format == "html" ? "inline" : "attachment") + "; filename=\"cloudpact-" + run->id + "." + ext + "\"";
  res.headers["X-Cloudpact-Run-Digest"] = run->digest;
  res.headers["X-Cloudpact-Ledger-Index"] = std::to_string(run->ledger_index);
  return res;
}

Response AssessRoutes::Document(const std::string& id) {
  auto run = assessor_.GetRun(id);
  if (!run.ok()) return ErrorResponse(run.error());
  auto doc = assess::Assessor::ResultDocument(*run);
  if (!doc.ok()) return ErrorResponse(doc.error());
  Response res = Bytes(200, "application/json", std::move(doc).value());
  res.headers["X-Cloudpact-Run-Digest"] = run->digest;
  if (run->ledgered) res.headers["X-Cloudpact-Ledger-Index"] = std::to_string(run->ledger_index);
  return res;
}

Response AssessRoutes::Diff(const Request& r) {
  const std::string from = Query(r, "from"), to = Query(r, "to");
  if (from.empty() || to.empty()) return ErrorResponse(400, "invalid_argument", "query parameters from and to are required (run ids)");
  auto d = assessor_.Diff(from, to);
  if (!d.ok()) return ErrorResponse(d.error());
  Json added = Json::array(), resolved = Json::array(), changed = Json::array();
  for (const auto& x : d->added) added.push_back(ResultJson(x));
  for (const auto& x : d->resolved) resolved.push_back(ResultJson(x));
  for (const auto& [a, b] : d->changed) changed.push_back({{"before", ResultJson(a)}, {"after", ResultJson(b)}});
  return JsonResponse(200, {{"from", from}, {"to", to}, {"added", added}, {"resolved", resolved}, {"changed", changed}});
}

Response AssessRoutes::TenantReport(const Request& r, const Caller& c, const std::string& tenant) {
  auto snap = directory_.snapshot();
  if (!snap->FindTenant(tenant)) return ErrorResponse(404, "not_found", "no tenant \"" + tenant + "\"");
  if (c.kind == "approver") {
    const auto* a = snap->FindApprover(c.name);
    if (!a || a->tenant != tenant) {
      return ErrorResponse(403, "permission_denied", c.name + " may read only its own tenant's report");
    }
  }
  const std::string model = Query(r, "service_model").empty() ? "iaas" : Query(r, "service_model");
  if (model != "iaas" && model != "paas" && model != "saas") {
    return ErrorResponse(400, "invalid_argument", "service_model must be iaas, paas or saas");
  }
  // The newest ledgered run over every catalog: a tenant's obligations come from all of them.
  auto runs = assessor_.ListRuns();
  if (!runs.ok()) return ErrorResponse(runs.error());
  const assess::RunListing* latest = nullptr;
  for (const auto& l : *runs) {
    if (l.ledgered && l.catalog.empty() && l.platform.empty()) {
      latest = &l;
      break;
    }
  }
  if (!latest) return ErrorResponse(404, "not_found", "no complete assessment run yet; start one with cloudpact assess run");
  auto run = assessor_.GetRun(latest->id);
  if (!run.ok()) return ErrorResponse(run.error());
  const auto& cats = assessor_.catalogs();
  Response res;
  if (Query(r, "format") == "json") {
    res = JsonResponse(200, assess::ToTenantReportJson(*run, cats, tenant, model));
  } else {
    res = Bytes(200, "text/html; charset=utf-8", assess::ToTenantReport(*run, cats, tenant, model));
    res.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
  }
  res.headers["X-Cloudpact-Run-Digest"] = run->digest;
  res.headers["X-Cloudpact-Ledger-Index"] = std::to_string(run->ledger_index);
  // Delivered when the tenant itself reads it (art. 3: the provider reminds the tenant).
  if (c.kind == "approver" && report_delivered_) report_delivered_(tenant);
  return res;
}

Response AssessRoutes::PostAttestation(const Request& r, const Caller& c) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return ErrorResponse(j.error());
  if (auto st = OnlyMembers(*j, {"catalog", "requirement", "owner", "statement", "evidence", "expires"}); !st.ok()) {
    return ErrorResponse(st.error());
  }
  assess::Attestation a;
  for (auto [key, field] : {std::pair{"catalog", &a.catalog}, std::pair{"requirement", &a.requirement},
                            std::pair{"owner", &a.owner}, std::pair{"statement", &a.statement}}) {
    auto v = StringMember(*j, key, true, 4096);
    if (!v.ok()) return ErrorResponse(v.error());
    *field = *v;
  }
  if (j->contains("evidence")) {
    const Json& ev = (*j)["evidence"];
    if (!ev.is_array() || ev.size() > 100) return ErrorResponse(400, "invalid_argument", "\"evidence\" must be a list of at most 100 files");
    for (const auto& e : ev) {
      if (!e.is_object()) return ErrorResponse(400, "invalid_argument", "each evidence file is {name, sha256}");
      auto name = StringMember(e, "name", true, 512);
      auto sha = StringMember(e, "sha256", true, 64);
      if (!name.ok()) return ErrorResponse(name.error());
      if (!sha.ok()) return ErrorResponse(sha.error());
      a.evidence.push_back({*name, *sha});
    }
  }
  auto expires = Expiry(*j);
  if (!expires.ok()) return ErrorResponse(expires.error());
  a.expires_unix = *expires;
  a.approver = c.name;  // whoever records it approves it; the owner must be someone else
  auto saved = assessor_.Attest(a, c.name);
  if (!saved.ok()) return ErrorResponse(saved.error());
  return JsonResponse(201, {{"id", saved->id}, {"expires", FormatRfc3339(FromUnix(saved->expires_unix))}});
}

Response AssessRoutes::PostException(const Request& r, const Caller& c) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return ErrorResponse(j.error());
  if (auto st = OnlyMembers(*j, {"check", "resource", "owner", "reason", "expires"}); !st.ok()) return ErrorResponse(st.error());
  assess::Exception e;
  for (auto [key, field] : {std::pair{"check", &e.check}, std::pair{"resource", &e.resource},
                            std::pair{"owner", &e.owner}, std::pair{"reason", &e.reason}}) {
    auto v = StringMember(*j, key, true, 4096);
    if (!v.ok()) return ErrorResponse(v.error());
    *field = *v;
  }
  auto expires = Expiry(*j);
  if (!expires.ok()) return ErrorResponse(expires.error());
  e.expires_unix = *expires;
  e.approver = c.name;
  auto saved = assessor_.AddException(e, c.name);
  if (!saved.ok()) return ErrorResponse(saved.error());
  return JsonResponse(201, {{"id", saved->id}, {"expires", FormatRfc3339(FromUnix(saved->expires_unix))}});
}

}  // namespace cloudpact::api
