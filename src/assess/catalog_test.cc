#include "assess/catalog.h"

#include <cstdio>
#include <fstream>
#include <map>
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

const std::filesystem::path kCatalogs = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "catalogs";
const std::filesystem::path kOscal = std::filesystem::path(CLOUDPACT_SOURCE_DIR) / "tests/data/oscal";

Result<Catalog> Load(const std::string& yaml) {
  ASSIGN_OR_RETURN(YamlDocument doc, ParseYaml(yaml));
  return LoadCatalog(doc);
}

// A valid one-group catalog; tests splice bad lines into it. Line numbers are 1-based.
std::string Base(const std::string& extra_requirement_lines = "", const std::string& more = "") {
  return "catalog: {id: t, title_zh: 测试, title_en: Test, version: '1', source: unit test,\n"  // 1
         "          last_modified: '2026-01-01T00:00:00Z'}\n"                                   // 2
         "groups:\n"                                                                          // 3
         "  - id: g1\n"                                                                       // 4
         "    title_zh: 组\n"                                                                  // 5
         "    title_en: Group\n"                                                              // 6
         "    requirements:\n"                                                                // 7
         "      - id: g1.a\n"                                                                 // 8
         "        title_zh: 甲\n"                                                              // 9
         "        title_en: A\n"                                                              // 10
         "        text_zh: 甲文\n"                                                             // 11
         "        text_en: A text\n"                                                          // 12
         "        service_models: [iaas, saas]\n"                                             // 13
         "        responsibility: {iaas: provider, saas: shared}\n"                           // 14
         "        assessment: automated\n"                                                    // 15
         "        checks: [privileged_ops_without_grant]\n" +                                 // 16
         extra_requirement_lines + more;
}

std::string Error(const Result<Catalog>& r) { return r.ok() ? "ok" : r.error().message; }

// Runs NIST's schema on `doc`; its exit status (0 = valid).
int ValidateOscal(const Json& doc, const std::string& tag) {
  return testing_support::ValidateOscal(doc, "oscal_catalog_schema.json", tag);
}

TEST(Catalog, ShippedCatalogsLoadAndPassIntegrity) {
  auto set = LoadCatalogDirectory(kCatalogs);
  ASSERT_TRUE(set.ok()) << set.error().message;
  std::map<std::string, const Catalog*> by_id;
  for (const auto& c : set->catalogs) by_id[c.id] = &c;
  ASSERT_EQ(by_id.size(), 3u);
  ASSERT_TRUE(by_id.count("convention-2023"));
  ASSERT_TRUE(by_id.count("gbt22239-2019-cloud-l3"));
  ASSERT_TRUE(by_id.count("gbt31168-2014"));

  const Catalog& conv = *by_id["convention-2023"];
  ASSERT_EQ(conv.groups.size(), 10u);
  for (size_t i = 0; i < conv.groups.size(); ++i) {
    EXPECT_EQ(conv.groups[i].id, "art-" + std::to_string(i + 1));
    EXPECT_GE(conv.groups[i].requirements.size(), 2u) << conv.groups[i].id;
    EXPECT_LE(conv.groups[i].requirements.size(), 5u) << conv.groups[i].id;
  }
  EXPECT_EQ(by_id["gbt22239-2019-cloud-l3"]->groups.size(), 16u);
  EXPECT_EQ(by_id["gbt31168-2014"]->groups.size(), 10u);
  for (const auto& q : by_id["gbt31168-2014"]->groups[0].requirements) EXPECT_NE(q.level, Level::kNone) << q.id;

  // The evidence checks the brief names are wired to requirements.
  std::set<std::string> checks;
  for (const auto& c : set->catalogs)
    for (const auto& g : c.groups)
      for (const auto& q : g.requirements) checks.insert(q.checks.begin(), q.checks.end());
  for (const char* want : {"privileged_ops_without_grant", "tenant_data_access_without_tenant_approval",
                           "standing_privileged_accounts", "recordings_complete", "outsourced_staff_same_rules",
                           "breach_notification_timely"}) {
    EXPECT_TRUE(checks.count(want)) << want;
  }
  // Every article is mapped to at least one GB/T clause.
  std::set<std::string> mapped;
  for (const auto& m : set->mappings) {
    EXPECT_FALSE(m.source.empty());
    if (m.from.catalog == "convention-2023") mapped.insert(m.from.requirement);
  }
  for (const auto& g : conv.groups) {
    bool any = false;
    for (const auto& q : g.requirements) any = any || mapped.count(q.id);
    EXPECT_TRUE(any) << g.id << " has no mapping";
  }
}

TEST(Catalog, BaseIsValid) {
  auto c = Load(Base());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(CheckIntegrity({*c}, {}).ok());
}

TEST(Catalog, UnknownKeyNamesLineAndPointer) {
  auto c = Load(Base("        colour: red\n"));
  EXPECT_THAT(Error(c), HasSubstr("line 17 (/groups/0/requirements/0/colour)"));
  EXPECT_THAT(Error(c), HasSubstr("unknown key"));
}

TEST(Catalog, DuplicateIdNamesLine) {
  auto c = Load(Base("",
                     "      - id: g1.a\n"  // 17
                     "        title_zh: 乙\n"
                     "        title_en: B\n"
                     "        text_zh: 乙文\n"
                     "        text_en: B text\n"
                     "        service_models: [iaas]\n"
                     "        responsibility: {iaas: provider}\n"
                     "        assessment: manual\n"));
  EXPECT_THAT(Error(c), HasSubstr("line 17 (/groups/0/requirements/1/id)"));
  EXPECT_THAT(Error(c), HasSubstr("used twice"));
}

TEST(Catalog, BadResponsibilityNamesLine) {
  std::string y = Base();
  y.replace(y.find("saas: shared"), 12, "saas: tenant");
  EXPECT_THAT(Error(Load(y)), HasSubstr("line 14 (/groups/0/requirements/0/responsibility/saas)"));
  y = Base();
  y.replace(y.find("assessment: automated"), 21, "assessment: sometimes");
  EXPECT_THAT(Error(Load(y)), HasSubstr("line 15 (/groups/0/requirements/0/assessment)"));
  y = Base();
  y.replace(y.find("[iaas, saas]"), 12, "[iaas, faas]");
  EXPECT_THAT(Error(Load(y)), HasSubstr("line 13 (/groups/0/requirements/0/service_models/1)"));
  y = Base("        level: extreme\n");
  EXPECT_THAT(Error(Load(y)), HasSubstr("line 17 (/groups/0/requirements/0/level)"));
}

TEST(Catalog, MissingResponsibilityForAServiceModelFailsIntegrity) {
  std::string y = Base();
  y.replace(y.find(", saas: shared"), 14, "");
  auto c = Load(y);
  ASSERT_TRUE(c.ok()) << c.error().message;
  Status st = CheckIntegrity({*c}, {});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("line 8 (/groups/0/requirements/0)"));
  EXPECT_THAT(st.error().message, HasSubstr("applies to saas but gives no responsibility"));
}

TEST(Catalog, AutomatedWithoutChecksFailsIntegrity) {
  std::string y = Base();
  y.replace(y.find("[privileged_ops_without_grant]"), 30, "[]");
  auto c = Load(y);
  ASSERT_TRUE(c.ok()) << c.error().message;
  Status st = CheckIntegrity({*c}, {});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("catalog t line 8 (/groups/0/requirements/0)"));
  EXPECT_THAT(st.error().message, HasSubstr("automated but names no checks"));
}

TEST(Catalog, IdsMustBeOscalTokens) {
  std::string y = Base();
  y.replace(y.find("id: g1.a"), 8, "id: '5.1'");
  EXPECT_THAT(Error(Load(y)), HasSubstr("line 8 (/groups/0/requirements/0/id)"));
}

TEST(Catalog, MappingToAMissingIdNamesLine) {
  auto a = Load(Base());
  std::string yb = Base();
  yb.replace(yb.find("id: t,"), 6, "id: u,");
  auto b = Load(yb);
  ASSERT_TRUE(a.ok() && b.ok());
  auto doc = ParseYaml(
      "mappings:\n"
      "  - {from: t/g1.a, to: [u/g1.a], source: test}\n"      // 2
      "  - from: t/g1.a\n"                                    // 3
      "    to: [u/g1.a, u/g1.zzz]\n"                          // 4
      "    source: test\n");
  ASSERT_TRUE(doc.ok());
  auto m = LoadMappings(*doc);
  ASSERT_TRUE(m.ok()) << m.error().message;
  Status st = CheckIntegrity({*a, *b}, *m);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("line 3 (/mappings/1/to/1)"));
  EXPECT_THAT(st.error().message, HasSubstr("has no requirement g1.zzz"));

  auto bad = ParseYaml("mappings:\n  - {from: t/g1.a, to: [u/g1.a], source: x, why: y}\n");
  ASSERT_TRUE(bad.ok());
  auto mb = LoadMappings(*bad);
  ASSERT_FALSE(mb.ok());
  EXPECT_THAT(mb.error().message, HasSubstr("line 2 (/mappings/0/why)"));
}

TEST(Catalog, LicensedTextOverridesReplaceSummaries) {
  auto c = Load(Base());
  ASSERT_TRUE(c.ok());
  auto over = ParseYaml("catalog: t\ntext_zh:\n  g1.a: 官方文本\n");
  ASSERT_TRUE(over.ok());
  ASSERT_TRUE(ApplyTextOverrides(*c, *over).ok());
  EXPECT_EQ(c->groups[0].requirements[0].text_zh, "官方文本");
  EXPECT_EQ(c->groups[0].requirements[0].text_en, "A text");

  auto missing = ParseYaml("catalog: t\ntext_zh:\n  g1.a: x\n  g9.q: y\n");
  ASSERT_TRUE(missing.ok());
  Status st = ApplyTextOverrides(*c, *missing);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("line 4 (/text_zh/g9.q)"));
}

TEST(Catalog, DirectoryAppliesLicensedTextAndNamesTheFile) {
  const auto dir = cloudpact::testing::TempDir("catalogs");
  for (const auto& e : std::filesystem::directory_iterator(kCatalogs))
    if (e.path().extension() == ".yaml") std::filesystem::copy_file(e.path(), dir / e.path().filename());
  std::filesystem::create_directories(dir / "licensed");
  std::ofstream(dir / "licensed/gbt31168-2014.yaml")
      << "catalog: gbt31168-2014\ntext_zh:\n  gbt31168.ac.least-privilege: 许可文本\n";
  auto set = LoadCatalogDirectory(dir);
  ASSERT_TRUE(set.ok()) << set.error().message;
  const Requirement* q = nullptr;
  for (const auto& c : set->catalogs)
    if (c.id == "gbt31168-2014") q = c.Find("gbt31168.ac.least-privilege");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->text_zh, "许可文本");

  std::ofstream(dir / "licensed/gbt31168-2014.yaml")
      << "catalog: gbt31168-2014\ntext_zh:\n  gbt31168.ac.no-such: x\n";
  set = LoadCatalogDirectory(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.error().message, HasSubstr("licensed/gbt31168-2014.yaml: text overrides line 3"));
}

TEST(Oscal, ControlsCarryResponsibilityAndText) {
  auto c = Load(Base());
  ASSERT_TRUE(c.ok());
  const Json control = ToOscalCatalog(*c)["catalog"]["groups"][0]["controls"][0];
  EXPECT_EQ(control["id"], "g1.a");
  EXPECT_EQ(control["parts"][0]["name"], "statement");
  EXPECT_EQ(control["parts"][0]["prose"], "A text");
  EXPECT_EQ(control["parts"][1]["prose"], "甲文");
  std::vector<std::string> resp;
  for (const auto& p : control["props"])
    if (p["name"] == "responsibility") resp.push_back(p["class"].get<std::string>() + "=" + p["value"].get<std::string>());
  EXPECT_EQ(resp, (std::vector<std::string>{"iaas=provider", "saas=shared"}));
}

TEST(Oscal, NameUuidIsRfc4122Version5) {
  // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'cloudpact:catalog:convention-2023'))"
  EXPECT_EQ(NameUuid("cloudpact:catalog:convention-2023"), "ada521b6-d982-5b1a-b34e-fa2fa4e4fdb7");
}

TEST(Oscal, ShippedCatalogsExportValidOscal) {
  auto set = LoadCatalogDirectory(kCatalogs);
  ASSERT_TRUE(set.ok()) << set.error().message;
  for (const auto& c : set->catalogs) {
    Json doc = ToOscalCatalog(c);
    EXPECT_EQ(doc.dump(), ToOscalCatalog(c).dump()) << "export is not deterministic";
    EXPECT_EQ(doc["catalog"]["uuid"], NameUuid("cloudpact:catalog:" + c.id));
    EXPECT_EQ(doc["catalog"]["metadata"]["oscal-version"], "1.1.2");
    EXPECT_EQ(ValidateOscal(doc, c.id), 0) << c.id;
  }
}

TEST(Oscal, BrokenExportFailsValidation) {
  auto c = Load(Base());
  ASSERT_TRUE(c.ok());
  Json doc = ToOscalCatalog(*c);
  ASSERT_EQ(ValidateOscal(doc, "base"), 0);
  Json bad_id = doc;
  bad_id["catalog"]["groups"][0]["controls"][0]["id"] = "5.1 bad";
  EXPECT_EQ(ValidateOscal(bad_id, "bad-id"), 1);
  Json bad_uuid = doc;
  bad_uuid["catalog"]["uuid"] = "not-a-uuid";
  EXPECT_EQ(ValidateOscal(bad_uuid, "bad-uuid"), 1);
  Json extra = doc;
  extra["catalog"]["metadata"]["colour"] = "red";
  EXPECT_EQ(ValidateOscal(extra, "extra"), 1);
}

}  // namespace
}  // namespace cloudpact::assess
