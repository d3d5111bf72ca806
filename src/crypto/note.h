// C2SP signed-note: notes, signature lines, verifier keys ("vkeys"), and the Ed25519
// signature types the transparency log uses: 0x01 (log signatures) and 0x04
// (timestamped cosignatures, C2SP tlog-cosignature).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/ed25519.h"

namespace cloudpact::crypto {

enum class NoteSigType : uint8_t { kEd25519 = 0x01, kCosignatureV1 = 0x04 };

// key ID = SHA-256(name || 0x0A || type || public key)[:4], big-endian.
uint32_t NoteKeyId(std::string_view name, NoteSigType type, std::string_view public_key);
// True if name is a valid key name: non-empty, no Unicode spaces, no '+'.
bool IsValidKeyName(std::string_view name);

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the 4-byte key ID
};

struct Note {
  std::string text;  // ends in '\n'
  std::vector<NoteSignature> signatures;
};

// Bounds for untrusted notes; the spec requires accepting at least 16 signatures.
inline constexpr size_t kMaxNoteBytes = 64 * 1024;
inline constexpr size_t kMaxNoteSignatures = 100;

// Parses a signed note, checking its structure (not its signatures).
Result<Note> ParseNote(std::string_view message);
std::string FormatSignatureLine(const NoteSignature& sig);
std::string FormatNote(const Note& note);

class NoteVerifier {
 public:
  // Parses "<name>+<hex key ID>+<base64(type || key)>"; types 0x01 and 0x04 are supported.
  static Result<NoteVerifier> Parse(std::string_view vkey);
  static NoteVerifier FromPublicKey(std::string name, NoteSigType type, std::string public_key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  NoteSigType type() const { return type_; }
  const std::string& public_key() const { return public_key_; }
  std::string ToString() const;
  // Checks one signature over a note text. For cosignatures, the timestamp is returned.
  bool Verify(std::string_view text, std::string_view signature, uint64_t* timestamp = nullptr) const;

 private:
  std::string name_;
  uint32_t key_id_ = 0;
  NoteSigType type_ = NoteSigType::kEd25519;
  std::string public_key_;
};

class NoteSigner {
 public:
  NoteSigner(std::string name, Ed25519PrivateKey key, NoteSigType type = NoteSigType::kEd25519);
  // "PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>", the format of Go's
  // golang.org/x/mod/sumdb/note, so keys move between implementations.
  static Result<NoteSigner> ParsePrivateKey(std::string_view text);
  std::string PrivateKeyString() const;

  const std::string& name() const { return name_; }
  NoteVerifier Verifier() const;
  // Signs the note text; for cosignatures `timestamp` is the POSIX time to commit to.
  NoteSignature Sign(std::string_view text, uint64_t timestamp = 0) const;

 private:
  std::string name_;
  Ed25519PrivateKey key_;
  NoteSigType type_;
};

// The cosignature/v1 message: "cosignature/v1\ntime <ts>\n" || checkpoint text.
std::string CosignatureMessage(std::string_view text, uint64_t timestamp);

// Verifies a note against trusted keys per the spec: signatures from unknown keys are
// ignored; a signature from a known key that fails rejects the note; at least one
// signature by a known key must verify. Returns the verified signatures.
Result<std::vector<NoteSignature>> VerifyNote(const Note& note,
                                              const std::vector<NoteVerifier>& known);

}  // namespace cloudpact::crypto
