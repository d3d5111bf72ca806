// Secrets at rest (TOTP secrets, credentials of integrations): AES-256-GCM under a local
// key file, bound to associated data that names what the secret belongs to.
//
// Sealed format, version 1 (binary):
//   0x01 | nonce (12 random bytes) | ciphertext (as long as the plaintext) | tag (16 bytes)
// The GCM additional authenticated data is the version byte followed by the caller's
// associated data, so neither can be changed without Open failing. Text form, for JSON:
//   "sealed:v1:" + standard base64 (with padding) of the binary form.
// Nonces are random, so one key should seal fewer than 2^32 secrets (NIST SP 800-38D §8.3).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::crypto {

inline constexpr size_t kSealKeyBytes = 32;
inline constexpr size_t kSealOverheadBytes = 1 + 12 + 16;
// Plaintext and associated data are each at most this long (secrets are small; the bound
// also keeps lengths within OpenSSL's int).
inline constexpr size_t kMaxSealBytes = 64 * 1024 * 1024;
inline constexpr std::string_view kSealedTextPrefix = "sealed:v1:";

class Sealer {
 public:
  // Reads the 32-byte key at key_path, or creates it (mode 0600, 32 random bytes) if there
  // is no file. Refuses (kFailedPrecondition) a key file that group or others may access in
  // any way, that is not a regular file, or that is not exactly 32 bytes. If several
  // processes create the key at once, all of them end up with the one that was stored.
  static Result<Sealer> LoadOrCreate(const std::string& key_path);
  // kInvalidArgument unless key is 32 bytes.
  static Result<Sealer> FromKey(std::string_view key);

  Sealer(const Sealer&) = default;
  Sealer& operator=(const Sealer&) = default;
  ~Sealer();  // wipes the key

  // The binary form. kInvalidArgument if plaintext or associated data exceed kMaxSealBytes.
  Result<std::string> Seal(std::string_view plaintext, std::string_view associated_data) const;
  // kInvalidArgument if sealed is shorter than kSealOverheadBytes or not version 1;
  // kDataLoss if it does not authenticate: altered, truncated, sealed under another key or
  // with other associated data.
  Result<std::string> Open(std::string_view sealed, std::string_view associated_data) const;

  // The text form, and its inverse (kInvalidArgument without the prefix or valid base64).
  Result<std::string> SealText(std::string_view plaintext, std::string_view associated_data) const;
  Result<std::string> OpenText(std::string_view text, std::string_view associated_data) const;

 private:
  Sealer() = default;
  std::array<unsigned char, kSealKeyBytes> key_{};
};

// True if text has the text form's prefix (it may still fail to open).
inline bool IsSealedText(std::string_view text) {
  return text.substr(0, kSealedTextPrefix.size()) == kSealedTextPrefix;
}

}  // namespace cloudpact::crypto
