#include "crypto/password.h"

#include <argon2.h>

#include <cstring>
#include <vector>

#include "core/encoding.h"
#include "crypto/sha256.h"

namespace cloudpact::crypto {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// Bounds on what a stored PHC string may hold; ours always have 16 and 32 bytes.
constexpr size_t kMinPhcSaltBytes = 8, kMaxPhcSaltBytes = 64;
constexpr size_t kMinPhcHashBytes = 16, kMaxPhcHashBytes = 64;
constexpr size_t kMaxPhcChars = 512;

struct Phc {
  PasswordParams params;
  std::string salt, hash;
};

Status CheckPassword(std::string_view password) {
  if (password.empty())
    return MakeError(ErrorCode::kInvalidArgument, "password: must not be empty");
  if (password.size() > kMaxPasswordBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "password: longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  return OkStatus();
}

Status CheckParams(const PasswordParams& p) {
  if (p.iterations < 1 || p.iterations > kMaxPasswordIterations || p.parallelism < 1 ||
      p.parallelism > kMaxPasswordParallelism || p.memory_kib > kMaxPasswordMemoryKib ||
      // Argon2 needs at least 8 KiB per lane (two blocks per slice, four slices).
      p.memory_kib < 8 * p.parallelism) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "password: argon2id parameters out of bounds (m=" + std::to_string(p.memory_kib) +
            ",t=" + std::to_string(p.iterations) + ",p=" + std::to_string(p.parallelism) + ")");
  }
  return OkStatus();
}

Result<uint32_t> ParseU32(std::string_view text) {
  auto v = ParseDecimal(text);
  if (!v.ok() || *v > UINT32_MAX) return MakeError(ErrorCode::kInvalidArgument, "not a number");
  return static_cast<uint32_t>(*v);
}

// Unpadded standard base64, as PHC strings use it; canonical trailing bits required.
Result<std::string> DecodeUnpaddedBase64(std::string_view text) {
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return MakeError(ErrorCode::kInvalidArgument, "invalid base64");
  }
  if (text.size() % 4 == 1) return MakeError(ErrorCode::kInvalidArgument, "invalid base64 length");
  std::string padded(text);
  padded.append((4 - text.size() % 4) % 4, '=');
  return Base64Decode(padded);
}

Error PhcError(std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument, "password hash: " + std::string(why));
}

// Our own parse of the PHC string, before libargon2 sees it: libargon2 does not export
// its decoder, and it would allocate whatever memory the string asks for.
Result<Phc> ParsePhc(std::string_view phc) {
  if (phc.size() > kMaxPhcChars) return PhcError("too long");
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t d = phc.find('$', start);
    fields.push_back(phc.substr(start, d == std::string_view::npos ? d : d - start));
    if (d == std::string_view::npos) break;
    start = d + 1;
  }
  if (fields.size() != 6 || !fields[0].empty()) return PhcError("not a PHC string");
  if (fields[1] != "argon2id") return PhcError("not argon2id");
  if (fields[2] != "v=19") return PhcError("not argon2 version 19");

  // m=<u32>,t=<u32>,p=<u32>, in this order, as the reference encoder writes it.
  Phc out;
  std::string_view p = fields[3];
  uint32_t* targets[] = {&out.params.memory_kib, &out.params.iterations, &out.params.parallelism};
  const char* names[] = {"m=", "t=", "p="};
  for (int i = 0; i < 3; ++i) {
    if (p.substr(0, 2) != names[i]) return PhcError("expected m=…,t=…,p=…");
    p.remove_prefix(2);
    size_t comma = p.find(',');
    if ((i < 2) != (comma != std::string_view::npos)) return PhcError("expected m=…,t=…,p=…");
    auto v = ParseU32(p.substr(0, comma));
    if (!v.ok()) return PhcError("bad parameter value");
    *targets[i] = *v;
    p = i < 2 ? p.substr(comma + 1) : std::string_view();
  }
  if (!CheckParams(out.params).ok()) return PhcError("parameters out of bounds");

  auto salt = DecodeUnpaddedBase64(fields[4]);
  auto hash = DecodeUnpaddedBase64(fields[5]);
  if (!salt.ok() || !hash.ok()) return PhcError("bad base64 in salt or hash");
  if (salt->size() < kMinPhcSaltBytes || salt->size() > kMaxPhcSaltBytes) {
    return PhcError("salt length out of bounds");
  }
  if (hash->size() < kMinPhcHashBytes || hash->size() > kMaxPhcHashBytes) {
    return PhcError("hash length out of bounds");
  }
  out.salt = std::move(salt).value();
  out.hash = std::move(hash).value();
  return out;
}

Error Argon2Error(int rc) {
  ErrorCode code =
      rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return MakeError(code, std::string("argon2: ") + argon2_error_message(rc));
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  return HashPassword(password, PasswordParams());
}

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params) {
  RETURN_IF_ERROR(CheckPassword(password));
  RETURN_IF_ERROR(CheckParams(params));
  std::string salt = RandomBytes(kSaltBytes);
  size_t len = argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                                 kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                                 password.data(), password.size(), salt.data(), salt.size(),
                                 kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Argon2Error(rc);
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

Result<bool> VerifyPassword(std::string_view password, std::string_view phc) {
  RETURN_IF_ERROR(CheckPassword(password));
  RETURN_IF_ERROR(ParsePhc(phc));
  std::string encoded(phc);  // libargon2 wants a NUL-terminated string
  // argon2id_verify recomputes the hash and compares it with the stored one in constant
  // time (argon2_compare in the reference implementation), so the time taken tells
  // nothing about how many bytes matched.
  int rc = argon2id_verify(encoded.c_str(), password.data(), password.size());
  if (rc == ARGON2_OK) return true;
  if (rc == ARGON2_VERIFY_MISMATCH) return false;
  if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) return Argon2Error(rc);
  // Anything else means libargon2 rejected a string our parser accepted.
  return PhcError(argon2_error_message(rc));
}

bool NeedsRehash(std::string_view phc, const PasswordParams& params) {
  auto parsed = ParsePhc(phc);
  return !parsed.ok() || parsed->params != params || parsed->salt.size() != kSaltBytes ||
         parsed->hash.size() != kHashBytes;
}

Result<bool> DummyVerify(std::string_view password, const PasswordParams& params) {
  RETURN_IF_ERROR(CheckPassword(password));
  RETURN_IF_ERROR(CheckParams(params));
  // One Argon2id computation with the same cost as verifying against a stored hash; the
  // salt is fixed because the result is thrown away.
  static const std::string kSalt(kSaltBytes, 's');
  std::string out(kHashBytes, '\0');
  int rc =
      argon2id_hash_raw(params.iterations, params.memory_kib, params.parallelism, password.data(),
                        password.size(), kSalt.data(), kSalt.size(), out.data(), out.size());
  if (rc != ARGON2_OK) return Argon2Error(rc);
  (void)ConstantTimeEquals(out, std::string(kHashBytes, '\0'));
  return false;
}

}  // namespace cloudpact::crypto
