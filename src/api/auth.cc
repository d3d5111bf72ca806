#include "api/auth.h"

#include <algorithm>

#include "access/policy.h"
#include "core/encoding.h"
#include "core/time.h"
#include "crypto/sha256.h"

namespace cloudpact::api {

// One list for tokens and for the policy's `admin:` grants, so the two cannot drift apart.
const std::vector<std::string>& AllPermissions() { return access::AdminPermissions(); }

bool Principal::Has(std::string_view permission) const {
  return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

Result<Principal> Authenticator::Authenticate(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) return MakeError(ErrorCode::kUnauthenticated, "missing bearer token");
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer || header.size() > 512) {
    return MakeError(ErrorCode::kUnauthenticated, "malformed Authorization header; expected \"Bearer <token>\"");
  }
  std::string_view secret = header.substr(kBearer.size());
  crypto::Hash h = crypto::Sha256(secret);
  std::string key(crypto::AsBytes(h));
  std::optional<storage::ApiToken> token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) token = it->second;
  }
  if (!token) {
    ASSIGN_OR_RETURN(token, store_.FindToken(h));
    if (!token) return MakeError(ErrorCode::kUnauthenticated, "unknown token");
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() > 10000) cache_.clear();  // bound memory under token spraying
    cache_[key] = *token;
  }
  // The lookup was by hash; compare again in constant time so that no path depends on
  // where two hashes first differ.
  if (!crypto::ConstantTimeEquals(crypto::AsBytes(token->secret_hash), crypto::AsBytes(h))) {
    return MakeError(ErrorCode::kUnauthenticated, "unknown token");
  }
  if (token->expires_unix != 0 && token->expires_unix <= UnixSeconds(SystemNow())) {
    return MakeError(ErrorCode::kUnauthenticated, "token expired");
  }
  return Principal{token->id, token->name, token->permissions};
}

Result<IssuedToken> Authenticator::Issue(const std::string& name, std::vector<std::string> permissions,
                                         int64_t expires_unix) {
  ASSIGN_OR_RETURN(IssuedToken t, Mint(name, std::move(permissions), expires_unix));
  RETURN_IF_ERROR(Save(t));
  return t;
}

Status Authenticator::Save(const IssuedToken& token) { return store_.PutToken(token.record); }

Result<IssuedToken> Authenticator::Mint(const std::string& name, std::vector<std::string> permissions,
                                        int64_t expires_unix) {
  if (name.empty() || name.size() > 128) return MakeError(ErrorCode::kInvalidArgument, "token name must be 1..128 bytes");
  const auto& all = AllPermissions();
  for (const auto& p : permissions) {
    if (std::find(all.begin(), all.end(), p) == all.end()) {
      return MakeError(ErrorCode::kInvalidArgument, "unknown permission \"" + p + "\"");
    }
  }
  std::sort(permissions.begin(), permissions.end());
  permissions.erase(std::unique(permissions.begin(), permissions.end()), permissions.end());
  IssuedToken t;
  t.secret = "cpt_" + Base64UrlEncode(crypto::RandomBytes(32));
  t.record.id = "tok_" + HexEncode(crypto::RandomBytes(8));
  t.record.name = name;
  t.record.secret_hash = crypto::Sha256(t.secret);
  t.record.permissions = std::move(permissions);
  t.record.created_unix = UnixSeconds(SystemNow());
  t.record.expires_unix = expires_unix;
  return t;
}

}  // namespace cloudpact::api
