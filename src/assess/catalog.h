// Catalogs as data (issue 6): the convention's articles and the national standards' control
// points, each broken into checkable requirements, loaded from YAML files in catalogs/
// without rebuilding (format: docs/CATALOGS.md), plus mappings between catalogs.
//
// Loading checks shape (unknown keys, types, enums, id syntax) and names the line and JSON
// Pointer of every problem; CheckIntegrity checks what only the whole set can tell (unique
// ids, every requirement automated-with-checks or manual, responsibility per service model,
// mappings that point at requirements that exist).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/yaml.h"

namespace cloudpact::assess {

enum class ServiceModel { kIaas, kPaas, kSaas };
enum class Responsibility { kProvider, kCustomer, kShared };
enum class Assessment { kAutomated, kManual };
enum class Level { kNone, kGeneral, kEnhanced };  // kNone: the catalog has no levels

std::string_view ServiceModelName(ServiceModel m);        // "iaas", "paas", "saas"
std::string_view ResponsibilityName(Responsibility r);    // "provider", "customer", "shared"
std::string_view AssessmentName(Assessment a);            // "automated", "manual"
std::string_view LevelName(Level l);                      // "", "general", "enhanced"

// Where an element came from, for messages: 1-based line (0 if unknown) and JSON Pointer.
struct SourcePos {
  int line = 0;
  std::string pointer;
};

struct Requirement {
  std::string id;  // unique within its catalog; [A-Za-z_][A-Za-z0-9._-]* (an OSCAL token)
  std::string title_zh, title_en;
  // cloudpact's summaries, not the standards' official text, unless a licensed override
  // replaced them (ApplyTextOverrides).
  std::string text_zh, text_en;
  std::vector<ServiceModel> service_models;
  std::map<ServiceModel, Responsibility> responsibility;
  Assessment assessment = Assessment::kManual;
  std::vector<std::string> checks;  // ids of checks (future SQL); empty for manual
  Level level = Level::kNone;
  SourcePos pos;
};

struct Group {
  std::string id;
  std::string title_zh, title_en;
  std::vector<Requirement> requirements;  // may be empty (a skeleton family)
  SourcePos pos;
};

struct Catalog {
  std::string id;  // e.g. "convention-2023"
  std::string title_zh, title_en;
  std::string version;
  std::string source;         // where the catalog's content comes from
  std::string last_modified;  // RFC 3339 with zone; makes exports reproducible
  std::vector<Group> groups;

  // The requirement with this id, or nullptr.
  const Requirement* Find(const std::string& requirement_id) const;
};

struct RequirementRef {
  std::string catalog;
  std::string requirement;
};

// One requirement mapped to the requirements of another catalog that cover it.
struct Mapping {
  RequirementRef from;
  std::vector<RequirementRef> to;
  std::string source;  // who made the mapping, e.g. "cloudpact analysis, 2026"
  SourcePos pos;
};

// Parses one catalog document. Errors are kInvalidArgument: "catalog line N (/pointer): …".
Result<Catalog> LoadCatalog(const YamlDocument& doc);

// Parses a mappings document (`mappings: [{from: CAT/ID, to: [CAT/ID…], source: …}]`).
Result<std::vector<Mapping>> LoadMappings(const YamlDocument& doc);

// Replaces requirement texts with those of a licensed override document:
//   catalog: gbt31168-2014
//   text_zh: {REQUIREMENT-ID: "…official text…"}
//   text_en: {…}                                    # optional
// A document for another catalog, or an id the catalog lacks, is an error with its line.
Status ApplyTextOverrides(Catalog& catalog, const YamlDocument& overrides);

// Whole-set checks; the first problem found, naming the catalog and line.
Status CheckIntegrity(const std::vector<Catalog>& catalogs, const std::vector<Mapping>& mappings);

struct CatalogSet {
  std::vector<Catalog> catalogs;
  std::vector<Mapping> mappings;
};

// Loads every *.yaml in `dir` (mappings.yaml holds the mappings), then, for each catalog C,
// `dir/licensed/C.yaml` if present (ApplyTextOverrides), then CheckIntegrity. Messages name
// the file.
Result<CatalogSet> LoadCatalogDirectory(const std::filesystem::path& dir);

// Where catalogs are read from unless a flag says otherwise: $CLOUDPACT_CATALOGS, else
// share/cloudpact/catalogs next to the installed binary, else the source tree's catalogs/
// (what a build from a checkout runs with).
std::filesystem::path DefaultCatalogDir();

}  // namespace cloudpact::assess
