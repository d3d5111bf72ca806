#include "api/gateway_routes.h"

#include <chrono>

#include "core/encoding.h"

namespace cloudpact::api {
namespace {

constexpr size_t kMaxRecordingBytes = 256u << 20;  // a recording served in one response

Response Error(const cloudpact::Error& e) { return ErrorResponse(e); }

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Operators see their own sessions; sessions:read sees everyone's.
bool MaySee(const Caller& c, const gateway::SessionInfo& s) {
  return c.Has(perm::kSessionsRead) || s.operator_id == c.name;
}

}  // namespace

bool GatewayRoutes::Handle(const Request& r, const Respond& respond) {
  auto seg = Segments(r.path);
  if (seg.size() < 2 || seg[0] != "v1") return false;
  if (seg[1] != "sessions" && seg[1] != "exec" && seg[1] != "targets") return false;
  const bool get = r.method == "GET", post = r.method == "POST";
  auto wrong_method = [&] {
    respond(ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + r.path));
    return true;
  };
  auto with = [&](std::string_view permission, auto&& f) {
    auto c = permission.empty() ? gov_.Identify(r) : gov_.Authorize(r, permission);
    if (!c.ok()) {
      respond(Error(c.error()));
      return true;
    }
    // Routes open to any signed-in person still refuse a session that must enrol TOTP first
    // (Authorize does so for the others).
    if (c->enrolment_only) {
      respond(ErrorResponse(403, "permission_denied", "enrol a TOTP authenticator first (POST /v1/auth/totp)"));
      return true;
    }
    respond(f(*c));
    return true;
  };

  if (seg[1] == "exec" && seg.size() == 2) {
    if (!post) return wrong_method();
    return with("", [&](const Caller& c) { return Exec(r, c); });
  }
  if (seg[1] == "targets" && seg.size() == 4 && seg[3] == "credentials") {
    if (post) return with(perm::kTargetsCredentials, [&](const Caller& c) { return SetCredential(r, c, seg[2]); });
    if (get) return with(perm::kTargetsCredentials, [&](const Caller&) { return ListCredentials(seg[2]); });
    return wrong_method();
  }
  if (seg[1] != "sessions") return false;
  if (seg.size() == 2) {
    if (!get) return wrong_method();
    return with("", [&](const Caller& c) { return ListSessions(r, c); });
  }
  if (seg.size() == 3 && seg[2] == "reviews") {
    if (!get) return wrong_method();
    return with(perm::kSessionsControl, [&](const Caller&) {
      Json items = Json::array();
      for (const auto& p : gw_.PendingReviews()) items.push_back(gateway::ToJson(p));
      return JsonResponse(200, {{"items", items}});
    });
  }
  if (seg.size() == 3) {
    if (!get) return wrong_method();
    return with("", [&](const Caller& c) { return GetSession(c, seg[2]); });
  }
  if (seg.size() == 4 && seg[3] == "recording") {
    if (!get) return wrong_method();
    return with("", [&](const Caller& c) { return GetRecording(c, seg[2]); });
  }
  if (seg.size() == 4 && seg[3] == "terminate") {
    if (!post) return wrong_method();
    return with(perm::kSessionsControl, [&](const Caller& c) { return Terminate(r, c, seg[2]); });
  }
  if (seg.size() == 6 && seg[3] == "commands" && seg[5] == "review") {
    if (!post) return wrong_method();
    return with(perm::kSessionsControl, [&](const Caller& c) { return Review(r, c, seg[2], seg[4]); });
  }
  return false;
}

Response GatewayRoutes::ListSessions(const Request& r, const Caller& c) {
  bool active_only = false;
  if (auto it = r.query.find("state"); it != r.query.end()) {
    if (it->second == "active") active_only = true;
    else if (!it->second.empty() && it->second != "any") {
      return ErrorResponse(400, "invalid_argument", "state must be active or any");
    }
  }
  std::string who;
  if (auto it = r.query.find("operator"); it != r.query.end()) who = it->second;
  Json items = Json::array();
  for (const auto& s : gw_.Sessions(active_only)) {
    if (!MaySee(c, s)) continue;
    if (!who.empty() && s.operator_id != who) continue;
    items.push_back(gateway::ToJson(s, false));
    if (items.size() >= 1000) break;
  }
  return JsonResponse(200, {{"items", items}});
}

Response GatewayRoutes::GetSession(const Caller& c, const std::string& id) {
  auto s = gw_.GetSession(id);
  if (!s.ok()) return Error(s.error());
  if (!MaySee(c, *s)) return ErrorResponse(404, "not_found", "no session " + id);
  return JsonResponse(200, gateway::ToJson(*s, true));
}

Response GatewayRoutes::GetRecording(const Caller& c, const std::string& id) {
  auto s = gw_.GetSession(id);
  if (!s.ok()) return Error(s.error());
  if (!MaySee(c, *s)) return ErrorResponse(404, "not_found", "no session " + id);
  auto cast = gw_.Recording(id, kMaxRecordingBytes);
  if (!cast.ok()) return Error(cast.error());
  Response res;
  res.status = 200;
  res.content_type = "application/x-asciicast";
  res.body = std::move(*cast);
  res.headers["x-content-sha256"] = s->recording_sha256;
  res.headers["cache-control"] = "private, max-age=31536000, immutable";
  return res;
}

Response GatewayRoutes::Terminate(const Request& r, const Caller& c, const std::string& id) {
  std::string reason;
  if (!r.body.empty()) {
    auto j = JsonObjectBody(r, max_body_);
    if (!j.ok()) return Error(j.error());
    if (auto st = OnlyMembers(*j, {"reason"}); !st.ok()) return Error(st.error());
    auto v = StringMember(*j, "reason", false, 1024);
    if (!v.ok()) return Error(v.error());
    reason = *v;
  }
  auto st = gw_.Terminate(id, c.name, reason);
  if (!st.ok()) return Error(st.error());
  return JsonResponse(202, {{"session", id}, {"terminating", true}});
}

Response GatewayRoutes::Review(const Request& r, const Caller& c, const std::string& id, const std::string& seq_text) {
  auto seq = ParseDecimal(seq_text);
  if (!seq.ok()) return ErrorResponse(404, "not_found", "no command " + seq_text);
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"decision", "comment"}); !st.ok()) return Error(st.error());
  auto decision = StringMember(*j, "decision", true, 16);
  auto comment = StringMember(*j, "comment", false, 1024);
  for (const auto* f : {&decision, &comment}) {
    if (!f->ok()) return Error(f->error());
  }
  if (*decision != "approve" && *decision != "reject") {
    return ErrorResponse(400, "invalid_argument", "decision must be approve or reject");
  }
  auto out = gw_.ReviewCommand(id, static_cast<int64_t>(*seq), c.name, *decision == "approve", *comment);
  if (!out.ok()) return Error(out.error());
  return JsonResponse(200, gateway::ToJson(*out));
}

Response GatewayRoutes::Exec(const Request& r, const Caller& c) {
  if (c.kind != "staff") {
    return ErrorResponse(403, "permission_denied", "exec runs as a person in the directory (staff), under their grants");
  }
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"target", "login", "command", "stdin", "timeout_seconds"}); !st.ok()) return Error(st.error());
  gateway::ExecRequest req;
  req.principal = c.name;
  auto target = StringMember(*j, "target", true, 128);
  auto login = StringMember(*j, "login", true, 32);
  auto command = StringMember(*j, "command", true, 64 * 1024);
  auto in = StringMember(*j, "stdin", false, max_body_);
  for (const auto* f : {&target, &login, &command, &in}) {
    if (!f->ok()) return Error(f->error());
  }
  req.target = *target;
  req.login = *login;
  req.command = *command;
  req.stdin_data = *in;
  if (auto it = j->find("timeout_seconds"); it != j->end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 3600) {
      return ErrorResponse(400, "invalid_argument", "timeout_seconds must be 1 to 3600");
    }
    req.timeout_seconds = it->get<int>();
  }
  auto out = gw_.Exec(req);
  if (!out.ok()) return Error(out.error());
  return JsonResponse(200, {{"session", out->session},
                            {"exit_status", out->exit_status},
                            {"exit_signal", out->exit_signal},
                            {"stdout", out->stdout_data},
                            {"stderr", out->stderr_data},
                            {"truncated", out->truncated},
                            {"decision", out->decision},
                            {"message", out->message}});
}

Response GatewayRoutes::SetCredential(const Request& r, const Caller& c, const std::string& target) {
  auto snap = directory_.snapshot();
  const auto* res = snap->FindResource(target);
  if (!res) return ErrorResponse(404, "not_found", "no resource " + target);
  if (!res->ssh) return ErrorResponse(409, "failed_precondition", target + " has no ssh endpoint in the directory");
  auto j = JsonObjectBody(r, max_body_);
  if (!j.ok()) return Error(j.error());
  if (auto st = OnlyMembers(*j, {"login", "kind", "secret"}); !st.ok()) return Error(st.error());
  auto login = StringMember(*j, "login", true, 32);
  auto kind = StringMember(*j, "kind", false, 16);
  auto secret = StringMember(*j, "secret", true, 16 * 1024);
  for (const auto* f : {&login, &kind, &secret}) {
    if (!f->ok()) return Error(f->error());
  }
  auto out = creds_.Set(target, *login, kind->empty() ? "key" : *kind, *secret, c.name, Now());
  if (!out.ok()) return Error(out.error());
  return JsonResponse(200, {{"target", target}, {"login", out->login}, {"kind", out->kind},
                            {"fingerprint", out->fingerprint}, {"set_by", out->set_by}, {"set", out->set}});
}

Response GatewayRoutes::ListCredentials(const std::string& target) {
  auto list = creds_.List(target);
  if (!list.ok()) return Error(list.error());
  Json items = Json::array();
  for (const auto& c : *list) {
    items.push_back({{"login", c.login}, {"kind", c.kind}, {"fingerprint", c.fingerprint}, {"set_by", c.set_by}, {"set", c.set}});
  }
  return JsonResponse(200, {{"target", target}, {"items", items}});
}

}  // namespace cloudpact::api
