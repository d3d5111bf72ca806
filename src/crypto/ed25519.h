// Ed25519 (RFC 8032) through OpenSSL 3.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::crypto {

class Ed25519PrivateKey {
 public:
  static Ed25519PrivateKey Generate();
  // From the 32-byte RFC 8032 seed.
  static Result<Ed25519PrivateKey> FromSeed(std::string_view seed);

  const std::string& seed() const { return seed_; }
  const std::string& public_key() const { return public_key_; }  // 32 bytes
  std::string Sign(std::string_view message) const;              // 64 bytes

 private:
  std::string seed_, public_key_;
};

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace cloudpact::crypto
