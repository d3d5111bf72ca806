#include "directory/directory.h"

#include <algorithm>
#include <regex>
#include <set>
#include <string_view>

#include "core/encoding.h"
#include "crypto/ssh_key.h"

namespace cloudpact::directory {
namespace {

constexpr size_t kMaxString = 256;
constexpr size_t kMaxRecords = 1'000'000;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  };
  return std::isalnum(static_cast<unsigned char>(id[0])) && std::all_of(id.begin(), id.end(), ok);
}

// A DNS name or an IPv4/IPv6 literal: no spaces, no option-like leading '-', nothing an SSH
// library could read as something else.
bool ValidHost(const std::string& host) {
  if (host.empty() || host.size() > 253 || host[0] == '-') return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
  });
}

// Why `name` cannot be an alias or an account, or "" if it can. Such names are matched
// byte for byte against what logs say, so they must be exactly what logs say: no control
// characters (they would also travel into error messages and ledger entries), no spaces
// that a log line's tokenizer would have cut off.
std::string NameProblem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxString) return "longer than " + std::to_string(kMaxString) + " bytes";
  size_t i = 0;
  while (i < name.size()) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > name.size()) return "is not valid UTF-8";
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(name[i + k]);
      if ((cc >> 6) != 0x2) return "is not valid UTF-8";
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return "is not valid UTF-8";
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return "must not contain control characters";
    i += n;
  }
  if (name.front() == ' ' || name.back() == ' ') return "must not begin or end with a space";
  return "";
}

// Reads typed fields out of a JSON object and collects every problem with its source line,
// so that one run over a file reports all of its mistakes.
class Reader {
 public:
  explicit Reader(const YamlDocument& doc) : doc_(doc) {}

  void Problem(const std::string& pointer, const std::string& message) {
    int line = doc_.LineOf(pointer);
    problems_.push_back((line > 0 ? "line " + std::to_string(line) + ": " : std::string()) +
                        (pointer.empty() ? "/" : pointer) + ": " + message);
  }
  bool ok() const { return problems_.empty(); }
  Error Failure() const {
    std::string msg = "invalid directory document:";
    size_t n = 0;
    for (const auto& p : problems_) {
      if (++n > 100) { msg += "\n… and " + std::to_string(problems_.size() - 100) + " more"; break; }
      msg += "\n" + p;
    }
    return MakeError(ErrorCode::kInvalidArgument, msg);
  }

  // Rejects keys outside `allowed`: a misspelt field must not be silently ignored.
  bool Object(const Json& v, const std::string& ptr, std::initializer_list<const char*> allowed) {
    if (!v.is_object()) { Problem(ptr, "expected a mapping"); return false; }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        Problem(JsonPointerAppend(ptr, key), "unknown field \"" + key + "\"");
      }
    }
    return true;
  }
  std::string String(const Json& obj, const std::string& ptr, const char* key, bool required,
                     const std::string& fallback = "") {
    auto it = obj.find(key);
    std::string p = JsonPointerAppend(ptr, key);
    if (it == obj.end() || it->is_null()) {
      if (required) Problem(ptr, std::string("missing required field \"") + key + "\"");
      return fallback;
    }
    if (!it->is_string()) { Problem(p, "expected a string"); return fallback; }
    std::string s = it->get<std::string>();
    if (s.size() > kMaxString && std::string(key) != "public_key" && std::string(key) != "webhook_url" &&
        std::string(key) != "host_key") {
      Problem(p, "longer than " + std::to_string(kMaxString) + " bytes");
    }
    return s;
  }
  std::string Id(const Json& obj, const std::string& ptr, const char* key, bool required) {
    std::string s = String(obj, ptr, key, required);
    if (!s.empty() && !ValidId(s)) {
      Problem(JsonPointerAppend(ptr, key), "\"" + s + "\" is not a valid id (letters, digits, . _ - @; at most 128)");
    }
    return s;
  }
  bool Bool(const Json& obj, const std::string& ptr, const char* key, bool fallback) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) { Problem(JsonPointerAppend(ptr, key), "expected true or false"); return fallback; }
    return it->get<bool>();
  }
  std::vector<std::string> Strings(const Json& obj, const std::string& ptr, const char* key) {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out;
    std::string p = JsonPointerAppend(ptr, key);
    if (!it->is_array()) { Problem(p, "expected a list"); return out; }
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string()) { Problem(JsonPointerAppend(p, std::to_string(i)), "expected a string"); continue; }
      out.push_back((*it)[i].get<std::string>());
    }
    return out;
  }
  // Names a record goes by in logs (aliases, accounts): strings NameProblem accepts, none
  // twice. `positions` receives each kept name's index in the document's list.
  std::vector<std::string> Names(const Json& obj, const std::string& ptr, const char* key,
                                 std::vector<size_t>* positions) {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out;
    std::string p = JsonPointerAppend(ptr, key);
    if (!it->is_array()) { Problem(p, "expected a list"); return out; }
    std::set<std::string> seen;
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& v = (*it)[i];
      std::string ip = JsonPointerAppend(p, std::to_string(i));
      if (v.is_number()) {
        // YAML reads a bare 012345678901 as the integer 12345678901: never guess.
        Problem(ip, "expected a string (quote numbers such as account ids)");
        continue;
      }
      if (!v.is_string()) { Problem(ip, "expected a string"); continue; }
      std::string name = v.get<std::string>();
      if (std::string why = NameProblem(name); !why.empty()) { Problem(ip, why); continue; }
      if (!seen.insert(name).second) { Problem(ip, "\"" + name + "\" is listed twice"); continue; }
      out.push_back(std::move(name));
      positions->push_back(i);
    }
    return out;
  }
  std::map<std::string, std::string> Labels(const Json& obj, const std::string& ptr) {
    std::map<std::string, std::string> out;
    auto it = obj.find("labels");
    if (it == obj.end() || it->is_null()) return out;
    std::string p = JsonPointerAppend(ptr, "labels");
    if (!it->is_object()) { Problem(p, "expected a mapping of label to value"); return out; }
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string() && !v.is_number_integer() && !v.is_boolean()) {
        Problem(JsonPointerAppend(p, k), "label values must be strings");
        continue;
      }
      out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return out;
  }
  // Iterates a top-level or nested list of records.
  template <typename F>
  void List(const Json& obj, const std::string& ptr, const char* key, F&& each) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    std::string p = JsonPointerAppend(ptr, key);
    if (!it->is_array()) { Problem(p, "expected a list"); return; }
    if (it->size() > kMaxRecords) { Problem(p, "more than " + std::to_string(kMaxRecords) + " records"); return; }
    for (size_t i = 0; i < it->size(); ++i) each((*it)[i], JsonPointerAppend(p, std::to_string(i)));
  }

 private:
  const YamlDocument& doc_;
  std::vector<std::string> problems_;
};

template <typename T>
const T* Find(const std::unordered_map<std::string, T>& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? nullptr : &it->second;
}

Json LabelsJson(const std::map<std::string, std::string>& labels) {
  Json j = Json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

// Where a record's names sit in the document, for pointing at a name that clashes.
struct NamesAt {
  std::string pointer;          // the list, e.g. /platforms/0/aliases
  std::vector<size_t> indexes;  // each kept name's index in it
};

// Within one document: a name (alias or account) must not be another record's id or name
// in the same scope (all platforms; a resource's platform; all staff). Each clash is
// reported at the later name. Apply checks the same over the whole directory (Validate).
template <typename T, typename Scope, typename NamesOf>
void CheckNameClashes(Reader& r, const std::vector<T>& records, const std::vector<NamesAt>& where,
                      const char* noun, const char* name_word, Scope scope, NamesOf names_of) {
  // (scope, name) → (record id, whether the name is that record's id)
  std::map<std::pair<std::string, std::string>, std::pair<std::string, bool>> owner;
  for (const auto& rec : records) owner.try_emplace({scope(rec), rec.id}, rec.id, true);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& names = names_of(records[i]);
    for (size_t j = 0; j < names.size(); ++j) {
      auto [it, inserted] = owner.try_emplace({scope(records[i]), names[j]}, records[i].id, false);
      if (inserted || it->second.first == records[i].id) continue;
      std::string where_scope = scope(records[i]).empty() ? "" : " on platform " + scope(records[i]);
      r.Problem(JsonPointerAppend(where[i].pointer, std::to_string(where[i].indexes[j])),
                "\"" + names[j] + "\" is already " + noun + " " + it->second.first + "'s " +
                    (it->second.second ? "id" : name_word) + where_scope);
    }
  }
}

}  // namespace

std::string_view RiskName(Risk risk) {
  switch (risk) {
    case Risk::kLow: return "low";
    case Risk::kMedium: return "medium";
    case Risk::kHigh: return "high";
    case Risk::kCritical: return "critical";
  }
  return "low";
}

bool ParseRisk(std::string_view name, Risk* out) {
  for (Risk r : {Risk::kLow, Risk::kMedium, Risk::kHigh, Risk::kCritical}) {
    if (RiskName(r) == name) { *out = r; return true; }
  }
  return false;
}

const Resource* Snapshot::FindResource(const std::string& id) const { return Find(resources, id); }
const Staff* Snapshot::FindStaff(const std::string& id) const { return Find(staff, id); }
const Approver* Snapshot::FindApprover(const std::string& id) const { return Find(approvers, id); }
const Tenant* Snapshot::FindTenant(const std::string& id) const { return Find(tenants, id); }
std::string Snapshot::PrincipalKind(const std::string& id) const {
  if (staff.count(id)) return "staff";
  if (approvers.count(id)) return "approver";
  if (auditors.count(id)) return "auditor";
  return "";
}

namespace {

template <typename M>
auto Lookup(const M& m, std::string_view key) -> typename M::mapped_type {
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second;
}

// Records `name` as naming `rec`; a name already naming another record becomes ambiguous.
template <typename M, typename T>
void Claim(M& m, const std::string& name, const T* rec) {
  auto [it, inserted] = m.try_emplace(name, rec);
  if (!inserted && it->second != rec) it->second = nullptr;
}

}  // namespace

const Platform* Snapshot::ResolvePlatform(std::string_view name) const { return Lookup(index_.platforms, name); }

const Resource* Snapshot::ResolveResource(std::string_view name, std::string_view platform_id) const {
  const Resource* by_id = Lookup(index_.resource_ids, name);
  auto it = index_.resource_aliases.find(name);
  if (!platform_id.empty()) {
    // Validation keeps an alias from being another resource's id on the same platform, so
    // the id's own platform cannot also hold a different resource of that alias.
    if (by_id && by_id->platform == platform_id) return by_id;
    if (it != index_.resource_aliases.end()) {
      const Resource* found = nullptr;
      for (const Resource* r : it->second) {
        if (r->platform != platform_id) continue;
        if (found) return nullptr;  // only if the stored directory broke the rules
        found = r;
      }
      if (found) return found;
    }
    return by_id;
  }
  if (by_id) return by_id;
  if (it == index_.resource_aliases.end() || it->second.size() != 1) return nullptr;
  return it->second.front();
}

const Staff* Snapshot::ResolveStaff(std::string_view account) const { return Lookup(index_.staff, account); }

const Staff* Snapshot::StaffByKeyFingerprint(std::string_view fingerprint) const {
  return Lookup(index_.fingerprints, fingerprint);
}

void Snapshot::Reindex() {
  approvers_by_tenant.clear();
  for (const auto& [id, a] : approvers) approvers_by_tenant[a.tenant].push_back(id);
  for (auto& [_, ids] : approvers_by_tenant) std::sort(ids.begin(), ids.end());

  Indexes ix;
  ix.platforms.reserve(platforms.size());
  for (const auto& [id, p] : platforms) Claim(ix.platforms, id, &p);
  for (const auto& [_, p] : platforms) {
    for (const auto& a : p.aliases) Claim(ix.platforms, a, &p);
  }
  ix.resource_ids.reserve(resources.size());
  for (const auto& [id, r] : resources) {
    ix.resource_ids.emplace(id, &r);
    for (const auto& a : r.aliases) {
      auto& holders = ix.resource_aliases[a];
      if (std::find(holders.begin(), holders.end(), &r) == holders.end()) holders.push_back(&r);
    }
  }
  ix.staff.reserve(staff.size());
  for (const auto& [id, s] : staff) Claim(ix.staff, id, &s);
  for (const auto& [_, s] : staff) {
    for (const auto& a : s.accounts) Claim(ix.staff, a, &s);
    for (const auto& line : s.ssh_keys) {
      // Stored keys were parsed when applied; one that no longer parses matches nothing.
      if (auto key = crypto::ParseSshPublicKey(line); key.ok()) Claim(ix.fingerprints, key->Fingerprint(), &s);
    }
  }
  index_ = std::move(ix);
}

Json ToJson(const Platform& v) {
  return {{"id", v.id}, {"name", v.name}, {"kind", v.kind}, {"aliases", v.aliases}};
}
Json ToJson(const Resource& v) {
  Json j = {{"id", v.id}, {"platform", v.platform}, {"type", v.type}, {"labels", LabelsJson(v.labels)},
            {"tenant", v.tenant}, {"tenant_data", v.tenant_data}, {"risk", RiskName(v.risk)},
            {"aliases", v.aliases}};
  if (v.ssh) j["ssh"] = {{"host", v.ssh->host}, {"port", v.ssh->port}, {"host_key", v.ssh->host_key}};
  return j;
}
Json ToJson(const Staff& v) {
  return {{"id", v.id}, {"name", v.name},
          {"kind", v.kind == StaffKind::kOutsourced ? "outsourced" : "internal"},
          {"organisation", v.organisation}, {"roles", v.roles}, {"ssh_keys", v.ssh_keys},
          {"accounts", v.accounts}, {"email", v.email}, {"disabled", v.disabled}};
}
Json ToJson(const Tenant& v) { return {{"id", v.id}, {"name", v.name}, {"webhook_url", v.webhook_url}}; }
Json ToJson(const Approver& v) {
  return {{"id", v.id}, {"name", v.name}, {"tenant", v.tenant},
          {"public_key", Base64Encode(v.public_key)}, {"email", v.email}};
}
Json ToJson(const Auditor& v) { return {{"id", v.id}, {"name", v.name}, {"organisation", v.organisation}}; }

Result<DirectorySpec> ParseDirectory(const YamlDocument& doc) {
  Reader r(doc);
  DirectorySpec spec;
  const Json& root = doc.value;
  if (root.is_null()) return spec;
  if (!r.Object(root, "", {"platforms", "resources", "staff", "tenants", "auditors"})) return r.Failure();

  std::vector<NamesAt> platform_names, resource_names, staff_names;
  r.List(root, "", "platforms", [&](const Json& v, const std::string& p) {
    if (!r.Object(v, p, {"id", "name", "kind", "aliases"})) return;
    Platform pl;
    pl.id = r.Id(v, p, "id", true);
    pl.name = r.String(v, p, "name", false);
    pl.kind = r.String(v, p, "kind", false);
    NamesAt& at = platform_names.emplace_back(NamesAt{JsonPointerAppend(p, "aliases"), {}});
    pl.aliases = r.Names(v, p, "aliases", &at.indexes);
    spec.platforms.push_back(std::move(pl));
  });
  r.List(root, "", "resources", [&](const Json& v, const std::string& p) {
    if (!r.Object(v, p, {"id", "platform", "type", "labels", "tenant", "tenant_data", "risk", "ssh", "aliases"})) {
      return;
    }
    Resource res;
    res.id = r.Id(v, p, "id", true);
    res.platform = r.Id(v, p, "platform", true);
    res.type = r.String(v, p, "type", true);
    res.labels = r.Labels(v, p);
    res.tenant = r.Id(v, p, "tenant", false);
    res.tenant_data = r.Bool(v, p, "tenant_data", false);
    std::string risk = r.String(v, p, "risk", false, "low");
    if (!ParseRisk(risk, &res.risk)) r.Problem(JsonPointerAppend(p, "risk"), "risk must be low, medium, high or critical");
    if (res.tenant_data && res.tenant.empty()) {
      r.Problem(JsonPointerAppend(p, "tenant_data"), "a resource holding tenant data must name its tenant");
    }
    if (auto it = v.find("ssh"); it != v.end() && !it->is_null()) {
      std::string sp = JsonPointerAppend(p, "ssh");
      if (r.Object(*it, sp, {"host", "port", "host_key"})) {
        SshEndpoint ep;
        ep.host = r.String(*it, sp, "host", true);
        if (!ep.host.empty() && !ValidHost(ep.host)) r.Problem(JsonPointerAppend(sp, "host"), "expected a host name or IP address");
        if (auto port = it->find("port"); port != it->end()) {
          if (!port->is_number_integer() || port->get<int64_t>() < 1 || port->get<int64_t>() > 65535) {
            r.Problem(JsonPointerAppend(sp, "port"), "expected a port number 1-65535");
          } else {
            ep.port = port->get<int>();
          }
        }
        ep.host_key = r.String(*it, sp, "host_key", true);
        if (!ep.host_key.empty()) {
          auto key = crypto::ParseSshPublicKey(ep.host_key);
          if (!key.ok()) r.Problem(JsonPointerAppend(sp, "host_key"), "host key: " + key.error().message);
          else ep.host_key = key->ToLine();
        }
        res.ssh = std::move(ep);
      }
    }
    NamesAt& at = resource_names.emplace_back(NamesAt{JsonPointerAppend(p, "aliases"), {}});
    res.aliases = r.Names(v, p, "aliases", &at.indexes);
    spec.resources.push_back(std::move(res));
  });
  r.List(root, "", "staff", [&](const Json& v, const std::string& p) {
    if (!r.Object(v, p, {"id", "name", "kind", "organisation", "roles", "ssh_keys", "accounts", "email", "disabled"})) {
      return;
    }
    Staff s;
    s.id = r.Id(v, p, "id", true);
    s.name = r.String(v, p, "name", false);
    std::string kind = r.String(v, p, "kind", false, "internal");
    if (kind == "outsourced") s.kind = StaffKind::kOutsourced;
    else if (kind != "internal") r.Problem(JsonPointerAppend(p, "kind"), "kind must be internal or outsourced");
    s.organisation = r.String(v, p, "organisation", false, s.kind == StaffKind::kInternal ? "provider" : "");
    if (s.kind == StaffKind::kOutsourced && (s.organisation.empty() || s.organisation == "provider")) {
      r.Problem(p, "outsourced staff must name their company in \"organisation\"");
    }
    s.roles = r.Strings(v, p, "roles");
    s.ssh_keys = r.Strings(v, p, "ssh_keys");
    for (size_t i = 0; i < s.ssh_keys.size(); ++i) {
      // Operators sign in to the gateway with these; a key that does not parse would only
      // fail later, at the first login, with nobody told why.
      auto key = crypto::ParseSshPublicKey(s.ssh_keys[i]);
      if (!key.ok()) {
        r.Problem(JsonPointerAppend(JsonPointerAppend(p, "ssh_keys"), std::to_string(i)), key.error().message);
      } else {
        s.ssh_keys[i] = key->ToLine();
      }
    }
    NamesAt& at = staff_names.emplace_back(NamesAt{JsonPointerAppend(p, "accounts"), {}});
    s.accounts = r.Names(v, p, "accounts", &at.indexes);
    for (size_t i = 0; i < s.accounts.size(); ++i) {
      // Everyone with the password or a key logs in as root: naming one person by it would
      // pin everyone's actions on them.
      if (s.accounts[i] == "root") {
        r.Problem(JsonPointerAppend(at.pointer, std::to_string(at.indexes[i])),
                  "\"root\" is a shared account, not one person's: logs attribute it by key fingerprint, "
                  "sudo's invoking user or the audit login uid instead");
      }
    }
    s.email = r.String(v, p, "email", false);
    s.disabled = r.Bool(v, p, "disabled", false);
    spec.staff.push_back(std::move(s));
  });
  r.List(root, "", "tenants", [&](const Json& v, const std::string& p) {
    if (!r.Object(v, p, {"id", "name", "webhook_url", "approvers"})) return;
    Tenant t{r.Id(v, p, "id", true), r.String(v, p, "name", false), r.String(v, p, "webhook_url", false)};
    // Policy selectors use these two words for "the provider's own" and "any tenant".
    if (t.id == "provider") r.Problem(JsonPointerAppend(p, "id"), "\"provider\" is reserved and cannot name a tenant");
    if (!t.webhook_url.empty() && t.webhook_url.rfind("https://", 0) != 0 &&
        t.webhook_url.rfind("http://127.0.0.1", 0) != 0 && t.webhook_url.rfind("http://localhost", 0) != 0) {
      r.Problem(JsonPointerAppend(p, "webhook_url"), "webhook URLs must use https (plain http only on loopback)");
    }
    r.List(v, p, "approvers", [&](const Json& a, const std::string& ap) {
      if (!r.Object(a, ap, {"id", "name", "public_key", "email"})) return;
      Approver ar;
      ar.id = r.Id(a, ap, "id", true);
      ar.name = r.String(a, ap, "name", false);
      ar.tenant = t.id;
      std::string key = r.String(a, ap, "public_key", true);
      auto raw = Base64Decode(key);
      if (!key.empty() && (!raw.ok() || raw->size() != 32)) {
        r.Problem(JsonPointerAppend(ap, "public_key"), "expected a base64 Ed25519 public key (32 bytes)");
      } else if (raw.ok()) {
        ar.public_key = *raw;
      }
      ar.email = r.String(a, ap, "email", false);
      spec.approvers.push_back(std::move(ar));
    });
    spec.tenants.push_back(std::move(t));
  });
  r.List(root, "", "auditors", [&](const Json& v, const std::string& p) {
    if (!r.Object(v, p, {"id", "name", "organisation"})) return;
    spec.auditors.push_back({r.Id(v, p, "id", true), r.String(v, p, "name", false), r.String(v, p, "organisation", false)});
  });
  auto everywhere = [](const auto&) { return std::string(); };
  CheckNameClashes(r, spec.platforms, platform_names, "platform", "alias", everywhere,
                   [](const Platform& v) -> const std::vector<std::string>& { return v.aliases; });
  CheckNameClashes(r, spec.resources, resource_names, "resource", "alias",
                   [](const Resource& v) { return v.platform; },
                   [](const Resource& v) -> const std::vector<std::string>& { return v.aliases; });
  CheckNameClashes(r, spec.staff, staff_names, "staff member", "account", everywhere,
                   [](const Staff& v) -> const std::vector<std::string>& { return v.accounts; });
  if (!r.ok()) return r.Failure();
  return spec;
}

namespace {

constexpr const char* kKinds[] = {"platform", "resource", "staff", "tenant", "approver", "auditor"};

std::string RecordKind(std::string_view kind) { return "directory." + std::string(kind); }

// Where the ledger indexes of approver key changes are kept (Snapshot::key_events): one
// record per entry, its id the index zero-padded to 20 digits so that ids sort by index.
constexpr const char* kKeyEventKind = "directory.key_event";

storage::RecordWrite KeyEventWrite(const std::string& tenant, const std::string& approver, uint64_t index) {
  std::string id = std::to_string(index);
  id.insert(0, 20 - std::min<size_t>(20, id.size()), '0');
  Json body = {{"tenant", tenant}, {"approver", approver}, {"index", index}};
  return {kKeyEventKind, id, body.dump(), storage::RecordWrite::kAnyVersion, false};
}

void AddKeyEvent(Snapshot& s, const std::string& tenant, uint64_t index) {
  auto& list = s.key_events[tenant];
  list.insert(std::upper_bound(list.begin(), list.end(), index), index);
}

// Reads back a stored record. The stored JSON was produced by ToJson, so a parse failure
// means the database was altered outside cloudpact.
Status LoadRecord(Snapshot& s, const std::string& kind, const std::string& body) {
  auto j = ParseJson(body);
  if (!j.ok()) return MakeError(ErrorCode::kDataLoss, "directory: stored " + kind + " is not JSON");
  Json doc = Json::object();
  std::string list = kind == "staff" ? "staff" : kind + "s";
  if (kind == "approver") {
    Json a = *j;
    a.erase("tenant");
    doc["tenants"] = Json::array({{{"id", (*j).value("tenant", "")}, {"approvers", Json::array({a})}}});
  } else {
    doc[list] = Json::array({*j});
  }
  auto spec = ParseDirectory(FromJson(std::move(doc)));
  if (!spec.ok()) return MakeError(ErrorCode::kDataLoss, "directory: stored " + kind + " is invalid: " + spec.error().message);
  for (auto& v : spec->platforms) s.platforms[v.id] = v;
  for (auto& v : spec->resources) s.resources[v.id] = v;
  for (auto& v : spec->staff) s.staff[v.id] = v;
  for (auto& v : spec->approvers) s.approvers[v.id] = v;
  for (auto& v : spec->auditors) s.auditors[v.id] = v;
  if (kind == "tenant") for (auto& v : spec->tenants) s.tenants[v.id] = v;
  return OkStatus();
}

// Names (ids, aliases, accounts) that mean more than one record within a scope: all
// platforms, the resources of one platform, all staff.
class NameClashes {
 public:
  void Add(const std::string& scope, const std::string& name, const std::string& id) {
    auto& ids = owners_[scope + '\0' + name];
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  void Report(const std::string& noun, std::vector<std::string>& problems) const {
    for (const auto& [key, ids] : owners_) {
      if (ids.size() < 2) continue;
      size_t sep = key.find('\0');
      std::string scope = key.substr(0, sep);
      std::vector<std::string> sorted = ids;
      std::sort(sorted.begin(), sorted.end());
      std::string list;
      for (const auto& id : sorted) list += (list.empty() ? "" : ", ") + id;
      problems.push_back("\"" + key.substr(sep + 1) + "\" names more than one " + noun +
                         (scope.empty() ? "" : " on platform " + scope) + ": " + list);
    }
  }

 private:
  std::unordered_map<std::string, std::vector<std::string>> owners_;
};

// Cross-record rules over the directory as it would be after an apply.
Status Validate(const Snapshot& s) {
  std::vector<std::string> problems;
  for (const auto& [id, r] : s.resources) {
    if (!s.platforms.count(r.platform)) problems.push_back("resource " + id + ": unknown platform \"" + r.platform + "\"");
    if (!r.tenant.empty() && !s.tenants.count(r.tenant)) problems.push_back("resource " + id + ": unknown tenant \"" + r.tenant + "\"");
  }
  for (const auto& [id, a] : s.approvers) {
    if (!s.tenants.count(a.tenant)) problems.push_back("approver " + id + ": unknown tenant \"" + a.tenant + "\"");
  }
  // Principals share one namespace: a sign-in name must mean one person.
  for (const auto& [id, _] : s.approvers) {
    if (s.staff.count(id) || s.auditors.count(id)) problems.push_back("\"" + id + "\" names more than one principal");
  }
  for (const auto& [id, _] : s.auditors) {
    if (s.staff.count(id)) problems.push_back("\"" + id + "\" names more than one principal");
  }
  // A name in a log must lead to one record (aliases and accounts are for correlating logs).
  NameClashes platform_names, resource_names, staff_names;
  for (const auto& [id, p] : s.platforms) {
    platform_names.Add("", id, id);
    for (const auto& a : p.aliases) platform_names.Add("", a, id);
  }
  for (const auto& [id, r] : s.resources) {
    resource_names.Add(r.platform, id, id);
    for (const auto& a : r.aliases) resource_names.Add(r.platform, a, id);
  }
  for (const auto& [id, st] : s.staff) {
    staff_names.Add("", id, id);
    for (const auto& a : st.accounts) staff_names.Add("", a, id);
  }
  platform_names.Report("platform", problems);
  resource_names.Report("resource", problems);
  staff_names.Report("staff member", problems);
  if (problems.empty()) return OkStatus();
  std::sort(problems.begin(), problems.end());
  std::string msg = "directory would be inconsistent:";
  for (size_t i = 0; i < problems.size() && i < 100; ++i) msg += "\n" + problems[i];
  return MakeError(ErrorCode::kInvalidArgument, msg);
}

}  // namespace

Result<std::unique_ptr<Directory>> Directory::Load(storage::Storage& store, ledger::Ledger& ledger) {
  auto snap = std::make_shared<Snapshot>();
  for (const char* kind : kKinds) {
    ASSIGN_OR_RETURN(auto records, store.ListRecords(RecordKind(kind)));
    for (const auto& rec : records) RETURN_IF_ERROR(LoadRecord(*snap, kind, rec.body));
  }
  ASSIGN_OR_RETURN(auto key_events, store.ListRecords(kKeyEventKind));
  for (const auto& rec : key_events) {
    auto j = ParseJson(rec.body);
    if (!j.ok() || !j->is_object() || !(*j)["tenant"].is_string() || !(*j)["index"].is_number_unsigned()) {
      return MakeError(ErrorCode::kDataLoss, "directory: stored key event " + rec.id + " is invalid");
    }
    AddKeyEvent(*snap, (*j)["tenant"].get<std::string>(), (*j)["index"].get<uint64_t>());
  }
  snap->Reindex();
  std::unique_ptr<Directory> d(new Directory(store, ledger));
  d->snapshot_ = std::move(snap);
  return d;
}

std::shared_ptr<const Snapshot> Directory::snapshot() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return snapshot_;
}

void Directory::SetStaffValidator(StaffValidator validator) {
  std::lock_guard<std::mutex> lock(write_mu_);
  staff_validator_ = std::move(validator);
}

Result<ApplyResult> Directory::Apply(const DirectorySpec& spec, const std::string& actor) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot());
  ApplyResult result;
  std::vector<ledger::AppendRequest> entries;
  std::vector<storage::RecordWrite> writes;
  std::set<std::pair<std::string, std::string>> seen;

  // Records are compared in their JSON form: an unchanged record writes no evidence.
  auto put = [&](const char* kind, const std::string& id, Json body, const Json* old) -> Status {
    if (!seen.emplace(kind, id).second) {
      return MakeError(ErrorCode::kInvalidArgument, std::string(kind) + " \"" + id + "\" appears twice in the document");
    }
    if (old && *old == body) { ++result.unchanged; return OkStatus(); }
    (old ? result.updated : result.created)++;
    Json entry = {{"op", old ? "update" : "create"}, {kind, body}};
    entries.push_back({"directory." + std::string(kind), std::move(entry), actor, std::nullopt});
    writes.push_back({RecordKind(kind), id, body.dump(), storage::RecordWrite::kAnyVersion, false});
    return OkStatus();
  };
  auto old_json = [](const auto& map, const std::string& id) -> std::optional<Json> {
    auto it = map.find(id);
    if (it == map.end()) return std::nullopt;
    return ToJson(it->second);
  };
#define CLOUDPACT_PUT(KIND, FIELD, LIST)                                   \
  for (const auto& v : spec.LIST) {                                        \
    auto old = old_json(next->FIELD, v.id);                                \
    RETURN_IF_ERROR(put(KIND, v.id, ToJson(v), old ? &*old : nullptr));    \
    next->FIELD[v.id] = v;                                                 \
  }
  CLOUDPACT_PUT("platform", platforms, platforms)
  CLOUDPACT_PUT("tenant", tenants, tenants)
  CLOUDPACT_PUT("resource", resources, resources)
  CLOUDPACT_PUT("staff", staff, staff)
  // An approver created, or given another key, is a key event of its tenant: remember
  // which entry records it.
  std::vector<std::pair<size_t, const Approver*>> key_entries;
  for (const auto& v : spec.approvers) {
    const Approver* before = next->FindApprover(v.id);
    const bool key_event = !before || before->public_key != v.public_key || before->tenant != v.tenant;
    auto old = old_json(next->approvers, v.id);
    const size_t at = entries.size();
    RETURN_IF_ERROR(put("approver", v.id, ToJson(v), old ? &*old : nullptr));
    if (key_event && entries.size() > at) key_entries.push_back({at, &v});
    next->approvers[v.id] = v;
  }
  CLOUDPACT_PUT("auditor", auditors, auditors)
#undef CLOUDPACT_PUT
  RETURN_IF_ERROR(Validate(*next));
  if (staff_validator_) {
    std::vector<std::string> problems;
    for (const auto& s : spec.staff) {
      if (Status st = staff_validator_(s); !st.ok()) problems.push_back("staff " + s.id + ": " + st.error().message);
    }
    if (!problems.empty()) {
      std::string msg = "staff records break the access policy:";
      for (const auto& p : problems) msg += "\n" + p;
      return MakeError(ErrorCode::kInvalidArgument, msg);
    }
  }
  if (entries.empty()) return result;
  // Evidence first: if the ledger cannot record the change, it does not happen.
  ASSIGN_OR_RETURN(auto appended, ledger_.AppendMany(std::move(entries)));
  for (const auto& a : appended) result.ledger_indexes.push_back(a.index);
  for (const auto& [at, approver] : key_entries) {
    if (at >= appended.size()) continue;
    writes.push_back(KeyEventWrite(approver->tenant, approver->id, appended[at].index));
    AddKeyEvent(*next, approver->tenant, appended[at].index);
  }
  RETURN_IF_ERROR(store_.WriteRecords(writes));
  // Built outside the lock that readers wait on.
  next->Reindex();
  std::unique_lock<std::shared_mutex> wlock(mu_);
  snapshot_ = std::move(next);
  return result;
}

Result<ApproverKeyChange> Directory::SetApproverKey(const std::string& approver, const std::string& public_key,
                                                    const std::string& actor, const Json& evidence) {
  if (public_key.size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "an approver's public key is 32 raw Ed25519 bytes");
  }
  if (!evidence.is_object()) return MakeError(ErrorCode::kInvalidArgument, "key change evidence must be an object");
  std::lock_guard<std::mutex> lock(write_mu_);
  auto current = snapshot();
  const Approver* found = current->FindApprover(approver);
  if (!found) return MakeError(ErrorCode::kNotFound, "no approver \"" + approver + "\"");
  Approver updated = *found;
  updated.public_key = public_key;

  ApproverKeyChange change{approver, found->tenant, public_key, found->public_key, 0};
  Json body = {{"approver", approver},
               {"tenant", found->tenant},
               {"public_key", Base64Encode(public_key)},
               {"previous_key", Base64Encode(found->public_key)}};
  for (const auto& [k, v] : evidence.items()) {
    if (body.contains(k)) {
      return MakeError(ErrorCode::kInvalidArgument, "key change evidence must not set \"" + k + "\"");
    }
    body[k] = v;
  }
  // Evidence first: if the ledger cannot record the change, it does not happen.
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"directory.approver_key", std::move(body), actor, std::nullopt}));
  change.ledger_index = appended.index;
  RETURN_IF_ERROR(store_.WriteRecords(
      {{RecordKind("approver"), approver, ToJson(updated).dump(), storage::RecordWrite::kAnyVersion, false},
       KeyEventWrite(updated.tenant, approver, appended.index)}));
  auto next = std::make_shared<Snapshot>(*current);
  next->approvers[approver] = updated;
  AddKeyEvent(*next, updated.tenant, appended.index);
  next->Reindex();
  std::unique_lock<std::shared_mutex> wlock(mu_);
  snapshot_ = std::move(next);
  return change;
}

}  // namespace cloudpact::directory
