#include "crypto/ssh_key.h"

#include <array>
#include <cstdint>

#include "core/encoding.h"
#include "crypto/sha256.h"

namespace cloudpact::crypto {
namespace {

constexpr std::string_view kEd25519 = "ssh-ed25519";
constexpr std::string_view kEcdsaP256 = "ecdsa-sha2-nistp256";
constexpr std::string_view kRsa = "ssh-rsa";

// authorized_keys options (sshd(8), "AUTHORIZED_KEYS FILE FORMAT") that take no value;
// the others contain '='.
constexpr std::array<std::string_view, 16> kFlagOptions = {"agent-forwarding",
                                                           "cert-authority",
                                                           "no-agent-forwarding",
                                                           "no-port-forwarding",
                                                           "no-pty",
                                                           "no-user-rc",
                                                           "no-x11-forwarding",
                                                           "port-forwarding",
                                                           "pty",
                                                           "no-touch-required",
                                                           "verify-required",
                                                           "restrict",
                                                           "user-rc",
                                                           "x11-forwarding",
                                                           "touch-required",
                                                           "permit-pty"};

Error Bad(std::string why) {
  return MakeError(ErrorCode::kInvalidArgument, "ssh key: " + std::move(why));
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// A piece of untrusted input fit to quote in an error message.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 40)) {
    auto b = static_cast<unsigned char>(c);
    out += (b >= 0x20 && b < 0x7f && c != '"') ? c : '?';
  }
  if (s.size() > 40) out += "...";
  return out + "\"";
}

bool LooksLikeOptions(std::string_view token) {
  if (token.find_first_of("=,\"") != std::string_view::npos) return true;
  std::string lower;
  for (char c : token) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (std::string_view o : kFlagOptions) {
    if (lower == o) return true;
  }
  return false;
}

// Reads SSH wire-format strings (uint32 big-endian length, then bytes) from a key blob,
// never past its end.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  Result<std::string_view> String(const char* what) {
    if (data_.size() < 4) return Bad(std::string("key data ends before the ") + what);
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint8_t>(data_[i]);
    data_.remove_prefix(4);
    if (len > data_.size()) {
      return Bad(std::string("length of the ") + what + " (" + std::to_string(len) +
                 " bytes) runs past the end of the key data");
    }
    std::string_view s = data_.substr(0, len);
    data_.remove_prefix(len);
    return s;
  }
  size_t remaining() const { return data_.size(); }

 private:
  std::string_view data_;
};

// mpint (RFC 4251 §5) for RSA: positive, so non-empty and without the sign bit.
Status CheckPositiveMpint(std::string_view v, const char* what) {
  if (v.empty() || (static_cast<uint8_t>(v[0]) & 0x80) != 0) {
    return Bad(std::string("the ") + what + " is not a positive integer");
  }
  return OkStatus();
}

Status CheckBlob(std::string_view type, std::string_view blob) {
  WireReader r(blob);
  ASSIGN_OR_RETURN(std::string_view inner, r.String("key type"));
  if (inner != type) {
    return Bad("the key data is for " + Quote(inner) + " but the line says " + Quote(type));
  }
  if (type == kEd25519) {
    ASSIGN_OR_RETURN(std::string_view key, r.String("ed25519 key"));
    if (key.size() != 32) {
      return Bad("an ed25519 key is 32 bytes, this one is " + std::to_string(key.size()));
    }
  } else if (type == kEcdsaP256) {
    ASSIGN_OR_RETURN(std::string_view curve, r.String("curve name"));
    if (curve != "nistp256") return Bad("curve " + Quote(curve) + " is not nistp256");
    ASSIGN_OR_RETURN(std::string_view point, r.String("ecdsa point"));
    if (point.size() != 65 || point[0] != '\x04') {
      return Bad("the ecdsa key is not an uncompressed P-256 point (65 bytes starting 04)");
    }
  } else {  // ssh-rsa
    ASSIGN_OR_RETURN(std::string_view e, r.String("rsa exponent"));
    RETURN_IF_ERROR(CheckPositiveMpint(e, "rsa exponent"));
    ASSIGN_OR_RETURN(std::string_view n, r.String("rsa modulus"));
    RETURN_IF_ERROR(CheckPositiveMpint(n, "rsa modulus"));
  }
  if (r.remaining() != 0) {
    return Bad(std::to_string(r.remaining()) + " unexpected bytes after the key");
  }
  return OkStatus();
}

}  // namespace

std::string SshPublicKey::Fingerprint() const {
  std::string b64 = Base64Encode(AsBytes(Sha256(blob)));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string SshPublicKey::ToLine() const {
  std::string line = type + " " + Base64Encode(blob);
  if (!comment.empty()) line += " " + comment;
  return line;
}

Result<SshPublicKey> ParseSshPublicKey(std::string_view line) {
  if (line.size() > kMaxSshKeyLineBytes) {
    return Bad("line longer than " + std::to_string(kMaxSshKeyLineBytes) + " bytes");
  }
  if (line.size() >= 1 && line.back() == '\n') line.remove_suffix(1);
  if (line.size() >= 1 && line.back() == '\r') line.remove_suffix(1);
  for (char c : line) {
    if (c == '\n') return Bad("more than one line; give one key");
    auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\t') || b == 0x7f) return Bad("control character in line");
  }
  while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
  while (!line.empty() && IsBlank(line.back())) line.remove_suffix(1);
  if (line.empty()) return Bad("empty line");
  if (line.front() == '#') return Bad("the line is a comment, not a key");

  auto next_token = [&line]() {
    size_t end = 0;
    while (end < line.size() && !IsBlank(line[end])) ++end;
    std::string_view token = line.substr(0, end);
    line.remove_prefix(end);
    while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
    return token;
  };

  SshPublicKey key;
  std::string_view type = next_token();
  if (type != kEd25519 && type != kEcdsaP256 && type != kRsa) {
    if (LooksLikeOptions(type)) {
      return Bad("options before the key (" + Quote(type) +
                 ") are not accepted; give the key line alone");
    }
    return Bad("unsupported key type " + Quote(type) +
               " (supported: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa)");
  }
  std::string_view data = next_token();
  if (data.empty()) return Bad("no key data after the type");
  auto blob = Base64Decode(data);
  if (!blob.ok()) return Bad("the key data is not valid base64");
  RETURN_IF_ERROR(CheckBlob(type, *blob));

  key.type = std::string(type);
  key.blob = std::move(blob).value();
  key.comment = std::string(line);  // the rest, blanks inside kept
  return key;
}

}  // namespace cloudpact::crypto
