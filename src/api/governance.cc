#include "api/governance.h"

#include "api/accounts.h"

#include <algorithm>
#include <array>

#include "core/encoding.h"
#include "core/time.h"
#include "core/yaml.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"

namespace cloudpact::api {
namespace {

constexpr size_t kDefaultPage = 100;
constexpr size_t kMaxPage = 1000;

// A document that people write: YAML (application/yaml, text/yaml) or JSON.
Result<YamlDocument> DocumentBody(const Request& r, size_t max) {
  std::string ct = r.Header("content-type");
  if (ct.rfind("application/yaml", 0) == 0 || ct.rfind("text/yaml", 0) == 0 ||
      ct.rfind("application/x-yaml", 0) == 0) {
    return ParseYaml(r.body, YamlLimits{max, 500'000, 64});
  }
  ASSIGN_OR_RETURN(Json j, JsonObjectBody(r, max));
  return FromJson(std::move(j));
}

Result<std::vector<std::string>> StringList(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a list of strings");
  }
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return MakeError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The optional {"reason": …} body of decisions and revocations.
Result<std::string> OptionalReason(const Request& r, size_t max) {
  if (r.body.empty()) return std::string();
  ASSIGN_OR_RETURN(Json j, JsonObjectBody(r, max));
  RETURN_IF_ERROR(OnlyMembers(j, {"reason"}));
  return StringMember(j, "reason", false);
}

// principal, action, resource: the subject of a decision.
Result<std::array<std::string, 3>> Triple(const Json& j) {
  std::array<std::string, 3> out;
  const char* keys[3] = {"principal", "action", "resource"};
  for (int i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(out[i], StringMember(j, keys[i], true, 256));
  }
  return out;
}

Response Error(const cloudpact::Error& e) { return ErrorResponse(e); }

// Implicit permissions of people in the directory: every staff member may ask for access
// and review (the access module decides whether a review counts); approvers review for
// and read their own tenant.
std::vector<std::string> ImplicitPermissions(const std::string& kind) {
  if (kind == "staff") return {perm::kAccessRequest, perm::kAccessReview};
  if (kind == "approver") return {perm::kAccessReview, perm::kTenantRead};
  return {};
}

template <typename Map, typename F>
Json Page(const Map& m, const Request& r, F&& to_json) {
  std::vector<std::string> ids;
  ids.reserve(m.size());
  for (const auto& [id, _] : m) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::string after = r.query.count("after") ? r.query.at("after") : "";
  size_t limit = kDefaultPage;
  if (r.query.count("limit")) {
    auto l = ParseDecimal(r.query.at("limit"));
    if (l.ok()) limit = std::clamp<size_t>(*l, 1, kMaxPage);
  }
  auto it = after.empty() ? ids.begin() : std::upper_bound(ids.begin(), ids.end(), after);
  Json items = Json::array();
  for (; it != ids.end() && items.size() < limit; ++it) items.push_back(to_json(m.at(*it)));
  Json out = {{"items", items}, {"total", ids.size()}};
  if (it != ids.end()) out["next_after"] = items.back()["id"];
  return out;
}

}  // namespace

bool Caller::Has(std::string_view permission) const {
  return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

namespace {
std::string CookieValue(const Request& r, std::string_view name) {
  std::string header = r.Header("cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part = std::string_view(header).substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}
}  // namespace

Result<Caller> GovernanceRoutes::Identify(const Request& r) {
  Caller c;
  std::vector<std::string> token_permissions;
  bool token = !r.Header("authorization").empty() || !accounts_;
  if (token) {
    ASSIGN_OR_RETURN(Principal p, auth_.Authenticate(r.Header("authorization")));
    c.name = p.name;
    token_permissions = p.permissions;
  } else {
    std::string secret = CookieValue(r, kSessionCookieName);
    if (secret.empty()) return MakeError(ErrorCode::kUnauthenticated, "sign in, or send a bearer token");
    ASSIGN_OR_RETURN(SessionInfo session, accounts_->Authenticate(secret));
    // Cookies ride along on cross-site requests; a write must also prove it came from our
    // own page, which alone can read the CSRF token.
    if (r.method != "GET" && r.method != "HEAD" && !accounts_->CheckCsrf(session, r.Header("x-csrf-token"))) {
      return MakeError(ErrorCode::kPermissionDenied, "missing or invalid X-CSRF-Token header");
    }
    c.name = session.principal;
    c.via_session = true;
    c.mfa = session.mfa;
    c.enrolment_only = accounts_->EnrolmentOnly(session);
  }
  c.kind = directory_.snapshot()->PrincipalKind(c.name);
  if (c.kind.empty()) {
    c.permissions = token_permissions;
  } else {
    std::vector<std::string> held = access_.AdminPermissionsOf(c.name);
    for (const auto& i : ImplicitPermissions(c.kind)) held.push_back(i);
    if (c.via_session) {
      c.permissions = held;
    } else {
      for (const auto& perm : token_permissions) {
        if (std::find(held.begin(), held.end(), perm) != held.end()) c.permissions.push_back(perm);
      }
    }
  }
  std::sort(c.permissions.begin(), c.permissions.end());
  c.permissions.erase(std::unique(c.permissions.begin(), c.permissions.end()), c.permissions.end());
  return c;
}

Result<Caller> GovernanceRoutes::Authorize(const Request& r, std::string_view permission) {
  ASSIGN_OR_RETURN(Caller c, Identify(r));
  if (c.enrolment_only) {
    return MakeError(ErrorCode::kPermissionDenied, "enrol a TOTP authenticator first (POST /v1/auth/totp)");
  }
  if (!c.Has(permission)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     c.kind.empty() ? "token lacks permission \"" + std::string(permission) + "\""
                                    : c.name + " lacks permission \"" + std::string(permission) +
                                          "\" (the token and the person's roles must both grant it)");
  }
  return c;
}

bool GovernanceRoutes::Handle(const Request& r, const Respond& respond) {
  const std::string& path = r.path;
  const bool get = r.method == "GET";
  const bool post = r.method == "POST";
  auto seg = Segments(path);
  if (seg.size() < 2 || seg[0] != "v1") return false;
  auto wrong_method = [&] {
    respond(ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + path));
    return true;
  };
  // Authorizes, then runs `f(caller)` and responds with its result.
  auto with = [&](std::string_view permission, auto&& f) {
    auto c = Authorize(r, permission);
    if (!c.ok()) { respond(Error(c.error())); return true; }
    respond(f(*c));
    return true;
  };

  if (seg[1] == "auth" && seg.size() >= 3) {
    if (seg.size() == 3 && seg[2] == "signin") { if (!post) return wrong_method(); respond(SignIn(r)); return true; }
    if (seg.size() == 3 && seg[2] == "signout") { if (!post) return wrong_method(); respond(SignOut(r)); return true; }
    if (seg.size() == 3 && seg[2] == "me") { if (!get) return wrong_method(); respond(Me(r)); return true; }
    if (seg.size() == 3 && seg[2] == "approver-key") {
      if (!post) return wrong_method();
      respond(RegisterApproverKey(r));
      return true;
    }
    if (seg.size() == 3 && seg[2] == "totp") { if (!post) return wrong_method(); respond(BeginTotp(r)); return true; }
    if (seg.size() == 4 && seg[2] == "totp" && seg[3] == "confirm") {
      if (!post) return wrong_method();
      respond(ConfirmTotp(r));
      return true;
    }
    return false;
  }
  if (seg[1] == "accounts" && seg.size() == 4 && (seg[3] == "password" || seg[3] == "unlock")) {
    if (!post) return wrong_method();
    return with(perm::kDirectoryWrite, [&](const Caller&) {
      return seg[3] == "password" ? SetPassword(r, seg[2]) : Unlock(r, seg[2]);
    });
  }
  if (seg[1] == "directory") {
    if (seg.size() == 3 && seg[2] == "apply") {
      if (!post) return wrong_method();
      return with(perm::kDirectoryWrite, [&](const Caller& c) { return ApplyDirectory(r, c); });
    }
    if (seg.size() == 3) {
      if (!get) return wrong_method();
      return with(perm::kDirectoryRead, [&](const Caller&) { return ListDirectory(r, seg[2]); });
    }
    if (seg.size() == 4) {
      if (!get) return wrong_method();
      return with(perm::kDirectoryRead, [&](const Caller&) { return GetDirectoryRecord(seg[2], seg[3]); });
    }
    return false;
  }
  if (seg[1] == "policy") {
    if (seg.size() == 2) {
      if (get) return with(perm::kDirectoryRead, [&](const Caller&) { return Policies(); });
      if (post) return with(perm::kPolicyPropose, [&](const Caller& c) { return ProposePolicy(r, c); });
      return wrong_method();
    }
    auto version = ParseDecimal(seg[2]);
    if (!version.ok()) { respond(ErrorResponse(404, "not_found", "no policy version " + seg[2])); return true; }
    if (seg.size() == 3) {
      if (!get) return wrong_method();
      return with(perm::kDirectoryRead, [&](const Caller&) { return GetPolicy(static_cast<int64_t>(*version)); });
    }
    if (seg.size() == 4 && (seg[3] == "approve" || seg[3] == "reject")) {
      if (!post) return wrong_method();
      return with(perm::kPolicyApprove, [&](const Caller& c) {
        return DecidePolicy(r, c, static_cast<int64_t>(*version), seg[3] == "approve");
      });
    }
    return false;
  }
  if (seg[1] == "access") {
    if (seg.size() == 3 && seg[2] == "requests") {
      if (post) return with(perm::kAccessRequest, [&](const Caller& c) { return CreateRequest(r, c, false); });
      if (get) return with(perm::kAccessReview, [&](const Caller& c) { return ListRequests(r, c); });
      return wrong_method();
    }
    if (seg.size() == 3 && seg[2] == "campaigns") {
      if (get) return with(perm::kPostureRead, [&](const Caller&) {
        Json items = Json::array();
        for (const auto& c : access_.Campaigns()) items.push_back(access::ToJson(c));
        return JsonResponse(200, {{"items", items}});
      });
      if (!post) return wrong_method();
      return with(perm::kAccessRevoke, [&](const Caller& c) -> Response {
        auto j = JsonObjectBody(r, max_body_);
        if (!j.ok()) return Error(j.error());
        if (auto st = OnlyMembers(*j, {"name", "due"}); !st.ok()) return Error(st.error());
        auto name = StringMember(*j, "name", true, 256);
        if (!name.ok()) return Error(name.error());
        if (!j->contains("due") || !(*j)["due"].is_number_integer()) {
          return ErrorResponse(400, "invalid_argument", "\"due\" must be a unix time in seconds");
        }
        auto out = access_.StartCampaign(*name, (*j)["due"].get<int64_t>(), c.name);
        if (!out.ok()) return Error(out.error());
        return JsonResponse(201, access::ToJson(*out));
      });
    }
    if (seg.size() == 4 && seg[2] == "campaigns") {
      if (!get) return wrong_method();
      return with(perm::kPostureRead, [&](const Caller&) -> Response {
        auto out = access_.GetCampaign(seg[3]);
        if (!out.ok()) return Error(out.error());
        return JsonResponse(200, access::ToJson(*out));
      });
    }
    if (seg.size() == 5 && seg[2] == "campaigns" && seg[4] == "decisions") {
      if (!post) return wrong_method();
      return with(perm::kAccessReview, [&](const Caller& c) -> Response {
        auto j = JsonObjectBody(r, max_body_);
        if (!j.ok()) return Error(j.error());
        if (auto st = OnlyMembers(*j, {"staff", "role", "decision", "comment"}); !st.ok()) return Error(st.error());
        std::string f[4];
        const char* keys[4] = {"staff", "role", "decision", "comment"};
        for (int i = 0; i < 4; ++i) {
          auto v = StringMember(*j, keys[i], i < 3);
          if (!v.ok()) return Error(v.error());
          f[i] = *v;
        }
        auto out = access_.DecideCampaignItem(seg[3], f[0], f[1], f[2], f[3], c.name);
        if (!out.ok()) return Error(out.error());
        return JsonResponse(200, access::ToJson(*out));
      });
    }
    if (seg.size() == 3 && seg[2] == "breakglass") {
      if (!post) return wrong_method();
      return with(perm::kAccessRequest, [&](const Caller& c) { return CreateRequest(r, c, true); });
    }
    if (seg.size() == 3 && seg[2] == "uses") {
      if (!post) return wrong_method();
      return with(perm::kAuthzCheck, [&](const Caller&) { return RecordUse(r); });
    }
    if (seg.size() == 4 && seg[2] == "requests") {
      if (!get) return wrong_method();
      return with(perm::kAccessReview, [&](const Caller& c) { return GetRequest(c, seg[3]); });
    }
    if (seg.size() == 5 && seg[2] == "requests" && seg[4] == "reviews") {
      if (!post) return wrong_method();
      return with(perm::kAccessReview, [&](const Caller& c) { return Review(r, c, seg[3]); });
    }
    if (seg.size() == 5 && seg[2] == "requests" && seg[4] == "revoke") {
      if (!post) return wrong_method();
      return with(perm::kAccessRequest, [&](const Caller& c) { return Revoke(r, c, seg[3]); });
    }
    return false;
  }
  if (seg.size() == 3 && seg[1] == "authz" && seg[2] == "check") {
    if (!post) return wrong_method();
    return with(perm::kAuthzCheck, [&](const Caller&) { return Check(r); });
  }
  if (seg.size() == 2 && seg[1] == "posture") {
    if (!get) return wrong_method();
    return with(perm::kPostureRead, [&](const Caller&) { return JsonResponse(200, access_.Posture()); });
  }
  if (seg.size() == 4 && seg[1] == "tenants" && seg[3] == "access-log") {
    if (!get) return wrong_method();
    return with(perm::kTenantRead, [&](const Caller& c) { return TenantLog(c, seg[2]); });
  }
  return false;
}

// --- sign-in --------------------------------------------------------------------------

namespace {
Response NoContent() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}
Response NoAccounts() { return ErrorResponse(404, "not_found", "sign-in is not enabled on this server"); }
}  // namespace

Response GovernanceRoutes::SignIn(const Request& r) {
  if (!accounts_) return NoAccounts();
  auto j = JsonObjectBody(r, 16 << 10);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"principal", "password", "totp"}); !st.ok()) return Error(st.error());
  auto principal = StringMember(*j, "principal", true, 128);
  auto password = StringMember(*j, "password", true, 1024);
  auto totp = StringMember(*j, "totp", false, 16);
  for (const auto* f : {&principal, &password, &totp}) if (!f->ok()) return Error(f->error());
  auto session = accounts_->SignIn(*principal, *password, *totp, r.remote);
  if (!session.ok()) {
    if (session.error().code == ErrorCode::kResourceExhausted) {
      Response res = ErrorResponse(429, "too_many_attempts", session.error().message);
      if (auto after = accounts_->RetryAfter(*principal); after.ok()) res.headers["retry-after"] = std::to_string(*after);
      return res;
    }
    return Error(session.error());
  }
  Response res = JsonResponse(200, {{"principal", session->principal}, {"mfa", session->mfa},
                                    {"enrolment_only", !session->mfa && access_.MfaRequired(session->principal)},
                                    {"csrf_token", session->csrf_token}, {"expires", session->expires}});
  res.headers["set-cookie"] = Accounts::CookieHeader(*session, session->expires - UnixSeconds(SystemNow()));
  res.headers["cache-control"] = "no-store";
  return res;
}

Response GovernanceRoutes::SignOut(const Request& r) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);  // checks the CSRF header: nobody signs anyone out from another site
  if (!c.ok()) return Error(c.error());
  if (std::string secret = CookieValue(r, kSessionCookieName); !secret.empty()) (void)accounts_->SignOut(secret);
  Response res = NoContent();
  res.headers["set-cookie"] = Accounts::ClearCookieHeader();
  return res;
}

Response GovernanceRoutes::Me(const Request& r) {
  auto c = Identify(r);
  if (!c.ok()) return Error(c.error());
  Json out = {{"principal", c->name}, {"kind", c->kind}, {"permissions", c->permissions},
              {"session", c->via_session}, {"enrolment_only", c->enrolment_only},
              {"totp_enrolled", accounts_ ? accounts_->HasTotp(c->name) : false}};
  // Who the person is in the directory, so that the console needs no directory:read: an
  // approver's tenant and registered key, a staff member's roles and whether any of them
  // may review (every staff member holds access:review implicitly, so permissions alone
  // cannot tell).
  auto snap = directory_.snapshot();
  if (const auto* a = snap->FindApprover(c->name)) {
    out["name"] = a->name;
    out["tenant"] = a->tenant;
    out["public_key"] = Base64Encode(a->public_key);
  } else if (const auto* s = snap->FindStaff(c->name)) {
    out["name"] = s->name;
    out["organisation"] = s->organisation;
    out["roles"] = s->roles;
    out["may_review"] = access_.MayReview(c->name);
  } else if (auto it = snap->auditors.find(c->name); it != snap->auditors.end()) {
    out["name"] = it->second.name;
    out["organisation"] = it->second.organisation;
  }
  return JsonResponse(200, out);
}

Response GovernanceRoutes::RegisterApproverKey(const Request& r) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);  // with a session, checks the CSRF header
  if (!c.ok()) return Error(c.error());
  // The person, at the keyboard, with both factors: not a token (which a provider admin
  // could issue), not a password-only or enrolment-only session (a provider admin can
  // reset a password, but does not hold the approver's TOTP device).
  if (!c->via_session) {
    return ErrorResponse(403, "permission_denied", "an approver registers a key only when signed in (session cookie), not with a bearer token");
  }
  if (c->kind != "approver") {
    return ErrorResponse(403, "permission_denied", c->name + " is not a tenant approver");
  }
  if (!c->mfa || c->enrolment_only) {
    return ErrorResponse(403, "permission_denied", "registering a key needs a session signed in with password and TOTP");
  }
  auto j = JsonObjectBody(r, 4096);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"public_key", "signature"}); !st.ok()) return Error(st.error());
  auto key_b64 = StringMember(*j, "public_key", true, 64);
  if (!key_b64.ok()) return Error(key_b64.error());
  auto sig_b64 = StringMember(*j, "signature", true, 128);
  if (!sig_b64.ok()) return Error(sig_b64.error());
  auto key = Base64Decode(*key_b64);
  if (!key.ok() || key->size() != 32) {
    return ErrorResponse(400, "invalid_argument", "\"public_key\" must be a base64 Ed25519 public key (32 bytes)");
  }
  auto sig = Base64Decode(*sig_b64);
  if (!sig.ok() || sig->size() != 64) {
    return ErrorResponse(400, "invalid_argument", "\"signature\" must be a base64 Ed25519 signature (64 bytes)");
  }
  const auto* a = directory_.snapshot()->FindApprover(c->name);
  if (!a) return ErrorResponse(403, "permission_denied", c->name + " is not a tenant approver");
  const std::string tenant = a->tenant;
  // Proof of possession: nobody registers a key they cannot sign with.
  if (!crypto::Ed25519Verify(*key, access::ApproverKeyStatement(c->name, tenant, *key_b64), *sig)) {
    return ErrorResponse(400, "invalid_argument",
                         "the signature does not verify under public_key; sign \"cloudpact-approver-key/v1\\n\" + "
                         "approver + \"\\n\" + tenant + \"\\n\" + public_key + \"\\n\"");
  }
  // Ledgered first (with the proof, so a tenant can check it), then stored.
  auto change = directory_.SetApproverKey(c->name, *key, c->name, {{"signature", Base64Encode(*sig)}});
  if (!change.ok()) return Error(change.error());
  return JsonResponse(200, {{"approver", change->approver}, {"tenant", change->tenant},
                            {"public_key", Base64Encode(change->public_key)}, {"ledger_index", change->ledger_index}});
}

Response GovernanceRoutes::BeginTotp(const Request& r) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);
  if (!c.ok()) return Error(c.error());
  if (c->kind.empty()) return ErrorResponse(400, "invalid_argument", "only people in the directory enrol TOTP");
  auto e = accounts_->BeginTotp(c->name);
  if (!e.ok()) return Error(e.error());
  Response res = JsonResponse(200, {{"secret_base32", e->secret_base32}, {"uri", e->uri}});
  res.headers["cache-control"] = "no-store";
  return res;
}

Response GovernanceRoutes::ConfirmTotp(const Request& r) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);
  if (!c.ok()) return Error(c.error());
  auto j = JsonObjectBody(r, 4096);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"code"}); !st.ok()) return Error(st.error());
  auto code = StringMember(*j, "code", true, 16);
  if (!code.ok()) return Error(code.error());
  if (auto st = accounts_->ConfirmTotp(c->name, *code); !st.ok()) return Error(st.error());
  (void)ledger_.Append({"account.totp_enrolled", {{"principal", c->name}}, c->name, std::nullopt});
  Response res = NoContent();  // every session ended: sign in again with the code
  res.headers["set-cookie"] = Accounts::ClearCookieHeader();
  return res;
}

Response GovernanceRoutes::SetPassword(const Request& r, const std::string& principal) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);
  if (!c.ok()) return Error(c.error());
  if (directory_.snapshot()->PrincipalKind(principal).empty()) {
    return ErrorResponse(404, "not_found", "\"" + principal + "\" is not in the directory");
  }
  auto j = JsonObjectBody(r, 4096);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"password"}); !st.ok()) return Error(st.error());
  auto pw = StringMember(*j, "password", true, 1024);
  if (!pw.ok()) return Error(pw.error());
  // Evidence first: who set whose password (never the password).
  auto rec = ledger_.Append({"account.password_set", {{"principal", principal}}, c->name, std::nullopt});
  if (!rec.ok()) return Error(rec.error());
  if (auto st = accounts_->SetPassword(principal, *pw); !st.ok()) return Error(st.error());
  return NoContent();
}

Response GovernanceRoutes::Unlock(const Request& r, const std::string& principal) {
  if (!accounts_) return NoAccounts();
  auto c = Identify(r);
  if (!c.ok()) return Error(c.error());
  auto rec = ledger_.Append({"account.unlocked", {{"principal", principal}}, c->name, std::nullopt});
  if (!rec.ok()) return Error(rec.error());
  if (auto st = accounts_->Unlock(principal); !st.ok()) return Error(st.error());
  return NoContent();
}

// --- directory ------------------------------------------------------------------------

Response GovernanceRoutes::ApplyDirectory(const Request& r, const Caller& c) {
  auto doc = DocumentBody(r, max_body_);
  if (!doc.ok()) return Error(doc.error());
  auto spec = directory::ParseDirectory(*doc);
  if (!spec.ok()) return Error(spec.error());
  auto result = directory_.Apply(*spec, c.name);
  if (!result.ok()) return Error(result.error());
  return JsonResponse(200, {{"created", result->created}, {"updated", result->updated},
                            {"unchanged", result->unchanged}, {"ledger_indexes", result->ledger_indexes}});
}

Response GovernanceRoutes::ListDirectory(const Request& r, const std::string& kind) {
  auto snap = directory_.snapshot();
  auto conv = [](const auto& v) { return directory::ToJson(v); };
  if (kind == "platforms") return JsonResponse(200, Page(snap->platforms, r, conv));
  if (kind == "resources") return JsonResponse(200, Page(snap->resources, r, conv));
  if (kind == "staff") return JsonResponse(200, Page(snap->staff, r, conv));
  if (kind == "tenants") return JsonResponse(200, Page(snap->tenants, r, conv));
  if (kind == "approvers") return JsonResponse(200, Page(snap->approvers, r, conv));
  if (kind == "auditors") return JsonResponse(200, Page(snap->auditors, r, conv));
  return ErrorResponse(404, "not_found", "no directory kind \"" + kind + "\"");
}

Response GovernanceRoutes::GetDirectoryRecord(const std::string& kind, const std::string& id) {
  auto snap = directory_.snapshot();
  auto find = [&](const auto& m) -> Response {
    auto it = m.find(id);
    if (it == m.end()) return ErrorResponse(404, "not_found", "no " + kind + " \"" + id + "\"");
    return JsonResponse(200, directory::ToJson(it->second));
  };
  if (kind == "platforms") return find(snap->platforms);
  if (kind == "resources") return find(snap->resources);
  if (kind == "staff") return find(snap->staff);
  if (kind == "tenants") return find(snap->tenants);
  if (kind == "approvers") return find(snap->approvers);
  if (kind == "auditors") return find(snap->auditors);
  return ErrorResponse(404, "not_found", "no directory kind \"" + kind + "\"");
}

// --- policy ---------------------------------------------------------------------------

namespace {
Json PolicySummary(const access::PolicyVersion& p, bool with_text) {
  Json j = {{"version", p.version}, {"state", p.state}, {"sha256", p.sha256}, {"proposed_by", p.proposed_by},
            {"approved_by", p.approved_by}, {"proposed", p.proposed}, {"decided", p.decided},
            {"ledger_index", p.ledger_index}};
  if (with_text) j["text"] = p.text;
  return j;
}
}  // namespace

Response GovernanceRoutes::ProposePolicy(const Request& r, const Caller& c) {
  std::string text = r.body;
  std::string ct = r.Header("content-type");
  if (ct.rfind("application/json", 0) == 0) {
    auto j = JsonObjectBody(r, max_body_);
    if (!j.ok()) return Error(j.error());
    if (auto st = OnlyMembers(*j, {"text"}); !st.ok()) return Error(st.error());
    auto t = StringMember(*j, "text", true, max_body_);
    if (!t.ok()) return Error(t.error());
    text = *t;
  } else if (!ct.empty() && ct.rfind("application/yaml", 0) != 0 && ct.rfind("text/", 0) != 0) {
    return ErrorResponse(400, "invalid_argument", "send the policy as application/yaml, or as JSON {\"text\": …}");
  }
  auto pv = access_.ProposePolicy(text, c.name);
  if (!pv.ok()) return Error(pv.error());
  return JsonResponse(pv->state == "active" ? 200 : 201, PolicySummary(*pv, false));
}

Response GovernanceRoutes::Policies() {
  Json versions = Json::array();
  for (const auto& p : access_.Policies()) versions.push_back(PolicySummary(p, false));
  return JsonResponse(200, {{"in_force", access_.policy_version()}, {"versions", versions}});
}

Response GovernanceRoutes::GetPolicy(int64_t version) {
  for (const auto& p : access_.Policies()) {
    if (p.version == version) return JsonResponse(200, PolicySummary(p, true));
  }
  return ErrorResponse(404, "not_found", "no policy version " + std::to_string(version));
}

Response GovernanceRoutes::DecidePolicy(const Request& r, const Caller& c, int64_t version, bool approve) {
  auto reason = OptionalReason(r, max_body_);
  if (!reason.ok()) return Error(reason.error());
  auto pv = approve ? access_.ApprovePolicy(version, c.name) : access_.RejectPolicy(version, c.name, *reason);
  if (!pv.ok()) return Error(pv.error());
  return JsonResponse(200, PolicySummary(*pv, false));
}

// --- access requests ------------------------------------------------------------------

bool GovernanceRoutes::MaySee(const Caller& c, const access::AccessRequest& req) const {
  if (c.kind.empty() || c.Has(perm::kPostureRead) || c.Has(perm::kDirectoryRead)) return true;
  if (req.requester == c.name) return true;
  if (c.kind == "approver") {
    const auto* a = directory_.snapshot()->FindApprover(c.name);
    if (!a) return false;
    auto list = access_.TenantAccess(a->tenant);
    return std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.id == req.id; });
  }
  return access_.WhyNotReviewer(req.id, c.name).empty() ||
         std::any_of(req.reviews.begin(), req.reviews.end(), [&](const auto& v) { return v.reviewer == c.name; });
}

Json GovernanceRoutes::RequestView(const access::AccessRequest& req, const Caller& c) const {
  // The justification may hold personal data: the requester, reviewers and admins see it.
  Json j = access::ToJson(req, true);
  auto canonical = access::RequestCanonical(req, ledger_.origin());
  if (canonical.ok()) {
    j["canonical"] = *canonical;  // what the digest covers: recompute it before signing
    j["sign_approve"] = access::ReviewMessage("approve", req.digest);
    j["sign_deny"] = access::ReviewMessage("deny", req.digest);
  }
  return j;
}

Response GovernanceRoutes::CreateRequest(const Request& r, const Caller& c, bool break_glass) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"resources", "actions", "reason", "justification", "ticket", "duration_seconds"}); !st.ok()) {
    return Error(st.error());
  }
  access::NewRequest req;
  auto resources = StringList(*j, "resources");
  if (!resources.ok()) return Error(resources.error());
  auto actions = StringList(*j, "actions");
  if (!actions.ok()) return Error(actions.error());
  req.resources = *resources;
  req.actions = *actions;
  for (auto [key, dst] : {std::pair{"reason", &req.reason}, {"justification", &req.justification}, {"ticket", &req.ticket}}) {
    auto s = StringMember(*j, key, std::string(key) != "ticket");
    if (!s.ok()) return Error(s.error());
    *dst = *s;
  }
  if (j->contains("duration_seconds")) {
    if (!(*j)["duration_seconds"].is_number_integer()) return ErrorResponse(400, "invalid_argument", "\"duration_seconds\" must be an integer");
    req.duration_seconds = (*j)["duration_seconds"].get<int64_t>();
  }
  auto created = break_glass ? access_.BreakGlass(c.name, req) : access_.CreateRequest(c.name, req);
  if (!created.ok()) return Error(created.error());
  return JsonResponse(201, RequestView(*created, c));
}

Response GovernanceRoutes::ListRequests(const Request& r, const Caller& c) {
  access::AccessService::ListFilter f;
  auto q = [&](const char* k) { return r.query.count(k) ? r.query.at(k) : std::string(); };
  f.state = q("state");
  f.requester = q("requester");
  f.tenant = q("tenant");
  if (q("reviewable") == "true") f.reviewable_by = c.name;
  Json items = Json::array();
  size_t limit = kDefaultPage;
  if (auto l = ParseDecimal(q("limit")); l.ok()) limit = std::clamp<size_t>(*l, 1, kMaxPage);
  for (const auto& req : access_.List(f)) {
    if (!MaySee(c, req)) continue;
    if (items.size() >= limit) break;
    Json view = RequestView(req, c);
    // As in GET /v1/access/requests/{id}, so that a queue need not fetch each item again.
    if (std::string why = access_.WhyNotReviewer(req.id, c.name); !why.empty()) view["you_may_not_review_because"] = why;
    items.push_back(std::move(view));
  }
  return JsonResponse(200, {{"items", items}});
}

Response GovernanceRoutes::GetRequest(const Caller& c, const std::string& id) {
  auto req = access_.Get(id);
  if (!req.ok() || !MaySee(c, *req)) return ErrorResponse(404, "not_found", "no access request " + id);
  Json j = RequestView(*req, c);
  if (std::string why = access_.WhyNotReviewer(id, c.name); !why.empty()) j["you_may_not_review_because"] = why;
  return JsonResponse(200, j);
}

Response GovernanceRoutes::Review(const Request& r, const Caller& c, const std::string& id) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"decision", "comment", "signature"}); !st.ok()) return Error(st.error());
  access::NewReview v;
  auto d = StringMember(*j, "decision", true);
  if (!d.ok()) return Error(d.error());
  auto comment = StringMember(*j, "comment", false);
  if (!comment.ok()) return Error(comment.error());
  auto sig = StringMember(*j, "signature", false, 256);
  if (!sig.ok()) return Error(sig.error());
  v.decision = *d;
  v.comment = *comment;
  if (!sig->empty()) {
    auto raw = Base64Decode(*sig);
    if (!raw.ok() || raw->size() != 64) return ErrorResponse(400, "invalid_argument", "\"signature\" must be a base64 Ed25519 signature (64 bytes)");
    v.signature = *raw;
  }
  auto out = access_.AddReview(id, c.name, v);
  if (!out.ok()) return Error(out.error());
  return JsonResponse(200, RequestView(*out, c));
}

Response GovernanceRoutes::Revoke(const Request& r, const Caller& c, const std::string& id) {
  auto req = access_.Get(id);
  if (!req.ok()) return Error(req.error());
  // Anyone may give up their own access; taking someone else's needs access:revoke.
  if (req->requester != c.name && !c.Has(perm::kAccessRevoke)) {
    return ErrorResponse(403, "permission_denied", "revoking someone else's access needs access:revoke");
  }
  auto reason = OptionalReason(r, max_body_);
  if (!reason.ok()) return Error(reason.error());
  auto out = access_.Revoke(id, c.name, *reason);
  if (!out.ok()) return Error(out.error());
  return JsonResponse(200, RequestView(*out, c));
}

Response GovernanceRoutes::Check(const Request& r) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"principal", "action", "resource"}); !st.ok()) return Error(st.error());
  auto f = Triple(*j);
  if (!f.ok()) return Error(f.error());
  access::Decision d = access_.Check((*f)[0], (*f)[1], (*f)[2]);
  Json out = {{"allow", d.allow}, {"reason", d.reason}};
  if (!d.grant.empty()) out["grant"] = d.grant;
  if (!d.role.empty()) out["role"] = d.role;
  return JsonResponse(200, out);
}

Response GovernanceRoutes::RecordUse(const Request& r) {
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"principal", "action", "resource", "detail"}); !st.ok()) return Error(st.error());
  auto f = Triple(*j);
  if (!f.ok()) return Error(f.error());
  Json detail = j->value("detail", Json::object());
  auto idx = access_.RecordUse("", (*f)[0], (*f)[1], (*f)[2], detail);
  if (!idx.ok()) return Error(idx.error());
  return JsonResponse(201, {{"ledger_index", *idx}});
}

// --- tenant transparency --------------------------------------------------------------

Response GovernanceRoutes::TenantLog(const Caller& c, const std::string& tenant) {
  auto snap = directory_.snapshot();
  if (!snap->FindTenant(tenant)) return ErrorResponse(404, "not_found", "no tenant \"" + tenant + "\"");
  if (c.kind == "approver") {
    const auto* a = snap->FindApprover(c.name);
    if (!a || a->tenant != tenant) return ErrorResponse(403, "permission_denied", c.name + " may read only its own tenant's access log");
  }
  // Proofs are against the checkpoint served alongside them (its size is its second line).
  const std::string note = ledger_.CheckpointNote();
  ledger::Checkpoint cp;
  {
    size_t a = note.find('\n'), b = a == std::string::npos ? a : note.find('\n', a + 1);
    auto size = b == std::string::npos ? Result<uint64_t>(MakeError(ErrorCode::kInternal, "")) : ParseDecimal(note.substr(a + 1, b - a - 1));
    if (!size.ok()) return ErrorResponse(503, "unavailable", "no checkpoint published yet");
    cp.size = *size;
  }
  Json requests = Json::array();
  for (const auto& req : access_.TenantAccess(tenant)) {
    Json entries = Json::array();
    for (uint64_t index : req.ledger_indexes) entries.push_back(LogEntry(index, cp.size));
    Json view = access::ToJson(req, false);
    view["entries"] = std::move(entries);
    requests.push_back(std::move(view));
  }
  // Every change of the tenant's approver keys, among the records the tenant verifies.
  Json key_events = Json::array();
  if (auto it = snap->key_events.find(tenant); it != snap->key_events.end()) {
    for (uint64_t index : it->second) key_events.push_back(LogEntry(index, cp.size));
  }
  return JsonResponse(200, {{"tenant", tenant}, {"checkpoint", note}, {"tree_size", cp.size},
                            {"requests", requests}, {"key_events", key_events}});
}

Json GovernanceRoutes::LogEntry(uint64_t index, uint64_t tree_size) const {
  Json e = {{"index", index}};
  auto bytes = ledger_.ReadEntry(index);
  if (bytes.ok()) e["entry"] = *bytes;
  if (index < tree_size) {
    auto proof = ledger_.InclusionProof(index, tree_size);
    if (proof.ok()) {
      Json hashes = Json::array();
      for (const auto& h : *proof) hashes.push_back(Base64Encode(crypto::AsBytes(h)));
      e["inclusion_proof"] = hashes;
    }
  } else {
    e["pending_checkpoint"] = true;
  }
  return e;
}

}  // namespace cloudpact::api
