#include "crypto/password.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace cloudpact::crypto {
namespace {

// Cheap parameters so that the suite stays fast; the defaults are tested once.
const PasswordParams kCheap{.memory_kib = 256, .iterations = 1, .parallelism = 1};

std::string MustHash(std::string_view password, const PasswordParams& params = kCheap) {
  auto h = HashPassword(password, params);
  EXPECT_TRUE(h.ok()) << h.error().message;
  return h.ok() ? *h : std::string();
}

bool MustVerify(std::string_view password, std::string_view phc) {
  auto v = VerifyPassword(password, phc);
  EXPECT_TRUE(v.ok()) << phc << ": " << v.error().message;
  return v.ok() && *v;
}

TEST(PasswordTest, HashesToArgon2idPhcStringThatVerifies) {
  std::string phc = MustHash("correct horse battery staple");
  // 16-byte salt and 32-byte hash: 22 and 43 unpadded base64 characters.
  ASSERT_EQ(phc.rfind("$argon2id$v=19$m=256,t=1,p=1$", 0), 0u) << phc;
  std::string_view rest = std::string_view(phc).substr(29);
  EXPECT_EQ(rest.find('$'), 22u);
  EXPECT_EQ(rest.size(), 22u + 1 + 43);
  EXPECT_EQ(rest.find('='), std::string::npos);  // unpadded

  EXPECT_TRUE(MustVerify("correct horse battery staple", phc));
  EXPECT_FALSE(MustVerify("correct horse battery stapl", phc));
  EXPECT_FALSE(MustVerify("Correct horse battery staple", phc));
}

TEST(PasswordTest, DefaultsAreOwaspRecommendation) {
  PasswordParams p;
  EXPECT_EQ(p.memory_kib, 19456u);
  EXPECT_EQ(p.iterations, 2u);
  EXPECT_EQ(p.parallelism, 1u);
  auto phc = HashPassword("hunter2");
  ASSERT_TRUE(phc.ok()) << phc.error().message;
  EXPECT_EQ(phc->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *phc;
  EXPECT_TRUE(MustVerify("hunter2", *phc));
  EXPECT_FALSE(NeedsRehash(*phc));
}

TEST(PasswordTest, EachHashHasItsOwnSalt) {
  std::string a = MustHash("same"), b = MustHash("same");
  EXPECT_NE(a, b);
  EXPECT_TRUE(MustVerify("same", a));
  EXPECT_TRUE(MustVerify("same", b));
}

// The reference implementation's test vector (argon2 test.c, version 0x13).
TEST(PasswordTest, VerifiesReferenceImplementationVector) {
  const std::string phc =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  EXPECT_TRUE(MustVerify("password", phc));
  EXPECT_FALSE(MustVerify("passwore", phc));
  // Salt too short for our hashes, other parameters: a rehash is due.
  EXPECT_TRUE(NeedsRehash(phc));
}

TEST(PasswordTest, PasswordsAreBytes) {
  std::string with_nul("pass\0word", 9);
  std::string phc = MustHash(with_nul);
  EXPECT_TRUE(MustVerify(with_nul, phc));
  EXPECT_FALSE(MustVerify("pass", phc));

  std::string unicode = "p\xC3\xA4ssw\xC3\xB6rd";  // "pässwörd" in UTF-8, NFC
  phc = MustHash(unicode);
  EXPECT_TRUE(MustVerify(unicode, phc));
  EXPECT_FALSE(MustVerify("pa\xCC\x88ssw\xC3\xB6rd", phc));  // NFD: not normalised
}

TEST(PasswordTest, RejectsEmptyAndOverlongPasswords) {
  std::string phc = MustHash("x");
  std::string max(kMaxPasswordBytes, 'a'), over(kMaxPasswordBytes + 1, 'a');
  EXPECT_TRUE(MustVerify(max, MustHash(max)));

  for (const std::string& bad : {std::string(), over}) {
    auto h = HashPassword(bad, kCheap);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(h.error().message.find("password"), std::string::npos) << h.error().message;
    auto v = VerifyPassword(bad, phc);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
    auto d = DummyVerify(bad, kCheap);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(VerifyPassword("", phc).error().message, "password: must not be empty");
  EXPECT_EQ(VerifyPassword(over, phc).error().message, "password: longer than 1024 bytes");
}

TEST(PasswordTest, RejectsOutOfBoundsParams) {
  for (PasswordParams p : {PasswordParams{.memory_kib = 7, .iterations = 1, .parallelism = 1},
                           PasswordParams{.memory_kib = 256, .iterations = 0, .parallelism = 1},
                           PasswordParams{.memory_kib = 256, .iterations = 1, .parallelism = 0},
                           PasswordParams{.memory_kib = 16, .iterations = 1, .parallelism = 4},
                           PasswordParams{.memory_kib = kMaxPasswordMemoryKib + 1},
                           PasswordParams{.iterations = kMaxPasswordIterations + 1}}) {
    auto h = HashPassword("pw", p);
    ASSERT_FALSE(h.ok()) << p.memory_kib << " " << p.iterations << " " << p.parallelism;
    EXPECT_EQ(h.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(PasswordTest, MalformedPhcIsAnError) {
  std::string good = MustHash("pw");
  std::string head = "$argon2id$v=19$m=256,t=1,p=1$";
  std::string salt = good.substr(head.size(), 22), hash = good.substr(head.size() + 23);
  ASSERT_TRUE(MustVerify("pw", head + salt + "$" + hash));

  const std::string bad[] = {
      "",
      "password",
      "$argon2id$",
      "$argon2i$v=19$m=256,t=1,p=1$" + salt + "$" + hash,  // another variant
      "$argon2d$v=19$m=256,t=1,p=1$" + salt + "$" + hash,
      "$argon2id$v=16$m=256,t=1,p=1$" + salt + "$" + hash,  // another version
      "$argon2id$m=256,t=1,p=1$" + salt + "$" + hash,       // no version
      "$argon2id$v=19$t=1,m=256,p=1$" + salt + "$" + hash,  // order
      "$argon2id$v=19$m=256,t=1$" + salt + "$" + hash,
      "$argon2id$v=19$m=256,t=1,p=1,x=1$" + salt + "$" + hash,
      "$argon2id$v=19$m=0256,t=1,p=1$" + salt + "$" + hash,  // leading zero
      "$argon2id$v=19$m=-256,t=1,p=1$" + salt + "$" + hash,
      "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + hash,  // > uint32
      "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash,     // 4 GiB: over our bound
      "$argon2id$v=19$m=256,t=1000,p=1$" + salt + "$" + hash,
      "$argon2id$v=19$m=256,t=1,p=1$" + salt + "==$" + hash,  // padding
      "$argon2id$v=19$m=256,t=1,p=1$" + salt + "$" + hash + "=",
      "$argon2id$v=19$m=256,t=1,p=1$" + salt + "$" + hash + "AA",  // 4n+1 characters
      "$argon2id$v=19$m=256,t=1,p=1$c2FsdA$" + hash,               // 4-byte salt
      "$argon2id$v=19$m=256,t=1,p=1$" + salt + "$aGFzaA",          // 4-byte hash
      "$argon2id$v=19$m=256,t=1,p=1$" + salt.substr(0, 21) + "!$" + hash,
      "$argon2id$v=19$m=256,t=1,p=1$" + salt + "$" + hash + "$",
      "x$argon2id$v=19$m=256,t=1,p=1$" + salt + "$" + hash,
      head + salt + "$" + hash + std::string(600, 'A'),
  };
  for (const std::string& phc : bad) {
    auto v = VerifyPassword("pw", phc);
    ASSERT_FALSE(v.ok()) << phc;
    EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument) << phc;
    EXPECT_TRUE(NeedsRehash(phc, kCheap)) << phc;
  }
}

TEST(PasswordTest, TamperedHashDoesNotVerify) {
  std::string phc = MustHash("pw");
  std::string tampered = phc;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(MustVerify("pw", tampered));
}

TEST(PasswordTest, NeedsRehashWhenParamsDiffer) {
  std::string phc = MustHash("pw");
  EXPECT_FALSE(NeedsRehash(phc, kCheap));
  PasswordParams more = kCheap;
  more.iterations = 2;
  EXPECT_TRUE(NeedsRehash(phc, more));
  more = kCheap;
  more.memory_kib = 512;
  EXPECT_TRUE(NeedsRehash(phc, more));
  more = kCheap;
  more.parallelism = 2;
  EXPECT_TRUE(NeedsRehash(phc, more));
  EXPECT_TRUE(NeedsRehash(phc));  // against the defaults
}

TEST(PasswordTest, DummyVerifyReturnsFalse) {
  auto d = DummyVerify("anything", kCheap);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE(*d);
}


}  // namespace
}  // namespace cloudpact::crypto
