#include "gateway/credentials.h"

#include <libssh/libssh.h>

#include <cstdlib>

namespace cloudpact::gateway {
namespace {

constexpr const char* kKind = "gateway.credential";
constexpr size_t kMaxSecretBytes = 16 * 1024;

std::string RecordId(const std::string& target, const std::string& login) { return target + "/" + login; }

// Binds a sealed credential to where it belongs: opening it under another target or login
// fails, so a row copied in storage does not open someone else's door.
std::string AssociatedData(const std::string& target, const std::string& login) {
  return "cloudpact-target-credential/v1\n" + target + "\n" + login + "\n";
}

Result<std::string> KeyFingerprint(const std::string& pem) {
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_base64(pem.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the key is not an unencrypted OpenSSH or PEM private key (passphrase-protected keys cannot be used)");
  }
  std::string out = SshKeyFingerprint(key);
  ssh_key_free(key);
  if (out.empty()) return MakeError(ErrorCode::kInternal, "cannot fingerprint the key");
  return out;
}

}  // namespace

std::string SshKeyFingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  std::string out;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    if (fp) out = fp;
    ssh_string_free_char(fp);
    ssh_clean_pubkey_hash(&hash);
  }
  return out;
}

bool ValidLogin(const std::string& login) {
  if (login.empty() || login.size() > 32) return false;
  if (!(login[0] == '_' || (login[0] >= 'a' && login[0] <= 'z'))) return false;
  for (char c : login) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

Result<TargetCredential> Credentials::Set(const std::string& target, const std::string& login, const std::string& kind,
                                          const std::string& secret, const std::string& actor, int64_t now) {
  if (!ValidLogin(login)) return MakeError(ErrorCode::kInvalidArgument, "login must match [a-z_][a-z0-9_.-]{0,31}");
  if (secret.empty() || secret.size() > kMaxSecretBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "the secret must be 1 to 16384 bytes");
  }
  TargetCredential c{target, login, kind, secret, "", actor, now};
  if (kind == "key") {
    ASSIGN_OR_RETURN(c.fingerprint, KeyFingerprint(secret));
  } else if (kind != "password") {
    return MakeError(ErrorCode::kInvalidArgument, "kind must be \"key\" or \"password\"");
  }
  ASSIGN_OR_RETURN(auto sealed, sealer_.SealText(secret, AssociatedData(target, login)));
  // Evidence first: if it cannot be recorded, the credential is not changed.
  auto recorded = ledger_.Append({"gateway.credential",
                                 {{"target", target}, {"login", login}, {"kind", kind}, {"fingerprint", c.fingerprint}},
                                 actor,
                                 std::nullopt});
  if (!recorded.ok()) {
    return MakeError(ErrorCode::kUnavailable,
                     "the ledger cannot record the change, so nothing was stored: " + recorded.error().message);
  }
  Json body = {{"target", target}, {"login", login}, {"kind", kind}, {"fingerprint", c.fingerprint},
               {"set_by", actor}, {"set", now}, {"sealed", sealed}};
  RETURN_IF_ERROR(store_.WriteRecords({{kKind, RecordId(target, login), body.dump()}}));
  return c;
}

Result<TargetCredential> Credentials::Get(const std::string& target, const std::string& login) const {
  ASSIGN_OR_RETURN(auto rec, store_.GetRecord(kKind, RecordId(target, login)));
  if (!rec) return MakeError(ErrorCode::kNotFound, "no credential for " + login + " on " + target);
  auto j = Json::parse(rec->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return MakeError(ErrorCode::kDataLoss, "stored credential is not JSON");
  TargetCredential c{target, login, j.value("kind", ""), "", j.value("fingerprint", ""), j.value("set_by", ""),
                     j.value("set", int64_t{0})};
  ASSIGN_OR_RETURN(c.secret, sealer_.OpenText(j.value("sealed", ""), AssociatedData(target, login)));
  return c;
}

Result<std::vector<TargetCredential>> Credentials::List(const std::string& target) const {
  ASSIGN_OR_RETURN(auto records, store_.ListRecords(kKind));
  std::vector<TargetCredential> out;
  const std::string prefix = target + "/";
  for (const auto& rec : records) {
    if (rec.id.rfind(prefix, 0) != 0) continue;
    auto j = Json::parse(rec.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    out.push_back({target, j.value("login", ""), j.value("kind", ""), "", j.value("fingerprint", ""),
                   j.value("set_by", ""), j.value("set", int64_t{0})});
  }
  return out;
}

}  // namespace cloudpact::gateway
