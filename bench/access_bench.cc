// Authorization check benchmarks (Google Benchmark): AccessService::CheckAt with 10,000
// staff, 100,000 resources and 50,000 active grants. Figures and the command are in
// docs/BENCHMARKS.md ("Authorization checks").
//
// Setup runs once per process, through the real APIs: the policy is proposed, the directory
// applied, and every grant is a CreateRequest followed by the AddReview calls its approval
// rules need, including the tenant's Ed25519-signed approval when the scope holds tenant
// data. The grants are made in shards and the service under test is then loaded from
// storage (see BuildGrants for why). Storage is SQLite on /dev/shm (tmpfs), so that fsync
// does not dominate setup; checks never touch storage anyway.
//
// Environment:
//   CLOUDPACT_ACCESS_BENCH_SCALE  scales staff, resources and grants (default 1; e.g. 0.1)
//   CLOUDPACT_ACCESS_BENCH_SHARD  grants per shard (default 1000; 0: one service for all)
//   CLOUDPACT_CEDAR_EXPORT_DIR    also write the dataset as Cedar entities, policies and the
//                                 sampled checks with cloudpact's decisions, for
//                                 bench/cedar/cedar_bench.mjs
//   CLOUDPACT_CEDAR_CHECKS        how many checks to export (default 200,000)
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "access/access.h"
#include "access/policy.h"
#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "directory/directory.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact {
namespace {

namespace fs = std::filesystem;
using access::AccessService;
using access::Decision;
using access::Permission;
using access::Policy;
using access::Role;
using directory::Resource;
using directory::Staff;
using directory::StaffKind;
using Clock = std::chrono::steady_clock;

// 10 roles: standing permissions with selectors (labels, tenants, tenant_data, platforms,
// applies_to) and just-in-time ones; three approval rules on top of the default one.
constexpr const char* kPolicy = R"(request_ttl: 12h
default_max_duration: 8h
roles:
  - name: viewer
    permissions:
      - {actions: [metrics:read], resources: {}, standing: true}
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*", exec], resources: {types: [host]}}
      - {actions: [logs:read], resources: {types: [host], labels: {env: dev}}, standing: true}
      - {actions: [logs:read, metrics:read], resources: {types: [host, cluster], tenants: [provider]}, standing: true}
  - name: dba
    privileged: true
    permissions:
      - {actions: [login:dba, "db:*"], resources: {types: [database]}}
      - {actions: [db:stats], resources: {types: [database], tenant_data: false}, standing: true}
  - name: k8s-operator
    privileged: true
    permissions:
      - {actions: ["k8s:*"], resources: {types: [cluster]}}
      - {actions: [k8s:get, k8s:list], resources: {types: [cluster], platforms: [k8s-sh]}, standing: true}
  - name: storage-admin
    privileged: true
    permissions:
      - {actions: ["bucket:*"], resources: {types: [bucket]}}
      - {actions: [bucket:list], resources: {types: [bucket], tenants: [provider]}, standing: true}
  - name: network
    privileged: true
    applies_to: internal
    permissions:
      - {actions: ["net:*"], resources: {types: [host, cluster]}}
      - {actions: [net:read], resources: {types: [host], labels: {env: prod}}, standing: true}
  - name: support
    permissions:
      - {actions: [login:support, logs:read], resources: {types: [host], tenants: ["*"]}}
      - {actions: [ticket:read], resources: {tenants: ["*"]}, standing: true}
  - name: oncall
    privileged: true
    permissions:
      - {actions: ["*"], resources: {}}
  - name: lead
    admin: [access:review]
  - name: security-admin
    admin: [access:review, policy:propose, policy:approve, directory:write]
approval_rules:
  - name: prod
    match: {resources: {labels: {env: prod}}}
    require: {approvals: 2, approver_roles: [lead], max_duration: 4h}
  - name: outsourced-on-databases
    match: {resources: {types: [database]}, applies_to: outsourced}
    require: {approvals: 2, approver_roles: [lead, security-admin], distinct_organisations: 2}
  - name: critical
    match: {resources: {}, min_risk: critical}
    require: {approvals: 2, max_duration: 2h}
separation_of_duties:
  role_conflicts:
    - {roles: [dba, security-admin], reason: "administrators do not operate databases"}
  approval_conflicts:
    - {requester_role: dba, approver_role: dba, reason: "DBAs do not approve each other"}
break_glass:
  roles: [oncall]
  max_duration: 2h
  review_within: 24h
  reviewer_roles: [security-admin]
)";

// Every concrete action the dataset uses; patterns in the policy match subsets of them.
const std::vector<std::string> kActions = {
    "login:root", "login:admin", "login:dba", "login:support", "exec",      "metrics:read", "logs:read",
    "db:read",    "db:write",    "db:stats",  "k8s:get",       "k8s:list",  "k8s:exec",     "k8s:delete",
    "bucket:list", "bucket:read", "bucket:write", "net:read",  "net:write", "ticket:read"};
const std::vector<std::string> kCompanies = {"Contoso", "Initech", "Umbrella", "Hooli", "Vandelay"};

constexpr int64_t kT0 = 1'800'000'000;  // 2027-01-15T08:00:00Z; grants are created at this time
constexpr int64_t kNow = kT0 + 1800;    // and checked half an hour later

enum Category { kGrant = 0, kStanding = 1, kDenied = 2 };
const char* const kCategoryNames[] = {"grant", "standing", "denied"};

struct CheckCase {
  std::string principal, action, resource;
  bool allow = false;
  int category = kDenied;
};

double EnvDouble(const char* name, double def) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : def;
}

crypto::Ed25519PrivateKey TenantKey(int i) {
  return *crypto::Ed25519PrivateKey::FromSeed(std::string(31, 'k') + static_cast<char>(i + 1));
}

std::string Num(const char* prefix, int i, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%0*d", prefix, width, i);
  return buf;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "access_bench: %s: %s\n", what, r.error().message.c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void MustOk(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "access_bench: %s: %s\n", what, st.error().message.c_str());
    std::exit(1);
  }
}

// The storage directory, removed at exit.
fs::path g_storage_dir;
void RemoveStorageDir() {
  std::error_code ec;
  if (!g_storage_dir.empty()) fs::remove_all(g_storage_dir, ec);
}

// SIGINT and SIGTERM remove it too: they are blocked in every thread and a thread of their
// own waits for them, so the removal does not run inside a signal handler.
void RemoveStorageDirOnSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    sigwait(&set, &sig);
    RemoveStorageDir();
    std::_Exit(128 + sig);
  }).detach();
}

// ---------------------------------------------------------------------------------------
// The dataset, built once per process.

struct Dataset {
  fs::path dir;
  std::unique_ptr<storage::Storage> store;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<directory::Directory> directory;
  std::unique_ptr<AccessService> svc;
  std::atomic<int64_t> clock{kT0};

  directory::DirectorySpec spec;
  std::shared_ptr<const Policy> policy;
  std::vector<std::string> reviewers;  // leads, organisations interleaved
  std::unordered_map<std::string, int> approver_of_tenant;  // tenant id → key index
  std::vector<access::AccessRequest> grants;          // active at kNow
  std::vector<access::AccessRequest> expired_grants;  // still "active" in state, lapsed by kNow
  std::vector<CheckCase> pools[3];
  std::vector<const CheckCase*> seq;  // the check mix, in the order the benchmarks walk it
  int64_t commits = 0;

  ~Dataset() {
    if (ledger) ledger->Stop();
    svc.reset();
    directory.reset();
    ledger.reset();
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void BuildDirectory(Dataset& d, std::mt19937_64& rng, int n_staff, int n_resources) {
  auto& spec = d.spec;
  spec.platforms = {{"os-bj", "Beijing OpenStack", "openstack"}, {"k8s-sh", "Shanghai Kubernetes", "kubernetes"}};
  for (int t = 0; t < 20; ++t) {
    std::string tid = Num("t", t, 2);
    spec.tenants.push_back({tid, "Tenant " + tid, ""});
    spec.approvers.push_back({tid + "-approver", "Approver of " + tid, tid, TenantKey(t).public_key(), ""});
    d.approver_of_tenant[tid] = t;
  }
  const char* types[] = {"host", "database", "bucket", "cluster"};
  const int type_weights[] = {45, 20, 20, 15};
  const char* envs[] = {"prod", "staging", "dev"};
  for (int i = 0; i < n_resources; ++i) {
    Resource r;
    r.id = Num("r-", i, 6);
    int w = rng() % 100, t = 0;
    while (w >= type_weights[t]) w -= type_weights[t++];
    r.type = types[t];
    r.platform = (r.type == "cluster" ? rng() % 10 < 8 : rng() % 10 < 4) ? "k8s-sh" : "os-bj";
    int e = rng() % 10;
    r.labels["env"] = envs[e < 4 ? 0 : e < 6 ? 1 : 2];
    r.labels["team"] = Num("team-", rng() % 8, 1);
    if (rng() % 10 < 4) {
      r.tenant = Num("t", rng() % 20, 2);
      r.tenant_data = r.type == "database" || r.type == "bucket" || rng() % 2 == 0;
    }
    int k = rng() % 100;
    r.risk = k < 40 ? directory::Risk::kLow : k < 75 ? directory::Risk::kMedium : k < 95 ? directory::Risk::kHigh
                                                                                       : directory::Risk::kCritical;
    spec.resources.push_back(std::move(r));
  }
  const char* ops[] = {"sre", "dba", "k8s-operator", "storage-admin", "support", "network", "oncall"};
  const int op_weights[] = {30, 15, 15, 12, 15, 8, 5};
  auto pick_op = [&] {
    int w = rng() % 100, o = 0;
    while (w >= op_weights[o]) w -= op_weights[o++];
    return std::string(ops[o]);
  };
  std::vector<std::vector<std::string>> leads_by_org(1 + kCompanies.size());
  for (int i = 0; i < n_staff; ++i) {
    Staff s;
    s.id = Num("u", i, 5);
    s.name = "Staff " + s.id;
    int org = 0;
    if (rng() % 10 < 3) {
      org = 1 + rng() % kCompanies.size();
      s.kind = StaffKind::kOutsourced;
      s.organisation = kCompanies[org - 1];
    }
    std::set<std::string> roles;
    if (rng() % 50 != 0) roles.insert(pick_op());
    if (rng() % 10 < 3) roles.insert(pick_op());
    if (rng() % 2 == 0) roles.insert("viewer");
    bool lead = rng() % 100 < 6;
    if (lead) roles.insert("lead");
    if (s.kind == StaffKind::kInternal && rng() % 200 == 0 && !roles.count("dba")) roles.insert("security-admin");
    s.roles.assign(roles.begin(), roles.end());
    s.disabled = rng() % 100 == 0;
    if (lead && !s.disabled) leads_by_org[org].push_back(s.id);
    spec.staff.push_back(std::move(s));
  }
  // Reviewers in rotation, one per organisation in turn, so that any two consecutive ones
  // come from two organisations.
  size_t rounds = 0;
  for (const auto& v : leads_by_org) rounds = std::max(rounds, v.size());
  for (size_t i = 0; i < rounds; ++i) {
    for (const auto& v : leads_by_org) {
      if (!v.empty()) d.reviewers.push_back(v[i % v.size()]);
    }
  }
}

// Candidate resources per permission, computed on first use.
struct Candidates {
  const std::vector<Resource>& resources;
  std::unordered_map<const Permission*, std::vector<int>> by_perm;
  const std::vector<int>& For(const Permission* p) {
    auto it = by_perm.find(p);
    if (it != by_perm.end()) return it->second;
    std::vector<int> v;
    for (size_t i = 0; i < resources.size(); ++i) {
      if (p->resources.Matches(resources[i])) v.push_back(static_cast<int>(i));
    }
    return by_perm[p] = std::move(v);
  }
};

std::vector<std::string> ActionsMatching(const Permission& p) {
  std::vector<std::string> out;
  for (const auto& a : kActions) {
    if (access::AnyActionMatches(p.actions, a)) out.push_back(a);
  }
  return out;
}

// A staff member's permissions of one kind (standing or not) that apply to them.
std::vector<const Permission*> PermissionsOf(const Policy& pol, const Staff& s, bool standing) {
  std::vector<const Permission*> out;
  for (const auto& rn : s.roles) {
    const Role* role = pol.FindRole(rn);
    if (!role || !access::AppliesToStaff(role->applies_to, s.kind)) continue;
    for (const auto& p : role->permissions) {
      if (p.standing == standing) out.push_back(&p);
    }
  }
  return out;
}

// Requests, then approves, one grant: the reviewers in rotation until the request is
// active, and the tenants' signatures where the scope holds tenant data.
bool Grant(Dataset& d, AccessService& svc, const std::string& requester, std::vector<std::string> resources,
           std::vector<std::string> actions, size_t rotation, access::AccessRequest* out) {
  access::NewRequest req;
  req.resources = std::move(resources);
  req.actions = std::move(actions);
  req.reason = "maintenance";
  req.justification = "benchmark dataset";
  req.ticket = "CHG-" + std::to_string(rotation);
  auto r = svc.CreateRequest(requester, req);
  if (!r.ok()) {
    std::fprintf(stderr, "access_bench: request by %s: %s\n", requester.c_str(), r.error().message.c_str());
    return false;
  }
  ++d.commits;
  access::AccessRequest cur = *r;
  const std::vector<std::string> tenants = cur.tenants_required;
  for (const auto& t : tenants) {
    int key = d.approver_of_tenant.at(t);
    access::NewReview v{"approve", "", TenantKey(key).Sign(access::ReviewMessage("approve", cur.digest))};
    cur = Must(svc.AddReview(cur.id, t + "-approver", v), "tenant approval");
    ++d.commits;
  }
  for (size_t k = 0; cur.state == access::State::kPending && k < 16; ++k) {
    const std::string& who = d.reviewers[(rotation + k) % d.reviewers.size()];
    if (who == requester) continue;
    auto v = svc.AddReview(cur.id, who, access::NewReview{"approve", "ok", ""});
    if (!v.ok()) continue;  // e.g. separation of duties: the next reviewer in rotation
    ++d.commits;
    cur = *v;
  }
  if (cur.state != access::State::kActive) {
    std::fprintf(stderr, "access_bench: %s was not granted\n", cur.id.c_str());
    return false;
  }
  *out = std::move(cur);
  return true;
}

// Record kinds AccessService stores its policies and requests under (access.cc); Build()
// checks afterwards that the service under test loaded every grant.
constexpr const char* kPolicyKind = "access.policy";
constexpr const char* kRequestKind = "access.request";

// Creates the grants through the real API. AccessService rebuilds its whole index of active
// grants on every state change (IndexActive, under its exclusive lock), so one service
// creating 51,000 grants takes time quadratic in their number: over three hours on the
// benchmark VM. The grants are therefore made in shards of `shard` grants, each by a
// short-lived AccessService on a scratch store beside the same directory, ledger and policy;
// its request records are then copied into the main store, and the service under test is
// loaded from it as a restarted server would be. shard = 0: one service makes them all.
void BuildGrants(Dataset& d, std::mt19937_64& rng, int n_grants, int n_expired, int shard) {
  Candidates cands{d.spec.resources, {}};
  struct Option {
    const Staff* staff;
    std::vector<const Permission*> perms;
  };
  std::vector<Option> options;
  for (const auto& s : d.spec.staff) {
    if (s.disabled) continue;
    auto perms = PermissionsOf(*d.policy, s, false);
    if (!perms.empty()) options.push_back({&s, std::move(perms)});
  }
  const auto policy_records = Must(d.store->ListRecords(kPolicyKind), "list policies");
  auto t = Clock::now();
  auto last = t;
  const int total = n_expired + n_grants;
  const int per_shard = shard > 0 ? shard : total;
  for (int start = 0; start < total; start += per_shard) {
    std::unique_ptr<storage::Storage> scratch;
    std::unique_ptr<AccessService> owned;
    AccessService* svc = d.svc.get();
    const fs::path scratch_path = d.dir / ("shard-" + std::to_string(start));
    if (shard > 0) {
      scratch = Must(storage::Storage::Open("sqlite:" + scratch_path.string()), "scratch storage");
      std::vector<storage::RecordWrite> writes;
      for (const auto& r : policy_records) writes.push_back({r.kind, r.id, r.body});
      MustOk(scratch->WriteRecords(writes), "copy policy");
      owned = Must(AccessService::Load(*scratch, *d.ledger, *d.directory, [&d] { return d.clock.load(); }),
                   "shard service");
      svc = owned.get();
    }
    for (int i = start; i < std::min(total, start + per_shard); ++i) {
      // The lapsed grants first, nine hours earlier: every duration the policy allows (at
      // most 8h) has run out by kNow, but no sweep (Tick) has marked them expired.
      d.clock = i < n_expired ? kT0 - 9 * 3600 : kT0;
      const Option& o = options[rng() % options.size()];
      const Permission* p = o.perms[rng() % o.perms.size()];
      const auto& rs = cands.For(p);
      const auto acts = ActionsMatching(*p);
      int nr = rng() % 10 < 7 ? 1 : rng() % 3 == 0 ? 3 : 2;
      int na = rng() % 10 < 7 ? 1 : 2;
      std::vector<std::string> resources, actions;
      for (int k = 0; k < nr; ++k) resources.push_back(d.spec.resources[rs[rng() % rs.size()]].id);
      for (int k = 0; k < na; ++k) actions.push_back(acts[rng() % acts.size()]);
      access::AccessRequest g;
      if (!Grant(d, *svc, o.staff->id, resources, actions, rng(), &g)) std::exit(1);
      (i < n_expired ? d.expired_grants : d.grants).push_back(std::move(g));
      if (Seconds(last) > 30) {
        last = Clock::now();
        std::fprintf(stderr, "access_bench: %d/%d grants, %.0f s\n", i + 1, total, Seconds(t));
      }
    }
    if (scratch) {
      auto records = Must(scratch->ListRecords(kRequestKind), "list requests");
      std::vector<storage::RecordWrite> writes;
      for (const auto& r : records) writes.push_back({r.kind, r.id, r.body});
      MustOk(d.store->WriteRecords(writes), "copy requests");
      owned.reset();
      scratch.reset();
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(scratch_path.string() + suffix);
    }
  }
  d.clock = kT0;
}

// Check cases in three pools, each case filed under the decision cloudpact gives.
void BuildChecks(Dataset& d, std::mt19937_64& rng, size_t per_pool, size_t seq_len) {
  Candidates cands{d.spec.resources, {}};
  std::vector<const Staff*> enabled, disabled;
  for (const auto& s : d.spec.staff) (s.disabled ? disabled : enabled).push_back(&s);
  auto file = [&](CheckCase c) {
    Decision dec = d.svc->CheckAt(c.principal, c.action, c.resource, kNow);
    c.allow = dec.allow;
    c.category = !dec.allow ? kDenied : !dec.grant.empty() ? kGrant : kStanding;
    auto& pool = d.pools[c.category];
    if (pool.size() < per_pool) pool.push_back(std::move(c));
  };
  auto full = [&](int c) { return d.pools[c].size() >= per_pool; };
  const auto& R = d.spec.resources;
  for (size_t guard = 0; !(full(0) && full(1) && full(2)) && guard < 100 * per_pool; ++guard) {
    if (!full(kGrant)) {
      const auto& g = d.grants[rng() % d.grants.size()];
      file({g.requester, g.actions[rng() % g.actions.size()], g.resources[rng() % g.resources.size()]});
    }
    if (!full(kStanding)) {
      const Staff* s = enabled[rng() % enabled.size()];
      auto perms = PermissionsOf(*d.policy, *s, true);
      if (!perms.empty()) {
        const Permission* p = perms[rng() % perms.size()];
        const auto& rs = cands.For(p);
        auto acts = ActionsMatching(*p);
        if (!rs.empty()) file({s->id, acts[rng() % acts.size()], R[rs[rng() % rs.size()]].id});
      }
    }
    if (!full(kDenied)) {
      int kind = rng() % 100;
      const std::string& any_action = kActions[rng() % kActions.size()];
      if (kind < 45) {  // anyone, anything, anywhere: mostly nothing covers it
        file({enabled[rng() % enabled.size()]->id, any_action, R[rng() % R.size()].id});
      } else if (kind < 70) {  // a granted resource, another action
        const auto& g = d.grants[rng() % d.grants.size()];
        file({g.requester, any_action, g.resources[rng() % g.resources.size()]});
      } else if (kind < 85) {  // exactly what a lapsed grant covered
        const auto& g = d.expired_grants[rng() % d.expired_grants.size()];
        file({g.requester, g.actions[rng() % g.actions.size()], g.resources[rng() % g.resources.size()]});
      } else if (kind < 95 && !disabled.empty()) {  // a disabled account
        const Staff* s = disabled[rng() % disabled.size()];
        auto perms = PermissionsOf(*d.policy, *s, true);
        if (!perms.empty()) {
          const Permission* p = perms[rng() % perms.size()];
          const auto& rs = cands.For(p);
          file({s->id, ActionsMatching(*p)[0], R[rs[rng() % rs.size()]].id});
        }
      } else if (kind < 98) {  // someone the directory does not know
        file({"ghost-" + std::to_string(rng() % 100), any_action, R[rng() % R.size()].id});
      } else {  // a resource the directory does not know
        file({enabled[rng() % enabled.size()]->id, "metrics:read", "r-missing-" + std::to_string(rng() % 100)});
      }
    }
  }
  for (int c = 0; c < 3; ++c) {
    if (d.pools[c].empty()) {
      std::fprintf(stderr, "access_bench: no %s checks could be built\n", kCategoryNames[c]);
      std::exit(1);
    }
  }
  d.seq.reserve(seq_len);
  for (size_t i = 0; i < seq_len; ++i) {
    const auto& pool = d.pools[rng() % 3];
    d.seq.push_back(&pool[rng() % pool.size()]);
  }
}

// ---------------------------------------------------------------------------------------
// The same dataset for Cedar.
//
// Standing permissions become one static policy each, `principal in Role::"<role>"`,
// with the selector as `when` conditions on resource attributes and the role's applies_to
// on principal.kind. Action patterns become action groups: a concrete action is a member of
// every "prefix:*" group that matches it, and "*" leaves the action unconstrained. Grants
// become one static policy each (see bench/cedar/cedar_bench.mjs for why). A disabled
// account is a forbid.

std::string Q(const std::string& s) {  // Cedar string literal
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string Uid(const char* type, const std::string& id) { return std::string(type) + "::" + Q(id); }

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string OneOf(const std::string& expr, const std::vector<std::string>& values) {
  if (values.size() == 1) return expr + " == " + Q(values[0]);
  std::vector<std::string> q;
  for (const auto& v : values) q.push_back(Q(v));
  return "[" + Join(q, ", ") + "].contains(" + expr + ")";
}

std::string ActionScope(const std::vector<std::string>& patterns) {
  std::vector<std::string> uids;
  for (const auto& p : patterns) {
    if (p == "*") return "action";
    uids.push_back(Uid("Action", p));
  }
  return "action in [" + Join(uids, ", ") + "]";
}

std::string SelectorConditions(const access::Selector& s) {
  // cloudpact denies a resource the directory does not know before it looks at roles; so
  // must Cedar, even for an empty selector: an unknown resource has no attributes.
  std::vector<std::string> c = {"resource has type"};
  if (!s.platforms.empty()) c.push_back(OneOf("resource.platform", s.platforms));
  if (!s.types.empty()) c.push_back(OneOf("resource.type", s.types));
  if (!s.tenants.empty()) {
    std::vector<std::string> alt;
    for (const auto& t : s.tenants) {
      alt.push_back(t == "provider" ? "resource.tenant == \"\""
                    : t == "*"      ? "resource.tenant != \"\""
                                    : "resource.tenant == " + Q(t));
    }
    c.push_back(alt.size() == 1 ? alt[0] : "(" + Join(alt, " || ") + ")");
  }
  if (!s.ids.empty()) {
    std::vector<std::string> uids;
    for (const auto& id : s.ids) uids.push_back(Uid("Resource", id));
    c.push_back("[" + Join(uids, ", ") + "].contains(resource)");
  }
  for (const auto& [k, v] : s.labels) {
    c.push_back("(resource.labels has " + Q(k) + " && resource.labels[" + Q(k) + "] == " + Q(v) + ")");
  }
  if (s.tenant_data) c.push_back(*s.tenant_data ? "resource.tenant_data" : "!resource.tenant_data");
  return Join(c, " && ");
}

std::string GrantPolicy(const access::AccessRequest& g) {
  std::vector<std::string> actions, resources;
  for (const auto& a : g.actions) actions.push_back(Uid("Action", a));
  for (const auto& r : g.resources) resources.push_back(Uid("Resource", r));
  std::string scope = "permit (principal == " + Uid("Staff", g.requester) + ", action in [" + Join(actions, ", ") + "], ";
  std::string when;
  if (resources.size() == 1) {
    scope += "resource == " + resources[0] + ")";
  } else {
    scope += "resource)";
    when = "[" + Join(resources, ", ") + "].contains(resource) && ";
  }
  return scope + " when { " + when + "context.now >= " + std::to_string(g.granted) +
         " && context.now < " + std::to_string(g.grant_expires) + " };";
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) {
    std::fprintf(stderr, "access_bench: cannot write %s\n", p.c_str());
    std::exit(1);
  }
}

void ExportCedar(const Dataset& d, const fs::path& out, size_t n_checks) {
  fs::create_directories(out);
  const Policy& pol = *d.policy;
  // Action groups: every wildcard pattern the policy names.
  std::set<std::string> groups;
  for (const auto& role : pol.roles) {
    for (const auto& p : role.permissions) {
      for (const auto& a : p.actions) {
        if (a != "*" && a.back() == '*') groups.insert(a);
      }
    }
  }
  Json entities = Json::array();
  auto euid = [](const char* type, const std::string& id) { return Json{{"type", type}, {"id", id}}; };
  for (const auto& a : kActions) {
    Json parents = Json::array();
    for (const auto& g : groups) {
      if (access::ActionMatches(g, a)) parents.push_back(euid("Action", g));
    }
    entities.push_back({{"uid", euid("Action", a)}, {"attrs", Json::object()}, {"parents", parents}});
  }
  for (const auto& s : d.spec.staff) {
    Json parents = Json::array();
    for (const auto& r : s.roles) parents.push_back(euid("Role", r));
    entities.push_back({{"uid", euid("Staff", s.id)},
                        {"attrs",
                         {{"kind", s.kind == StaffKind::kInternal ? "internal" : "outsourced"},
                          {"organisation", s.organisation},
                          {"disabled", s.disabled}}},
                        {"parents", parents}});
  }
  for (const auto& r : d.spec.resources) {
    Json labels = Json::object();
    for (const auto& [k, v] : r.labels) labels[k] = v;
    entities.push_back({{"uid", euid("Resource", r.id)},
                        {"attrs",
                         {{"platform", r.platform},
                          {"type", r.type},
                          {"tenant", r.tenant},
                          {"tenant_data", r.tenant_data},
                          {"risk", std::string(directory::RiskName(r.risk))},
                          {"labels", labels}}},
                        {"parents", Json::array()}});
  }
  WriteFile(out / "entities.json", entities.dump());

  Json standing = Json::object();
  standing["forbid:disabled"] = "forbid (principal, action, resource) when { principal.disabled };";
  for (const auto& role : pol.roles) {
    for (size_t i = 0; i < role.permissions.size(); ++i) {
      const auto& p = role.permissions[i];
      if (!p.standing) continue;
      std::string when = SelectorConditions(p.resources);
      if (role.applies_to == access::AppliesTo::kInternal) when = "principal.kind == \"internal\" && " + when;
      if (role.applies_to == access::AppliesTo::kOutsourced) when = "principal.kind == \"outsourced\" && " + when;
      standing["role:" + role.name + ":" + std::to_string(i)] =
          "permit (principal in " + Uid("Role", role.name) + ", " + ActionScope(p.actions) + ", resource) when { " +
          when + " };";
    }
  }
  // Every grant in state "active", including those whose time has run out (Cedar must deny
  // them from the times alone, as cloudpact does).
  Json grants = Json::object();
  size_t n_grants = 0;
  for (const auto* list : {&d.grants, &d.expired_grants}) {
    for (const auto& g : *list) {
      if (!g.window_sets.empty()) {
        std::fprintf(stderr, "access_bench: grant %s has time windows, which the export does not model\n", g.id.c_str());
        std::exit(1);
      }
      grants[g.requester]["grant:" + g.id] = GrantPolicy(g);
      ++n_grants;
    }
  }
  WriteFile(out / "policies.json", Json{{"standing", standing}, {"grants_by_principal", grants}}.dump());

  Json checks = Json::array();
  for (size_t i = 0; i < n_checks && i < d.seq.size(); ++i) {
    const CheckCase& c = *d.seq[i];
    checks.push_back({c.principal, c.action, c.resource, c.allow ? 1 : 0, kCategoryNames[c.category]});
  }
  Json meta = {{"now", kNow},
               {"staff", d.spec.staff.size()},
               {"resources", d.spec.resources.size()},
               {"active_grants", d.grants.size()},
               {"lapsed_grants", d.expired_grants.size()},
               {"grant_policies", n_grants},
               {"standing_policies", standing.size()}};
  WriteFile(out / "checks.json", Json{{"meta", meta}, {"checks", checks}}.dump());
  std::fprintf(stderr, "access_bench: exported %zu entities, %zu standing + %zu grant policies, %zu checks to %s\n",
               entities.size(), standing.size(), n_grants, checks.size(), out.c_str());
}

Dataset* Build() {
  const double scale = EnvDouble("CLOUDPACT_ACCESS_BENCH_SCALE", 1.0);
  const int n_staff = static_cast<int>(10000 * scale), n_resources = static_cast<int>(100000 * scale);
  const int n_grants = static_cast<int>(50000 * scale), n_expired = std::max(1, static_cast<int>(1000 * scale));
  auto* d = new Dataset;
  std::mt19937_64 rng(20261127);
  const auto t0 = Clock::now();
  fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  d->dir = base / ("cloudpact-access-bench-" + std::to_string(::getpid()));
  fs::remove_all(d->dir);
  fs::create_directories(d->dir);
  g_storage_dir = d->dir;
  std::atexit(RemoveStorageDir);
  d->store = Must(storage::Storage::Open("sqlite:" + (d->dir / "db").string()), "storage");
  d->ledger = Must(ledger::Ledger::Open(*d->store, crypto::NoteSigner("bench.example/log",
                                                                      crypto::Ed25519PrivateKey::Generate()),
                                        {}),
                   "ledger");
  d->directory = Must(directory::Directory::Load(*d->store, *d->ledger), "directory");
  d->svc = Must(AccessService::Load(*d->store, *d->ledger, *d->directory, [d] { return d->clock.load(); }), "access");
  Must(d->svc->ProposePolicy(kPolicy, "bench-admin"), "policy");
  d->policy = d->svc->policy();
  d->directory->SetStaffValidator([d](const Staff& s) { return d->svc->ValidateStaff(s); });

  BuildDirectory(*d, rng, n_staff, n_resources);
  auto t = Clock::now();
  auto applied = Must(d->directory->Apply(d->spec, "bench-admin"), "directory apply");
  std::fprintf(stderr, "access_bench: storage on %s; directory: %d staff, %d resources, 20 tenants, %zu reviewers; "
                       "applied (%d records ledgered) in %.1f s\n",
               d->dir.c_str(), n_staff, n_resources, d->reviewers.size(), applied.created, Seconds(t));

  t = Clock::now();
  const int shard = static_cast<int>(EnvDouble("CLOUDPACT_ACCESS_BENCH_SHARD", 1000));
  BuildGrants(*d, rng, n_grants, n_expired, shard);
  std::fprintf(stderr, "access_bench: %zu active + %zu lapsed grants through CreateRequest/AddReview "
                       "(%lld state changes, ledger size %llu, shards of %d) in %.1f s\n",
               d->grants.size(), d->expired_grants.size(), static_cast<long long>(d->commits),
               static_cast<unsigned long long>(d->ledger->Size()), shard, Seconds(t));
  if (shard > 0) {
    t = Clock::now();
    d->svc.reset();
    d->svc = Must(AccessService::Load(*d->store, *d->ledger, *d->directory, [d] { return d->clock.load(); }),
                  "access reload");
    std::fprintf(stderr, "access_bench: service under test loaded from storage in %.1f s\n", Seconds(t));
  }
  access::AccessService::ListFilter active;
  active.state = "active";
  if (size_t n = d->svc->List(active).size(); n != d->grants.size() + d->expired_grants.size()) {
    std::fprintf(stderr, "access_bench: the service holds %zu active grants, expected %zu\n", n,
                 d->grants.size() + d->expired_grants.size());
    std::exit(1);
  }

  t = Clock::now();
  BuildChecks(*d, rng, std::max<size_t>(1000, static_cast<size_t>(100000 * std::min(scale, 1.0))), size_t{1} << 20);
  std::fprintf(stderr, "access_bench: check pools grant/standing/denied = %zu/%zu/%zu, mix of %zu, in %.1f s\n",
               d->pools[0].size(), d->pools[1].size(), d->pools[2].size(), d->seq.size(), Seconds(t));

  if (const char* out = std::getenv("CLOUDPACT_CEDAR_EXPORT_DIR"); out && *out) {
    t = Clock::now();
    ExportCedar(*d, out, static_cast<size_t>(EnvDouble("CLOUDPACT_CEDAR_CHECKS", 200000)));
    std::fprintf(stderr, "access_bench: Cedar export in %.1f s\n", Seconds(t));
  }
  std::fprintf(stderr, "access_bench: setup took %.1f s\n", Seconds(t0));
  return d;
}

Dataset& Data() {
  static Dataset* d = Build();
  return *d;
}

// ---------------------------------------------------------------------------------------
// Benchmarks.

// Throughput: the mix, each thread walking its own part of the sequence.
void BM_CheckMix(benchmark::State& state) {
  Dataset& d = Data();
  const size_t n = d.seq.size();
  size_t i = static_cast<size_t>(state.thread_index()) * (n / 2 + 7919);
  int64_t count = 0, wrong = 0;
  auto start = Clock::now();
  const double cpu0 = ThreadCpuSeconds();
  for (auto _ : state) {
    const CheckCase& c = *d.seq[i++ % n];
    Decision dec = d.svc->CheckAt(c.principal, c.action, c.resource, kNow);
    wrong += dec.allow != c.allow;
    ++count;
  }
  const double secs = Seconds(start), cpu = ThreadCpuSeconds() - cpu0;
  state.SetItemsProcessed(count);
  state.counters["checks_per_s_per_thread"] = benchmark::Counter(count / secs, benchmark::Counter::kAvgThreads);
  // Per second of this thread's own CPU time: what a core does when nobody else is on it.
  state.counters["checks_per_cpu_s_per_thread"] = benchmark::Counter(count / cpu, benchmark::Counter::kAvgThreads);
  state.counters["checks_per_s_total"] = benchmark::Counter(count / secs);
  state.counters["wrong_decisions"] = benchmark::Counter(static_cast<double>(wrong));
}
BENCHMARK(BM_CheckMix)->Threads(1)->Threads(2)->UseRealTime();

// Times `samples` checks one by one from the mix and reports percentiles as counters.
void TimeChecks(benchmark::State& state, Dataset& d, size_t samples) {
  const size_t n = d.seq.size();
  std::vector<uint32_t> all(samples);
  std::vector<uint32_t> by_cat[3];
  for (auto& v : by_cat) v.reserve(samples / 2);
  int64_t wrong = 0;
  double secs = 0, cpu = 0, overhead_ns = 0;
  for (auto _ : state) {
    // The timer's own cost (included in every sample; reported, not subtracted).
    {
      const int k = 200000;
      auto a = Clock::now();
      for (int j = 0; j < k; ++j) benchmark::DoNotOptimize(Clock::now());
      overhead_ns = std::chrono::duration<double, std::nano>(Clock::now() - a).count() / k;
    }
    size_t i = static_cast<size_t>(state.thread_index()) * (n / 2 + 7919);
    auto start = Clock::now();
    const double cpu0 = ThreadCpuSeconds();
    for (size_t s = 0; s < samples; ++s) {
      const CheckCase& c = *d.seq[i++ % n];
      auto a = Clock::now();
      Decision dec = d.svc->CheckAt(c.principal, c.action, c.resource, kNow);
      auto b = Clock::now();
      const auto ns = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
      all[s] = ns;
      by_cat[c.category].push_back(ns);
      wrong += dec.allow != c.allow;
    }
    secs = Seconds(start);
    cpu = ThreadCpuSeconds() - cpu0;
  }
  auto pct = [](std::vector<uint32_t>& v, double q) -> double {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  using C = benchmark::Counter;
  state.counters["samples"] = C(static_cast<double>(samples), C::kAvgThreads);
  state.counters["p50_ns"] = C(pct(all, 0.50), C::kAvgThreads);
  state.counters["p90_ns"] = C(pct(all, 0.90), C::kAvgThreads);
  state.counters["p99_ns"] = C(pct(all, 0.99), C::kAvgThreads);
  state.counters["p999_ns"] = C(pct(all, 0.999), C::kAvgThreads);
  state.counters["max_ns"] = C(*std::max_element(all.begin(), all.end()), C::kAvgThreads);
  for (int c = 0; c < 3; ++c) {
    state.counters[std::string(kCategoryNames[c]) + "_p50_ns"] = C(pct(by_cat[c], 0.50), C::kAvgThreads);
    state.counters[std::string(kCategoryNames[c]) + "_p99_ns"] = C(pct(by_cat[c], 0.99), C::kAvgThreads);
  }
  state.counters["timer_ns"] = C(overhead_ns, C::kAvgThreads);
  state.counters["checks_per_s_per_thread"] = C(static_cast<double>(samples) / secs, C::kAvgThreads);
  state.counters["checks_per_cpu_s_per_thread"] = C(static_cast<double>(samples) / cpu, C::kAvgThreads);
  state.counters["wrong_decisions"] = C(static_cast<double>(wrong));
}

// Latency: every call timed on its own with steady_clock; percentiles over all samples
// (per thread; with two threads the counters are the mean of both threads' figures).
void BM_CheckLatency(benchmark::State& state) { TimeChecks(state, Data(), static_cast<size_t>(state.range(0))); }
BENCHMARK(BM_CheckLatency)->Arg(2'000'000)->Iterations(1)->Threads(1)->Threads(2)->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same while another thread keeps changing access state, as a live server does: it
// opens requests for scopes its requesters may ask for and has them denied, so no decision
// changes, but every change is a state change all the same (two per cycle).
void BM_CheckLatencyDuringChanges(benchmark::State& state) {
  Dataset& d = Data();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> changes{0};
  std::thread writer([&] {
    for (size_t i = 0; !stop; ++i) {
      const auto& g = d.grants[(i * 7919) % d.grants.size()];
      access::NewRequest req;
      req.resources = g.resources;
      req.actions = g.actions;
      req.reason = "maintenance";
      req.justification = "benchmark: to be denied";
      auto r = d.svc->CreateRequest(g.requester, req);
      if (!r.ok()) continue;
      ++changes;
      for (size_t k = 0; k < 16 && !stop; ++k) {
        const std::string& who = d.reviewers[(i + k) % d.reviewers.size()];
        if (who != g.requester && d.svc->AddReview(r->id, who, access::NewReview{"deny", "no", ""}).ok()) {
          ++changes;
          break;
        }
      }
    }
  });
  auto start = Clock::now();
  TimeChecks(state, d, static_cast<size_t>(state.range(0)));
  const double secs = Seconds(start);
  stop = true;
  writer.join();
  state.counters["state_changes_per_s"] = benchmark::Counter(static_cast<double>(changes) / secs);
}
BENCHMARK(BM_CheckLatencyDuringChanges)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cloudpact

int main(int argc, char** argv) {
  cloudpact::RemoveStorageDirOnSignals();  // before any other thread starts
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cloudpact::Dataset* d = &cloudpact::Data();  // setup once, before any timing
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete d;
  return 0;
}
