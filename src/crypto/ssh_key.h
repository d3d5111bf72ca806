// OpenSSH public keys as users paste them: one authorized_keys-style line,
//   <type> <base64 blob> [comment]
// for the types ssh-ed25519, ecdsa-sha2-nistp256 and ssh-rsa. The blob's wire structure
// (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) is checked, its key material is not
// interpreted beyond that: an RSA modulus or a P-256 point is carried as opaque bytes.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::crypto {

struct SshPublicKey {
  std::string type;     // "ssh-ed25519", "ecdsa-sha2-nistp256" or "ssh-rsa"
  std::string blob;     // the decoded key blob, in SSH wire format
  std::string comment;  // may be empty; never contains control characters

  // "SHA256:" + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it.
  std::string Fingerprint() const;
  // "<type> <base64 blob>[ <comment>]", which ParseSshPublicKey reads back unchanged.
  std::string ToLine() const;
};

// Bound on an accepted line; OpenSSH's own limit on a key blob is 16 KiB.
inline constexpr size_t kMaxSshKeyLineBytes = 32 * 1024;

// Parses one line. Leading and trailing spaces and tabs, and one trailing "\n" or "\r\n",
// are ignored; type, blob and comment are separated by spaces or tabs, and the comment
// runs to the end of the line. kInvalidArgument, with a message naming the problem, for:
// an options prefix (from="…", no-pty, …), an unsupported key type, invalid base64, a
// blob whose type string differs from the declared type, a length field beyond the blob,
// trailing bytes in the blob, an ed25519 key that is not 32 bytes, an ecdsa key on another
// curve or not an uncompressed point, control characters, or more than one line.
Result<SshPublicKey> ParseSshPublicKey(std::string_view line);

}  // namespace cloudpact::crypto
