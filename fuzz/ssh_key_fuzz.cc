// OpenSSH public key lines as users paste them (authorized_keys style).
#include <cstdlib>
#include <string_view>

#include "crypto/ssh_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto key = cloudpact::crypto::ParseSshPublicKey(in);
  if (!key.ok()) return 0;
  // Whatever parses must print as a line that parses back to the same key.
  auto again = cloudpact::crypto::ParseSshPublicKey(key->ToLine());
  if (!again.ok() || again->type != key->type || again->blob != key->blob ||
      again->comment != key->comment || again->ToLine() != key->ToLine()) {
    std::abort();
  }
  // "SHA256:" and 43 characters of unpadded base64.
  if (key->Fingerprint().size() != 7 + 43) std::abort();
  return 0;
}
