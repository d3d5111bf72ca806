#include "assess/importers.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"

namespace cloudpact::assess {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kData =
    std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "src/assess/testdata/inventory";

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ImportOptions Options(std::string platform = "k8s-bj1") {
  ImportOptions o;
  o.platform = std::move(platform);
  o.region = "cn-north-1";
  o.collected_unix = 1764230400;
  return o;
}

const Resource* ByUid(const ImportResult& r, std::string_view uid) {
  for (const auto& res : r.resources) {
    if (res.uid == uid) return &res;
  }
  return nullptr;
}

// The typed value of a column: "NULL", an integer in decimal, or the text.
std::string Col(const Resource& r, std::string_view col) {
  auto it = r.attrs.find(col);
  if (it == r.attrs.end()) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&it->second)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return "NULL";
}

std::string Problems(const ImportResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += std::to_string(p.line) + " " + p.pointer + " " + p.message + "\n";
  return out;
}

// Every attr of every resource is a column of its type, with the column's SQL type.
void ExpectSchemaConforming(const ImportResult& r) {
  for (const auto& res : r.resources) {
    const TypeSpec* spec = FindType(res.type);
    if (spec == nullptr) {
      EXPECT_TRUE(res.attrs.empty()) << res.uid;
      continue;
    }
    for (const auto& [name, value] : res.attrs) {
      const ColumnSpec* col = nullptr;
      for (const auto& c : spec->columns) {
        if (c.name == name) col = &c;
      }
      ASSERT_NE(col, nullptr) << res.uid << " " << name;
      if (col->type == ColumnType::kText) {
        EXPECT_TRUE(std::holds_alternative<std::string>(value)) << res.uid << " " << name;
      } else {
        ASSERT_TRUE(std::holds_alternative<int64_t>(value)) << res.uid << " " << name;
        if (col->type == ColumnType::kBool) {
          EXPECT_TRUE(std::get<int64_t>(value) == 0 || std::get<int64_t>(value) == 1) << res.uid << " " << name;
        }
      }
    }
    EXPECT_FALSE(res.raw.empty()) << res.uid;
    EXPECT_TRUE(ParseJson(res.raw).ok()) << res.uid;
  }
}

// ---------------- NDJSON ----------------

TEST(ImportNdjson, SampleFile) {
  auto r = ImportNdjson(ReadFile(kData / "inventory.ndjson"), Options(""));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->problems.empty()) << Problems(*r);
  ASSERT_EQ(r->resources.size(), 4u);
  ExpectSchemaConforming(*r);
  const Resource& vm = r->resources[0];
  EXPECT_EQ(vm.uid, "ali-hz/compute_instance/i-bp1f2x7k9q3m5n8r");
  EXPECT_EQ(vm.platform, "ali-hz");
  EXPECT_EQ(vm.native_type, "ACS::ECS::Instance");
  EXPECT_EQ(vm.region, "cn-hangzhou");
  EXPECT_EQ(vm.tenant, "acme");
  EXPECT_EQ(vm.name, "acme-web-1");
  EXPECT_EQ(vm.labels.at("env"), "prod");
  EXPECT_EQ(Col(vm, "public_ip"), "1");
  EXPECT_EQ(Col(vm, "security_groups"), "2");
  EXPECT_EQ(Col(vm, "host"), "NULL");  // null attr is NULL
  EXPECT_EQ(Col(vm, "status"), "running");
  EXPECT_EQ(vm.collected_unix, 1795766400);  // 2026-11-27T08:00:00Z
  EXPECT_EQ(Col(r->resources[1], "encrypted"), "0");
  EXPECT_EQ(r->resources[1].region, "cn-hangzhou");
  // An unknown type is kept raw, with no attrs; raw is the line as received.
  const Resource& bucket = r->resources[2];
  EXPECT_EQ(bucket.type, "oss_bucket");
  EXPECT_TRUE(bucket.attrs.empty());
  EXPECT_THAT(bucket.raw, HasSubstr("\"SSEAlgorithm\":\"KMS\""));
  EXPECT_EQ(bucket.collected_unix, 1764230400);  // from the options
  EXPECT_EQ(Col(r->resources[3], "last_login_unix"), "1764201600");
  EXPECT_EQ(Col(r->resources[3], "password_expires_unix"), "NULL");
}

TEST(ImportNdjson, MalformedLinesReportedWithLineNumbersAndSkipped) {
  const std::string text =
      R"({"platform":"p","type":"volume","id":"v1","attrs":{"encrypted":true}})" "\n"        // 1 ok
      R"({"platform":"p","type":"volume","id":"v2",)" "\n"                                  // 2 truncated
      "\n"                                                                                   // 3 blank
      R"({"platform":"p","type":"volume","id":"v3","attrs":{"encrypted":"yes"}})" "\n"      // 4 wrong type
      R"({"platform":"p","type":"volume","id":"v4","attrs":{"colour":"red"}})" "\r\n"       // 5 unknown column
      R"({"platform":"p","type":"bucket","id":"b1","attrs":{"acl":"public"}})" "\n"          // 6 attrs, unknown type
      R"(["not","an","object"])" "\n"                                                        // 7
      R"({"platform":"p","type":"volume"})" "\n"                                             // 8 no id
      R"({"platform":"p","type":"volume","id":"v5","attrs":{"size_gb":1.5}})" "\n"          // 9 fraction
      R"({"platform":"p","type":"volume","id":"v6","atrs":{}})" "\n"                        // 10 typo'd member
      R"({"platform":"p","type":"volume","id":"v7","collected":"yesterday"})" "\n"          // 11 bad time
      R"({"platform":"p","type":"volume","id":"v1"})" "\n"                                   // 12 duplicate uid
      R"({"platform":"p","type":"volume","id":"v8","labels":{"a":1}})" "\n"                 // 13 label not a string
      "   \t  \n"                                                                            // 14 blank
      R"({"platform":"p","type":"bucket","id":"b2","raw":{"acl":"private"}})";              // 15 ok, no newline
  auto r = ImportNdjson(text, Options(""));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->resources.size(), 2u) << Problems(*r);
  EXPECT_EQ(r->resources[0].uid, "p/volume/v1");
  EXPECT_EQ(Col(r->resources[0], "encrypted"), "1");
  EXPECT_EQ(r->resources[1].uid, "p/bucket/b2");
  std::vector<int> lines;
  for (const auto& p : r->problems) lines.push_back(p.line);
  EXPECT_EQ(lines, (std::vector<int>{2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})) << Problems(*r);
  EXPECT_EQ(r->problems[1].pointer, "/attrs/encrypted");
  EXPECT_THAT(r->problems[1].message, HasSubstr("true or false"));
  EXPECT_THAT(r->problems[2].message, HasSubstr("no column \"colour\""));
  EXPECT_THAT(r->problems[3].message, HasSubstr("not a normalized type"));
  EXPECT_THAT(r->problems[6].message, HasSubstr("a fraction"));
  EXPECT_THAT(r->problems[7].message, HasSubstr("unknown member \"atrs\""));
  EXPECT_THAT(r->problems[9].message, HasSubstr("first at line 1"));
  for (const auto& p : r->problems) EXPECT_THAT(p.message, HasSubstr("skipped"));
}

TEST(ImportNdjson, PlatformDefaultsAndUid) {
  ImportOptions o = Options("default-platform");
  auto r = ImportNdjson(
      R"({"type":"image","id":"img-1","attrs":{"signed":false}})" "\n"
      R"({"uid":"custom/uid/1","platform":"other","type":"image","id":"img-2","region":"r2"})" "\n"
      R"({"type":"image","id":42})" "\n",
      o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 3u) << Problems(*r);
  EXPECT_EQ(r->resources[0].uid, "default-platform/image/img-1");
  EXPECT_EQ(r->resources[0].region, "cn-north-1");
  EXPECT_EQ(r->resources[1].uid, "custom/uid/1");
  EXPECT_EQ(r->resources[1].platform, "other");
  EXPECT_EQ(r->resources[1].region, "r2");
  EXPECT_EQ(r->resources[2].uid, "default-platform/image/42");
  // Without a platform anywhere, the line is a problem.
  auto none = ImportNdjson(R"({"type":"image","id":"x"})", Options(""));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->resources.empty());
  ASSERT_EQ(none->problems.size(), 1u);
  EXPECT_EQ(none->problems[0].line, 1);
  EXPECT_THAT(none->problems[0].message, HasSubstr("platform is required"));
}

TEST(ImportNdjson, RawIsTheLineAsReceived) {
  const std::string line = R"({"platform":"p", "type":"thing","id":"1","raw":{"z":1,"a":[true]}})";
  auto r = ImportNdjson("  " + line + "\r\n", Options(""));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 1u);
  EXPECT_EQ(r->resources[0].raw, line);
}

TEST(ImportNdjson, LimitsRefuseTheInput) {
  ImportOptions o = Options("p");
  o.max_resources = 2;
  std::string text;
  for (int i = 0; i < 3; ++i) text += R"({"type":"t","id":")" + std::to_string(i) + "\"}\n";
  auto r = ImportNdjson(text, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_THAT(r.error().message, HasSubstr("more than 2 resources"));

  o = Options("p");
  o.max_bytes = 10;
  r = ImportNdjson(text, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_THAT(r.error().message, HasSubstr("over the limit of 10 bytes"));

  // Deep nesting is a problem for its line, not a crash; the next line still imports.
  std::string deep = R"({"type":"t","id":"d","raw":)" + std::string(200, '[') + std::string(200, ']') + "}\n";
  r = ImportNdjson(deep + R"({"type":"t","id":"ok"})", Options("p"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 1u);
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].line, 1);
  EXPECT_THAT(r->problems[0].message, HasSubstr("nesting"));
}

TEST(ImportNdjson, ProblemsAreCappedButCounted) {
  std::string text;
  for (size_t i = 0; i < kMaxListedProblems + 5; ++i) text += "x\n";
  auto r = ImportNdjson(text, Options("p"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->problems.size(), kMaxListedProblems + 1);
  EXPECT_THAT(r->problems.back().message, HasSubstr("5 more problems not listed"));
}

// ---------------- kubectl ----------------

TEST(ImportKubectl, ListOfWorkloadsNamespacesPoliciesAndBindings) {
  auto r = ImportKubectl(ReadFile(kData / "kubectl-list.json"), Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->problems.empty()) << Problems(*r);
  ExpectSchemaConforming(*r);

  const Resource* pod = ByUid(*r, "k8s-bj1/workload/5f0c6b1e-8a7d-4c53-9a55-0f3c2d1b7e41");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->native_type, "Pod");
  EXPECT_EQ(pod->tenant, "shop");
  EXPECT_EQ(pod->name, "web-6d4b7c9f8d-2xkqz");
  EXPECT_EQ(pod->region, "cn-north-1");
  EXPECT_EQ(pod->collected_unix, 1764230400);
  EXPECT_EQ(pod->labels.at("app"), "web");
  EXPECT_EQ(Col(*pod, "kind"), "Pod");
  EXPECT_EQ(Col(*pod, "privileged"), "0");
  EXPECT_EQ(Col(*pod, "host_network"), "0");
  EXPECT_EQ(Col(*pod, "run_as_non_root"), "1");  // pod-level runAsNonRoot
  EXPECT_EQ(Col(*pod, "allow_privilege_escalation"), "0");
  EXPECT_EQ(Col(*pod, "image_latest"), "1");  // no tag
  EXPECT_EQ(Col(*pod, "limits_set"), "1");
  EXPECT_EQ(Col(*pod, "service_account"), "web");
  EXPECT_EQ(Col(*pod, "images"), "nginxinc/nginx-unprivileged");
  EXPECT_THAT(pod->raw, HasSubstr("\"nodeName\":\"node-bj1-03\""));

  const Resource* api = ByUid(*r, "k8s-bj1/workload/c41d8e2f-7b6a-4f19-8e3d-5a2b1c9d0e7f");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(Col(*api, "kind"), "Deployment");
  EXPECT_EQ(Col(*api, "run_as_non_root"), "1");  // every container
  EXPECT_EQ(Col(*api, "image_latest"), "0");      // digest and a version tag
  EXPECT_EQ(Col(*api, "limits_set"), "1");
  EXPECT_EQ(Col(*api, "service_account"), "payments-api");
  EXPECT_THAT(Col(*api, "images"), HasSubstr(",docker.io/envoyproxy/envoy:v1.29.2"));

  const Resource* pg = ByUid(*r, "k8s-bj1/workload/1a7e3c5b-9d2f-4b8e-a1c6-3e5f7a9b2d4c");
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(Col(*pg, "kind"), "StatefulSet");
  EXPECT_EQ(Col(*pg, "limits_set"), "0");  // cpu only
  EXPECT_EQ(Col(*pg, "run_as_non_root"), "0");
  EXPECT_EQ(Col(*pg, "allow_privilege_escalation"), "1");  // unset allows it
  EXPECT_EQ(Col(*pg, "service_account"), "default");

  const Resource* cron = ByUid(*r, "k8s-bj1/workload/7d3f1b9e-2c4a-4e6d-b8f0-1a3c5e7b9d2f");
  ASSERT_NE(cron, nullptr);
  EXPECT_EQ(Col(*cron, "kind"), "CronJob");
  EXPECT_EQ(Col(*cron, "image_latest"), "1");
  EXPECT_EQ(Col(*cron, "run_as_non_root"), "1");

  const Resource* proxy = ByUid(*r, "k8s-bj1/workload/e2b4d6f8-0a1c-4e3b-9d5f-7a9c1e3b5d7f");
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(Col(*proxy, "kind"), "DaemonSet");
  EXPECT_EQ(Col(*proxy, "privileged"), "1");
  EXPECT_EQ(Col(*proxy, "host_network"), "1");
  EXPECT_EQ(Col(*proxy, "host_pid"), "0");
  EXPECT_EQ(Col(*proxy, "limits_set"), "0");
  EXPECT_EQ(proxy->tenant, "kube-system");

  // Namespaces count the NetworkPolicies of the same list.
  const Resource* payments = ByUid(*r, "k8s-bj1/namespace/2c3d4e5f-6a7b-4c8d-ae9f-1a2b3c4d5e6f");
  ASSERT_NE(payments, nullptr);
  EXPECT_EQ(payments->tenant, "payments");
  EXPECT_EQ(Col(*payments, "network_policies"), "2");
  EXPECT_EQ(Col(*payments, "status"), "active");
  const Resource* shop = ByUid(*r, "k8s-bj1/namespace/3d4e5f6a-7b8c-4d9e-bf0a-2b3c4d5e6f7a");
  ASSERT_NE(shop, nullptr);
  EXPECT_EQ(Col(*shop, "network_policies"), "0");

  // NetworkPolicies, ClusterRoles and Services are kept raw.
  const Resource* np = ByUid(*r, "k8s-bj1/k8s_networkpolicy/3c5e7a9b-1d3f-4a6c-8e0b-2d4f6a8c0e1b");
  ASSERT_NE(np, nullptr);
  EXPECT_EQ(np->native_type, "NetworkPolicy");
  EXPECT_TRUE(np->attrs.empty());
  EXPECT_NE(ByUid(*r, "k8s-bj1/k8s_service/c8e0a2b4-6d9f-4a3c-f5b7-8d0f2b4a6c9e"), nullptr);
  EXPECT_NE(ByUid(*r, "k8s-bj1/k8s_clusterrole/b1d3f5a7-9c2e-4f6b-8d0a-1c3e5f7b9d2a"), nullptr);

  // One role_assignment per subject.
  const Resource* masters =
      ByUid(*r, "k8s-bj1/role_assignment/e4a6c8d0-2f5b-4c9e-b1d3-4f6b8d0c2e5a/Group:system:masters");
  ASSERT_NE(masters, nullptr);
  EXPECT_EQ(Col(*masters, "principal"), "system:masters");
  EXPECT_EQ(Col(*masters, "principal_kind"), "group");
  EXPECT_EQ(Col(*masters, "role"), "cluster-admin");
  EXPECT_EQ(Col(*masters, "scope"), "cluster");
  EXPECT_EQ(Col(*masters, "privileged"), "1");
  const Resource* alice = ByUid(*r, "k8s-bj1/role_assignment/f5b7d9e1-3a6c-4d0f-c2e4-5a7c9e1d3f6b/User:alice@example.cn");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(Col(*alice, "privileged"), "1");  // ClusterRole in the list grants verb *
  EXPECT_NE(ByUid(*r, "k8s-bj1/role_assignment/f5b7d9e1-3a6c-4d0f-c2e4-5a7c9e1d3f6b/Group:oncall"), nullptr);
  const Resource* view = ByUid(*r, "k8s-bj1/role_assignment/a6c8e0f2-4b7d-4e1a-d3f5-6b8d0f2e4a7c/Group:auditors");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(Col(*view, "privileged"), "0");
  const Resource* ci =
      ByUid(*r, "k8s-bj1/role_assignment/b7d9f1a3-5c8e-4f2b-e4a6-7c9e1a3f5b8d/ServiceAccount:ci/ci-deployer");
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(Col(*ci, "principal"), "system:serviceaccount:ci:ci-deployer");
  EXPECT_EQ(Col(*ci, "principal_kind"), "service_account");
  EXPECT_EQ(Col(*ci, "scope"), "namespace");
  EXPECT_EQ(Col(*ci, "privileged"), "1");  // ClusterRole admin
  EXPECT_EQ(ci->tenant, "payments");

  // 6 workloads + 4 namespaces + 2 policies + 3 cluster roles + 5 subjects + 1 service.
  EXPECT_EQ(r->resources.size(), 21u);
}

TEST(ImportKubectl, NoNetworkPolicyKindMeansNotCollected) {
  const std::string list = R"({"apiVersion":"v1","kind":"List","items":[
      {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"},"status":{"phase":"Terminating"}}]})";
  auto r = ImportKubectl(list, Options());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 1u);
  EXPECT_EQ(r->resources[0].uid, "k8s-bj1/namespace/a");  // no metadata.uid: the name
  EXPECT_EQ(Col(r->resources[0], "network_policies"), "NULL");
  EXPECT_EQ(Col(r->resources[0], "status"), "terminating");
}

TEST(ImportKubectl, SingleObjectAndBadItems) {
  auto one = ImportKubectl(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},
      "spec":{"hostPID":true,"containers":[{"name":"c","image":"busybox:1.36",
      "securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false},
      "resources":{"limits":{"cpu":"1","memory":"1Gi"}}}]}})",
                           Options());
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->resources.size(), 1u);
  EXPECT_EQ(one->resources[0].uid, "k8s-bj1/workload/n/p");
  EXPECT_EQ(Col(one->resources[0], "host_pid"), "1");
  EXPECT_EQ(Col(one->resources[0], "run_as_non_root"), "1");
  EXPECT_EQ(Col(one->resources[0], "image_latest"), "0");

  auto bad = ImportKubectl(R"({"kind":"List","items":[
      7,
      {"kind":"Pod","metadata":{"namespace":"n"}},
      {"kind":"Deployment","metadata":{"name":"d","namespace":"n"},"spec":{}},
      {"kind":"ClusterRoleBinding","metadata":{"name":"b"},"roleRef":{"kind":"ClusterRole","name":"view"},
       "subjects":[{"kind":"User"},{"kind":"User","name":"u"}]},
      {"kind":"Widget","metadata":{"name":"w","namespace":"n"}}]})",
                           Options());
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  std::vector<std::string> pointers;
  for (const auto& p : bad->problems) pointers.push_back(p.pointer);
  EXPECT_EQ(pointers, (std::vector<std::string>{"/items/0", "/items/1", "/items/2", "/items/3/subjects/0"}))
      << Problems(*bad);
  ASSERT_EQ(bad->resources.size(), 2u);
  EXPECT_EQ(bad->resources[0].uid, "k8s-bj1/role_assignment/b/User:u");
  EXPECT_EQ(bad->resources[1].type, "k8s_widget");
  EXPECT_EQ(bad->resources[1].tenant, "n");

  EXPECT_FALSE(ImportKubectl("[1,2]", Options()).ok());
  EXPECT_FALSE(ImportKubectl("{\"items\":", Options()).ok());
  EXPECT_FALSE(ImportKubectl("{}", Options("")).ok());  // platform required
}

TEST(ImportKubectl, Limits) {
  ImportOptions o = Options();
  o.max_resources = 5;
  auto r = ImportKubectl(ReadFile(kData / "kubectl-list.json"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  std::string deep = R"({"kind":"List","items":[{"kind":"X","metadata":{"name":"x"},"spec":)" +
                     std::string(100, '[') + std::string(100, ']') + "}]}";
  r = ImportKubectl(deep, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("nesting"));
}

// ---------------- OpenStack ----------------

Result<ImportResult> Openstack(std::string_view file, std::string_view kind) {
  return ImportOpenstack(ReadFile(kData / file), kind, Options("openstack-bj1"));
}

TEST(ImportOpenstack, ServerListDerivesPublicIp) {
  auto r = Openstack("openstack-server-list.json", "server");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->problems.empty()) << Problems(*r);
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 4u);
  const Resource& web = r->resources[0];
  EXPECT_EQ(web.uid, "openstack-bj1/compute_instance/3b6f1d2e-9a4c-4e7b-8f1a-2c5d7e9b0a13");
  EXPECT_EQ(web.native_type, "OS::Nova::Server");
  EXPECT_EQ(web.name, "web-01");
  EXPECT_EQ(Col(web, "status"), "active");
  EXPECT_EQ(Col(web, "public_ip"), "1");  // 203.0.113.41
  EXPECT_EQ(Col(web, "image_id"), "a7c2e4f6-1b3d-4f8a-9c0e-5d7b9a1c3e2f");
  EXPECT_EQ(Col(web, "flavor"), "m1.medium");
  EXPECT_EQ(Col(web, "host"), "compute-bj1-07");
  EXPECT_EQ(Col(web, "key_name"), "NULL");  // not in list output
  EXPECT_EQ(web.labels.at("role"), "frontend");
  const Resource& db = r->resources[1];
  EXPECT_EQ(Col(db, "public_ip"), "0");  // RFC 1918 and ULA
  EXPECT_EQ(Col(db, "image_id"), "NULL");  // booted from volume
  EXPECT_EQ(Col(r->resources[2], "public_ip"), "1");  // CGNAT v4, but global v6
  EXPECT_EQ(Col(r->resources[2], "status"), "shutoff");
  EXPECT_EQ(Col(r->resources[3], "public_ip"), "0");  // no addresses
  EXPECT_EQ(Col(r->resources[3], "host"), "NULL");
}

TEST(ImportOpenstack, ServerShowOlderClient) {
  auto r = Openstack("openstack-server-show.json", "server");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->resources.size(), 1u);
  const Resource& web = r->resources[0];
  EXPECT_EQ(web.uid, "openstack-bj1/compute_instance/3b6f1d2e-9a4c-4e7b-8f1a-2c5d7e9b0a13");
  EXPECT_EQ(web.tenant, "5c3e9b7a1f2d4e8c9a0b6d4f2e1c3a5b");
  EXPECT_EQ(Col(web, "public_ip"), "1");
  EXPECT_EQ(Col(web, "image_id"), "a7c2e4f6-1b3d-4f8a-9c0e-5d7b9a1c3e2f");
  EXPECT_EQ(Col(web, "flavor"), "m1.medium");
  EXPECT_EQ(Col(web, "key_name"), "ops-2026");
  EXPECT_EQ(Col(web, "security_groups"), "2");
  EXPECT_EQ(Col(web, "host"), "compute-bj1-07");
  EXPECT_EQ(Col(web, "status"), "active");
}

TEST(ImportOpenstack, SecurityGroupsAndRules) {
  auto groups = Openstack("openstack-security-group-list.json", "security-group");
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(groups->resources.size(), 2u);
  EXPECT_EQ(groups->resources[1].uid, "openstack-bj1/security_group/2f4b6d8c-0e1a-4c3f-b5d7-9f1c3e5a7b92");
  EXPECT_EQ(groups->resources[1].tenant, "5c3e9b7a1f2d4e8c9a0b6d4f2e1c3a5b");
  EXPECT_EQ(Col(groups->resources[1], "description"), "HTTP(S) from anywhere, SSH from bastion");
  EXPECT_EQ(Col(groups->resources[1], "rules"), "NULL");  // the list has no rules
  auto show = Openstack("openstack-security-group-show.json", "security-group");
  ASSERT_TRUE(show.ok());
  ASSERT_EQ(show->resources.size(), 1u);
  EXPECT_EQ(Col(show->resources[0], "rules"), "3");

  auto r = Openstack("openstack-security-group-rule-list.json", "security-group-rule");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->problems.empty()) << Problems(*r);
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 7u);
  const Resource& egress = r->resources[0];
  EXPECT_EQ(egress.type, "firewall_rule");
  EXPECT_EQ(Col(egress, "direction"), "egress");
  EXPECT_EQ(Col(egress, "protocol"), "any");
  EXPECT_EQ(Col(egress, "port_min"), "NULL");
  EXPECT_EQ(Col(egress, "group_uid"), "openstack-bj1/security_group/1e3a5c7b-9d0f-4b2e-a4c6-8e0b2d4f6a81");
  const Resource& from_group = r->resources[1];
  EXPECT_EQ(Col(from_group, "remote_cidr"), "NULL");
  EXPECT_EQ(Col(from_group, "remote_group"), "openstack-bj1/security_group/1e3a5c7b-9d0f-4b2e-a4c6-8e0b2d4f6a81");
  const Resource& ssh = r->resources[3];
  EXPECT_EQ(ssh.uid, "openstack-bj1/firewall_rule/3e5a7c9d-1f3b-4d4e-a06c-8d0f2b4e6a04");
  EXPECT_EQ(Col(ssh, "protocol"), "tcp");
  EXPECT_EQ(Col(ssh, "port_min"), "22");
  EXPECT_EQ(Col(ssh, "port_max"), "22");
  EXPECT_EQ(Col(ssh, "remote_cidr"), "0.0.0.0/0");
  const Resource& icmp = r->resources[4];
  EXPECT_EQ(Col(icmp, "protocol"), "icmp");
  EXPECT_EQ(Col(icmp, "port_min"), "NULL");  // ICMP type/code are not ports
  EXPECT_EQ(Col(r->resources[5], "port_min"), "1024");
  EXPECT_EQ(Col(r->resources[5], "port_max"), "65535");
  EXPECT_EQ(Col(r->resources[5], "remote_cidr"), "::/0");

  // A rule with neither prefix nor remote group (show output) means anywhere.
  auto any = ImportOpenstack(R"({"id":"r1","direction":"ingress","ethertype":"IPv6","protocol":"tcp",
      "port_range_min":80,"port_range_max":null,"remote_ip_prefix":null,"remote_group_id":null,
      "security_group_id":"g1","project_id":"p1"})",
                             "security-group-rule", Options("os"));
  ASSERT_TRUE(any.ok());
  ASSERT_EQ(any->resources.size(), 1u);
  EXPECT_EQ(Col(any->resources[0], "remote_cidr"), "::/0");
  EXPECT_EQ(Col(any->resources[0], "port_min"), "80");
  EXPECT_EQ(Col(any->resources[0], "port_max"), "80");
  EXPECT_EQ(any->resources[0].tenant, "p1");
}

TEST(ImportOpenstack, Volumes) {
  auto r = Openstack("openstack-volume-list.json", "volume");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 2u);
  const Resource& root = r->resources[0];
  EXPECT_EQ(root.uid, "openstack-bj1/volume/9c1e3a5b-7d9f-4b0c-8e2a-4c6e8a0b2d11");
  EXPECT_EQ(root.tenant, "8e1f4a6c2b9d4f7e8a3c5b0d9e2f1a4c");
  EXPECT_EQ(Col(root, "encrypted"), "NULL");  // the list does not say
  EXPECT_EQ(Col(root, "attached"), "1");
  EXPECT_EQ(Col(root, "bootable"), "1");
  EXPECT_EQ(Col(root, "size_gb"), "100");
  EXPECT_EQ(Col(root, "status"), "in-use");
  EXPECT_EQ(Col(r->resources[1], "attached"), "0");
  EXPECT_EQ(Col(r->resources[1], "bootable"), "0");
  auto show = Openstack("openstack-volume-show.json", "volume");
  ASSERT_TRUE(show.ok());
  ASSERT_EQ(show->resources.size(), 1u);
  EXPECT_EQ(Col(show->resources[0], "encrypted"), "1");
  EXPECT_EQ(Col(show->resources[0], "attached"), "1");
  EXPECT_EQ(show->resources[0].tenant, "8e1f4a6c2b9d4f7e8a3c5b0d9e2f1a4c");
}

TEST(ImportOpenstack, Images) {
  auto r = Openstack("openstack-image-list.json", "image");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 2u);
  EXPECT_EQ(Col(r->resources[0], "visibility"), "public");
  EXPECT_EQ(Col(r->resources[0], "protected"), "1");
  EXPECT_EQ(Col(r->resources[0], "checksum"), "b1a6c3e5d7f9a0b2c4d6e8f0a1b3c5d7");
  EXPECT_EQ(Col(r->resources[0], "signed"), "NULL");  // the list has no properties
  EXPECT_EQ(Col(r->resources[1], "visibility"), "community");
  EXPECT_EQ(Col(r->resources[1], "protected"), "0");
  auto show = Openstack("openstack-image-show.json", "image");
  ASSERT_TRUE(show.ok());
  ASSERT_EQ(show->resources.size(), 1u);
  EXPECT_EQ(Col(show->resources[0], "signed"), "1");
  EXPECT_EQ(Col(show->resources[0], "is_snapshot"), "1");
  EXPECT_EQ(Col(show->resources[0], "visibility"), "private");
  EXPECT_EQ(show->resources[0].tenant, "5c3e9b7a1f2d4e8c9a0b6d4f2e1c3a5b");
}

TEST(ImportOpenstack, Users) {
  auto r = Openstack("openstack-user-list.json", "user");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 3u);
  EXPECT_EQ(r->resources[0].uid, "openstack-bj1/identity_user/4a6c8e0b2d4f46a8c0e2b4d6f8a0c2e4");
  EXPECT_EQ(Col(r->resources[0], "enabled"), "1");
  EXPECT_EQ(Col(r->resources[0], "domain"), "default");
  EXPECT_EQ(Col(r->resources[0], "mfa"), "NULL");
  EXPECT_EQ(Col(r->resources[2], "enabled"), "0");
  EXPECT_EQ(r->resources[2].tenant, "");
  auto show = Openstack("openstack-user-show.json", "user");
  ASSERT_TRUE(show.ok()) << show.error().message;
  ASSERT_EQ(show->resources.size(), 1u);
  EXPECT_EQ(Col(show->resources[0], "mfa"), "1");
  EXPECT_EQ(Col(show->resources[0], "password_expires_unix"), "1803542400");  // 2027-02-25T08:00:00
  EXPECT_EQ(show->resources[0].tenant, "5c3e9b7a1f2d4e8c9a0b6d4f2e1c3a5b");
}

TEST(ImportOpenstack, RoleAssignments) {
  auto r = Openstack("openstack-role-assignment-list.json", "role-assignment");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->problems.empty()) << Problems(*r);
  ExpectSchemaConforming(*r);
  ASSERT_EQ(r->resources.size(), 5u);
  const Resource& admin = r->resources[0];
  EXPECT_EQ(admin.uid, "openstack-bj1/role_assignment/admin|user:admin@Default|project:admin@Default");
  EXPECT_EQ(admin.tenant, "admin@Default");
  EXPECT_EQ(Col(admin, "principal"), "admin@Default");
  EXPECT_EQ(Col(admin, "principal_kind"), "user");
  EXPECT_EQ(Col(admin, "scope"), "project");
  EXPECT_EQ(Col(admin, "privileged"), "1");
  EXPECT_EQ(Col(r->resources[1], "scope"), "system");
  EXPECT_EQ(Col(r->resources[2], "privileged"), "0");
  EXPECT_EQ(r->resources[2].tenant, "shop@Default");
  const Resource& group = r->resources[3];
  EXPECT_EQ(group.uid, "openstack-bj1/role_assignment/reader|group:auditors@Default|domain:Default|inherited");
  EXPECT_EQ(Col(group, "principal_kind"), "group");
  EXPECT_EQ(Col(group, "scope"), "domain");
  EXPECT_EQ(Col(r->resources[4], "privileged"), "1");  // load-balancer_admin
}

TEST(ImportOpenstack, BadRowsAndKinds) {
  auto r = ImportOpenstack(R"([{"Name":"no id"}, 3, {"ID":"ok","Status":"ACTIVE"}])", "server", Options("os"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 1u);
  ASSERT_EQ(r->problems.size(), 2u);
  EXPECT_EQ(r->problems[0].pointer, "/0");
  EXPECT_EQ(r->problems[1].pointer, "/1");
  auto bad_kind = ImportOpenstack("[]", "flavor", Options("os"));
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_THAT(bad_kind.error().message, HasSubstr("role-assignment"));
  EXPECT_FALSE(ImportOpenstack("\"x\"", "server", Options("os")).ok());
  ImportOptions o = Options("os");
  o.max_resources = 1;
  auto over = ImportOpenstack(R"([{"ID":"a"},{"ID":"b"}])", "server", o);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
}

TEST(ImportAddresses, PublicDerivation) {
  for (const char* a : {"203.0.113.7", "8.8.8.8", "2001:db8::1", "2400:cb00::1", "::ffff:1.2.3.4"})
    EXPECT_TRUE(IsPublicAddress(a)) << a;
  for (const char* a : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.169.254",
                        "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.1", "::1", "fe80::1%eth0",
                        "fd00::5", "::ffff:10.0.0.1", "::", "not-an-ip", ""})
    EXPECT_FALSE(IsPublicAddress(a)) << a;
  EXPECT_TRUE(IsPublicAddress("172.32.0.1"));
  EXPECT_TRUE(IsPublicAddress("100.128.0.1"));
}

// ---------------- dispatcher and docs ----------------

TEST(ImportDispatch, FormatsAndErrors) {
  const auto formats = ImportFormats();
  EXPECT_EQ(formats.size(), 9u);
  EXPECT_EQ(formats[0], "ndjson");
  for (const auto& f : formats) {
    auto r = Import(f, f == "ndjson" ? "" : (f == "kubectl" ? R"({"kind":"List","items":[]})" : "[]"), Options());
    EXPECT_TRUE(r.ok()) << f << ": " << r.error().message;
  }
  auto r = Import("openstack-flavor", "[]", Options());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("openstack-security-group-rule"));
  auto k = Import("kubectl", ReadFile(kData / "kubectl-list.json"), Options());
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->resources.size(), 21u);
}

TEST(ImportDocs, InventoryMdListsEveryTypeAndColumn) {
  const std::string doc = ReadFile(std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "docs/INVENTORY.md");
  ASSERT_FALSE(doc.empty());
  for (const auto& t : Types()) {
    const std::string heading = "### `" + std::string(t.type) + "`";
    const size_t at = doc.find(heading);
    ASSERT_NE(at, std::string::npos) << "docs/INVENTORY.md lacks a section " << heading;
    const size_t end = doc.find("\n### ", at + 1);
    const std::string section = doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (const auto& c : t.columns) {
      const char* type = c.type == ColumnType::kText ? "text" : c.type == ColumnType::kInteger ? "integer" : "bool";
      EXPECT_THAT(section, HasSubstr("| `" + std::string(c.name) + "` | " + type + " |"))
          << "docs/INVENTORY.md, " << heading << ", lacks the row:\n| `" << c.name << "` | " << type << " | "
          << c.doc << " |";
    }
  }
  for (const auto& f : ImportFormats()) EXPECT_THAT(doc, HasSubstr("`" + f + "`")) << f;
}

}  // namespace
}  // namespace cloudpact::assess
