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

INSTANTIATE_TEST_SUITE_P(Backends, DirectorySuite, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::directory
