#include "api/api.h"

#include "core/encoding.h"
#include "core/metrics.h"
#include "core/time.h"

namespace cloudpact::api {
namespace {

Response Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Json HashList(const std::vector<ledger::Hash>& hashes) {
  Json out = Json::array();
  for (const auto& h : hashes) out.push_back(Base64Encode(crypto::AsBytes(h)));
  return out;
}

Result<uint64_t> QueryNumber(const Request& r, const std::string& name) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return MakeError(ErrorCode::kInvalidArgument, "missing query parameter \"" + name + "\"");
  auto v = ParseDecimal(it->second);
  if (!v.ok()) return MakeError(ErrorCode::kInvalidArgument, "query parameter \"" + name + "\": " + v.error().message);
  return *v;
}

}  // namespace

Result<Principal> Api::Require(const Request& r, std::string_view permission) {
  ASSIGN_OR_RETURN(Principal p, auth_.Authenticate(r.Header("authorization")));
  if (!p.Has(permission)) {
    return MakeError(ErrorCode::kPermissionDenied, "token lacks permission \"" + std::string(permission) + "\"");
  }
  return p;
}

void Api::Handle(const Request& r, Respond respond) {
  const std::string& path = r.path;
  const bool get = r.method == "GET" || r.method == "HEAD";
  auto method_not_allowed = [&] {
    respond(ErrorResponse(405, "method_not_allowed", r.method + " is not allowed on " + path));
  };

  if (path == "/healthz") {
    if (!get) return method_not_allowed();
    return respond(JsonResponse(200, {{"status", "ok"}, {"ledger_size", ledger_.Size()}}));
  }
  if (path == "/metrics") {
    if (!get) return method_not_allowed();
    return respond(Text(200, metrics::Registry::Global().Render(), "text/plain; version=0.0.4; charset=utf-8"));
  }
  if (path == "/ledger/checkpoint") {
    if (!get) return method_not_allowed();
    Response res = Text(200, ledger_.CheckpointNote(), "text/plain; charset=utf-8");
    res.headers["cache-control"] = "no-cache, max-age=0";
    return respond(std::move(res));
  }
  if (path.rfind("/ledger/tile/", 0) == 0) {
    if (!get) return method_not_allowed();
    return respond(Tile(std::string_view(path).substr(13)));
  }
  if (path == "/v1/ledger/info") {
    if (!get) return method_not_allowed();
    return respond(Info());
  }
  if (path == "/v1/ledger/entries") {
    if (r.method != "POST") return method_not_allowed();
    auto p = Require(r, perm::kLedgerAppend);
    if (!p.ok()) return respond(ErrorResponse(p.error()));
    return AppendEntry(r, *p, std::move(respond));
  }
  constexpr std::string_view kEntries = "/v1/ledger/entries/";
  if (path.rfind(kEntries, 0) == 0) {
    std::string_view rest = std::string_view(path).substr(kEntries.size());
    constexpr std::string_view kConf = "/confidential";
    bool conf = rest.size() > kConf.size() && rest.substr(rest.size() - kConf.size()) == kConf;
    if (conf) rest.remove_suffix(kConf.size());
    auto index = ParseDecimal(rest);
    if (!index.ok()) return respond(ErrorResponse(404, "not_found", "no such entry"));
    if (conf) {
      if (r.method != "DELETE") return method_not_allowed();
      auto p = Require(r, perm::kLedgerErase);
      if (!p.ok()) return respond(ErrorResponse(p.error()));
      return respond(EraseConfidential(r, *p, *index));
    }
    if (!get) return method_not_allowed();
    return respond(GetEntry(r, *index));
  }
  if (path == "/v1/ledger/proof/inclusion") {
    if (!get) return method_not_allowed();
    return respond(Inclusion(r));
  }
  if (path == "/v1/ledger/proof/consistency") {
    if (!get) return method_not_allowed();
    return respond(Consistency(r));
  }
  if (path == "/v1/ledger/cosignatures") {
    if (r.method != "POST") return method_not_allowed();
    return respond(Cosign(r));
  }
  if (path == "/v1/tokens") {
    if (r.method != "POST") return method_not_allowed();
    auto p = Require(r, perm::kTokensCreate);
    if (!p.ok()) return respond(ErrorResponse(p.error()));
    return CreateToken(r, *p, std::move(respond));
  }
  if (governance_ && governance_->Handle(r, respond)) return;
  if (gateway_ && gateway_->Handle(r, respond)) return;
  if (ingest_ && ingest_->Handle(r, respond)) return;
  if (assess_ && assess_->Handle(r, respond)) return;
  if (static_files_ && static_files_->Handle(r, respond)) return;
  respond(ErrorResponse(404, "not_found", "no route for " + path));
}

void Api::AppendEntry(const Request& r, const Principal& p, Respond respond) {
  auto body = JsonObjectBody(r, options_.max_json_body);
  if (!body.ok()) return respond(ErrorResponse(body.error()));
  const Json& j = *body;
  if (auto st = OnlyMembers(j, {"type", "body", "confidential"}); !st.ok()) return respond(ErrorResponse(st.error()));
  if (!j.contains("type") || !j["type"].is_string()) {
    return respond(ErrorResponse(400, "invalid_argument", "\"type\" must be a string"));
  }
  if (!j.contains("body") || !j["body"].is_object()) {
    return respond(ErrorResponse(400, "invalid_argument", "\"body\" must be a JSON object"));
  }
  ledger::AppendRequest req;
  req.type = j["type"].get<std::string>();
  req.body = j["body"];
  req.actor = p.name;
  if (j.contains("confidential")) {
    if (!j["confidential"].is_object()) {
      return respond(ErrorResponse(400, "invalid_argument", "\"confidential\" must be a JSON object"));
    }
    req.confidential = j["confidential"];
  }
  ledger_.AppendAsync(std::move(req), [respond = std::move(respond)](Result<ledger::Appended> a) {
    if (!a.ok()) return respond(ErrorResponse(a.error()));
    respond(JsonResponse(201, {{"index", a->index}, {"leaf_hash", HexEncode(crypto::AsBytes(a->leaf_hash))}}));
  });
}

Response Api::GetEntry(const Request& r, uint64_t index) {
  auto entry = ledger_.ReadEntry(index);
  if (!entry.ok()) return ErrorResponse(entry.error());
  ledger::Checkpoint cp = ledger_.LatestCheckpoint();
  Json out = {{"index", index},
              {"entry_base64", Base64Encode(*entry)},
              {"leaf_hash", HexEncode(crypto::AsBytes(ledger::LeafHash(*entry)))}};
  if (auto parsed = ParseJson(*entry); parsed.ok()) out["entry"] = *parsed;
  if (index < cp.size) {
    auto proof = ledger_.InclusionProof(index, cp.size);
    if (!proof.ok()) return ErrorResponse(proof.error());
    out["checkpoint"] = {{"size", cp.size}, {"root", Base64Encode(crypto::AsBytes(cp.root))},
                         {"note", ledger_.CheckpointNote()}};
    out["inclusion_proof"] = HashList(*proof);
  }
  // Confidential content only for authorised readers; others see just the commitment.
  if (!r.Header("authorization").empty()) {
    auto p = Require(r, perm::kLedgerReadConfidential);
    if (!p.ok()) return ErrorResponse(p.error());
    auto conf = ledger_.ReadConfidential(index);
    if (!conf.ok()) return ErrorResponse(conf.error());
    if (*conf) {
      auto content = ParseJson((*conf)->content);
      out["confidential"] = {{"salt", (*conf)->salt_hex},
                             {"content", content.ok() ? *content : Json((*conf)->content)}};
    } else if (out.contains("entry") && out["entry"].contains("confidential")) {
      out["confidential"] = {{"erased", true}};
    }
  }
  return JsonResponse(200, out);
}

Response Api::EraseConfidential(const Request& r, const Principal& p, uint64_t index) {
  auto body = JsonObjectBody(r, options_.max_json_body);
  if (!body.ok()) return ErrorResponse(body.error());
  if (auto st = OnlyMembers(*body, {"reason"}); !st.ok()) return ErrorResponse(st.error());
  if (!body->contains("reason") || !(*body)["reason"].is_string()) {
    return ErrorResponse(400, "invalid_argument", "\"reason\" must be a string");
  }
  auto rec = ledger_.EraseConfidential(index, (*body)["reason"].get<std::string>(), p.name);
  if (!rec.ok()) return ErrorResponse(rec.error());
  return JsonResponse(200, {{"erased_index", index}, {"erasure_entry_index", rec->index}});
}

Response Api::Inclusion(const Request& r) {
  auto index = QueryNumber(r, "index");
  if (!index.ok()) return ErrorResponse(index.error());
  auto size = QueryNumber(r, "size");
  if (!size.ok()) return ErrorResponse(size.error());
  auto proof = ledger_.InclusionProof(*index, *size);
  if (!proof.ok()) return ErrorResponse(proof.error());
  return JsonResponse(200, {{"hashes", HashList(*proof)}});
}

Response Api::Consistency(const Request& r) {
  auto from = QueryNumber(r, "from");
  if (!from.ok()) return ErrorResponse(from.error());
  auto to = QueryNumber(r, "to");
  if (!to.ok()) return ErrorResponse(to.error());
  auto proof = ledger_.ConsistencyProof(*from, *to);
  if (!proof.ok()) return ErrorResponse(proof.error());
  return JsonResponse(200, {{"hashes", HashList(*proof)}});
}

Response Api::Info() {
  ledger::Checkpoint cp = ledger_.LatestCheckpoint();
  return JsonResponse(200, {{"origin", ledger_.origin()},
                            {"verifier_key", ledger_.Verifier().ToString()},
                            {"size", cp.size},
                            {"root", Base64Encode(crypto::AsBytes(cp.root))}});
}

Response Api::Tile(std::string_view rest) {
  auto ref = ledger::ParseTilePath(rest);
  if (!ref.ok()) return ErrorResponse(404, "not_found", ref.error().message);
  auto bytes = ledger_.ReadTile(*ref);
  if (!bytes.ok()) return ErrorResponse(bytes.error());
  Response res = Text(200, std::move(bytes).value(), "application/octet-stream");
  // A tile path names fixed content (a partial tile is fixed by its width), so every tile
  // can be cached for good.
  res.headers["cache-control"] = "public, max-age=31536000, immutable";
  return res;
}

Response Api::Cosign(const Request& r) {
  // The witness's signature is the authentication: only configured witness keys count.
  auto n = ledger_.AddCosignatures(r.body);
  if (!n.ok()) return ErrorResponse(n.error());
  return JsonResponse(200, {{"accepted", *n}});
}

ledger::AppendRequest TokenIssuedRecord(const IssuedToken& token, const std::string& issued_by) {
  return ledger::AppendRequest{"token.issued",
                               {{"token_id", token.record.id},
                                {"name", token.record.name},
                                {"permissions", token.record.permissions},
                                {"expires_unix", token.record.expires_unix}},
                               issued_by,
                               std::nullopt};
}

void Api::CreateToken(const Request& r, const Principal& p, Respond respond) {
  auto body = JsonObjectBody(r, options_.max_json_body);
  if (!body.ok()) return respond(ErrorResponse(body.error()));
  const Json& j = *body;
  if (auto st = OnlyMembers(j, {"name", "permissions", "expires_in_seconds"}); !st.ok()) {
    return respond(ErrorResponse(st.error()));
  }
  if (!j.contains("name") || !j["name"].is_string()) {
    return respond(ErrorResponse(400, "invalid_argument", "\"name\" must be a string"));
  }
  if (!j.contains("permissions") || !j["permissions"].is_array()) {
    return respond(ErrorResponse(400, "invalid_argument", "\"permissions\" must be an array of strings"));
  }
  std::vector<std::string> perms;
  for (const auto& e : j["permissions"]) {
    if (!e.is_string()) {
      return respond(ErrorResponse(400, "invalid_argument", "\"permissions\" must be an array of strings"));
    }
    // Nobody hands out more than they hold.
    if (!p.Has(e.get<std::string>())) {
      return respond(ErrorResponse(403, "permission_denied",
                                   "cannot grant \"" + e.get<std::string>() + "\" without holding it"));
    }
    perms.push_back(e.get<std::string>());
  }
  int64_t expires = 0;
  if (j.contains("expires_in_seconds")) {
    const Json& e = j["expires_in_seconds"];
    if (!e.is_number_unsigned() || e.get<uint64_t>() == 0 || e.get<uint64_t>() > 10ull * 365 * 86400) {
      return respond(ErrorResponse(400, "invalid_argument", "\"expires_in_seconds\" must be 1..315360000"));
    }
    expires = UnixSeconds(SystemNow()) + e.get<int64_t>();
  }
  auto t = auth_.Mint(j["name"].get<std::string>(), perms, expires);
  if (!t.ok()) return respond(ErrorResponse(t.error()));
  // Fail closed: a token exists only once its issuance is in the ledger.
  auto token = std::make_shared<IssuedToken>(std::move(t).value());
  ledger_.AppendAsync(TokenIssuedRecord(*token, p.name),
                      [this, token, respond = std::move(respond)](Result<ledger::Appended> a) {
                        if (!a.ok()) return respond(ErrorResponse(a.error()));
                        if (auto st = auth_.Save(*token); !st.ok()) return respond(ErrorResponse(st.error()));
                        respond(JsonResponse(201, {{"id", token->record.id},
                                                   {"name", token->record.name},
                                                   {"token", token->secret},
                                                   {"permissions", token->record.permissions},
                                                   {"expires_unix", token->record.expires_unix},
                                                   {"ledger_index", a->index}}));
                      });
}

}  // namespace cloudpact::api
