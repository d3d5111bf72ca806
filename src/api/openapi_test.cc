// docs/openapi.yaml against the server. The document must be well formed and complete
// (summaries, unique operationIds, error responses, declared path parameters, examples that
// match their schemas); every operation it documents must be routed by the server, answer
// with a documented status and a body that matches the documented schema; and every route
// the code serves (kCodeRoutes) must be documented. Adding a route without documenting it,
// or documenting one the server does not have, fails here.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "access/access.h"
#include "api/accounts.h"
#include "api/api.h"
#include "api/assess_routes.h"
#include "api/governance.h"
#include "api/ingest_routes.h"
#include "assess/assessor.h"
#include "assess/catalog.h"
#include "assess/checks.h"
#include "assess/importers.h"
#include "core/encoding.h"
#include "core/time.h"
#include "core/yaml.h"
#include "crypto/ed25519.h"
#include "crypto/seal.h"
#include "directory/directory.h"
#include "gateway/credentials.h"
#include "gateway/gateway.h"
#include "gateway/recording.h"
#include "testing/backends.h"

namespace cloudpact::api {
namespace {

// Every (method, path template) the code serves. src/api/api.cc: the ledger, tokens,
// health and metrics; src/api/governance.cc: directory, policy, access, posture and
// sign-in; src/api/gateway_routes.cc: the O&M gateway; src/api/ingest_routes.cc: log
// ingestion and findings; src/api/assess_routes.cc: continuous assessment. Parameter names need not match the
// document's; only their positions count.
struct CodeRoute {
  const char* method;
  const char* path;
};
constexpr CodeRoute kCodeRoutes[] = {
    // api.cc
    {"GET", "/healthz"},
    {"GET", "/metrics"},
    {"GET", "/ledger/checkpoint"},
    {"GET", "/ledger/tile/{level}/{index}"},
    {"GET", "/ledger/tile/{level}/{index}.p/{width}"},
    {"GET", "/ledger/tile/entries/{index}"},
    {"GET", "/ledger/tile/entries/{index}.p/{width}"},
    {"GET", "/v1/ledger/info"},
    {"POST", "/v1/ledger/entries"},
    {"GET", "/v1/ledger/entries/{index}"},
    {"DELETE", "/v1/ledger/entries/{index}/confidential"},
    {"GET", "/v1/ledger/proof/inclusion"},
    {"GET", "/v1/ledger/proof/consistency"},
    {"POST", "/v1/ledger/cosignatures"},
    {"POST", "/v1/tokens"},
    // governance.cc: directory (GET /v1/directory/{kind} and /{kind}/{id} for six kinds)
    {"POST", "/v1/directory/apply"},
    {"GET", "/v1/directory/platforms"},
    {"GET", "/v1/directory/platforms/{id}"},
    {"GET", "/v1/directory/resources"},
    {"GET", "/v1/directory/resources/{id}"},
    {"GET", "/v1/directory/staff"},
    {"GET", "/v1/directory/staff/{id}"},
    {"GET", "/v1/directory/tenants"},
    {"GET", "/v1/directory/tenants/{id}"},
    {"GET", "/v1/directory/approvers"},
    {"GET", "/v1/directory/approvers/{id}"},
    {"GET", "/v1/directory/auditors"},
    {"GET", "/v1/directory/auditors/{id}"},
    // policy
    {"GET", "/v1/policy"},
    {"POST", "/v1/policy"},
    {"GET", "/v1/policy/{version}"},
    {"POST", "/v1/policy/{version}/approve"},
    {"POST", "/v1/policy/{version}/reject"},
    // access requests, reviews, break-glass, review campaigns, uses, decisions
    {"GET", "/v1/access/requests"},
    {"POST", "/v1/access/requests"},
    {"GET", "/v1/access/requests/{id}"},
    {"POST", "/v1/access/requests/{id}/reviews"},
    {"POST", "/v1/access/requests/{id}/revoke"},
    {"POST", "/v1/access/breakglass"},
    {"GET", "/v1/access/campaigns"},
    {"POST", "/v1/access/campaigns"},
    {"GET", "/v1/access/campaigns/{id}"},
    {"POST", "/v1/access/campaigns/{id}/decisions"},
    {"POST", "/v1/access/uses"},
    {"POST", "/v1/authz/check"},
    // posture and tenant transparency
    {"GET", "/v1/posture"},
    {"GET", "/v1/tenants/{tenant}/access-log"},
    // sign-in and accounts (docs/SIGNIN.md)
    {"POST", "/v1/auth/signin"},
    {"POST", "/v1/auth/signout"},
    {"GET", "/v1/auth/me"},
    {"POST", "/v1/auth/approver-key"},
    {"POST", "/v1/auth/totp"},
    {"POST", "/v1/auth/totp/confirm"},
    {"POST", "/v1/accounts/{id}/password"},
    {"POST", "/v1/accounts/{id}/unlock"},
    // gateway_routes.cc: sessions, held commands, exec, target credentials
    {"GET", "/v1/sessions"},
    {"GET", "/v1/sessions/reviews"},
    {"GET", "/v1/sessions/{id}"},
    {"GET", "/v1/sessions/{id}/recording"},
    {"POST", "/v1/sessions/{id}/terminate"},
    {"POST", "/v1/sessions/{id}/commands/{seq}/review"},
    {"POST", "/v1/exec"},
    {"GET", "/v1/targets/{id}/credentials"},
    {"POST", "/v1/targets/{id}/credentials"},
    // ingest_routes.cc: audit-log pushes, findings and event evidence
    {"POST", "/v1/ingest"},
    {"GET", "/v1/ingest/sources"},
    {"GET", "/v1/ingest/batches/{batch}/events/{index}"},
    {"GET", "/v1/findings"},
    {"GET", "/v1/findings/{id}"},
    // assess_routes.cc: continuous assessment (docs/ASSESS.md)
    {"GET", "/v1/assess/catalogs"},
    {"GET", "/v1/assess/catalogs/{id}/oscal"},
    {"GET", "/v1/assess/checks"},
    {"POST", "/v1/assess/imports"},
    {"GET", "/v1/assess/imports"},
    {"POST", "/v1/assess/runs"},
    {"GET", "/v1/assess/runs"},
    {"GET", "/v1/assess/runs/{id}"},
    {"GET", "/v1/assess/runs/{id}/scorecard"},
    {"GET", "/v1/assess/runs/{id}/report"},
    {"GET", "/v1/assess/runs/{id}/document"},
    {"GET", "/v1/assess/diff"},
    {"POST", "/v1/assess/attestations"},
    {"GET", "/v1/assess/attestations"},
    {"POST", "/v1/assess/exceptions"},
    {"GET", "/v1/assess/exceptions"},
    {"GET", "/v1/assess/tenant-reports/{tenant}"},
};

// --- the document --------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Json> LoadSpec() {
  std::string text = ReadFile(std::string(CLOUDPACT_SOURCE_DIR) + "/docs/openapi.yaml");
  if (text.empty()) return MakeError(ErrorCode::kNotFound, "docs/openapi.yaml is missing or empty");
  ASSIGN_OR_RETURN(YamlDocument doc, ParseYaml(text));
  return std::move(doc.value);
}

struct Operation {
  std::string method;  // upper case
  std::string path;    // the template, as documented
  const Json* op;
  const Json* path_item;
  std::string Name() const { return method + " " + path; }
};

std::vector<Operation> Operations(const Json& spec) {
  std::vector<Operation> out;
  if (!spec.contains("paths") || !spec["paths"].is_object()) return out;
  for (const auto& [path, item] : spec["paths"].items()) {
    if (!item.is_object()) continue;
    for (const char* m : {"get", "put", "post", "delete", "patch", "head", "options", "trace"}) {
      if (!item.contains(m)) continue;
      std::string upper = m;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.push_back({upper, path, &item[m], &item});
    }
  }
  return out;
}

// "/a/{x}/b/{y}.p/{z}" -> "/a/{}/b/{}.p/{}": templates compare by shape, not by names.
std::string Shape(const std::string& path) {
  return std::regex_replace(path, std::regex(R"(\{[^}/]*\})"), "{}");
}

std::vector<std::string> TemplateNames(const std::string& path) {
  std::vector<std::string> out;
  std::regex re(R"(\{([^}/]*)\})");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// Follows local "$ref"s; nullptr if one does not resolve.
const Json* Resolve(const Json& spec, const Json& v) {
  const Json* cur = &v;
  for (int hops = 0; cur->is_object() && cur->contains("$ref"); ++hops) {
    if (hops > 16 || !(*cur)["$ref"].is_string()) return nullptr;
    std::string ref = (*cur)["$ref"].get<std::string>();
    if (ref.rfind("#/", 0) != 0) return nullptr;
    Json::json_pointer ptr(ref.substr(1));
    if (!spec.contains(ptr)) return nullptr;
    cur = &spec.at(ptr);
  }
  return cur;
}

void CollectRefs(const Json& v, const std::string& where, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) {
      if (k == "$ref" && child.is_string()) out.push_back({where, child.get<std::string>()});
      else CollectRefs(child, JsonPointerAppend(where, k), out);
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) CollectRefs(v[i], JsonPointerAppend(where, std::to_string(i)), out);
  }
}

// The operation's parameters: the path item's, overridden by the operation's (by name and in).
std::vector<const Json*> Parameters(const Json& spec, const Operation& o) {
  std::map<std::pair<std::string, std::string>, const Json*> by_key;
  for (const Json* source : {o.path_item, o.op}) {
    if (!source->contains("parameters")) continue;
    for (const auto& p : (*source)["parameters"]) {
      const Json* r = Resolve(spec, p);
      if (!r || !r->is_object()) continue;
      by_key[{r->value("name", ""), r->value("in", "")}] = r;
    }
  }
  std::vector<const Json*> out;
  for (const auto& [_, p] : by_key) out.push_back(p);
  return out;
}

// Operations with credentials required; an empty requirement ({}) makes them optional.
bool RequiresAuth(const Operation& o) {
  if (!o.op->contains("security")) return false;
  const Json& s = (*o.op)["security"];
  if (!s.is_array() || s.empty()) return false;
  for (const auto& req : s) {
    if (req.is_object() && req.empty()) return false;
  }
  return true;
}

// --- a small JSON Schema (OpenAPI 3.0 dialect) checker -----------------------------------
//
// Strict about objects: a member the schema does not name is a problem unless the schema
// allows additional properties, so that the document lists everything the server sends.
class SchemaChecker {
 public:
  explicit SchemaChecker(const Json& spec) : spec_(spec) {}

  std::vector<std::string> Check(const Json& schema, const Json& value) {
    problems_.clear();
    Validate(schema, value, "$", true);
    return problems_;
  }

 private:
  void Problem(const std::string& where, const std::string& what) { problems_.push_back(where + ": " + what); }

  // Names of the properties an object schema declares, through allOf; true if it allows others.
  bool Declared(const Json& schema, std::set<std::string>& names) {
    const Json* s = Resolve(spec_, schema);
    if (!s || !s->is_object()) return true;
    // A schema that names no members at all ({}, or just a description) allows anything.
    if (!s->contains("properties") && !s->contains("allOf") && !s->contains("additionalProperties")) return true;
    bool open = false;
    if (s->contains("properties")) {
      for (const auto& [k, _] : (*s)["properties"].items()) names.insert(k);
    }
    if (s->contains("additionalProperties")) {
      const Json& a = (*s)["additionalProperties"];
      open |= !(a.is_boolean() && !a.get<bool>());
    }
    if (s->contains("allOf")) {
      for (const auto& sub : (*s)["allOf"]) open |= Declared(sub, names);
    }
    for (const char* any : {"oneOf", "anyOf"}) open |= s->contains(any);
    return open;
  }

  std::vector<std::string> Mismatches(const Json& schema, const Json& value) {
    SchemaChecker sub(spec_);
    return sub.Check(schema, value);
  }

  static bool TypeIs(const std::string& type, const Json& v) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    return false;
  }

  void Validate(const Json& schema_in, const Json& v, const std::string& where, bool check_unknown) {
    const Json* sp = Resolve(spec_, schema_in);
    if (!sp) return Problem(where, "unresolvable $ref in schema");
    const Json& s = *sp;
    if (!s.is_object()) return;
    if (v.is_null() && s.value("nullable", false)) return;

    if (s.contains("allOf")) {
      for (const auto& sub : s["allOf"]) Validate(sub, v, where, false);
    }
    for (const char* key : {"oneOf", "anyOf"}) {
      if (!s.contains(key)) continue;
      int n = 0;
      std::string why;
      for (const auto& sub : s[key]) {
        auto m = Mismatches(sub, v);
        n += m.empty();
        for (const auto& p : m) why += " [" + p + "]";
      }
      if (std::string(key) == "oneOf" ? n != 1 : n == 0) {
        Problem(where, std::string("matches ") + std::to_string(n) + " of the " + key + " alternatives:" + why);
      }
    }
    if (s.contains("type") && !TypeIs(s["type"].get<std::string>(), v)) {
      return Problem(where, "expected " + s["type"].get<std::string>() + ", got " + v.dump().substr(0, 80));
    }
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found |= e == v;
      if (!found) Problem(where, v.dump().substr(0, 80) + " is not one of " + s["enum"].dump());
    }
    if (v.is_string()) {
      const std::string str = v.get<std::string>();
      if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) {
        Problem(where, "\"" + str.substr(0, 80) + "\" does not match " + s["pattern"].get<std::string>());
      }
      if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>()) Problem(where, "shorter than minLength");
      if (s.contains("maxLength") && str.size() > s["maxLength"].get<size_t>()) Problem(where, "longer than maxLength");
      if (s.value("format", "") == "byte" && !Base64Decode(str).ok()) Problem(where, "not base64");
    }
    if (v.is_number()) {
      if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>()) Problem(where, v.dump() + " below minimum");
      if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>()) Problem(where, v.dump() + " above maximum");
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) Problem(where, "fewer than minItems");
      if (s.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i) Validate(s["items"], v[i], where + "[" + std::to_string(i) + "]", true);
      }
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const auto& r : s["required"]) {
          if (!v.contains(r.get<std::string>())) Problem(where, "missing required member \"" + r.get<std::string>() + "\"");
        }
      }
      const Json* props = s.contains("properties") ? &s["properties"] : nullptr;
      const Json* extra = s.contains("additionalProperties") && s["additionalProperties"].is_object()
                              ? &s["additionalProperties"] : nullptr;
      std::set<std::string> declared;
      bool open = Declared(s, declared);
      for (const auto& [k, child] : v.items()) {
        std::string at = where + "." + k;
        if (props && props->contains(k)) {
          Validate((*props)[k], child, at, true);
        } else if (extra) {
          Validate(*extra, child, at, true);
        } else if (check_unknown && !open && !declared.count(k)) {
          Problem(at, "member not in the documented schema");
        }
      }
    }
  }

  const Json& spec_;
  std::vector<std::string> problems_;
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

bool HasNonAscii(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}
bool HasAsciiLetter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

class OpenApiDocument : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = LoadSpec();
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    spec_ = std::move(spec).value();
    ops_ = Operations(spec_);
    ASSERT_FALSE(ops_.empty()) << "docs/openapi.yaml documents no operations";
  }
  Json spec_;
  std::vector<Operation> ops_;
};

TEST_F(OpenApiDocument, IsOpenApi303WithInfo) {
  ASSERT_TRUE(spec_.contains("openapi") && spec_["openapi"].is_string());
  EXPECT_EQ(spec_["openapi"].get<std::string>().rfind("3.0.", 0), 0u) << spec_["openapi"];
  ASSERT_TRUE(spec_.contains("info"));
  EXPECT_FALSE(spec_["info"].value("title", "").empty());
  EXPECT_FALSE(spec_["info"].value("version", "").empty());
  ASSERT_TRUE(spec_.contains("components") && spec_["components"].contains("securitySchemes"));
  const Json& schemes = spec_["components"]["securitySchemes"];
  bool bearer = false, cookie = false, csrf = false;
  for (const auto& [_, s] : schemes.items()) {
    bearer |= s.value("type", "") == "http" && s.value("scheme", "") == "bearer";
    cookie |= s.value("type", "") == "apiKey" && s.value("in", "") == "cookie" &&
              s.value("name", "") == std::string(kSessionCookieName);
    csrf |= s.value("type", "") == "apiKey" && s.value("in", "") == "header" && s.value("name", "") == "X-CSRF-Token";
  }
  EXPECT_TRUE(bearer) << "no bearer security scheme";
  EXPECT_TRUE(cookie) << "no cookie security scheme for " << kSessionCookieName;
  EXPECT_TRUE(csrf) << "no X-CSRF-Token security scheme";
}

TEST_F(OpenApiDocument, EveryReferenceResolves) {
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(spec_, "", refs);
  EXPECT_FALSE(refs.empty());
  for (const auto& [where, ref] : refs) {
    Json holder = {{"$ref", ref}};
    EXPECT_NE(Resolve(spec_, holder), nullptr) << where << ": unresolved " << ref;
  }
}

TEST_F(OpenApiDocument, EveryOperationIsComplete) {
  std::set<std::string> ids;
  const Json error_ref = {{"$ref", "#/components/schemas/Error"}};
  const Json* error_schema = Resolve(spec_, error_ref);
  ASSERT_NE(error_schema, nullptr) << "components.schemas.Error is missing";
  for (const auto& o : ops_) {
    SCOPED_TRACE(o.Name());
    const Json& op = *o.op;
    // Summary in Chinese and English: "提交访问申请 / Create an access request".
    std::string summary = op.value("summary", "");
    EXPECT_FALSE(summary.empty()) << "no summary";
    EXPECT_NE(summary.find(" / "), std::string::npos) << "summary is not \"中文 / English\": " << summary;
    EXPECT_TRUE(HasNonAscii(summary) && HasAsciiLetter(summary)) << "summary is not bilingual: " << summary;
    // operationId: present, an identifier, unique.
    std::string id = op.value("operationId", "");
    EXPECT_TRUE(std::regex_match(id, std::regex("[a-z][A-Za-z0-9]*"))) << "bad operationId \"" << id << "\"";
    EXPECT_TRUE(ids.insert(id).second) << "duplicate operationId " << id;
    // Security is stated on every operation, so that nothing is public by omission.
    EXPECT_TRUE(op.contains("security") && op["security"].is_array()) << "no explicit security";
    // Responses: a success, descriptions, JSON bodies with schemas, errors with Error.
    ASSERT_TRUE(op.contains("responses") && op["responses"].is_object() && !op["responses"].empty());
    bool success = false;
    for (const auto& [status, resp_in] : op["responses"].items()) {
      const Json* resp = Resolve(spec_, resp_in);
      ASSERT_NE(resp, nullptr) << status;
      EXPECT_TRUE(std::regex_match(status, std::regex("[1-5][0-9][0-9]|default"))) << status;
      success |= status[0] == '2';
      EXPECT_FALSE(resp->value("description", "").empty()) << status << ": no description";
      if (resp->contains("content")) {
        for (const auto& [type, media] : (*resp)["content"].items()) {
          EXPECT_TRUE(media.contains("schema")) << status << " " << type << ": no schema";
        }
      }
      if (status[0] == '4' || status[0] == '5') {
        const Json* schema = resp->contains("content") && (*resp)["content"].contains("application/json")
                                 ? Resolve(spec_, (*resp)["content"]["application/json"].value("schema", Json()))
                                 : nullptr;
        EXPECT_EQ(schema, error_schema) << status << ": an error response must use #/components/schemas/Error";
      }
    }
    EXPECT_TRUE(success) << "no 2xx response";
    if (RequiresAuth(o)) {
      EXPECT_TRUE(op["responses"].contains("401")) << "authenticated, but 401 is not documented";
    }
    // Path parameters: exactly the template's, required, each with an example to probe with.
    std::set<std::string> in_path;
    for (const Json* p : Parameters(spec_, o)) {
      EXPECT_TRUE(p->contains("schema")) << "parameter " << p->value("name", "") << ": no schema";
      if (p->value("in", "") != "path") continue;
      in_path.insert(p->value("name", ""));
      EXPECT_TRUE(p->value("required", false)) << "path parameter " << p->value("name", "") << " not required";
      EXPECT_TRUE(p->contains("example")) << "path parameter " << p->value("name", "") << ": no example";
    }
    auto names = TemplateNames(o.path);
    EXPECT_EQ(in_path, std::set<std::string>(names.begin(), names.end())) << "path parameters do not match the template";
  }
}

// Examples are what people copy: they must match the schemas next to them.
TEST_F(OpenApiDocument, ExamplesMatchTheirSchemas) {
  SchemaChecker checker(spec_);
  int checked = 0;
  for (const auto& o : ops_) {
    SCOPED_TRACE(o.Name());
    for (const Json* p : Parameters(spec_, o)) {
      if (!p->contains("example") || !p->contains("schema")) continue;
      auto problems = checker.Check((*p)["schema"], (*p)["example"]);
      EXPECT_TRUE(problems.empty()) << "parameter " << p->value("name", "") << ":" << Join(problems);
      ++checked;
    }
    if (!o.op->contains("requestBody")) continue;
    const Json* body = Resolve(spec_, (*o.op)["requestBody"]);
    ASSERT_NE(body, nullptr);
    const Json content = body->value("content", Json::object());
    for (const auto& [type, media] : content.items()) {
      if (!media.contains("example") || !media.contains("schema")) continue;
      Json example = media["example"];
      const Json* schema = Resolve(spec_, media["schema"]);
      ASSERT_NE(schema, nullptr);
      // A YAML example of a structured schema is checked as the value it parses to.
      if (schema->value("type", "") != "string" && example.is_string() && type.find("yaml") != std::string::npos) {
        auto doc = ParseYaml(example.get<std::string>());
        ASSERT_TRUE(doc.ok()) << type << " example: " << doc.error().message;
        example = doc->value;
      }
      auto problems = checker.Check(media["schema"], example);
      EXPECT_TRUE(problems.empty()) << type << " example:" << Join(problems);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST_F(OpenApiDocument, EveryRouteOfTheCodeIsDocumented) {
  std::set<std::string> documented, code;
  for (const auto& o : ops_) documented.insert(o.method + " " + Shape(o.path));
  for (const auto& r : kCodeRoutes) {
    std::string key = std::string(r.method) + " " + Shape(r.path);
    EXPECT_TRUE(code.insert(key).second) << "kCodeRoutes lists " << key << " twice";
    EXPECT_TRUE(documented.count(key)) << r.method << " " << r.path << " is served but not in docs/openapi.yaml";
  }
  // And the list is the whole inventory: a documented route missing here is either not
  // served (the probe below fails too) or was added to the code without updating this list.
  for (const auto& d : documented) EXPECT_TRUE(code.count(d)) << d << " is documented but not in kCodeRoutes";
}

// --- the server, in process --------------------------------------------------------------

// On every storage backend: the assessment's checks are SQL that must run on both.
class OpenApiServer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto spec = LoadSpec();
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    spec_ = std::move(spec).value();

    store_ = testing::OpenFresh(GetParam(), "openapi");
    auto l = ledger::Ledger::Open(*store_, crypto::NoteSigner("openapi.test/log", crypto::Ed25519PrivateKey::Generate()), {});
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(l).value();
    auth_ = std::make_unique<Authenticator>(*store_);
    admin_ = auth_->Issue("admin", AllPermissions(), 0)->secret;
    auto d = directory::Directory::Load(*store_, *ledger_);
    ASSERT_TRUE(d.ok()) << d.error().message;
    directory_ = std::move(d).value();
    auto a = access::AccessService::Load(*store_, *ledger_, *directory_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    access_ = std::move(a).value();
    directory_->SetStaffValidator([this](const directory::Staff& s) { return access_->ValidateStaff(s); });

    // The demo policy and directory, as `cloudpact serve --demo` loads them, so that the
    // document's examples (alice, bj-host-01, acme, …) name real records.
    const std::string demo = std::string(CLOUDPACT_SOURCE_DIR) + "/examples/demo/";
    auto pv = access_->ProposePolicy(ReadFile(demo + "policy.yaml"), "demo");
    ASSERT_TRUE(pv.ok()) << pv.error().message;
    std::string dir_yaml = ReadFile(demo + "directory.yaml");
    for (const char* placeholder : {"${ACME_ANN_PUBLIC_KEY}", "${GLOBEX_GUS_PUBLIC_KEY}"}) {
      size_t at = dir_yaml.find(placeholder);
      ASSERT_NE(at, std::string::npos) << placeholder;
      dir_yaml.replace(at, std::string(placeholder).size(), Base64Encode(crypto::Ed25519PrivateKey::Generate().public_key()));
    }
    auto doc = ParseYaml(dir_yaml);
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    auto spec_dir = directory::ParseDirectory(*doc);
    ASSERT_TRUE(spec_dir.ok()) << spec_dir.error().message;
    auto applied = directory_->Apply(*spec_dir, "demo");
    ASSERT_TRUE(applied.ok()) << applied.error().message;
    // The gateway's examples name bj-host-01 as an SSH target: give it an endpoint (never
    // dialled: nobody holds a grant for it here) if the demo does not.
    if (const auto* host = directory_->snapshot()->FindResource("bj-host-01"); host && !host->ssh) {
      directory::DirectorySpec extra;
      extra.resources.push_back(*host);
      extra.resources.back().ssh = directory::SshEndpoint{"127.0.0.1", 22, SshHostKeyLine()};
      auto ssh = directory_->Apply(extra, "demo");
      ASSERT_TRUE(ssh.ok()) << ssh.error().message;
    }
    // Two requests: one on a production host, one on a tenant's data (in its access log).
    access::NewRequest host{{"bj-host-01"}, {"login:root"}, "maintenance", "kernel patch", "CHG-1", 3600};
    auto r1 = access_->CreateRequest("alice", host);
    ASSERT_TRUE(r1.ok()) << r1.error().message;
    request_id_ = r1->id;
    access::NewRequest db{{"acme-db-01"}, {"db:read"}, "customer_support", "ticket from Acme", "SUP-9", 1800};
    auto r2 = access_->CreateRequest("bob", db);
    ASSERT_TRUE(r2.ok()) << r2.error().message;
    auto campaign = access_->StartCampaign("quarterly review", 4102444800, "dave");
    ASSERT_TRUE(campaign.ok()) << campaign.error().message;
    campaign_id_ = campaign->id;
    // An entry with a confidential part, to read and then erase.
    auto secret = ledger_->Append({"test.secret", {{"n", 1}}, "admin", Json{{"note", "for the DPO"}}});
    ASSERT_TRUE(secret.ok()) << secret.error().message;
    confidential_index_ = std::to_string(secret->index);
    ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
    // Operations that only a person can do successfully are called as that person (their
    // token holds every permission; their roles narrow it).
    for (const auto& [op, who] : {std::pair<std::string, std::string>{"POST /v1/access/requests", "alice"},
                                  {"POST /v1/access/breakglass", "olga"},
                                  {"POST /v1/access/requests/{id}/reviews", "erin"},
                                  {"POST /v1/exec", "alice"}}) {
      auto t = auth_->Issue(who, AllPermissions(), 0);
      ASSERT_TRUE(t.ok()) << t.error().message;
      callers_[op] = t->secret;
    }

    auto sealer = crypto::Sealer::FromKey(std::string(32, 's'));
    ASSERT_TRUE(sealer.ok());
    sealer_.emplace(*sealer);
    accounts_ = std::make_unique<Accounts>(*store_, *sealer_,
                                           [this](const std::string& p) { return access_->MfaRequired(p); });
    governance_ = std::make_unique<GovernanceRoutes>(*auth_, *ledger_, *directory_, *access_, 1 << 20);
    governance_->SetAccounts(accounts_.get());
    api_ = std::make_unique<Api>(*ledger_, *auth_, ApiOptions{1 << 20});
    api_->SetGovernance(governance_.get());

    // The O&M gateway, listening on a free loopback port; no test here connects to it.
    const auto gw_dir = testing::TempDir("openapi-gateway");
    credentials_ = std::make_unique<gateway::Credentials>(*store_, *ledger_, *sealer_);
    auto recordings = gateway::OpenRecordingStore(gw_dir / "recordings");
    ASSERT_TRUE(recordings.ok()) << recordings.error().message;
    recordings_ = std::move(recordings).value();
    gateway::GatewayDeps deps;
    deps.store = store_.get();
    deps.ledger = ledger_.get();
    deps.directory = directory_.get();
    deps.access = access_.get();
    deps.credentials = credentials_.get();
    deps.recordings = recordings_.get();
    gateway::GatewayOptions gopts;
    gopts.port = 0;
    gopts.host_key = gw_dir / "ssh-host-key";
    auto gw = gateway::Gateway::Start(deps, gopts);
    ASSERT_TRUE(gw.ok()) << gw.error().message;
    gateway_ = std::move(gw).value();
    gateway_routes_ = std::make_unique<GatewayRoutes>(*governance_, *gateway_, *credentials_, *directory_, 1 << 20);
    api_->SetGateway(gateway_routes_.get());

    correlator_ = std::make_unique<correlation::Correlator>(*directory_, *access_);
    auto pipeline = correlation::Pipeline::Start(*store_, *ledger_, *correlator_);
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().message;
    pipeline_ = std::move(pipeline).value();
    ingest_routes_ = std::make_unique<IngestRoutes>(*governance_, *pipeline_);
    api_->SetIngest(ingest_routes_.get());

    // Continuous assessment over the repository's catalogs and checks. An inventory with
    // failing resources (one of them a line the importer refuses), an attestation, and two
    // complete runs (every catalog, every platform, ledgered) around an exception, so that
    // results, muted results, problems and a diff's changes are all in the answers.
    const std::string catalogs_dir = std::string(CLOUDPACT_SOURCE_DIR) + "/catalogs";
    auto catalogs = assess::LoadCatalogDirectory(catalogs_dir);
    ASSERT_TRUE(catalogs.ok()) << catalogs.error().message;
    auto checks = assess::LoadCheckDirectory(catalogs_dir + "/checks");
    ASSERT_TRUE(checks.ok()) << checks.error().message;
    auto assessor = assess::Assessor::Open(*store_, *ledger_, std::move(catalogs).value(), std::move(checks).value());
    ASSERT_TRUE(assessor.ok()) << assessor.error().message;
    assessor_ = std::move(assessor).value();
    assess_routes_ = std::make_unique<AssessRoutes>(
        *governance_, *assessor_, *directory_, [](const std::string&) { return OkStatus(); },
        [](const std::string&) {}, 1 << 20);
    api_->SetAssess(assess_routes_.get());
    assess::ImportOptions io;
    io.platform = "openstack-bj";
    io.collected_unix = UnixSeconds(SystemNow());
    auto inventory = assess::Import(
        "ndjson",
        "{\"type\":\"volume\",\"id\":\"vol-1\",\"tenant\":\"acme\",\"name\":\"acme-data\",\"attrs\":{\"encrypted\":false}}\n"
        "{\"type\":\"volume\",\"id\":\"vol-2\",\"tenant\":\"globex\",\"attrs\":{\"encrypted\":false}}\n"
        "{\"type\":\"volume\"}\n",
        io);
    ASSERT_TRUE(inventory.ok()) << inventory.error().message;
    auto imported = assessor_->Import("openstack-bj", "ndjson", std::move(inventory).value(), "admin");
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    ASSERT_GT(imported->problems, 0u);
    assess::Attestation att;
    att.catalog = "convention-2023";
    att.requirement = "art-1.2";
    att.owner = "compliance-lead";
    att.approver = "admin";
    att.statement = "filed";
    att.evidence.push_back({"filing.pdf", std::string(64, 'a')});
    att.expires_unix = 4102444800;
    ASSERT_TRUE(assessor_->Attest(att, "admin").ok());
    auto before = assess_routes_->StartRun("", "", "admin");
    ASSERT_TRUE(before.ok()) << before.error().message;
    first_run_id_ = before->id;
    assess::Exception exc;
    exc.check = "volumes_encrypted";
    exc.resource = "*";
    exc.owner = "ops-lead";
    exc.approver = "admin";
    exc.reason = "migration";
    exc.expires_unix = 4102444800;
    ASSERT_TRUE(assessor_->AddException(exc, "admin").ok());
    // vol-1 renamed (its result's reason changes), vol-2 gone (resolved), vol-3 new (added).
    auto renamed = assess::Import(
        "ndjson",
        "{\"type\":\"volume\",\"id\":\"vol-1\",\"tenant\":\"acme\",\"name\":\"acme-archive\",\"attrs\":{\"encrypted\":false}}\n"
        "{\"type\":\"volume\",\"id\":\"vol-3\",\"tenant\":\"acme\",\"attrs\":{\"encrypted\":false}}\n",
        io);
    ASSERT_TRUE(renamed.ok()) << renamed.error().message;
    ASSERT_TRUE(assessor_->Import("openstack-bj", "ndjson", std::move(renamed).value(), "admin").ok());
    auto run = assess_routes_->StartRun("", "", "admin");
    ASSERT_TRUE(run.ok()) << run.error().message;
    ASSERT_TRUE(run->ledgered) << "the run's reports are withheld until it is ledgered";
    run_id_ = run->id;
  }

  // An OpenSSH public key line for a fresh Ed25519 key (RFC 8709 wire format).
  static std::string SshHostKeyLine() {
    auto field = [](const std::string& s) {
      std::string out(4, '\0');
      for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((s.size() >> (24 - 8 * i)) & 0xff);
      return out + s;
    };
    return "ssh-ed25519 " + Base64Encode(field("ssh-ed25519") + field(crypto::Ed25519PrivateKey::Generate().public_key()));
  }

  // A value for a path or query parameter: the test's own for records it made, else the
  // document's example.
  std::string Sample(const Operation& o, const Json& param) {
    std::string name = param.value("name", "");
    if (o.path.rfind("/v1/access/requests/{", 0) == 0 && name == "id") return request_id_;
    if (o.path.rfind("/v1/access/campaigns/{", 0) == 0 && name == "id") return campaign_id_;
    if (o.path.rfind("/v1/ledger/entries/{", 0) == 0 && name == "index") return confidential_index_;
    if (o.path.rfind("/v1/assess/runs/{", 0) == 0 && name == "id") return run_id_;
    if (o.path == "/v1/assess/diff" && name == "from") return first_run_id_;
    if (o.path == "/v1/assess/diff" && name == "to") return run_id_;
    const Json& e = param.contains("example") ? param["example"] : Json("x");
    return e.is_string() ? e.get<std::string>() : e.dump();
  }

  Request Build(const Operation& o, bool with_token) {
    Request r;
    r.method = o.method;
    r.path = o.path;
    r.remote = "127.0.0.1";
    for (const Json* p : Parameters(spec_, o)) {
      std::string in = p->value("in", "");
      std::string value = Sample(o, *p);
      if (in == "path") {
        std::string token = "{" + p->value("name", "") + "}";
        for (size_t at; (at = r.path.find(token)) != std::string::npos;) r.path.replace(at, token.size(), value);
      } else if (in == "query" && p->value("required", false)) {
        r.query[p->value("name", "")] = value;
      }
    }
    if (with_token) {
      auto caller = callers_.find(o.Name());
      r.headers["authorization"] = "Bearer " + (caller == callers_.end() ? admin_ : caller->second);
    }
    if (o.op->contains("requestBody")) {
      const Json* body = Resolve(spec_, (*o.op)["requestBody"]);
      const Json content = body ? body->value("content", Json::object()) : Json::object();
      std::string type = content.contains("application/json") ? "application/json"
                         : content.empty()                     ? ""
                                                               : content.begin().key();
      if (!type.empty()) {
        r.headers["content-type"] = type;
        const Json& media = content[type];
        if (media.contains("example")) {
          r.body = media["example"].is_string() && type != "application/json" ? media["example"].get<std::string>()
                                                                              : media["example"].dump();
        } else if (type == "application/json") {
          r.body = "{}";
        }
      }
    }
    return r;
  }

  Response Send(const Request& r) {
    auto promise = std::make_shared<std::promise<Response>>();
    auto future = promise->get_future();
    api_->Handle(r, [promise](Response res) { promise->set_value(std::move(res)); });
    if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << r.method << " " << r.path << ": no response within 20 s";
      return Response{599, "", "", {}};
    }
    return future.get();
  }

  static std::string ErrorMessage(const Response& res) {
    auto j = ParseJson(res.body);
    if (!j.ok() || !j->is_object() || !j->contains("error")) return "";
    return (*j)["error"].value("message", "");
  }

  // The server knows the route: not "no route for …" and not a wrong method.
  static bool Routed(const Response& res) {
    return !(res.status == 404 && ErrorMessage(res).rfind("no route for", 0) == 0) && res.status != 405;
  }

  // The answer is documented: its status, its content type, and its JSON body's schema.
  void ExpectDocumented(const Operation& o, const Request& req, const Response& res) {
    const std::string what = o.Name() + " (sent " + req.method + " " + req.path + ")";
    const Json& responses = (*o.op)["responses"];
    std::string status = std::to_string(res.status);
    const Json* resp = responses.contains(status)   ? Resolve(spec_, responses[status])
                       : responses.contains("default") ? Resolve(spec_, responses["default"])
                                                       : nullptr;
    if (!resp) {
      ADD_FAILURE() << what << ": status " << status << " is not documented; body: " << res.body.substr(0, 300);
      return;
    }
    if (!resp->contains("content") || (*resp)["content"].empty()) {
      EXPECT_TRUE(res.body.empty()) << what << ": documented without a body, but the server sent " << res.body.substr(0, 200);
      return;
    }
    std::string media = res.content_type.substr(0, res.content_type.find(';'));
    const Json& content = (*resp)["content"];
    if (!content.contains(media)) {
      ADD_FAILURE() << what << ": " << status << " answered as " << res.content_type << ", documented as "
                    << content.dump().substr(0, 200);
      return;
    }
    if (media != "application/json") return;
    auto body = ParseJson(res.body);
    ASSERT_TRUE(body.ok()) << what << ": not JSON: " << res.body.substr(0, 200);
    SchemaChecker checker(spec_);
    auto problems = checker.Check(content[media]["schema"], *body);
    EXPECT_TRUE(problems.empty()) << what << ": " << status << " body does not match the documented schema:"
                                  << Join(problems) << "\nbody: " << res.body.substr(0, 600);
  }

  Json spec_;
  std::unique_ptr<storage::Storage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<access::AccessService> access_;
  std::optional<crypto::Sealer> sealer_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<GovernanceRoutes> governance_;
  std::unique_ptr<Api> api_;
  // Declared after what the gateway uses, so that it stops first.
  std::unique_ptr<gateway::Credentials> credentials_;
  std::unique_ptr<gateway::RecordingStore> recordings_;
  std::unique_ptr<gateway::Gateway> gateway_;
  std::unique_ptr<GatewayRoutes> gateway_routes_;
  std::unique_ptr<correlation::Correlator> correlator_;
  std::unique_ptr<correlation::Pipeline> pipeline_;
  std::unique_ptr<IngestRoutes> ingest_routes_;
  std::unique_ptr<assess::Assessor> assessor_;
  std::unique_ptr<AssessRoutes> assess_routes_;
  std::string admin_;
  std::string request_id_;
  std::string campaign_id_;
  std::string confidential_index_;
  std::string first_run_id_;  // before the exception
  std::string run_id_;        // after it: the newest complete run
  std::map<std::string, std::string> callers_;  // "METHOD /template" -> token
};

// Without credentials, an operation that needs them is refused with a documented 401 —
// which also shows the route exists and that the document's security is not too lax.
TEST_P(OpenApiServer, AuthenticatedOperationsRefuseAnonymousCallers) {
  int probed = 0;
  for (const auto& o : Operations(spec_)) {
    if (!RequiresAuth(o)) continue;
    Request req = Build(o, /*with_token=*/false);
    Response res = Send(req);
    EXPECT_TRUE(Routed(res)) << o.Name() << ": the server has no such route (" << res.status << " " << res.body << ")";
    if (!Routed(res)) continue;
    EXPECT_EQ(res.status, 401) << o.Name() << " answered an anonymous caller: " << res.body.substr(0, 200);
    ExpectDocumented(o, req, res);
    ++probed;
  }
  EXPECT_GT(probed, 30);
}

// Every documented operation, called with the document's examples (as an administrator's
// service token, or as the demo person who can do it), is routed and answers as documented.
TEST_P(OpenApiServer, EveryDocumentedOperationIsRoutedAndAnswersAsDocumented) {
  std::vector<std::string> unrouted;
  for (const auto& o : Operations(spec_)) {
    Request req = Build(o, /*with_token=*/true);
    Response res = Send(req);
    if (!Routed(res)) {
      unrouted.push_back(o.Name() + " -> " + std::to_string(res.status) + " " + ErrorMessage(res));
      continue;
    }
    ExpectDocumented(o, req, res);
  }
  EXPECT_TRUE(unrouted.empty()) << "documented in docs/openapi.yaml but not routed by the server:" << Join(unrouted);
}

// The optional formats of the assessment's reports, which the probe above (sending only
// required parameters) does not ask for: each answers as documented.
TEST_P(OpenApiServer, AssessmentReportsAnswerAsDocumentedInEveryFormat) {
  const auto ops = Operations(spec_);
  auto find = [&](const std::string& path) -> const Operation* {
    for (const auto& o : ops) {
      if (o.method == "GET" && o.path == path) return &o;
    }
    return nullptr;
  };
  const Operation* report = find("/v1/assess/runs/{id}/report");
  const Operation* tenant = find("/v1/assess/tenant-reports/{tenant}");
  ASSERT_NE(report, nullptr);
  ASSERT_NE(tenant, nullptr);
  for (const char* format : {"html", "oscal", "ocsf", "csv", "sarif", "pdf"}) {
    Request req = Build(*report, true);
    req.query["format"] = format;
    Response res = Send(req);
    EXPECT_EQ(res.status, std::string(format) == "pdf" ? 400 : 200) << format << ": " << res.body.substr(0, 200);
    ExpectDocumented(*report, req, res);
  }
  for (const char* model : {"iaas", "paas", "saas"}) {
    Request req = Build(*tenant, true);
    req.query["format"] = "json";
    req.query["service_model"] = model;
    Response res = Send(req);
    EXPECT_EQ(res.status, 200) << model << ": " << res.body.substr(0, 200);
    ExpectDocumented(*tenant, req, res);
  }
  // The diff between the two runs: a changed, an added and a resolved result.
  const Operation* diff = find("/v1/assess/diff");
  ASSERT_NE(diff, nullptr);
  Request req = Build(*diff, true);
  Response res = Send(req);
  ASSERT_EQ(res.status, 200) << res.body;
  ExpectDocumented(*diff, req, res);
  auto body = ParseJson(res.body);
  ASSERT_TRUE(body.ok());
  for (const char* part : {"changed", "added", "resolved"}) EXPECT_FALSE((*body)[part].empty()) << part << ": " << res.body.substr(0, 600);
}

INSTANTIATE_TEST_SUITE_P(Backends, OpenApiServer, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::api
