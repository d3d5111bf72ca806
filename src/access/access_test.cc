#include "access/access.h"
#include "access/tenant_audit.h"

#include <gtest/gtest.h>

#include <random>

#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::access {
namespace {

using directory::Directory;

crypto::Ed25519PrivateKey TenantKey(char seed) { return *crypto::Ed25519PrivateKey::FromSeed(std::string(32, seed)); }

// A provider with two platforms, internal and outsourced staff, two tenants with approvers.
std::string DirectoryYaml() {
  return R"(platforms:
  - {id: os-bj, kind: openstack}
  - {id: k8s-sh, kind: kubernetes}
tenants:
  - id: acme
    approvers:
      - {id: acme-ann, public_key: )" + Base64Encode(TenantKey(1).public_key()) + R"(}
  - id: globex
    approvers:
      - {id: globex-gus, public_key: )" + Base64Encode(TenantKey(2).public_key()) + R"(}
resources:
  - {id: acme-db, platform: os-bj, type: database, tenant: acme, tenant_data: true, risk: high}
  - {id: globex-db, platform: os-bj, type: database, tenant: globex, tenant_data: true}
  - {id: host01, platform: os-bj, type: host, labels: {env: prod}}
  - {id: host02, platform: k8s-sh, type: host, labels: {env: dev}}
staff:
  - {id: alice, roles: [sre, security-admin]}
  - {id: dave, roles: [security-admin]}
  - {id: bob, kind: outsourced, organisation: Contoso, roles: [dba]}
  - {id: carl, kind: outsourced, organisation: Contoso, roles: [lead]}
  - {id: erin, roles: [lead]}
  - {id: frank, roles: [lead]}
  - {id: olga, roles: [oncall]}
  - {id: nora, roles: []}
)";
}

constexpr const char* kPolicy = R"(request_ttl: 12h
default_max_duration: 8h
roles:
  - name: sre
    privileged: true
    permissions:
      - {actions: ["login:*", exec], resources: {types: [host]}}
      - {actions: [metrics:read], resources: {types: [host]}, standing: true}
  - name: dba
    privileged: true
    permissions:
      - {actions: ["login:dba", "db:*"], resources: {types: [database]}}
      - {actions: [login:dba], resources: {types: [host]}}
  - name: lead
    admin: [access:review]
  - name: security-admin
    admin: [access:review, policy:propose, policy:approve, directory:write]
  - name: oncall
    privileged: true
    permissions:
      - {actions: ["*"], resources: {}}
approval_rules:
  - name: prod
    match: {resources: {labels: {env: prod}}}
    require: {approvals: 2, approver_roles: [lead], distinct_organisations: 1, max_duration: 4h}
  - name: outsourced-on-databases
    match: {resources: {types: [database]}, applies_to: outsourced}
    require: {approvals: 2, approver_roles: [lead, security-admin], distinct_organisations: 2}
separation_of_duties:
  role_conflicts:
    - {roles: [dba, security-admin], reason: "administrators do not operate databases"}
  approval_conflicts:
    - {same_organisation: true, requester_role: dba, reason: "contractors are not approved by their own company"}
break_glass:
  roles: [oncall]
  max_duration: 2h
  review_within: 24h
  reviewer_roles: [security-admin]
)";

class AccessSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    inner_ = testing::OpenFresh(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::make_unique<testing::FaultyStorage>(*inner_);
    ledger_ = ledger::Ledger::Open(*store_, Signer(), {}).value();
    Reopen();
    auto pol = svc_->ProposePolicy(kPolicy, "alice");
    ASSERT_TRUE(pol.ok()) << pol.error().message;
    auto applied = dir_->Apply(*directory::ParseDirectory(*ParseYaml(DirectoryYaml())), "alice");
    ASSERT_TRUE(applied.ok()) << applied.error().message;
  }
  void Reopen() {
    svc_.reset();
    dir_ = Directory::Load(*store_, *ledger_).value();
    auto s = AccessService::Load(*store_, *ledger_, *dir_, [this] { return now_; });
    ASSERT_TRUE(s.ok()) << s.error().message;
    svc_ = std::move(*s);
    dir_->SetStaffValidator([this](const directory::Staff& s) { return svc_->ValidateStaff(s); });
    svc_->SetNotifier([this](const std::string& t, const Json& e) { notes_.push_back({t, e}); });
  }
  static crypto::NoteSigner Signer() {
    return crypto::NoteSigner("test.example/log", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07')));
  }
  NewRequest Req(std::vector<std::string> resources, std::vector<std::string> actions) {
    NewRequest r;
    r.resources = std::move(resources);
    r.actions = std::move(actions);
    r.reason = "maintenance";
    r.justification = "patch window CHG-1";
    r.ticket = "CHG-1";
    return r;
  }
  NewReview Approve() { return NewReview{"approve", "ok", ""}; }
  NewReview Signed(const AccessRequest& r, char seed, const std::string& decision = "approve") {
    return NewReview{decision, "", TenantKey(seed).Sign(ReviewMessage(decision, r.digest))};
  }
  std::vector<std::string> EntryTypes() {
    std::vector<std::string> out;
    for (uint64_t i = 0; i < ledger_->Size(); ++i) out.push_back((*ParseJson(*ledger_->ReadEntry(i)))["type"]);
    return out;
  }

  int64_t now_ = 1'800'000'000;  // 2027-01-15T08:00:00Z, a Friday
  std::unique_ptr<storage::Storage> inner_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Directory> dir_;
  std::unique_ptr<AccessService> svc_;
  std::vector<std::pair<std::string, Json>> notes_;
};

TEST_P(AccessSuite, StandingRolesAllowAndJustInTimeRolesNeedAGrant) {
  Decision d = svc_->Check("alice", "metrics:read", "host02");
  EXPECT_TRUE(d.allow) << d.reason;
  EXPECT_EQ(d.role, "sre");
  d = svc_->Check("alice", "login:root", "host02");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason, "no standing role or active grant covers login:root on host02");
  EXPECT_FALSE(svc_->Check("ghost", "login:root", "host02").allow);
  EXPECT_EQ(svc_->Check("alice", "login:root", "nowhere").reason, "unknown resource");
}

TEST_P(AccessSuite, RequestsAreCheckedAgainstTheRequestersRoles) {
  auto r = svc_->CreateRequest("nora", Req({"host02"}, {"login:root"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().message.find("none of nora's roles covers \"login:root\" on host02"), std::string::npos);
  EXPECT_EQ(svc_->CreateRequest("alice", Req({"nowhere"}, {"login:root"})).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->CreateRequest("ghost", Req({"host02"}, {"login:root"})).error().code, ErrorCode::kNotFound);
  auto bad = Req({"host02"}, {"login:root"});
  bad.reason = "curiosity";
  EXPECT_EQ(svc_->CreateRequest("alice", bad).error().code, ErrorCode::kInvalidArgument);
  auto too_long = Req({"host01"}, {"login:root"});
  too_long.duration_seconds = 5 * 3600;  // rule "prod" caps at 4h
  auto tl = svc_->CreateRequest("alice", too_long);
  ASSERT_FALSE(tl.ok());
  EXPECT_NE(tl.error().message.find("exceeds the policy's maximum of 14400s"), std::string::npos) << tl.error().message;
}

TEST_P(AccessSuite, DefaultRuleOneReviewerNeverTheRequester) {
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"login:root"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, State::kPending);
  ASSERT_EQ(r->requirements.size(), 1u);
  EXPECT_EQ(r->requirements[0].rule, "default");
  auto self = svc_->AddReview(r->id, "alice", Approve());
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(self.error().message, "nobody may review their own request");
  auto nobody = svc_->AddReview(r->id, "nora", Approve());
  EXPECT_EQ(nobody.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(svc_->AddReview(r->id, "ghost", Approve()).error().code, ErrorCode::kNotFound);
  auto ok = svc_->AddReview(r->id, "erin", Approve());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->state, State::kActive);
  EXPECT_EQ(ok->grant_expires, now_ + 8 * 3600);
  Decision d = svc_->Check("alice", "login:root", "host02");
  EXPECT_TRUE(d.allow) << d.reason;
  EXPECT_EQ(d.grant, r->id);
  EXPECT_FALSE(svc_->Check("alice", "login:admin", "host02").allow);  // only what was granted
  EXPECT_FALSE(svc_->Check("erin", "login:root", "host02").allow);
  // Closed: a late review is a conflict, not a second approval.
  EXPECT_EQ(svc_->AddReview(r->id, "frank", Approve()).error().code, ErrorCode::kFailedPrecondition);
  auto types = EntryTypes();
  EXPECT_EQ(types.back(), "access.grant");
  EXPECT_EQ(types[types.size() - 2], "access.review");
  // The stored review points at its own entry.
  EXPECT_EQ(svc_->Get(r->id)->reviews.back().ledger_index, ledger_->Size() - 2);
}

TEST_P(AccessSuite, EvidenceLinkedToAGrantIsListedWithItAfterARestart) {
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"login:root"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(svc_->AddReview(r->id, "erin", Approve()).ok());
  const size_t before = svc_->Get(r->id)->ledger_indexes.size();
  auto idx = svc_->RecordEvidence(r->id, {"gateway.command", {{"seq", 1}}, "alice", std::nullopt});
  ASSERT_TRUE(idx.ok()) << idx.error().message;
  auto unlinked = svc_->RecordEvidence("", {"gateway.session.refused", {{"reason", "no grant"}}, "alice", std::nullopt});
  ASSERT_TRUE(unlinked.ok());
  EXPECT_EQ(svc_->Get(r->id)->ledger_indexes.size(), before + 1);
  EXPECT_EQ(svc_->Get(r->id)->ledger_indexes.back(), *idx);
  Reopen();
  auto after = svc_->Get(r->id);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->ledger_indexes.size(), before + 1);
  EXPECT_EQ(after->ledger_indexes.back(), *idx);
  // A state change after the link keeps it (it copies the request it stores).
  ASSERT_TRUE(svc_->Revoke(r->id, "erin", "done").ok());
  Reopen();
  auto revoked = svc_->Get(r->id);
  EXPECT_NE(std::find(revoked->ledger_indexes.begin(), revoked->ledger_indexes.end(), *idx), revoked->ledger_indexes.end());
  // Without the ledger nothing is recorded, and nothing is linked.
  store_->fail_ledger = true;
  EXPECT_FALSE(svc_->RecordEvidence(r->id, {"gateway.command", {{"seq", 2}}, "alice", std::nullopt}).ok());
  store_->fail_ledger = false;
  EXPECT_EQ(svc_->Get(r->id)->ledger_indexes.size(), revoked->ledger_indexes.size());
}

TEST_P(AccessSuite, KOfNFromTheNamedRoles) {
  auto r = svc_->CreateRequest("alice", Req({"host01"}, {"login:root"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->requirements[0].rule, "prod");
  // dave holds access:review but not the rule's approver role "lead".
  EXPECT_EQ(svc_->AddReview(r->id, "dave", Approve()).error().code, ErrorCode::kPermissionDenied);
  auto one = svc_->AddReview(r->id, "erin", Approve());
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->state, State::kPending);
  EXPECT_EQ(svc_->AddReview(r->id, "erin", Approve()).error().code, ErrorCode::kFailedPrecondition);  // twice
  auto two = svc_->AddReview(r->id, "frank", Approve());
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->state, State::kActive);
  EXPECT_EQ(two->grant_expires - two->granted, 4 * 3600);
}

TEST_P(AccessSuite, DistinctOrganisationsAndApprovalConflicts) {
  auto r = svc_->CreateRequest("bob", Req({"host01"}, {"login:dba"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  // carl is bob's colleague at Contoso: separation of duties forbids his approval.
  auto carl = svc_->AddReview(r->id, "carl", Approve());
  ASSERT_FALSE(carl.ok());
  EXPECT_EQ(carl.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(carl.error().message.find("contractors are not approved by their own company"), std::string::npos);
  EXPECT_FALSE(svc_->WhyNotReviewer(r->id, "carl").empty());
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kPending);
  ASSERT_EQ(svc_->AddReview(r->id, "frank", Approve())->state, State::kActive);

  // On a database, the outsourced rule needs approvers from two organisations; the tenant
  // must sign too.
  auto db = svc_->CreateRequest("bob", Req({"globex-db"}, {"db:read"}));
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ(db->tenants_required, std::vector<std::string>{"globex"});
  ASSERT_EQ(svc_->AddReview(db->id, "erin", Approve())->state, State::kPending);
  ASSERT_EQ(svc_->AddReview(db->id, "frank", Approve())->state, State::kPending);  // same org as erin
  ASSERT_EQ(svc_->AddReview(db->id, "globex-gus", Signed(*db, 2))->state, State::kPending);
  // A tenant approver's organisation does not count towards the provider's k-of-n.
  auto still = svc_->Get(db->id);
  EXPECT_EQ(still->state, State::kPending);
}

TEST_P(AccessSuite, TenantDataNeedsTheTenantsOwnSignature) {
  auto r = svc_->CreateRequest("alice", Req({"acme-db"}, {"login:dba"}));
  ASSERT_FALSE(r.ok());  // alice's roles do not cover databases
  r = svc_->CreateRequest("olga", Req({"acme-db"}, {"db:read"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->tenants_required, std::vector<std::string>{"acme"});
  ASSERT_EQ(notes_.size(), 1u);  // the tenant hears of the request at once
  EXPECT_EQ(notes_[0].first, "acme");
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kPending);  // provider alone is not enough

  auto unsigned_review = svc_->AddReview(r->id, "acme-ann", Approve());
  EXPECT_EQ(unsigned_review.error().code, ErrorCode::kInvalidArgument);
  auto wrong_key = svc_->AddReview(r->id, "acme-ann", Signed(*r, 9));
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kInvalidArgument);
  auto other = *r;
  other.digest = std::string(64, '0');
  EXPECT_EQ(svc_->AddReview(r->id, "acme-ann", Signed(other, 1)).error().code, ErrorCode::kInvalidArgument);
  // A decision the signature does not cover (signed "deny", sent as "approve").
  NewReview flipped = Signed(*r, 1, "deny");
  flipped.decision = "approve";
  EXPECT_EQ(svc_->AddReview(r->id, "acme-ann", flipped).error().code, ErrorCode::kInvalidArgument);
  // Another tenant's approver has no say here.
  EXPECT_EQ(svc_->AddReview(r->id, "globex-gus", Signed(*r, 2)).error().code, ErrorCode::kPermissionDenied);

  auto ok = svc_->AddReview(r->id, "acme-ann", Signed(*r, 1));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->state, State::kActive);
  EXPECT_TRUE(svc_->Check("olga", "db:read", "acme-db").allow);
  // The grant entry carries the tenant's signature and key, checkable from the ledger alone.
  auto grant = *ParseJson(*ledger_->ReadEntry(ledger_->Size() - 1));
  ASSERT_EQ(grant["type"], "access.grant");
  const Json& ta = grant["body"]["tenant_approvals"][0];
  EXPECT_EQ(ta["approver"], "acme-ann");
  std::string canonical = *CanonicalJson(grant["body"]["request"]);
  std::string digest = HexEncode(crypto::AsBytes(crypto::Sha256(canonical)));
  EXPECT_EQ(digest, grant["body"]["digest"]);
  EXPECT_TRUE(crypto::Ed25519Verify(*Base64Decode(ta["public_key"].get<std::string>()), ReviewMessage("approve", digest),
                                    *Base64Decode(ta["signature"].get<std::string>())));
  // The justification stays off the public tree.
  EXPECT_EQ(grant.dump().find("patch window"), std::string::npos);
}

TEST_P(AccessSuite, ATenantDenialClosesTheRequest) {
  auto r = svc_->CreateRequest("olga", Req({"acme-db"}, {"db:read"}));
  auto d = svc_->AddReview(r->id, "acme-ann", Signed(*r, 1, "deny"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->state, State::kDenied);
  EXPECT_EQ(svc_->AddReview(r->id, "erin", Approve()).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(svc_->Check("olga", "db:read", "acme-db").allow);
}

TEST_P(AccessSuite, UndecidedRequestsAndGrantsExpire) {
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"login:root"}));
  now_ += 12 * 3600;
  auto late = svc_->AddReview(r->id, "erin", Approve());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->Get(r->id)->state, State::kExpired);

  auto g = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  g->duration_seconds = 0;
  ASSERT_EQ(svc_->AddReview(g->id, "erin", Approve())->state, State::kActive);
  EXPECT_TRUE(svc_->Check("alice", "exec", "host02").allow);
  now_ += 8 * 3600;
  // Expired at once for decisions, before any sweep…
  EXPECT_FALSE(svc_->Check("alice", "exec", "host02").allow);
  // …and the sweep records it.
  ASSERT_TRUE(svc_->Tick().ok());
  EXPECT_EQ(svc_->Get(g->id)->state, State::kExpired);
  EXPECT_EQ(EntryTypes().back(), "access.grant_expired");
}

TEST_P(AccessSuite, RevocationTakesEffectAtTheNextCheck) {
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kActive);
  EXPECT_TRUE(svc_->Check("alice", "exec", "host02").allow);
  ASSERT_TRUE(svc_->Revoke(r->id, "dave", "done early").ok());
  EXPECT_FALSE(svc_->Check("alice", "exec", "host02").allow);
  EXPECT_EQ(svc_->Revoke(r->id, "dave", "again").error().code, ErrorCode::kFailedPrecondition);
}

TEST_P(AccessSuite, TimeWindowsLimitWhenAGrantWorks) {
  std::string policy = kPolicy;
  const std::string from = "max_duration: 4h}";
  policy.replace(policy.find(from), from.size(),
                 "max_duration: 4h, windows: [{days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"18:00\", utc_offset: \"+08:00\"}]}");
  auto v2 = svc_->ProposePolicy(policy, "alice");
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  ASSERT_TRUE(svc_->ApprovePolicy(v2->version, "dave").ok());
  auto r = svc_->CreateRequest("alice", Req({"host01"}, {"exec"}));
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kPending);
  ASSERT_EQ(svc_->AddReview(r->id, "frank", Approve())->state, State::kActive);
  // now_ is Friday 16:00 at +08:00: inside.
  EXPECT_TRUE(svc_->Check("alice", "exec", "host01").allow);
  Decision late = svc_->CheckAt("alice", "exec", "host01", now_ + 3 * 3600);  // 19:00 +08:00
  EXPECT_FALSE(late.allow);
  EXPECT_TRUE(late.outside_window);
  EXPECT_EQ(late.reason, "a grant covers this, but not at this time of day");
  EXPECT_FALSE(svc_->CheckAt("alice", "login:root", "host01", now_ + 3 * 3600).outside_window);  // nothing covers it

  // After the fact: the same answers for the times logs report.
  const int64_t granted = now_;
  now_ += 24 * 3600;
  EXPECT_TRUE(svc_->CoveredAt("alice", "exec", "host01", granted + 3600).allow);
  Decision then = svc_->CoveredAt("alice", "exec", "host01", granted + 3 * 3600);
  EXPECT_FALSE(then.allow);
  EXPECT_TRUE(then.outside_window);
  EXPECT_EQ(then.reason, "a grant active then covers this, but not at that time of day");
  // Outside the grant's interval it is simply not covered, windows or not.
  Decision after = svc_->CoveredAt("alice", "exec", "host01", granted + 5 * 3600);
  EXPECT_FALSE(after.allow);
  EXPECT_FALSE(after.outside_window);
  Reopen();
  EXPECT_TRUE(svc_->CoveredAt("alice", "exec", "host01", granted + 3 * 3600).outside_window);
}

TEST_P(AccessSuite, CoveredAtJudgesAPastTimeByTheGrantsActiveThen) {
  const int64_t t0 = now_;
  // exec on host02 for 8h: asked for at t0, approved 10 minutes later.
  auto exec = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_TRUE(exec.ok()) << exec.error().message;
  now_ = t0 + 600;
  ASSERT_EQ(svc_->AddReview(exec->id, "erin", Approve())->state, State::kActive);
  // Two shorter grants after it, so that looking back from later must pass over them.
  auto short_grant = [&](const std::string& action) {
    auto q = Req({"host02"}, {action});
    q.duration_seconds = 3600;
    auto r = svc_->CreateRequest("alice", q);
    EXPECT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kActive);
    return r->id;
  };
  now_ = t0 + 3600;
  const std::string root = short_grant("login:root");
  now_ = t0 + 2 * 3600;
  const std::string admin = short_grant("login:admin");
  // login:root again, revoked after half an hour.
  now_ = t0 + 3 * 3600;
  const std::string revoked = short_grant("login:root");
  now_ = t0 + 3 * 3600 + 1800;
  ASSERT_TRUE(svc_->Revoke(revoked, "dave", "done early").ok());
  // The 8h grant lapses and the sweep records it.
  now_ = t0 + 600 + 8 * 3600;
  ASSERT_TRUE(svc_->Tick().ok());
  ASSERT_EQ(svc_->Get(exec->id)->state, State::kExpired);
  now_ = t0 + 48 * 3600;

  auto expect = [&](const std::string& action, int64_t at, const std::string& grant) {
    Decision d = svc_->CoveredAt("alice", action, "host02", at);
    EXPECT_EQ(d.allow, !grant.empty()) << action << " at t0+" << at - t0 << ": " << d.reason;
    EXPECT_EQ(d.grant, grant) << action << " at t0+" << at - t0;
    EXPECT_FALSE(d.break_glass);
    EXPECT_FALSE(d.tenant_approved);
    EXPECT_FALSE(d.outside_window);
  };
  auto answers = [&] {
    expect("exec", t0 + 300, "");             // requested, not yet granted
    expect("exec", t0 + 599, "");
    expect("exec", t0 + 600, exec->id);       // from the second it was granted
    expect("exec", t0 + 7 * 3600, exec->id);  // past the later, shorter grants
    expect("exec", t0 + 600 + 8 * 3600 - 1, exec->id);
    expect("exec", t0 + 600 + 8 * 3600, "");  // expired
    expect("login:root", t0 + 3600 + 1800, root);
    expect("login:root", t0 + 2 * 3600, "");  // the first one expired, the second not yet granted
    expect("login:admin", t0 + 2 * 3600 + 10, admin);
    expect("login:admin", t0 + 3600 + 10, "");
    expect("login:root", t0 + 3 * 3600 + 1799, revoked);  // before the revocation…
    expect("login:root", t0 + 3 * 3600 + 1800, "");       // …not from it on,
    expect("login:root", t0 + 3 * 3600 + 3000, "");       // though the grant had time left
    expect("exec", t0 - 86400, "");
    // Only what was granted, where it was granted.
    EXPECT_FALSE(svc_->CoveredAt("alice", "login:dba", "host02", t0 + 3600).allow);
    EXPECT_FALSE(svc_->CoveredAt("alice", "exec", "host01", t0 + 3600).allow);
    EXPECT_FALSE(svc_->CoveredAt("erin", "exec", "host02", t0 + 3600).allow);
    EXPECT_EQ(svc_->CoveredAt("alice", "login:dba", "host02", t0 + 3600).reason,
              "no standing role or grant active at " + std::to_string(t0 + 3600) + " covers login:dba on host02");
    // A standing role covers at any time (under the policy in force now).
    Decision standing = svc_->CoveredAt("alice", "metrics:read", "host02", t0 - 365 * 86400);
    EXPECT_TRUE(standing.allow);
    EXPECT_EQ(standing.role, "sre");
    EXPECT_EQ(standing.grant, "");
    // Unknown principals and resources, as for Check.
    EXPECT_EQ(svc_->CoveredAt("ghost", "exec", "host02", t0 + 3600).reason, "unknown principal");
    EXPECT_EQ(svc_->CoveredAt("alice", "exec", "nowhere", t0 + 3600).reason, "unknown resource");
  };
  answers();
  Reopen();  // the history is rebuilt from storage
  answers();

  // A disabled principal is covered by nothing, not even a grant that was active then.
  directory::DirectorySpec off;
  directory::Staff alice = *dir_->snapshot()->FindStaff("alice");
  alice.disabled = true;
  off.staff.push_back(alice);
  ASSERT_TRUE(dir_->Apply(off, "dave").ok());
  Decision disabled = svc_->CoveredAt("alice", "exec", "host02", t0 + 3600);
  EXPECT_FALSE(disabled.allow);
  EXPECT_EQ(disabled.reason, "principal is disabled");
}

TEST_P(AccessSuite, CoveredAtSaysHowTheGrantWasApproved) {
  const int64_t t0 = now_;
  // A lockbox grant on Acme's database, with Acme's signature.
  auto lockbox = svc_->CreateRequest("olga", Req({"acme-db"}, {"db:read"}));
  ASSERT_TRUE(lockbox.ok()) << lockbox.error().message;
  ASSERT_EQ(svc_->AddReview(lockbox->id, "erin", Approve())->state, State::kPending);
  ASSERT_EQ(svc_->AddReview(lockbox->id, "acme-ann", Signed(*lockbox, 1))->state, State::kActive);
  // Then break-glass on the same database, reading and writing, and on a host.
  now_ = t0 + 60;
  auto bg = svc_->BreakGlass("olga", Req({"acme-db", "host02"}, {"db:read", "db:write"}));
  ASSERT_TRUE(bg.ok()) << bg.error().message;
  ASSERT_FALSE(bg->tenants_required.empty());
  // An ordinary grant that needs no tenant.
  auto plain = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_EQ(svc_->AddReview(plain->id, "erin", Approve())->state, State::kActive);
  now_ = t0 + 600;
  Decision live = svc_->Check("olga", "db:write", "acme-db");
  EXPECT_TRUE(live.break_glass);
  EXPECT_FALSE(live.tenant_approved);

  auto answers = [&] {
    Decision approved = svc_->CoveredAt("olga", "db:read", "acme-db", t0 + 30);
    EXPECT_TRUE(approved.allow) << approved.reason;
    EXPECT_EQ(approved.grant, lockbox->id);
    EXPECT_TRUE(approved.tenant_approved);
    EXPECT_FALSE(approved.break_glass);
    // Both grants cover a read after t0+60: the tenant-approved one is the one that counts.
    Decision both = svc_->CoveredAt("olga", "db:read", "acme-db", t0 + 120);
    EXPECT_EQ(both.grant, lockbox->id);
    EXPECT_TRUE(both.tenant_approved);
    // Only break-glass covers a write.
    Decision bgd = svc_->CoveredAt("olga", "db:write", "acme-db", t0 + 120);
    EXPECT_TRUE(bgd.allow);
    EXPECT_EQ(bgd.grant, bg->id);
    EXPECT_TRUE(bgd.break_glass);
    EXPECT_FALSE(bgd.tenant_approved);
    EXPECT_FALSE(svc_->CoveredAt("olga", "db:write", "acme-db", t0 + 30).allow);  // before break-glass
    // No tenant involved: not "tenant approved".
    Decision ordinary = svc_->CoveredAt("alice", "exec", "host02", t0 + 120);
    EXPECT_TRUE(ordinary.allow);
    EXPECT_FALSE(ordinary.tenant_approved);
    EXPECT_FALSE(ordinary.break_glass);
  };
  answers();
  // Break-glass judged unjustified is revoked; what it covered before stays covered.
  now_ = t0 + 1200;
  ASSERT_EQ(svc_->AddReview(bg->id, "dave", NewReview{"deny", "not an emergency", ""})->state, State::kRevoked);
  EXPECT_FALSE(svc_->CoveredAt("olga", "db:write", "acme-db", t0 + 1200).allow);
  Reopen();
  answers();
  EXPECT_FALSE(svc_->CoveredAt("olga", "db:write", "acme-db", t0 + 1200).allow);
}

TEST_P(AccessSuite, BreakGlassIsImmediateNotifiedAndMustBeReviewed) {
  auto denied = svc_->BreakGlass("alice", Req({"acme-db"}, {"db:read"}));
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  auto no_reason = Req({"acme-db"}, {"db:read"});
  no_reason.justification = "";
  EXPECT_EQ(svc_->BreakGlass("olga", no_reason).error().code, ErrorCode::kInvalidArgument);
  auto bg = svc_->BreakGlass("olga", Req({"acme-db", "host02"}, {"db:read"}));
  ASSERT_TRUE(bg.ok()) << bg.error().message;
  EXPECT_EQ(bg->state, State::kActive);
  EXPECT_EQ(bg->grant_expires - bg->granted, 2 * 3600);
  EXPECT_TRUE(svc_->Check("olga", "db:read", "acme-db").allow);
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_EQ(notes_[0].first, "acme");
  EXPECT_EQ(notes_[0].second["event"], "access.breakglass");
  auto entry = *ParseJson(*ledger_->ReadEntry(ledger_->Size() - 1));
  EXPECT_EQ(entry["type"], "access.breakglass");
  EXPECT_EQ(entry["body"]["notified_tenants"], Json::array({"acme"}));

  Json posture = svc_->Posture();
  ASSERT_EQ(posture["break_glass_awaiting_review"].size(), 1u);
  EXPECT_FALSE(posture["break_glass_awaiting_review"][0]["overdue"]);
  now_ += 25 * 3600;
  EXPECT_TRUE(svc_->Posture()["break_glass_awaiting_review"][0]["overdue"]);
  EXPECT_EQ(svc_->AddReview(bg->id, "erin", Approve()).error().code, ErrorCode::kPermissionDenied);  // not a reviewer role
  auto rev = svc_->AddReview(bg->id, "dave", NewReview{"deny", "not an emergency", ""});
  ASSERT_TRUE(rev.ok()) << rev.error().message;
  EXPECT_EQ(rev->post_review, "unjustified");
  EXPECT_TRUE(svc_->Posture()["break_glass_awaiting_review"].empty());
}

TEST_P(AccessSuite, PolicyChangesNeedASecondAdmin) {
  std::string v2text = std::string(kPolicy) + "\n";
  const std::string from = "approvals: 2, approver_roles: [lead]";
  v2text.replace(v2text.find(from), from.size(), "approvals: 1, approver_roles: [lead]");
  auto v2 = svc_->ProposePolicy(v2text, "alice");
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(v2->state, "proposed");
  EXPECT_EQ(svc_->policy_version(), 1);  // the old policy stays in force
  auto self = svc_->ApprovePolicy(v2->version, "alice");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(self.error().message.find("needs a second security admin"), std::string::npos);
  auto r = svc_->CreateRequest("alice", Req({"host01"}, {"exec"}));
  EXPECT_EQ(r->requirements[0].approvals, 2);
  ASSERT_TRUE(svc_->ApprovePolicy(v2->version, "dave").ok());
  EXPECT_EQ(svc_->policy_version(), 2);
  EXPECT_EQ(svc_->CreateRequest("alice", Req({"host01"}, {"exec"}))->requirements[0].approvals, 1);
  EXPECT_EQ(svc_->Get(r->id)->requirements[0].approvals, 2);  // no moving the goalposts
  EXPECT_EQ(svc_->ApprovePolicy(v2->version, "dave").error().code, ErrorCode::kFailedPrecondition);

  auto invalid = svc_->ProposePolicy("roles:\n  - name: x\n    permissions: [{actions: [Bad]}]\n", "alice");
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.error().message.find("line 3"), std::string::npos) << invalid.error().message;
  EXPECT_EQ(svc_->policy_version(), 2);
  // A policy that drops a role someone holds is refused, not applied half-way.
  auto drops = svc_->ProposePolicy("roles: [{name: sre}]\n", "alice");
  ASSERT_FALSE(drops.ok());
  EXPECT_NE(drops.error().message.find("holds role \"dba\", which this policy does not define"), std::string::npos);
  auto types = EntryTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "policy.activated"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "policy.proposed"), 1);
}

TEST_P(AccessSuite, SeparationOfDutiesInRoleAssignments) {
  directory::DirectorySpec spec;
  spec.staff.push_back(directory::Staff{.id = "zed", .roles = {"dba", "security-admin"}});
  auto r = dir_->Apply(spec, "alice");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("administrators do not operate databases"), std::string::npos) << r.error().message;
  spec.staff[0].roles = {"nonexistent"};
  EXPECT_NE(dir_->Apply(spec, "alice").error().message.find("unknown role"), std::string::npos);
}

TEST_P(AccessSuite, NothingHappensWhenTheLedgerCannotRecord) {
  store_->fail_ledger = true;
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(svc_->List({}).empty());
  store_->fail_ledger = false;
  auto ok = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_TRUE(ok.ok());
  store_->fail_ledger = true;
  EXPECT_FALSE(svc_->AddReview(ok->id, "erin", Approve()).ok());
  EXPECT_EQ(svc_->Get(ok->id)->state, State::kPending);
  EXPECT_FALSE(svc_->Check("alice", "exec", "host02").allow);
  EXPECT_FALSE(svc_->BreakGlass("olga", Req({"host02"}, {"exec"})).ok());
  EXPECT_FALSE(svc_->Check("olga", "exec", "host02").allow);
}

TEST_P(AccessSuite, StateSurvivesARestart) {
  auto r = svc_->CreateRequest("alice", Req({"host02"}, {"exec"}));
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kActive);
  auto p = svc_->CreateRequest("alice", Req({"host01"}, {"exec"}));
  Reopen();
  EXPECT_TRUE(svc_->Check("alice", "exec", "host02").allow);
  EXPECT_EQ(svc_->Get(p->id)->state, State::kPending);
  EXPECT_EQ(svc_->Get(p->id)->justification, "patch window CHG-1");
  EXPECT_EQ(svc_->policy_version(), 1);
  EXPECT_EQ(svc_->TenantAccess("acme").size(), 0u);
}

TEST_P(AccessSuite, PostureCountsStandingPrivilegeAndNamesDifferences) {
  Json p = svc_->Posture();
  // alice (sre: standing metrics:read) and olga (oncall: no standing permission).
  ASSERT_EQ(p["standing_privileged"]["accounts"].size(), 1u);
  EXPECT_EQ(p["standing_privileged"]["accounts"][0]["staff"], "alice");
  EXPECT_EQ(p["standing_privileged"]["by_platform"]["os-bj"], 1);
  EXPECT_EQ(p["standing_privileged"]["by_organisation"]["provider"], 1);
  EXPECT_EQ(p["parity"]["outsourced"]["staff"], 2);
  EXPECT_EQ(p["parity"]["outsourced"]["privileged"], 1);
  ASSERT_EQ(p["parity"]["differences"].size(), 1u);
  EXPECT_EQ(p["parity"]["differences"][0]["name"], "outsourced-on-databases");
  // Never-used privileged accounts are dormant.
  EXPECT_EQ(p["dormant_privileged"].size(), 3u);
  EXPECT_TRUE(p["sod_conflicts"].empty());
}

TEST_P(AccessSuite, TenantAuditFromTheLedgerAlone) {
  auto r = svc_->CreateRequest("olga", Req({"acme-db"}, {"db:read"}));
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kPending);
  ASSERT_EQ(svc_->AddReview(r->id, "acme-ann", Signed(*r, 1))->state, State::kActive);
  ASSERT_TRUE(svc_->BreakGlass("olga", Req({"acme-db"}, {"db:write"})).ok());
  ASSERT_TRUE(svc_->RecordUse("", "olga", "db:read", "acme-db", {{"session", "s1"}}).ok());
  std::vector<std::string> entries;
  for (uint64_t i = 0; i < ledger_->Size(); ++i) entries.push_back(*ledger_->ReadEntry(i));
  auto audit = [&](const std::vector<std::string>& log, std::vector<std::string> pinned = {}) {
    TenantAuditor a("acme", ledger_->origin(), std::move(pinned));
    for (size_t i = 0; i < log.size(); ++i) a.Add(i, log[i]);
    return a.Finish();
  };
  TenantAuditReport ok = audit(entries);
  EXPECT_TRUE(ok.problems.empty()) << ok.problems.front();
  ASSERT_EQ(ok.accesses.size(), 2u);
  EXPECT_EQ(ok.accesses[0].tenant_signers, std::vector<std::string>{"acme-ann"});
  EXPECT_EQ(ok.accesses[0].approvers, std::vector<std::string>{"erin"});
  EXPECT_EQ(ok.accesses[1].type, "access.breakglass");
  EXPECT_EQ(ok.uses, 1u);
  EXPECT_TRUE(audit(entries, {Base64Encode(TenantKey(1).public_key())}).problems.empty());
  // Globex sees none of it.
  TenantAuditor g("globex", ledger_->origin());
  for (size_t i = 0; i < entries.size(); ++i) g.Add(i, entries[i]);
  EXPECT_TRUE(g.Finish().accesses.empty());

  size_t grant = 0;
  for (size_t i = 0; i < entries.size(); ++i) if ((*ParseJson(entries[i]))["type"] == "access.grant") grant = i;
  auto tampered = [&](auto&& edit) {
    auto log = entries;
    Json e = *ParseJson(log[grant]);
    edit(e);
    log[grant] = e.dump();
    return audit(log);
  };
  // A provider that forges the approval with a key of its own is caught…
  auto forged = tampered([&](Json& e) {
    auto k = TenantKey(5);
    e["body"]["tenant_approvals"][0]["public_key"] = Base64Encode(k.public_key());
    e["body"]["tenant_approvals"][0]["signature"] = Base64Encode(k.Sign(ReviewMessage("approve", e["body"]["digest"].get<std::string>())));
  });
  ASSERT_FALSE(forged.problems.empty());
  EXPECT_NE(forged.problems[0].find("never registered"), std::string::npos) << forged.problems[0];
  // …so is a widened scope under an old signature, and a dropped signature.
  auto widened = tampered([](Json& e) { e["body"]["request"]["actions"].push_back("db:write"); });
  ASSERT_FALSE(widened.problems.empty());
  EXPECT_NE(widened.problems[0].find("digest does not match"), std::string::npos);
  auto dropped = tampered([](Json& e) { e["body"]["tenant_approvals"] = Json::array(); });
  ASSERT_FALSE(dropped.problems.empty());
  EXPECT_NE(dropped.problems[0].find("without the tenant's signed approval"), std::string::npos);
  // A key the provider registered that the tenant never pinned does not count.
  auto unpinned = audit(entries, {Base64Encode(TenantKey(6).public_key())});
  ASSERT_FALSE(unpinned.problems.empty());
  EXPECT_NE(unpinned.problems[0].find("did not pin"), std::string::npos);
}

TEST_P(AccessSuite, AKeyTheApproverRegisteredCountsAsRegistered) {
  // The approver registers a key of their own (the API checked the proof and the session).
  const auto key = TenantKey(7);
  const std::string key_b64 = Base64Encode(key.public_key());
  const std::string proof = Base64Encode(key.Sign(ApproverKeyStatement("acme-ann", "acme", key_b64)));
  auto changed = dir_->SetApproverKey("acme-ann", key.public_key(), "acme-ann", {{"signature", proof}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;

  // The old key no longer verifies; the new one does.
  auto r = svc_->CreateRequest("olga", Req({"acme-db"}, {"db:read"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto old_key = svc_->AddReview(r->id, "acme-ann", Signed(*r, 1));
  ASSERT_FALSE(old_key.ok());
  EXPECT_EQ(old_key.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(svc_->AddReview(r->id, "erin", Approve())->state, State::kPending);
  auto approved = svc_->AddReview(r->id, "acme-ann", Signed(*r, 7));
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_EQ(approved->state, State::kActive);

  std::vector<std::string> entries;
  for (uint64_t i = 0; i < ledger_->Size(); ++i) entries.push_back(*ledger_->ReadEntry(i));
  auto audit = [&](const std::vector<std::string>& log, std::vector<std::string> pinned = {}) {
    TenantAuditor a("acme", ledger_->origin(), std::move(pinned));
    for (size_t i = 0; i < log.size(); ++i) a.Add(i, log[i]);
    return a.Finish();
  };
  auto report = audit(entries);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(report.approver_keys.at("acme-ann"), key_b64);
  ASSERT_EQ(report.accesses.size(), 1u);
  EXPECT_EQ(report.accesses[0].tenant_signers, std::vector<std::string>{"acme-ann"});
  EXPECT_TRUE(audit(entries, {key_b64}).problems.empty());
  // Pinning only the provider's original key catches the change.
  EXPECT_FALSE(audit(entries, {Base64Encode(TenantKey(1).public_key())}).problems.empty());
  // A registration whose proof does not verify is reported.
  auto log = entries;
  Json e = *ParseJson(log[changed->ledger_index]);
  e["body"]["signature"] = Base64Encode(TenantKey(8).Sign(ApproverKeyStatement("acme-ann", "acme", key_b64)));
  log[changed->ledger_index] = e.dump();
  auto bad = audit(log);
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_NE(bad.problems[0].find("proof of possession"), std::string::npos) << bad.problems[0];
  // Globex is not concerned.
  TenantAuditor g("globex", ledger_->origin());
  for (size_t i = 0; i < entries.size(); ++i) g.Add(i, entries[i]);
  EXPECT_TRUE(g.Finish().problems.empty());
  EXPECT_FALSE(g.Finish().approver_keys.count("acme-ann"));
}

TEST_P(AccessSuite, MayReviewFollowsThePolicysReviewerRoles) {
  EXPECT_TRUE(svc_->MayReview("erin"));    // lead: access:review, and named by rules
  EXPECT_TRUE(svc_->MayReview("dave"));    // security-admin
  EXPECT_FALSE(svc_->MayReview("olga"));   // oncall
  EXPECT_FALSE(svc_->MayReview("bob"));    // dba
  EXPECT_FALSE(svc_->MayReview("nora"));   // no roles
  EXPECT_FALSE(svc_->MayReview("acme-ann"));  // approvers are not staff
  EXPECT_FALSE(svc_->MayReview("nobody"));
}

TEST_P(AccessSuite, ReviewCampaignsAreLedgeredAndShowUnappliedRemovals) {
  EXPECT_EQ(svc_->StartCampaign("Q1", now_ - 1, "dave").error().code, ErrorCode::kInvalidArgument);
  auto c = svc_->StartCampaign("2027 Q1 privileged access review", now_ + 14 * 86400, "dave");
  ASSERT_TRUE(c.ok()) << c.error().message;
  // Privileged or admin roles only: alice sre+security-admin, dave security-admin, bob dba,
  // carl/erin/frank lead, olga oncall.
  EXPECT_EQ(c->items.size(), 8u);
  EXPECT_EQ(svc_->DecideCampaignItem(c->id, "dave", "security-admin", "keep", "", "dave").error().code,
            ErrorCode::kPermissionDenied);
  auto d = svc_->DecideCampaignItem(c->id, "bob", "dba", "remove", "no longer on the contract", "dave");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(svc_->DecideCampaignItem(c->id, "bob", "dba", "keep", "", "alice").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(svc_->DecideCampaignItem(c->id, "bob", "nothing", "keep", "", "alice").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(EntryTypes().back(), "access.campaign_decision");
  Json p = svc_->Posture();
  ASSERT_EQ(p["review_campaigns"].size(), 1u);
  EXPECT_EQ(p["review_campaigns"][0]["decided"], 1);
  EXPECT_EQ(p["review_campaigns"][0]["removal_not_applied"][0]["staff"], "bob");
  Reopen();
  EXPECT_EQ(svc_->GetCampaign(c->id)->items.size(), 8u);
}

// Random sequences of calls by random people; after every step, every active grant must
// satisfy its rules as an independent oracle computes them from the policy text above, and
// every grant on tenant data must carry a valid signature of that tenant's approver.
TEST_P(AccessSuite, RandomizedNoGrantWithoutItsApprovals) {
  std::mt19937_64 rng(GetParam() == "sqlite" ? 1 : 2);
  const std::vector<std::string> people = {"alice", "dave", "bob", "carl", "erin", "frank", "olga", "nora",
                                           "acme-ann", "globex-gus"};
  const std::vector<std::string> resources = {"acme-db", "globex-db", "host01", "host02"};
  const std::vector<std::string> actions = {"login:dba", "db:read", "exec", "login:root"};
  std::vector<std::string> ids;
  auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
  const int steps = GetParam() == "sqlite" ? 400 : 150;
  std::set<std::string> granted, tenant_granted;
  for (int step = 0; step < steps; ++step) {
    int op = rng() % 10;
    if (op < 3 || ids.empty()) {
      // Mostly requests someone's roles allow (so that grants happen), sometimes anything.
      static const std::vector<std::tuple<std::string, std::string, std::string>> plausible = {
          {"alice", "host01", "exec"}, {"alice", "host02", "login:root"}, {"bob", "host01", "login:dba"},
          {"bob", "acme-db", "db:read"}, {"bob", "globex-db", "login:dba"}, {"olga", "acme-db", "db:read"},
          {"olga", "globex-db", "exec"}, {"olga", "host02", "exec"}};
      auto [who, res, act] = rng() % 5 ? pick(plausible) : std::make_tuple(pick(people), pick(resources), pick(actions));
      auto r = svc_->CreateRequest(who, Req({res}, {act}));
      if (r.ok()) ids.push_back(r->id);
    } else if (op < 8) {
      auto r = svc_->Get(pick(ids));
      std::string who = pick(people);
      if (rng() % 3 == 0 && !r->tenants_required.empty()) who = r->tenants_required[0] == "acme" ? "acme-ann" : "globex-gus";
      NewReview v = Approve();
      if (who == "acme-ann" || who == "globex-gus") v = Signed(*r, who == "acme-ann" ? 1 : 2, rng() % 5 ? "approve" : "deny");
      if (rng() % 15 == 0) v.decision = "deny";
      if (rng() % 11 == 0) v.signature = TenantKey(3).Sign(ReviewMessage(v.decision, r->digest));  // forged
      (void)svc_->AddReview(r->id, who, v);
    } else if (op == 8) {
      now_ += rng() % 3600;
      (void)svc_->Tick();
    } else {
      (void)svc_->Revoke(pick(ids), "dave", "random");
    }
    for (const auto& r : svc_->List({})) {
      if (r.state != State::kActive) continue;
      auto snap = dir_->snapshot();
      const directory::Staff* requester = snap->FindStaff(r.requester);
      ASSERT_NE(requester, nullptr);
      std::set<std::string> approvers, orgs, leads, lead_orgs;
      std::set<std::string> tenants_signed;
      for (const auto& v : r.reviews) {
        ASSERT_NE(v.reviewer, r.requester) << "self-approval in " << r.id;
        if (v.decision != "approve") continue;
        if (v.reviewer_kind == "approver") {
          const auto* a = snap->FindApprover(v.reviewer);
          ASSERT_NE(a, nullptr);
          ASSERT_TRUE(crypto::Ed25519Verify(a->public_key, ReviewMessage("approve", r.digest), v.signature));
          tenants_signed.insert(a->tenant);
          continue;
        }
        const auto* s = snap->FindStaff(v.reviewer);
        ASSERT_NE(s, nullptr);
        ASSERT_FALSE(requester->kind == directory::StaffKind::kOutsourced && s->organisation == requester->organisation &&
                     std::count(requester->roles.begin(), requester->roles.end(), "dba"))
            << "an approval the separation-of-duty rule forbids counted in " << r.id;
        approvers.insert(v.reviewer);
        orgs.insert(s->organisation);
        if (std::count(s->roles.begin(), s->roles.end(), "lead")) leads.insert(v.reviewer);
        if (std::count(s->roles.begin(), s->roles.end(), "lead") || std::count(s->roles.begin(), s->roles.end(), "security-admin")) {
          lead_orgs.insert(s->organisation);
        }
      }
      ASSERT_GE(approvers.size(), 1u) << r.id;
      granted.insert(r.id);
      for (const auto& res : r.resources) {
        const auto* x = snap->FindResource(res);
        if (x->tenant_data) tenant_granted.insert(r.id);
        if (x->tenant_data) ASSERT_TRUE(tenants_signed.count(x->tenant)) << "grant " << r.id << " on " << res << " without the tenant's signature";
        if (x->labels.count("env") && x->labels.at("env") == "prod") ASSERT_GE(leads.size(), 2u) << r.id;
        if (x->type == "database" && requester->kind == directory::StaffKind::kOutsourced) {
          ASSERT_GE(lead_orgs.size(), 2u) << r.id;
        }
      }
    }
  }
  // The sequence must actually reach grants, including on tenant data, or it proves nothing.
  EXPECT_GE(granted.size(), 5u);
  EXPECT_GE(tenant_granted.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessSuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::access
