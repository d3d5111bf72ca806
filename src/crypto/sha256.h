#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloudpact::crypto {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(std::string_view data);
// SHA-256 over the concatenation of parts, without copying them together.
Hash Sha256(std::initializer_list<std::string_view> parts);

// Lower-case hex of SHA-256(data): how entries, recordings and files name their digests.
std::string Sha256Hex(std::string_view data);

inline std::string_view AsBytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}
// Incremental SHA-256 for streams (recordings, transferred files) that are never held whole.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  Hash Final();  // the digest of everything given; the stream then starts over
  uint64_t bytes() const { return bytes_; }

 private:
  void* ctx_;  // EVP_MD_CTX*
  uint64_t bytes_ = 0;
};

// HMAC-SHA256 (RFC 2104), e.g. for signing webhook bodies.
Hash HmacSha256(std::string_view key, std::string_view data);
// Constant-time comparison of equal-length byte strings (false if lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// Cryptographically secure random bytes from the OS (OpenSSL's DRBG).
std::string RandomBytes(size_t n);

}  // namespace cloudpact::crypto
