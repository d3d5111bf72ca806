#include "access/tenant_audit.h"

#include "access/access.h"
#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace cloudpact::access {

TenantAuditor::TenantAuditor(std::string tenant, std::string log_origin, std::vector<std::string> pinned_keys)
    : tenant_(std::move(tenant)), origin_(std::move(log_origin)), pinned_(pinned_keys.begin(), pinned_keys.end()) {}

void TenantAuditor::Add(uint64_t index, std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_object()) return;  // not a cloudpact entry
  const Json& e = *parsed;
  const std::string type = e.value("type", "");
  const Json& body = e.contains("body") && e["body"].is_object() ? e["body"] : Json::object();
  try {
    if (type == "directory.resource" && body.contains("resource")) {
      const Json& r = body["resource"];
      resources_[r.value("id", "")] = {r.value("tenant", ""), r.value("tenant_data", false)};
    } else if (type == "directory.approver" && body.contains("approver")) {
      const Json& a = body["approver"];
      if (a.value("tenant", "") == tenant_) {
        keys_[a.value("id", "")].insert(a.value("public_key", ""));
        report_.approver_keys[a.value("id", "")] = a.value("public_key", "");
      }
    } else if (type == "directory.approver_key") {
      // An approver registered a key themselves (POST /v1/auth/approver-key), proving with
      // a signature by it that they hold its private key.
      if (body.value("tenant", "") == tenant_) {
        const std::string approver = body.value("approver", "");
        const std::string key_b64 = body.value("public_key", "");
        keys_[approver].insert(key_b64);
        report_.approver_keys[approver] = key_b64;
        auto key = Base64Decode(key_b64);
        auto sig = Base64Decode(body.value("signature", ""));
        if (!key.ok() || key->size() != 32 || !sig.ok() ||
            !crypto::Ed25519Verify(*key, ApproverKeyStatement(approver, tenant_, key_b64), *sig)) {
          report_.problems.push_back("entry " + std::to_string(index) + " (" + type + " " + approver +
                                     "): the proof of possession of the registered key does not verify");
        }
      }
    } else if (type == "access.grant" || type == "access.breakglass") {
      Grant(index, e, type == "access.breakglass");
    } else if (type == "access.use") {
      auto it = resources_.find(body.value("resource", ""));
      if (it != resources_.end() && it->second.tenant == tenant_) ++report_.uses;
    }
  } catch (const Json::exception& ex) {
    report_.problems.push_back("entry " + std::to_string(index) + " (" + type + ") is malformed: " + ex.what());
  }
}

void TenantAuditor::Grant(uint64_t index, const Json& e, bool break_glass) {
  const Json& body = e["body"];
  const Json& request = body.at("request");
  TenantAccessRecord rec;
  rec.index = index;
  rec.type = e.value("type", "");
  rec.request_id = body.value("request_id", "");
  rec.requester = request.value("requester", "");
  rec.reason = request.value("reason", "");
  rec.actions = request.value("actions", std::vector<std::string>{});
  rec.granted = body.value("granted", int64_t{0});
  rec.expires = body.value("expires", int64_t{0});
  for (const auto& r : request.value("resources", std::vector<std::string>{})) {
    auto it = resources_.find(r);
    if (it == resources_.end() || it->second.tenant != tenant_) continue;
    rec.resources.push_back(r);
    rec.tenant_data |= it->second.tenant_data;
  }
  if (rec.resources.empty()) return;  // not this tenant's
  auto problem = [&](const std::string& what) {
    rec.ok = false;
    report_.problems.push_back("entry " + std::to_string(index) + " (" + rec.type + " " + rec.request_id + "): " + what);
  };
  for (const auto& a : body.value("approvals", Json::array())) rec.approvers.push_back(a.value("reviewer", ""));

  // The digest must be the hash of the request shown, for this log: otherwise a signature
  // over it says nothing about this request.
  auto canonical = CanonicalJson(request);
  std::string digest = canonical.ok() ? HexEncode(crypto::AsBytes(crypto::Sha256(*canonical))) : "";
  if (!canonical.ok() || digest != body.value("digest", "")) problem("the digest does not match the request");
  if (request.value("log", "") != origin_) problem("the request names another log (\"" + request.value("log", "") + "\")");

  if (break_glass) {
    auto notified = body.value("notified_tenants", std::vector<std::string>{});
    if (std::find(notified.begin(), notified.end(), tenant_) == notified.end()) {
      problem("break-glass access without notifying the tenant");
    }
  } else if (rec.tenant_data) {
    bool signed_ok = false;
    for (const auto& ta : body.value("tenant_approvals", Json::array())) {
      if (ta.value("tenant", "") != tenant_) continue;
      std::string approver = ta.value("approver", "");
      std::string key_b64 = ta.value("public_key", "");
      auto key = Base64Decode(key_b64);
      auto sig = Base64Decode(ta.value("signature", ""));
      bool registered = keys_.count(approver) && keys_[approver].count(key_b64);
      bool pinned = pinned_.empty() || pinned_.count(key_b64);
      if (!registered) { problem("signed by " + approver + " with a key never registered for this tenant"); continue; }
      if (!pinned) { problem("signed by " + approver + " with a key the tenant did not pin"); continue; }
      if (!key.ok() || !sig.ok() || !crypto::Ed25519Verify(*key, ReviewMessage("approve", digest), *sig)) {
        problem("the signature of " + approver + " does not verify");
        continue;
      }
      rec.tenant_signers.push_back(approver);
      signed_ok = true;
    }
    if (!signed_ok && rec.ok) problem("access to the tenant's data without the tenant's signed approval");
  }
  report_.accesses.push_back(std::move(rec));
}

}  // namespace cloudpact::access
