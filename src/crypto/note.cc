#include "crypto/note.h"

#include "core/encoding.h"
#include "crypto/sha256.h"

namespace cloudpact::crypto {
namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014, U+0020

uint32_t ReadU32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) | (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

std::string U32Bytes(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}

std::string U64Bytes(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  return out;
}

// Validates UTF-8 (no overlongs, no surrogates) and rejects control characters but '\n'.
bool ValidNoteUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\n') return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '+' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return false;
    // U+0085, U+00A0 and the U+2000..U+200A, U+2028/9, U+202F, U+205F, U+3000 spaces.
    if (c == 0xc2 && i + 1 < name.size()) {
      unsigned char d = static_cast<unsigned char>(name[i + 1]);
      if (d == 0x85 || d == 0xa0) return false;
    }
    if (c == 0xe2 && i + 2 < name.size()) {
      unsigned char d = static_cast<unsigned char>(name[i + 1]);
      unsigned char e = static_cast<unsigned char>(name[i + 2]);
      if (d == 0x80 && (e <= 0x8a || e == 0xa8 || e == 0xa9 || e == 0xaf)) return false;
      if (d == 0x81 && e == 0x9f) return false;
    }
    if (c == 0xe3 && i + 2 < name.size() && name[i + 1] == '\x80' && name[i + 2] == '\x80') return false;
    if (c == 0xe1 && i + 2 < name.size() && name[i + 1] == '\x9a' && name[i + 2] == '\x80') return false;
  }
  return ValidNoteUtf8(name);
}

uint32_t NoteKeyId(std::string_view name, NoteSigType type, std::string_view public_key) {
  const char t = static_cast<char>(type);
  Hash h = Sha256({name, "\n", std::string_view(&t, 1), public_key});
  return ReadU32(AsBytes(h));
}

Result<Note> ParseNote(std::string_view msg) {
  if (msg.size() > kMaxNoteBytes) {
    return MakeError(ErrorCode::kResourceExhausted, "note: larger than " + std::to_string(kMaxNoteBytes) + " bytes");
  }
  if (!ValidNoteUtf8(msg)) {
    return MakeError(ErrorCode::kInvalidArgument, "note: invalid UTF-8 or control character");
  }
  if (msg.empty() || msg.back() != '\n') {
    return MakeError(ErrorCode::kInvalidArgument, "note: must end in a newline");
  }
  size_t split = msg.rfind("\n\n");
  if (split == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "note: no blank line before the signatures");
  }
  Note note;
  note.text = std::string(msg.substr(0, split + 1));
  std::string_view sigs = msg.substr(split + 2);
  if (sigs.empty()) return MakeError(ErrorCode::kInvalidArgument, "note: no signatures");
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (note.signatures.size() >= kMaxNoteSignatures) {
      return MakeError(ErrorCode::kResourceExhausted, "note: too many signatures");
    }
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return MakeError(ErrorCode::kInvalidArgument, "note: signature line must start with an em dash and a space");
    }
    line.remove_prefix(kEmDashSpace.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "note: malformed signature line");
    }
    std::string_view name = line.substr(0, sp);
    if (!IsValidKeyName(name)) return MakeError(ErrorCode::kInvalidArgument, "note: invalid key name");
    auto raw = Base64Decode(line.substr(sp + 1));
    if (!raw.ok() || raw->size() < 5) {
      return MakeError(ErrorCode::kInvalidArgument, "note: malformed signature encoding");
    }
    note.signatures.push_back(NoteSignature{std::string(name), ReadU32(*raw), raw->substr(4)});
  }
  return note;
}

std::string FormatSignatureLine(const NoteSignature& sig) {
  return std::string(kEmDashSpace) + sig.name + " " + Base64Encode(U32Bytes(sig.key_id) + sig.signature) + "\n";
}

std::string FormatNote(const Note& note) {
  std::string out = note.text + "\n";
  for (const auto& s : note.signatures) out += FormatSignatureLine(s);
  return out;
}

Result<NoteVerifier> NoteVerifier::Parse(std::string_view vkey) {
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  // The key is standard base64, which may itself contain '+': split at the first two.
  if (p2 == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "vkey: expected <name>+<hex id>+<base64 key>");
  }
  std::string_view name = vkey.substr(0, p1);
  std::string_view hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  if (!IsValidKeyName(name)) return MakeError(ErrorCode::kInvalidArgument, "vkey: invalid key name");
  auto id = HexDecode(hex);
  if (!id.ok() || id->size() != 4) return MakeError(ErrorCode::kInvalidArgument, "vkey: key ID must be 8 hex digits");
  auto key = Base64Decode(vkey.substr(p2 + 1));
  if (!key.ok() || key->size() != 33) {
    return MakeError(ErrorCode::kInvalidArgument, "vkey: key must be a type byte and 32 bytes");
  }
  uint8_t type = static_cast<uint8_t>((*key)[0]);
  if (type != 0x01 && type != 0x04) {
    return MakeError(ErrorCode::kInvalidArgument, "vkey: unsupported signature type");
  }
  NoteVerifier v = FromPublicKey(std::string(name), static_cast<NoteSigType>(type), key->substr(1));
  if (v.key_id_ != ReadU32(*id)) {
    return MakeError(ErrorCode::kInvalidArgument, "vkey: key ID does not match the key");
  }
  return v;
}

NoteVerifier NoteVerifier::FromPublicKey(std::string name, NoteSigType type, std::string public_key) {
  NoteVerifier v;
  v.key_id_ = NoteKeyId(name, type, public_key);
  v.name_ = std::move(name);
  v.type_ = type;
  v.public_key_ = std::move(public_key);
  return v;
}

std::string NoteVerifier::ToString() const {
  const char t = static_cast<char>(type_);
  return name_ + "+" + HexEncode(U32Bytes(key_id_)) + "+" + Base64Encode(std::string(1, t) + public_key_);
}

bool NoteVerifier::Verify(std::string_view text, std::string_view signature, uint64_t* timestamp) const {
  if (type_ == NoteSigType::kEd25519) return Ed25519Verify(public_key_, text, signature);
  if (signature.size() != 72) return false;
  uint64_t ts = (uint64_t{ReadU32(signature.substr(0, 4))} << 32) | ReadU32(signature.substr(4, 4));
  if (ts > (uint64_t{1} << 63) - 1) return false;
  if (!Ed25519Verify(public_key_, CosignatureMessage(text, ts), signature.substr(8))) return false;
  if (timestamp) *timestamp = ts;
  return true;
}

NoteSigner::NoteSigner(std::string name, Ed25519PrivateKey key, NoteSigType type)
    : name_(std::move(name)), key_(std::move(key)), type_(type) {}

Result<NoteSigner> NoteSigner::ParsePrivateKey(std::string_view text) {
  constexpr std::string_view kPrefix = "PRIVATE+KEY+";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return MakeError(ErrorCode::kInvalidArgument, "private key: missing PRIVATE+KEY+ prefix");
  }
  // After the prefix the layout is that of a vkey, with the seed in place of the public key.
  std::string_view rest = text.substr(kPrefix.size());
  size_t p1 = rest.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : rest.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return MakeError(ErrorCode::kInvalidArgument, "private key: malformed");
  std::string_view name = rest.substr(0, p1);
  auto id = HexDecode(rest.substr(p1 + 1, p2 - p1 - 1));
  auto raw = Base64Decode(rest.substr(p2 + 1));
  if (!IsValidKeyName(name)) return MakeError(ErrorCode::kInvalidArgument, "private key: invalid key name");
  if (!id.ok() || id->size() != 4) return MakeError(ErrorCode::kInvalidArgument, "private key: malformed key ID");
  if (!raw.ok() || raw->size() != 33) return MakeError(ErrorCode::kInvalidArgument, "private key: malformed key");
  uint8_t type = static_cast<uint8_t>((*raw)[0]);
  if (type != 0x01 && type != 0x04) {
    return MakeError(ErrorCode::kInvalidArgument, "private key: unsupported signature type");
  }
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, Ed25519PrivateKey::FromSeed(raw->substr(1)));
  NoteSigner signer(std::string(name), std::move(key), static_cast<NoteSigType>(type));
  if (signer.Verifier().key_id() != ReadU32(*id)) {
    return MakeError(ErrorCode::kInvalidArgument, "private key: key ID does not match the key");
  }
  return signer;
}

std::string NoteSigner::PrivateKeyString() const {
  const char t = static_cast<char>(type_);
  return "PRIVATE+KEY+" + name_ + "+" + HexEncode(U32Bytes(Verifier().key_id())) + "+" +
         Base64Encode(std::string(1, t) + key_.seed());
}

NoteVerifier NoteSigner::Verifier() const {
  return NoteVerifier::FromPublicKey(name_, type_, key_.public_key());
}

NoteSignature NoteSigner::Sign(std::string_view text, uint64_t timestamp) const {
  NoteSignature sig;
  sig.name = name_;
  sig.key_id = Verifier().key_id();
  if (type_ == NoteSigType::kEd25519) {
    sig.signature = key_.Sign(text);
  } else {
    sig.signature = U64Bytes(timestamp) + key_.Sign(CosignatureMessage(text, timestamp));
  }
  return sig;
}

std::string CosignatureMessage(std::string_view text, uint64_t timestamp) {
  std::string msg = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  msg.append(text);
  return msg;
}

Result<std::vector<NoteSignature>> VerifyNote(const Note& note, const std::vector<NoteVerifier>& known) {
  std::vector<NoteSignature> verified;
  for (const auto& sig : note.signatures) {
    for (const auto& v : known) {
      if (v.name() != sig.name || v.key_id() != sig.key_id) continue;
      if (!v.Verify(note.text, sig.signature)) {
        return MakeError(ErrorCode::kPermissionDenied, "note: invalid signature by " + sig.name);
      }
      verified.push_back(sig);
    }
  }
  if (verified.empty()) {
    return MakeError(ErrorCode::kPermissionDenied, "note: no signature by a known key");
  }
  return verified;
}

}  // namespace cloudpact::crypto
