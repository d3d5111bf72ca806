#include "server/assess_state.h"

#include <map>
#include <set>

#include "core/time.h"

namespace cloudpact::server {
namespace {

using assess::Resource;
using storage::SqlValue;

Resource Own(const std::string& type, const std::string& id, const std::string& name, const std::string& tenant,
             int64_t now) {
  Resource r;
  r.platform = kOwnPlatform;
  r.type = type;
  r.native_type = type;
  r.uid = std::string(kOwnPlatform) + "/" + type + "/" + id;
  r.name = name;
  r.tenant = tenant;
  r.collected_unix = now;
  return r;
}

SqlValue B(bool v) { return int64_t{v ? 1 : 0}; }
SqlValue I(int64_t v) { return v; }
SqlValue S(std::string v) { return SqlValue(std::move(v)); }

// Size of the signed checkpoint and whether a witness cosigned it: a note carries one
// signature line ("— name sig") per signer, the log's own first.
void CheckpointFacts(const std::string& note, int64_t* size, bool* cosigned) {
  *size = -1;
  *cosigned = false;
  size_t a = note.find('\n');
  size_t b = a == std::string::npos ? a : note.find('\n', a + 1);
  if (b != std::string::npos) {
    try {
      *size = std::stoll(note.substr(a + 1, b - a - 1));
    } catch (...) {
      *size = -1;
    }
  }
  int sigs = 0;
  size_t pos = 0;
  while ((pos = note.find("\n\xE2\x80\x94 ", pos)) != std::string::npos) {
    ++sigs;
    ++pos;
  }
  *cosigned = sigs > 1;
}

}  // namespace

Status RefreshOwnState(const OwnStateSources& s, const std::string& actor) {
  const int64_t now = UnixSeconds(SystemNow());
  auto snap = s.directory.snapshot();
  assess::ImportResult in;
  auto& out = in.resources;

  // The ledger: one row that also stands for "cloudpact" in aggregate checks.
  {
    Resource r = Own("cp_ledger", "ledger", "ledger", "", now);
    int64_t size = 0;
    bool cosigned = false;
    CheckpointFacts(s.ledger.CheckpointNote(), &size, &cosigned);
    r.attrs["size"] = I(static_cast<int64_t>(s.ledger.Size()));
    r.attrs["witnesses"] = I(static_cast<int64_t>(s.witnesses));
    if (cosigned && size >= 0) r.attrs["cosigned_size"] = I(size);
    out.push_back(std::move(r));
  }

  // Staff: standing privileged roles from the posture, access reviews from campaigns.
  std::map<std::string, int64_t> standing;
  {
    Json posture = s.access.Posture();
    for (const auto& a : posture["standing_privileged"]["accounts"]) {
      standing[a.value("staff", "")] = static_cast<int64_t>(a.value("roles", Json::array()).size());
    }
  }
  std::map<std::string, int64_t> reviewed;
  for (const auto& c : s.access.Campaigns()) {
    for (const auto& item : c.items) {
      if (!item.decision.empty()) reviewed[item.staff] = std::max(reviewed[item.staff], item.decided);
    }
  }
  for (const auto& [id, st] : snap->staff) {
    if (st.disabled) continue;
    Resource r = Own("cp_staff", id, st.name.empty() ? id : st.name, "", now);
    r.attrs["kind"] = S(st.kind == directory::StaffKind::kOutsourced ? "outsourced" : "employee");
    r.attrs["organisation"] = S(st.organisation);
    r.attrs["standing_privileged"] = I(standing.count(id) ? standing[id] : 0);
    r.attrs["mfa"] = B(s.access.MfaRequired(id));
    if (reviewed.count(id)) r.attrs["last_access_review_unix"] = I(reviewed[id]);
    out.push_back(std::move(r));
  }

  // Grants: every request, with its approvals against what its rules required.
  for (const auto& req : s.access.List({})) {
    std::set<std::string> tenants = {req.tenants_required.begin(), req.tenants_required.end()};
    std::set<std::string> signed_by;
    int64_t approvals = 0, required = 0;
    bool self = false;
    for (const auto& rv : req.reviews) {
      if (rv.decision != "approve") continue;
      if (rv.reviewer == req.requester) self = true;
      if (rv.reviewer_kind == "approver") {
        signed_by.insert(rv.tenant);
      } else {
        ++approvals;
      }
    }
    for (const auto& q : req.requirements) required = std::max<int64_t>(required, q.approvals);
    int64_t tenants_approved = 0;
    for (const auto& t : tenants) tenants_approved += signed_by.count(t);
    // The first tenant the request touches, so that tenant reports show their grants.
    Resource r = Own("cp_grant", req.id, req.id, req.tenants_required.empty() ? "" : req.tenants_required.front(), now);
    r.attrs["staff"] = S(req.requester);
    r.attrs["state"] = S(req.state == access::State::kActive ? "approved" : std::string(access::StateName(req.state)));
    r.attrs["break_glass"] = B(req.break_glass);
    r.attrs["approvals"] = I(approvals);
    r.attrs["approvals_required"] = I(req.break_glass ? 0 : required);
    r.attrs["tenants_required"] = I(static_cast<int64_t>(tenants.size()));
    r.attrs["tenants_approved"] = I(tenants_approved);
    r.attrs["self_approved"] = B(self);
    r.attrs["duration_s"] = I(req.duration_seconds);
    r.attrs["reviewed"] = B(!req.post_review.empty());
    out.push_back(std::move(r));
  }

  // Gateway sessions and targets.
  if (s.gateway) {
    for (const auto& ses : s.gateway->Sessions(false)) {
      if (ses.state == "refused") continue;  // nothing ran: no recording to expect
      Resource r = Own("cp_session", ses.id, ses.id, "", now);
      r.attrs["staff"] = S(ses.operator_id);
      r.attrs["target"] = S(ses.target);
      const bool open = ses.state == "active";
      r.attrs["state"] = S(open ? "open" : (ses.end_reason.find("terminat") != std::string::npos ? "terminated" : "closed"));
      r.attrs["recording_complete"] = B(!open && !ses.recording_sha256.empty() && !ses.ledger_indexes.empty());
      r.attrs["commands"] = I(static_cast<int64_t>(ses.commands.size()));
      out.push_back(std::move(r));
    }
  }
  std::map<std::string, int64_t> resources_by_platform, fronted_by_platform;
  for (const auto& [id, res] : snap->resources) {
    ++resources_by_platform[res.platform];
    if (!res.ssh) continue;
    ++fronted_by_platform[res.platform];
    Resource r = Own("cp_target", id, id, res.tenant, now);
    r.attrs["target_platform"] = S(res.platform);
    r.attrs["host_key_pinned"] = B(!res.ssh->host_key.empty());
    out.push_back(std::move(r));
  }

  // Audit-log sources and the findings correlation raised.
  if (s.pipeline) {
    auto sources = s.pipeline->Sources();
    if (!sources.ok()) return sources.error();
    for (const auto& src : *sources) {
      const std::string name = src.value("name", "");
      Resource r = Own("cp_source", name, name, "", now);
      r.attrs["format"] = S(src.value("formats", Json::array()).dump());
      if (src.contains("updated")) r.attrs["last_event_unix"] = I(src.value("updated", int64_t{0}));
      out.push_back(std::move(r));
    }
    correlation::FindingFilter f;
    f.limit = 1000;
    while (true) {
      auto page = s.pipeline->Findings(f);
      if (!page.ok()) return page.error();
      for (const auto& fd : *page) {
        Resource r = Own("cp_finding", fd.id, fd.kind, fd.tenant, now);
        r.attrs["kind"] = S(fd.kind);
        r.attrs["severity"] = S(fd.severity);
        r.attrs["state"] = S(fd.state);
        r.attrs["principal"] = S(fd.principal);
        r.attrs["time_unix"] = I(fd.time_ms / 1000);
        out.push_back(std::move(r));
      }
      if (page->size() < f.limit) break;
      f.after = page->back().id;
    }
  }

  // Platforms: what the directory knows, the inventory holds, and the runs covered.
  auto counts = s.assessor.InventoryCounts();
  if (!counts.ok()) return counts.error();
  auto imports = s.assessor.Imports();
  if (!imports.ok()) return imports.error();
  auto runs = s.assessor.ListRuns();
  if (!runs.ok()) return runs.error();
  for (const auto& [id, p] : snap->platforms) {
    Resource r = Own("cp_platform", id, p.name.empty() ? id : p.name, "", now);
    r.attrs["resources"] = I(resources_by_platform[id]);
    r.attrs["gateway_fronted"] = I(fronted_by_platform[id]);
    r.attrs["inventory_resources"] = I(counts->count(id) ? static_cast<int64_t>(counts->at(id)) : 0);
    for (const auto& imp : *imports) {  // newest first
      if (imp.platform == id) {
        r.attrs["last_import_unix"] = I(imp.time_unix);
        break;
      }
    }
    for (const auto& run : *runs) {
      if (run.ledgered && (run.platform.empty() || run.platform == id)) {
        r.attrs["last_assessed_unix"] = I(run.finished_unix);
        break;
      }
    }
    out.push_back(std::move(r));
  }

  // Tenants, and when each last read its shared-responsibility report.
  std::map<std::string, int64_t> approvers;
  for (const auto& [id, a] : snap->approvers) ++approvers[a.tenant];
  for (const auto& [id, t] : snap->tenants) {
    Resource r = Own("cp_tenant", id, t.name.empty() ? id : t.name, id, now);
    r.attrs["approvers"] = I(approvers[id]);
    auto rec = s.store.GetRecord(kTenantReportKind, id);
    if (!rec.ok()) return rec.error();
    if (*rec) r.attrs["responsibility_report_unix"] = I((*rec)->updated_unix);
    out.push_back(std::move(r));
  }

  in.covered_types = {"cp_ledger", "cp_staff", "cp_grant", "cp_session", "cp_target", "cp_source",
                       "cp_finding", "cp_platform", "cp_tenant"};
  auto sum = s.assessor.Import(kOwnPlatform, "cloudpact", std::move(in), actor);
  if (!sum.ok()) return sum.error();
  if (sum->problems > 0 && !sum->first_problems.empty()) {
    return MakeError(ErrorCode::kInternal, "cloudpact's own state did not import cleanly: " + sum->first_problems[0].message);
  }
  return OkStatus();
}

}  // namespace cloudpact::server
