#include "api/ingest_routes.h"

#include <charconv>

namespace cloudpact::api {
namespace {

std::string Query(const Request& r, const char* key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool ParseUint(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool IngestRoutes::Handle(const Request& r, const Respond& respond) {
  auto seg = Segments(r.path);
  if (seg.size() < 2 || seg[0] != "v1" || (seg[1] != "ingest" && seg[1] != "findings")) return false;
  const bool get = r.method == "GET", post = r.method == "POST";
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
  if (r.query_error) {
    respond(ErrorResponse(400, "invalid_argument", *r.query_error));
    return true;
  }
  if (seg[1] == "ingest") {
    if (seg.size() == 2) {
      if (!post) return wrong_method();
      return with(perm::kIngestWrite, [&](const Caller& c) { return Push(r, c); });
    }
    if (seg.size() == 3 && seg[2] == "sources") {
      if (!get) return wrong_method();
      return with(perm::kFindingsRead, [&](const Caller&) {
        auto s = pipeline_.Sources();
        return s.ok() ? JsonResponse(200, {{"items", *s}}) : ErrorResponse(s.error());
      });
    }
    if (seg.size() == 6 && seg[2] == "batches" && seg[4] == "events") {
      if (!get) return wrong_method();
      return with(perm::kFindingsRead, [&](const Caller& c) { return Evidence(c, seg[3], seg[5]); });
    }
    return false;
  }
  if (seg.size() == 2) {
    if (!get) return wrong_method();
    return with(perm::kFindingsRead, [&](const Caller&) { return ListFindings(r); });
  }
  if (seg.size() == 3) {
    if (!get) return wrong_method();
    return with(perm::kFindingsRead, [&](const Caller& c) { return GetFinding(c, seg[2]); });
  }
  return false;
}

Response IngestRoutes::Push(const Request& r, const Caller& c) {
  correlation::SourceConfig cfg;
  cfg.name = Query(r, "source");
  cfg.formats = SplitComma(Query(r, "format"));
  cfg.platform = Query(r, "platform");
  cfg.resource = Query(r, "resource");
  if (cfg.name.empty()) return ErrorResponse(400, "invalid_argument", "query parameter source is required");
  if (cfg.formats.empty()) return ErrorResponse(400, "invalid_argument", "query parameter format is required");
  uint64_t first_line = 1;
  if (auto fl = Query(r, "first_line"); !fl.empty() && (!ParseUint(fl, &first_line) || first_line == 0)) {
    return ErrorResponse(400, "invalid_argument", "first_line must be a positive integer");
  }
  auto sum = pipeline_.Ingest(cfg, r.body, r.Header("idempotency-key"), first_line, c.name);
  if (!sum.ok()) return ErrorResponse(sum.error());
  // 202: stored durably, the ledger entry still to come (the ledger is unavailable just now).
  return JsonResponse(sum->ledgered ? 200 : 202, correlation::ToJson(*sum));
}

Response IngestRoutes::ListFindings(const Request& r) {
  correlation::FindingFilter f;
  f.state = Query(r, "state");
  f.kind = Query(r, "kind");
  f.severity = Query(r, "severity");
  f.principal = Query(r, "principal");
  f.resource = Query(r, "resource");
  f.tenant = Query(r, "tenant");
  f.source = Query(r, "source");
  f.after = Query(r, "after");
  if (auto l = Query(r, "limit"); !l.empty()) {
    uint64_t n = 0;
    if (!ParseUint(l, &n) || n == 0 || n > 1000) return ErrorResponse(400, "invalid_argument", "limit must be 1 to 1000");
    f.limit = n;
  }
  auto page = pipeline_.Findings(f);
  if (!page.ok()) return ErrorResponse(page.error());
  Json items = Json::array();
  for (const auto& x : *page) items.push_back(correlation::ToJson(x));
  Json out = {{"items", items}};
  if (page->size() == f.limit) out["next_after"] = page->back().id;
  return JsonResponse(200, out);
}

Response IngestRoutes::GetFinding(const Caller& c, const std::string& id) {
  auto f = pipeline_.GetFinding(id);
  if (!f.ok()) return ErrorResponse(f.error());
  if (!*f) return ErrorResponse(404, "not_found", "no finding " + id);
  auto ev = pipeline_.EventEvidence((*f)->batch, (*f)->event_index, c.Has(perm::kLedgerReadConfidential));
  if (!ev.ok()) return ErrorResponse(ev.error());
  Json out = correlation::ToJson(**f);
  out["evidence"] = *ev;
  return JsonResponse(200, out);
}

Response IngestRoutes::Evidence(const Caller& c, const std::string& batch, const std::string& index) {
  uint64_t i = 0;
  if (!ParseUint(index, &i)) return ErrorResponse(400, "invalid_argument", "event index must be a number");
  auto ev = pipeline_.EventEvidence(batch, i, c.Has(perm::kLedgerReadConfidential));
  return ev.ok() ? JsonResponse(200, *ev) : ErrorResponse(ev.error());
}

}  // namespace cloudpact::api
