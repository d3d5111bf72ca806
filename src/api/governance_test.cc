// Governance routes called in process, as a signed-in person would call them from the
// console (session cookie + CSRF header), on every storage backend: an approver registering
// their own key (POST /v1/auth/approver-key), who /v1/auth/me says the caller is, the
// separation-of-duty reason in request lists, and key changes in the tenant's access log.
#include "api/governance.h"

#include <gtest/gtest.h>

#include <atomic>

#include "access/access.h"
#include "access/tenant_audit.h"
#include "api/accounts.h"
#include "api/auth.h"
#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/seal.h"
#include "crypto/totp.h"
#include "directory/directory.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::api {
namespace {

constexpr int64_t kT0 = 1'800'000'010;  // a multiple of 30: TOTP steps begin at kT0 + 30k
constexpr const char* kPassword = "correct horse battery";

crypto::Ed25519PrivateKey Key(char seed) { return *crypto::Ed25519PrivateKey::FromSeed(std::string(32, seed)); }
std::string KeyB64(char seed) { return Base64Encode(Key(seed).public_key()); }

constexpr const char* kPolicy = R"(roles:
  - name: dba
    privileged: true
    permissions:
      - {actions: ["db:*"], resources: {types: [database]}}
  - name: lead
    admin: [access:review]
  - name: oncall
    privileged: true
    permissions:
      - {actions: ["*"], resources: {}}
approval_rules:
  - name: databases
    match: {resources: {types: [database]}}
    require: {approvals: 1, approver_roles: [lead]}
)";

std::string DirectoryYaml() {
  return R"(platforms:
  - {id: os-bj, kind: openstack}
tenants:
  - id: acme
    name: ACME
    approvers:
      - {id: acme-ann, name: Ann Lee, public_key: )" + KeyB64(1) + R"(}
  - id: globex
    approvers:
      - {id: globex-gus, name: Gus, public_key: )" + KeyB64(2) + R"(}
resources:
  - {id: acme-db, platform: os-bj, type: database, tenant: acme, tenant_data: true, risk: high}
staff:
  - {id: bob, name: Bob, kind: outsourced, organisation: Contoso, roles: [dba]}
  - {id: erin, name: Erin, roles: [lead]}
  - {id: olga, name: Olga, roles: [oncall]}
auditors:
  - {id: audrey, name: Audrey, organisation: Assessor Ltd}
)";
}

struct SignedIn {
  std::string cookie;  // the Cookie header value
  std::string csrf;
};

class GovernanceSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    inner_ = testing::OpenFresh(GetParam(), std::string("gov_") +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::make_unique<testing::FaultyStorage>(*inner_);
    auto l = ledger::Ledger::Open(*store_, crypto::NoteSigner("gov.test/log", Key(9)), {});
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(l).value();
    auth_ = std::make_unique<Authenticator>(*store_);
    auto d = directory::Directory::Load(*store_, *ledger_);
    ASSERT_TRUE(d.ok()) << d.error().message;
    directory_ = std::move(d).value();
    auto a = access::AccessService::Load(*store_, *ledger_, *directory_, [this] { return now_.load(); });
    ASSERT_TRUE(a.ok()) << a.error().message;
    access_ = std::move(a).value();
    directory_->SetStaffValidator([this](const directory::Staff& s) { return access_->ValidateStaff(s); });
    auto pv = access_->ProposePolicy(kPolicy, "setup");
    ASSERT_TRUE(pv.ok()) << pv.error().message;
    auto applied = directory_->Apply(*directory::ParseDirectory(*ParseYaml(DirectoryYaml())), "admin");
    ASSERT_TRUE(applied.ok()) << applied.error().message;

    AccountsOptions o;
    o.password_params = {64, 1, 1};  // cheap: the suite checks logic, not cost
    accounts_ = std::make_unique<Accounts>(
        *store_, sealer_, [this](const std::string& p) { return access_->MfaRequired(p); }, o,
        [this] { return now_.load(); });
    routes_ = std::make_unique<GovernanceRoutes>(*auth_, *ledger_, *directory_, *access_, 1 << 20);
    routes_->SetAccounts(accounts_.get());
  }

  // Sets a password, enrols TOTP (unless without_totp) and signs in.
  SignedIn SignIn(const std::string& principal, bool without_totp = false) {
    EXPECT_TRUE(accounts_->SetPassword(principal, kPassword).ok());
    std::string code;
    if (!without_totp) {
      auto e = accounts_->BeginTotp(principal);
      EXPECT_TRUE(e.ok());
      std::string raw = *crypto::Base32Decode(e->secret_base32);
      EXPECT_TRUE(accounts_->ConfirmTotp(principal, *crypto::TotpCode(raw, now_)).ok());
      now_ += 30;  // a code is accepted once
      code = *crypto::TotpCode(raw, now_);
    }
    auto s = accounts_->SignIn(principal, kPassword, code, "127.0.0.1");
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return {};
    EXPECT_EQ(s->mfa, !without_totp);
    return {std::string(kSessionCookieName) + "=" + s->secret, s->csrf_token};
  }

  Response Call(const std::string& method, const std::string& path, const std::string& body,
                const SignedIn& who, bool with_csrf = true) {
    Request r;
    r.method = method;
    r.path = path;
    r.remote = "127.0.0.1";
    r.headers["cookie"] = who.cookie;
    if (with_csrf) r.headers["x-csrf-token"] = who.csrf;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.body = body;
    return Send(r);
  }
  Response CallWithToken(const std::string& method, const std::string& path, const std::string& body,
                         const std::string& token) {
    Request r;
    r.method = method;
    r.path = path;
    r.remote = "127.0.0.1";
    r.headers["authorization"] = "Bearer " + token;
    if (!body.empty()) r.headers["content-type"] = "application/json";
    r.body = body;
    return Send(r);
  }
  Response Send(const Request& r) {
    Response out{599, "", "no response", {}};
    bool handled = routes_->Handle(r, [&](Response res) { out = std::move(res); });
    EXPECT_TRUE(handled) << r.method << " " << r.path;
    return out;
  }

  // The body of POST /v1/auth/approver-key for a key of `seed`, signed by `signer`.
  static std::string KeyBody(char seed, const std::string& approver, const std::string& tenant, char signer = 0) {
    const std::string key = KeyB64(seed);
    const std::string sig = Key(signer ? signer : seed).Sign(access::ApproverKeyStatement(approver, tenant, key));
    return Json{{"public_key", key}, {"signature", Base64Encode(sig)}}.dump();
  }
  static std::string ErrorCode(const Response& r) {
    auto j = ParseJson(r.body);
    return j.ok() && j->contains("error") ? (*j)["error"].value("code", "") : "<" + r.body + ">";
  }
  std::string AnnKey() const { return directory_->snapshot()->FindApprover("acme-ann")->public_key; }

  std::atomic<int64_t> now_{kT0};
  crypto::Sealer sealer_ = *crypto::Sealer::FromKey(std::string(32, 'k'));
  std::unique_ptr<storage::Storage> inner_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<access::AccessService> access_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<GovernanceRoutes> routes_;
};

TEST_P(GovernanceSuite, AnApproverRegistersAKeyAndSignsWithIt) {
  SignedIn ann = SignIn("acme-ann");
  const uint64_t before = ledger_->Size();
  Response res = Call("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), ann);
  ASSERT_EQ(res.status, 200) << res.body;
  Json j = *ParseJson(res.body);
  EXPECT_EQ(j, (Json{{"approver", "acme-ann"}, {"tenant", "acme"}, {"public_key", KeyB64(5)},
                     {"ledger_index", before}}));
  EXPECT_EQ(AnnKey(), Key(5).public_key());

  // Ledgered with the previous key and the proof, by the approver.
  Json e = *ParseJson(*ledger_->ReadEntry(before));
  EXPECT_EQ(e["type"], "directory.approver_key");
  EXPECT_EQ(e["actor"], "acme-ann");
  EXPECT_EQ(e["body"]["previous_key"], KeyB64(1));
  EXPECT_EQ(e["body"]["public_key"], KeyB64(5));
  EXPECT_TRUE(crypto::Ed25519Verify(Key(5).public_key(), access::ApproverKeyStatement("acme-ann", "acme", KeyB64(5)),
                                    *Base64Decode(e["body"]["signature"].get<std::string>())));

  // /v1/auth/me shows the key on file now.
  Json me = *ParseJson(Call("GET", "/v1/auth/me", "", ann).body);
  EXPECT_EQ(me["public_key"], KeyB64(5));

  // A lockbox request: the provider's lead approves, then the approver signs with the new key.
  auto req = access_->CreateRequest("bob", {{"acme-db"}, {"db:read"}, "customer_support", "ticket", "SUP-1", 1800});
  ASSERT_TRUE(req.ok()) << req.error().message;
  ASSERT_TRUE(access_->AddReview(req->id, "erin", {"approve", "", ""}).ok());
  const std::string path = "/v1/access/requests/" + req->id + "/reviews";
  auto review = [&](char seed) {
    return Json{{"decision", "approve"},
                {"signature", Base64Encode(Key(seed).Sign(access::ReviewMessage("approve", req->digest)))}}
        .dump();
  };
  Response old_key = Call("POST", path, review(1), ann);
  EXPECT_EQ(old_key.status, 400) << old_key.body;
  Response signed_ok = Call("POST", path, review(5), ann);
  ASSERT_EQ(signed_ok.status, 200) << signed_ok.body;
  EXPECT_EQ((*ParseJson(signed_ok.body))["state"], "active");

  // The tenant sees the key change among its verified records…
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  Response log = Call("GET", "/v1/tenants/acme/access-log", "", ann);
  ASSERT_EQ(log.status, 200) << log.body;
  Json lj = *ParseJson(log.body);
  ASSERT_EQ(lj["key_events"].size(), 2u);  // the provider's registration, then the approver's
  EXPECT_EQ(lj["key_events"][1]["index"], before);
  EXPECT_EQ(lj["key_events"][1]["entry"], *ledger_->ReadEntry(before));
  EXPECT_TRUE(lj["key_events"][1].contains("inclusion_proof"));
  EXPECT_EQ((*ParseJson(lj["key_events"][0]["entry"].get<std::string>()))["type"], "directory.approver");
  // …and its own check of the ledger counts the key as registered.
  access::TenantAuditor auditor("acme", ledger_->origin(), {KeyB64(5)});
  for (uint64_t i = 0; i < ledger_->Size(); ++i) auditor.Add(i, *ledger_->ReadEntry(i));
  auto report = auditor.Finish();
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  ASSERT_EQ(report.accesses.size(), 1u);
  EXPECT_EQ(report.accesses[0].tenant_signers, std::vector<std::string>{"acme-ann"});
  EXPECT_EQ(report.approver_keys.at("acme-ann"), KeyB64(5));

  // Globex's log shows none of Acme's key changes.
  SignedIn gus = SignIn("globex-gus");
  Json gl = *ParseJson(Call("GET", "/v1/tenants/globex/access-log", "", gus).body);
  ASSERT_EQ(gl["key_events"].size(), 1u);
  EXPECT_NE(gl["key_events"][0]["entry"].get<std::string>().find("globex-gus"), std::string::npos);
}

TEST_P(GovernanceSuite, OnlyTheApproverWithBothFactorsAndAValidProofRegistersAKey) {
  SignedIn ann = SignIn("acme-ann");
  const std::string original = AnnKey();
  const uint64_t size = ledger_->Size();
  auto unchanged = [&](const std::string& what) {
    EXPECT_EQ(AnnKey(), original) << what;
    EXPECT_EQ(ledger_->Size(), size) << what;
  };

  // A bearer token, even the approver's own with every permission.
  auto token = auth_->Issue("acme-ann", AllPermissions(), 0);
  ASSERT_TRUE(token.ok());
  Response r = CallWithToken("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), token->secret);
  EXPECT_EQ(r.status, 403) << r.body;
  unchanged("bearer token");
  // No session at all.
  r = Call("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), SignedIn{});
  EXPECT_EQ(r.status, 401) << r.body;
  // The session without its CSRF token.
  r = Call("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), ann, /*with_csrf=*/false);
  EXPECT_EQ(r.status, 403) << r.body;
  unchanged("no CSRF token");

  // Password only (as after a provider admin reset it): an enrolment-only session.
  SignedIn gus = SignIn("globex-gus", /*without_totp=*/true);
  r = Call("POST", "/v1/auth/approver-key", KeyBody(5, "globex-gus", "globex"), gus);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(directory_->snapshot()->FindApprover("globex-gus")->public_key, Key(2).public_key());

  // Staff, even with both factors.
  SignedIn erin = SignIn("erin");
  r = Call("POST", "/v1/auth/approver-key", KeyBody(5, "erin", "acme"), erin);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ErrorCode(r), "permission_denied");
  unchanged("staff");

  // Proofs that do not prove possession of this key for this approver and tenant.
  for (const auto& [what, body] : std::vector<std::pair<std::string, std::string>>{
           {"signed by another key", KeyBody(5, "acme-ann", "acme", /*signer=*/6)},
           {"another tenant's statement", KeyBody(5, "acme-ann", "globex")},
           {"another approver's statement", KeyBody(5, "globex-gus", "acme")},
           {"a key of 31 bytes",
            Json{{"public_key", Base64Encode(std::string(31, 'x'))}, {"signature", Base64Encode(std::string(64, 's'))}}.dump()},
           {"a short signature", Json{{"public_key", KeyB64(5)}, {"signature", Base64Encode("sig")}}.dump()},
           {"no signature", Json{{"public_key", KeyB64(5)}}.dump()},
           {"an unknown member",
            Json{{"public_key", KeyB64(5)}, {"signature", Base64Encode(std::string(64, 's'))}, {"tenant", "acme"}}.dump()},
       }) {
    r = Call("POST", "/v1/auth/approver-key", body, ann);
    EXPECT_EQ(r.status, 400) << what << ": " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << what;
    unchanged(what);
  }
  EXPECT_EQ(Call("GET", "/v1/auth/approver-key", "", ann).status, 405);
}

TEST_P(GovernanceSuite, NothingChangesWhenTheLedgerRefuses) {
  SignedIn ann = SignIn("acme-ann");
  const std::string original = AnnKey();
  const uint64_t size = ledger_->Size();
  store_->fail_ledger = true;
  Response r = Call("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), ann);
  store_->fail_ledger = false;
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(AnnKey(), original);
  EXPECT_EQ(ledger_->Size(), size);
  auto reloaded = directory::Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  EXPECT_EQ((*reloaded)->snapshot()->FindApprover("acme-ann")->public_key, original);
  EXPECT_EQ((*reloaded)->snapshot()->key_events.at("acme").size(), 1u);
  // Once the ledger is back, the same request goes through.
  EXPECT_EQ(Call("POST", "/v1/auth/approver-key", KeyBody(5, "acme-ann", "acme"), ann).status, 200);
  EXPECT_EQ(AnnKey(), Key(5).public_key());
}

TEST_P(GovernanceSuite, MeSaysWhoThePersonIs) {
  SignedIn ann = SignIn("acme-ann");
  Json me = *ParseJson(Call("GET", "/v1/auth/me", "", ann).body);
  EXPECT_EQ(me["kind"], "approver");
  EXPECT_EQ(me["tenant"], "acme");
  EXPECT_EQ(me["name"], "Ann Lee");
  EXPECT_EQ(me["public_key"], KeyB64(1));
  EXPECT_FALSE(me.contains("roles"));

  auto me_of = [&](const std::string& who) {
    auto t = auth_->Issue(who, {}, 0);
    EXPECT_TRUE(t.ok());
    Response r = CallWithToken("GET", "/v1/auth/me", "", t->secret);
    EXPECT_EQ(r.status, 200) << r.body;
    return *ParseJson(r.body);
  };
  Json erin = me_of("erin");
  EXPECT_EQ(erin["kind"], "staff");
  EXPECT_EQ(erin["name"], "Erin");
  EXPECT_EQ(erin["roles"], Json::array({"lead"}));
  EXPECT_EQ(erin["organisation"], "provider");
  EXPECT_EQ(erin["may_review"], true);
  EXPECT_FALSE(erin.contains("tenant"));
  EXPECT_FALSE(erin.contains("public_key"));
  Json bob = me_of("bob");
  EXPECT_EQ(bob["roles"], Json::array({"dba"}));
  EXPECT_EQ(bob["organisation"], "Contoso");
  EXPECT_EQ(bob["may_review"], false);  // holds access:review implicitly, but no rule asks for a dba
  Json audrey = me_of("audrey");
  EXPECT_EQ(audrey["kind"], "auditor");
  EXPECT_EQ(audrey["organisation"], "Assessor Ltd");
  EXPECT_FALSE(audrey.contains("may_review"));
  Json service = me_of("ci-bot");
  EXPECT_EQ(service["kind"], "");
  EXPECT_FALSE(service.contains("name"));
}

TEST_P(GovernanceSuite, RequestListsSayWhyTheCallerMayNotReview) {
  auto req = access_->CreateRequest("bob", {{"acme-db"}, {"db:read"}, "customer_support", "ticket", "SUP-1", 1800});
  ASSERT_TRUE(req.ok()) << req.error().message;
  auto list_as = [&](const std::string& who) {
    auto t = auth_->Issue(who, AllPermissions(), 0);
    EXPECT_TRUE(t.ok());
    Response r = CallWithToken("GET", "/v1/access/requests", "", t->secret);
    EXPECT_EQ(r.status, 200) << r.body;
    return (*ParseJson(r.body))["items"];
  };
  Json own = list_as("bob");
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0]["you_may_not_review_because"], "nobody may review their own request");
  Json lead = list_as("erin");
  ASSERT_EQ(lead.size(), 1u);
  EXPECT_FALSE(lead[0].contains("you_may_not_review_because"));
  // The same reason as the single request's.
  auto t = auth_->Issue("bob", AllPermissions(), 0);
  Json one = *ParseJson(CallWithToken("GET", "/v1/access/requests/" + req->id, "", t->secret).body);
  EXPECT_EQ(one["you_may_not_review_because"], own[0]["you_may_not_review_because"]);
}

INSTANTIATE_TEST_SUITE_P(Backends, GovernanceSuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::api
