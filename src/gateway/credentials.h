// The credentials the gateway logs in to targets with. Operators never see them: they are
// set by someone holding targets:credentials, kept sealed (AES-256-GCM, crypto::Sealer) in
// storage, bound to their target and login so that a sealed value cannot be moved to
// another target, and opened only for the moment of a connection. Setting one is ledgered
// with the key's public fingerprint, never the secret.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "crypto/seal.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

struct ssh_key_struct;

namespace cloudpact::gateway {

struct TargetCredential {
  std::string target;
  std::string login;
  std::string kind;         // "key" (an OpenSSH or PEM private key) or "password"
  std::string secret;       // only in memory, only while connecting
  std::string fingerprint;  // "SHA256:…" of the public key, for keys
  std::string set_by;
  int64_t set = 0;
};

class Credentials {
 public:
  Credentials(storage::Storage& store, ledger::Ledger& ledger, const crypto::Sealer& sealer)
      : store_(store), ledger_(ledger), sealer_(sealer) {}

  // Validates (a key must parse; logins are [a-z_][a-z0-9_.-]*), ledgers
  // "gateway.credential" {target, login, kind, fingerprint}, then stores it sealed.
  Result<TargetCredential> Set(const std::string& target, const std::string& login, const std::string& kind,
                               const std::string& secret, const std::string& actor, int64_t now);
  // kNotFound when none is set.
  Result<TargetCredential> Get(const std::string& target, const std::string& login) const;
  // Which logins of a target have a credential (no secrets).
  Result<std::vector<TargetCredential>> List(const std::string& target) const;

 private:
  storage::Storage& store_;
  ledger::Ledger& ledger_;
  const crypto::Sealer& sealer_;
};

bool ValidLogin(const std::string& login);

// "SHA256:…" of an SSH key's public half, as `ssh-keygen -l` prints it ("" if it cannot be
// computed). Takes libssh's ssh_key.
std::string SshKeyFingerprint(ssh_key_struct* key);

}  // namespace cloudpact::gateway
