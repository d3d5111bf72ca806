// Password hashing with Argon2id (RFC 9106) through libargon2, stored as PHC strings:
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
// with salt and hash in unpadded standard base64, as the reference implementation writes
// them. Each hash has a fresh 16-byte random salt.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::crypto {

// The cost of one hash. The defaults are OWASP's recommended Argon2id configuration
// (Password Storage Cheat Sheet): 19 MiB of memory, 2 passes, 1 lane.
struct PasswordParams {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;

  bool operator==(const PasswordParams&) const = default;
};

// Passwords are 1 to kMaxPasswordBytes bytes, taken as they are (no normalisation); the
// bound keeps an unauthenticated caller from making us hash megabytes.
inline constexpr size_t kMaxPasswordBytes = 1024;
// Bounds on the parameters accepted for hashing and in stored PHC strings, so that a
// corrupted or planted hash cannot make one verification take gigabytes or minutes.
inline constexpr uint32_t kMaxPasswordMemoryKib = 1024 * 1024;  // 1 GiB
inline constexpr uint32_t kMaxPasswordIterations = 64;
inline constexpr uint32_t kMaxPasswordParallelism = 16;

// Hashes with the default parameters. Errors: kInvalidArgument for an empty or too long
// password (or out-of-bounds params), kResourceExhausted if the memory cannot be allocated.
Result<std::string> HashPassword(std::string_view password);
Result<std::string> HashPassword(std::string_view password, const PasswordParams& params);

// True if password matches the PHC string, false if it does not. kInvalidArgument for an
// empty or too long password, or a PHC string that is malformed, not argon2id v=19, or
// outside the bounds above. Takes as long as one hash with the PHC string's parameters.
Result<bool> VerifyPassword(std::string_view password, std::string_view phc);

// True if phc was not made by HashPassword(…, params): other parameters, another
// algorithm or version, or unparseable. Call after a successful VerifyPassword, when the
// plaintext is at hand, to re-hash and store the new string.
bool NeedsRehash(std::string_view phc, const PasswordParams& params = PasswordParams());

// For a sign-in naming an unknown user: does the work of VerifyPassword against a hash
// made with params (one Argon2id computation) and returns false, or the same errors as
// VerifyPassword for an empty or too long password. Answering unknown users at once would
// tell an attacker which user names exist.
Result<bool> DummyVerify(std::string_view password,
                         const PasswordParams& params = PasswordParams());

}  // namespace cloudpact::crypto
