#include "assess/importers.h"

#include "core/time.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/json.h"

namespace cloudpact::assess {
namespace {

constexpr size_t kMaxDepth = 64;  // the project's JSON default; deep enough for any real object

using Attrs = std::map<std::string, storage::SqlValue, std::less<>>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string Compact(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

// ---- collecting results ----

// Resources and problems of one import, with the bounds and duplicate-uid detection.
class Sink {
 public:
  explicit Sink(const ImportOptions& options) : options_(options) {}

  void Problem(int line, std::string pointer, std::string message) {
    if (out_.problems.size() >= kMaxListedProblems) {
      ++unlisted_;
      return;
    }
    out_.problems.push_back({line, std::move(pointer), std::move(message)});
  }

  // Adds `r`, found at `line` (NDJSON) or `pointer` (documents). A uid seen before is a
  // problem for the later one; more than max_resources refuses the whole input.
  Status Add(Resource&& r, int line, std::string_view pointer) {
    const size_t h = std::hash<std::string>{}(r.uid);
    auto [lo, hi] = seen_.equal_range(h);
    for (auto it = lo; it != hi; ++it) {
      if (out_.resources[it->second].uid == r.uid) {
        const Where& first = where_[it->second];
        Problem(line, std::string(pointer),
                "duplicate uid \"" + r.uid + "\" (first at " +
                    (first.pointer.empty() && first.line > 0 ? "line " + std::to_string(first.line)
                                                             : "\"" + first.pointer + "\"") +
                    "); skipped");
        return OkStatus();
      }
    }
    if (out_.resources.size() >= options_.max_resources) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "inventory: more than " + std::to_string(options_.max_resources) +
                           " resources in one import (the limit); split the input");
    }
    seen_.emplace(h, out_.resources.size());
    where_.push_back({line, std::string(pointer)});
    out_.resources.push_back(std::move(r));
    return OkStatus();
  }

  ImportResult Finish() && {
    if (unlisted_ > 0) {
      out_.problems.push_back({0, "", std::to_string(unlisted_) + " more problems not listed (only the first " +
                                          std::to_string(kMaxListedProblems) + " are)"});
    }
    return std::move(out_);
  }

  size_t size() const { return out_.resources.size(); }

 private:
  struct Where {
    int line;
    std::string pointer;
  };
  const ImportOptions& options_;
  ImportResult out_;
  size_t unlisted_ = 0;
  std::unordered_multimap<size_t, size_t> seen_;
  std::vector<Where> where_;
};

Status CheckBounds(std::string_view text, const ImportOptions& options, std::string_view what) {
  if (text.size() > options.max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     std::string(what) + ": input of " + std::to_string(text.size()) + " bytes is over the limit of " +
                         std::to_string(options.max_bytes) + " bytes; split it");
  }
  return OkStatus();
}

Status NeedPlatform(const ImportOptions& options, std::string_view what) {
  if (options.platform.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + ": a platform is required (--platform)");
  }
  return OkStatus();
}

std::string JsonTypeName(const Json& v) { return v.type_name(); }

// ---- NDJSON ----

struct LineError {
  std::string pointer;
  std::string message;
};

std::optional<LineError> TypedValue(const ColumnSpec& col, const Json& v, storage::SqlValue* out) {
  const std::string ptr = "/attrs/" + std::string(col.name);
  switch (col.type) {
    case ColumnType::kText:
      if (!v.is_string()) return LineError{ptr, "column " + std::string(col.name) + " is text, not " + JsonTypeName(v)};
      *out = v.get<std::string>();
      return std::nullopt;
    case ColumnType::kInteger:
      if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return LineError{ptr, "column " + std::string(col.name) + " is beyond a 64-bit integer"};
        *out = static_cast<int64_t>(u);
        return std::nullopt;
      }
      if (v.is_number_integer()) {
        *out = v.get<int64_t>();
        return std::nullopt;
      }
      return LineError{ptr, "column " + std::string(col.name) + " is an integer, not " +
                                (v.is_number_float() ? std::string("a fraction") : JsonTypeName(v))};
    case ColumnType::kBool:
      if (!v.is_boolean())
        return LineError{ptr, "column " + std::string(col.name) + " is true or false, not " + JsonTypeName(v)};
      *out = int64_t{v.get<bool>() ? 1 : 0};
      return std::nullopt;
  }
  return LineError{ptr, "column type"};
}

std::optional<LineError> StringMember(const Json& v, std::string_view key, std::string* out) {
  if (!v.is_string()) return LineError{"/" + std::string(key), std::string(key) + " must be a string, not " + JsonTypeName(v)};
  *out = v.get<std::string>();
  return std::nullopt;
}

// One parsed line to a Resource (raw and collected filled by the caller's defaults).
std::optional<LineError> NdjsonResource(const Json& j, const ImportOptions& options, Resource* r) {
  if (!j.is_object()) return LineError{"", "a line must be a JSON object, not " + JsonTypeName(j)};
  std::string id;
  bool has_id = false;
  const Json* attrs = nullptr;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    std::optional<LineError> e;
    if (k == "type") e = StringMember(v, k, &r->type);
    else if (k == "id") {
      has_id = true;
      if (v.is_number_integer()) id = v.dump();
      else e = StringMember(v, k, &id);
    } else if (k == "platform") e = StringMember(v, k, &r->platform);
    else if (k == "uid") e = StringMember(v, k, &r->uid);
    else if (k == "native_type") e = StringMember(v, k, &r->native_type);
    else if (k == "region") e = StringMember(v, k, &r->region);
    else if (k == "tenant") e = StringMember(v, k, &r->tenant);
    else if (k == "name") e = StringMember(v, k, &r->name);
    else if (k == "labels") {
      if (!v.is_object()) return LineError{"/labels", "labels must be an object of strings, not " + JsonTypeName(v)};
      for (auto l = v.begin(); l != v.end(); ++l) {
        if (!l.value().is_string())
          return LineError{"/labels/" + l.key(), "label values must be strings, not " + JsonTypeName(l.value())};
        r->labels.emplace(l.key(), l.value().get<std::string>());
      }
    } else if (k == "attrs") {
      if (!v.is_null() && !v.is_object()) return LineError{"/attrs", "attrs must be an object, not " + JsonTypeName(v)};
      attrs = &v;
    } else if (k == "collected") {
      if (!v.is_string() || !ParseRfc3339Seconds(v.get_ref<const std::string&>(), false, &r->collected_unix))
        return LineError{"/collected", "collected must be an RFC 3339 time such as 2026-11-27T08:00:00Z"};
    } else if (k == "raw") {
      // Kept as part of the line, which is the resource's raw text.
    } else {
      return LineError{"/" + k, "unknown member \"" + k + "\" (members: uid, platform, type, native_type, id, region, "
                                "tenant, name, labels, attrs, raw, collected)"};
    }
    if (e) return e;
  }
  if (r->type.empty()) return LineError{"/type", "type is required"};
  if (!has_id || id.empty()) return LineError{"/id", "id is required"};
  if (r->platform.empty()) {
    if (options.platform.empty()) return LineError{"/platform", "platform is required (in the line or --platform)"};
    r->platform = options.platform;
  }
  if (r->region.empty()) r->region = options.region;
  if (r->uid.empty()) {
    r->uid.reserve(r->platform.size() + r->type.size() + id.size() + 2);
    r->uid.append(r->platform).append("/").append(r->type).append("/").append(id);
  }
  if (attrs != nullptr && !attrs->is_null()) {
    const TypeSpec* spec = FindType(r->type);
    if (spec == nullptr) {
      if (!attrs->empty())
        return LineError{"/attrs", "type \"" + r->type + "\" is not a normalized type, so it has no attrs "
                                   "(keep its data in raw)"};
    } else {
      for (auto a = attrs->begin(); a != attrs->end(); ++a) {
        const ColumnSpec* col = nullptr;
        for (const auto& c : spec->columns) {
          if (c.name == a.key()) {
            col = &c;
            break;
          }
        }
        if (col == nullptr) {
          std::string names;
          for (const auto& c : spec->columns) names.append(names.empty() ? "" : ", ").append(c.name);
          return LineError{"/attrs/" + a.key(), "type " + r->type + " has no column \"" + a.key() + "\" (columns: " + names + ")"};
        }
        if (a.value().is_null()) continue;  // NULL: unknown
        storage::SqlValue value;
        if (auto e = TypedValue(*col, a.value(), &value)) return e;
        r->attrs.emplace(std::string(col->name), std::move(value));
      }
    }
  }
  return std::nullopt;
}

// ---- addresses ----

bool IsPublicV4(const unsigned char* a) {
  if (a[0] == 0 || a[0] == 10 || a[0] == 127) return false;
  if (a[0] == 100 && (a[1] & 0xC0) == 64) return false;   // 100.64.0.0/10 CGNAT
  if (a[0] == 169 && a[1] == 254) return false;           // link-local
  if (a[0] == 172 && (a[1] & 0xF0) == 16) return false;   // 172.16.0.0/12
  if (a[0] == 192 && a[1] == 168) return false;           // 192.168.0.0/16
  if (a[0] >= 224) return false;                          // multicast, reserved, broadcast
  return true;
}

// Addresses from a server's Networks/addresses value: {"net": ["10.0.0.3", …]} (current
// clients; entries may also be {"addr": …}), or "net=10.0.0.3, 203.0.113.7; net2=…" (older).
std::optional<bool> AnyPublic(const Json& networks) {
  bool any = false;
  if (networks.is_object()) {
    for (const auto& [net, addrs] : networks.items()) {
      if (!addrs.is_array()) continue;
      for (const auto& a : addrs) {
        if (a.is_string()) any |= IsPublicAddress(a.get_ref<const std::string&>());
        else if (a.is_object() && a.contains("addr") && a["addr"].is_string())
          any |= IsPublicAddress(a["addr"].get_ref<const std::string&>());
      }
    }
    return any;
  }
  if (networks.is_string()) {
    std::string_view s = networks.get_ref<const std::string&>();
    while (!s.empty()) {
      const size_t semi = s.find(';');
      std::string_view group = s.substr(0, semi);
      s = semi == std::string_view::npos ? std::string_view() : s.substr(semi + 1);
      const size_t eq = group.find('=');
      if (eq != std::string_view::npos) group = group.substr(eq + 1);
      while (!group.empty()) {
        const size_t comma = group.find(',');
        any |= IsPublicAddress(Trim(group.substr(0, comma)));
        group = comma == std::string_view::npos ? std::string_view() : group.substr(comma + 1);
      }
    }
    return any;
  }
  return std::nullopt;
}

// ---- helpers over a parsed object ----

// The first of `names` present and not null in `obj`.
const Json* Field(const Json& obj, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = obj.find(n);
    if (it != obj.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::optional<std::string> Text(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return v->dump();
  return std::nullopt;
}

std::optional<bool> Bool(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const std::string s = Lower(v->get_ref<const std::string&>());
    if (s == "true" || s == "yes" || s == "1") return true;
    if (s == "false" || s == "no" || s == "0") return false;
  }
  return std::nullopt;
}

std::optional<int64_t> Integer(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<int64_t>();
  if (v->is_number_unsigned() && v->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(v->get<uint64_t>());
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s.empty() || s.size() > 18) return std::nullopt;
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

void SetText(Attrs& a, std::string_view col, std::optional<std::string> v) {
  if (v) a.emplace(std::string(col), std::move(*v));
}
void SetBool(Attrs& a, std::string_view col, std::optional<bool> v) {
  if (v) a.emplace(std::string(col), int64_t{*v ? 1 : 0});
}
void SetInt(Attrs& a, std::string_view col, std::optional<int64_t> v) {
  if (v) a.emplace(std::string(col), *v);
}

void StringLabels(const Json* v, std::map<std::string, std::string>* labels) {
  if (v == nullptr || !v->is_object()) return;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it.value().is_string()) labels->emplace(it.key(), it.value().get<std::string>());
  }
}

std::string Pointer(std::string_view base, size_t index) { return std::string(base) + "/" + std::to_string(index); }

// ---- Kubernetes ----

const Json* Path(const Json& v, std::initializer_list<const char*> path) {
  const Json* cur = &v;
  for (const char* p : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(p);
    if (it == cur->end() || it->is_null()) return nullptr;
    cur = &*it;
  }
  return cur;
}

bool IsTrue(const Json* v) { return v != nullptr && v->is_boolean() && v->get<bool>(); }

// "nginx", "nginx:latest" → latest; "nginx:1.25", "nginx@sha256:…" → not.
bool ImageIsLatest(std::string_view image) {
  if (image.find('@') != std::string_view::npos) return false;  // pinned by digest
  const size_t slash = image.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
  const size_t colon = last.find(':');
  return colon == std::string_view::npos || last.substr(colon + 1) == "latest" || colon + 1 == last.size();
}

std::string K8sRawType(std::string_view kind) { return "k8s_" + Lower(kind); }

struct K8sContext {
  bool has_network_policies = false;
  std::map<std::string, int64_t, std::less<>> network_policies;  // namespace → count
  std::set<std::string, std::less<>> wildcard_cluster_roles;      // ClusterRoles granting verb *
  std::set<std::string, std::less<>> wildcard_roles;              // "namespace/name" of such Roles
};

bool GrantsWildcardVerb(const Json& role) {
  const Json* rules = Path(role, {"rules"});
  if (rules == nullptr || !rules->is_array()) return false;
  for (const auto& rule : *rules) {
    const Json* verbs = Path(rule, {"verbs"});
    if (verbs == nullptr || !verbs->is_array()) continue;
    for (const auto& v : *verbs) {
      if (v.is_string() && v.get_ref<const std::string&>() == "*") return true;
    }
  }
  return false;
}

std::optional<std::string> StrAt(const Json& v, std::initializer_list<const char*> path) {
  const Json* p = Path(v, path);
  if (p == nullptr || !p->is_string()) return std::nullopt;
  return p->get<std::string>();
}

// The pod spec of a workload kind, or null.
const Json* PodSpec(const Json& item, std::string_view kind) {
  if (kind == "Pod") return Path(item, {"spec"});
  if (kind == "CronJob") return Path(item, {"spec", "jobTemplate", "spec", "template", "spec"});
  return Path(item, {"spec", "template", "spec"});
}

std::optional<std::string> WorkloadAttrs(const Json& spec, Attrs& a) {
  if (!spec.is_object()) return "the pod spec is not an object";
  const Json* pod_non_root = Path(spec, {"securityContext", "runAsNonRoot"});
  const bool pod_nr = IsTrue(pod_non_root);
  bool privileged = false, escalation = false, all_non_root = true, latest = false, limits = true;
  std::string images;
  size_t n = 0;
  for (const char* list : {"initContainers", "containers"}) {
    const Json* cs = Path(spec, {list});
    if (cs == nullptr) continue;
    if (!cs->is_array()) return std::string(list) + " is not an array";
    for (const auto& c : *cs) {
      if (!c.is_object()) return std::string(list) + " holds a non-object";
      ++n;
      const Json* sc = Path(c, {"securityContext"});
      if (sc != nullptr && sc->is_object()) {
        privileged |= IsTrue(Path(*sc, {"privileged"}));
        const Json* ape = Path(*sc, {"allowPrivilegeEscalation"});
        // Unset allows escalation (the kernel's no_new_privs is only set when it is false).
        escalation |= !(ape != nullptr && ape->is_boolean() && !ape->get<bool>());
        const Json* nr = Path(*sc, {"runAsNonRoot"});
        all_non_root &= (nr != nullptr && nr->is_boolean()) ? nr->get<bool>() : pod_nr;
      } else {
        escalation = true;
        all_non_root &= pod_nr;
      }
      const Json* image = Path(c, {"image"});
      const std::string img = image != nullptr && image->is_string() ? image->get<std::string>() : "";
      latest |= img.empty() || ImageIsLatest(img);
      if (!images.empty()) images += ',';
      images += img;
      const Json* lim = Path(c, {"resources", "limits"});
      limits &= lim != nullptr && lim->is_object() && lim->contains("cpu") && lim->contains("memory");
    }
  }
  if (n == 0) return "the pod spec has no containers";
  a.emplace("privileged", int64_t{privileged});
  a.emplace("host_network", int64_t{IsTrue(Path(spec, {"hostNetwork"}))});
  a.emplace("host_pid", int64_t{IsTrue(Path(spec, {"hostPID"}))});
  a.emplace("run_as_non_root", int64_t{all_non_root});
  a.emplace("allow_privilege_escalation", int64_t{escalation});
  a.emplace("image_latest", int64_t{latest});
  a.emplace("limits_set", int64_t{limits});
  std::string sa = StrAt(spec, {"serviceAccountName"}).value_or(StrAt(spec, {"serviceAccount"}).value_or(""));
  a.emplace("service_account", sa.empty() ? "default" : sa);
  a.emplace("images", std::move(images));
  return std::nullopt;
}

bool IsWorkloadKind(std::string_view k) {
  return k == "Pod" || k == "Deployment" || k == "StatefulSet" || k == "DaemonSet" || k == "Job" || k == "CronJob";
}

Status K8sItem(const Json& item, const std::string& ptr, const K8sContext& ctx, const ImportOptions& options,
               Sink& sink) {
  if (!item.is_object()) {
    sink.Problem(0, ptr, "an item must be an object, not " + JsonTypeName(item));
    return OkStatus();
  }
  const auto kind = StrAt(item, {"kind"});
  const auto name = StrAt(item, {"metadata", "name"});
  if (!kind || kind->empty()) {
    sink.Problem(0, ptr, "item without kind; skipped");
    return OkStatus();
  }
  if (!name || name->empty()) {
    sink.Problem(0, ptr, *kind + " without metadata.name; skipped");
    return OkStatus();
  }
  const std::string ns = StrAt(item, {"metadata", "namespace"}).value_or("");
  const auto native_uid = StrAt(item, {"metadata", "uid"});
  const std::string native_id = native_uid && !native_uid->empty() ? *native_uid : (ns.empty() ? *name : ns + "/" + *name);

  Resource base;
  base.platform = options.platform;
  base.native_type = *kind;
  base.region = options.region;
  base.tenant = ns;
  base.name = *name;
  base.collected_unix = options.collected_unix;
  StringLabels(Path(item, {"metadata", "labels"}), &base.labels);
  base.raw = Compact(item);
  auto finish = [&](Resource&& r, std::string_view type, const std::string& suffix, const std::string& where) {
    r.type = std::string(type);
    r.uid = r.platform + "/" + r.type + "/" + native_id + suffix;
    return sink.Add(std::move(r), 0, where);
  };

  if (IsWorkloadKind(*kind)) {
    const Json* spec = PodSpec(item, *kind);
    if (spec == nullptr) {
      sink.Problem(0, ptr, *kind + " " + ns + "/" + *name + " has no pod spec; skipped");
      return OkStatus();
    }
    if (auto e = WorkloadAttrs(*spec, base.attrs)) {
      sink.Problem(0, ptr, *kind + " " + ns + "/" + *name + ": " + *e + "; skipped");
      return OkStatus();
    }
    base.attrs.emplace("kind", *kind);
    return finish(std::move(base), "workload", "", ptr);
  }
  if (*kind == "Namespace") {
    base.tenant = *name;
    if (auto phase = StrAt(item, {"status", "phase"})) base.attrs.emplace("status", Lower(*phase));
    if (ctx.has_network_policies) {
      auto it = ctx.network_policies.find(*name);
      base.attrs.emplace("network_policies", it == ctx.network_policies.end() ? int64_t{0} : it->second);
    }
    return finish(std::move(base), "namespace", "", ptr);
  }
  if (*kind == "ClusterRoleBinding" || *kind == "RoleBinding") {
    const Json* subjects = Path(item, {"subjects"});
    const auto ref_kind = StrAt(item, {"roleRef", "kind"});
    const auto ref_name = StrAt(item, {"roleRef", "name"});
    if (!ref_name || ref_name->empty()) {
      sink.Problem(0, ptr, *kind + " " + *name + " without roleRef.name; skipped");
      return OkStatus();
    }
    if (subjects == nullptr || !subjects->is_array() || subjects->empty()) {
      return finish(std::move(base), K8sRawType(*kind), "", ptr);  // binds nobody: kept raw
    }
    const bool cluster_role = ref_kind.value_or("ClusterRole") == "ClusterRole";
    const bool privileged =
        (cluster_role && (*ref_name == "cluster-admin" || *ref_name == "admin" ||
                          ctx.wildcard_cluster_roles.count(*ref_name) > 0)) ||
        (!cluster_role && ctx.wildcard_roles.count(ns + "/" + *ref_name) > 0);
    for (size_t i = 0; i < subjects->size(); ++i) {
      const Json& s = (*subjects)[i];
      const std::string sp = ptr + "/subjects/" + std::to_string(i);
      const auto skind = s.is_object() ? StrAt(s, {"kind"}) : std::nullopt;
      const auto sname = s.is_object() ? StrAt(s, {"name"}) : std::nullopt;
      if (!skind || !sname || sname->empty()) {
        sink.Problem(0, sp, "subject without kind or name; skipped");
        continue;
      }
      Resource r = base;
      std::string principal = *sname, principal_kind;
      std::string key = *skind + ":" + *sname;
      if (*skind == "ServiceAccount") {
        const std::string sns = StrAt(s, {"namespace"}).value_or(ns);
        principal = "system:serviceaccount:" + sns + ":" + *sname;
        principal_kind = "service_account";
        key = *skind + ":" + sns + "/" + *sname;
      } else if (*skind == "User") {
        principal_kind = "user";
      } else if (*skind == "Group") {
        principal_kind = "group";
      } else {
        sink.Problem(0, sp, "subject kind \"" + *skind + "\" is not User, Group or ServiceAccount; skipped");
        continue;
      }
      r.attrs.emplace("principal", std::move(principal));
      r.attrs.emplace("principal_kind", std::move(principal_kind));
      r.attrs.emplace("role", *ref_name);
      r.attrs.emplace("scope", *kind == "ClusterRoleBinding" ? "cluster" : "namespace");
      r.attrs.emplace("privileged", int64_t{privileged});
      RETURN_IF_ERROR(finish(std::move(r), "role_assignment", "/" + key, sp));
    }
    return OkStatus();
  }
  return finish(std::move(base), K8sRawType(*kind), "", ptr);
}

// ---- OpenStack ----

using RowFn = std::optional<std::string> (*)(const Json& row, const ImportOptions& options, Resource* r,
                                             std::string* native_id);

std::optional<std::string> RowIdName(const Json& row, Resource* r, std::string* native_id) {
  auto id = Text(Field(row, {"ID", "id"}));
  if (!id || id->empty()) return "row without ID";
  *native_id = *id;
  r->name = Text(Field(row, {"Name", "name"})).value_or("");
  return std::nullopt;
}

// "cirros-0.6.2 (0a1b…)" → "0a1b…"; {"id": …} → id.
std::optional<std::string> IdInParens(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_object()) return Text(Field(*v, {"id"}));
  if (!v->is_string()) return std::nullopt;
  const std::string& s = v->get_ref<const std::string&>();
  const size_t open = s.rfind(" (");
  if (open == std::string::npos || s.back() != ')') return std::nullopt;
  std::string id = s.substr(open + 2, s.size() - open - 3);
  if (id.empty() || id.find(' ') != std::string::npos) return std::nullopt;
  return id;
}

std::optional<std::string> ServerRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Nova::Server";
  r->type = "compute_instance";
  r->tenant = Text(Field(row, {"Project ID", "project_id", "tenant_id"})).value_or("");
  Attrs& a = r->attrs;
  if (auto s = Text(Field(row, {"Status", "status"}))) a.emplace("status", Lower(*s));
  auto image = Text(Field(row, {"Image ID", "image_id"}));
  if (!image) image = IdInParens(Field(row, {"image"}));
  if (image && !image->empty()) a.emplace("image_id", *image);
  if (const Json* n = Field(row, {"Networks", "addresses"})) SetBool(a, "public_ip", AnyPublic(*n));
  SetText(a, "key_name", Text(Field(row, {"key_name", "Key Name"})));
  if (const Json* sg = Field(row, {"security_groups", "Security Groups"})) {
    if (sg->is_array()) {
      a.emplace("security_groups", static_cast<int64_t>(sg->size()));
    } else if (sg->is_string()) {  // older clients: "name='default'\nname='web'"
      const std::string& s = sg->get_ref<const std::string&>();
      int64_t count = 0;
      for (size_t p = s.find("name="); p != std::string::npos; p = s.find("name=", p + 5)) ++count;
      a.emplace("security_groups", count);
    }
  }
  if (const Json* f = Field(row, {"Flavor Name", "Flavor", "flavor"})) {
    if (f->is_string()) {
      const std::string& s = f->get_ref<const std::string&>();
      std::string flavor = s.substr(0, s.find(" ("));
      if (!flavor.empty()) a.emplace("flavor", std::move(flavor));
    } else if (f->is_object()) {
      SetText(a, "flavor", Text(Field(*f, {"original_name", "name", "id"})));
    }
  }
  auto host = Text(Field(row, {"Host", "OS-EXT-SRV-ATTR:host"}));
  if (host && !host->empty()) a.emplace("host", *host);
  StringLabels(Field(row, {"Properties", "properties", "metadata"}), &r->labels);
  return std::nullopt;
}

std::optional<std::string> SecurityGroupRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Neutron::SecurityGroup";
  r->type = "security_group";
  r->tenant = Text(Field(row, {"Project", "project_id", "tenant_id"})).value_or("");
  Attrs& a = r->attrs;
  SetText(a, "description", Text(Field(row, {"Description", "description"})));
  if (const Json* rules = Field(row, {"rules", "Rules"})) {
    if (rules->is_array()) {
      a.emplace("rules", static_cast<int64_t>(rules->size()));
    } else if (rules->is_string()) {  // older clients: one formatted rule per line
      const std::string& s = rules->get_ref<const std::string&>();
      int64_t count = 0;
      std::string_view rest = s;
      while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        if (!IsBlank(rest.substr(0, nl))) ++count;
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      }
      a.emplace("rules", count);
    }
  }
  return std::nullopt;
}

std::optional<std::string> SecurityGroupRuleRow(const Json& row, const ImportOptions& options, Resource* r,
                                                std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Neutron::SecurityGroupRule";
  r->type = "firewall_rule";
  r->tenant = Text(Field(row, {"Project", "project_id", "tenant_id"})).value_or("");
  Attrs& a = r->attrs;
  const std::string group_prefix = options.platform + "/security_group/";
  if (auto g = Text(Field(row, {"Security Group", "security_group_id"}))) a.emplace("group_uid", group_prefix + *g);
  if (auto d = Text(Field(row, {"Direction", "direction"}))) a.emplace("direction", Lower(*d));
  std::string protocol = Lower(Text(Field(row, {"IP Protocol", "protocol"})).value_or(""));
  if (protocol.empty() || protocol == "any") protocol = "any";
  else if (protocol == "6") protocol = "tcp";
  else if (protocol == "17") protocol = "udp";
  else if (protocol == "1") protocol = "icmp";
  else if (protocol == "58") protocol = "ipv6-icmp";
  a.emplace("protocol", protocol);
  const bool icmp = protocol == "icmp" || protocol == "ipv6-icmp" || protocol == "icmpv6";
  if (!icmp) {
    std::optional<int64_t> lo, hi;
    if (auto range = Text(Field(row, {"Port Range"}))) {  // "22:22", "1024:65535" or ""
      const size_t colon = range->find(':');
      if (colon != std::string::npos) {
        const Json l = range->substr(0, colon), h = range->substr(colon + 1);
        lo = Integer(&l);
        hi = Integer(&h);
      }
    } else {
      lo = Integer(Field(row, {"port_range_min"}));
      hi = Integer(Field(row, {"port_range_max"}));
      if (lo && !hi) hi = lo;
      if (hi && !lo) lo = hi;
    }
    SetInt(a, "port_min", lo);
    SetInt(a, "port_max", hi);
  }
  auto cidr = Text(Field(row, {"IP Range", "remote_ip_prefix"}));
  auto remote_group = Text(Field(row, {"Remote Security Group", "remote_group_id"}));
  auto address_group = Text(Field(row, {"Remote Address Group", "remote_address_group_id"}));
  if (cidr && cidr->empty()) cidr.reset();
  if (remote_group && remote_group->empty()) remote_group.reset();
  if (address_group && address_group->empty()) address_group.reset();
  if (remote_group) a.emplace("remote_group", group_prefix + *remote_group);
  if (cidr) {
    a.emplace("remote_cidr", *cidr);
  } else if (!remote_group && !address_group) {
    // Neutron: no prefix and no remote group means any address of the rule's ethertype.
    const std::string eth = Lower(Text(Field(row, {"Ethertype", "ethertype"})).value_or("IPv4"));
    a.emplace("remote_cidr", eth == "ipv6" ? "::/0" : "0.0.0.0/0");
  }
  return std::nullopt;
}

std::optional<std::string> VolumeRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Cinder::Volume";
  r->type = "volume";
  r->tenant = Text(Field(row, {"Project ID", "os-vol-tenant-attr:tenant_id", "project_id"})).value_or("");
  Attrs& a = r->attrs;
  SetBool(a, "encrypted", Bool(Field(row, {"Encrypted", "encrypted"})));
  if (const Json* att = Field(row, {"Attached to", "attachments"})) {
    if (att->is_array()) a.emplace("attached", int64_t{!att->empty()});
    else if (att->is_string()) a.emplace("attached", int64_t{!IsBlank(att->get_ref<const std::string&>())});
  }
  SetBool(a, "bootable", Bool(Field(row, {"Bootable", "bootable"})));
  SetInt(a, "size_gb", Integer(Field(row, {"Size", "size"})));
  if (auto s = Text(Field(row, {"Status", "status"}))) a.emplace("status", Lower(*s));
  StringLabels(Field(row, {"Properties", "properties", "metadata"}), &r->labels);
  return std::nullopt;
}

std::optional<std::string> ImageRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Glance::Image";
  r->type = "image";
  r->tenant = Text(Field(row, {"Project", "Owner", "owner", "owner_id"})).value_or("");
  Attrs& a = r->attrs;
  if (auto v = Text(Field(row, {"Visibility", "visibility"}))) a.emplace("visibility", Lower(*v));
  SetBool(a, "protected", Bool(Field(row, {"Protected", "protected"})));
  SetText(a, "checksum", Text(Field(row, {"Checksum", "checksum"})));
  if (auto s = Text(Field(row, {"Status", "status"}))) a.emplace("status", Lower(*s));
  const Json* props = Field(row, {"Properties", "properties"});
  if (props != nullptr && props->is_object()) {
    a.emplace("signed", int64_t{props->contains("img_signature") || row.contains("img_signature")});
    const auto type = Text(Field(*props, {"image_type"}));
    a.emplace("is_snapshot", int64_t{type.value_or("") == "snapshot"});
  } else if (row.contains("img_signature")) {
    a.emplace("signed", int64_t{1});
  }
  return std::nullopt;
}

std::optional<std::string> UserRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  if (auto e = RowIdName(row, r, id)) return e;
  r->native_type = "OS::Keystone::User";
  r->type = "identity_user";
  r->tenant = Text(Field(row, {"Project", "default_project_id"})).value_or("");
  Attrs& a = r->attrs;
  SetBool(a, "enabled", Bool(Field(row, {"Enabled", "enabled"})));
  if (const Json* opts = Field(row, {"options", "Options"}); opts != nullptr && opts->is_object()) {
    a.emplace("mfa", int64_t{Bool(Field(*opts, {"multi_factor_auth_enabled"})).value_or(false)});
  }
  if (auto exp = Text(Field(row, {"password_expires_at", "Password Expires At"}))) {
    int64_t t = 0;
    if (!ParseRfc3339Seconds(*exp, true, &t)) return "password_expires_at \"" + *exp + "\" is not a time";
    a.emplace("password_expires_unix", t);
  }
  auto domain = Text(Field(row, {"Domain", "domain_id"}));
  if (domain && !domain->empty()) a.emplace("domain", *domain);
  return std::nullopt;
}

bool PrivilegedRoleName(std::string_view role) {
  const std::string r = Lower(role);
  return r == "admin" || r == "cluster-admin" || r.ends_with("_admin") || r.ends_with("-admin");
}

std::optional<std::string> RoleAssignmentRow(const Json& row, const ImportOptions&, Resource* r, std::string* id) {
  auto get = [&](const char* list, const char* show) { return Text(Field(row, {list, show})).value_or(""); };
  const std::string role = get("Role", "role"), user = get("User", "user"), group = get("Group", "group"),
                    project = get("Project", "project"), domain = get("Domain", "domain"),
                    system = get("System", "system");
  const bool inherited = Bool(Field(row, {"Inherited", "inherited"})).value_or(false);
  if (role.empty()) return "role assignment without Role";
  if (user.empty() == group.empty()) return "role assignment needs exactly one of User and Group";
  std::string scope, scope_value;
  if (!project.empty()) scope = "project", scope_value = project;
  else if (!domain.empty()) scope = "domain", scope_value = domain;
  else if (!system.empty()) scope = "system", scope_value = system;
  else return "role assignment without Project, Domain or System";
  r->native_type = "OS::Keystone::RoleAssignment";
  r->type = "role_assignment";
  r->tenant = scope == "project" ? project : "";
  r->name = role + " " + (user.empty() ? "group " + group : user) + " " + scope + " " + scope_value;
  *id = role + "|" + (user.empty() ? "group:" + group : "user:" + user) + "|" + scope + ":" + scope_value +
        (inherited ? "|inherited" : "");
  Attrs& a = r->attrs;
  a.emplace("principal", user.empty() ? group : user);
  a.emplace("principal_kind", user.empty() ? "group" : "user");
  a.emplace("role", role);
  a.emplace("scope", scope);
  a.emplace("privileged", int64_t{PrivilegedRoleName(role)});
  return std::nullopt;
}

struct OpenstackKind {
  std::string_view kind;
  RowFn fn;
};

constexpr std::array<OpenstackKind, 7> kOpenstackKinds = {{
    {"server", ServerRow},
    {"security-group", SecurityGroupRow},
    {"security-group-rule", SecurityGroupRuleRow},
    {"volume", VolumeRow},
    {"image", ImageRow},
    {"user", UserRow},
    {"role-assignment", RoleAssignmentRow},
}};

}  // namespace

bool IsPublicAddress(std::string_view address) {
  if (address.empty() || address.size() > 64) return false;
  std::string s(address);
  if (const size_t pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // fe80::1%eth0
  unsigned char a[16];
  if (inet_pton(AF_INET, s.c_str(), a) == 1) return IsPublicV4(a);
  if (inet_pton(AF_INET6, s.c_str(), a) != 1) return false;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, a)) return IsPublicV4(a + 12);
  return (a[0] & 0xE0) == 0x20;  // 2000::/3 global unicast; ::1, fe80::/10, fc00::/7, ff00::/8 are not
}

Result<ImportResult> ImportNdjson(std::string_view text, const ImportOptions& options) {
  RETURN_IF_ERROR(CheckBounds(text, options, "ndjson"));
  Sink sink(options);
  const JsonLimits limits{options.max_bytes, kMaxDepth};
  size_t pos = 0;
  int line_no = 0;
  if (text.starts_with("\xEF\xBB\xBF")) pos = 3;  // a UTF-8 byte order mark
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    line = Trim(line);
    if (line.empty()) continue;
    auto parsed = ParseJson(line, limits);
    if (!parsed.ok()) {
      sink.Problem(line_no, "", "not a JSON object: " + parsed.error().message + "; skipped");
      continue;
    }
    Resource r;
    r.collected_unix = options.collected_unix;
    if (auto e = NdjsonResource(*parsed, options, &r)) {
      sink.Problem(line_no, std::move(e->pointer), std::move(e->message) + "; line skipped");
      continue;
    }
    r.raw.assign(line);
    RETURN_IF_ERROR(sink.Add(std::move(r), line_no, {}));
  }
  return std::move(sink).Finish();
}

Result<ImportResult> ImportKubectl(std::string_view json, const ImportOptions& options) {
  RETURN_IF_ERROR(CheckBounds(json, options, "kubectl"));
  RETURN_IF_ERROR(NeedPlatform(options, "kubectl"));
  auto parsed = ParseJson(json, JsonLimits{options.max_bytes, kMaxDepth});
  if (!parsed.ok()) {
    return MakeError(parsed.error().code, "kubectl: not the JSON of `kubectl get … -o json`: " + parsed.error().message);
  }
  const Json& doc = *parsed;
  if (!doc.is_object()) return MakeError(ErrorCode::kInvalidArgument, "kubectl: expected a List object or a single object");
  std::vector<std::pair<const Json*, std::string>> items;
  const Json* list = Path(doc, {"items"});
  const auto doc_kind = StrAt(doc, {"kind"}).value_or("");
  if (list != nullptr && (doc_kind.empty() || doc_kind.ends_with("List"))) {
    if (!list->is_array()) return MakeError(ErrorCode::kInvalidArgument, "kubectl: items is not an array");
    if (list->size() > options.max_resources) {
      return MakeError(ErrorCode::kResourceExhausted, "kubectl: " + std::to_string(list->size()) +
                                                          " items, over the limit of " +
                                                          std::to_string(options.max_resources) + " resources");
    }
    for (size_t i = 0; i < list->size(); ++i) items.emplace_back(&(*list)[i], Pointer("/items", i));
  } else if (!doc_kind.empty()) {
    items.emplace_back(&doc, "");
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "kubectl: neither a List with items nor an object with a kind");
  }
  K8sContext ctx;
  for (const auto& [item, ptr] : items) {
    if (!item->is_object()) continue;
    const auto kind = StrAt(*item, {"kind"}).value_or("");
    const auto name = StrAt(*item, {"metadata", "name"}).value_or("");
    const auto ns = StrAt(*item, {"metadata", "namespace"}).value_or("");
    if (kind == "NetworkPolicy") {
      ctx.has_network_policies = true;
      ++ctx.network_policies[ns];
    } else if (kind == "ClusterRole" && GrantsWildcardVerb(*item)) {
      ctx.wildcard_cluster_roles.insert(name);
    } else if (kind == "Role" && GrantsWildcardVerb(*item)) {
      ctx.wildcard_roles.insert(ns + "/" + name);
    }
  }
  Sink sink(options);
  for (const auto& [item, ptr] : items) RETURN_IF_ERROR(K8sItem(*item, ptr, ctx, options, sink));
  return std::move(sink).Finish();
}

Result<ImportResult> ImportOpenstack(std::string_view json, std::string_view kind, const ImportOptions& options) {
  const OpenstackKind* k = nullptr;
  for (const auto& candidate : kOpenstackKinds) {
    if (candidate.kind == kind) k = &candidate;
  }
  if (k == nullptr) {
    std::string names;
    for (const auto& c : kOpenstackKinds) names.append(names.empty() ? "" : ", ").append(c.kind);
    return MakeError(ErrorCode::kInvalidArgument, "openstack: unknown kind \"" + std::string(kind) + "\" (kinds: " + names + ")");
  }
  const std::string what = "openstack " + std::string(kind);
  RETURN_IF_ERROR(CheckBounds(json, options, what));
  RETURN_IF_ERROR(NeedPlatform(options, what));
  auto parsed = ParseJson(json, JsonLimits{options.max_bytes, kMaxDepth});
  if (!parsed.ok()) {
    return MakeError(parsed.error().code, what + ": not the JSON of `openstack … -f json`: " + parsed.error().message);
  }
  const Json& doc = *parsed;
  std::vector<std::pair<const Json*, std::string>> rows;
  if (doc.is_array()) {
    if (doc.size() > options.max_resources) {
      return MakeError(ErrorCode::kResourceExhausted, what + ": " + std::to_string(doc.size()) +
                                                          " rows, over the limit of " +
                                                          std::to_string(options.max_resources) + " resources");
    }
    for (size_t i = 0; i < doc.size(); ++i) rows.emplace_back(&doc[i], Pointer("", i));
  } else if (doc.is_object()) {
    rows.emplace_back(&doc, "");
  } else {
    return MakeError(ErrorCode::kInvalidArgument, what + ": expected a JSON array (list) or object (show)");
  }
  Sink sink(options);
  for (const auto& [row, ptr] : rows) {
    if (!row->is_object()) {
      sink.Problem(0, ptr, "a row must be an object, not " + JsonTypeName(*row) + "; skipped");
      continue;
    }
    Resource r;
    std::string native_id;
    if (auto e = k->fn(*row, options, &r, &native_id)) {
      sink.Problem(0, ptr, *e + "; skipped");
      continue;
    }
    r.platform = options.platform;
    r.region = options.region;
    r.collected_unix = options.collected_unix;
    r.uid = r.platform + "/" + r.type + "/" + native_id;
    r.raw = Compact(*row);
    RETURN_IF_ERROR(sink.Add(std::move(r), 0, ptr));
  }
  return std::move(sink).Finish();
}

std::vector<std::string> ImportFormats() {
  std::vector<std::string> out = {"ndjson", "kubectl"};
  for (const auto& k : kOpenstackKinds) out.push_back("openstack-" + std::string(k.kind));
  return out;
}

Result<ImportResult> Import(std::string_view format, std::string_view text, const ImportOptions& options) {
  if (format == "ndjson") return ImportNdjson(text, options);
  if (format == "kubectl") return ImportKubectl(text, options);
  if (format.starts_with("openstack-")) {
    const std::string_view kind = format.substr(10);
    for (const auto& k : kOpenstackKinds) {
      if (k.kind == kind) return ImportOpenstack(text, kind, options);
    }
  }
  std::string names;
  for (const auto& f : ImportFormats()) names.append(names.empty() ? "" : ", ").append(f);
  return MakeError(ErrorCode::kInvalidArgument, "unknown inventory format \"" + std::string(format) + "\" (formats: " + names + ")");
}

}  // namespace cloudpact::assess
