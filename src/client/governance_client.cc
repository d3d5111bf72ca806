#include "client/governance_client.h"

#include <chrono>
#include <iostream>

#include "access/access.h"
#include "access/tenant_audit.h"
#include "client/http_call.h"
#include "core/encoding.h"
#include "core/files.h"
#include "core/json.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "crypto/sha256.h"
#include "ledger/verifier.h"

namespace cloudpact::client {
namespace {

std::string Join(const Json& list, const char* sep = ", ") {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : sep) + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

void PrintRequest(const Json& r) {
  std::cout << r.value("id", "") << "  [" << r.value("state", "") << "]" << (r.value("break_glass", false) ? "  BREAK-GLASS" : "")
            << "\n  申请人 requester:   " << r.value("requester", "")
            << "\n  资源 resources:     " << Join(r["resources"]) << "\n  操作 actions:       " << Join(r["actions"])
            << "\n  事由 reason:        " << r.value("reason", "") << "  ticket " << r.value("ticket", "")
            << "\n  说明 justification: " << r.value("justification", "(hidden)")
            << "\n  时长 duration:      " << r.value("duration_seconds", 0) << " s";
  if (r.value("state", "") == "pending") std::cout << "\n  审批截止 decide by: " << TimeText(r.value("decide_by", int64_t{0}));
  if (r.value("granted", int64_t{0}) > 0) {
    std::cout << "\n  授权 granted:       " << TimeText(r.value("granted", int64_t{0})) << " until "
              << TimeText(r.value("grant_expires", int64_t{0}));
  }
  std::cout << "\n  规则 rules:         ";
  for (const auto& q : r["requirements"]) {
    std::cout << q.value("rule", "") << " (" << q.value("approvals", 1) << " of " << (q["approver_roles"].empty() ? "reviewers" : Join(q["approver_roles"], "/"))
              << ", " << q.value("distinct_organisations", 1) << " orgs)  ";
  }
  if (!r["tenants_required"].empty()) std::cout << "\n  租户签名 tenant signatures: " << Join(r["tenants_required"]);
  for (const auto& v : r["reviews"]) {
    std::cout << "\n  - " << v.value("decision", "") << " by " << v.value("reviewer", "") << " (" << v.value("organisation", "") << ")"
              << (v.contains("signature") ? " signed" : "") << (v.value("comment", "").empty() ? "" : ": " + v.value("comment", ""));
  }
  std::cout << "\n  摘要 digest:        " << r.value("digest", "") << "\n";
  if (r.contains("you_may_not_review_because")) std::cout << "  (you may not review: " << r.value("you_may_not_review_because", "") << ")\n";
}

}  // namespace

int Apply(const Context& c, const std::string& file) {
  auto text = ReadFile(file);
  if (!text.ok()) { std::cerr << "error: " << text.error().message << "\n"; return 2; }
  return Print(c, Call(c, "POST", "/v1/directory/apply", *text, std::chrono::milliseconds(30000), "application/yaml"), [](const Json& j) {
    std::cout << "applied: " << j.value("created", 0) << " created, " << j.value("updated", 0) << " updated, "
              << j.value("unchanged", 0) << " unchanged; " << j["ledger_indexes"].size() << " ledger entries\n";
  });
}

int PolicyPropose(const Context& c, const std::string& file) {
  auto text = ReadFile(file);
  if (!text.ok()) { std::cerr << "error: " << text.error().message << "\n"; return 2; }
  return Print(c, Call(c, "POST", "/v1/policy", *text, std::chrono::milliseconds(30000), "application/yaml"), [](const Json& j) {
    std::cout << "policy version " << j.value("version", 0) << " is " << j.value("state", "")
              << (j.value("state", "") == "proposed" ? " — a second security admin must approve it" : "") << "\n";
  });
}

int PolicyDecide(const Context& c, int64_t version, bool approve, const std::string& reason) {
  Json body = Json::object();
  if (!reason.empty()) body["reason"] = reason;
  return Print(c, Call(c, "POST", "/v1/policy/" + std::to_string(version) + (approve ? "/approve" : "/reject"), body.dump()),
               [](const Json& j) { std::cout << "policy version " << j.value("version", 0) << " is " << j.value("state", "") << "\n"; });
}

int PolicyList(const Context& c) {
  return Print(c, Call(c, "GET", "/v1/policy"), [](const Json& j) {
    std::cout << "in force: version " << j.value("in_force", 0) << "\n";
    for (const auto& v : j["versions"]) {
      std::cout << "  v" << v.value("version", 0) << "  " << v.value("state", "") << "  by " << v.value("proposed_by", "")
                << (v.value("approved_by", "").empty() ? "" : ", approved by " + v.value("approved_by", "")) << "  sha256 "
                << v.value("sha256", "").substr(0, 16) << "…\n";
    }
  });
}

int AccessRequest(const Context& c, const RequestArgs& a, bool break_glass) {
  Json body = {{"resources", a.resources}, {"actions", a.actions}, {"reason", a.reason},
               {"justification", a.justification}, {"ticket", a.ticket}};
  if (a.duration_seconds) body["duration_seconds"] = a.duration_seconds;
  return Print(c, Call(c, "POST", break_glass ? "/v1/access/breakglass" : "/v1/access/requests", body.dump()), PrintRequest);
}

int AccessList(const Context& c, const std::string& state, bool reviewable) {
  std::string q = "?limit=1000";
  if (!state.empty()) q += "&state=" + state;
  if (reviewable) q += "&reviewable=true";
  return Print(c, Call(c, "GET", "/v1/access/requests" + q), [](const Json& j) {
    if (j["items"].empty()) std::cout << "(none)\n";
    for (const auto& r : j["items"]) {
      std::cout << r.value("id", "") << "  " << r.value("state", "") << "  " << r.value("requester", "") << "  "
                << Join(r["actions"]) << " on " << Join(r["resources"]) << "  (" << r.value("reason", "") << ")\n";
    }
  });
}

int AccessShow(const Context& c, const std::string& id) {
  return Print(c, Call(c, "GET", "/v1/access/requests/" + id), PrintRequest);
}

int AccessReview(const Context& c, const std::string& id, const std::string& decision, const std::string& comment,
                 const std::string& key_file) {
  Json body = {{"decision", decision}, {"comment", comment}};
  if (!key_file.empty()) {
    auto seed_text = ReadFile(key_file);
    if (!seed_text.ok()) { std::cerr << "error: " << seed_text.error().message << "\n"; return 2; }
    std::string t = *seed_text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    auto seed = Base64Decode(t);
    auto key = seed.ok() ? crypto::Ed25519PrivateKey::FromSeed(*seed) : Result<crypto::Ed25519PrivateKey>(seed.error());
    if (!key.ok()) { std::cerr << "error: " << key_file << ": not a base64 Ed25519 seed\n"; return 2; }
    // Sign only what we computed ourselves: the digest of the canonical request as shown.
    auto req = Call(c, "GET", "/v1/access/requests/" + id);
    if (!req) return 1;
    std::string canonical = req->value("canonical", "");
    auto parsed = ParseJson(canonical);
    auto recanon = parsed.ok() ? CanonicalJson(*parsed) : Result<std::string>(parsed.error());
    std::string digest = HexEncode(crypto::AsBytes(crypto::Sha256(canonical)));
    if (!recanon.ok() || *recanon != canonical || digest != req->value("digest", "")) {
      std::cerr << "error: the server's canonical request does not match its digest; refusing to sign\n";
      return 1;
    }
    const Json& shown = *parsed;
    std::cout << "signing " << decision << " of " << shown.value("requester", "") << ": " << Join(shown["actions"]) << " on "
              << Join(shown["resources"]) << " for " << shown.value("duration_seconds", 0) << " s (" << shown.value("reason", "")
              << ")\n";
    body["signature"] = Base64Encode(key->Sign(access::ReviewMessage(decision, digest)));
  }
  return Print(c, Call(c, "POST", "/v1/access/requests/" + id + "/reviews", body.dump()), PrintRequest);
}

int AccessRevoke(const Context& c, const std::string& id, const std::string& reason) {
  return Print(c, Call(c, "POST", "/v1/access/requests/" + id + "/revoke", Json{{"reason", reason}}.dump()), PrintRequest);
}

int AuthzCheck(const Context& c, const std::string& principal, const std::string& action, const std::string& resource) {
  auto j = Call(c, "POST", "/v1/authz/check", Json{{"principal", principal}, {"action", action}, {"resource", resource}}.dump());
  if (!j) return 1;
  if (c.json) std::cout << j->dump(2) << "\n";
  else std::cout << ((*j)["allow"].get<bool>() ? "ALLOW" : "DENY") << "  " << j->value("reason", "") << "\n";
  return (*j)["allow"].get<bool>() ? 0 : 1;
}

int Posture(const Context& c) {
  return Print(c, Call(c, "GET", "/v1/posture"), [](const Json& p) {
    std::cout << "特权态势 / privilege posture (policy v" << p.value("policy_version", 0) << ")\n";
    std::cout << "常设特权账号 standing privileged accounts: " << p["standing_privileged"]["accounts"].size() << "\n";
    for (const auto& [k, v] : p["standing_privileged"]["by_platform"].items()) std::cout << "  platform " << k << ": " << v << "\n";
    for (const auto& [k, v] : p["standing_privileged"]["by_organisation"].items()) std::cout << "  organisation " << k << ": " << v << "\n";
    std::cout << "休眠特权账号 dormant privileged accounts: " << p["dormant_privileged"].size() << "\n";
    for (const auto& d : p["dormant_privileged"]) std::cout << "  " << d.value("staff", "") << " (" << d.value("organisation", "") << ")\n";
    std::cout << "职责分离冲突 SoD conflicts: " << p["sod_conflicts"].size() << "\n";
    for (const char* k : {"internal", "outsourced"}) {
      const Json& x = p["parity"][k];
      std::cout << (std::string(k) == "internal" ? "内部 internal:   " : "外包 outsourced: ") << x.value("staff", 0) << " staff, "
                << x.value("privileged", 0) << " privileged, " << x.value("standing_privileged", 0) << " standing\n";
    }
    std::cout << "内外差异 policy differences internal/outsourced: " << p["parity"]["differences"].size() << "\n";
    for (const auto& d : p["parity"]["differences"]) {
      std::cout << "  " << d.value("kind", "") << " " << d.value("name", "") << " applies to " << d.value("applies_to", "") << " only (line "
                << d.value("line", 0) << ")\n";
    }
    std::cout << "待复核紧急访问 break-glass awaiting review: " << p["break_glass_awaiting_review"].size() << "\n";
    for (const auto& b : p["break_glass_awaiting_review"]) {
      std::cout << "  " << b.value("request_id", "") << " by " << b.value("requester", "") << (b.value("overdue", false) ? "  OVERDUE" : "") << "\n";
    }
    std::cout << "active grants " << p.value("active_grants", 0) << ", pending requests " << p.value("pending_requests", 0) << "\n";
  });
}

int TenantKeygen(const std::string& key_file) {
  auto key = crypto::Ed25519PrivateKey::Generate();
  if (auto st = WriteFileAtomic(key_file, Base64Encode(key.seed()) + "\n"); !st.ok()) {
    std::cerr << "error: " << st.error().message << "\n";
    return 1;
  }
  std::cout << Base64Encode(key.public_key()) << "\n";
  return 0;
}

int TenantVerify(const std::string& ledger_url, const std::string& vkey, const std::string& tenant,
                 const std::vector<std::string>& pinned_keys, bool json) {
  auto verifier = crypto::NoteVerifier::Parse(vkey);
  if (!verifier.ok()) { std::cerr << "error: --key: " << verifier.error().message << "\n"; return 2; }
  auto source = ledger::HttpTileSource(ledger_url);
  if (!source.ok()) { std::cerr << "error: " << source.error().message << "\n"; return 2; }
  access::TenantAuditor auditor(tenant, verifier->name(), pinned_keys);
  ledger::VerifyOptions options;
  options.incremental = false;
  options.on_entry = [&](uint64_t index, std::string_view entry) { auditor.Add(index, entry); };
  auto report = ledger::VerifyLog(**source, *verifier, options);
  if (!report.ok()) {
    std::cout << "VERIFICATION FAILED: the log itself does not verify: " << report.error().message << "\n";
    return 1;
  }
  access::TenantAuditReport audit = auditor.Finish();
  if (json) {
    Json out = {{"tenant", tenant}, {"tree_size", report->checkpoint.size}, {"uses", audit.uses},
                {"problems", audit.problems}, {"approver_keys", audit.approver_keys}};
    Json list = Json::array();
    for (const auto& a : audit.accesses) {
      list.push_back({{"index", a.index}, {"type", a.type}, {"request_id", a.request_id}, {"requester", a.requester},
                      {"resources", a.resources}, {"actions", a.actions}, {"reason", a.reason}, {"granted", a.granted},
                      {"expires", a.expires}, {"approvers", a.approvers}, {"tenant_signers", a.tenant_signers},
                      {"tenant_data", a.tenant_data}, {"ok", a.ok}});
    }
    out["accesses"] = list;
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "log " << verifier->name() << " verified: " << report->checkpoint.size << " entries under a signed checkpoint\n";
    std::cout << "租户 tenant " << tenant << ": " << audit.accesses.size() << " grants on its resources, " << audit.uses << " recorded uses\n";
    for (const auto& a : audit.accesses) {
      std::cout << (a.ok ? "  ok   " : "  FAIL ") << "#" << a.index << " " << a.type << " " << a.request_id << "  " << a.requester << ": ";
      for (const auto& x : a.actions) std::cout << x << " ";
      std::cout << "on ";
      for (const auto& x : a.resources) std::cout << x << " ";
      std::cout << "(" << a.reason << ") " << TimeText(a.granted) << " → " << TimeText(a.expires);
      if (!a.tenant_signers.empty()) { std::cout << "  signed by"; for (const auto& s : a.tenant_signers) std::cout << " " << s; }
      if (!a.approvers.empty()) { std::cout << "  approved by"; for (const auto& s : a.approvers) std::cout << " " << s; }
      std::cout << "\n";
    }
    for (const auto& p : audit.problems) std::cout << "PROBLEM: " << p << "\n";
    std::cout << (audit.problems.empty() ? "TENANT VERIFIED\n" : "TENANT VERIFICATION FAILED\n");
  }
  return audit.problems.empty() ? 0 : 1;
}

}  // namespace cloudpact::client
