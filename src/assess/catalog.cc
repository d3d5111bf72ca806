#include "assess/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "assess/reader.h"
#include "core/files.h"

namespace cloudpact::assess {
namespace {
using namespace internal;  // NOLINT(google-build-using-namespace): the shared reader helpers


Result<ServiceModel> ParseServiceModel(const std::string& s) {
  if (s == "iaas") return ServiceModel::kIaas;
  if (s == "paas") return ServiceModel::kPaas;
  if (s == "saas") return ServiceModel::kSaas;
  return MakeError(ErrorCode::kInvalidArgument, "service model \"" + s + "\" must be iaas, paas or saas");
}

Result<Requirement> ReadRequirement(const Reader& r, const Json& q, const std::string& ptr) {
  RETURN_IF_ERROR(r.OnlyKeys(q, ptr, {"id", "title_zh", "title_en", "text_zh", "text_en", "service_models",
                                      "responsibility", "assessment", "checks", "level"}));
  Requirement req;
  req.pos = r.Pos(ptr);
  ASSIGN_OR_RETURN(req.id, r.Id(q, ptr));
  ASSIGN_OR_RETURN(req.title_zh, r.Text(q, ptr, "title_zh", true));
  ASSIGN_OR_RETURN(req.title_en, r.Text(q, ptr, "title_en", true));
  ASSIGN_OR_RETURN(req.text_zh, r.Text(q, ptr, "text_zh", true));
  ASSIGN_OR_RETURN(req.text_en, r.Text(q, ptr, "text_en", true));

  const std::string sp = ptr + "/service_models";
  if (!q.contains("service_models") || !q["service_models"].is_array() || q["service_models"].empty()) {
    return r.Fail(q.contains("service_models") ? sp : ptr, "service_models must be a non-empty list of iaas, paas, saas");
  }
  for (size_t i = 0; i < q["service_models"].size(); ++i) {
    const std::string ip = sp + "/" + std::to_string(i);
    const Json& v = q["service_models"][i];
    if (!v.is_string()) return r.Fail(ip, "a service model must be iaas, paas or saas");
    auto m = ParseServiceModel(v.get<std::string>());
    if (!m.ok()) return r.Fail(ip, m.error().message);
    if (std::find(req.service_models.begin(), req.service_models.end(), *m) != req.service_models.end()) {
      return r.Fail(ip, "service model " + v.get<std::string>() + " is listed twice");
    }
    req.service_models.push_back(*m);
  }

  const std::string rp = ptr + "/responsibility";
  if (!q.contains("responsibility")) return r.Fail(ptr, "responsibility is required");
  if (!q["responsibility"].is_object()) return r.Fail(rp, "responsibility must be a mapping of service model to provider, customer or shared");
  for (const auto& [k, v] : q["responsibility"].items()) {
    const std::string kp = JsonPointerAppend(rp, k);
    auto m = ParseServiceModel(k);
    if (!m.ok()) return r.Fail(kp, m.error().message);
    const std::string s = v.is_string() ? v.get<std::string>() : "";
    Responsibility resp;
    if (s == "provider") resp = Responsibility::kProvider;
    else if (s == "customer") resp = Responsibility::kCustomer;
    else if (s == "shared") resp = Responsibility::kShared;
    else return r.Fail(kp, "responsibility must be provider, customer or shared");
    req.responsibility[*m] = resp;
  }

  ASSIGN_OR_RETURN(std::string assessment, r.Text(q, ptr, "assessment", true));
  if (assessment == "automated") req.assessment = Assessment::kAutomated;
  else if (assessment == "manual") req.assessment = Assessment::kManual;
  else return r.Fail(ptr + "/assessment", "assessment must be automated or manual");

  if (q.contains("checks")) {
    const std::string cp = ptr + "/checks";
    if (!q["checks"].is_array()) return r.Fail(cp, "checks must be a list of check ids");
    std::set<std::string> seen;
    for (size_t i = 0; i < q["checks"].size(); ++i) {
      const Json& v = q["checks"][i];
      const std::string ip = cp + "/" + std::to_string(i);
      if (!v.is_string() || !ValidCheckId(v.get<std::string>())) return r.Fail(ip, "a check id must match [a-z][a-z0-9_]*");
      if (!seen.insert(v.get<std::string>()).second) return r.Fail(ip, "check " + v.get<std::string>() + " is listed twice");
      req.checks.push_back(v.get<std::string>());
    }
  }

  ASSIGN_OR_RETURN(std::string level, r.Text(q, ptr, "level", false));
  if (level == "general") req.level = Level::kGeneral;
  else if (level == "enhanced") req.level = Level::kEnhanced;
  else if (!level.empty()) return r.Fail(ptr + "/level", "level must be general or enhanced");
  return req;
}

Result<RequirementRef> ParseRef(const Reader& r, const Json& v, const std::string& ptr) {
  if (!v.is_string()) return r.Fail(ptr, "a reference must be a string CATALOG/REQUIREMENT");
  const std::string s = v.get<std::string>();
  const size_t slash = s.find('/');
  if (slash == std::string::npos || s.find('/', slash + 1) != std::string::npos || !ValidId(s.substr(0, slash)) ||
      !ValidId(s.substr(slash + 1))) {
    return r.Fail(ptr, "reference \"" + s + "\" must be CATALOG/REQUIREMENT");
  }
  return RequirementRef{s.substr(0, slash), s.substr(slash + 1)};
}

}  // namespace

std::string_view ServiceModelName(ServiceModel m) {
  switch (m) {
    case ServiceModel::kIaas: return "iaas";
    case ServiceModel::kPaas: return "paas";
    case ServiceModel::kSaas: return "saas";
  }
  return "";
}

std::string_view ResponsibilityName(Responsibility r) {
  switch (r) {
    case Responsibility::kProvider: return "provider";
    case Responsibility::kCustomer: return "customer";
    case Responsibility::kShared: return "shared";
  }
  return "";
}

std::string_view AssessmentName(Assessment a) { return a == Assessment::kAutomated ? "automated" : "manual"; }

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kNone: return "";
    case Level::kGeneral: return "general";
    case Level::kEnhanced: return "enhanced";
  }
  return "";
}

const Requirement* Catalog::Find(const std::string& requirement_id) const {
  for (const auto& g : groups)
    for (const auto& q : g.requirements)
      if (q.id == requirement_id) return &q;
  return nullptr;
}

Result<Catalog> LoadCatalog(const YamlDocument& doc) {
  Reader r("catalog", doc);
  const Json& root = doc.value;
  if (!root.is_object()) return r.Fail("", "a catalog must be a mapping with catalog and groups");
  RETURN_IF_ERROR(r.OnlyKeys(root, "", {"catalog", "groups"}));
  if (!root.contains("catalog")) return r.Fail("", "catalog is required");
  const Json& head = root["catalog"];
  RETURN_IF_ERROR(r.OnlyKeys(head, "/catalog", {"id", "title_zh", "title_en", "version", "source", "last_modified"}));
  Catalog c;
  ASSIGN_OR_RETURN(c.id, r.Id(head, "/catalog"));
  ASSIGN_OR_RETURN(c.title_zh, r.Text(head, "/catalog", "title_zh", true));
  ASSIGN_OR_RETURN(c.title_en, r.Text(head, "/catalog", "title_en", true));
  ASSIGN_OR_RETURN(c.version, r.Text(head, "/catalog", "version", true));
  ASSIGN_OR_RETURN(c.source, r.Text(head, "/catalog", "source", true));
  ASSIGN_OR_RETURN(c.last_modified, r.Text(head, "/catalog", "last_modified", true));
  // RFC 3339 with a zone, as OSCAL wants: YYYY-MM-DDTHH:MM:SS(.f)?(Z|±HH:MM).
  const std::string& t = c.last_modified;
  auto digits = [&](size_t from, size_t n) {
    if (t.size() < from + n) return false;
    for (size_t i = from; i < from + n; ++i)
      if (t[i] < '0' || t[i] > '9') return false;
    return true;
  };
  if (!(digits(0, 4) && t[4] == '-' && digits(5, 2) && t[7] == '-' && digits(8, 2) && t[10] == 'T' && digits(11, 2) &&
        t[13] == ':' && digits(14, 2) && t[16] == ':' && digits(17, 2) && (t.substr(19) == "Z" || t.substr(19) == "+08:00"))) {
    return r.Fail("/catalog/last_modified", "last_modified must look like 2026-01-31T00:00:00Z (or +08:00)");
  }

  if (!root.contains("groups") || !root["groups"].is_array() || root["groups"].empty()) {
    return r.Fail(root.contains("groups") ? "/groups" : "", "groups must be a non-empty list");
  }
  std::set<std::string> ids{c.id};
  for (size_t gi = 0; gi < root["groups"].size(); ++gi) {
    const std::string gp = "/groups/" + std::to_string(gi);
    const Json& gj = root["groups"][gi];
    RETURN_IF_ERROR(r.OnlyKeys(gj, gp, {"id", "title_zh", "title_en", "requirements"}));
    Group g;
    g.pos = r.Pos(gp);
    ASSIGN_OR_RETURN(g.id, r.Id(gj, gp));
    if (!ids.insert(g.id).second) return r.Fail(gp + "/id", "id \"" + g.id + "\" is used twice");
    ASSIGN_OR_RETURN(g.title_zh, r.Text(gj, gp, "title_zh", true));
    ASSIGN_OR_RETURN(g.title_en, r.Text(gj, gp, "title_en", true));
    if (gj.contains("requirements")) {
      const std::string qp = gp + "/requirements";
      if (!gj["requirements"].is_array()) return r.Fail(qp, "requirements must be a list");
      for (size_t qi = 0; qi < gj["requirements"].size(); ++qi) {
        const std::string p = qp + "/" + std::to_string(qi);
        ASSIGN_OR_RETURN(Requirement req, ReadRequirement(r, gj["requirements"][qi], p));
        if (!ids.insert(req.id).second) return r.Fail(p + "/id", "id \"" + req.id + "\" is used twice");
        g.requirements.push_back(std::move(req));
      }
    }
    c.groups.push_back(std::move(g));
  }
  return c;
}

Result<std::vector<Mapping>> LoadMappings(const YamlDocument& doc) {
  Reader r("mappings", doc);
  const Json& root = doc.value;
  if (!root.is_object()) return r.Fail("", "the document must be a mapping with a mappings list");
  RETURN_IF_ERROR(r.OnlyKeys(root, "", {"mappings"}));
  if (!root.contains("mappings") || !root["mappings"].is_array()) return r.Fail("", "mappings must be a list");
  std::vector<Mapping> out;
  for (size_t i = 0; i < root["mappings"].size(); ++i) {
    const std::string p = "/mappings/" + std::to_string(i);
    const Json& m = root["mappings"][i];
    RETURN_IF_ERROR(r.OnlyKeys(m, p, {"from", "to", "source"}));
    Mapping mapping;
    mapping.pos = r.Pos(p);
    if (!m.contains("from")) return r.Fail(p, "from is required");
    ASSIGN_OR_RETURN(mapping.from, ParseRef(r, m["from"], p + "/from"));
    if (!m.contains("to") || !m["to"].is_array() || m["to"].empty()) return r.Fail(p, "to must be a non-empty list");
    for (size_t j = 0; j < m["to"].size(); ++j) {
      ASSIGN_OR_RETURN(RequirementRef ref, ParseRef(r, m["to"][j], p + "/to/" + std::to_string(j)));
      mapping.to.push_back(std::move(ref));
    }
    ASSIGN_OR_RETURN(mapping.source, r.Text(m, p, "source", true));
    out.push_back(std::move(mapping));
  }
  return out;
}

Status ApplyTextOverrides(Catalog& catalog, const YamlDocument& overrides) {
  Reader r("text overrides", overrides);
  const Json& root = overrides.value;
  if (!root.is_object()) return r.Fail("", "the document must be a mapping with catalog and text_zh");
  RETURN_IF_ERROR(r.OnlyKeys(root, "", {"catalog", "text_zh", "text_en"}));
  ASSIGN_OR_RETURN(std::string id, r.Text(root, "", "catalog", true));
  if (id != catalog.id) return r.Fail("/catalog", "overrides are for " + id + ", not " + catalog.id);
  for (const char* field : {"text_zh", "text_en"}) {
    if (!root.contains(field)) continue;
    const std::string fp = std::string("/") + field;
    if (!root[field].is_object()) return r.Fail(fp, std::string(field) + " must map requirement ids to text");
    for (const auto& [rid, v] : root[field].items()) {
      const std::string kp = JsonPointerAppend(fp, rid);
      Requirement* target = nullptr;
      for (auto& g : catalog.groups)
        for (auto& q : g.requirements)
          if (q.id == rid) target = &q;
      if (!target) return r.Fail(kp, "catalog " + catalog.id + " has no requirement " + rid);
      ASSIGN_OR_RETURN(std::string text, r.Text(root[field], fp, rid.c_str(), true));
      (std::string(field) == "text_zh" ? target->text_zh : target->text_en) = std::move(text);
    }
  }
  return OkStatus();
}

Status CheckIntegrity(const std::vector<Catalog>& catalogs, const std::vector<Mapping>& mappings) {
  std::set<std::string> catalog_ids;
  for (const auto& c : catalogs) {
    const std::string where = "catalog " + c.id;
    if (!catalog_ids.insert(c.id).second) return PosProblem(where, SourcePos{}, "catalog id " + c.id + " is used twice");
    std::set<std::string> ids{c.id};
    for (const auto& g : c.groups) {
      if (!ids.insert(g.id).second) return PosProblem(where, g.pos, "id \"" + g.id + "\" is used twice");
      for (const auto& q : g.requirements) {
        if (!ids.insert(q.id).second) return PosProblem(where, q.pos, "id \"" + q.id + "\" is used twice");
        if (q.assessment == Assessment::kAutomated && q.checks.empty()) {
          return PosProblem(where, q.pos, q.id + " is automated but names no checks; name them or mark it manual");
        }
        for (ServiceModel m : q.service_models) {
          if (!q.responsibility.count(m)) {
            return PosProblem(where, q.pos, q.id + " applies to " + std::string(ServiceModelName(m)) +
                                                " but gives no responsibility for it");
          }
        }
        for (const auto& [m, resp] : q.responsibility) {
          if (std::find(q.service_models.begin(), q.service_models.end(), m) == q.service_models.end()) {
            return PosProblem(where, q.pos, q.id + " gives a responsibility for " + std::string(ServiceModelName(m)) +
                                                ", which is not in its service_models");
          }
        }
      }
    }
  }
  auto check_ref = [&](const RequirementRef& ref, const Mapping& m, const std::string& ptr) -> Status {
    auto it = std::find_if(catalogs.begin(), catalogs.end(), [&](const Catalog& c) { return c.id == ref.catalog; });
    SourcePos pos{m.pos.line, ptr};
    if (it == catalogs.end()) return PosProblem("mappings", pos, "no catalog " + ref.catalog);
    if (!it->Find(ref.requirement)) {
      return PosProblem("mappings", pos, "catalog " + ref.catalog + " has no requirement " + ref.requirement);
    }
    return OkStatus();
  };
  std::set<std::string> froms;
  for (const auto& m : mappings) {
    RETURN_IF_ERROR(check_ref(m.from, m, m.pos.pointer + "/from"));
    for (size_t i = 0; i < m.to.size(); ++i) {
      if (m.to[i].catalog == m.from.catalog) {
        return PosProblem("mappings", m.pos, "a mapping must lead to another catalog");
      }
      RETURN_IF_ERROR(check_ref(m.to[i], m, m.pos.pointer + "/to/" + std::to_string(i)));
    }
  }
  return OkStatus();
}

Result<CatalogSet> LoadCatalogDirectory(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(std::vector<std::filesystem::path> files, YamlFilesIn(dir));
  auto parse = [](const std::filesystem::path& p) -> Result<YamlDocument> {
    ASSIGN_OR_RETURN(std::string text, ReadFile(p));
    auto doc = ParseYaml(text);
    if (!doc.ok()) return MakeError(doc.error().code, p.string() + ": " + doc.error().message);
    return std::move(doc).value();
  };
  auto in_file = [](const std::filesystem::path& p, Error e) {
    e.message = p.string() + ": " + e.message;
    return e;
  };
  CatalogSet set;
  for (const auto& p : files) {
    ASSIGN_OR_RETURN(YamlDocument doc, parse(p));
    if (p.filename() == "mappings.yaml") {
      auto m = LoadMappings(doc);
      if (!m.ok()) return in_file(p, std::move(m).error());
      set.mappings = std::move(m).value();
      continue;
    }
    auto c = LoadCatalog(doc);
    if (!c.ok()) return in_file(p, std::move(c).error());
    const std::filesystem::path licensed = dir / "licensed" / (c->id + ".yaml");
    if (std::error_code ec; std::filesystem::exists(licensed, ec)) {
      ASSIGN_OR_RETURN(YamlDocument over, parse(licensed));
      if (Status st = ApplyTextOverrides(*c, over); !st.ok()) return in_file(licensed, std::move(st).error());
    }
    set.catalogs.push_back(std::move(c).value());
  }
  if (Status st = CheckIntegrity(set.catalogs, set.mappings); !st.ok()) return in_file(dir, std::move(st).error());
  return set;
}

std::filesystem::path DefaultCatalogDir() {
  if (const char* env = std::getenv("CLOUDPACT_CATALOGS"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "cloudpact" / "catalogs";
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return CLOUDPACT_CATALOGS_SOURCE_DIR;
}

}  // namespace cloudpact::assess
