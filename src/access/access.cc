#include "access/access.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/encoding.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace cloudpact::access {

using directory::Resource;
using directory::Risk;
using directory::Snapshot;
using directory::Staff;
using directory::StaffKind;

namespace {

constexpr size_t kMaxPolicyBytes = 48 * 1024;  // the whole text goes into one ledger entry
constexpr size_t kMaxScope = 256;              // resources or actions in one request
constexpr size_t kMaxText = 4096;              // justification, comment
constexpr const char* kRequestKind = "access.request";
constexpr const char* kPolicyKind = "access.policy";
constexpr const char* kActivityKind = "access.activity";
constexpr const char* kCampaignKind = "access.campaign";

std::string Hex(const crypto::Hash& h) { return HexEncode(crypto::AsBytes(h)); }

std::string PolicyId(int64_t version) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012lld", static_cast<long long>(version));
  return buf;
}

Error Invalid(std::string m) { return MakeError(ErrorCode::kInvalidArgument, std::move(m)); }
Error Denied(std::string m) { return MakeError(ErrorCode::kPermissionDenied, std::move(m)); }
Error Conflict(std::string m) { return MakeError(ErrorCode::kFailedPrecondition, std::move(m)); }

Json WindowJson(const TimeWindow& w) {
  return {{"days", w.days}, {"from_minute", w.from_minute}, {"to_minute", w.to_minute},
          {"utc_offset_minutes", w.utc_offset_minutes}};
}

TimeWindow WindowFromJson(const Json& j) {
  TimeWindow w;
  w.days = j.value("days", std::vector<int>{});
  w.from_minute = j.value("from_minute", 0);
  w.to_minute = j.value("to_minute", 24 * 60);
  w.utc_offset_minutes = j.value("utc_offset_minutes", 0);
  return w;
}

Json ReviewJson(const Review& r) {
  Json j = {{"reviewer", r.reviewer}, {"reviewer_kind", r.reviewer_kind}, {"organisation", r.organisation},
            {"roles", r.roles},
            {"decision", r.decision}, {"comment", r.comment}, {"time", r.time}, {"ledger_index", r.ledger_index}};
  if (!r.tenant.empty()) j["tenant"] = r.tenant;
  if (!r.signature.empty()) j["signature"] = Base64Encode(r.signature);
  if (!r.public_key.empty()) j["public_key"] = Base64Encode(r.public_key);
  return j;
}

Review ReviewFromJson(const Json& j) {
  Review r;
  r.reviewer = j.value("reviewer", "");
  r.reviewer_kind = j.value("reviewer_kind", "");
  r.organisation = j.value("organisation", "");
  r.tenant = j.value("tenant", "");
  r.decision = j.value("decision", "");
  r.comment = j.value("comment", "");
  r.roles = j.value("roles", std::vector<std::string>{});
  if (auto s = Base64Decode(j.value("signature", "")); s.ok()) r.signature = *s;
  if (auto s = Base64Decode(j.value("public_key", "")); s.ok()) r.public_key = *s;
  r.time = j.value("time", int64_t{0});
  r.ledger_index = j.value("ledger_index", uint64_t{0});
  return r;
}

State StateFromName(const std::string& s) {
  for (State st : {State::kPending, State::kActive, State::kDenied, State::kExpired, State::kRevoked}) {
    if (StateName(st) == s) return st;
  }
  return State::kExpired;  // unknown stored state: treat as closed, never as active
}

AccessRequest RequestFromJson(const Json& j) {
  AccessRequest r;
  r.id = j.value("id", "");
  r.requester = j.value("requester", "");
  r.resources = j.value("resources", std::vector<std::string>{});
  r.actions = j.value("actions", std::vector<std::string>{});
  r.reason = j.value("reason", "");
  r.justification = j.value("justification", "");
  r.ticket = j.value("ticket", "");
  r.duration_seconds = j.value("duration_seconds", int64_t{0});
  r.created = j.value("created", int64_t{0});
  r.decide_by = j.value("decide_by", int64_t{0});
  r.break_glass = j.value("break_glass", false);
  r.policy_version = j.value("policy_version", int64_t{0});
  for (const auto& q : j.value("requirements", Json::array())) {
    r.requirements.push_back({q.value("rule", ""), q.value("approvals", 1),
                              q.value("approver_roles", std::vector<std::string>{}),
                              q.value("distinct_organisations", 1)});
  }
  r.tenants_required = j.value("tenants_required", std::vector<std::string>{});
  for (const auto& set : j.value("window_sets", Json::array())) {
    std::vector<TimeWindow> ws;
    for (const auto& w : set) ws.push_back(WindowFromJson(w));
    r.window_sets.push_back(std::move(ws));
  }
  r.digest = j.value("digest", "");
  r.state = StateFromName(j.value("state", ""));
  for (const auto& v : j.value("reviews", Json::array())) r.reviews.push_back(ReviewFromJson(v));
  r.granted = j.value("granted", int64_t{0});
  r.grant_expires = j.value("grant_expires", int64_t{0});
  r.closed_by = j.value("closed_by", "");
  r.close_reason = j.value("close_reason", "");
  r.closed = j.value("closed", int64_t{0});
  r.review_due = j.value("review_due", int64_t{0});
  r.post_review = j.value("post_review", "");
  r.ledger_indexes = j.value("ledger_indexes", std::vector<uint64_t>{});
  return r;
}

Json PolicyVersionJson(const PolicyVersion& p) {
  return {{"version", p.version}, {"text", p.text}, {"sha256", p.sha256}, {"state", p.state},
          {"proposed_by", p.proposed_by}, {"approved_by", p.approved_by}, {"proposed", p.proposed},
          {"decided", p.decided}, {"ledger_index", p.ledger_index}};
}

PolicyVersion PolicyVersionFromJson(const Json& j) {
  PolicyVersion p;
  p.version = j.value("version", int64_t{0});
  p.text = j.value("text", "");
  p.sha256 = j.value("sha256", "");
  p.state = j.value("state", "");
  p.proposed_by = j.value("proposed_by", "");
  p.approved_by = j.value("approved_by", "");
  p.proposed = j.value("proposed", int64_t{0});
  p.decided = j.value("decided", int64_t{0});
  p.ledger_index = j.value("ledger_index", uint64_t{0});
  return p;
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A role's permissions cover (action, resource) for this staff member, standing or JIT.
bool RoleCovers(const Role& role, const Staff& staff, const std::string& action, const Resource& res,
                bool standing_only) {
  if (!AppliesToStaff(role.applies_to, staff.kind)) return false;
  for (const auto& p : role.permissions) {
    if (standing_only && !p.standing) continue;
    if (AnyActionMatches(p.actions, action) && p.resources.Matches(res)) return true;
  }
  return false;
}

bool HoldsAdmin(const Policy& policy, const Staff& staff, std::string_view permission) {
  for (const auto& rn : staff.roles) {
    const Role* role = policy.FindRole(rn);
    if (!role || !AppliesToStaff(role->applies_to, staff.kind)) continue;
    if (Contains(role->admin, std::string(permission))) return true;
  }
  return false;
}

bool HoldsAnyRole(const Staff& staff, const std::vector<std::string>& roles) {
  for (const auto& r : staff.roles) if (Contains(roles, r)) return true;
  return false;
}

// Sets `d` to allowed if one of the staff member's roles covers (action, resource) with a
// standing permission under `policy`.
bool StandingRoleCovers(const Policy& policy, const Staff& staff, const std::string& action, const Resource& res,
                        Decision& d) {
  for (const auto& rn : staff.roles) {
    const Role* role = policy.FindRole(rn);
    if (role && RoleCovers(*role, staff, action, res, true)) {
      d.allow = true;
      d.role = rn;
      d.reason = "standing role " + rn;
      return true;
    }
  }
  return false;
}

enum class Coverage { kNone, kOutsideWindow, kCovered };

// Whether grant `g`'s scope and time windows cover (action, resource) at `t`; whether the
// grant was in force at `t` is the caller's to check.
Coverage GrantCoverage(const AccessRequest& g, const std::string& action, const std::string& resource, int64_t t) {
  if (!std::binary_search(g.resources.begin(), g.resources.end(), resource)) return Coverage::kNone;
  if (!std::binary_search(g.actions.begin(), g.actions.end(), action)) return Coverage::kNone;
  bool in_windows = std::all_of(g.window_sets.begin(), g.window_sets.end(), [&](const auto& set) {
    return std::any_of(set.begin(), set.end(), [&](const TimeWindow& w) { return w.Contains(t); });
  });
  return in_windows ? Coverage::kCovered : Coverage::kOutsideWindow;
}

// Every tenant the grant needed carries a signed approval in it (checked when it was given).
bool TenantApproved(const AccessRequest& g) {
  if (g.tenants_required.empty()) return false;
  return std::all_of(g.tenants_required.begin(), g.tenants_required.end(), [&](const std::string& t) {
    return std::any_of(g.reviews.begin(), g.reviews.end(), [&](const Review& v) {
      return v.reviewer_kind == "approver" && v.tenant == t && v.decision == "approve" && !v.signature.empty();
    });
  });
}

void AllowByGrant(const AccessRequest& g, Decision& d) {
  d.allow = true;
  d.grant = g.id;
  d.reason = g.break_glass ? "break-glass grant " + g.id : "grant " + g.id;
  d.break_glass = g.break_glass;
  d.tenant_approved = TenantApproved(g);
}

}  // namespace

std::string_view StateName(State s) {
  switch (s) {
    case State::kPending: return "pending";
    case State::kActive: return "active";
    case State::kDenied: return "denied";
    case State::kExpired: return "expired";
    case State::kRevoked: return "revoked";
  }
  return "expired";
}

std::string ReviewMessage(std::string_view decision, std::string_view digest_hex) {
  return "cloudpact-access-review/v1\n" + std::string(decision) + "\n" + std::string(digest_hex) + "\n";
}

std::string ApproverKeyStatement(std::string_view approver, std::string_view tenant, std::string_view public_key_b64) {
  return "cloudpact-approver-key/v1\n" + std::string(approver) + "\n" + std::string(tenant) + "\n" +
         std::string(public_key_b64) + "\n";
}

Result<std::string> RequestCanonical(const AccessRequest& r, std::string_view log_origin) {
  Json j = {{"type", "cloudpact.access-request/v1"},
            {"log", std::string(log_origin)},
            {"id", r.id},
            {"requester", r.requester},
            {"resources", r.resources},
            {"actions", r.actions},
            {"reason", r.reason},
            {"justification_sha256", Hex(crypto::Sha256(r.justification))},
            {"ticket", r.ticket},
            {"duration_seconds", r.duration_seconds},
            {"created", r.created},
            {"break_glass", r.break_glass}};
  return CanonicalJson(j);
}

Json ToJson(const AccessRequest& r, bool include_justification) {
  Json reviews = Json::array();
  for (const auto& v : r.reviews) reviews.push_back(ReviewJson(v));
  Json windows = Json::array();
  for (const auto& set : r.window_sets) {
    Json ws = Json::array();
    for (const auto& w : set) ws.push_back(WindowJson(w));
    windows.push_back(std::move(ws));
  }
  Json requirements = Json::array();
  for (const auto& q : r.requirements) {
    requirements.push_back({{"rule", q.rule}, {"approvals", q.approvals}, {"approver_roles", q.approver_roles},
                            {"distinct_organisations", q.distinct_organisations}});
  }
  Json j = {{"id", r.id}, {"requester", r.requester}, {"resources", r.resources}, {"actions", r.actions},
            {"reason", r.reason}, {"ticket", r.ticket}, {"duration_seconds", r.duration_seconds},
            {"created", r.created}, {"decide_by", r.decide_by}, {"break_glass", r.break_glass},
            {"policy_version", r.policy_version}, {"requirements", requirements},
            {"tenants_required", r.tenants_required}, {"window_sets", windows}, {"digest", r.digest}, {"state", StateName(r.state)}, {"reviews", reviews},
            {"granted", r.granted}, {"grant_expires", r.grant_expires}, {"closed_by", r.closed_by},
            {"close_reason", r.close_reason}, {"closed", r.closed}, {"review_due", r.review_due},
            {"post_review", r.post_review}, {"ledger_indexes", r.ledger_indexes}};
  j["justification_sha256"] = Hex(crypto::Sha256(r.justification));
  if (include_justification) j["justification"] = r.justification;
  return j;
}

// ---------------------------------------------------------------------------------------

struct AccessService::Impl {
  mutable std::shared_mutex mu;  // guards everything below for readers; writers also hold write_mu
  std::mutex write_mu;           // one state change at a time: ledger → store → memory
  std::shared_ptr<const Policy> policy = std::make_shared<Policy>();
  int64_t policy_version = 0;
  std::map<int64_t, PolicyVersion> policies;
  std::unordered_map<std::string, AccessRequest> requests;
  // Active grants by principal, for Check: a handful per person.
  std::unordered_map<std::string, std::vector<std::string>> active_by_principal;
  // Every grant that was ever active, by principal, for CoveredAt. Sorted by the time it
  // became active; with the longest grant's duration, a lookup at time t reads only the
  // grants activated within that duration before t.
  struct GrantHistory {
    std::vector<std::pair<int64_t, std::string>> grants;  // (granted, request id)
    int64_t longest = 0;                                  // max(grant_expires - granted)
  };
  std::unordered_map<std::string, GrantHistory> granted_by_principal;
  std::unordered_map<std::string, int64_t> last_activity;  // staff id → unix seconds
  std::map<std::string, Campaign> campaigns;
  Notifier notifier;

  void IndexGrants() {
    active_by_principal.clear();
    granted_by_principal.clear();
    for (const auto& [id, r] : requests) {
      if (r.state == State::kActive) active_by_principal[r.requester].push_back(id);
      if (!WasGranted(r)) continue;
      GrantHistory& h = granted_by_principal[r.requester];
      h.grants.emplace_back(r.granted, id);
      h.longest = std::max(h.longest, r.grant_expires - r.granted);
    }
    for (auto& [_, h] : granted_by_principal) std::sort(h.grants.begin(), h.grants.end());
  }
  // What CheckAt and CoveredAt share: the principal and the resource as the directory has
  // them now, then the standing roles under the policy in force. When those do not settle
  // it, `by_grants` decides `d`, with `mu` held for reading.
  template <typename ByGrants>
  Decision Decide(const directory::Directory& directory, const std::string& principal, const std::string& action,
                  const std::string& resource, const ByGrants& by_grants) const {
    auto snap = directory.snapshot();
    Decision d;
    const Staff* staff = snap->FindStaff(principal);
    if (!staff) { d.reason = "unknown principal"; return d; }
    if (staff->disabled) { d.reason = "principal is disabled"; return d; }
    const Resource* res = snap->FindResource(resource);
    if (!res) { d.reason = "unknown resource"; return d; }
    std::shared_lock<std::shared_mutex> lock(mu);
    if (StandingRoleCovers(*policy, *staff, action, *res, d)) return d;
    by_grants(d);
    return d;
  }
  static bool WasGranted(const AccessRequest& r) {
    return r.granted > 0 && (r.state == State::kActive || r.state == State::kExpired || r.state == State::kRevoked);
  }
  // Adds `r` to the history once it has been active; Commit calls it on every change.
  // Idempotent: a grant's requester, activation time and expiry never change after it
  // became active.
  void IndexGranted(const AccessRequest& r) {
    if (!WasGranted(r)) return;
    GrantHistory& h = granted_by_principal[r.requester];
    std::pair<int64_t, std::string> key{r.granted, r.id};
    // A new grant is the newest, so this appends.
    auto pos = std::lower_bound(h.grants.begin(), h.grants.end(), key);
    if (pos != h.grants.end() && *pos == key) return;
    h.grants.insert(pos, std::move(key));
    h.longest = std::max(h.longest, r.grant_expires - r.granted);
  }
};

AccessService::AccessService(storage::Storage& store, ledger::Ledger& ledger, directory::Directory& directory,
                             Clock clock)
    : impl_(std::make_unique<Impl>()), store_(store), ledger_(ledger), directory_(directory),
      clock_(clock ? std::move(clock) : Clock([] { return UnixSeconds(SystemNow()); })) {}

Result<std::unique_ptr<AccessService>> AccessService::Load(storage::Storage& store, ledger::Ledger& ledger,
                                                           directory::Directory& directory, Clock clock) {
  std::unique_ptr<AccessService> s(new AccessService(store, ledger, directory, std::move(clock)));
  Impl& m = *s->impl_;
  ASSIGN_OR_RETURN(auto policies, store.ListRecords(kPolicyKind));
  for (const auto& rec : policies) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) return MakeError(ErrorCode::kDataLoss, "access: stored policy " + rec.id + " is not JSON");
    PolicyVersion p = PolicyVersionFromJson(*j);
    if (p.state == "active") {
      auto parsed = ParsePolicyYaml(p.text);
      if (!parsed.ok()) return MakeError(ErrorCode::kDataLoss, "access: the policy in force no longer parses: " + parsed.error().message);
      m.policy = std::make_shared<Policy>(std::move(*parsed));
      m.policy_version = p.version;
    }
    m.policies[p.version] = std::move(p);
  }
  ASSIGN_OR_RETURN(auto requests, store.ListRecords(kRequestKind));
  for (const auto& rec : requests) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) return MakeError(ErrorCode::kDataLoss, "access: stored request " + rec.id + " is not JSON");
    AccessRequest r = RequestFromJson(*j);
    m.requests[r.id] = std::move(r);
  }
  ASSIGN_OR_RETURN(auto campaigns, store.ListRecords(kCampaignKind));
  for (const auto& rec : campaigns) {
    auto j = ParseJson(rec.body);
    if (!j.ok()) return MakeError(ErrorCode::kDataLoss, "access: stored campaign " + rec.id + " is not JSON");
    Campaign c;
    c.id = j->value("id", "");
    c.name = j->value("name", "");
    c.started_by = j->value("started_by", "");
    c.started = j->value("started", int64_t{0});
    c.due = j->value("due", int64_t{0});
    c.ledger_index = j->value("ledger_index", uint64_t{0});
    for (const auto& i : j->value("items", Json::array())) {
      c.items.push_back({i.value("staff", ""), i.value("role", ""), i.value("organisation", ""), i.value("decision", ""),
                         i.value("decided_by", ""), i.value("comment", ""), i.value("decided", int64_t{0})});
    }
    m.campaigns[c.id] = std::move(c);
  }
  ASSIGN_OR_RETURN(auto activity, store.ListRecords(kActivityKind));
  for (const auto& rec : activity) {
    auto j = ParseJson(rec.body);
    if (j.ok()) m.last_activity[rec.id] = j->value("last", int64_t{0});
  }
  m.IndexGrants();
  return s;
}

AccessService::~AccessService() = default;

// --- policy ---------------------------------------------------------------------------

std::shared_ptr<const Policy> AccessService::policy() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return impl_->policy;
}

int64_t AccessService::policy_version() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return impl_->policy_version;
}

std::vector<PolicyVersion> AccessService::Policies() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  std::vector<PolicyVersion> out;
  for (const auto& [_, p] : impl_->policies) out.push_back(p);
  return out;
}

Result<PolicyVersion> AccessService::ProposePolicy(const std::string& yaml, const std::string& actor) {
  if (yaml.size() > kMaxPolicyBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "policy larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  ASSIGN_OR_RETURN(Policy parsed, ParsePolicyYaml(yaml));
  // Staff already in the directory must still fit: a policy that drops a role someone holds,
  // or forbids a pair someone has, is refused rather than silently disabling them.
  auto snap = directory_.snapshot();
  std::vector<std::string> problems;
  for (const auto& [id, staff] : snap->staff) {
    for (const auto& r : staff.roles) {
      if (!parsed.FindRole(r)) problems.push_back("staff " + id + " holds role \"" + r + "\", which this policy does not define");
    }
    for (const auto& c : parsed.role_conflicts) {
      if (Contains(staff.roles, c.a) && Contains(staff.roles, c.b)) {
        problems.push_back("staff " + id + " holds both \"" + c.a + "\" and \"" + c.b + "\", which this policy forbids");
      }
    }
  }
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    std::string msg = "the policy does not fit the directory:";
    for (const auto& p : problems) msg += "\n" + p;
    return Invalid(msg);
  }

  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  const int64_t now = clock_();
  PolicyVersion pv;
  pv.version = impl_->policies.empty() ? 1 : impl_->policies.rbegin()->first + 1;
  pv.text = yaml;
  pv.sha256 = Hex(crypto::Sha256(yaml));
  pv.proposed_by = actor;
  pv.proposed = now;
  const bool bootstrap = impl_->policy_version == 0;
  pv.state = bootstrap ? "active" : "proposed";
  if (bootstrap) {
    pv.approved_by = actor;
    pv.decided = now;
  }
  ASSIGN_OR_RETURN(auto appended,
                   ledger_.Append({bootstrap ? "policy.activated" : "policy.proposed",
                                   {{"version", pv.version}, {"sha256", pv.sha256}, {"text", yaml},
                                    {"bootstrap", bootstrap}},
                                   actor, std::nullopt}));
  pv.ledger_index = appended.index;
  std::vector<storage::RecordWrite> writes = {{kPolicyKind, PolicyId(pv.version), PolicyVersionJson(pv).dump(), 0}};
  RETURN_IF_ERROR(store_.WriteRecords(writes));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->policies[pv.version] = pv;
  if (bootstrap) {
    impl_->policy = std::make_shared<Policy>(std::move(parsed));
    impl_->policy_version = pv.version;
  }
  return pv;
}

Result<PolicyVersion> AccessService::ApprovePolicy(int64_t version, const std::string& actor) {
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  PolicyVersion pv;
  std::optional<PolicyVersion> previous;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->policies.find(version);
    if (it == impl_->policies.end()) return MakeError(ErrorCode::kNotFound, "no policy version " + std::to_string(version));
    pv = it->second;
    if (impl_->policy_version) previous = impl_->policies.at(impl_->policy_version);
  }
  if (pv.state != "proposed") return Conflict("policy version " + std::to_string(version) + " is " + pv.state + ", not proposed");
  if (pv.proposed_by == actor) {
    return Denied("a policy change needs a second security admin: " + actor + " proposed version " +
                  std::to_string(version) + " and cannot also approve it");
  }
  ASSIGN_OR_RETURN(Policy parsed, ParsePolicyYaml(pv.text));
  const int64_t now = clock_();
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"policy.activated",
                                                  {{"version", pv.version}, {"sha256", pv.sha256},
                                                   {"proposed_by", pv.proposed_by}, {"bootstrap", false}},
                                                  actor, std::nullopt}));
  pv.state = "active";
  pv.approved_by = actor;
  pv.decided = now;
  pv.ledger_index = appended.index;
  std::vector<storage::RecordWrite> writes = {{kPolicyKind, PolicyId(pv.version), PolicyVersionJson(pv).dump()}};
  if (previous) {
    previous->state = "superseded";
    writes.push_back({kPolicyKind, PolicyId(previous->version), PolicyVersionJson(*previous).dump()});
  }
  RETURN_IF_ERROR(store_.WriteRecords(writes));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->policies[pv.version] = pv;
  if (previous) impl_->policies[previous->version] = *previous;
  impl_->policy = std::make_shared<Policy>(std::move(parsed));
  impl_->policy_version = pv.version;
  return pv;
}

Result<PolicyVersion> AccessService::RejectPolicy(int64_t version, const std::string& actor, const std::string& reason) {
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  PolicyVersion pv;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->policies.find(version);
    if (it == impl_->policies.end()) return MakeError(ErrorCode::kNotFound, "no policy version " + std::to_string(version));
    pv = it->second;
  }
  if (pv.state != "proposed") return Conflict("policy version " + std::to_string(version) + " is " + pv.state + ", not proposed");
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"policy.rejected",
                                                  {{"version", pv.version}, {"sha256", pv.sha256}, {"reason", reason}},
                                                  actor, std::nullopt}));
  pv.state = "rejected";
  pv.approved_by = actor;
  pv.decided = clock_();
  pv.ledger_index = appended.index;
  RETURN_IF_ERROR(store_.WriteRecords({{kPolicyKind, PolicyId(pv.version), PolicyVersionJson(pv).dump()}}));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->policies[pv.version] = pv;
  return pv;
}

std::vector<std::string> AccessService::AdminPermissionsOf(const std::string& principal) const {
  auto snap = directory_.snapshot();
  auto pol = policy();
  std::vector<std::string> out;
  if (const Staff* s = snap->FindStaff(principal); s && !s->disabled) {
    for (const auto& rn : s->roles) {
      const Role* role = pol->FindRole(rn);
      if (role && AppliesToStaff(role->applies_to, s->kind)) out.insert(out.end(), role->admin.begin(), role->admin.end());
    }
  } else if (snap->FindApprover(principal)) {
    // Tenant approvers review lockbox requests and read their tenant's access log.
    out = {"access:review", "tenant:read"};
  } else if (snap->auditors.count(principal)) {
    // Assessors read the posture, the directory, every tenant's access log, the sessions
    // with their recordings (the evidence of O&M work), and the assessments with their reports.
    out = {"posture:read", "directory:read", "tenant:read", "sessions:read", "findings:read", "assess:read"};
  }
  SortUnique(out);
  return out;
}

bool AccessService::MfaRequired(const std::string& principal) const {
  auto snap = directory_.snapshot();
  if (snap->FindApprover(principal)) return true;
  const Staff* s = snap->FindStaff(principal);
  if (!s) return false;
  auto pol = policy();
  for (const auto& rn : s->roles) {
    const Role* role = pol->FindRole(rn);
    if (role && (role->privileged || !role->admin.empty())) return true;
  }
  return false;
}

bool AccessService::MayReview(const std::string& principal) const {
  auto snap = directory_.snapshot();
  const Staff* s = snap->FindStaff(principal);
  if (!s || s->disabled) return false;
  auto pol = policy();
  if (HoldsAdmin(*pol, *s, "access:review")) return true;
  if (HoldsAnyRole(*s, pol->break_glass.reviewer_roles)) return true;
  for (const auto& rule : pol->rules) {
    if (HoldsAnyRole(*s, rule.approver_roles)) return true;
  }
  return false;
}

Status AccessService::ValidateStaff(const Staff& staff) const {
  auto pol = policy();
  if (policy_version() == 0) return OkStatus();  // no policy yet: roles are checked when one is proposed
  for (const auto& r : staff.roles) {
    if (!pol->FindRole(r)) return Invalid("unknown role \"" + r + "\"");
  }
  for (const auto& c : pol->role_conflicts) {
    if (Contains(staff.roles, c.a) && Contains(staff.roles, c.b)) {
      return Invalid("roles \"" + c.a + "\" and \"" + c.b + "\" may not be held together" +
                     (c.reason.empty() ? std::string() : ": " + c.reason));
    }
  }
  return OkStatus();
}

void AccessService::SetNotifier(Notifier notifier) {
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  impl_->notifier = std::move(notifier);
}

// --- requests -------------------------------------------------------------------------

namespace {

struct Evaluation {
  std::vector<Requirement> requirements;
  std::vector<std::string> tenants;  // whose signed approval is needed
  std::vector<std::vector<TimeWindow>> window_sets;
  int64_t max_duration = 0;
};

Evaluation Evaluate(const Policy& policy, const Staff& requester, const std::vector<const Resource*>& scope,
                    const std::vector<std::string>& actions, const std::string& reason) {
  Evaluation ev;
  ev.max_duration = policy.default_max_duration_seconds;
  Risk risk = Risk::kLow;
  for (const Resource* r : scope) {
    Risk rr = r->tenant_data ? std::max(r->risk, Risk::kHigh) : r->risk;  // tenant data is never low risk
    risk = std::max(risk, rr);
    if (r->tenant_data) ev.tenants.push_back(r->tenant);
  }
  for (const auto& rule : policy.rules) {
    if (!AppliesToStaff(rule.applies_to, requester.kind)) continue;
    if (risk < rule.min_risk) continue;
    if (!rule.reasons.empty() && !Contains(rule.reasons, reason)) continue;
    std::vector<const Resource*> matched;
    for (const Resource* r : scope) if (rule.resources.Matches(*r)) matched.push_back(r);
    if (matched.empty()) continue;
    if (!rule.actions.empty() &&
        std::none_of(actions.begin(), actions.end(), [&](const std::string& a) { return AnyActionMatches(rule.actions, a); })) {
      continue;
    }
    ev.requirements.push_back({rule.name, rule.approvals, rule.approver_roles, rule.distinct_organisations});
    if (rule.tenant_approval) {
      for (const Resource* r : matched) if (!r->tenant.empty()) ev.tenants.push_back(r->tenant);
    }
    if (rule.max_duration_seconds) ev.max_duration = std::min(ev.max_duration, *rule.max_duration_seconds);
    if (!rule.windows.empty()) ev.window_sets.push_back(rule.windows);
  }
  if (ev.requirements.empty()) ev.requirements.push_back({"default", 1, {}, 1});
  SortUnique(ev.tenants);
  return ev;
}

// Whether a staff review counts towards a requirement.
bool Counts(const Review& v, const Requirement& q) {
  if (v.reviewer_kind != "staff" || v.decision != "approve") return false;
  if (q.approver_roles.empty()) return true;  // eligibility (access:review) was checked at review time
  for (const auto& r : v.roles) if (Contains(q.approver_roles, r)) return true;
  return false;
}

// Empty when every requirement and every tenant's signed approval is met; else what is missing.
std::string Missing(const AccessRequest& r) {
  std::vector<std::string> missing;
  for (const auto& q : r.requirements) {
    std::set<std::string> people, orgs;
    for (const auto& v : r.reviews) {
      if (Counts(v, q)) {
        people.insert(v.reviewer);
        orgs.insert(v.organisation);
      }
    }
    if (static_cast<int>(people.size()) < q.approvals || static_cast<int>(orgs.size()) < q.distinct_organisations) {
      missing.push_back("rule " + q.rule + ": " + std::to_string(people.size()) + "/" + std::to_string(q.approvals) +
                        " approvals from " + std::to_string(orgs.size()) + "/" +
                        std::to_string(q.distinct_organisations) + " organisations");
    }
  }
  for (const auto& t : r.tenants_required) {
    bool ok = std::any_of(r.reviews.begin(), r.reviews.end(), [&](const Review& v) {
      return v.reviewer_kind == "approver" && v.tenant == t && v.decision == "approve" && !v.signature.empty();
    });
    if (!ok) missing.push_back("tenant " + t + ": signed approval");
  }
  std::string out;
  for (const auto& m : missing) out += (out.empty() ? "" : "; ") + m;
  return out;
}

Json CanonicalObject(const std::string& canonical) { return *ParseJson(canonical); }

Json GrantBody(const AccessRequest& r, const std::string& canonical) {
  Json approvals = Json::array(), tenant_approvals = Json::array();
  for (const auto& v : r.reviews) {
    if (v.decision != "approve") continue;
    if (v.reviewer_kind == "approver") {
      tenant_approvals.push_back({{"approver", v.reviewer}, {"tenant", v.tenant},
                                  {"public_key", Base64Encode(v.public_key)}, {"signature", Base64Encode(v.signature)}});
    } else {
      approvals.push_back({{"reviewer", v.reviewer}, {"organisation", v.organisation}, {"roles", v.roles}});
    }
  }
  Json windows = ToJson(r, false)["window_sets"];
  return {{"request_id", r.id}, {"digest", r.digest}, {"request", CanonicalObject(canonical)},
          {"granted", r.granted}, {"expires", r.grant_expires}, {"approvals", approvals},
          {"tenant_approvals", tenant_approvals}, {"tenants_required", r.tenants_required},
          {"window_sets", windows}, {"break_glass", r.break_glass}};
}

std::vector<std::string> TenantsOf(const Snapshot& snap, const AccessRequest& r) {
  std::vector<std::string> out;
  for (const auto& id : r.resources) {
    if (const Resource* res = snap.FindResource(id); res && !res->tenant.empty()) out.push_back(res->tenant);
  }
  SortUnique(out);
  return out;
}

}  // namespace

void AccessService::Notify(const std::vector<std::string>& tenants, const Json& event) {
  // The caller holds write_mu, which guards the notifier.
  if (!impl_->notifier) return;
  for (const auto& t : tenants) impl_->notifier(t, event);
}

Status AccessService::Commit(AccessRequest& r, std::vector<ledger::AppendRequest> entries, Review* first_entry_of) {
  if (!entries.empty()) {
    ASSIGN_OR_RETURN(auto appended, ledger_.AppendMany(std::move(entries)));
    for (const auto& a : appended) r.ledger_indexes.push_back(a.index);
    if (first_entry_of) first_entry_of->ledger_index = appended.front().index;
  }
  RETURN_IF_ERROR(store_.WriteRecords({{kRequestKind, r.id, ToJson(r, true).dump()}}));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->requests[r.id] = r;
  // Only this requester's entry changes: rebuilding the whole index would make every state
  // change O(grants) while holding the lock that checks wait on.
  auto& ids = impl_->active_by_principal[r.requester];
  std::erase(ids, r.id);
  if (r.state == State::kActive) ids.push_back(r.id);
  impl_->IndexGranted(r);
  return OkStatus();
}

Result<AccessRequest> AccessService::CreateRequest(const std::string& requester, const NewRequest& req) {
  return Open(requester, req, false);
}

Result<AccessRequest> AccessService::BreakGlass(const std::string& requester, const NewRequest& req) {
  return Open(requester, req, true);
}

Result<AccessRequest> AccessService::Open(const std::string& requester, const NewRequest& req, bool break_glass) {
  auto snap = directory_.snapshot();
  auto pol = policy();
  const Staff* staff = snap->FindStaff(requester);
  if (!staff) return MakeError(ErrorCode::kNotFound, "\"" + requester + "\" is not a staff member in the directory");
  if (staff->disabled) return Denied("staff member " + requester + " is disabled");
  if (req.resources.empty() || req.actions.empty()) return Invalid("a request names at least one resource and one action");
  if (req.resources.size() > kMaxScope || req.actions.size() > kMaxScope) {
    return Invalid("a request names at most " + std::to_string(kMaxScope) + " resources and actions");
  }
  if (!Contains(ReasonCodes(), req.reason)) {
    std::string codes;
    for (const auto& c : ReasonCodes()) codes += (codes.empty() ? "" : ", ") + c;
    return Invalid("reason must be one of: " + codes);
  }
  if (req.justification.empty()) return Invalid("a justification is required");
  if (req.justification.size() > kMaxText || req.ticket.size() > 256) return Invalid("justification or ticket too long");
  if (req.duration_seconds < 0) return Invalid("duration must be positive");

  AccessRequest r;
  r.resources = req.resources;
  r.actions = req.actions;
  SortUnique(r.resources);
  SortUnique(r.actions);
  std::vector<const Resource*> scope;
  for (const auto& id : r.resources) {
    const Resource* res = snap->FindResource(id);
    if (!res) return MakeError(ErrorCode::kNotFound, "unknown resource \"" + id + "\"");
    scope.push_back(res);
  }
  for (const auto& a : r.actions) {
    if (a.empty() || a.size() > 128 || a.find('*') != std::string::npos) return Invalid("invalid action \"" + a + "\"");
  }
  // Least privilege: one may ask only for what one of one's roles allows on request.
  for (const Resource* res : scope) {
    for (const auto& a : r.actions) {
      bool covered = false;
      for (const auto& rn : staff->roles) {
        const Role* role = pol->FindRole(rn);
        if (role && RoleCovers(*role, *staff, a, *res, false)) { covered = true; break; }
      }
      if (!covered) return Denied("none of " + requester + "'s roles covers \"" + a + "\" on " + res->id);
    }
  }
  const int64_t now = clock_();
  Evaluation ev = Evaluate(*pol, *staff, scope, r.actions, req.reason);
  int64_t max = ev.max_duration;
  if (break_glass) {
    if (!HoldsAnyRole(*staff, pol->break_glass.roles)) {
      return Denied("the policy does not let " + requester + "'s roles break glass");
    }
    max = pol->break_glass.max_duration_seconds;
  }
  r.duration_seconds = req.duration_seconds ? req.duration_seconds : max;
  if (r.duration_seconds > max) {
    return Invalid("duration " + std::to_string(r.duration_seconds) + "s exceeds the policy's maximum of " +
                   std::to_string(max) + "s for this scope");
  }
  r.id = "req_" + HexEncode(crypto::RandomBytes(8));
  r.requester = requester;
  r.reason = req.reason;
  r.justification = req.justification;
  r.ticket = req.ticket;
  r.created = now;
  r.break_glass = break_glass;
  r.policy_version = policy_version();
  r.requirements = ev.requirements;
  r.tenants_required = ev.tenants;
  r.window_sets = ev.window_sets;
  ASSIGN_OR_RETURN(std::string canonical, RequestCanonical(r, ledger_.origin()));
  r.digest = Hex(crypto::Sha256(canonical));

  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  std::vector<ledger::AppendRequest> entries;
  Json confidential = {{"justification", r.justification}};
  if (!break_glass) {
    r.decide_by = now + pol->request_ttl_seconds;
    Json body = ToJson(r, false);
    body["request"] = CanonicalObject(canonical);
    entries.push_back({"access.request", body, requester, confidential});
    RETURN_IF_ERROR(Commit(r, std::move(entries)));
    Notify(r.tenants_required, {{"event", "access.request"}, {"request", ToJson(r, false)}});
    return r;
  }
  // Break-glass: active at once; every tenant whose resources are in scope is told now,
  // and the grant stays an open finding until reviewed after the fact.
  r.state = State::kActive;
  r.granted = now;
  r.grant_expires = now + r.duration_seconds;
  r.review_due = now + pol->break_glass.review_within_seconds;
  std::vector<std::string> notify = TenantsOf(*snap, r);
  Json body = GrantBody(r, canonical);
  body["notified_tenants"] = notify;
  body["review_due"] = r.review_due;
  entries.push_back({"access.breakglass", body, requester, confidential});
  RETURN_IF_ERROR(Commit(r, std::move(entries)));
  Notify(notify, {{"event", "access.breakglass"}, {"request", ToJson(r, false)}});
  return r;
}

bool AccessService::ExpireIfDue(AccessRequest& r, int64_t now, std::vector<ledger::AppendRequest>& entries) {
  if (r.state == State::kPending && now >= r.decide_by && r.decide_by > 0) {
    r.state = State::kExpired;
    r.closed = now;
    r.closed_by = "cloudpact";
    r.close_reason = "undecided before the deadline";
    entries.push_back({"access.expire", {{"request_id", r.id}, {"digest", r.digest}, {"decide_by", r.decide_by}},
                       "cloudpact", std::nullopt});
    return true;
  }
  if (r.state == State::kActive && now >= r.grant_expires) {
    r.state = State::kExpired;
    r.closed = now;
    r.closed_by = "cloudpact";
    r.close_reason = "grant duration elapsed";
    entries.push_back({"access.grant_expired", {{"request_id", r.id}, {"expires", r.grant_expires}},
                       "cloudpact", std::nullopt});
    return true;
  }
  return false;
}

std::string AccessService::WhyNotReviewer(const std::string& request_id, const std::string& reviewer) const {
  AccessRequest r;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->requests.find(request_id);
    if (it == impl_->requests.end()) return "no such request";
    r = it->second;
  }
  auto snap = directory_.snapshot();
  auto pol = policy();
  if (reviewer == r.requester) return "nobody may review their own request";
  for (const auto& v : r.reviews) {
    if (v.reviewer == reviewer) return reviewer + " has already reviewed this request";
  }
  if (const directory::Approver* a = snap->FindApprover(reviewer)) {
    std::vector<std::string> tenants = TenantsOf(*snap, r);
    if (!Contains(tenants, a->tenant)) return reviewer + " approves for tenant " + a->tenant + ", whose resources this request does not touch";
    return "";
  }
  const Staff* s = snap->FindStaff(reviewer);
  if (!s) return "\"" + reviewer + "\" is neither staff nor a tenant approver";
  if (s->disabled) return reviewer + " is disabled";
  if (r.break_glass) {
    const auto& roles = pol->break_glass.reviewer_roles;
    if (roles.empty() ? !HoldsAdmin(*pol, *s, "access:review") : !HoldsAnyRole(*s, roles)) {
      return reviewer + " holds no role that may review break-glass access";
    }
    return "";
  }
  const Staff* requester = snap->FindStaff(r.requester);
  for (const auto& c : pol->approval_conflicts) {
    bool req_match = c.requester_role.empty() || (requester && Contains(requester->roles, c.requester_role));
    bool app_match = c.approver_role.empty() || Contains(s->roles, c.approver_role);
    bool org_match = !c.same_organisation || (requester && requester->organisation == s->organisation);
    if (req_match && app_match && org_match) {
      std::string why = "separation of duties";
      if (!c.reason.empty()) why += ": " + c.reason;
      else if (c.same_organisation) why += ": approver and requester are both from " + s->organisation;
      else why += ": role \"" + c.approver_role + "\" may not approve requests of role \"" + c.requester_role + "\"";
      return why;
    }
  }
  // Eligible if the reviewer can count towards at least one of the request's requirements.
  bool eligible = false;
  std::vector<std::string> needed;
  for (const auto& q : r.requirements) {
    if (q.approver_roles.empty() ? HoldsAdmin(*pol, *s, "access:review") : HoldsAnyRole(*s, q.approver_roles)) eligible = true;
    needed.insert(needed.end(), q.approver_roles.begin(), q.approver_roles.end());
  }
  if (!eligible) {
    SortUnique(needed);
    std::string roles;
    for (const auto& n : needed) roles += (roles.empty() ? "" : ", ") + n;
    return reviewer + " holds no role that may review this request" +
           (roles.empty() ? std::string(" (needs access:review)") : " (needs one of: " + roles + ")");
  }
  return "";
}

Result<AccessRequest> AccessService::AddReview(const std::string& request_id, const std::string& reviewer,
                                               const NewReview& review) {
  if (review.decision != "approve" && review.decision != "deny") return Invalid("decision must be \"approve\" or \"deny\"");
  if (review.comment.size() > kMaxText) return Invalid("comment longer than " + std::to_string(kMaxText) + " bytes");
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  AccessRequest r;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->requests.find(request_id);
    if (it == impl_->requests.end()) return MakeError(ErrorCode::kNotFound, "no access request " + request_id);
    r = it->second;
  }
  auto snap = directory_.snapshot();
  if (snap->PrincipalKind(reviewer).empty()) {
    return MakeError(ErrorCode::kNotFound, "\"" + reviewer + "\" is neither staff nor a tenant approver");
  }
  const int64_t now = clock_();
  std::vector<ledger::AppendRequest> entries;
  if (ExpireIfDue(r, now, entries)) {
    RETURN_IF_ERROR(Commit(r, std::move(entries)));
  }
  if (r.break_glass ? !r.post_review.empty() : r.state != State::kPending) {
    return Conflict("request " + r.id + " is " + std::string(StateName(r.state)) +
                    (r.break_glass ? " and its break-glass review is done" : "") + "; it can no longer be reviewed");
  }
  if (std::string why = WhyNotReviewer(request_id, reviewer); !why.empty()) {
    if (why.find("already reviewed") != std::string::npos) return Conflict(why);
    return Denied(why);
  }
  Review v;
  v.reviewer = reviewer;
  v.decision = review.decision;
  v.comment = review.comment;
  v.time = now;
  if (const directory::Approver* a = snap->FindApprover(reviewer)) {
    if (r.break_glass) return Denied("break-glass access is reviewed by the provider; tenants are notified");
    // The provider never holds this key: a valid signature proves the tenant approved.
    if (review.signature.empty()) return Invalid("a tenant approver's review must carry an Ed25519 signature");
    if (!crypto::Ed25519Verify(a->public_key, ReviewMessage(review.decision, r.digest), review.signature)) {
      return Invalid("the signature does not verify under " + reviewer +
                     "'s registered key for this request's digest and decision");
    }
    v.reviewer_kind = "approver";
    v.tenant = a->tenant;
    v.organisation = "tenant:" + a->tenant;
    v.signature = review.signature;
    v.public_key = a->public_key;
  } else {
    const Staff* s = snap->FindStaff(reviewer);
    v.reviewer_kind = "staff";
    v.organisation = s->organisation;
    v.roles = s->roles;
  }
  Json entry = ReviewJson(v);
  entry.erase("ledger_index");
  entry["request_id"] = r.id;
  entry["digest"] = r.digest;
  entries.push_back({r.break_glass ? "access.breakglass_review" : "access.review", entry, reviewer, std::nullopt});
  r.reviews.push_back(v);

  std::vector<std::string> notify;
  Json event;
  if (r.break_glass) {
    r.post_review = review.decision == "approve" ? "justified" : "unjustified";
    if (review.decision == "deny" && r.state == State::kActive) {
      r.state = State::kRevoked;
      r.closed = now;
      r.closed_by = reviewer;
      r.close_reason = "break-glass judged unjustified";
      entries.push_back({"access.revoke", {{"request_id", r.id}, {"reason", r.close_reason}}, reviewer, std::nullopt});
    }
  } else if (review.decision == "deny") {
    r.state = State::kDenied;
    r.closed = now;
    r.closed_by = reviewer;
    r.close_reason = review.comment;
    entries.push_back({"access.deny", {{"request_id", r.id}, {"digest", r.digest}}, reviewer, std::nullopt});
    notify = r.tenants_required;
    event = {{"event", "access.denied"}, {"request_id", r.id}};
  } else if (Missing(r).empty()) {
    r.state = State::kActive;
    r.granted = now;
    r.grant_expires = now + r.duration_seconds;
    ASSIGN_OR_RETURN(std::string canonical, RequestCanonical(r, ledger_.origin()));
    entries.push_back({"access.grant", GrantBody(r, canonical), "cloudpact", std::nullopt});
    notify = TenantsOf(*snap, r);
    event = {{"event", "access.granted"}, {"request_id", r.id}, {"expires", r.grant_expires}};
  }
  // The review's entry is the first this commit writes.
  RETURN_IF_ERROR(Commit(r, std::move(entries), &r.reviews.back()));
  if (r.state == State::kActive && !r.break_glass) {
    std::unique_lock<std::shared_mutex> lock(impl_->mu);
    impl_->last_activity[r.requester] = now;
  }
  if (!notify.empty()) Notify(notify, event);
  return r;
}

Result<AccessRequest> AccessService::Revoke(const std::string& request_id, const std::string& actor,
                                            const std::string& reason) {
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  AccessRequest r;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->requests.find(request_id);
    if (it == impl_->requests.end()) return MakeError(ErrorCode::kNotFound, "no access request " + request_id);
    r = it->second;
  }
  const int64_t now = clock_();
  std::vector<ledger::AppendRequest> entries;
  if (ExpireIfDue(r, now, entries)) RETURN_IF_ERROR(Commit(r, std::move(entries)));
  if (r.state != State::kActive && r.state != State::kPending) {
    return Conflict("request " + r.id + " is " + std::string(StateName(r.state)) + "; nothing to revoke");
  }
  r.state = State::kRevoked;
  r.closed = now;
  r.closed_by = actor;
  r.close_reason = reason;
  entries.push_back({"access.revoke", {{"request_id", r.id}, {"reason", reason}}, actor, std::nullopt});
  RETURN_IF_ERROR(Commit(r, std::move(entries)));
  return r;
}

Result<AccessRequest> AccessService::Get(const std::string& request_id) const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  auto it = impl_->requests.find(request_id);
  if (it == impl_->requests.end()) return MakeError(ErrorCode::kNotFound, "no access request " + request_id);
  return it->second;
}

std::vector<AccessRequest> AccessService::List(const ListFilter& f) const {
  auto snap = directory_.snapshot();
  std::vector<AccessRequest> out;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    for (const auto& [_, r] : impl_->requests) {
      if (!f.requester.empty() && r.requester != f.requester) continue;
      if (!f.state.empty() && StateName(r.state) != f.state) continue;
      if (!f.tenant.empty() && !Contains(TenantsOf(*snap, r), f.tenant)) continue;
      out.push_back(r);
    }
  }
  if (!f.reviewable_by.empty()) {
    std::erase_if(out, [&](const AccessRequest& r) {
      bool open = r.break_glass ? r.post_review.empty() : r.state == State::kPending;
      return !open || !WhyNotReviewer(r.id, f.reviewable_by).empty();
    });
  }
  std::sort(out.begin(), out.end(), [](const AccessRequest& a, const AccessRequest& b) {
    return a.created != b.created ? a.created > b.created : a.id < b.id;
  });
  return out;
}

Status AccessService::Tick() {
  const int64_t now = clock_();
  std::vector<std::string> due;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    for (const auto& [id, r] : impl_->requests) {
      if ((r.state == State::kPending && r.decide_by > 0 && now >= r.decide_by) ||
          (r.state == State::kActive && now >= r.grant_expires)) {
        due.push_back(id);
      }
    }
  }
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  for (const auto& id : due) {
    AccessRequest r;
    {
      std::shared_lock<std::shared_mutex> lock(impl_->mu);
      r = impl_->requests.at(id);
    }
    std::vector<ledger::AppendRequest> entries;
    if (ExpireIfDue(r, now, entries)) RETURN_IF_ERROR(Commit(r, std::move(entries)));
  }
  return OkStatus();
}

// --- decisions ------------------------------------------------------------------------

Decision AccessService::Check(const std::string& principal, const std::string& action,
                              const std::string& resource) const {
  return CheckAt(principal, action, resource, clock_());
}

Decision AccessService::CheckAt(const std::string& principal, const std::string& action,
                                const std::string& resource, int64_t now) const {
  return impl_->Decide(directory_, principal, action, resource, [&](Decision& d) {
    auto it = impl_->active_by_principal.find(principal);
    if (it != impl_->active_by_principal.end()) {
      for (const auto& id : it->second) {
        const AccessRequest& g = impl_->requests.at(id);
        if (g.state != State::kActive || now >= g.grant_expires || now < g.granted) continue;
        Coverage c = GrantCoverage(g, action, resource, now);
        if (c == Coverage::kOutsideWindow) d.outside_window = true;
        if (c != Coverage::kCovered) continue;
        d.outside_window = false;
        AllowByGrant(g, d);
        return;
      }
      if (d.outside_window) { d.reason = "a grant covers this, but not at this time of day"; return; }
    }
    d.reason = "no standing role or active grant covers " + action + " on " + resource;
  });
}

Decision AccessService::CoveredAt(const std::string& principal, const std::string& action,
                                  const std::string& resource, int64_t at) const {
  return impl_->Decide(directory_, principal, action, resource, [&](Decision& d) {
    auto it = impl_->granted_by_principal.find(principal);
    if (it != impl_->granted_by_principal.end()) {
      const Impl::GrantHistory& h = it->second;
      // When several grants covered it, the one that says most about its approval counts: one
      // the tenants approved, else an ordinary grant, else break-glass; the newest of those.
      auto rank = [](const AccessRequest& g) { return TenantApproved(g) ? 2 : g.break_glass ? 0 : 1; };
      const AccessRequest* best = nullptr;
      // Newest first, from the last grant activated at or before `at`, back to the first
      // that could still have been in force then.
      auto end = std::upper_bound(h.grants.begin(), h.grants.end(), at,
                                  [](int64_t t, const std::pair<int64_t, std::string>& e) { return t < e.first; });
      for (auto e = end; e != h.grants.begin();) {
        --e;
        if (e->first + h.longest <= at) break;
        const AccessRequest& g = impl_->requests.at(e->second);
        // In force from `granted` until it expired, or until it was revoked if that was sooner.
        int64_t until = g.grant_expires;
        if (g.state == State::kRevoked && g.closed < until) until = g.closed;
        if (at < g.granted || at >= until) continue;
        Coverage c = GrantCoverage(g, action, resource, at);
        if (c == Coverage::kOutsideWindow) d.outside_window = true;
        if (c != Coverage::kCovered) continue;
        if (!best || rank(g) > rank(*best)) best = &g;
        if (rank(*best) == 2) break;
      }
      if (best) {
        d.outside_window = false;
        AllowByGrant(*best, d);
        return;
      }
      if (d.outside_window) { d.reason = "a grant active then covers this, but not at that time of day"; return; }
    }
    d.reason = "no standing role or grant active at " + std::to_string(at) + " covers " + action + " on " + resource;
  });
}

Result<uint64_t> AccessService::RecordUse(const std::string& grant, const std::string& principal,
                                          const std::string& action, const std::string& resource, const Json& detail) {
  Decision d = Check(principal, action, resource);
  if (!d.allow) return Denied("not allowed: " + d.reason);
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"access.use",
                                                  {{"grant", d.grant.empty() ? grant : d.grant},
                                                   {"role", d.role},
                                                   {"principal", principal},
                                                   {"action", action},
                                                   {"resource", resource},
                                                   {"detail", detail}},
                                                  principal, std::nullopt}));
  {
    std::lock_guard<std::mutex> wlock(impl_->write_mu);
    (void)store_.WriteRecords({{kActivityKind, principal, Json{{"last", clock_()}}.dump()}});  // best effort: posture only
  }
  LinkEvidence(d.grant, appended.index, principal);
  return appended.index;
}

Result<uint64_t> AccessService::RecordEvidence(const std::string& grant, ledger::AppendRequest entry) {
  const std::string actor = entry.actor;
  ASSIGN_OR_RETURN(auto appended, ledger_.Append(std::move(entry)));
  LinkEvidence(grant, appended.index, actor);
  return appended.index;
}

void AccessService::LinkEvidence(const std::string& grant, uint64_t index, const std::string& actor) {
  const int64_t now = clock_();
  // write_mu: state changes copy a request, ledger and store it; a link added meanwhile
  // would be overwritten by their copy. Stored with the request, so that the tenant's access
  // log still lists it after a restart.
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  std::optional<AccessRequest> updated;
  {
    std::unique_lock<std::shared_mutex> lock(impl_->mu);
    if (!actor.empty()) impl_->last_activity[actor] = now;
    if (grant.empty()) return;
    auto it = impl_->requests.find(grant);
    if (it == impl_->requests.end()) return;
    it->second.ledger_indexes.push_back(index);
    updated = it->second;
  }
  auto st = store_.WriteRecords({{kRequestKind, updated->id, ToJson(*updated, true).dump()}});
  if (!st.ok()) {
    // The entry itself is in the ledger; only its listing beside the grant is at risk.
    log::Error("access: cannot store the link of an entry to its grant",
               {{"grant", grant}, {"index", index}, {"error", st.error().message}});
  }
}

// --- posture and transparency ---------------------------------------------------------

Json AccessService::Posture() const {
  auto snap = directory_.snapshot();
  auto pol = policy();
  const int64_t now = clock_();
  Json by_platform = Json::object(), by_org = Json::object(), accounts = Json::array();
  Json dormant = Json::array(), sod = Json::array(), differences = Json::array(), break_glass = Json::array();
  Json parity = {{"internal", {{"staff", 0}, {"privileged", 0}, {"standing_privileged", 0}}},
                 {"outsourced", {{"staff", 0}, {"privileged", 0}, {"standing_privileged", 0}}}};
  std::vector<std::string> all_platforms;
  for (const auto& [id, _] : snap->platforms) all_platforms.push_back(id);
  std::sort(all_platforms.begin(), all_platforms.end());
  std::vector<std::string> staff_ids;
  for (const auto& [id, _] : snap->staff) staff_ids.push_back(id);
  std::sort(staff_ids.begin(), staff_ids.end());
  std::unordered_map<std::string, int64_t> activity;
  int active = 0, pending = 0;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    activity = impl_->last_activity;
    for (const auto& [id, r] : impl_->requests) {
      if (r.state == State::kActive && now < r.grant_expires) ++active;
      if (r.state == State::kPending) ++pending;
      if (r.break_glass && r.post_review.empty()) {
        break_glass.push_back({{"request_id", id}, {"requester", r.requester}, {"review_due", r.review_due},
                               {"overdue", now > r.review_due}});
      }
    }
  }
  for (const auto& id : staff_ids) {
    const Staff& s = snap->staff.at(id);
    if (s.disabled) continue;
    const char* kind = s.kind == StaffKind::kOutsourced ? "outsourced" : "internal";
    parity[kind]["staff"] = parity[kind]["staff"].get<int>() + 1;
    bool privileged = false, standing = false;
    std::set<std::string> platforms;
    std::vector<std::string> standing_roles;
    for (const auto& rn : s.roles) {
      const Role* role = pol->FindRole(rn);
      if (!role || !role->privileged || !AppliesToStaff(role->applies_to, s.kind)) continue;
      privileged = true;
      for (const auto& p : role->permissions) {
        if (!p.standing) continue;
        standing = true;
        standing_roles.push_back(rn);
        const auto& ps = p.resources.platforms.empty() ? all_platforms : p.resources.platforms;
        platforms.insert(ps.begin(), ps.end());
      }
    }
    SortUnique(standing_roles);
    if (privileged) parity[kind]["privileged"] = parity[kind]["privileged"].get<int>() + 1;
    if (standing) {
      parity[kind]["standing_privileged"] = parity[kind]["standing_privileged"].get<int>() + 1;
      for (const auto& p : platforms) by_platform[p] = by_platform.value(p, 0) + 1;
      by_org[s.organisation] = by_org.value(s.organisation, 0) + 1;
      accounts.push_back({{"staff", id}, {"kind", kind}, {"organisation", s.organisation}, {"roles", standing_roles},
                          {"platforms", std::vector<std::string>(platforms.begin(), platforms.end())}});
    }
    if (privileged) {
      auto it = activity.find(id);
      int64_t last = it == activity.end() ? 0 : it->second;
      if (now - last > pol->dormant_after_seconds) {
        dormant.push_back({{"staff", id}, {"organisation", s.organisation}, {"last_activity", last}});
      }
    }
    for (const auto& c : pol->role_conflicts) {
      if (Contains(s.roles, c.a) && Contains(s.roles, c.b)) {
        sod.push_back({{"staff", id}, {"roles", {c.a, c.b}}, {"reason", c.reason}});
      }
    }
  }
  for (const auto& role : pol->roles) {
    if (role.applies_to != AppliesTo::kAll) {
      differences.push_back({{"kind", "role"}, {"name", role.name}, {"applies_to", AppliesToName(role.applies_to)}, {"line", role.line}});
    }
  }
  for (const auto& rule : pol->rules) {
    if (rule.applies_to != AppliesTo::kAll) {
      differences.push_back({{"kind", "approval_rule"}, {"name", rule.name}, {"applies_to", AppliesToName(rule.applies_to)}, {"line", rule.line}});
    }
  }
  parity["differences"] = differences;
  Json campaigns = Json::array();
  for (const auto& c : Campaigns()) {
    size_t decided = 0;
    Json pending_removal = Json::array();
    for (const auto& i : c.items) {
      decided += !i.decision.empty();
      const Staff* s = snap->FindStaff(i.staff);
      if (i.decision == "remove" && s && Contains(s->roles, i.role)) pending_removal.push_back({{"staff", i.staff}, {"role", i.role}});
    }
    campaigns.push_back({{"id", c.id}, {"name", c.name}, {"due", c.due}, {"decided", decided}, {"total", c.items.size()},
                         {"overdue", now > c.due && decided < c.items.size()}, {"removal_not_applied", pending_removal}});
  }
  return {{"time", now},
          {"policy_version", policy_version()},
          {"standing_privileged", {{"by_platform", by_platform}, {"by_organisation", by_org}, {"accounts", accounts}}},
          {"dormant_privileged", dormant},
          {"sod_conflicts", sod},
          {"parity", parity},
          {"break_glass_awaiting_review", break_glass},
          {"review_campaigns", campaigns},
          {"active_grants", active},
          {"pending_requests", pending}};
}

Json ToJson(const Campaign& c) {
  Json items = Json::array();
  size_t decided = 0;
  for (const auto& i : c.items) {
    items.push_back({{"staff", i.staff}, {"role", i.role}, {"organisation", i.organisation}, {"decision", i.decision},
                     {"decided_by", i.decided_by}, {"comment", i.comment}, {"decided", i.decided}});
    decided += !i.decision.empty();
  }
  return {{"id", c.id}, {"name", c.name}, {"started_by", c.started_by}, {"started", c.started}, {"due", c.due},
          {"ledger_index", c.ledger_index}, {"items", items}, {"decided", decided}, {"total", c.items.size()}};
}

Result<Campaign> AccessService::StartCampaign(const std::string& name, int64_t due, const std::string& actor) {
  if (name.empty() || name.size() > 256) return Invalid("a campaign needs a name of at most 256 bytes");
  const int64_t now = clock_();
  if (due <= now) return Invalid("the due date must be in the future");
  auto snap = directory_.snapshot();
  auto pol = policy();
  Campaign c;
  c.id = "cmp_" + HexEncode(crypto::RandomBytes(8));
  c.name = name;
  c.started_by = actor;
  c.started = now;
  c.due = due;
  std::vector<std::string> ids;
  for (const auto& [id, _] : snap->staff) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (const auto& id : ids) {
    const Staff& s = snap->staff.at(id);
    if (s.disabled) continue;
    for (const auto& rn : s.roles) {
      const Role* role = pol->FindRole(rn);
      if (role && (role->privileged || !role->admin.empty())) c.items.push_back({id, rn, s.organisation, "", "", "", 0});
    }
  }
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  Json body = ToJson(c);
  body.erase("ledger_index");
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"access.campaign_started", body, actor, std::nullopt}));
  c.ledger_index = appended.index;
  RETURN_IF_ERROR(store_.WriteRecords({{kCampaignKind, c.id, ToJson(c).dump(), 0}}));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->campaigns[c.id] = c;
  return c;
}

Result<Campaign> AccessService::DecideCampaignItem(const std::string& campaign, const std::string& staff,
                                                   const std::string& role, const std::string& decision,
                                                   const std::string& comment, const std::string& actor) {
  if (decision != "keep" && decision != "remove") return Invalid("decision must be \"keep\" or \"remove\"");
  if (comment.size() > kMaxText) return Invalid("comment too long");
  if (actor == staff) return Denied("nobody reviews their own privileges");
  std::lock_guard<std::mutex> wlock(impl_->write_mu);
  Campaign c;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    auto it = impl_->campaigns.find(campaign);
    if (it == impl_->campaigns.end()) return MakeError(ErrorCode::kNotFound, "no campaign " + campaign);
    c = it->second;
  }
  auto item = std::find_if(c.items.begin(), c.items.end(), [&](const CampaignItem& i) { return i.staff == staff && i.role == role; });
  if (item == c.items.end()) return MakeError(ErrorCode::kNotFound, "campaign " + campaign + " has no item " + staff + "/" + role);
  if (!item->decision.empty()) return Conflict(staff + "/" + role + " was already decided by " + item->decided_by);
  const int64_t now = clock_();
  ASSIGN_OR_RETURN(auto appended, ledger_.Append({"access.campaign_decision",
                                                  {{"campaign", c.id}, {"staff", staff}, {"role", role},
                                                   {"decision", decision}, {"comment", comment}, {"overdue", now > c.due}},
                                                  actor, std::nullopt}));
  (void)appended;
  item->decision = decision;
  item->decided_by = actor;
  item->comment = comment;
  item->decided = now;
  RETURN_IF_ERROR(store_.WriteRecords({{kCampaignKind, c.id, ToJson(c).dump()}}));
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  impl_->campaigns[c.id] = c;
  return c;
}

Result<Campaign> AccessService::GetCampaign(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  auto it = impl_->campaigns.find(id);
  if (it == impl_->campaigns.end()) return MakeError(ErrorCode::kNotFound, "no campaign " + id);
  return it->second;
}

std::vector<Campaign> AccessService::Campaigns() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  std::vector<Campaign> out;
  for (const auto& [_, c] : impl_->campaigns) out.push_back(c);
  return out;
}

std::vector<AccessRequest> AccessService::TenantAccess(const std::string& tenant) const {
  ListFilter f;
  f.tenant = tenant;
  return List(f);
}

}  // namespace cloudpact::access
