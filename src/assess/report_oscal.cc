// OSCAL 1.1.2 assessment-results of a run (docs/REPORTS.md), valid against NIST's
// oscal_assessment-results_schema.json (tests/data/oscal/).
#include <map>
#include <set>

#include "assess/oscal.h"
#include "assess/report.h"

namespace cloudpact::assess {
namespace {

using namespace report_detail;  // NOLINT: the report files' shared helpers

// OSCAL strings (prop values, and what we put in titles) are one line without leading or
// trailing space; data from checks may break either rule.
std::string OneLine(std::string_view s, std::string_view fallback = "-") {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' ? ' ' : c);
  const size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return std::string(fallback);
  const size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

Json Prop(std::string_view name, std::string_view value) {
  return {{"name", name}, {"value", OneLine(value)}, {"ns", kOscalNamespace}};
}

class Builder {
 public:
  Builder(const Run& run, const OscalOptions& options) : run_(run), options_(options), index_(run) {}

  Json Build() {
    const std::string finished = UnixToRfc3339(run_.finished_unix);
    Json metadata = {{"title", "cloudpact assessment results: " + run_.id},
                     {"last-modified", finished},
                     {"version", run_.id},
                     {"oscal-version", "1.1.2"},
                     {"props", RunProps()}};
    metadata["props"].push_back(Prop("title-zh", "cloudpact 评估结果：" + run_.id));
    Json ar = {{"uuid", Uuid("assessment-results")},
               {"metadata", std::move(metadata)},
               {"import-ap",
                {{"href", "#" + Uuid("assessment-plan")},
                 {"remarks",
                  "cloudpact keeps no separate assessment plan: the catalogs in scope, the checks and the run's "
                  "filters (back-matter) define what was assessed."}}},
               {"results", Json::array({RunResult()})},
               {"back-matter", BackMatter()}};
    return {{"assessment-results", std::move(ar)}};
  }

 private:
  std::string Uuid(std::string_view element) const {
    return NameUuid("cloudpact:run:" + run_.id + ":" + std::string(element));
  }

  Json RunProps() const {
    Json p = Json::array();
    p.push_back(Prop("run-id", run_.id));
    p.push_back(Prop("digest", run_.digest.empty() ? "-" : run_.digest));
    p.push_back(Prop("ledgered", run_.ledgered ? "true" : "false"));
    if (run_.ledgered) p.push_back(Prop("ledger-index", std::to_string(run_.ledger_index)));
    p.push_back(Prop("verify-command", VerifyCommand(run_)));
    return p;
  }

  Json Origins() const {
    return Json::array({{{"actors", Json::array({{{"type", "tool"}, {"actor-uuid", Uuid("tool")}}})}}});
  }

  Json Subject(const CheckResult& r) {
    const std::string uuid = Uuid("resource:" + r.resource);
    if (!inventory_.count(r.resource)) {
      Json props = Json::array({Prop("resource-uid", r.resource)});
      if (!r.resource_type.empty()) props.push_back(Prop("resource-type", r.resource_type));
      if (!r.platform.empty()) props.push_back(Prop("platform", r.platform));
      if (!r.tenant.empty()) props.push_back(Prop("tenant", r.tenant));
      if (!r.resource_name.empty()) props.push_back(Prop("resource-name", r.resource_name));
      inventory_[r.resource] = {{"uuid", uuid}, {"description", "Inventory resource " + r.resource}, {"props", props}};
    }
    return {{"subject-uuid", uuid}, {"type", "inventory-item"}, {"props", Json::array({Prop("resource-uid", r.resource)})}};
  }

  Json ResultObservation(const CheckResult& r) {
    const Check* c = FindCheck(run_, r.check);
    Json props = Json::array({Prop("result-id", r.id), Prop("check", r.check), Prop("status", StatusName(r.status)),
                              Prop("severity", SeverityText(c ? c->severity : Severity::kCritical))});
    if (!r.exception_id.empty() && r.status == ResultStatus::kFail) props.push_back(Prop("muted-by", r.exception_id));
    Json o = {{"uuid", Uuid("observation:" + r.id)},
              {"title", OneLine(r.check + " " + std::string(StatusName(r.status)) + ": " + r.resource)},
              {"description", r.reason.empty() ? std::string(StatusName(r.status)) : r.reason},
              {"props", std::move(props)},
              {"methods", Json::array({"TEST"})},
              {"types", Json::array({"finding"})},
              {"origins", Origins()},
              {"collected", UnixToRfc3339(run_.finished_unix)}};
    if (!r.resource.empty()) o["subjects"] = Json::array({Subject(r)});
    return o;
  }

  // Observations for the run's results, bounded per check; fills by_check_ with their UUIDs.
  Json Observations() {
    Json obs = Json::array();
    std::map<std::string, std::pair<uint64_t, uint64_t>> rest;  // check -> (fail, error) not listed
    std::map<std::string, size_t> listed;
    for (const auto& r : run_.results) {
      if (!IsFailing(r.status)) continue;
      size_t& n = listed[r.check];
      if (n < options_.max_observations_per_check) {
        ++n;
        Json o = ResultObservation(r);
        by_check_[r.check].push_back(o["uuid"].get<std::string>());
        obs.push_back(std::move(o));
      } else {
        auto& [f, e] = rest[r.check];
        (r.status == ResultStatus::kFail ? f : e)++;
      }
    }
    for (const auto& [check, counts] : rest) {
      const std::string uuid = Uuid("observation:aggregate:" + check);
      obs.push_back({{"uuid", uuid},
                     {"title", OneLine(check + ": further results not listed")},
                     {"description",
                      std::to_string(counts.first) + " further FAIL and " + std::to_string(counts.second) +
                          " further ERROR results of check " + check +
                          " are not listed individually. The CSV and OCSF exports of this run list every result, and "
                          "the run digest covers them all."},
                     {"props", Json::array({Prop("check", check), Prop("aggregate-fail", std::to_string(counts.first)),
                                            Prop("aggregate-error", std::to_string(counts.second))})},
                     {"methods", Json::array({"TEST"})},
                     {"types", Json::array({"finding"})},
                     {"origins", Origins()},
                     {"collected", UnixToRfc3339(run_.finished_unix)}});
      by_check_[check].push_back(uuid);
    }
    for (const auto& [check, s] : run_.checks) {
      if (s.error_message.empty()) continue;
      const std::string uuid = Uuid("observation:check-error:" + check);
      obs.push_back({{"uuid", uuid},
                     {"title", OneLine(check + ": the check could not run")},
                     {"description", s.error_message},
                     {"props", Json::array({Prop("check", check), Prop("status", "ERROR")})},
                     {"methods", Json::array({"TEST"})},
                     {"types", Json::array({"finding"})},
                     {"origins", Origins()},
                     {"collected", UnixToRfc3339(run_.finished_unix)}});
      by_check_[check].push_back(uuid);
    }
    for (const auto& a : run_.attestations) {
      const std::string uuid = Uuid("observation:attestation:" + a.id);
      Json props = Json::array({Prop("attestation-id", a.id), Prop("requirement", a.catalog + "/" + a.requirement),
                                Prop("owner", a.owner), Prop("approver", a.approver),
                                Prop("expires", UnixToRfc3339(a.expires_unix))});
      Json o = {{"uuid", uuid},
                {"title", OneLine("Attestation " + a.id + " for " + a.catalog + "/" + a.requirement)},
                {"description", a.statement.empty() ? std::string("Attested.") : a.statement},
                {"props", std::move(props)},
                {"methods", Json::array({"EXAMINE"})},
                {"types", Json::array({"control-objective"})},
                {"collected", UnixToRfc3339(a.created_unix)},
                {"expires", UnixToRfc3339(a.expires_unix)}};
      if (!a.evidence.empty()) {
        Json ev = Json::array();
        for (const auto& f : a.evidence)
          ev.push_back({{"description", "Evidence file " + f.name + " (SHA-256 " + f.sha256 + ")"},
                        {"props", Json::array({Prop("file", f.name), Prop("sha256", f.sha256)})}});
        o["relevant-evidence"] = std::move(ev);
      }
      by_attestation_[a.id] = uuid;
      obs.push_back(std::move(o));
    }
    return obs;
  }

  Json Risks() {
    Json risks = Json::array();
    for (const auto& x : run_.exceptions) {
      const std::string uuid = Uuid("risk:exception:" + x.id);
      risks.push_back(
          {{"uuid", uuid},
           {"title", OneLine("Exception " + x.id + ": " + x.check + " on " + x.resource)},
           {"description", x.reason.empty() ? std::string("Approved exception.") : x.reason},
           {"statement", "Failures of check " + x.check + " on " +
                             (x.resource == "*" ? std::string("every resource") : "resource " + x.resource) +
                             " are muted until the exception expires; they stay FAIL in every export."},
           {"props", Json::array({Prop("exception-id", x.id), Prop("check", x.check), Prop("resource", x.resource),
                                  Prop("owner", x.owner), Prop("approver", x.approver)})},
           {"status", "deviation-approved"},
           {"deadline", UnixToRfc3339(x.expires_unix)}});
      risks_by_check_[x.check].push_back(uuid);
    }
    return risks;
  }

  Json Finding(const RequirementResult& q) {
    const Requirement& req = *q.requirement;
    const std::string key = RequirementKey(q);
    const bool satisfied = q.status == ResultStatus::kPass || q.status == ResultStatus::kNotApplicable;
    std::string_view reason = q.status == ResultStatus::kPass   ? "pass"
                              : q.status == ResultStatus::kFail ? "fail"
                                                                : "other";
    std::string remarks;
    switch (q.status) {
      case ResultStatus::kPass: remarks = "All judged resources passed, or a current attestation covers it."; break;
      case ResultStatus::kFail:
        remarks = std::to_string(q.failed_resources) + " resource(s) failed a check of this requirement.";
        break;
      case ResultStatus::kError: remarks = "A check of this requirement could not run; cloudpact fails closed."; break;
      case ResultStatus::kManual: remarks = "Manual requirement without a current attestation."; break;
      case ResultStatus::kNotApplicable: remarks = "Nothing in scope was judged (not applicable)."; break;
    }
    Json target = {{"type", "objective-id"},
                   {"target-id", req.id},
                   {"props", Json::array({Prop("catalog", q.catalog ? q.catalog->id : "-")})},
                   {"status", {{"state", satisfied ? "satisfied" : "not-satisfied"}, {"reason", reason}}}};
    Json props = Json::array({Prop("requirement", key), Prop("status", StatusName(q.status)),
                              Prop("failed-resources", std::to_string(q.failed_resources)),
                              Prop("assessment", AssessmentName(req.assessment)), Prop("title-zh", req.title_zh)});
    if (q.group) props.push_back(Prop("group", q.group->id));
    Json f = {{"uuid", Uuid("finding:" + key)},
              {"title", OneLine(req.title_en, req.id)},
              {"description", std::string(StatusName(q.status)) + ": " + remarks},
              {"props", std::move(props)},
              {"origins", Origins()},
              {"target", std::move(target)}};
    Json related = Json::array();
    Json risks = Json::array();
    std::set<std::string> seen;
    for (const auto& check : req.checks) {
      if (auto it = by_check_.find(check); it != by_check_.end())
        for (const auto& u : it->second)
          if (seen.insert(u).second) related.push_back({{"observation-uuid", u}});
      if (auto it = risks_by_check_.find(check); it != risks_by_check_.end())
        for (const auto& u : it->second)
          if (seen.insert(u).second) risks.push_back({{"risk-uuid", u}});
    }
    if (q.attestation)
      if (auto it = by_attestation_.find(q.attestation->id); it != by_attestation_.end())
        related.push_back({{"observation-uuid", it->second}});
    if (!related.empty()) f["related-observations"] = std::move(related);
    if (!risks.empty()) f["related-risks"] = std::move(risks);
    return f;
  }

  Json RunResult() {
    Json observations = Observations();
    Json risks = Risks();
    Json findings = Json::array();
    std::map<std::string, Json> selections;  // catalog id -> include-controls
    std::vector<std::string> catalog_order;
    for (const auto& q : run_.requirements) {
      if (!q.requirement) continue;
      findings.push_back(Finding(q));
      const std::string cat = q.catalog ? q.catalog->id : "-";
      if (!selections.count(cat)) {
        catalog_order.push_back(cat);
        selections[cat] = Json::array();
      }
      selections[cat].push_back({{"control-id", q.requirement->id}});
    }
    Json control_selections = Json::array();
    for (const auto& cat : catalog_order)
      control_selections.push_back({{"props", Json::array({Prop("catalog", cat)})},
                                    {"include-controls", std::move(selections[cat])}});
    if (control_selections.empty()) {
      // Nothing in scope: the schema still wants a selection, and an empty include list is
      // not allowed; say so explicitly.
      control_selections.push_back({{"remarks", "No requirement was in scope for this run."}});
    }

    Json props = RunProps();
    props.push_back(Prop("resources", std::to_string(run_.resources)));
    if (!run_.started_by.empty()) props.push_back(Prop("started-by", run_.started_by));
    if (!run_.catalog_filter.empty()) props.push_back(Prop("catalog-filter", run_.catalog_filter));
    if (!run_.platform_filter.empty()) props.push_back(Prop("platform-filter", run_.platform_filter));

    uint64_t pass = 0, fail = 0, other = 0;
    for (const auto& q : run_.requirements)
      (q.status == ResultStatus::kPass ? pass : q.status == ResultStatus::kFail ? fail : other)++;
    Json result = {
        {"uuid", Uuid("result")},
        {"title", "Run " + run_.id},
        {"description", "cloudpact assessment run " + run_.id + " over " + std::to_string(run_.resources) +
                            " resources: " + std::to_string(pass) + " requirements PASS, " + std::to_string(fail) +
                            " FAIL, " + std::to_string(other) + " ERROR, MANUAL or NOT_APPLICABLE. Verify the run's "
                            "digest against the ledger with `" + VerifyCommand(run_) + "`."},
        {"start", UnixToRfc3339(run_.started_unix)},
        {"end", UnixToRfc3339(run_.finished_unix)},
        {"props", std::move(props)},
        {"local-definitions", {{"components", Json::array({Tool()})}}},
        {"reviewed-controls",
         {{"description", "The requirements of the catalogs in scope (each selection's catalog prop names it)."},
          {"control-selections", std::move(control_selections)}}}};
    if (!inventory_.empty()) {
      Json items = Json::array();
      for (auto& [uid, item] : inventory_) items.push_back(std::move(item));
      result["local-definitions"]["inventory-items"] = std::move(items);
    }
    if (!observations.empty()) result["observations"] = std::move(observations);
    if (!risks.empty()) result["risks"] = std::move(risks);
    if (!findings.empty()) result["findings"] = std::move(findings);
    return result;
  }

  Json Tool() const {
    return {{"uuid", Uuid("tool")},
            {"type", "software"},
            {"title", "cloudpact"},
            {"description", "cloudpact assess: SQL checks over the normalized inventory and cloudpact's own evidence."},
            {"status", {{"state", "operational"}}}};
  }

  Json BackMatter() const {
    Json resources = Json::array();
    Json plan_props = Json::array({Prop("catalog-filter", run_.catalog_filter.empty() ? "*" : run_.catalog_filter),
                                   Prop("platform-filter", run_.platform_filter.empty() ? "*" : run_.platform_filter)});
    resources.push_back({{"uuid", Uuid("assessment-plan")},
                         {"title", "Implicit assessment plan of run " + run_.id},
                         {"description", "The catalogs below, the checks they name and the run's filters."},
                         {"props", std::move(plan_props)}});
    std::set<const Catalog*> seen;
    for (const auto& q : run_.requirements) {
      if (!q.catalog || !seen.insert(q.catalog).second) continue;
      const Catalog& c = *q.catalog;
      resources.push_back(
          {{"uuid", Uuid("catalog:" + c.id)},
           {"title", c.title_en},
           {"description", c.title_zh},
           {"props", Json::array({Prop("catalog-id", c.id), Prop("catalog-uuid", NameUuid("cloudpact:catalog:" + c.id)),
                                  Prop("version", c.version)})},
           {"citation", {{"text", c.title_en + " (" + c.version + "). Source: " + c.source}}}});
    }
    return {{"resources", std::move(resources)}};
  }

  const Run& run_;
  const OscalOptions& options_;
  CheckRequirements index_;
  std::map<std::string, Json> inventory_;  // resource uid -> inventory item
  std::map<std::string, std::vector<std::string>> by_check_, risks_by_check_;
  std::map<std::string, std::string> by_attestation_;
};

}  // namespace

Json ToOscalAssessmentResults(const Run& run, const CatalogSet& /*catalogs*/, const OscalOptions& options) {
  return Builder(run, options).Build();
}

}  // namespace cloudpact::assess
