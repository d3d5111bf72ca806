// Assessment at scale (issue 6, docs/BENCHMARKS.md "Assessment"): the target is
// 1,000,000 resources × 200 checks in ≤ 60 s on this machine with SQLite.
//
//   build/release/bench/assess_bench                       # 1,000,000 resources, 200 checks
//   build/release/bench/assess_bench --resources 100000    # smaller, e.g. under callgrind
//
// What it does, on SQLite in a fresh temporary directory (--dir, default /tmp):
//  1. generates a realistic inventory as NDJSON text — 10 platforms (7 IaaS clouds with
//     instances, firewall rules, security groups, volumes, images, users and role
//     assignments; 3 Kubernetes clusters with workloads, namespaces and role bindings) plus
//     cloudpact's own evidence (staff, grants, sessions, findings, …), with a realistic share
//     of failing, unknown (NULL) and out-of-China values — and times `ImportNdjson` (parse)
//     and `Assessor::Import` (store) separately, one import per platform as `cloudpact
//     assess import` would do them;
//  2. runs `RunAssessment` with the repository's 36 checks (catalogs/checks) plus generated
//     variants up to --checks (per-type checks with other ports, thresholds, regions and
//     roles, a few joins and aggregates, all plain SQL like the real ones), and reports the
//     wall time, the per-check time distribution (CheckSummary::seconds), the results kept
//     and the peak RSS of each phase (VmHWM, reset between phases).
// A plain main rather than Google Benchmark: one run is a minute, and what matters is the
// breakdown of that one run.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "assess/assessor.h"
#include "assess/importers.h"
#include "crypto/ed25519.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::assess {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename R>
auto Must(R r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "assess_bench: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// Peak resident set since the last ResetPeak() (VmHWM; /proc/self/clear_refs "5" resets it).
void ResetPeak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}
double PeakRssMb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}
double RssMb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

// --- the inventory ---------------------------------------------------------------------

// Deterministic and fast (splitmix64).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) { return a[Below(N)]; }
};

uint64_t Mix(uint64_t x) { return Rng{x}.Next(); }

// A native id like the providers' own ("i-bp1f2x7k9q3m5n8r"): prefix + 16 hex.
std::string NativeId(const char* prefix, uint64_t platform, uint64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%016" PRIx64, prefix, Mix(platform * 0x100000000ULL + n));
  return buf;
}

constexpr int64_t kNow = 1795000000;  // 2026-11-18: the inventory's "collected" time

struct Platform {
  std::string id, native_prefix, region_prefix;
  bool kubernetes = false;
};

const std::vector<Platform>& Platforms() {
  static const std::vector<Platform> p = {
      {"openstack-bj1", "OS::", "cn-north-", false}, {"openstack-sh2", "OS::", "cn-east-", false},
      {"ali-hz", "ACS::", "cn-hangzhou-", false},    {"huawei-gz", "HWC::", "cn-south-", false},
      {"tencent-bj", "TC::", "ap-beijing-", false},  {"idc-wh", "OS::", "cn-central-", false},
      {"vmware-cd", "VMW::", "cn-southwest-", false}, {"k8s-sh-prod", "", "cn-east-", true},
      {"k8s-bj-prod", "", "cn-north-", true},         {"k8s-gz-test", "", "cn-south-", true},
  };
  return p;
}

struct TypeShare {
  const char* type;
  double share;
};
// Shares within an IaaS platform and within a Kubernetes cluster (oss_bucket: not a
// normalized type, kept raw).
constexpr TypeShare kIaas[] = {{"compute_instance", 0.22}, {"firewall_rule", 0.40}, {"security_group", 0.06},
                               {"volume", 0.19},           {"image", 0.05},         {"identity_user", 0.03},
                               {"role_assignment", 0.04},  {"oss_bucket", 0.01}};
constexpr TypeShare kK8s[] = {{"workload", 0.85}, {"namespace", 0.03}, {"role_assignment", 0.12}};

size_t CountOf(const Platform& p, std::string_view type, size_t per_platform) {
  for (const auto& t : p.kubernetes ? std::vector<TypeShare>(std::begin(kK8s), std::end(kK8s))
                                    : std::vector<TypeShare>(std::begin(kIaas), std::end(kIaas))) {
    if (t.type == type) return std::max<size_t>(1, static_cast<size_t>(t.share * static_cast<double>(per_platform)));
  }
  return 0;
}

// Where a resource runs: mostly in China, a few abroad (FAIL), a few unknown (MANUAL).
void Region(Rng& rng, const Platform& p, std::string& line) {
  static const char* kAbroad[] = {"ap-singapore", "us-west-1", "eu-central-1", "ap-hongkong"};
  if (rng.Chance(0.005)) return;  // not collected
  line += ",\"region\":\"";
  if (rng.Chance(0.015)) {
    line += rng.Pick(kAbroad);
  } else {
    line += p.region_prefix;
    line += std::to_string(1 + rng.Below(3));
  }
  line += '"';
}

void Str(std::string& line, const char* key, std::string_view v) {
  line += ",\"";
  line += key;
  line += "\":\"";
  line += v;
  line += '"';
}
void Int(std::string& line, const char* key, int64_t v) {
  line += ",\"";
  line += key;
  line += "\":";
  line += std::to_string(v);
}
void Bool(std::string& line, const char* key, bool v) {
  line += ",\"";
  line += key;
  line += v ? "\":true" : "\":false";
}
void Null(std::string& line, const char* key) {
  line += ",\"";
  line += key;
  line += "\":null";
}
// A bool that is unknown (null) with probability `unknown`, else true with probability `p`.
void MaybeBool(Rng& rng, std::string& line, const char* key, double p, double unknown) {
  if (rng.Chance(unknown)) return Null(line, key);
  Bool(line, key, rng.Chance(p));
}

std::string Tenant(Rng& rng) { return "tenant-" + std::to_string(rng.Below(2000)); }

// One NDJSON line (attrs start with `"attrs":{"` … the first member has no comma: we build
// `{"x":1` by appending ",\"k\":v" and then fixing the first comma).
void OpenAttrs(std::string& line) { line += ",\"attrs\":{\"_\":0"; }
void CloseAttrs(std::string& line, size_t attrs_at) {
  // Remove the placeholder member `"_":0,` (it keeps the appenders uniform).
  const size_t ph = line.find("\"_\":0,", attrs_at);
  line.erase(ph, 6);
  line += '}';
}

void Line(Rng& rng, const Platform& p, size_t pi, std::string_view type, size_t n, size_t per_platform,
          std::string& out) {
  std::string line = "{\"type\":\"";
  line += type;
  line += '"';
  auto header = [&](const char* native, const char* prefix, std::string tenant, std::string name) {
    if (*native) Str(line, "native_type", std::string(p.native_prefix) + native);
    Str(line, "id", NativeId(prefix, pi, n));
    Region(rng, p, line);
    if (!tenant.empty()) Str(line, "tenant", tenant);
    if (!name.empty()) Str(line, "name", name);
  };
  static const char* kEnv[] = {"prod", "prod", "prod", "staging", "dev", "test"};
  auto labels = [&] {
    line += ",\"labels\":{\"env\":\"";
    line += rng.Pick(kEnv);
    line += "\",\"app\":\"app-";
    line += std::to_string(rng.Below(500));
    line += "\",\"owner\":\"team-";
    line += std::to_string(rng.Below(60));
    line += "\"}";
  };
  size_t attrs_at = 0;
  if (type == "compute_instance") {
    static const char* kFlavor[] = {"m1.small", "m1.medium", "m1.large", "m1.xlarge", "c6.2xlarge", "g7.4xlarge", "m1.tiny"};
    static const char* kStatus[] = {"active", "active", "active", "active", "active", "active", "active", "active",
                                    "active", "shutoff", "error"};
    header("Nova::Server", "i-", Tenant(rng), "vm-" + std::to_string(n));
    labels();
    attrs_at = line.size();
    OpenAttrs(line);
    Str(line, "status", rng.Pick(kStatus));
    const size_t images = CountOf(p, "image", per_platform);
    Str(line, "image_id", p.id + "/image/" + NativeId("img-", pi, rng.Below(images)));
    Bool(line, "public_ip", rng.Chance(0.15));
    if (rng.Chance(0.95)) Str(line, "key_name", "key-" + std::to_string(rng.Below(300)));
    if (rng.Chance(0.01)) Null(line, "security_groups");
    else Int(line, "security_groups", rng.Chance(0.01) ? 0 : static_cast<int64_t>(1 + rng.Below(4)));
    Str(line, "flavor", rng.Pick(kFlavor));
    Str(line, "host", "cmp-" + std::to_string(rng.Below(4000)));
    CloseAttrs(line, attrs_at);
    line += ",\"raw\":{\"OS-EXT-AZ:availability_zone\":\"az-" + std::to_string(rng.Below(3)) +
            "\",\"OS-EXT-STS:power_state\":1,\"created\":\"2026-0" + std::to_string(1 + rng.Below(9)) +
            "-12T03:14:15Z\",\"metadata\":{}}";
  } else if (type == "firewall_rule") {
    static const int kPorts[] = {22, 80, 443, 443, 443, 80, 8080, 3306, 5432, 6379, 3389, 9200, 27017, 2379,
                                 6443, 10250, 53, 123, 8443, 9090, 5601, 11211, 21, 25, 445, 1433, 1521, 5900};
    const size_t groups = CountOf(p, "security_group", per_platform);
    header("Neutron::SecurityGroupRule", "sgr-", Tenant(rng), "");
    attrs_at = line.size();
    OpenAttrs(line);
    Str(line, "group_uid", p.id + "/security_group/" + NativeId("sg-", pi, rng.Below(groups)));
    const bool ingress = rng.Chance(0.7);
    Str(line, "direction", ingress ? "ingress" : "egress");
    const uint64_t proto = rng.Below(20);
    if (proto < 15) Str(line, "protocol", "tcp");
    else if (proto < 17) Str(line, "protocol", "udp");
    else if (proto < 18) Str(line, "protocol", "icmp");
    else Null(line, "protocol");
    const uint64_t ports = rng.Below(100);
    if (ports < 3) {
      Null(line, "port_min");
      Null(line, "port_max");
    } else if (ports < 12) {
      const int lo = 1024 * static_cast<int>(1 + rng.Below(30));
      Int(line, "port_min", lo);
      Int(line, "port_max", lo + static_cast<int>(rng.Below(4000)));
    } else {
      const int port = rng.Pick(kPorts);
      Int(line, "port_min", port);
      Int(line, "port_max", port);
    }
    const uint64_t remote = rng.Below(100);
    if (remote < 7) Str(line, "remote_cidr", "0.0.0.0/0");
    else if (remote < 9) Str(line, "remote_cidr", "::/0");
    else if (remote < 70) Str(line, "remote_cidr", "10." + std::to_string(rng.Below(256)) + ".0.0/16");
    else Str(line, "remote_group", p.id + "/security_group/" + NativeId("sg-", pi, rng.Below(groups)));
    CloseAttrs(line, attrs_at);
    line += ",\"raw\":{\"ethertype\":\"IPv4\",\"revision_number\":" + std::to_string(rng.Below(5)) + "}";
  } else if (type == "security_group") {
    header("Neutron::SecurityGroup", "sg-", Tenant(rng), "sg-" + std::to_string(n));
    attrs_at = line.size();
    OpenAttrs(line);
    Int(line, "rules", static_cast<int64_t>(rng.Chance(0.03) ? 0 : 1 + rng.Below(40)));
    if (rng.Chance(0.7)) Str(line, "description", "rules of app-" + std::to_string(rng.Below(500)));
    CloseAttrs(line, attrs_at);
  } else if (type == "volume") {
    static const int kSizes[] = {20, 40, 40, 40, 100, 100, 200, 500, 1000, 2000, 4096};
    static const char* kStatus[] = {"in_use", "in_use", "in_use", "in_use", "available", "available", "error"};
    header("Cinder::Volume", "vol-", Tenant(rng), "disk-" + std::to_string(n));
    labels();
    attrs_at = line.size();
    OpenAttrs(line);
    MaybeBool(rng, line, "encrypted", 0.87, 0.03);
    Bool(line, "attached", rng.Chance(0.8));
    Bool(line, "bootable", rng.Chance(0.3));
    Int(line, "size_gb", rng.Pick(kSizes));
    Str(line, "status", rng.Pick(kStatus));
    if (rng.Chance(0.6)) Str(line, "backup_policy", "daily-" + std::to_string(rng.Below(7)));
    CloseAttrs(line, attrs_at);
  } else if (type == "image") {
    static const char* kVisibility[] = {"private", "private", "private", "private", "private", "private",
                                        "private", "shared",  "shared",  "public",  "public",  "community"};
    const bool base = rng.Chance(0.3);
    // Images are referenced by instances: their ids are 0..count-1, not random.
    line.clear();
    line = "{\"type\":\"image\"";
    Str(line, "native_type", std::string(p.native_prefix) + "Glance::Image");
    Str(line, "id", NativeId("img-", pi, n));
    Region(rng, p, line);
    if (!base) Str(line, "tenant", Tenant(rng));
    Str(line, "name", base ? "ubuntu-22.04-" + std::to_string(n) : "snap-" + std::to_string(n));
    attrs_at = line.size();
    OpenAttrs(line);
    Str(line, "visibility", rng.Pick(kVisibility));
    Bool(line, "protected", rng.Chance(0.2));
    MaybeBool(rng, line, "signed", 0.65, 0.1);
    Str(line, "checksum", NativeId("", pi, n + 7) + NativeId("", pi, n + 11));
    Str(line, "status", "active");
    Bool(line, "is_snapshot", !base && rng.Chance(0.6));
    CloseAttrs(line, attrs_at);
  } else if (type == "identity_user") {
    header("Keystone::User", "u-", "", "user-" + std::to_string(n));
    attrs_at = line.size();
    OpenAttrs(line);
    Bool(line, "enabled", rng.Chance(0.92));
    MaybeBool(rng, line, "mfa", 0.72, 0.05);
    if (rng.Chance(0.1)) Null(line, "password_expires_unix");
    else Int(line, "password_expires_unix", kNow + static_cast<int64_t>(rng.Below(rng.Chance(0.9) ? 90 * 86400 : 400 * 86400)));
    if (rng.Chance(0.03)) Null(line, "last_login_unix");
    else Int(line, "last_login_unix", kNow - static_cast<int64_t>(rng.Below(rng.Chance(0.85) ? 30 * 86400 : rng.Chance(0.65) ? 120 * 86400 : 400 * 86400)));
    Str(line, "domain", "domain-" + std::to_string(rng.Below(20)));
    CloseAttrs(line, attrs_at);
  } else if (type == "role_assignment") {
    static const char* kRolesIaas[] = {"member", "member", "member", "reader", "reader", "admin", "owner", "auditor"};
    static const char* kRolesK8s[] = {"view", "view", "edit", "edit", "admin", "cluster-admin", "view"};
    static const char* kScopeIaas[] = {"project", "project", "project", "domain", "system"};
    static const char* kScopeK8s[] = {"namespace", "namespace", "namespace", "cluster"};
    static const char* kKinds[] = {"user", "user", "user", "user", "user", "user", "group", "group", "group",
                                   "service_account"};
    header(p.kubernetes ? "" : "Keystone::RoleAssignment", "ra-", Tenant(rng), "");
    attrs_at = line.size();
    OpenAttrs(line);
    const char* role = p.kubernetes ? rng.Pick(kRolesK8s) : rng.Pick(kRolesIaas);
    const char* kind = rng.Pick(kKinds);
    Str(line, "principal", std::string(kind) + "-" + std::to_string(rng.Below(20000)));
    Str(line, "principal_kind", kind);
    Str(line, "role", role);
    Str(line, "scope", p.kubernetes ? rng.Pick(kScopeK8s) : rng.Pick(kScopeIaas));
    const std::string_view r = role;
    Bool(line, "privileged", r == "admin" || r == "owner" || r == "cluster-admin");
    CloseAttrs(line, attrs_at);
  } else if (type == "workload") {
    static const char* kKind[] = {"Pod", "Pod", "Pod", "Pod", "Pod", "Pod", "Deployment", "Deployment",
                                  "StatefulSet", "DaemonSet", "Job", "CronJob"};
    const size_t namespaces = CountOf(p, "namespace", per_platform);
    const std::string ns = rng.Chance(0.03) ? "kube-system" : "ns-" + std::to_string(rng.Below(namespaces));
    const char* kind = rng.Pick(kKind);
    line += ",\"native_type\":\"" + std::string(kind) + '"';
    Str(line, "id", NativeId("", pi, n));
    Region(rng, p, line);
    Str(line, "tenant", ns);
    Str(line, "name", "app-" + std::to_string(rng.Below(500)) + "-" + NativeId("", pi, n).substr(0, 5));
    labels();
    attrs_at = line.size();
    OpenAttrs(line);
    Str(line, "kind", kind);
    Bool(line, "privileged", rng.Chance(0.02));
    Bool(line, "host_network", rng.Chance(0.03));
    Bool(line, "host_pid", rng.Chance(0.01));
    Bool(line, "run_as_non_root", rng.Chance(0.8));
    Bool(line, "allow_privilege_escalation", rng.Chance(0.1));
    Bool(line, "image_latest", rng.Chance(0.08));
    Bool(line, "limits_set", rng.Chance(0.85));
    Str(line, "service_account", rng.Chance(0.1) ? "default" : "sa-" + std::to_string(rng.Below(200)));
    Str(line, "images", rng.Chance(0.02) ? std::string("docker.io/library/nginx:1.25") : "registry.example.cn/team-" + std::to_string(rng.Below(60)) + "/app-" +
                            std::to_string(rng.Below(500)) + ":1." + std::to_string(rng.Below(30)) +
                            ",registry.example.cn/base/sidecar:2.4");
    CloseAttrs(line, attrs_at);
  } else if (type == "namespace") {
    line += ",\"native_type\":\"Namespace\"";
    const std::string name = n < 3 ? (n == 0 ? "kube-system" : n == 1 ? "kube-public" : "default") : "ns-" + std::to_string(n);
    Str(line, "id", name);
    Region(rng, p, line);
    Str(line, "tenant", name);
    Str(line, "name", name);
    attrs_at = line.size();
    OpenAttrs(line);
    if (rng.Chance(0.05)) Null(line, "network_policies");
    else Int(line, "network_policies", rng.Chance(0.2) ? 0 : static_cast<int64_t>(1 + rng.Below(10)));
    Str(line, "status", "active");
    CloseAttrs(line, attrs_at);
  } else {  // oss_bucket: not normalized, kept raw
    header("OSS::Bucket", "bkt-", Tenant(rng), "bucket-" + std::to_string(n));
    line += ",\"raw\":{\"ACL\":\"" + std::string(rng.Chance(0.05) ? "public-read" : "private") +
            "\",\"ServerSideEncryptionRule\":{\"SSEAlgorithm\":\"KMS\"}}";
  }
  line += ",\"collected\":\"2026-11-18T08:00:00Z\"}\n";
  out += line;
}

// cloudpact's own evidence, as `cloudpact assess run` imports it (platform "cloudpact").
void CloudpactLines(Rng& rng, std::string& out, size_t* count) {
  auto line = [&](const char* type, const std::string& id, const std::string& tenant, const std::string& name,
                  const std::function<void(std::string&)>& attrs) {
    std::string l = "{\"type\":\"";
    l += type;
    l += '"';
    Str(l, "id", id);
    if (!tenant.empty()) Str(l, "tenant", tenant);
    if (!name.empty()) Str(l, "name", name);
    const size_t at = l.size();
    OpenAttrs(l);
    attrs(l);
    CloseAttrs(l, at);
    l += "}\n";
    out += l;
    ++*count;
  };
  line("cp_ledger", "ledger", "", "ledger", [&](std::string& l) {
    Int(l, "size", 4'000'000);
    Int(l, "witnesses", 2);
    Int(l, "cosigned_size", 3'999'000);
  });
  for (int i = 0; i < 2000; ++i) {
    line("cp_staff", "staff-" + std::to_string(i), "", "staff-" + std::to_string(i), [&](std::string& l) {
      Str(l, "kind", rng.Chance(0.3) ? "outsourced" : "employee");
      Str(l, "organisation", rng.Chance(0.3) ? "vendor-" + std::to_string(rng.Below(10)) : "provider");
      Int(l, "standing_privileged", rng.Chance(0.02) ? 1 : 0);
      Bool(l, "mfa", rng.Chance(0.97));
      if (rng.Chance(0.05)) Null(l, "last_access_review_unix");
      else Int(l, "last_access_review_unix", kNow - static_cast<int64_t>(rng.Below(200 * 86400)));
    });
  }
  for (int i = 0; i < 20000; ++i) {
    line("cp_grant", "req-" + std::to_string(i), Tenant(rng), "", [&](std::string& l) {
      Str(l, "staff", "staff-" + std::to_string(rng.Below(2000)));
      Str(l, "state", rng.Chance(0.9) ? "expired" : "approved");
      const bool bg = rng.Chance(0.01);
      Bool(l, "break_glass", bg);
      Int(l, "approvals", rng.Chance(0.01) ? 1 : 2);
      Int(l, "approvals_required", 2);
      Int(l, "tenants_required", 1);
      Int(l, "tenants_approved", rng.Chance(0.005) ? 0 : 1);
      Bool(l, "self_approved", rng.Chance(0.002));
      Int(l, "duration_s", 3600 * static_cast<int64_t>(1 + rng.Below(8)));
      if (bg) Bool(l, "reviewed", rng.Chance(0.8));
    });
  }
  for (int i = 0; i < 20000; ++i) {
    line("cp_session", "ses-" + std::to_string(i), Tenant(rng), "", [&](std::string& l) {
      Str(l, "staff", "staff-" + std::to_string(rng.Below(2000)));
      Str(l, "target", "host-" + std::to_string(rng.Below(10000)));
      Str(l, "state", rng.Chance(0.01) ? "open" : "closed");
      Bool(l, "recording_complete", rng.Chance(0.998));
      Int(l, "commands", static_cast<int64_t>(rng.Below(500)));
    });
  }
  static const char* kFindings[] = {"privileged_without_grant", "tenant_data_without_tenant_approval", "gateway_bypassed",
                                    "outside_allowed_window"};
  for (int i = 0; i < 3000; ++i) {
    line("cp_finding", "fnd-" + std::to_string(i), Tenant(rng), "", [&](std::string& l) {
      Str(l, "kind", rng.Pick(kFindings));
      Str(l, "severity", rng.Chance(0.3) ? "critical" : "high");
      Str(l, "state", rng.Chance(0.05) ? "open" : "closed");
      Str(l, "principal", "staff-" + std::to_string(rng.Below(2000)));
      Int(l, "time_unix", kNow - static_cast<int64_t>(rng.Below(90 * 86400)));
    });
  }
  for (int i = 0; i < 100; ++i) {
    line("cp_source", "src-" + std::to_string(i), "", "source-" + std::to_string(i), [&](std::string& l) {
      Str(l, "format", "syslog");
      Int(l, "last_event_unix", kNow - static_cast<int64_t>(rng.Chance(0.03) ? 3 * 86400 : rng.Below(600)));
      Int(l, "events", static_cast<int64_t>(rng.Below(10'000'000)));
    });
  }
  for (const auto& p : Platforms()) {
    line("cp_platform", p.id, "", p.id, [&](std::string& l) {
      Str(l, "service_model", "iaas");
      Int(l, "gateway_fronted", 1000);
      Int(l, "resources", 100000);
      Int(l, "inventory_resources", 100000);
      Int(l, "last_import_unix", kNow - 3600);
      Int(l, "last_assessed_unix", kNow - 86400);
    });
  }
  for (int i = 0; i < 5000; ++i) {
    line("cp_target", "host-" + std::to_string(i), "", "", [&](std::string& l) {
      Str(l, "target_platform", Platforms()[rng.Below(7)].id);
      Bool(l, "host_key_pinned", rng.Chance(0.99));
      Str(l, "credential_kind", rng.Chance(0.9) ? "key" : "password");
    });
  }
  for (int i = 0; i < 2000; ++i) {
    line("cp_tenant", "tenant-" + std::to_string(i), "tenant-" + std::to_string(i), "", [&](std::string& l) {
      Str(l, "service_model", rng.Chance(0.8) ? "iaas" : "paas");
      Int(l, "approvers", static_cast<int64_t>(rng.Below(4)));
      if (rng.Chance(0.1)) Null(l, "responsibility_report_unix");
      else Int(l, "responsibility_report_unix", kNow - static_cast<int64_t>(rng.Below(90 * 86400)));
    });
  }
}

// --- the generated checks ----------------------------------------------------------------

Check MakeCheck(std::string id, std::string title, std::vector<std::string> types, std::string sql, Severity sev) {
  Check c;
  c.id = std::move(id);
  c.title_en = title;
  c.title_zh = title;
  c.severity = sev;
  c.resource_types = std::move(types);
  c.sql = std::move(sql);
  c.file = "assess_bench";
  return c;
}

// Variants of the real checks, family by family, interleaved so that any prefix is a mix.
std::vector<Check> GeneratedChecks(size_t n) {
  std::vector<std::vector<Check>> families;
  auto& fw = families.emplace_back();
  for (int port : {21, 23, 25, 53, 111, 135, 139, 445, 1433, 1521, 2049, 2375, 2376, 2379, 3000, 5000, 5601, 5900,
                   5984, 6443, 7001, 8080, 8443, 8888, 9000, 9090, 9300, 10250, 10255, 11211, 15672, 50070, 61616}) {
    const std::string p = std::to_string(port);
    fw.push_back(MakeCheck(
        "bench_fw_public_port_" + p, "Port " + p + " not open to anywhere", {"firewall_rule"},
        "SELECT uid AS resource,\n"
        "       CASE WHEN direction = 'ingress' AND remote_cidr IN ('0.0.0.0/0', '::/0')\n"
        "             AND COALESCE(protocol, 'any') IN ('any', 'tcp', 'udp')\n"
        "             AND (port_min IS NULL OR (port_min <= " + p + " AND port_max >= " + p + "))\n"
        "            THEN 'FAIL' ELSE 'PASS' END AS status,\n"
        "       CASE WHEN port_min IS NULL THEN 'ingress from ' || COALESCE(remote_cidr, remote_group, 'a group') || ' to all ports'\n"
        "            ELSE 'ingress from ' || COALESCE(remote_cidr, remote_group, 'a group') || ' to ports '\n"
        "                 || CAST(port_min AS TEXT) || '-' || CAST(port_max AS TEXT) END AS reason,\n"
        "       platform, tenant\n"
        "  FROM inv_firewall_rule",
        Severity::kHigh));
  }
  for (int width : {100, 1000, 10000}) {
    const std::string w = std::to_string(width);
    fw.push_back(MakeCheck("bench_fw_wide_range_" + w, "No public ingress range wider than " + w + " ports",
                           {"firewall_rule"},
                           "SELECT uid AS resource,\n"
                           "       CASE WHEN direction = 'ingress' AND remote_cidr IN ('0.0.0.0/0', '::/0')\n"
                           "             AND (port_min IS NULL OR port_max - port_min >= " + w + ") THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                           "       'ports ' || COALESCE(CAST(port_min AS TEXT), '*') || '-' || COALESCE(CAST(port_max AS TEXT), '*') AS reason,\n"
                           "       platform, tenant\n"
                           "  FROM inv_firewall_rule",
                           Severity::kMedium));
  }
  fw.push_back(MakeCheck("bench_fw_egress_anywhere_all", "Egress to anywhere on all ports is justified", {"firewall_rule"},
                         "SELECT uid AS resource,\n"
                         "       CASE WHEN direction = 'egress' AND remote_cidr IN ('0.0.0.0/0', '::/0') AND port_min IS NULL\n"
                         "            THEN 'MANUAL' ELSE 'PASS' END AS status,\n"
                         "       'egress to ' || COALESCE(remote_cidr, remote_group, 'a group') AS reason, platform, tenant\n"
                         "  FROM inv_firewall_rule",
                         Severity::kLow));

  // Region allow-lists: each type against a few region sets.
  auto& regions = families.emplace_back();
  const std::vector<std::pair<std::string, std::string>> sets = {
      {"cn", "LOWER(region) LIKE 'cn-%'"},
      {"cn_tencent", "LOWER(region) LIKE 'cn-%' OR LOWER(region) LIKE 'ap-beijing%' OR LOWER(region) LIKE 'ap-shanghai%'"},
      {"cn_hk", "LOWER(region) LIKE 'cn-%' OR LOWER(region) LIKE 'ap-%' AND LOWER(region) <> 'ap-singapore'"},
      {"not_hk", "LOWER(region) NOT IN ('ap-hongkong', 'ap-singapore', 'us-west-1', 'eu-central-1')"}};
  for (const char* type : {"compute_instance", "volume", "image", "workload", "namespace", "security_group",
                           "identity_user"}) {
    for (const auto& [name, cond] : sets) {
      regions.push_back(MakeCheck(
          std::string("bench_region_") + type + "_" + name, std::string(type) + " in region set " + name, {type},
          "SELECT uid AS resource,\n"
          "       CASE WHEN region IS NULL THEN 'MANUAL' WHEN " + cond + " THEN 'PASS' ELSE 'FAIL' END AS status,\n"
          "       CASE WHEN region IS NULL THEN 'region of ' || COALESCE(name, uid) || ' not collected'\n"
          "            ELSE 'region ' || region END AS reason,\n"
          "       platform, tenant\n"
          "  FROM inv_" + std::string(type) + (std::string_view(type) == "image" || std::string_view(type) == "volume"
                                                  ? "\n WHERE tenant IS NOT NULL" : ""),
          Severity::kHigh));
    }
  }

  auto& storage = families.emplace_back();
  for (int gb : {100, 200, 500, 1000, 2000}) {
    const std::string g = std::to_string(gb);
    storage.push_back(MakeCheck("bench_volume_backup_over_" + g + "gb", "Volumes over " + g + " GiB have a backup policy",
                                {"volume"},
                                "SELECT uid AS resource,\n"
                                "       CASE WHEN size_gb IS NULL THEN 'MANUAL' WHEN size_gb < " + g + " THEN 'PASS'\n"
                                "            WHEN backup_policy IS NOT NULL THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                                "       CASE WHEN backup_policy IS NULL THEN 'volume ' || COALESCE(name, uid) || ' (' || CAST(size_gb AS TEXT) || ' GiB) has no backup policy'\n"
                                "            ELSE 'backup policy ' || backup_policy END AS reason,\n"
                                "       platform, tenant\n"
                                "  FROM inv_volume",
                                Severity::kMedium));
  }
  for (const char* st : {"available", "error"}) {
    storage.push_back(MakeCheck(std::string("bench_volume_") + st + "_encrypted", std::string(st) + " volumes encrypted",
                                {"volume"},
                                "SELECT uid AS resource,\n"
                                "       CASE WHEN status <> '" + std::string(st) + "' THEN 'NOT_APPLICABLE'\n"
                                "            WHEN encrypted IS NULL THEN 'MANUAL' WHEN encrypted = 1 THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                                "       'volume ' || COALESCE(name, uid) || ' is ' || status AS reason,\n"
                                "       platform, tenant\n"
                                "  FROM inv_volume\n"
                                " WHERE status = '" + std::string(st) + "'",
                                Severity::kMedium));
  }
  storage.push_back(MakeCheck("bench_volume_boot_encrypted", "Boot volumes encrypted", {"volume"},
                              "SELECT uid AS resource,\n"
                              "       CASE WHEN encrypted IS NULL THEN 'MANUAL' WHEN encrypted = 1 THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                              "       CASE WHEN encrypted = 0 THEN 'boot volume ' || COALESCE(name, uid) || ' is not encrypted' ELSE 'encrypted' END AS reason,\n"
                              "       platform, tenant\n"
                              "  FROM inv_volume WHERE bootable = 1",
                              Severity::kHigh));

  auto& identity = families.emplace_back();
  for (int days : {30, 45, 60, 120, 180, 270, 365}) {
    const std::string d = std::to_string(days);
    identity.push_back(MakeCheck(
        "bench_users_inactive_" + d + "d", "Accounts unused for " + d + " days are disabled", {"identity_user"},
        "SELECT uid AS resource,\n"
        "       CASE WHEN COALESCE(enabled, 1) = 0 THEN 'PASS'\n"
        "            WHEN last_login_unix IS NULL THEN 'MANUAL'\n"
        "            WHEN last_login_unix < (SELECT now_unix FROM assess_now) - " + d + " * 86400 THEN 'FAIL' ELSE 'PASS' END AS status,\n"
        "       CASE WHEN last_login_unix < (SELECT now_unix FROM assess_now) - " + d + " * 86400\n"
        "            THEN 'user ' || COALESCE(name, uid) || ' is enabled but unused for " + d + " days' ELSE 'in use' END AS reason,\n"
        "       platform, tenant\n"
        "  FROM inv_identity_user",
        Severity::kMedium));
  }
  for (int days : {90, 180, 365}) {
    const std::string d = std::to_string(days);
    identity.push_back(MakeCheck(
        "bench_users_password_rotation_" + d + "d", "Passwords expire within " + d + " days", {"identity_user"},
        "SELECT uid AS resource,\n"
        "       CASE WHEN COALESCE(enabled, 1) = 0 THEN 'NOT_APPLICABLE'\n"
        "            WHEN password_expires_unix IS NULL THEN 'FAIL'\n"
        "            WHEN password_expires_unix > (SELECT now_unix FROM assess_now) + " + d + " * 86400 THEN 'FAIL' ELSE 'PASS' END AS status,\n"
        "       CASE WHEN password_expires_unix IS NULL THEN 'password of ' || COALESCE(name, uid) || ' never expires'\n"
        "            ELSE 'password expires at ' || CAST(password_expires_unix AS TEXT) END AS reason,\n"
        "       platform, tenant\n"
        "  FROM inv_identity_user",
        Severity::kLow));
  }
  for (int i = 0; i < 4; ++i) {
    const std::string dom = "domain-" + std::to_string(i);
    identity.push_back(MakeCheck("bench_users_mfa_" + std::to_string(i), "Second factor in " + dom, {"identity_user"},
                                 "SELECT uid AS resource,\n"
                                 "       CASE WHEN mfa IS NULL THEN 'MANUAL' WHEN mfa = 1 THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                                 "       'user ' || COALESCE(name, uid) || ' in ' || domain AS reason, platform, tenant\n"
                                 "  FROM inv_identity_user WHERE domain = '" + dom + "' AND COALESCE(enabled, 1) = 1",
                                 Severity::kHigh));
  }

  auto& roles = families.emplace_back();
  for (const char* role : {"admin", "owner", "cluster-admin", "security-admin", "auditor", "network-admin"}) {
    roles.push_back(MakeCheck(std::string("bench_role_") + (std::string(role) == "cluster-admin" ? std::string("cluster_admin") : std::string(role) == "security-admin" ? std::string("security_admin") : std::string(role) == "network-admin" ? std::string("network_admin") : std::string(role)) + "_by_user",
                              std::string("Role ") + role + " held by groups, not users", {"role_assignment"},
                              "SELECT uid AS resource,\n"
                              "       CASE WHEN role = '" + std::string(role) + "' AND principal_kind = 'user' THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       COALESCE(role, '?') || ' held by ' || COALESCE(principal_kind, '?') || ' ' || COALESCE(principal, '?')\n"
                              "         || ' on ' || COALESCE(scope, '?') AS reason,\n"
                              "       platform, tenant\n"
                              "  FROM inv_role_assignment",
                              Severity::kMedium));
  }
  for (const char* scope : {"project", "domain", "system", "namespace", "cluster"}) {
    roles.push_back(MakeCheck(std::string("bench_role_sa_privileged_") + scope,
                              std::string("No service account privileged on a ") + scope, {"role_assignment"},
                              "SELECT uid AS resource,\n"
                              "       CASE WHEN COALESCE(privileged, 0) = 1 AND principal_kind = 'service_account' THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       'service account ' || COALESCE(principal, '?') || ' holds ' || COALESCE(role, '?') AS reason,\n"
                              "       platform, tenant\n"
                              "  FROM inv_role_assignment WHERE scope = '" + std::string(scope) + "'",
                              Severity::kHigh));
  }

  auto& workloads = families.emplace_back();
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"image_latest", "COALESCE(image_latest, 0) = 1"},
      {"limits", "COALESCE(limits_set, 0) = 0"},
      {"default_sa", "COALESCE(service_account, 'default') = 'default'"},
      {"host_network", "COALESCE(host_network, 0) = 1"},
      {"host_pid", "COALESCE(host_pid, 0) = 1"},
      {"privileged", "COALESCE(privileged, 0) = 1"},
      {"escalation", "COALESCE(allow_privilege_escalation, 0) = 1"}};
  for (const auto& [name, cond] : flags) {
    for (const bool ctrl : {false, true}) {
      const char* kinds = ctrl ? "'Deployment', 'StatefulSet', 'DaemonSet'"
                               : "'Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'";
      workloads.push_back(MakeCheck(
          "bench_workload_" + name + (ctrl ? "_controllers" : ""), "Workloads: " + name, {"workload"},
          "SELECT uid AS resource,\n"
          "       CASE WHEN " + cond + " THEN 'FAIL' ELSE 'PASS' END AS status,\n"
          "       CASE WHEN " + cond + " THEN kind || ' ' || COALESCE(name, uid) || ': " + name + "' ELSE 'ok' END AS reason,\n"
          "       platform, tenant\n"
          "  FROM inv_workload\n"
          " WHERE COALESCE(tenant, '') NOT IN ('kube-system') AND kind IN (" + std::string(kinds) + ")",
          Severity::kMedium));
    }
  }
  for (const char* registry : {"registry.example.cn/", "registry.example.cn/team-"}) {
    workloads.push_back(MakeCheck(std::string("bench_workload_registry_") + (std::string_view(registry).size() > 21 ? "team" : "org"),
                                  "Images from the trusted registry", {"workload"},
                                  "SELECT uid AS resource,\n"
                                  "       CASE WHEN images IS NULL THEN 'MANUAL' WHEN images LIKE '" + std::string(registry) + "%' THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                                  "       'images ' || COALESCE(images, '?') AS reason, platform, tenant\n"
                                  "  FROM inv_workload",
                                  Severity::kLow));
  }

  auto& compute = families.emplace_back();
  for (int min : {1, 2}) {
    const std::string m = std::to_string(min);
    compute.push_back(MakeCheck("bench_public_instances_sg_" + m, "Public instances have at least " + m + " security groups",
                                {"compute_instance"},
                                "SELECT uid AS resource,\n"
                                "       CASE WHEN COALESCE(public_ip, 0) = 0 THEN 'NOT_APPLICABLE'\n"
                                "            WHEN security_groups IS NULL THEN 'MANUAL'\n"
                                "            WHEN security_groups >= " + m + " THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                                "       COALESCE(name, uid) || ' has ' || COALESCE(CAST(security_groups AS TEXT), '?') || ' security group(s)' AS reason,\n"
                                "       platform, tenant\n"
                                "  FROM inv_compute_instance WHERE public_ip = 1",
                                Severity::kHigh));
  }
  compute.push_back(MakeCheck("bench_instances_key_pair", "Instances use a key pair, not passwords", {"compute_instance"},
                              "SELECT uid AS resource, CASE WHEN key_name IS NULL THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       CASE WHEN key_name IS NULL THEN COALESCE(name, uid) || ' has no key pair' ELSE 'key ' || key_name END AS reason,\n"
                              "       platform, tenant\n"
                              "  FROM inv_compute_instance",
                              Severity::kMedium));
  compute.push_back(MakeCheck("bench_instances_flavor_supported", "Instances on supported flavors", {"compute_instance"},
                              "SELECT uid AS resource, CASE WHEN flavor IN ('m1.tiny') THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       'flavor ' || COALESCE(flavor, '?') AS reason, platform, tenant\n"
                              "  FROM inv_compute_instance",
                              Severity::kLow));
  compute.push_back(MakeCheck("bench_instances_error_state", "No instance left in error", {"compute_instance"},
                              "SELECT uid AS resource, CASE WHEN status = 'error' THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       COALESCE(name, uid) || ' is ' || COALESCE(status, '?') AS reason, platform, tenant\n"
                              "  FROM inv_compute_instance",
                              Severity::kLow));
  compute.push_back(MakeCheck("bench_images_public_signed", "Public images are signed", {"image"},
                              "SELECT uid AS resource,\n"
                              "       CASE WHEN signed IS NULL THEN 'MANUAL' WHEN signed = 1 THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                              "       'image ' || COALESCE(name, uid) || ' is ' || visibility AS reason, platform, tenant\n"
                              "  FROM inv_image WHERE visibility IN ('public', 'community')",
                              Severity::kHigh));
  compute.push_back(MakeCheck("bench_images_checksum", "Images have a checksum", {"image"},
                              "SELECT uid AS resource, CASE WHEN checksum IS NULL THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       'checksum ' || COALESCE(checksum, 'missing') AS reason, platform, tenant\n"
                              "  FROM inv_image",
                              Severity::kLow));
  compute.push_back(MakeCheck("bench_security_groups_described", "Security groups carry a description", {"security_group"},
                              "SELECT uid AS resource, CASE WHEN description IS NULL THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                              "       COALESCE(description, COALESCE(name, uid) || ' has no description') AS reason, platform, tenant\n"
                              "  FROM inv_security_group",
                              Severity::kInfo));
  for (int max : {20, 30}) {
    compute.push_back(MakeCheck("bench_security_groups_max_" + std::to_string(max), "Security groups stay small",
                                {"security_group"},
                                "SELECT uid AS resource, CASE WHEN rules IS NULL THEN 'MANUAL' WHEN rules > " +
                                    std::to_string(max) + " THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                                "       CAST(rules AS TEXT) || ' rules' AS reason, platform, tenant\n"
                                "  FROM inv_security_group",
                                Severity::kInfo));
  }
  compute.push_back(MakeCheck("bench_namespaces_active", "Namespaces active", {"namespace"},
                              "SELECT uid AS resource, CASE WHEN status = 'active' THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                              "       'namespace ' || COALESCE(name, uid) || ' is ' || COALESCE(status, '?') AS reason, platform, tenant\n"
                              "  FROM inv_namespace",
                              Severity::kInfo));

  // Joins and aggregates, as provider-written checks would have them.
  auto& joins = families.emplace_back();
  joins.push_back(MakeCheck("bench_instances_from_unsigned_images", "Instances booted from signed images",
                            {"compute_instance", "image"},
                            "SELECT c.uid AS resource,\n"
                            "       CASE WHEN i.uid IS NULL OR i.signed IS NULL THEN 'MANUAL' WHEN i.signed = 1 THEN 'PASS' ELSE 'FAIL' END AS status,\n"
                            "       CASE WHEN i.uid IS NULL THEN 'image ' || COALESCE(c.image_id, '?') || ' not in the inventory'\n"
                            "            ELSE 'booted from ' || COALESCE(i.name, i.uid) END AS reason,\n"
                            "       c.platform, c.tenant\n"
                            "  FROM inv_compute_instance c LEFT JOIN inv_image i ON i.uid = c.image_id",
                            Severity::kMedium));
  joins.push_back(MakeCheck("bench_instances_from_public_snapshots", "No instance booted from a public snapshot",
                            {"compute_instance", "image"},
                            "SELECT c.uid AS resource,\n"
                            "       CASE WHEN i.visibility IN ('public', 'community') AND i.is_snapshot = 1 THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                            "       'booted from ' || COALESCE(i.name, c.image_id, '?') AS reason, c.platform, c.tenant\n"
                            "  FROM inv_compute_instance c LEFT JOIN inv_image i ON i.uid = c.image_id",
                            Severity::kHigh));
  joins.push_back(MakeCheck("bench_rules_of_known_groups", "Firewall rules belong to a known security group",
                            {"firewall_rule", "security_group"},
                            "SELECT r.uid AS resource, CASE WHEN g.uid IS NULL THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                            "       'group ' || COALESCE(r.group_uid, '?') AS reason, r.platform, r.tenant\n"
                            "  FROM inv_firewall_rule r LEFT JOIN inv_security_group g ON g.uid = r.group_uid",
                            Severity::kLow));
  joins.push_back(MakeCheck("bench_namespaces_privileged_workloads", "Namespaces without privileged workloads",
                            {"namespace", "workload"},
                            "SELECT n.uid AS resource,\n"
                            "       CASE WHEN COALESCE(w.bad, 0) > 0 THEN 'FAIL' ELSE 'PASS' END AS status,\n"
                            "       CAST(COALESCE(w.bad, 0) AS TEXT) || ' privileged workload(s) in ' || COALESCE(n.name, n.uid) AS reason,\n"
                            "       n.platform, n.tenant\n"
                            "  FROM inv_namespace n\n"
                            "  LEFT JOIN (SELECT platform, tenant, COUNT(*) AS bad FROM inv_workload\n"
                            "              WHERE privileged = 1 GROUP BY platform, tenant) w\n"
                            "    ON w.platform = n.platform AND w.tenant = n.name\n"
                            " WHERE COALESCE(n.name, '') NOT IN ('kube-system', 'kube-public', 'kube-node-lease')",
                            Severity::kHigh));
  joins.push_back(MakeCheck("bench_tenants_public_instances", "Tenants with many public instances are reviewed",
                            {"compute_instance"},
                            "SELECT MIN(uid) AS resource, CASE WHEN COUNT(*) > 20 THEN 'MANUAL' ELSE 'PASS' END AS status,\n"
                            "       CAST(COUNT(*) AS TEXT) || ' public instances in ' || COALESCE(tenant, '?') AS reason,\n"
                            "       platform, tenant\n"
                            "  FROM inv_compute_instance WHERE public_ip = 1 GROUP BY platform, tenant",
                            Severity::kLow));

  std::vector<Check> out;
  std::vector<size_t> at(families.size(), 0);
  while (out.size() < n) {
    bool any = false;
    for (size_t f = 0; f < families.size() && out.size() < n; ++f) {
      if (at[f] < families[f].size()) {
        out.push_back(families[f][at[f]++]);
        any = true;
      }
    }
    if (!any) break;
  }
  // Beyond the families: the firewall ports again over other port numbers (the biggest table).
  for (int port = 30000; out.size() < n; port += 7) {
    Check c = families[0][0];
    const std::string p = std::to_string(port);
    c.id = "bench_fw_public_port_" + p;
    c.sql = "SELECT uid AS resource,\n"
            "       CASE WHEN direction = 'ingress' AND remote_cidr IN ('0.0.0.0/0', '::/0')\n"
            "             AND (port_min IS NULL OR (port_min <= " + p + " AND port_max >= " + p + ")) THEN 'FAIL' ELSE 'PASS' END AS status,\n"
            "       'ingress to ' || COALESCE(CAST(port_min AS TEXT), '*') AS reason, platform, tenant\n"
            "  FROM inv_firewall_rule";
    out.push_back(std::move(c));
  }
  return out;
}

// --- the run ---------------------------------------------------------------------------

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

uintmax_t DirBytes(const fs::path& dir) {
  uintmax_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? e.file_size() : 0;
  return n;
}

int Main(int argc, char** argv) {
  CLI::App app{"cloudpact assessment benchmark (issue 6): NDJSON import rate and a run of checks on SQLite"};
  size_t resources = 1'000'000, total_checks = 200;
  int threads = 2;
  std::string base = "/tmp";
  bool keep = false, no_run = false, one_import = false;
  app.add_option("--resources", resources, "resources in the inventory, cloudpact's own included");
  app.add_option("--checks", total_checks, "checks: the repository's plus generated variants");
  app.add_option("--threads", threads, "checks run at once (AssessorOptions::threads)");
  app.add_option("--dir", base, "where the temporary database goes");
  app.add_flag("--one-import", one_import, "import every IaaS/k8s resource as one platform in one call (peak memory)");
  app.add_flag("--keep", keep, "keep the database");
  app.add_flag("--no-run", no_run, "import only");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir = fs::path(base) / ("cloudpact-assess-bench-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::printf("database: %s (SQLite, WAL, synchronous=FULL)\n", (dir / "db").c_str());

  auto store = Must(storage::Storage::Open("sqlite:" + (dir / "db").string()), "open storage");
  auto ledger = Must(ledger::Ledger::Open(*store, crypto::NoteSigner("bench.example/assess",
                                                                     *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x06'))),
                                          {}),
                     "open ledger");
  const fs::path catalogs_dir = fs::path(CLOUDPACT_SOURCE_DIR) / "catalogs";
  auto catalogs = Must(LoadCatalogDirectory(catalogs_dir), "catalogs");
  auto checks = Must(LoadCheckDirectory(catalogs_dir / "checks"), "checks");
  const size_t real_checks = checks.size();
  if (total_checks > real_checks) {
    for (auto& c : GeneratedChecks(total_checks - real_checks)) checks.push_back(std::move(c));
  }
  {
    std::set<std::string> ids;
    for (const auto& c : checks) {
      if (!ids.insert(c.id).second) {
        std::fprintf(stderr, "assess_bench: check id %s twice\n", c.id.c_str());
        return 1;
      }
    }
  }
  AssessorOptions options;
  options.threads = threads;
  auto assessor = Must(Assessor::Open(*store, *ledger, catalogs, checks, options), "open assessor");
  std::printf("checks: %zu (%zu from catalogs/checks, %zu generated), %d threads\n", checks.size(), real_checks,
              checks.size() - real_checks, threads);

  // --- import ---
  Rng rng{42};
  std::string cp_text;
  size_t cp_count = 0;
  CloudpactLines(rng, cp_text, &cp_count);
  const size_t infra = resources > cp_count ? resources - cp_count : 0;
  const size_t per_platform = infra / Platforms().size();
  double gen_s = 0, parse_s = 0, store_s = 0, peak_parse = 0, peak_store = 0;
  uint64_t lines = 0, stored = 0, bytes = 0, problems = 0;
  std::map<std::string, uint64_t> by_type;
  auto import_one = [&](const std::string& platform, const std::string& text) {
    ImportOptions io;
    io.platform = platform;
    io.collected_unix = kNow;
    ResetPeak();
    auto t0 = Clock::now();
    ImportResult parsed = Must(ImportNdjson(text, io), "ImportNdjson");
    parse_s += Since(t0);
    peak_parse = std::max(peak_parse, PeakRssMb());
    lines += parsed.resources.size();
    bytes += text.size();
    ResetPeak();
    t0 = Clock::now();
    ImportSummary sum = Must(assessor->Import(platform, "ndjson", std::move(parsed), "bench"), "Assessor::Import");
    store_s += Since(t0);
    peak_store = std::max(peak_store, PeakRssMb());
    stored += sum.resources;
    problems += sum.problems;
    for (const auto& [t, n] : sum.by_type) by_type[t] += n;
    if (sum.problems) std::printf("  %s: %" PRIu64 " problems, first: %s\n", platform.c_str(), sum.problems,
                                  sum.first_problems.empty() ? "" : sum.first_problems[0].message.c_str());
  };
  {
    std::string all;
    for (size_t pi = 0; pi < Platforms().size(); ++pi) {
      const Platform& p = Platforms()[pi];
      auto t0 = Clock::now();
      std::string text;
      text.reserve(per_platform * 450);
      for (const auto& share : p.kubernetes ? std::vector<TypeShare>(std::begin(kK8s), std::end(kK8s))
                                            : std::vector<TypeShare>(std::begin(kIaas), std::end(kIaas))) {
        const size_t n = CountOf(p, share.type, per_platform);
        for (size_t i = 0; i < n; ++i) Line(rng, p, pi, share.type, i, per_platform, text);
      }
      gen_s += Since(t0);
      if (one_import) {
        all += text;
      } else {
        import_one(p.id, text);
      }
    }
    if (one_import) {
      // Every line names its own platform in this mode: rewrite `{"type"` to add it is not
      // needed, the importer's --platform default applies to all of them.
      import_one("bulk", all);
    }
  }
  import_one("cloudpact", cp_text);
  const double db_mb = static_cast<double>(DirBytes(dir)) / 1e6;
  std::printf("\nimport: %" PRIu64 " resources (%" PRIu64 " problems), %.0f MB of NDJSON (%.0f bytes/line); database %.0f MB\n",
              stored, problems, static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / static_cast<double>(lines), db_mb);
  for (const auto& [t, n] : by_type) std::printf("  %-18s %8" PRIu64 "\n", t.c_str(), n);
  std::printf("  generate NDJSON (not counted)   %6.2f s\n", gen_s);
  std::printf("  ImportNdjson (parse)            %6.2f s  %9.0f resources/s  %6.1f MB/s  peak RSS %5.0f MB\n", parse_s,
              static_cast<double>(lines) / parse_s, static_cast<double>(bytes) / 1e6 / parse_s, peak_parse);
  std::printf("  Assessor::Import (store)        %6.2f s  %9.0f resources/s               peak RSS %5.0f MB\n", store_s,
              static_cast<double>(stored) / store_s, peak_store);
  std::printf("  both                            %6.2f s  %9.0f resources/s\n", parse_s + store_s,
              static_cast<double>(stored) / (parse_s + store_s));
  std::fflush(stdout);
  if (no_run) {
    if (!keep) fs::remove_all(dir);
    return 0;
  }

  // --- run ---
  std::printf("\nrunning the assessment (pid %d)\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  ResetPeak();
  const double rss_before = RssMb();
  auto cpu = [] {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return std::pair<double, double>(static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
                                     static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6);
  };
  const auto cpu0 = cpu();
  auto t0 = Clock::now();
  Run run = Must(assessor->RunAssessment({"", "", "bench"}), "RunAssessment");
  const double wall = Since(t0);
  const auto cpu1 = cpu();
  const double peak_run = PeakRssMb();
  std::vector<double> secs;
  std::vector<std::pair<double, std::string>> slow;
  std::map<std::string, double> by_table;
  uint64_t pass = 0, fail = 0, manual = 0, error = 0, na = 0;
  for (const auto& [id, s] : run.checks) {
    secs.push_back(s.seconds);
    slow.emplace_back(s.seconds, id);
    const Check* c = assessor->FindCheck(id);
    std::string types;
    for (const auto& t : c->resource_types) types += (types.empty() ? "" : "+") + t;
    by_table[types] += s.seconds;
    pass += s.pass;
    fail += s.fail;
    manual += s.manual;
    error += s.error;
    na += s.not_applicable;
    if (s.error) std::printf("  ERROR in %s: %s\n", id.c_str(), s.error_message.c_str());
  }
  double sum = 0;
  for (double s : secs) sum += s;
  std::sort(slow.rbegin(), slow.rend());
  std::printf("\nrun: %" PRIu64 " resources x %zu checks: %.2f s wall (target 60 s: %s)\n", run.resources,
              run.checks.size(), wall, wall <= 60 ? "met" : "MISSED");
  std::printf("  CPU time of the run: user %.1f s, system %.1f s (the machine is shared: compare CPU time between runs)\n",
              cpu1.first - cpu0.first, cpu1.second - cpu0.second);
  std::printf("  rows judged %" PRIu64 ": PASS %" PRIu64 ", FAIL %" PRIu64 ", MANUAL %" PRIu64 ", ERROR %" PRIu64
              ", NOT_APPLICABLE %" PRIu64 "\n",
              pass + fail + manual + error + na, pass, fail, manual, error, na);
  std::printf("  results kept (non-PASS): %zu; requirements rolled up: %zu; ledger index %" PRIu64 "\n",
              run.results.size(), run.requirements.size(), run.ledger_index);
  std::printf("  checks' SQL: sum %.2f s over %d threads (= %.2f s if perfectly shared); the rest of the wall time "
              "(%.2f s) is after the queries: result ids, sort, uid lookups, document, digest, storing results, ledger\n",
              sum, threads, sum / threads, wall - sum / threads);
  std::printf("  per check: min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f s\n", Percentile(secs, 0),
              Percentile(secs, 0.5), Percentile(secs, 0.9), Percentile(secs, 0.99), Percentile(secs, 1));
  std::printf("  slowest:");
  for (size_t i = 0; i < std::min<size_t>(8, slow.size()); ++i) std::printf(" %s %.2fs;", slow[i].second.c_str(), slow[i].first);
  std::vector<std::pair<uint64_t, std::string>> most;
  for (const auto& [id, s] : run.checks) most.emplace_back(s.fail + s.manual + s.error + s.not_applicable, id);
  std::sort(most.rbegin(), most.rend());
  std::printf("\n  most results kept:");
  for (size_t i = 0; i < std::min<size_t>(8, most.size()); ++i) std::printf(" %s %" PRIu64 ";", most[i].second.c_str(), most[i].first);
  std::printf("\n  seconds by the types read:");
  for (const auto& [t, s] : by_table) std::printf(" %s %.1f;", t.c_str(), s);
  std::printf("\n  RSS before the run %.0f MB, peak during the run %.0f MB\n", rss_before, peak_run);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("process: peak RSS %.0f MB, CPU user %.1f s, system %.1f s\n", static_cast<double>(ru.ru_maxrss) / 1024.0,
              static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
              static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6);
  if (!keep) fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace cloudpact::assess

int main(int argc, char** argv) { return cloudpact::assess::Main(argc, argv); }
