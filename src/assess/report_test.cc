#include "assess/report.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <cctype>
#include <set>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "assess/oscal_schema_check.h"

#include "assess/oscal.h"
#include "testing/backends.h"

namespace cloudpact::assess {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kCatalogs = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "catalogs";
const std::filesystem::path kOscal = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "tests/data/oscal";

// Runs NIST's schema on `doc`; its exit status (0 = valid).
int ValidateAr(const Json& doc, const std::string& tag) {
  return testing_support::ValidateOscal(doc, "oscal_assessment-results_schema.json", tag);
}

Check MakeCheck(const std::string& id, Severity sev, const std::string& zh, const std::string& en) {
  Check c;
  c.id = id;
  c.severity = sev;
  c.title_zh = zh;
  c.title_en = en;
  c.remediation_zh = "整改：" + zh;
  c.remediation_en = "Fix: " + en;
  return c;
}

// A run built by hand over the repo's real catalogs: a few checks, results on two tenants'
// resources, one muted failure, one check whose SQL failed, an attestation and an exception.
class ReportFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = LoadCatalogDirectory(kCatalogs);
    ASSERT_TRUE(set.ok()) << set.error().message;
    catalogs_ = std::move(*set);
    checks_ = {
        MakeCheck("security_groups_restrict_ingress", Severity::kHigh, "安全组限制入站", "Security groups restrict ingress"),
        MakeCheck("privileged_ops_without_grant", Severity::kCritical, "无授权的特权操作", "Privileged ops without a grant"),
        MakeCheck("sbom_present", Severity::kMedium, "软件物料清单", "SBOM present"),
        MakeCheck("recordings_complete", Severity::kLow, "会话录像完整", "Recordings complete"),
        MakeCheck("logins_bypassing_gateway", Severity::kHigh, "绕过网关的登录", "Logins bypassing the gateway"),
        MakeCheck("tenant_data_regions_in_china", Severity::kInfo, "租户数据位于境内", "Tenant data regions in China"),
    };
    run_ = BaseRun();
  }

  assess::Run BaseRun() {
    assess::Run run;
    run.id = "run_0123456789abcdef";
    run.started_unix = 1795000000;
    run.finished_unix = 1795000123;
    run.started_by = "alice";
    run.resources = 1234;
    run.digest = std::string(64, 'a');
    run.ledger_index = 42;
    run.ledgered = true;
    for (const auto& c : checks_) run.checks[c.id].check = &c;

    auto add = [&](const std::string& id, const std::string& check, const std::string& resource, ResultStatus st,
                   const std::string& reason, const std::string& tenant, const std::string& name,
                   const std::string& exception = "") {
      CheckResult r;
      r.id = id;
      r.check = check;
      r.resource = resource;
      r.status = st;
      r.reason = reason;
      r.platform = resource.rfind("k8s", 0) == 0 ? "k8s-prod" : "openstack-bj1";
      r.tenant = tenant;
      r.resource_type = "security_group";
      r.resource_name = name;
      r.exception_id = exception;
      run.results.push_back(r);
      auto& s = run.checks[check];
      switch (st) {
        case ResultStatus::kFail: ++s.fail; if (!exception.empty()) ++s.muted; break;
        case ResultStatus::kError: ++s.error; break;
        case ResultStatus::kManual: ++s.manual; break;
        case ResultStatus::kNotApplicable: ++s.not_applicable; break;
        case ResultStatus::kPass: ++s.pass; break;
      }
    };
    // Ordered by (check, resource), as the runner orders them.
    add("asr_0000000000000001", "privileged_ops_without_grant", "cloudpact/op/1", ResultStatus::kFail,
        "sudo on db01 without a grant", "", "op 1");
    add("asr_0000000000000002", "sbom_present", "k8s/image/1", ResultStatus::kFail,
        "no SBOM, \"urgent\"\nsecond line, 中文原因", "globex", "=HYPERLINK(\"x\",\"y\")");
    add("asr_0000000000000003", "sbom_present", "k8s/image/2", ResultStatus::kNotApplicable, "not an image", "acme",
        "img2");
    add("asr_0000000000000004", "security_groups_restrict_ingress", "openstack-bj1/sg/1", ResultStatus::kFail,
        "0.0.0.0/0 on port 22", "acme", "<script>alert('x')</script>");
    add("asr_0000000000000005", "security_groups_restrict_ingress", "openstack-bj1/sg/2", ResultStatus::kFail,
        "0.0.0.0/0 on port 3389", "globex", "globex-secret-sg");
    add("asr_0000000000000006", "security_groups_restrict_ingress", "openstack-bj1/sg/3", ResultStatus::kFail,
        "0.0.0.0/0 on port 443", "acme", "acme-web", "exc_1");
    add("asr_0000000000000007", "tenant_data_regions_in_china", "openstack-bj1/vol/9", ResultStatus::kManual,
        "region unknown", "acme", "vol9");
    run.checks["security_groups_restrict_ingress"].pass = 40;
    run.checks["privileged_ops_without_grant"].pass = 1000;
    run.checks["sbom_present"].pass = 7;
    run.checks["logins_bypassing_gateway"].pass = 500;
    run.checks["recordings_complete"].error_message = "no such table: inv_recording";

    Attestation a;
    a.id = "att_1";
    a.catalog = "convention-2023";
    a.requirement = "art-1.2";
    a.owner = "carol";
    a.approver = "dave";
    a.statement = "已于 2026 年申报评估 / applied in 2026";
    a.evidence = {{"application.pdf", std::string(64, 'b')}};
    a.created_unix = 1790000000;
    a.expires_unix = 1800000000;
    run.attestations.push_back(a);
    Exception x;
    x.id = "exc_1";
    x.check = "security_groups_restrict_ingress";
    x.resource = "openstack-bj1/sg/3";
    x.owner = "erin";
    x.reason = "public web tier, WAF in front";
    x.approver = "frank";
    x.created_unix = 1790000000;
    x.expires_unix = 1797000000;
    run.exceptions.push_back(x);

    // Requirements of the convention and GB/T 22239, rolled up as the runner does.
    for (const auto& c : catalogs_.catalogs) {
      if (c.id == "gbt31168-2014") continue;
      for (const auto& g : c.groups) {
        for (const auto& q : g.requirements) {
          RequirementResult rr;
          rr.catalog = &c;
          rr.group = &g;
          rr.requirement = &q;
          if (q.assessment == Assessment::kManual) {
            rr.status = ResultStatus::kManual;
            for (const auto& at : run.attestations)
              if (at.catalog == c.id && at.requirement == q.id) {
                rr.status = ResultStatus::kPass;
                rr.attestation = &at;
              }
          } else {
            bool fail = false, error = false, judged = false;
            for (const auto& ck : q.checks) {
              auto it = run.checks.find(ck);
              if (it == run.checks.end()) continue;
              const auto& s = it->second;
              fail = fail || s.fail > s.muted;
              error = error || s.error > 0 || !s.error_message.empty();
              judged = judged || s.pass + s.fail + s.error + s.manual > 0;
              rr.failed_resources += s.fail - s.muted;
            }
            rr.status = fail    ? ResultStatus::kFail
                        : error ? ResultStatus::kError
                        : judged ? ResultStatus::kPass
                                 : ResultStatus::kNotApplicable;
          }
          run.requirements.push_back(rr);
        }
      }
    }
    return run;
  }

  CatalogSet catalogs_;
  std::vector<Check> checks_;
  assess::Run run_;
};

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) out.push_back(s.substr(start, nl - start));
  EXPECT_EQ(start, s.size()) << "output does not end with a newline";
  return out;
}

// --- OSCAL ---------------------------------------------------------------------------

TEST_F(ReportFixture, ReportOscalIsValidAndCarriesTheLedgerReference) {
  const Json doc = ToOscalAssessmentResults(run_, catalogs_);
  ASSERT_EQ(ValidateAr(doc, "fixture"), 0);
  const Json& ar = doc["assessment-results"];
  EXPECT_EQ(ar["metadata"]["oscal-version"], "1.1.2");
  EXPECT_EQ(ar["uuid"], NameUuid("cloudpact:run:" + run_.id + ":assessment-results"));
  ASSERT_EQ(ar["results"].size(), 1u);
  const Json& result = ar["results"][0];
  EXPECT_EQ(result["start"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(result["end"], "2026-11-18T11:08:43Z");
  std::map<std::string, std::string> props;
  for (const auto& p : result["props"]) props[p["name"]] = p["value"];
  EXPECT_EQ(props["run-id"], run_.id);
  EXPECT_EQ(props["digest"], run_.digest);
  EXPECT_EQ(props["ledger-index"], "42");
  EXPECT_EQ(props["verify-command"], "cloudpact assess verify --run " + run_.id + " --url SERVER --key LEDGER_VERIFIER_KEY");

  // One finding per requirement in scope, targeting it as an objective.
  ASSERT_EQ(result["findings"].size(), run_.requirements.size());
  size_t selected = 0;
  for (const auto& sel : result["reviewed-controls"]["control-selections"]) selected += sel["include-controls"].size();
  EXPECT_EQ(selected, run_.requirements.size());
  std::map<std::string, std::string> state;
  for (const auto& f : result["findings"]) {
    EXPECT_EQ(f["target"]["type"], "objective-id");
    state[f["target"]["target-id"]] = f["target"]["status"]["state"];
  }
  EXPECT_EQ(state["l3.cloud.boundary.access-control-a"], "not-satisfied");  // sg/1 and sg/2 fail
  EXPECT_EQ(state["art-1.2"], "satisfied");                                // attested

  // Observations: the 5 FAIL results plus the check that could not run plus the attestation.
  std::set<std::string> result_ids;
  bool check_error = false;
  for (const auto& o : result["observations"]) {
    for (const auto& p : o["props"]) {
      if (p["name"] == "result-id") result_ids.insert(p["value"].get<std::string>());
      if (p["name"] == "check" && p["value"] == "recordings_complete") check_error = true;
    }
  }
  EXPECT_EQ(result_ids, (std::set<std::string>{"asr_0000000000000001", "asr_0000000000000002", "asr_0000000000000004",
                                               "asr_0000000000000005", "asr_0000000000000006"}));
  EXPECT_TRUE(check_error);
  ASSERT_EQ(result["risks"].size(), 1u);
  EXPECT_EQ(result["risks"][0]["status"], "deviation-approved");
}

TEST_F(ReportFixture, ReportOscalBrokenDocumentsFailValidation) {
  const Json doc = ToOscalAssessmentResults(run_, catalogs_);
  Json no_plan = doc;
  no_plan["assessment-results"].erase("import-ap");
  EXPECT_EQ(ValidateAr(no_plan, "no-plan"), 1);
  Json bad_state = doc;
  bad_state["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "mostly";
  EXPECT_EQ(ValidateAr(bad_state, "bad-state"), 1);
  Json bad_uuid = doc;
  bad_uuid["assessment-results"]["results"][0]["uuid"] = "run_0123";
  EXPECT_EQ(ValidateAr(bad_uuid, "bad-uuid"), 1);
  Json bad_time = doc;
  bad_time["assessment-results"]["results"][0]["start"] = "2026-11-18 08:26:40";
  EXPECT_EQ(ValidateAr(bad_time, "bad-time"), 1);
}

TEST_F(ReportFixture, ReportOscalAggregatesBeyondTheCapAndStaysValid) {
  assess::Run run = run_;
  std::vector<CheckResult> many;
  for (int i = 0; i < 250; ++i) {
    CheckResult r = run.results[3];
    char id[32];
    std::snprintf(id, sizeof id, "asr_%016x", 0x1000 + i);
    r.id = id;
    r.resource = "openstack-bj1/sg/x" + std::to_string(i);
    r.reason = i % 2 ? "  leading and trailing spaces\t" : "";  // OSCAL strings must be trimmed
    many.push_back(r);
  }
  run.results.insert(run.results.begin() + 3, many.begin(), many.end());
  OscalOptions options;
  options.max_observations_per_check = 100;
  const Json doc = ToOscalAssessmentResults(run, catalogs_, options);
  size_t of_check = 0;
  std::string aggregate;
  for (const auto& o : doc["assessment-results"]["results"][0]["observations"]) {
    for (const auto& p : o["props"]) {
      if (p["name"] == "check" && p["value"] == "security_groups_restrict_ingress") ++of_check;
      if (p["name"] == "aggregate-fail") aggregate = p["value"];
    }
  }
  EXPECT_EQ(of_check, 101u);       // 100 listed + 1 aggregate
  EXPECT_EQ(aggregate, "153");     // 253 FAILs of the check in all
  EXPECT_EQ(ValidateAr(doc, "capped"), 0);
}

// --- OCSF ----------------------------------------------------------------------------

TEST_F(ReportFixture, ReportOcsfLinesCarryTheRequiredFields) {
  const std::string out = ToOcsfJsonLines(run_, catalogs_);
  const auto lines = Lines(out);
  // 5 FAIL + 1 MANUAL results, NOT_APPLICABLE left out, plus the check whose SQL failed.
  ASSERT_EQ(lines.size(), 7u);
  std::map<std::string, Json> by_uid;
  for (const auto& line : lines) {
    auto j = ParseJson(line);
    ASSERT_TRUE(j.ok()) << j.error().message;
    EXPECT_EQ((*j)["class_uid"], 2003);
    EXPECT_EQ((*j)["category_uid"], 2);
    EXPECT_EQ((*j)["activity_id"], 1);
    EXPECT_EQ((*j)["type_uid"], 200301);
    EXPECT_EQ((*j)["metadata"]["version"], "1.3.0");
    EXPECT_EQ((*j)["metadata"]["product"]["name"], "cloudpact");
    EXPECT_EQ((*j)["time"], int64_t{1795000123000});
    EXPECT_TRUE((*j)["compliance"].contains("standards"));
    EXPECT_TRUE((*j)["compliance"].contains("status_id"));
    EXPECT_EQ((*j)["unmapped"]["cloudpact"]["digest"], run_.digest);
    by_uid[(*j)["finding_info"]["uid"]] = *j;
  }
  const Json& sg1 = by_uid.at("asr_0000000000000004");
  EXPECT_EQ(sg1["severity_id"], 4);
  EXPECT_EQ(sg1["severity"], "High");
  EXPECT_EQ(sg1["compliance"]["control"], "security_groups_restrict_ingress");
  EXPECT_EQ(sg1["compliance"]["status_id"], 3);
  EXPECT_EQ(sg1["compliance"]["status"], "Fail");
  const auto& reqs = sg1["compliance"]["requirements"];
  EXPECT_NE(std::find(reqs.begin(), reqs.end(), "gbt22239-2019-cloud-l3/l3.cloud.boundary.access-control-a"),
            reqs.end());
  EXPECT_EQ(sg1["resources"][0]["uid"], "openstack-bj1/sg/1");
  EXPECT_EQ(sg1["resources"][0]["data"]["tenant"], "acme");
  EXPECT_EQ(sg1["status_id"], 1);
  EXPECT_EQ(by_uid.at("asr_0000000000000006")["status_id"], 3);  // muted: Suppressed
  EXPECT_EQ(by_uid.at("asr_0000000000000001")["severity_id"], 5);
  EXPECT_EQ(by_uid.at("asr_0000000000000007")["compliance"]["status_id"], 2);  // MANUAL: Warning
  EXPECT_EQ(by_uid.at("chkerr_recordings_complete")["compliance"]["status_code"], "ERROR");
}

// --- CSV -----------------------------------------------------------------------------

// RFC 4180 parser for the test: rows of cells; fails the test on a malformed document.
std::vector<std::vector<std::string>> ParseCsv(std::string_view s) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false, in_quotes = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        cell.push_back(c);
      }
    } else if (c == '"') {
      EXPECT_TRUE(cell.empty() && !quoted) << "quote inside an unquoted cell at " << i;
      in_quotes = quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell);
      cell.clear();
      quoted = false;
    } else if (c == '\r') {
      EXPECT_EQ(s[i + 1], '\n') << "bare CR at " << i;
      rows.back().push_back(cell);
      cell.clear();
      quoted = false;
      rows.emplace_back();
      ++i;
    } else {
      EXPECT_NE(c, '\n') << "bare LF outside quotes at " << i;
      cell.push_back(c);
    }
  }
  EXPECT_TRUE(rows.back().empty() && cell.empty()) << "last row not terminated by CRLF";
  rows.pop_back();
  return rows;
}

TEST_F(ReportFixture, ReportCsvIsRfc4180WithBomAndNoFormulas) {
  const std::string csv = ToCsv(run_, catalogs_);
  ASSERT_EQ(csv.substr(0, 3), "\xEF\xBB\xBF");
  const auto rows = ParseCsv(std::string_view(csv).substr(3));
  ASSERT_FALSE(rows.empty());
  const size_t width = rows[0].size();
  EXPECT_EQ(rows[0][0], "kind");
  size_t check_rows = 0, result_rows = 0;
  std::map<std::string, std::vector<std::string>> by_id;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), width);
    if (r[0] == "check") ++check_rows;
    if (r[0] == "result") {
      ++result_rows;
      by_id[r[5]] = r;
    }
    for (const auto& cell : r) {
      ASSERT_FALSE(cell.empty() == false && (cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@'))
          << "formula cell: " << cell;
    }
  }
  EXPECT_EQ(check_rows, run_.checks.size());
  EXPECT_EQ(result_rows, run_.results.size());
  const auto& sbom = by_id.at("asr_0000000000000002");
  EXPECT_EQ(sbom[10], "'=HYPERLINK(\"x\",\"y\")");  // resource_name, neutralised
  EXPECT_EQ(sbom[11], "no SBOM, \"urgent\"\nsecond line, 中文原因");
  EXPECT_THAT(sbom[15], "SBOM present");
  EXPECT_EQ(by_id.at("asr_0000000000000006")[12], "exc_1");
  EXPECT_THAT(csv, HasSubstr("\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""));
  EXPECT_THAT(csv, HasSubstr("安全组限制入站"));
}

// --- HTML ----------------------------------------------------------------------------

void ExpectSelfContained(const std::string& html) {
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  // No attribute that loads or links anything outside the file.
  std::string lower = html;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view attr : {"src", "href", "action", "srcset", "poster"}) {
    for (size_t at = lower.find(attr); at != std::string::npos; at = lower.find(attr, at + 1)) {
      size_t i = at + attr.size();
      while (i < lower.size() && lower[i] == ' ') ++i;
      if (i >= lower.size() || lower[i] != '=') continue;
      ++i;
      while (i < lower.size() && (lower[i] == ' ' || lower[i] == '"' || lower[i] == '\'')) ++i;
      const std::string_view value = std::string_view(lower).substr(i, 8);
      EXPECT_FALSE(value.starts_with("http") || value.starts_with("//") || value.starts_with("data:te"))
          << "external reference at byte " << at << ": " << lower.substr(at, 60);
    }
  }
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy"));
}

TEST_F(ReportFixture, ReportHtmlIsBilingualEscapedAndSelfContained) {
  HtmlOptions options;
  options.trend = {{"run_a", 1794000000, 1500, 20}, {"run_b", 1794500000, 1520, 8}};
  const std::string html = ToHtml(run_, catalogs_, options);
  ExpectSelfContained(html);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("云计算服务安全评估报告"));
  EXPECT_THAT(html, HasSubstr("Cloud security assessment report"));
  EXPECT_THAT(html, HasSubstr(run_.digest));
  EXPECT_THAT(html, HasSubstr("<code>42</code>"));
  EXPECT_THAT(html, HasSubstr("cloudpact assess verify --run run_0123456789abcdef"));
  // Scorecards per article, per GB/T control point, per platform; charts; trend.
  EXPECT_THAT(html, HasSubstr("第五条"));
  EXPECT_THAT(html, HasSubstr("openstack-bj1"));
  EXPECT_THAT(html, HasSubstr("k8s-prod"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("<polyline"));
  EXPECT_THAT(html, HasSubstr("stroke-dasharray"));
  // Attestations and exceptions with expiry.
  EXPECT_THAT(html, HasSubstr(std::string(64, 'b')));
  EXPECT_THAT(html, HasSubstr("exc_1"));
  EXPECT_THAT(html, HasSubstr("2026-12-11"));  // exception expiry date
  EXPECT_THAT(html, HasSubstr("no such table: inv_recording"));

  options.max_failing_rows = 2;
  const std::string bounded = ToHtml(run_, catalogs_, options);
  EXPECT_THAT(bounded, HasSubstr("另有 3 条结果未在此列出"));
  EXPECT_THAT(bounded, HasSubstr("3 more results are not listed here"));
}

TEST_F(ReportFixture, ReportHtmlWarnsWhenTheRunIsNotLedgered) {
  assess::Run run = run_;
  run.ledgered = false;
  EXPECT_THAT(ToHtml(run, catalogs_), HasSubstr("not in the transparency ledger"));
}

// --- Tenant report -------------------------------------------------------------------

TEST_F(ReportFixture, ReportTenantListsOnlyItsOwnFindingsAndTheRightResponsibilities) {
  const Json j = ToTenantReportJson(run_, catalogs_, "acme", "iaas");
  ASSERT_FALSE(j.contains("error"));
  std::set<std::string> ids;
  for (const auto& f : j["findings"]) ids.insert(f["id"].get<std::string>());
  // sg/1 (open), sg/3 (muted), vol/9 (manual); not globex's sg/2 or image/1, not the N/A.
  EXPECT_EQ(ids, (std::set<std::string>{"asr_0000000000000004", "asr_0000000000000006", "asr_0000000000000007"}));

  std::map<std::string, std::string> want;
  for (const auto& q : run_.requirements) {
    auto it = q.requirement->responsibility.find(ServiceModel::kIaas);
    if (it != q.requirement->responsibility.end())
      want[q.catalog->id + "/" + q.requirement->id] = std::string(ResponsibilityName(it->second));
  }
  std::map<std::string, std::string> got;
  for (const char* who : {"customer", "shared", "provider"})
    for (const auto& e : j["responsibilities"][who]) got[e["requirement"]] = who;
  EXPECT_EQ(got, want);
  EXPECT_GT(j["responsibilities"]["customer"].size(), 0u);
  for (const auto& e : j["responsibilities"]["shared"])
    if (e["requirement"] == "gbt22239-2019-cloud-l3/l3.cloud.boundary.access-control-a") {
      EXPECT_EQ(e["open_findings"], 1);  // sg/1; sg/3 is muted
    }

  const std::string html = ToTenantReport(run_, catalogs_, "acme", "iaas");
  ExpectSelfContained(html);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("globex")));
  EXPECT_THAT(html, Not(HasSubstr("sg/2")));
  EXPECT_THAT(html, HasSubstr("租户责任共担报告"));
  EXPECT_THAT(html, HasSubstr("Shared-responsibility report"));
  EXPECT_THAT(html, HasSubstr(run_.digest));

  // SaaS moves l3.cloud.boundary.access-control-a to the provider.
  const Json saas = ToTenantReportJson(run_, catalogs_, "acme", "saas");
  bool provider = false;
  for (const auto& e : saas["responsibilities"]["provider"])
    provider = provider || e["requirement"] == "gbt22239-2019-cloud-l3/l3.cloud.boundary.access-control-a";
  EXPECT_TRUE(provider);

  const Json bad = ToTenantReportJson(run_, catalogs_, "acme", "faas");
  EXPECT_TRUE(bad.contains("error"));
  EXPECT_FALSE(bad.contains("findings"));
  EXPECT_THAT(ToTenantReport(run_, catalogs_, "acme", "faas"), HasSubstr("Unknown service model"));
}

// --- SARIF and the gate --------------------------------------------------------------

TEST_F(ReportFixture, ReportSarifStructure) {
  const Json s = ToSarif(run_, catalogs_);
  EXPECT_EQ(s["$schema"], "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json");
  EXPECT_EQ(s["version"], "2.1.0");
  ASSERT_EQ(s["runs"].size(), 1u);
  const Json& r = s["runs"][0];
  EXPECT_EQ(r["tool"]["driver"]["name"], "cloudpact");
  const Json& rules = r["tool"]["driver"]["rules"];
  ASSERT_EQ(rules.size(), run_.checks.size());
  std::map<std::string, Json> rule;
  for (size_t i = 0; i < rules.size(); ++i) rule[rules[i]["id"]] = rules[i];
  EXPECT_EQ(rule["security_groups_restrict_ingress"]["defaultConfiguration"]["level"], "error");
  EXPECT_EQ(rule["sbom_present"]["defaultConfiguration"]["level"], "warning");
  EXPECT_EQ(rule["recordings_complete"]["defaultConfiguration"]["level"], "note");
  EXPECT_EQ(rule["sbom_present"]["properties"]["title_zh"], "软件物料清单");
  EXPECT_EQ(rule["sbom_present"]["shortDescription"]["text"], "SBOM present");
  // 5 FAILs + the check whose SQL failed; MANUAL and NOT_APPLICABLE are not results.
  ASSERT_EQ(r["results"].size(), 6u);
  size_t suppressed = 0;
  for (const auto& res : r["results"]) {
    const size_t idx = res["ruleIndex"];
    EXPECT_EQ(rules[idx]["id"], res["ruleId"]);
    if (res.contains("suppressions")) ++suppressed;
    if (res["ruleId"] == "recordings_complete") {
      EXPECT_EQ(res["level"], "error");  // ERROR is an error whatever the severity
      EXPECT_EQ(res["message"]["text"], "no such table: inv_recording");
    } else {
      EXPECT_FALSE(res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(suppressed, 1u);
  EXPECT_EQ(r["properties"]["digest"], run_.digest);
}

TEST_F(ReportFixture, ReportGateExitCodeThresholds) {
  // The fixture has an unmuted critical FAIL.
  EXPECT_EQ(GateExitCode(run_, Severity::kCritical), 1);

  assess::Run run = BaseRun();
  run.results.clear();
  for (auto& [id, s] : run.checks) {
    s.fail = s.error = s.manual = s.muted = 0;
    s.error_message.clear();
  }
  EXPECT_EQ(GateExitCode(run, Severity::kInfo), 0);

  CheckResult r;
  r.id = "asr_1";
  r.check = "sbom_present";  // medium
  r.resource = "x";
  r.status = ResultStatus::kFail;
  run.results = {r};
  run.checks["sbom_present"].fail = 1;
  EXPECT_EQ(GateExitCode(run, Severity::kHigh), 0);
  EXPECT_EQ(GateExitCode(run, Severity::kMedium), 1);
  EXPECT_EQ(GateExitCode(run, Severity::kLow), 1);

  run.results[0].exception_id = "exc_9";  // muted
  run.checks["sbom_present"].muted = 1;
  EXPECT_EQ(GateExitCode(run, Severity::kInfo), 0);

  run.results[0].exception_id.clear();
  run.results[0].status = ResultStatus::kManual;  // MANUAL does not fail the gate
  {
    CheckSummary fresh;
    fresh.check = run.checks["sbom_present"].check;
    run.checks["sbom_present"] = fresh;
  }
  run.checks["sbom_present"].manual = 1;
  EXPECT_EQ(GateExitCode(run, Severity::kInfo), 0);

  run.results[0].status = ResultStatus::kError;  // ERROR fails closed
  run.results[0].exception_id = "exc_9";         // and cannot be muted
  run.checks["sbom_present"].manual = 0;
  run.checks["sbom_present"].error = 1;
  EXPECT_EQ(GateExitCode(run, Severity::kMedium), 1);
  EXPECT_EQ(GateExitCode(run, Severity::kHigh), 0);

  assess::Run sql_failed = BaseRun();  // a check whose SQL failed, no result row
  sql_failed.results.clear();
  for (auto& [id, s] : sql_failed.checks) s.fail = s.error = s.manual = s.muted = 0;
  EXPECT_EQ(GateExitCode(sql_failed, Severity::kLow), 1);  // recordings_complete is low
  EXPECT_EQ(GateExitCode(sql_failed, Severity::kMedium), 0);

  CheckResult unknown = r;  // a result of a check the run does not know: critical
  unknown.check = "no_such_check";
  unknown.status = ResultStatus::kFail;
  unknown.exception_id.clear();
  run.results = {unknown};
  run.checks["sbom_present"].error = 0;
  EXPECT_EQ(GateExitCode(run, Severity::kCritical), 1);
}

// --- Reproducibility -----------------------------------------------------------------

TEST_F(ReportFixture, ReportRenderingIsReproducible) {
  HtmlOptions options;
  options.trend = {{"run_b", 1794500000, 1520, 8}, {"run_a", 1794000000, 1500, 20}};
  const assess::Run again = BaseRun();  // rebuilt from scratch: different addresses, same content
  EXPECT_EQ(ToOscalAssessmentResults(run_, catalogs_).dump(), ToOscalAssessmentResults(again, catalogs_).dump());
  EXPECT_EQ(ToOcsfJsonLines(run_, catalogs_), ToOcsfJsonLines(again, catalogs_));
  EXPECT_EQ(ToCsv(run_, catalogs_), ToCsv(again, catalogs_));
  EXPECT_EQ(ToHtml(run_, catalogs_, options), ToHtml(again, catalogs_, options));
  EXPECT_EQ(ToTenantReport(run_, catalogs_, "acme", "paas", options),
            ToTenantReport(again, catalogs_, "acme", "paas", options));
  EXPECT_EQ(ToTenantReportJson(run_, catalogs_, "acme", "paas").dump(),
            ToTenantReportJson(again, catalogs_, "acme", "paas").dump());
  EXPECT_EQ(ToSarif(run_, catalogs_).dump(), ToSarif(again, catalogs_).dump());

  // Another run id gives other UUIDs.
  assess::Run other = BaseRun();
  other.id = "run_fedcba9876543210";
  EXPECT_NE(ToOscalAssessmentResults(other, catalogs_)["assessment-results"]["uuid"],
            ToOscalAssessmentResults(run_, catalogs_)["assessment-results"]["uuid"]);
}

}  // namespace
}  // namespace cloudpact::assess
