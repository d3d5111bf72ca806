#include "crypto/note.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "crypto/ed25519.h"
#include "crypto/sha256.h"
#include "testing/fixtures.h"

namespace cloudpact::crypto {
namespace {

const std::string kDash = "\xe2\x80\x94 ";  // U+2014 EM DASH, U+0020 SPACE

// The example of C2SP signed-note ("Verifier keys" / "Example").
const std::string kExampleVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const std::string kExampleText = "This is an example message.\n";
const std::string kExampleSigLine =
    kDash +
    "example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const std::string kExampleNote = kExampleText + "\n" + kExampleSigLine;

// The Tessera test log's key (shared/interop/tessera-testlog/README.md).
const std::string kTesseraVkey =
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

std::string FixtureDir() { return testing::TesseraDir(); }

std::string ReadFile(const std::string& path) { return testing::ReadFixture(path); }

std::string Unhex(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? *r : std::string();
}

NoteVerifier MustParseVkey(const std::string& vkey) {
  auto v = NoteVerifier::Parse(vkey);
  EXPECT_TRUE(v.ok()) << vkey << ": " << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : NoteVerifier::FromPublicKey("invalid", NoteSigType::kEd25519, std::string(32, '\0'));
}

Note MustParseNote(const std::string& text) {
  auto n = ParseNote(text);
  EXPECT_TRUE(n.ok()) << text << ": " << (n.ok() ? "" : n.error().message);
  return n.ok() ? *n : Note{};
}

NoteSigner NewSigner(const std::string& name, NoteSigType type = NoteSigType::kEd25519) {
  return NoteSigner(name, Ed25519PrivateKey::Generate(), type);
}

// ---------------------------------------------------------------------------------------
// Known answers from the specifications.

TEST(NoteTest, SpecExampleVerifies) {
  NoteVerifier v = MustParseVkey(kExampleVkey);
  EXPECT_EQ(v.name(), "example.com/foo");
  EXPECT_EQ(v.key_id(), 0x530d903au);
  EXPECT_EQ(v.type(), NoteSigType::kEd25519);
  EXPECT_EQ(v.public_key().size(), 32u);
  EXPECT_EQ(v.ToString(), kExampleVkey);

  Note note = MustParseNote(kExampleNote);
  EXPECT_EQ(note.text, kExampleText);
  ASSERT_EQ(note.signatures.size(), 1u);
  EXPECT_EQ(note.signatures[0].name, "example.com/foo");
  EXPECT_EQ(note.signatures[0].key_id, 0x530d903au);
  EXPECT_EQ(note.signatures[0].signature.size(), 64u);
  EXPECT_EQ(FormatNote(note), kExampleNote);

  auto verified = VerifyNote(note, {v});
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  ASSERT_EQ(verified->size(), 1u);
  EXPECT_EQ((*verified)[0].name, "example.com/foo");
  EXPECT_TRUE(v.Verify(note.text, note.signatures[0].signature));
}

TEST(NoteTest, TesseraCheckpointVerifies) {
  NoteVerifier v = MustParseVkey(kTesseraVkey);
  EXPECT_EQ(v.key_id(), 0x33d7b496u);
  for (const std::string name : {"checkpoint", "checkpoint.0", "checkpoint.1", "checkpoint.7",
                                 "checkpoint.15"}) {
    std::string raw = ReadFile(FixtureDir() + "/" + name);
    Note note = MustParseNote(raw);
    EXPECT_EQ(note.text.rfind("example.com/log/testdata\n", 0), 0u) << name;
    ASSERT_EQ(note.signatures.size(), 1u) << name;
    EXPECT_EQ(note.signatures[0].key_id, 0x33d7b496u) << name;
    auto verified = VerifyNote(note, {v});
    EXPECT_TRUE(verified.ok()) << name << ": " << (verified.ok() ? "" : verified.error().message);
    EXPECT_EQ(FormatNote(note), raw) << name;
  }
}

TEST(NoteTest, KeyIdComputation) {
  // key ID = SHA-256(name || 0x0A || type || public key)[:4], checked against the key IDs
  // published in the example vkeys.
  std::string example_key = Base64Decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")->substr(1);
  EXPECT_EQ(NoteKeyId("example.com/foo", NoteSigType::kEd25519, example_key), 0x530d903au);
  std::string tessera_key = Base64Decode("AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx")->substr(1);
  EXPECT_EQ(NoteKeyId("example.com/log/testdata", NoteSigType::kEd25519, tessera_key), 0x33d7b496u);
  // The type byte and the name are both hashed.
  EXPECT_NE(NoteKeyId("example.com/foo", NoteSigType::kCosignatureV1, example_key), 0x530d903au);
  EXPECT_NE(NoteKeyId("example.com/fo", NoteSigType::kEd25519, example_key), 0x530d903au);
  // Against the definition, through SHA-256 directly.
  const std::string name = "witness.example.com/w1";
  Hash h = Sha256(name + "\n" + std::string(1, '\x04') + tessera_key);
  uint32_t want = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  EXPECT_EQ(NoteKeyId(name, NoteSigType::kCosignatureV1, tessera_key), want);
}

TEST(NoteTest, SpecNotesParse) {
  // signed-note's introduction: the text keeps its inner blank line.
  const std::string poem_text =
      "Ognuno sta solo sul cuor della terra\n"
      "trafitto da un raggio di sole:\n"
      "\n"
      "ed \xc3\xa8 subito sera.\n";
  const std::string poem = poem_text + "\n" + kDash +
                           "quasimodo.example/salvatore "
                           "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
  Note n = MustParseNote(poem);
  EXPECT_EQ(n.text, poem_text);
  ASSERT_EQ(n.signatures.size(), 1u);
  EXPECT_EQ(n.signatures[0].name, "quasimodo.example/salvatore");
  EXPECT_EQ(n.signatures[0].key_id, 0x367ba04bu);
  EXPECT_EQ(n.signatures[0].signature.size(), 64u);

  // tlog-cosignature's example: a log signature and a timestamped cosignature.
  const std::string cp_text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const std::string cosigned =
      cp_text + "\n" + kDash +
      "example.com/behind-the-sofa "
      "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n" +
      kDash +
      "witness.example.com/w1 "
      "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
  Note c = MustParseNote(cosigned);
  EXPECT_EQ(c.text, cp_text);
  ASSERT_EQ(c.signatures.size(), 2u);
  EXPECT_EQ(c.signatures[0].key_id, 0x033de0aeu);
  EXPECT_EQ(c.signatures[0].signature.size(), 64u);
  EXPECT_EQ(c.signatures[1].name, "witness.example.com/w1");
  EXPECT_EQ(c.signatures[1].key_id, 0x8d66cf3fu);
  ASSERT_EQ(c.signatures[1].signature.size(), 72u);  // u64 timestamp || Ed25519 signature
  // The timestamp is big-endian; the spec's signed-message example shows it: 1679315147.
  EXPECT_EQ(c.signatures[1].signature.substr(0, 8), Unhex("00000000641850cb"));
  EXPECT_EQ(FormatNote(c), cosigned);
}

// ---------------------------------------------------------------------------------------
// Verification rules.

TEST(NoteTest, ModifiedTextFails) {
  NoteVerifier v = MustParseVkey(kExampleVkey);
  for (const std::string text : {"This is an example message!\n", "this is an example message.\n",
                                 "This is an example message.\n\n", "This is an example message. \n",
                                 "This is an example message.\nAnd more.\n"}) {
    Note note = MustParseNote(kExampleNote);
    note.text = text;
    auto r = VerifyNote(note, {v});
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied); }
  }
  // Same for the Tessera checkpoint with a different size.
  std::string raw = ReadFile(FixtureDir() + "/checkpoint");
  Note cp = MustParseNote(raw);
  cp.text.replace(cp.text.find("\n15\n"), 4, "\n16\n");
  EXPECT_FALSE(VerifyNote(cp, {MustParseVkey(kTesseraVkey)}).ok());
}

TEST(NoteTest, UnknownKeysIgnored) {
  NoteVerifier known = MustParseVkey(kExampleVkey);
  NoteSigner other = NewSigner("example.org/other");
  Note note = MustParseNote(kExampleNote);
  // An extra signature by a key we do not know, before and after the known one.
  note.signatures.insert(note.signatures.begin(), other.Sign(note.text));
  note.signatures.push_back(NoteSignature{"example.org/garbage", 0x12345678, std::string(64, 'x')});
  // Same name as the known key, different ID (and a garbage signature): not the known key.
  note.signatures.push_back(NoteSignature{"example.com/foo", 0x530d903b, std::string(64, 'y')});
  // Same ID, different name: not the known key either.
  note.signatures.push_back(NoteSignature{"example.com/bar", 0x530d903a, std::string(64, 'z')});
  Note reparsed = MustParseNote(FormatNote(note));
  ASSERT_EQ(reparsed.signatures.size(), 5u);
  auto r = VerifyNote(reparsed, {known});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "example.com/foo");
  EXPECT_EQ((*r)[0].key_id, 0x530d903au);

  // Both keys known: both verified.
  auto both = VerifyNote(reparsed, {other.Verifier(), known});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);

  // Only unknown keys: no signature by a known key, so rejected.
  auto none = VerifyNote(MustParseNote(kExampleNote), {other.Verifier()});
  EXPECT_FALSE(none.ok());
  if (!none.ok()) { EXPECT_EQ(none.error().code, ErrorCode::kPermissionDenied); }
  EXPECT_FALSE(VerifyNote(MustParseNote(kExampleNote), {}).ok());
}

TEST(NoteTest, BadSignatureFromKnownKeyRejects) {
  NoteVerifier known = MustParseVkey(kExampleVkey);
  Note good = MustParseNote(kExampleNote);
  // Flip one bit of the signature.
  for (size_t byte : {size_t{0}, size_t{31}, size_t{63}}) {
    Note bad = good;
    bad.signatures[0].signature[byte] ^= 0x01;
    auto r = VerifyNote(bad, {known});
    EXPECT_FALSE(r.ok()) << byte;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied); }
  }
  // A valid signature does not rescue a note that also carries a bad one by the same key.
  Note mixed = good;
  NoteSignature forged = good.signatures[0];
  forged.signature[10] ^= 0x80;
  mixed.signatures.push_back(forged);
  EXPECT_FALSE(VerifyNote(mixed, {known}).ok());
  // Truncated and extended signatures are bad signatures too.
  Note shorter = good;
  shorter.signatures[0].signature.pop_back();
  EXPECT_FALSE(VerifyNote(shorter, {known}).ok());
  Note longer = good;
  longer.signatures[0].signature += '\0';
  EXPECT_FALSE(VerifyNote(longer, {known}).ok());
}

// ---------------------------------------------------------------------------------------
// Parsing.

TEST(NoteParseTest, RejectsMalformedNotes) {
  const std::string sig = kExampleSigLine;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no blank line", kExampleText + sig},
      {"no signatures", kExampleText + "\n"},
      {"only text", kExampleText},
      {"empty", ""},
      {"no final newline", kExampleNote.substr(0, kExampleNote.size() - 1)},
      {"blank line after the signatures", kExampleNote + "\n"},
      {"hyphen instead of em dash", kExampleText + "\n- " + sig.substr(kDash.size())},
      {"en dash", kExampleText + "\n\xe2\x80\x93 " + sig.substr(kDash.size())},
      {"em dash without space", kExampleText + "\n\xe2\x80\x94" + sig.substr(kDash.size())},
      {"two spaces after the dash", kExampleText + "\n\xe2\x80\x94  " + sig.substr(kDash.size())},
      {"no key name", kExampleText + "\n" + kDash + "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"},
      {"empty key name", kExampleText + "\n" + kDash + " Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"},
      {"plus in key name", kExampleText + "\n" + kDash + "example.com+foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"},
      {"non-base64 signature", kExampleText + "\n" + kDash + "example.com/foo not*base64\n"},
      {"unpadded signature", kExampleText + "\n" + kDash + "example.com/foo Uw2QOkn8sg\n"},
      {"signature shorter than a key ID", kExampleText + "\n" + kDash + "example.com/foo Uw2QOg==\n"},
      {"trailing space", kExampleNote.substr(0, kExampleNote.size() - 1) + " \n"},
      {"text line after signatures", kExampleNote + "more text\n"},
      {"control character in text", "This is an\x01 example message.\n\n" + sig},
      {"tab in text", "This is an\texample message.\n\n" + sig},
      {"carriage return", "This is an example message.\r\n\n" + sig},
      {"CRLF signature line", kExampleText + "\n" + sig.substr(0, sig.size() - 1) + "\r\n"},
      {"NUL in text", std::string("This is an\0example message.\n\n", 29) + sig},
      {"DEL in text", "This is an\x7f" "example message.\n\n" + sig},
      {"invalid UTF-8", "This is an \xff example message.\n\n" + sig},
      {"overlong UTF-8", "This is an \xc0\xaf example message.\n\n" + sig},
      {"UTF-8 surrogate", "This is an \xed\xa0\x80 example message.\n\n" + sig},
      {"truncated UTF-8", "This is an example message \xe2\x80.\n\n" + sig},
  };
  for (const auto& [what, text] : cases) {
    auto r = ParseNote(text);
    EXPECT_FALSE(r.ok()) << what;
  }
}

TEST(NoteParseTest, SizeBound) {
  // Just under the bound: accepted.
  std::string line(100, 'a');
  line += '\n';
  std::string text;
  while (text.size() + line.size() + 1 + kExampleSigLine.size() <= kMaxNoteBytes) text += line;
  ASSERT_TRUE(ParseNote(text + "\n" + kExampleSigLine).ok());
  // Over the bound: rejected before anything else.
  std::string big(kMaxNoteBytes, 'a');
  auto r = ParseNote(big + "\n\n" + kExampleSigLine);
  EXPECT_FALSE(r.ok());
  if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted); }
}

TEST(NoteParseTest, SignatureCountBound) {
  NoteSigner signer = NewSigner("example.com/many");
  const std::string text = "many signatures\n";
  std::string sig_line = FormatSignatureLine(signer.Sign(text));
  auto note_with = [&](size_t n) {
    std::string out = text + "\n";
    for (size_t i = 0; i < n; ++i) out += sig_line;
    return out;
  };
  // The spec requires accepting at least 16; we accept up to the documented bound.
  for (size_t n : {size_t{1}, size_t{16}, kMaxNoteSignatures}) {
    auto r = ParseNote(note_with(n));
    ASSERT_TRUE(r.ok()) << n << ": " << r.error().message;
    EXPECT_EQ(r->signatures.size(), n);
  }
  auto verified = VerifyNote(*ParseNote(note_with(16)), {signer.Verifier()});
  ASSERT_TRUE(verified.ok());
  for (size_t n : {kMaxNoteSignatures + 1, size_t{500}}) {
    auto r = ParseNote(note_with(n));
    EXPECT_FALSE(r.ok()) << n;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted); }
  }
}

TEST(NoteParseTest, TextMayContainBlankLines) {
  // The text is separated from the signatures by the *last* blank line.
  NoteSigner signer = NewSigner("example.com/blank");
  const std::string text = "a\n\nb\n\n\nc\n";
  std::string msg = text + "\n" + FormatSignatureLine(signer.Sign(text));
  Note n = MustParseNote(msg);
  EXPECT_EQ(n.text, text);
  EXPECT_TRUE(VerifyNote(n, {signer.Verifier()}).ok());
  // A text that itself ends in a blank line.
  const std::string text2 = "a\n\n";
  Note n2 = MustParseNote(text2 + "\n" + FormatSignatureLine(signer.Sign(text2)));
  EXPECT_EQ(n2.text, text2);
  EXPECT_TRUE(VerifyNote(n2, {signer.Verifier()}).ok());
}

TEST(NoteParseTest, KeyNames) {
  EXPECT_TRUE(IsValidKeyName("example.com/foo"));
  EXPECT_TRUE(IsValidKeyName("oid/1.3.6.1.4.1.44363.47.1"));
  EXPECT_TRUE(IsValidKeyName("\xc3\xa8"));  // non-ASCII is fine
  EXPECT_FALSE(IsValidKeyName(""));
  EXPECT_FALSE(IsValidKeyName("a+b"));
  EXPECT_FALSE(IsValidKeyName("a b"));
  EXPECT_FALSE(IsValidKeyName("a\tb"));
  EXPECT_FALSE(IsValidKeyName("a\nb"));
  EXPECT_FALSE(IsValidKeyName("a\xc2\xa0" "b"));      // U+00A0 NO-BREAK SPACE
  EXPECT_FALSE(IsValidKeyName("a\xe2\x80\x83" "b"));  // U+2003 EM SPACE
  EXPECT_FALSE(IsValidKeyName("a\xe3\x80\x80" "b"));  // U+3000 IDEOGRAPHIC SPACE
  EXPECT_FALSE(IsValidKeyName("a\xff"));
}

// ---------------------------------------------------------------------------------------
// Verifier keys.

TEST(NoteVerifierTest, ParseRejectsMalformedVkeys) {
  for (const std::string vkey : {
           "example.com/foo+530d903a",                                             // two parts
           "example.com/foo",                                                     // one part
           "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+",  // four parts
           "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",              // empty name
           "example com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // space in name
           "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // wrong key ID
           "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // ID of another name
           "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   // 7 hex digits
           "example.com/foo+530d903a0+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // 9 hex digits
           "example.com/foo+530d903g+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // not hex
           "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",    // short key
           "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2kAA==",  // long key
           "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",   // bad base64
           "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  // type 0x02
       }) {
    EXPECT_FALSE(NoteVerifier::Parse(vkey).ok()) << vkey;
  }
}

TEST(NoteVerifierTest, ToStringRoundTrip) {
  for (NoteSigType type : {NoteSigType::kEd25519, NoteSigType::kCosignatureV1}) {
    NoteSigner signer = NewSigner("example.com/round-trip", type);
    std::string vkey = signer.Verifier().ToString();
    auto parsed = NoteVerifier::Parse(vkey);
    ASSERT_TRUE(parsed.ok()) << vkey;
    EXPECT_EQ(parsed->name(), "example.com/round-trip");
    EXPECT_EQ(parsed->type(), type);
    EXPECT_EQ(parsed->key_id(), signer.Verifier().key_id());
    EXPECT_EQ(parsed->public_key(), signer.Verifier().public_key());
    EXPECT_EQ(parsed->ToString(), vkey);
  }
}

// ---------------------------------------------------------------------------------------
// Signing.

TEST(NoteSignerTest, Rfc8032KnownAnswer) {
  // RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
  auto key1 = Ed25519PrivateKey::FromSeed(Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key1.ok());
  EXPECT_EQ(HexEncode(key1->public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(HexEncode(key1->Sign("")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  auto key2 = Ed25519PrivateKey::FromSeed(Unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  ASSERT_TRUE(key2.ok());
  EXPECT_EQ(HexEncode(key2->public_key()), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  EXPECT_EQ(HexEncode(key2->Sign("\x72")),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");

  // A note signer over the same key signs the note text exactly as Ed25519 does.
  NoteSigner signer("example.com/rfc8032", *key2);
  NoteSignature sig = signer.Sign("\x72");
  EXPECT_EQ(HexEncode(sig.signature),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_EQ(sig.key_id, NoteKeyId("example.com/rfc8032", NoteSigType::kEd25519, key2->public_key()));
}

TEST(NoteSignerTest, SignVerifyRoundTrip) {
  NoteSigner signer = NewSigner("example.com/log");
  NoteVerifier v = signer.Verifier();
  EXPECT_EQ(v.name(), "example.com/log");
  EXPECT_EQ(v.type(), NoteSigType::kEd25519);
  const std::string text = "example.com/log\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n";
  NoteSignature sig = signer.Sign(text);
  EXPECT_EQ(sig.name, "example.com/log");
  EXPECT_EQ(sig.key_id, v.key_id());
  EXPECT_EQ(sig.signature.size(), 64u);
  EXPECT_TRUE(Ed25519Verify(v.public_key(), text, sig.signature));  // plain Ed25519 over the text

  std::string msg = FormatNote(Note{text, {sig}});
  EXPECT_EQ(msg.substr(0, text.size() + 1), text + "\n");
  EXPECT_EQ(msg.substr(text.size() + 1, kDash.size() + 16), kDash + "example.com/log ");
  Note parsed = MustParseNote(msg);
  auto verified = VerifyNote(parsed, {v});
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->size(), 1u);
  EXPECT_FALSE(v.Verify(text + "x", sig.signature));
}

TEST(NoteSignerTest, PrivateKeyRoundTrip) {
  for (NoteSigType type : {NoteSigType::kEd25519, NoteSigType::kCosignatureV1}) {
    NoteSigner signer = NewSigner("example.com/keys", type);
    std::string skey = signer.PrivateKeyString();
    // PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>
    const std::string prefix = "PRIVATE+KEY+example.com/keys+";
    ASSERT_EQ(skey.substr(0, prefix.size()), prefix);
    std::string id_hex = skey.substr(prefix.size(), 8);
    EXPECT_EQ(id_hex, HexEncode(Unhex(id_hex)));  // lowercase hex
    EXPECT_EQ(*HexDecode(id_hex), Unhex(signer.Verifier().ToString().substr(sizeof("example.com/keys"), 8)));
    EXPECT_EQ(skey[prefix.size() + 8], '+');
    auto raw = Base64Decode(skey.substr(prefix.size() + 9));
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw->size(), 33u);
    EXPECT_EQ(static_cast<uint8_t>((*raw)[0]), static_cast<uint8_t>(type));

    auto parsed = NoteSigner::ParsePrivateKey(skey);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->name(), "example.com/keys");
    EXPECT_EQ(parsed->PrivateKeyString(), skey);
    EXPECT_EQ(parsed->Verifier().ToString(), signer.Verifier().ToString());
    // Signatures by the reloaded key verify with the original verifier.
    const std::string text = "round trip\n";
    NoteSignature sig = parsed->Sign(text, 1700000000);
    EXPECT_TRUE(signer.Verifier().Verify(text, sig.signature));
    // A trailing newline (as in a key file) is tolerated.
    EXPECT_TRUE(NoteSigner::ParsePrivateKey(skey + "\n").ok());

    // Tampered key ID: rejected.
    std::string tampered = skey;
    char& c = tampered[prefix.size()];
    c = (c == '0') ? '1' : '0';
    auto bad = NoteSigner::ParsePrivateKey(tampered);
    EXPECT_FALSE(bad.ok());
    if (!bad.ok()) { EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument); }
    // Tampered name: the ID no longer matches.
    std::string renamed = skey;
    renamed.replace(12, 16, "example.com/kexs");
    EXPECT_FALSE(NoteSigner::ParsePrivateKey(renamed).ok());
  }
  for (const std::string bad : {"", "PRIVATE+KEY+", "PRIVATE+KEY+name", "PRIVATE+KEY+name+00000000",
                                "private+key+name+00000000+AQ==", "PRIVATE+KEY+name+00000000+AQ==",
                                "PUBLIC+KEY+name+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_FALSE(NoteSigner::ParsePrivateKey(bad).ok()) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Timestamped cosignatures (C2SP tlog-cosignature, type 0x04).

TEST(CosignatureTest, MessageFormat) {
  const std::string cp = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_EQ(CosignatureMessage(cp, 1679315147),
            "cosignature/v1\ntime 1679315147\n"
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  EXPECT_EQ(CosignatureMessage("x\n", 0), "cosignature/v1\ntime 0\nx\n");
  EXPECT_EQ(CosignatureMessage("x\n", 9223372036854775807ULL),
            "cosignature/v1\ntime 9223372036854775807\nx\n");
}

TEST(CosignatureTest, SignAndVerify) {
  NoteSigner cosigner = NewSigner("witness.example.com/w1", NoteSigType::kCosignatureV1);
  NoteVerifier v = cosigner.Verifier();
  EXPECT_EQ(v.type(), NoteSigType::kCosignatureV1);
  EXPECT_EQ(v.key_id(), NoteKeyId("witness.example.com/w1", NoteSigType::kCosignatureV1, v.public_key()));
  EXPECT_NE(v.key_id(), NoteKeyId("witness.example.com/w1", NoteSigType::kEd25519, v.public_key()));
  // vkey encodes type byte 0x04: base64 of 0x04 followed by 32 bytes starts with "B".
  std::string vkey = v.ToString();
  size_t key_at = vkey.find('+', vkey.find('+') + 1) + 1;  // the base64 itself may hold '+'
  EXPECT_EQ(vkey[key_at], 'B');

  const std::string text = "example.com/log\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n";
  const uint64_t ts = 1679315147;
  NoteSignature sig = cosigner.Sign(text, ts);
  ASSERT_EQ(sig.signature.size(), 72u);
  EXPECT_EQ(sig.signature.substr(0, 8), Unhex("00000000641850cb"));  // big-endian timestamp
  // The Ed25519 part signs exactly the message the spec defines.
  EXPECT_TRUE(Ed25519Verify(v.public_key(), "cosignature/v1\ntime 1679315147\n" + text, sig.signature.substr(8)));
  EXPECT_FALSE(Ed25519Verify(v.public_key(), text, sig.signature.substr(8)));

  uint64_t got_ts = 0;
  EXPECT_TRUE(v.Verify(text, sig.signature, &got_ts));
  EXPECT_EQ(got_ts, ts);

  // Through a note alongside a log signature.
  NoteSigner log = NewSigner("example.com/log");
  Note note{text, {log.Sign(text), sig}};
  Note parsed = MustParseNote(FormatNote(note));
  auto verified = VerifyNote(parsed, {log.Verifier(), v});
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->size(), 2u);
}

TEST(CosignatureTest, WrongTimestampOrTextFails) {
  NoteSigner cosigner = NewSigner("witness.example.com/w2", NoteSigType::kCosignatureV1);
  NoteVerifier v = cosigner.Verifier();
  const std::string text = "example.com/log\n2\nT1X2GdkhUjV3iyufF9b0kVsWFxIU0VI4EpNml2Teci4=\n";
  NoteSignature sig = cosigner.Sign(text, 1700000000);
  ASSERT_TRUE(v.Verify(text, sig.signature));

  // Any change to the 8 timestamp bytes breaks the signature.
  for (int byte = 0; byte < 8; ++byte) {
    std::string s = sig.signature;
    s[byte] ^= 0x01;
    EXPECT_FALSE(v.Verify(text, s)) << byte;
  }
  // A signature made for another timestamp does not verify with this one.
  std::string other_ts = cosigner.Sign(text, 1700000001).signature;
  std::string spliced = sig.signature.substr(0, 8) + other_ts.substr(8);
  EXPECT_FALSE(v.Verify(text, spliced));
  // Other text, truncated, or a plain Ed25519 signature: rejected.
  EXPECT_FALSE(v.Verify(text + "x\n", sig.signature));
  EXPECT_FALSE(v.Verify(text, sig.signature.substr(0, 71)));
  EXPECT_FALSE(v.Verify(text, sig.signature.substr(8)));
  EXPECT_FALSE(v.Verify(text, sig.signature + '\0'));
  // A timestamp above 2^63 - 1 is invalid even when correctly signed.
  NoteSignature huge = cosigner.Sign(text, uint64_t{1} << 63);
  EXPECT_FALSE(v.Verify(text, huge.signature));
  NoteSignature max = cosigner.Sign(text, (uint64_t{1} << 63) - 1);
  EXPECT_TRUE(v.Verify(text, max.signature));

  // And through VerifyNote: a bad cosignature from a known cosigner rejects the note.
  std::string bad = sig.signature;
  bad[7] ^= 0x01;
  Note note{text, {NoteSignature{sig.name, sig.key_id, bad}}};
  auto r = VerifyNote(note, {v});
  EXPECT_FALSE(r.ok());
  if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied); }

  // An Ed25519 (type 0x01) verifier with the same key does not accept cosignatures.
  NoteVerifier as_plain = NoteVerifier::FromPublicKey(v.name(), NoteSigType::kEd25519, v.public_key());
  EXPECT_FALSE(as_plain.Verify(text, sig.signature));
}

}  // namespace
}  // namespace cloudpact::crypto
