#include "directory/directory.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::directory {
namespace {

std::string Key(char seed) {
  return Base64Encode(crypto::Ed25519PrivateKey::FromSeed(std::string(32, seed))->public_key());
}

std::string Example() {
  return R"(platforms:
  - {id: os-bj, name: OpenStack Beijing, kind: openstack}
  - {id: k8s-sh, name: Kubernetes Shanghai, kind: kubernetes}
tenants:
  - id: acme
    name: ACME
    approvers:
      - {id: acme-ann, name: Ann, public_key: )" + Key(1) + R"(}
resources:
  - {id: db01, platform: os-bj, type: database, tenant: acme, tenant_data: true, risk: high, labels: {env: prod}}
  - {id: ctl01, platform: k8s-sh, type: host}
staff:
  - {id: alice, name: Alice, roles: [sre]}
  - {id: bob, name: Bob, kind: outsourced, organisation: Contoso, roles: [dba]}
auditors:
  - {id: audrey, name: Audrey, organisation: Assessor Ltd}
)";
}

TEST(ParseDirectory, ReadsEveryKind) {
  auto spec = ParseDirectory(*ParseYaml(Example()));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->platforms.size(), 2u);
  ASSERT_EQ(spec->resources.size(), 2u);
  EXPECT_TRUE(spec->resources[0].tenant_data);
  EXPECT_EQ(spec->resources[0].risk, Risk::kHigh);
  EXPECT_EQ(spec->resources[0].labels.at("env"), "prod");
  EXPECT_EQ(spec->resources[1].tenant, "");
  ASSERT_EQ(spec->staff.size(), 2u);
  EXPECT_EQ(spec->staff[0].organisation, "provider");
  EXPECT_EQ(spec->staff[1].kind, StaffKind::kOutsourced);
  EXPECT_EQ(spec->staff[1].organisation, "Contoso");
  ASSERT_EQ(spec->approvers.size(), 1u);
  EXPECT_EQ(spec->approvers[0].tenant, "acme");
  EXPECT_EQ(spec->approvers[0].public_key.size(), 32u);
  ASSERT_EQ(spec->auditors.size(), 1u);
}

TEST(ParseDirectory, ReportsEveryProblemWithItsLine) {
  auto spec = ParseDirectory(*ParseYaml(R"(platforms:
  - {id: p1, nmae: typo}
resources:
  - {id: r1, platform: p1, type: host, tenant_data: true}
  - {id: "bad id", platform: p1, type: host, risk: extreme}
staff:
  - {id: eve, kind: outsourced}
tenants:
  - id: t1
    approvers:
      - {id: t1-a, public_key: not-base64!}
)"));
  ASSERT_FALSE(spec.ok());
  const std::string& m = spec.error().message;
  EXPECT_NE(m.find("line 2: /platforms/0/nmae: unknown field \"nmae\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: /resources/0/tenant_data: a resource holding tenant data must name its tenant"), std::string::npos) << m;
  EXPECT_NE(m.find("line 5: /resources/1/id: \"bad id\" is not a valid id"), std::string::npos) << m;
  EXPECT_NE(m.find("line 5: /resources/1/risk: risk must be"), std::string::npos) << m;
  EXPECT_NE(m.find("line 7: /staff/0: outsourced staff must name their company"), std::string::npos) << m;
  EXPECT_NE(m.find("line 11: /tenants/0/approvers/0/public_key: expected a base64 Ed25519 public key"), std::string::npos) << m;
}

TEST(ParseDirectory, SshTargetsPinTheirHostKeyAndStaffKeysMustParse) {
  const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  auto spec = ParseDirectory(*ParseYaml("platforms: [{id: p}]\nresources:\n  - {id: h1, platform: p, type: host, ssh: {host: 10.0.0.5, port: 2222, host_key: '" +
                                        key + " root@h1'}}\nstaff:\n  - {id: al, ssh_keys: ['  " + key + " al@laptop  ']}\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_TRUE(spec->resources[0].ssh.has_value());
  EXPECT_EQ(spec->resources[0].ssh->host, "10.0.0.5");
  EXPECT_EQ(spec->resources[0].ssh->port, 2222);
  EXPECT_EQ(spec->resources[0].ssh->host_key, key + " root@h1");
  EXPECT_EQ(spec->staff[0].ssh_keys[0], key + " al@laptop");  // normalised
  EXPECT_EQ(ToJson(spec->resources[0])["ssh"]["port"], 2222);

  auto bad = ParseDirectory(*ParseYaml(R"(platforms: [{id: p}]
resources:
  - {id: h1, platform: p, type: host, ssh: {host: "-oProxyCommand=x", port: 70000, host_key: "ssh-ed25519 AAAA"}}
  - {id: h2, platform: p, type: host, ssh: {port: 22}}
staff:
  - {id: al, ssh_keys: ["not a key"]}
)"));
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.error().message;
  EXPECT_NE(m.find("line 3: /resources/0/ssh/host: expected a host name"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: /resources/0/ssh/port: expected a port number"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: /resources/0/ssh/host_key: host key:"), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: /resources/1/ssh: missing required field \"host\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 6: /staff/0/ssh_keys/0:"), std::string::npos) << m;
}

// Two OpenSSH keys and their fingerprints as `ssh-keygen -l` prints them.
constexpr const char* kKeyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
constexpr const char* kFingerprintA = "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU";
constexpr const char* kKeyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNjsXGDIaFCitDtFDwGJGr1qhX31vuvg3/o8qnYtM9p";
constexpr const char* kFingerprintB = "SHA256:SKhQLIS6IOMCeF0GdewjhvGjehc2lw0mj4idTQ0VVlA";

// The names records go by in logs. "db01" is a host name on both platforms; "web" is a
// resource id on os-bj and an alias on k8s-sh; carol and dan registered the same key.
std::string NamesExample() {
  return std::string(R"(platforms:
  - {id: os-bj, kind: openstack, aliases: [RegionOne, cn-beijing, "123456789012"]}
  - {id: k8s-sh, kind: kubernetes, aliases: [k8s-sh-prod]}
resources:
  - {id: bj-db, platform: os-bj, type: host, aliases: [db01, db01.bj.internal, 10.0.0.5]}
  - {id: sh-db, platform: k8s-sh, type: host, aliases: [db01, sh-db, 10.20.0.5]}
  - {id: web, platform: os-bj, type: host}
  - {id: sh-web, platform: k8s-sh, type: cluster, aliases: [web, "shop/web"]}
staff:
  - id: alice
    accounts: [alice, "arn:aws:iam::123456789012:user/alice", "oidc:alice@example.com"]
    ssh_keys: [")") + kKeyA + R"( alice@laptop"]
  - {id: bob, accounts: [bob, contoso-bob]}
  - {id: carol, ssh_keys: [")" + kKeyB + R"("]}
  - {id: dan, ssh_keys: [")" + kKeyB + R"( dan@shared"]}
)";
}

TEST(ParseDirectory, ReadsAliasesAndAccounts) {
  auto spec = ParseDirectory(*ParseYaml(NamesExample()));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->platforms[0].aliases, (std::vector<std::string>{"RegionOne", "cn-beijing", "123456789012"}));
  EXPECT_EQ(spec->resources[1].aliases, (std::vector<std::string>{"db01", "sh-db", "10.20.0.5"}));  // own id: harmless
  EXPECT_TRUE(spec->resources[2].aliases.empty());
  EXPECT_EQ(spec->staff[0].accounts[1], "arn:aws:iam::123456789012:user/alice");
  EXPECT_TRUE(spec->staff[2].accounts.empty());
  // In the record's JSON (the ledger entry) beside the other fields, empty lists included.
  EXPECT_EQ(ToJson(spec->platforms[1])["aliases"], Json::array({"k8s-sh-prod"}));
  EXPECT_EQ(ToJson(spec->resources[0])["aliases"], Json::array({"db01", "db01.bj.internal", "10.0.0.5"}));
  EXPECT_EQ(ToJson(spec->resources[2])["aliases"], Json::array());
  EXPECT_EQ(ToJson(spec->staff[1])["accounts"], Json::array({"bob", "contoso-bob"}));
  EXPECT_EQ(ToJson(spec->staff[2])["accounts"], Json::array());
  // The JSON form reads back the same (the REST API and stored records use it).
  Json doc = {{"platforms", Json::array({ToJson(spec->platforms[0])})},
              {"resources", Json::array({ToJson(spec->resources[0])})},
              {"staff", Json::array({ToJson(spec->staff[0])})}};
  auto again = ParseDirectory(FromJson(doc));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->platforms[0].aliases, spec->platforms[0].aliases);
  EXPECT_EQ(again->resources[0].aliases, spec->resources[0].aliases);
  EXPECT_EQ(again->staff[0].accounts, spec->staff[0].accounts);
}

TEST(ParseDirectory, ReportsEveryBadAliasAndAccountWithItsLine) {
  auto spec = ParseDirectory(*ParseYaml(R"(platforms:
  - {id: p1, aliases: [RegionOne, "", " lead", "trail ", "tab\there", RegionOne]}
  - {id: p2, aliases: [p1, RegionOne, 123456789012, {x: 1}]}
  - {id: p3, aliases: p3-prod}
resources:
  - {id: r1, platform: p1, type: host, aliases: [db01, r2]}
  - {id: r2, platform: p1, type: host, aliases: [db01, "del\x7f", "c1\u0085"]}
  - {id: r3, platform: p2, type: host, aliases: [db01, r1]}
staff:
  - {id: alice, accounts: [alice, root, ali]}
  - {id: bob, accounts: [ali, alice, "   "]}
)" + std::string("  - {id: long, accounts: [") + std::string(257, 'x') + "]}\n"));
  ASSERT_FALSE(spec.ok());
  const std::string& m = spec.error().message;
  EXPECT_NE(m.find("line 2: /platforms/0/aliases/1: must not be empty"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: /platforms/0/aliases/2: must not begin or end with a space"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: /platforms/0/aliases/3: must not begin or end with a space"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: /platforms/0/aliases/4: must not contain control characters"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: /platforms/0/aliases/5: \"RegionOne\" is listed twice"), std::string::npos) << m;
  // Another platform's id, or its alias, cannot be an alias.
  EXPECT_NE(m.find("line 3: /platforms/1/aliases/0: \"p1\" is already platform p1's id"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: /platforms/1/aliases/1: \"RegionOne\" is already platform p1's alias"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: /platforms/1/aliases/2: expected a string (quote numbers"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: /platforms/1/aliases/3: expected a string"), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: /platforms/2/aliases: expected a list"), std::string::npos) << m;
  // On one platform a resource's alias is unique and is no other resource's id; "db01" on
  // p2 as well is fine, and so is an alias that is a resource id on another platform.
  EXPECT_NE(m.find("line 6: /resources/0/aliases/1: \"r2\" is already resource r2's id on platform p1"), std::string::npos) << m;
  EXPECT_NE(m.find("line 7: /resources/1/aliases/0: \"db01\" is already resource r1's alias on platform p1"), std::string::npos) << m;
  EXPECT_NE(m.find("line 7: /resources/1/aliases/1: must not contain control characters"), std::string::npos) << m;
  EXPECT_NE(m.find("line 7: /resources/1/aliases/2: must not contain control characters"), std::string::npos) << m;
  EXPECT_EQ(m.find("/resources/2/"), std::string::npos) << m;
  // Shared accounts name nobody in particular.
  EXPECT_NE(m.find("line 10: /staff/0/accounts/1: \"root\" is a shared account, not one person's: logs attribute it by "
                   "key fingerprint, sudo's invoking user or the audit login uid instead"), std::string::npos) << m;
  EXPECT_EQ(m.find("/staff/0/accounts/0"), std::string::npos) << m;  // one's own id is fine
  EXPECT_NE(m.find("line 11: /staff/1/accounts/0: \"ali\" is already staff member alice's account"), std::string::npos) << m;
  EXPECT_NE(m.find("line 11: /staff/1/accounts/1: \"alice\" is already staff member alice's id"), std::string::npos) << m;
  EXPECT_NE(m.find("line 11: /staff/1/accounts/2: must not begin or end with a space"), std::string::npos) << m;
  EXPECT_NE(m.find("line 12: /staff/2/accounts/0: longer than 256 bytes"), std::string::npos) << m;

  // 256 bytes is the limit itself; invalid UTF-8 can only come from JSON built in code
  // (YAML and the API's JSON reject it before), and is refused without being echoed.
  EXPECT_TRUE(ParseDirectory(FromJson({{"staff", {{{"id", "x"}, {"accounts", {std::string(256, 'x')}}}}}})).ok());
  auto utf8 = ParseDirectory(FromJson({{"staff", {{{"id", "x"}, {"accounts", {"ok", "bad\xff"}}}}}}));
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(utf8.error().message.find("/staff/0/accounts/1: is not valid UTF-8"), std::string::npos) << utf8.error().message;
  EXPECT_NO_THROW((void)Json(utf8.error().message).dump());
  auto overlong = ParseDirectory(FromJson({{"platforms", {{{"id", "p"}, {"aliases", {"\xc0\xaf"}}}}}}));
  ASSERT_FALSE(overlong.ok());
  EXPECT_NE(overlong.error().message.find("is not valid UTF-8"), std::string::npos);
  EXPECT_TRUE(ParseDirectory(FromJson({{"platforms", {{{"id", "p"}, {"aliases", {"北京 区域"}}}}}})).ok());
}

TEST(ParseDirectory, WebhooksMustBeHttpsOffLoopback) {
  EXPECT_FALSE(ParseDirectory(*ParseYaml("tenants: [{id: t, webhook_url: 'http://example.com/hook'}]")).ok());
  EXPECT_TRUE(ParseDirectory(*ParseYaml("tenants: [{id: t, webhook_url: 'https://example.com/hook'}]")).ok());
  EXPECT_TRUE(ParseDirectory(*ParseYaml("tenants: [{id: t, webhook_url: 'http://127.0.0.1:9/hook'}]")).ok());
}

class DirectorySuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    inner_ = testing::OpenFresh(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::make_unique<testing::FaultyStorage>(*inner_);
    auto l = ledger::Ledger::Open(*store_, Signer(), {});
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(*l);
  }
  static crypto::NoteSigner Signer() {
    return crypto::NoteSigner("test.example/log", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07')));
  }
  std::unique_ptr<storage::Storage> inner_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
};

TEST_P(DirectorySuite, ApplyLedgersEachChangeAndSurvivesReload) {
  auto d = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto spec = ParseDirectory(*ParseYaml(Example()));
  auto r = (*d)->Apply(*spec, "admin");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->created, 9);
  EXPECT_EQ(r->ledger_indexes.size(), 9u);
  EXPECT_EQ(ledger_->Size(), 9u);
  // The approver's registration is public evidence, key included.
  bool found = false;
  for (uint64_t i = 0; i < ledger_->Size(); ++i) {
    auto e = ParseJson(*ledger_->ReadEntry(i));
    if ((*e)["type"] == "directory.approver") {
      found = true;
      EXPECT_EQ((*e)["body"]["approver"]["public_key"], Key(1));
      EXPECT_EQ((*e)["body"]["approver"]["tenant"], "acme");
      EXPECT_EQ((*e)["actor"], "admin");
    }
  }
  EXPECT_TRUE(found);

  // Applying the same document again changes nothing and records nothing.
  auto again = (*d)->Apply(*spec, "admin");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 9);
  EXPECT_EQ(ledger_->Size(), 9u);

  DirectorySpec change;
  Staff alice = *(*d)->snapshot()->FindStaff("alice");
  alice.roles.push_back("dba");
  change.staff.push_back(alice);
  auto upd = (*d)->Apply(change, "admin");
  ASSERT_TRUE(upd.ok());
  EXPECT_EQ(upd->updated, 1);

  auto reloaded = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  auto snap = (*reloaded)->snapshot();
  EXPECT_EQ(snap->FindStaff("alice")->roles, (std::vector<std::string>{"sre", "dba"}));
  EXPECT_EQ(snap->FindResource("db01")->tenant, "acme");
  EXPECT_EQ(snap->FindApprover("acme-ann")->public_key.size(), 32u);
  EXPECT_EQ(snap->approvers_by_tenant.at("acme"), std::vector<std::string>{"acme-ann"});
  EXPECT_EQ(snap->PrincipalKind("audrey"), "auditor");
  EXPECT_EQ(snap->PrincipalKind("nobody"), "");
}

TEST_P(DirectorySuite, InconsistentDocumentsAreRejectedWhole) {
  auto d = Directory::Load(*store_, *ledger_);
  auto spec = ParseDirectory(*ParseYaml(R"(platforms: [{id: p1}]
resources:
  - {id: r1, platform: p1, type: host}
  - {id: r2, platform: nowhere, type: host, tenant: ghost}
staff: [{id: same}]
auditors: [{id: same}]
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto r = (*d)->Apply(*spec, "admin");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("resource r2: unknown platform \"nowhere\""), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("resource r2: unknown tenant \"ghost\""), std::string::npos);
  EXPECT_NE(r.error().message.find("\"same\" names more than one principal"), std::string::npos);
  EXPECT_EQ(ledger_->Size(), 0u);
  EXPECT_TRUE((*d)->snapshot()->resources.empty());
  EXPECT_TRUE(store_->ListRecords("directory.resource")->empty());
}

TEST_P(DirectorySuite, StaffValidatorCanVetoAnApply) {
  auto d = Directory::Load(*store_, *ledger_);
  (*d)->SetStaffValidator([](const Staff& s) -> Status {
    for (const auto& r : s.roles) if (r == "ghost") return MakeError(ErrorCode::kInvalidArgument, "unknown role \"ghost\"");
    return OkStatus();
  });
  DirectorySpec spec;
  spec.staff.push_back(Staff{.id = "x", .roles = {"ghost"}});
  auto r = (*d)->Apply(spec, "admin");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("staff x: unknown role \"ghost\""), std::string::npos) << r.error().message;
  EXPECT_EQ(ledger_->Size(), 0u);
}

TEST_P(DirectorySuite, NothingIsStoredWhenTheLedgerCannotRecord) {
  auto d = Directory::Load(*store_, *ledger_);
  store_->fail_ledger = true;
  auto r = (*d)->Apply(*ParseDirectory(*ParseYaml(Example())), "admin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE((*d)->snapshot()->staff.empty());
  EXPECT_TRUE(store_->ListRecords("directory.staff")->empty());
}

TEST_P(DirectorySuite, SetApproverKeyLedgersFirstAndKeepsKeyEvents) {
  auto d = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto applied = (*d)->Apply(*ParseDirectory(*ParseYaml(Example())), "admin");
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  // The approver's creation by apply is a key event of its tenant.
  ASSERT_EQ((*d)->snapshot()->key_events.at("acme").size(), 1u);
  const uint64_t created_at = (*d)->snapshot()->key_events.at("acme")[0];
  EXPECT_EQ((*ParseJson(*ledger_->ReadEntry(created_at)))["type"], "directory.approver");

  const std::string new_key = *Base64Decode(Key(2));
  EXPECT_EQ((*d)->SetApproverKey("nobody", new_key, "nobody").error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*d)->SetApproverKey("acme-ann", "short", "acme-ann").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*d)->SetApproverKey("acme-ann", new_key, "acme-ann", {{"tenant", "globex"}}).error().code,
            ErrorCode::kInvalidArgument);
  const uint64_t size = ledger_->Size();

  // Ledger down: nothing changes, in memory or in storage.
  store_->fail_ledger = true;
  auto refused = (*d)->SetApproverKey("acme-ann", new_key, "acme-ann");
  store_->fail_ledger = false;
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*d)->snapshot()->FindApprover("acme-ann")->public_key, *Base64Decode(Key(1)));
  EXPECT_EQ((*d)->snapshot()->key_events.at("acme").size(), 1u);
  EXPECT_EQ(Directory::Load(*store_, *ledger_).value()->snapshot()->FindApprover("acme-ann")->public_key,
            *Base64Decode(Key(1)));
  EXPECT_EQ(ledger_->Size(), size);

  auto changed = (*d)->SetApproverKey("acme-ann", new_key, "acme-ann", {{"signature", "c2ln"}});
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(changed->tenant, "acme");
  EXPECT_EQ(changed->public_key, new_key);
  EXPECT_EQ(changed->previous_key, *Base64Decode(Key(1)));
  EXPECT_EQ(changed->ledger_index, size);
  auto e = *ParseJson(*ledger_->ReadEntry(changed->ledger_index));
  EXPECT_EQ(e["type"], "directory.approver_key");
  EXPECT_EQ(e["actor"], "acme-ann");
  EXPECT_EQ(e["body"], (Json{{"approver", "acme-ann"}, {"tenant", "acme"}, {"public_key", Key(2)},
                             {"previous_key", Key(1)}, {"signature", "c2ln"}}));
  EXPECT_EQ((*d)->snapshot()->FindApprover("acme-ann")->public_key, new_key);
  EXPECT_EQ((*d)->snapshot()->FindApprover("acme-ann")->name, "Ann");
  EXPECT_EQ((*d)->snapshot()->key_events.at("acme"), (std::vector<uint64_t>{created_at, size}));

  // Another apply of the same document puts the provider's key back: also a key event.
  auto back = (*d)->Apply(*ParseDirectory(*ParseYaml(Example())), "admin");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->updated, 1);
  ASSERT_EQ((*d)->snapshot()->key_events.at("acme").size(), 3u);
  // A change that leaves the key alone is not.
  DirectorySpec rename;
  rename.approvers.push_back(*(*d)->snapshot()->FindApprover("acme-ann"));
  rename.approvers[0].name = "Ann Lee";
  ASSERT_TRUE((*d)->Apply(rename, "admin").ok());
  EXPECT_EQ((*d)->snapshot()->key_events.at("acme").size(), 3u);

  auto reloaded = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  auto snap = (*reloaded)->snapshot();
  EXPECT_EQ(snap->key_events.at("acme"), (*d)->snapshot()->key_events.at("acme"));
  EXPECT_EQ(snap->FindApprover("acme-ann")->public_key, *Base64Decode(Key(1)));
  EXPECT_EQ(snap->FindApprover("acme-ann")->name, "Ann Lee");
}

TEST_P(DirectorySuite, ResolvesTheNamesLogsUse) {
  auto d = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto applied = (*d)->Apply(*ParseDirectory(*ParseYaml(NamesExample())), "admin");
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  // Aliases and accounts are public evidence like the rest of the record.
  bool seen = false;
  for (uint64_t i = 0; i < ledger_->Size(); ++i) {
    auto e = *ParseJson(*ledger_->ReadEntry(i));
    if (e["type"] == "directory.staff" && e["body"]["staff"]["id"] == "bob") {
      seen = true;
      EXPECT_EQ(e["body"]["staff"]["accounts"], Json::array({"bob", "contoso-bob"}));
    }
  }
  EXPECT_TRUE(seen);

  auto check = [](const Snapshot& s) {
    auto id_of = [](const auto* rec) { return rec ? rec->id : std::string("(none)"); };
    // Platforms: by id or alias, exactly.
    EXPECT_EQ(id_of(s.ResolvePlatform("os-bj")), "os-bj");
    EXPECT_EQ(id_of(s.ResolvePlatform("RegionOne")), "os-bj");
    EXPECT_EQ(id_of(s.ResolvePlatform("123456789012")), "os-bj");
    EXPECT_EQ(id_of(s.ResolvePlatform("k8s-sh-prod")), "k8s-sh");
    EXPECT_EQ(s.ResolvePlatform("regionone"), nullptr);
    EXPECT_EQ(s.ResolvePlatform(""), nullptr);
    // Resources: an id matches on any platform.
    EXPECT_EQ(id_of(s.ResolveResource("bj-db", "")), "bj-db");
    EXPECT_EQ(id_of(s.ResolveResource("bj-db", "k8s-sh")), "bj-db");
    EXPECT_EQ(id_of(s.ResolveResource("10.0.0.5", "")), "bj-db");
    EXPECT_EQ(id_of(s.ResolveResource("db01.bj.internal", "os-bj")), "bj-db");
    // An alias only on its own platform.
    EXPECT_EQ(s.ResolveResource("db01.bj.internal", "k8s-sh"), nullptr);
    EXPECT_EQ(s.ResolveResource("10.0.0.5", "nowhere"), nullptr);
    // "db01" is a host on both platforms: ambiguous unless the platform is known.
    EXPECT_EQ(s.ResolveResource("db01", ""), nullptr);
    EXPECT_EQ(id_of(s.ResolveResource("db01", "os-bj")), "bj-db");
    EXPECT_EQ(id_of(s.ResolveResource("db01", "k8s-sh")), "sh-db");
    // "web": os-bj's resource id, and k8s-sh's alias for sh-web. On k8s-sh the alias wins.
    EXPECT_EQ(id_of(s.ResolveResource("web", "")), "web");
    EXPECT_EQ(id_of(s.ResolveResource("web", "os-bj")), "web");
    EXPECT_EQ(id_of(s.ResolveResource("web", "k8s-sh")), "sh-web");
    EXPECT_EQ(id_of(s.ResolveResource("shop/web", "")), "sh-web");
    EXPECT_EQ(s.ResolveResource("shop/web", "os-bj"), nullptr);
    EXPECT_EQ(s.ResolveResource("db02", ""), nullptr);
    // Staff: by id or account.
    EXPECT_EQ(id_of(s.ResolveStaff("alice")), "alice");
    EXPECT_EQ(id_of(s.ResolveStaff("arn:aws:iam::123456789012:user/alice")), "alice");
    EXPECT_EQ(id_of(s.ResolveStaff("contoso-bob")), "bob");
    EXPECT_EQ(id_of(s.ResolveStaff("carol")), "carol");
    EXPECT_EQ(s.ResolveStaff("root"), nullptr);
    EXPECT_EQ(s.ResolveStaff("arn:aws:iam::123456789012:user/mallory"), nullptr);
    // Keys: by the fingerprint sshd logs; a key two people registered names neither.
    EXPECT_EQ(id_of(s.StaffByKeyFingerprint(kFingerprintA)), "alice");
    EXPECT_EQ(s.StaffByKeyFingerprint(kFingerprintB), nullptr);
    EXPECT_EQ(s.StaffByKeyFingerprint("SHA256:nothing"), nullptr);
    EXPECT_EQ(s.StaffByKeyFingerprint(std::string(kFingerprintA).substr(7)), nullptr);  // without "SHA256:"
  };
  auto before = (*d)->snapshot();
  check(*before);
  auto reloaded = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  check(*(*reloaded)->snapshot());

  // A change shows in the next snapshot only; the one a reader holds stays as it was.
  DirectorySpec change;
  Staff dan = *before->FindStaff("dan");
  dan.ssh_keys.clear();
  dan.accounts = {"dan.k8s"};
  change.staff.push_back(dan);
  Resource sh = *before->FindResource("sh-db");
  sh.aliases = {"db02"};
  change.resources.push_back(sh);
  ASSERT_TRUE((*d)->Apply(change, "admin").ok());
  auto after = (*d)->snapshot();
  EXPECT_EQ(after->StaffByKeyFingerprint(kFingerprintB)->id, "carol");
  EXPECT_EQ(after->ResolveStaff("dan.k8s")->id, "dan");
  EXPECT_EQ(after->ResolveResource("db01", "")->id, "bj-db");  // no longer ambiguous
  EXPECT_EQ(after->ResolveResource("db01", "k8s-sh"), nullptr);
  EXPECT_EQ(after->ResolveResource("db02", "")->id, "sh-db");
  check(*before);
  // A copy has no indexes until rebuilt (they would point into the original).
  Snapshot copy = *after;
  EXPECT_EQ(copy.ResolveStaff("dan.k8s"), nullptr);
  copy.Reindex();
  EXPECT_EQ(copy.ResolveStaff("dan.k8s"), &copy.staff.at("dan"));
}

TEST_P(DirectorySuite, NamesMustStayUnambiguousAcrossApplies) {
  auto d = Directory::Load(*store_, *ledger_);
  ASSERT_TRUE((*d)->Apply(*ParseDirectory(*ParseYaml(NamesExample())), "admin").ok());
  const uint64_t size = ledger_->Size();
  // Each document is fine alone; each clashes with what is stored.
  auto r = (*d)->Apply(*ParseDirectory(*ParseYaml(R"(platforms:
  - {id: os-gz, aliases: [cn-beijing, k8s-sh]}
resources:
  - {id: bj-db2, platform: os-bj, type: host, aliases: [10.0.0.5, web]}
  - {id: gz-db, platform: os-gz, type: host, aliases: [db01]}
staff:
  - {id: erin, accounts: [contoso-bob, carol]}
)")),
                       "admin");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("\"cn-beijing\" names more than one platform: os-bj, os-gz"), std::string::npos) << m;
  EXPECT_NE(m.find("\"k8s-sh\" names more than one platform: k8s-sh, os-gz"), std::string::npos) << m;
  EXPECT_NE(m.find("\"10.0.0.5\" names more than one resource on platform os-bj: bj-db, bj-db2"), std::string::npos) << m;
  EXPECT_NE(m.find("\"web\" names more than one resource on platform os-bj: bj-db2, web"), std::string::npos) << m;
  EXPECT_NE(m.find("\"contoso-bob\" names more than one staff member: bob, erin"), std::string::npos) << m;
  EXPECT_NE(m.find("\"carol\" names more than one staff member: carol, erin"), std::string::npos) << m;
  EXPECT_EQ(m.find("gz-db"), std::string::npos) << m;  // "db01" on a third platform is fine
  EXPECT_EQ(ledger_->Size(), size);
  EXPECT_EQ((*d)->snapshot()->ResolvePlatform("os-gz"), nullptr);

  // Moving an alias from one record to another in one document is fine.
  DirectorySpec move;
  Staff bob = *(*d)->snapshot()->FindStaff("bob");
  bob.accounts = {"bob"};
  Staff erin;
  erin.id = "erin";
  erin.accounts = {"contoso-bob"};
  move.staff = {bob, erin};
  auto moved = (*d)->Apply(move, "admin");
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ((*d)->snapshot()->ResolveStaff("contoso-bob")->id, "erin");
}

INSTANTIATE_TEST_SUITE_P(Backends, DirectorySuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::directory
