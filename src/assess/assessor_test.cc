// The assessment engine on both storage backends: the repository's checks on a fixture
// inventory with known answers, requirement roll-ups, attestations and exceptions that lapse,
// diffs between runs, the ledgered digest, checks that fail as ERROR (never PASS), and a
// ledger that refuses (fail closed, ledgered at the next start).
#include "assess/assessor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "testing/backends.h"
#include "testing/faulty_storage.h"

namespace cloudpact::assess {
namespace {

using ::testing::HasSubstr;
using storage::SqlValue;
using AssessRun = assess::Run;  // gtest's Test::Run hides the name inside fixtures

const std::filesystem::path kCatalogs = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "catalogs";

Resource R(const std::string& platform, const std::string& type, const std::string& id, const std::string& tenant,
           std::map<std::string, SqlValue, std::less<>> attrs, const std::string& region = "cn-north-1") {
  Resource r;
  r.platform = platform;
  r.type = type;
  r.uid = platform + "/" + type + "/" + id;
  r.name = id;
  r.tenant = tenant;
  r.region = region;
  r.attrs = std::move(attrs);
  r.raw = "{\"id\":\"" + id + "\"}";
  return r;
}

SqlValue I(int64_t v) { return v; }
SqlValue S(const char* v) { return std::string(v); }

// An OpenStack-like platform with one known problem per check, and a healthy twin.
ImportResult OpenstackFixture() {
  ImportResult in;
  auto& v = in.resources;
  v.push_back(R("os-bj", "compute_instance", "web-1", "acme", {{"public_ip", I(1)}, {"security_groups", I(2)}}));
  v.push_back(R("os-bj", "compute_instance", "db-1", "acme", {{"security_groups", I(0)}}));
  v.push_back(R("os-bj", "compute_instance", "sg-vm", "acme", {{"security_groups", I(1)}}, "ap-singapore"));
  v.push_back(R("os-bj", "firewall_rule", "ssh-any", "acme",
                {{"direction", S("ingress")}, {"protocol", S("tcp")}, {"port_min", I(22)}, {"port_max", I(22)},
                 {"remote_cidr", S("0.0.0.0/0")}}));
  v.push_back(R("os-bj", "firewall_rule", "https-any", "acme",
                {{"direction", S("ingress")}, {"protocol", S("tcp")}, {"port_min", I(443)}, {"port_max", I(443)},
                 {"remote_cidr", S("0.0.0.0/0")}}));
  v.push_back(R("os-bj", "firewall_rule", "all-any", "globex",
                {{"direction", S("ingress")}, {"remote_cidr", S("::/0")}}));
  v.push_back(R("os-bj", "volume", "vol-plain", "acme", {{"encrypted", I(0)}}));
  v.push_back(R("os-bj", "volume", "vol-enc", "acme", {{"encrypted", I(1)}}));
  v.push_back(R("os-bj", "volume", "vol-unknown", "globex", {}));
  v.push_back(R("os-bj", "image", "snap-pub", "acme", {{"visibility", S("public")}, {"is_snapshot", I(1)}, {"signed", I(0)}}));
  v.push_back(R("os-bj", "image", "ubuntu", "", {{"visibility", S("public")}, {"signed", I(1)}}));
  v.push_back(R("os-bj", "identity_user", "bob", "", {{"enabled", I(1)}, {"mfa", I(0)}}));
  v.push_back(R("os-bj", "role_assignment", "bob-admin", "",
                {{"principal", S("bob")}, {"principal_kind", S("user")}, {"role", S("admin")}, {"privileged", I(1)}}));
  v.push_back(R("os-bj", "role_assignment", "ops-admin", "",
                {{"principal", S("ops")}, {"principal_kind", S("group")}, {"role", S("admin")}, {"privileged", I(1)}}));
  Resource raw;
  raw.platform = "os-bj";
  raw.type = "OS::Heat::Stack";  // unknown: kept raw
  raw.uid = "os-bj/stack/1";
  raw.raw = "{}";
  v.push_back(raw);
  return in;
}

ImportResult CloudpactFixture(int64_t now) {
  ImportResult in;
  auto& v = in.resources;
  const std::string p = "cloudpact";
  v.push_back(R(p, "cp_ledger", "ledger", "", {{"size", I(10)}, {"witnesses", I(0)}}, ""));
  v.push_back(R(p, "cp_staff", "alice", "", {{"kind", S("employee")}, {"standing_privileged", I(0)}, {"mfa", I(1)},
                                              {"last_access_review_unix", I(now - 86400)}}, ""));
  v.push_back(R(p, "cp_staff", "carol", "", {{"kind", S("outsourced")}, {"standing_privileged", I(1)}, {"mfa", I(1)}}, ""));
  v.push_back(R(p, "cp_grant", "req-1", "acme", {{"state", S("approved")}, {"approvals", I(1)}, {"approvals_required", I(2)}}, ""));
  v.push_back(R(p, "cp_grant", "req-2", "acme", {{"state", S("approved")}, {"approvals", I(2)}, {"approvals_required", I(2)},
                                                  {"tenants_required", I(1)}, {"tenants_approved", I(1)}}, ""));
  v.push_back(R(p, "cp_session", "s-1", "", {{"state", S("closed")}, {"recording_complete", I(1)}}, ""));
  v.push_back(R(p, "cp_session", "s-2", "", {{"state", S("terminated")}, {"recording_complete", I(0)}}, ""));
  v.push_back(R(p, "cp_finding", "fnd-1", "acme", {{"kind", S("gateway_bypassed")}, {"state", S("open")},
                                                    {"severity", S("high")}, {"principal", S("alice")}}, ""));
  v.push_back(R(p, "cp_source", "sshd", "", {{"last_event_unix", I(now - 60)}}, ""));
  v.push_back(R(p, "cp_source", "old", "", {{"last_event_unix", I(now - 3 * 86400)}}, ""));
  return in;
}

crypto::NoteSigner Signer() {
  return crypto::NoteSigner("test.example/assess", *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x0c')));
}

class AssessorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    base_ = testing::OpenFresh(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    store_ = std::make_unique<testing::FaultyStorage>(*base_);
    ledger_ = ledger::Ledger::Open(*store_, Signer(), {}).value();
    auto cats = LoadCatalogDirectory(kCatalogs);
    ASSERT_TRUE(cats.ok()) << cats.error().message;
    auto checks = LoadCheckDirectory(kCatalogs / "checks");
    ASSERT_TRUE(checks.ok()) << checks.error().message;
    catalogs_ = *cats;
    checks_ = *checks;
    Reopen();
    now_ = UnixSeconds(SystemNow());
  }

  void Reopen(std::vector<Check> extra = {}) {
    assessor_.reset();
    std::vector<Check> all = checks_;
    for (auto& c : extra) all.push_back(c);
    auto a = Assessor::Open(*store_, *ledger_, catalogs_, all);
    ASSERT_TRUE(a.ok()) << a.error().message;
    assessor_ = std::move(a).value();
  }

  void ImportAll() {
    auto os = assessor_->Import("os-bj", "ndjson", OpenstackFixture(), "tester");
    ASSERT_TRUE(os.ok()) << os.error().message;
    auto cp = assessor_->Import("cloudpact", "cloudpact", CloudpactFixture(now_), "tester");
    ASSERT_TRUE(cp.ok()) << cp.error().message;
  }

  AssessRun RunOk(RunOptions o = {}) {
    o.actor = "tester";
    auto r = assessor_->RunAssessment(o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : AssessRun{};
  }

  static std::string StatusOf(const AssessRun& run, const std::string& check, const std::string& resource) {
    for (const auto& r : run.results) {
      if (r.check == check && r.resource == resource) return std::string(ResultStatusName(r.status));
    }
    return "PASS-or-absent";
  }

  static std::string Requirement(const AssessRun& run, const std::string& id) {
    for (const auto& r : run.requirements) {
      if (r.requirement->id == id) return std::string(ResultStatusName(r.status));
    }
    return "missing";
  }

  std::unique_ptr<storage::Storage> base_;
  std::unique_ptr<testing::FaultyStorage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  CatalogSet catalogs_;
  std::vector<Check> checks_;
  std::unique_ptr<Assessor> assessor_;
  int64_t now_ = 0;
};

TEST_P(AssessorTest, KnownAnswersOnAFixtureInventory) {
  ImportAll();
  AssessRun run = RunOk();
  EXPECT_EQ(run.resources, 25u);
  // Infrastructure checks.
  EXPECT_EQ(StatusOf(run, "security_groups_restrict_ingress", "os-bj/firewall_rule/ssh-any"), "FAIL");
  EXPECT_EQ(StatusOf(run, "security_groups_restrict_ingress", "os-bj/firewall_rule/all-any"), "FAIL");
  EXPECT_EQ(StatusOf(run, "security_groups_restrict_ingress", "os-bj/firewall_rule/https-any"), "PASS-or-absent");
  EXPECT_EQ(StatusOf(run, "instances_have_security_groups", "os-bj/compute_instance/db-1"), "FAIL");
  EXPECT_EQ(StatusOf(run, "infrastructure_regions_in_china", "os-bj/compute_instance/sg-vm"), "FAIL");
  EXPECT_EQ(StatusOf(run, "infrastructure_regions_in_china", "os-bj/compute_instance/web-1"), "PASS-or-absent");
  EXPECT_EQ(StatusOf(run, "volumes_encrypted", "os-bj/volume/vol-plain"), "FAIL");
  EXPECT_EQ(StatusOf(run, "volumes_encrypted", "os-bj/volume/vol-unknown"), "MANUAL");  // NULL is not false
  EXPECT_EQ(StatusOf(run, "images_not_public", "os-bj/image/snap-pub"), "FAIL");
  EXPECT_EQ(StatusOf(run, "images_not_public", "os-bj/image/ubuntu"), "PASS-or-absent");  // a public base image
  EXPECT_EQ(StatusOf(run, "images_signed", "os-bj/image/snap-pub"), "FAIL");
  EXPECT_EQ(StatusOf(run, "identity_users_mfa", "os-bj/identity_user/bob"), "FAIL");
  EXPECT_EQ(StatusOf(run, "platform_admin_assignments", "os-bj/role_assignment/bob-admin"), "FAIL");
  EXPECT_EQ(StatusOf(run, "platform_admin_assignments", "os-bj/role_assignment/ops-admin"), "PASS-or-absent");
  // cloudpact's own evidence.
  EXPECT_EQ(StatusOf(run, "logins_bypassing_gateway", "cloudpact/cp_finding/fnd-1"), "FAIL");
  EXPECT_EQ(StatusOf(run, "privileged_ops_without_grant", "cloudpact/cp_ledger/ledger"), "PASS-or-absent");
  EXPECT_EQ(StatusOf(run, "recordings_complete", "cloudpact/cp_session/s-2"), "FAIL");
  EXPECT_EQ(StatusOf(run, "standing_privileged_accounts", "cloudpact/cp_staff/carol"), "FAIL");
  EXPECT_EQ(StatusOf(run, "outsourced_staff_same_rules", "cloudpact/cp_staff/carol"), "FAIL");
  EXPECT_EQ(StatusOf(run, "access_review_current", "cloudpact/cp_staff/carol"), "FAIL");
  EXPECT_EQ(StatusOf(run, "access_review_current", "cloudpact/cp_staff/alice"), "PASS-or-absent");
  EXPECT_EQ(StatusOf(run, "separation_of_duty_violations", "cloudpact/cp_grant/req-1"), "FAIL");
  EXPECT_EQ(StatusOf(run, "separation_of_duty_violations", "cloudpact/cp_grant/req-2"), "PASS-or-absent");
  EXPECT_EQ(StatusOf(run, "audit_sources_reporting", "cloudpact/cp_source/old"), "FAIL");
  EXPECT_EQ(StatusOf(run, "ledger_checkpoint_witnessed", "cloudpact/cp_ledger/ledger"), "FAIL");
  EXPECT_EQ(StatusOf(run, "sbom_present", "cloudpact/cp_ledger/ledger"), "MANUAL");
  // Counts match the results kept.
  const CheckSummary& sg = run.checks.at("security_groups_restrict_ingress");
  EXPECT_EQ(sg.fail, 2u);
  EXPECT_EQ(sg.pass, 1u);
  // Roll-ups.
  EXPECT_EQ(Requirement(run, "l3.cloud.boundary.access-control-a"), "FAIL");
  EXPECT_EQ(Requirement(run, "art-7.2"), "PASS");           // no tenant-data finding
  EXPECT_EQ(Requirement(run, "art-5.1"), "FAIL");           // gateway bypassed
  EXPECT_EQ(Requirement(run, "art-1.2"), "MANUAL");         // manual, not attested
  EXPECT_EQ(Requirement(run, "art-8.2"), "MANUAL");         // no SBOM evidence yet: not a pass
  EXPECT_EQ(Requirement(run, "l3.cloud.network-architecture-b"), "NOT_APPLICABLE");  // no namespaces
  // Result details for reports.
  for (const auto& r : run.results) {
    if (r.resource == "os-bj/firewall_rule/ssh-any") {
      EXPECT_EQ(r.tenant, "acme");
      EXPECT_EQ(r.platform, "os-bj");
      EXPECT_EQ(r.resource_type, "firewall_rule");
      EXPECT_EQ(r.resource_name, "ssh-any");
      EXPECT_THAT(r.reason, HasSubstr("0.0.0.0/0"));
    }
  }
}

TEST_P(AssessorTest, PlatformAndCatalogFilters) {
  ImportAll();
  RunOptions o;
  o.platform = "os-bj";
  AssessRun run = RunOk(o);
  EXPECT_EQ(run.resources, 15u);
  for (const auto& r : run.results) EXPECT_EQ(r.platform, "os-bj") << r.check << " " << r.resource;
  o = {};
  o.catalog = "convention-2023";
  AssessRun conv = RunOk(o);
  EXPECT_FALSE(conv.checks.count("volumes_encrypted"));  // not named by the convention
  EXPECT_TRUE(conv.checks.count("privileged_ops_without_grant"));
  for (const auto& r : conv.requirements) EXPECT_EQ(r.catalog->id, "convention-2023");
  o.catalog = "no-such";
  EXPECT_EQ(assessor_->RunAssessment(o).error().code, ErrorCode::kNotFound);
}

TEST_P(AssessorTest, DigestIsInTheLedgerAndDetectsEdits) {
  ImportAll();
  AssessRun run = RunOk();
  ASSERT_TRUE(run.ledgered);
  auto entry = ledger_->ReadEntry(run.ledger_index);
  ASSERT_TRUE(entry.ok());
  auto j = ParseJson(*entry);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["type"], "assess.run");
  EXPECT_EQ((*j)["body"]["digest"], run.digest);
  EXPECT_EQ((*j)["body"]["run"], run.id);
  // Reloaded from storage, the document hashes to the same digest.
  auto loaded = assessor_->GetRun(run.id);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->results.size(), run.results.size());
  EXPECT_EQ(crypto::Sha256Hex(*Assessor::ResultDocument(*loaded)), run.digest);
  // The streamed document is exactly the canonical form of the same document built as a tree.
  {
    auto doc = ParseJson(*Assessor::ResultDocument(*loaded));
    ASSERT_TRUE(doc.ok());
    Json rebuilt = *doc;
    Json results = Json::array();
    for (const auto& r : loaded->results) {
      Json j = {{"check", r.check},       {"id", r.id},         {"name", r.resource_name},
                {"platform", r.platform}, {"reason", r.reason}, {"resource", r.resource},
                {"status", std::string(ResultStatusName(r.status))}, {"tenant", r.tenant}, {"type", r.resource_type}};
      if (!r.exception_id.empty()) j["exception"] = r.exception_id;
      results.push_back(j);
    }
    EXPECT_EQ((*doc)["results"], results);
    EXPECT_EQ(*CanonicalJson(rebuilt), *Assessor::ResultDocument(*loaded));
  }
  // Edited afterwards in the database, it no longer does.
  ASSERT_TRUE(store_->ExecuteSql({{"UPDATE assess_results SET status = 'PASS' WHERE run_id = ? AND check_id = ?",
                                   {{run.id, std::string("volumes_encrypted")}}}})
                  .ok());
  auto edited = assessor_->GetRun(run.id);
  ASSERT_TRUE(edited.ok());
  EXPECT_NE(crypto::Sha256Hex(*Assessor::ResultDocument(*edited)), run.digest);
}

TEST_P(AssessorTest, DiffBetweenRuns) {
  ImportAll();
  AssessRun first = RunOk();
  // Fix the SSH rule, break a volume, and change why the old source fails.
  ImportResult fix = OpenstackFixture();
  for (auto& r : fix.resources) {
    if (r.name == "ssh-any") r.attrs["remote_cidr"] = S("10.0.0.0/8");
    if (r.name == "vol-enc") r.attrs["encrypted"] = I(0);
  }
  ASSERT_TRUE(assessor_->Import("os-bj", "ndjson", fix, "tester").ok());
  ImportResult cp = CloudpactFixture(now_);
  for (auto& r : cp.resources) {
    if (r.name == "old") r.attrs.erase("last_event_unix");
  }
  ASSERT_TRUE(assessor_->Import("cloudpact", "cloudpact", cp, "tester").ok());
  AssessRun second = RunOk();
  auto d = assessor_->Diff(first.id, second.id);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto has = [](const std::vector<CheckResult>& v, const std::string& check, const std::string& res) {
    return std::any_of(v.begin(), v.end(), [&](const CheckResult& r) { return r.check == check && r.resource == res; });
  };
  EXPECT_TRUE(has(d->resolved, "security_groups_restrict_ingress", "os-bj/firewall_rule/ssh-any"));
  EXPECT_TRUE(has(d->added, "volumes_encrypted", "os-bj/volume/vol-enc"));
  ASSERT_EQ(d->changed.size(), 1u);
  EXPECT_EQ(d->changed[0].first.resource, "cloudpact/cp_source/old");
  EXPECT_THAT(d->changed[0].second.reason, HasSubstr("never delivered"));
  // Stable ids: the same check on the same resource has the same id in both runs.
  EXPECT_EQ(d->changed[0].first.id, d->changed[0].second.id);
  EXPECT_EQ(assessor_->Diff(first.id, "run_nope").error().code, ErrorCode::kNotFound);
}

TEST_P(AssessorTest, AttestationsAndExceptionsLapseOnTheirOwn) {
  ImportAll();
  Attestation a;
  a.catalog = "convention-2023";
  a.requirement = "art-1.2";
  a.owner = "compliance-lead";
  a.approver = "ciso";
  a.statement = "Assessment filed 2026-10-01";
  a.evidence.push_back({"filing.pdf", crypto::Sha256Hex("pdf bytes")});
  a.expires_unix = now_ + 3600;
  auto att = assessor_->Attest(a, "tester");
  ASSERT_TRUE(att.ok()) << att.error().message;
  Exception e;
  e.check = "standing_privileged_accounts";
  e.resource = "cloudpact/cp_staff/carol";
  e.owner = "ops-lead";
  e.approver = "ciso";
  e.reason = "on-call DBA until the migration ends";
  e.expires_unix = now_ + 3600;
  auto exc = assessor_->AddException(e, "tester");
  ASSERT_TRUE(exc.ok()) << exc.error().message;

  AssessRun run = RunOk();
  EXPECT_EQ(Requirement(run, "art-1.2"), "PASS");
  EXPECT_EQ(run.checks.at("standing_privileged_accounts").muted, 1u);
  for (const auto& r : run.results) {
    if (r.check == "standing_privileged_accounts") {
      EXPECT_EQ(r.status, ResultStatus::kFail);  // still FAIL, shown muted
      EXPECT_EQ(r.exception_id, exc->id);
    }
  }
  // Both ledgered.
  auto size = ledger_->Size();
  EXPECT_GE(size, 3u);

  // Expired ones are ignored: rewrite their expiry into the past.
  auto rewrite = [&](const char* kind, const std::string& id) {
    auto rec = store_->GetRecord(kind, id);
    ASSERT_TRUE(rec.ok() && rec->has_value());
    Json j = *ParseJson((*rec)->body);
    j["expires"] = now_ - 1;
    ASSERT_TRUE(store_->WriteRecords({{kind, id, j.dump(), (*rec)->version}}).ok());
  };
  rewrite("assess.attestation", att->id);
  rewrite("assess.exception", exc->id);
  AssessRun later = RunOk();
  EXPECT_EQ(Requirement(later, "art-1.2"), "MANUAL");
  EXPECT_EQ(later.checks.at("standing_privileged_accounts").muted, 0u);

  // Validation: separation of duties, expiry, existence.
  Attestation self = a;
  self.approver = self.owner;
  EXPECT_EQ(assessor_->Attest(self, "t").error().code, ErrorCode::kInvalidArgument);
  Attestation past = a;
  past.expires_unix = now_ - 10;
  EXPECT_EQ(assessor_->Attest(past, "t").error().code, ErrorCode::kInvalidArgument);
  Attestation bad_hash = a;
  bad_hash.evidence[0].sha256 = "xyz";
  EXPECT_EQ(assessor_->Attest(bad_hash, "t").error().code, ErrorCode::kInvalidArgument);
  Exception nocheck = e;
  nocheck.check = "no_such_check";
  EXPECT_EQ(assessor_->AddException(nocheck, "t").error().code, ErrorCode::kNotFound);
}

TEST_P(AssessorTest, BrokenChecksAreErrorsNeverPasses) {
  ImportAll();
  Check missing_column;
  missing_column.id = "broken_column";
  missing_column.title_zh = missing_column.title_en = "broken";
  missing_column.resource_types = {"volume"};
  missing_column.sql = "SELECT uid AS resource, 'PASS' AS status, NULL AS reason, platform, tenant FROM inv_volume WHERE colour = 1";
  Check bad_status = missing_column;
  bad_status.id = "bad_status";
  bad_status.sql = "SELECT uid AS resource, 'OK' AS status, NULL AS reason, platform, tenant FROM inv_volume";
  Check no_platform = missing_column;
  no_platform.id = "no_platform";
  no_platform.sql = "SELECT uid AS resource, 'PASS' AS status, NULL AS reason FROM inv_volume";
  Reopen({missing_column, bad_status, no_platform});
  AssessRun run = RunOk();
  EXPECT_EQ(run.checks.at("broken_column").error, 1u);
  EXPECT_EQ(run.checks.at("broken_column").pass, 0u);
  EXPECT_THAT(run.checks.at("broken_column").error_message, HasSubstr("colour"));
  EXPECT_EQ(run.checks.at("no_platform").error, 1u);
  EXPECT_EQ(run.checks.at("bad_status").error, 3u);
  EXPECT_EQ(run.checks.at("bad_status").pass, 0u);
  EXPECT_EQ(StatusOf(run, "bad_status", "os-bj/volume/vol-enc"), "ERROR");
}

TEST_P(AssessorTest, ImportReportsProblemsAndReplacesOnlyItsTypes) {
  ImportAll();
  ImportResult in;
  in.problems.push_back({7, "/attrs", "line 7 is not JSON"});
  in.resources.push_back(R("os-bj", "volume", "v-new", "acme", {{"encrypted", I(1)}}));
  in.resources.push_back(R("os-bj", "volume", "v-new", "acme", {{"encrypted", I(0)}}));          // duplicate
  in.resources.push_back(R("os-bj", "volume", "v-bad", "acme", {{"encrypted", S("yes")}}));      // wrong type
  in.resources.push_back(R("os-bj", "volume", "v-col", "acme", {{"colour", I(1)}}));             // no such column
  in.resources.push_back(R("other", "volume", "v-else", "acme", {}));                            // wrong platform
  auto sum = assessor_->Import("os-bj", "ndjson", in, "tester");
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->resources, 1u);
  EXPECT_EQ(sum->replaced, 3u);  // the three volumes before
  EXPECT_EQ(sum->problems, 5u);
  ASSERT_FALSE(sum->first_problems.empty());
  EXPECT_EQ(sum->first_problems[0].line, 7);
  // Instances were not touched by a volume import.
  AssessRun run = RunOk();
  EXPECT_EQ(StatusOf(run, "instances_have_security_groups", "os-bj/compute_instance/db-1"), "FAIL");
  EXPECT_EQ(run.checks.at("volumes_encrypted").pass, 1u);
  EXPECT_EQ(run.checks.at("volumes_encrypted").fail, 0u);
  auto imports = assessor_->Imports();
  ASSERT_TRUE(imports.ok());
  EXPECT_EQ(imports->size(), 3u);
}

TEST_P(AssessorTest, LedgerRefusalFailsClosedAndIsRecoveredAtStart) {
  ImportAll();
  store_->fail_ledger = true;
  auto run = assessor_->RunAssessment({"", "", "tester"});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ErrorCode::kUnavailable);
  auto runs = assessor_->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_FALSE((*runs)[0].ledgered);
  store_->fail_ledger = false;
  Reopen();
  runs = assessor_->ListRuns();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_TRUE((*runs)[0].ledgered);
  auto entry = ledger_->ReadEntry((*runs)[0].ledger_index);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*ParseJson(*entry))["body"]["digest"], (*runs)[0].digest);
}

TEST(ChecksFiles, LoadAndRefuseBadOnes) {
  auto checks = LoadCheckDirectory(kCatalogs / "checks");
  ASSERT_TRUE(checks.ok()) << checks.error().message;
  EXPECT_GE(checks->size(), 35u);
  auto bad = [](const std::string& yaml) {
    auto doc = ParseYaml(yaml);
    EXPECT_TRUE(doc.ok());
    auto c = LoadChecks(*doc);
    return c.ok() ? std::string("ok") : c.error().message;
  };
  const std::string head = "checks:\n  - id: c1\n    title_zh: 一\n    title_en: one\n    severity: high\n";
  EXPECT_EQ(bad(head + "    resource_types: [volume]\n    sql: SELECT 1\n"), "ok");
  EXPECT_THAT(bad(head + "    resource_types: [volume]\n    sql: DELETE FROM inv_volume\n"), HasSubstr("line 7 (/checks/0/sql)"));
  EXPECT_THAT(bad(head + "    resource_types: [volume]\n    sql: SELECT 1; DROP TABLE x\n"), HasSubstr("one statement"));
  EXPECT_THAT(bad(head + "    resource_types: [spaceship]\n    sql: SELECT 1\n"), HasSubstr("unknown inventory type"));
  EXPECT_THAT(bad(head + "    resource_types: [volume]\n    sql: SELECT 1\n    colour: red\n"), HasSubstr("unknown key"));
}

INSTANTIATE_TEST_SUITE_P(Backends, AssessorTest, ::testing::ValuesIn(testing::BackendNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudpact::assess
