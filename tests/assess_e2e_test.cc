// Continuous assessment through the real binary, as a provider and an assessor use it:
// `cloudpact serve --demo` runs one assessment at start; `cloudpact assess import` loads an
// OpenStack platform's real-format output and an NDJSON file with a malformed line (reported
// by line number, never silently); `assess run` judges them with cloudpact's own evidence;
// the OSCAL result validates against NIST's schema; `assess verify` finds the run's digest in
// the ledger from the tiles alone, and refuses an edited document; `assess diff` shows what a
// fix resolved; the tenant's approver reads its own shared-responsibility report and no
// other's; `assess gate` fails a release on a bad snapshot and writes SARIF.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "core/json.h"
#include "e2e_support.h"
#include "testing/backends.h"

namespace cloudpact {
namespace {

const fs::path kSource = CLOUDPACT_SOURCE_DIR;
const fs::path kSamples = kSource / "src/assess/testdata/inventory";

class AssessWalkthrough : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = cloudpact::testing::TempDir("assess-e2e");
    dir_ = root_ / "data";
    server_ = std::make_unique<Server>(dir_, std::vector<std::string>{"--demo"});
    url_ = server_->WaitUrl();
    ASSERT_FALSE(url_.empty());
    std::smatch m;
    const std::string log = server_->log();
    ASSERT_TRUE(std::regex_search(log, m, std::regex("\"verifier_key\":\"([^\"]+)\""))) << log;
    vkey_ = m[1];
  }

  std::pair<int, std::string> As(const std::string& who, const std::string& args) {
    const fs::path token = who == "admin" ? dir_ / "initial-admin-token" : dir_ / "demo" / (who + ".token");
    return RunCommand(std::string(CLOUDPACT_BIN) + " " + args + " --url " + url_ + " --token-file " + token.string() +
                      " 2>&1");
  }

  Json AsJson(const std::string& who, const std::string& args) {
    auto [code, out] = As(who, args + " --json");
    EXPECT_EQ(code, 0) << args << "\n" << out;
    auto j = ParseJson(out);
    EXPECT_TRUE(j.ok()) << out;
    return j.ok() ? *j : Json::object();
  }

  fs::path root_, dir_;
  std::unique_ptr<Server> server_;
  std::string url_, vkey_;
};

TEST_F(AssessWalkthrough, ImportRunReportVerifyDiffAndTenantReport) {
  // The demo's start-up run is there and ledgered.
  Json runs = AsJson("admin", "assess list");
  ASSERT_GE(runs["runs"].size(), 1u) << runs.dump();
  EXPECT_TRUE(runs["runs"][0]["ledgered"].get<bool>());

  // Inventories: OpenStack's own output formats, and NDJSON with one malformed line.
  for (const char* kind : {"server", "security-group-rule", "volume", "image"}) {
    const std::string file = (kSamples / ("openstack-" + std::string(kind) + "-list.json")).string();
    auto [code, out] = As("admin", "assess import " + file + " --platform openstack-bj --format openstack-" + kind);
    ASSERT_EQ(code, 0) << kind << ": " << out;
    EXPECT_NE(out.find("imported"), std::string::npos) << out;
  }
  const fs::path ndjson = root_ / "k8s.ndjson";
  std::ofstream(ndjson)
      << R"({"platform":"k8s-sh","type":"workload","id":"web","tenant":"acme","attrs":{"kind":"Deployment","privileged":true,"run_as_non_root":false}})"
      << "\n{not json\n"
      << R"({"platform":"k8s-sh","type":"namespace","id":"acme","tenant":"acme","name":"acme","attrs":{"network_policies":0}})"
      << "\n";
  auto [icode, iout] = As("admin", "assess import " + ndjson.string() + " --platform k8s-sh --format ndjson");
  EXPECT_EQ(icode, 0) << iout;
  EXPECT_NE(iout.find(ndjson.string() + ":2:"), std::string::npos) << iout;  // the bad line, named
  EXPECT_NE(iout.find("1 problem"), std::string::npos) << iout;
  // An unknown platform is refused; a person without assess:import is refused.
  auto [bad_platform, bp_out] = As("admin", "assess import " + ndjson.string() + " --platform nowhere --format ndjson");
  EXPECT_NE(bad_platform, 0) << bp_out;
  auto [no_perm, np_out] = As("bob", "assess import " + ndjson.string() + " --platform k8s-sh --format ndjson");
  EXPECT_NE(no_perm, 0) << np_out;

  // A run over everything.
  Json run = AsJson("admin", "assess run");
  const std::string id = run["id"];
  ASSERT_TRUE(run["ledgered"].get<bool>()) << run.dump();
  EXPECT_GT(run["counts"]["fail"].get<int>(), 0);
  Json shown = AsJson("admin", "assess show " + id + " --status FAIL --limit 1000");
  bool privileged_workload = false;
  for (const auto& r : shown["results"]) {
    if (r["check"] == "workloads_not_privileged" && r["resource"] == "k8s-sh/workload/web") privileged_workload = true;
  }
  EXPECT_TRUE(privileged_workload) << shown["results"].dump();

  // Reports: OSCAL valid against NIST's schema; the bilingual HTML names the run's digest.
  const fs::path oscal = root_ / "ar.json", html = root_ / "report.html";
  ASSERT_EQ(As("audrey", "assess report " + id + " --format oscal -o " + oscal.string()).first, 0);  // an auditor
  auto [vcode, vout] = RunCommand("/usr/bin/python3 " + (kSource / "tests/data/oscal/validate.py").string() + " " +
                                  (kSource / "tests/data/oscal/oscal_assessment-results_schema.json").string() + " " +
                                  oscal.string() + " 2>&1");
  EXPECT_EQ(vcode, 0) << vout;
  ASSERT_EQ(As("admin", "assess report " + id + " --format html -o " + html.string()).first, 0);
  std::stringstream page;
  page << std::ifstream(html).rdbuf();
  EXPECT_NE(page.str().find(run["digest"].get<std::string>()), std::string::npos);
  EXPECT_NE(page.str().find("第一条"), std::string::npos);

  // The assessor verifies the run from the ledger's tiles; an edited document fails.
  auto [ver, ver_out] = As("audrey", "assess verify --run " + id + " --key " + vkey_);
  EXPECT_EQ(ver, 0) << ver_out;
  EXPECT_NE(ver_out.find("verified"), std::string::npos) << ver_out;
  auto [dcode, doc] = RunCommand("curl -sf -H \"Authorization: Bearer $(cat " + (dir_ / "initial-admin-token").string() +
                                 ")\" " + url_ + "/v1/assess/runs/" + id + "/document");
  ASSERT_EQ(dcode, 0);
  const fs::path edited = root_ / "edited.json";
  std::string tampered = doc;
  size_t at = tampered.find("\"FAIL\"");
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, 6, "\"PASS\"");
  std::ofstream(edited) << tampered;
  auto [tcode, tout] = RunCommand(std::string(CLOUDPACT_BIN) + " assess verify --document " + edited.string() +
                                  " --key " + vkey_ + " --url " + url_ + " 2>&1");
  EXPECT_EQ(tcode, 1) << tout;
  EXPECT_NE(tout.find("changed after the run"), std::string::npos) << tout;

  // Fix the workload, run again: the diff shows it resolved.
  std::ofstream(ndjson) << R"({"platform":"k8s-sh","type":"workload","id":"web","tenant":"acme","attrs":{"kind":"Deployment","privileged":false,"run_as_non_root":true}})"
                        << "\n";
  ASSERT_EQ(As("admin", "assess import " + ndjson.string() + " --platform k8s-sh --format ndjson").first, 0);
  Json second = AsJson("admin", "assess run");
  Json diff = AsJson("admin", "assess diff " + id + " " + second["id"].get<std::string>());
  bool resolved = false;
  for (const auto& r : diff["resolved"]) {
    if (r["check"] == "workloads_not_privileged" && r["resource"] == "k8s-sh/workload/web") resolved = true;
  }
  EXPECT_TRUE(resolved) << diff.dump();

  // The tenant's approver reads its own shared-responsibility report, not another tenant's.
  const std::string token = "$(cat " + (dir_ / "demo" / "acme-ann.token").string() + ")";
  auto [own, own_report] = RunCommand("curl -sf -H \"Authorization: Bearer " + token + "\" '" + url_ +
                                      "/v1/assess/tenant-reports/acme?format=json&service_model=iaas'");
  EXPECT_EQ(own, 0) << own_report;
  auto rep = ParseJson(own_report);
  ASSERT_TRUE(rep.ok()) << own_report;
  EXPECT_EQ((*rep)["tenant"], "acme") << own_report;
  auto [other, other_out] = RunCommand("curl -s -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer " + token +
                                       "\" '" + url_ + "/v1/assess/tenant-reports/globex'");
  EXPECT_EQ(other_out, "403");
}

TEST_F(AssessWalkthrough, GateFailsABadReleaseSnapshotAndWritesSarif) {
  const fs::path bad = root_ / "release.ndjson", good = root_ / "good.ndjson", sarif = root_ / "gate.sarif";
  std::ofstream(bad) << R"({"platform":"release","type":"workload","id":"api","attrs":{"kind":"Deployment","privileged":true,"run_as_non_root":true}})"
                     << "\n";
  std::ofstream(good) << R"({"platform":"release","type":"workload","id":"api","attrs":{"kind":"Deployment","privileged":false,"run_as_non_root":true,"allow_privilege_escalation":false}})"
                      << "\n";
  const std::string gate = std::string(CLOUDPACT_BIN) + " assess gate --catalogs " + (kSource / "catalogs").string();
  auto [fail, fail_out] = RunCommand(gate + " --input " + bad.string() + " --sarif " + sarif.string() + " 2>&1");
  EXPECT_EQ(fail, 1) << fail_out;
  std::stringstream s;
  s << std::ifstream(sarif).rdbuf();
  auto j = ParseJson(s.str());
  ASSERT_TRUE(j.ok()) << s.str();
  EXPECT_EQ((*j)["version"], "2.1.0");
  bool found = false;
  for (const auto& r : (*j)["runs"][0]["results"]) found |= r["ruleId"] == "workloads_not_privileged";
  EXPECT_TRUE(found) << s.str();
  auto [pass, pass_out] = RunCommand(gate + " --input " + good.string() + " 2>&1");
  EXPECT_EQ(pass, 0) << pass_out;
  // Below the threshold it passes: run_as_non_root (medium) fails only at --fail-on medium.
  std::ofstream(good) << R"({"platform":"release","type":"workload","id":"api","attrs":{"kind":"Deployment","privileged":false,"allow_privilege_escalation":false}})"
                      << "\n";
  EXPECT_EQ(RunCommand(gate + " --input " + good.string() + " 2>&1").first, 0);
  EXPECT_EQ(RunCommand(gate + " --input " + good.string() + " --fail-on medium 2>&1").first, 1);
}

}  // namespace
}  // namespace cloudpact
