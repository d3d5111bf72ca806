#include "crypto/seal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "core/files.h"

namespace cloudpact::crypto {
namespace {

namespace fs = std::filesystem;

std::string Key(char fill = 'k') { return std::string(kSealKeyBytes, fill); }

Sealer MustSealer(std::string_view key = Key()) {
  auto s = Sealer::FromKey(key);
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

std::string MustSeal(const Sealer& s, std::string_view plaintext, std::string_view ad) {
  auto r = s.Seal(plaintext, ad);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::string();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cloudpact-seal-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(SealTest, RoundTripsAndHasTheDocumentedLayout) {
  Sealer s = MustSealer();
  for (std::string plaintext : {std::string(), std::string("x"), std::string("totp secret"),
                                std::string("\0\xff\x01 binary", 10), std::string(100000, 'p')}) {
    std::string sealed = MustSeal(s, plaintext, "user:42/totp");
    ASSERT_EQ(sealed.size(), kSealOverheadBytes + plaintext.size());
    EXPECT_EQ(sealed[0], '\x01');
    // The ciphertext is not the plaintext (GCM is a stream cipher: same length).
    if (plaintext.size() > 4) {
      EXPECT_EQ(sealed.find(plaintext), std::string::npos);
    }
    auto opened = s.Open(sealed, "user:42/totp");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(SealTest, EachSealHasAFreshNonce) {
  Sealer s = MustSealer();
  std::string a = MustSeal(s, "same", "ad"), b = MustSeal(s, "same", "ad");
  EXPECT_NE(a.substr(1, 12), b.substr(1, 12));
  EXPECT_NE(a, b);
}

// A value sealed by an independent AES-GCM implementation (Python's `cryptography`) with
// key 00..1f, nonce a0..ab, associated data "tenant=42" (so GCM AAD = 01 || "tenant=42").
TEST(SealTest, OpensKnownAnswer) {
  std::string key;
  for (int i = 0; i < 32; ++i) key += static_cast<char>(i);
  Sealer s = MustSealer(key);
  auto sealed =
      HexDecode("01a0a1a2a3a4a5a6a7a8a9aaab9270190d36ae61cd071177108f9d645bc4470b2f9bbbd582a10a");
  ASSERT_TRUE(sealed.ok());
  auto opened = s.Open(*sealed, "tenant=42");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "the secret");
  auto text =
      s.OpenText("sealed:v1:AaChoqOkpaanqKmqq5JwGQ02rmHNBxF3EI+dZFvERwsvm7vVgqEK", "tenant=42");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text, "the secret");
}

TEST(SealTest, AnyAlteredByteFails) {
  Sealer s = MustSealer();
  std::string sealed = MustSeal(s, "the secret", "ad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = sealed;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      auto r = s.Open(bad, "ad");
      ASSERT_FALSE(r.ok()) << "byte " << i;
      // The version byte is checked first; everything else fails authentication.
      EXPECT_EQ(r.error().code, i == 0 ? ErrorCode::kInvalidArgument : ErrorCode::kDataLoss);
    }
  }
}

TEST(SealTest, WrongAssociatedDataOrKeyFails) {
  Sealer s = MustSealer();
  std::string sealed = MustSeal(s, "the secret", "user:42/totp");
  for (std::string_view ad : {"", "user:43/totp", "user:42/totp ", "user:42/totP"}) {
    auto r = s.Open(sealed, ad);
    ASSERT_FALSE(r.ok()) << ad;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(r.error().message.find("does not authenticate"), std::string::npos);
  }
  auto other = MustSealer(Key('o')).Open(sealed, "user:42/totp");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kDataLoss);
  // Empty associated data is bound too.
  std::string no_ad = MustSeal(s, "x", "");
  EXPECT_TRUE(s.Open(no_ad, "").ok());
  EXPECT_FALSE(s.Open(no_ad, "a").ok());
}

TEST(SealTest, TruncationAndExtensionFail) {
  Sealer s = MustSealer();
  std::string sealed = MustSeal(s, "the secret", "ad");
  for (size_t n = 0; n < sealed.size(); ++n) {
    auto r = s.Open(sealed.substr(0, n), "ad");
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code,
              n < kSealOverheadBytes ? ErrorCode::kInvalidArgument : ErrorCode::kDataLoss)
        << n;
  }
  EXPECT_FALSE(s.Open(sealed + "x", "ad").ok());
  EXPECT_FALSE(s.Open(sealed.substr(1), "ad").ok());
  EXPECT_EQ(s.Open("", "ad").error().message, "seal: sealed data too short (truncated?)");
}

TEST(SealTest, TextForm) {
  Sealer s = MustSealer();
  auto text = s.SealText("hunter2", "ad");
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(IsSealedText(*text));
  EXPECT_EQ(text->rfind("sealed:v1:", 0), 0u);
  EXPECT_EQ(text->find_first_of("\"\\\n"), std::string::npos);
  auto opened = s.OpenText(*text, "ad");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "hunter2");

  for (std::string bad :
       {std::string("hunter2"), text->substr(1), "sealed:v2:" + text->substr(10), *text + "=",
        text->substr(0, text->size() - 1), "sealed:v1:" + std::string("!!!!")}) {
    auto r = s.OpenText(bad, "ad");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(s.OpenText(*text, "other").ok());
}

TEST(SealTest, FromKeyNeeds32Bytes) {
  for (size_t n : {0, 16, 31, 33, 64}) {
    auto s = Sealer::FromKey(std::string(n, 'k'));
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(SealKeyFileTest, CreatesAPrivateKeyAndLoadsItAgain) {
  TempDir dir;
  std::string path = dir / "seal-key";
  auto first = Sealer::LoadOrCreate(path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(fs::file_size(path), 32u);
  // Only the key file is left behind, no temporary.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / ""), fs::directory_iterator()), 1);

  std::string sealed = MustSeal(*first, "secret", "ad");
  auto second = Sealer::LoadOrCreate(path);
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto opened = second->Open(sealed, "ad");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "secret");

  // The file holds the raw key.
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*MustSealer(*bytes).Open(sealed, "ad"), "secret");
}

TEST(SealKeyFileTest, RefusesAKeyOthersCanAccess) {
  TempDir dir;
  std::string path = dir / "seal-key";
  ASSERT_TRUE(Sealer::LoadOrCreate(path).ok());
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0644, 0666}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto s = Sealer::LoadOrCreate(path);
    ASSERT_FALSE(s.ok()) << std::oct << mode;
    EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_NE(s.error().message.find("must not be accessible by group or others"),
              std::string::npos)
        << s.error().message;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_EQ(Sealer::LoadOrCreate(path).error().message,
            "seal: key file " + path +
                " has mode 0640; it must not be accessible by group or others (chmod 600 " + path +
                ")");
  // 0400 is fine: the owner only needs to read it.
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(Sealer::LoadOrCreate(path).ok());
}

TEST(SealKeyFileTest, RefusesAKeyOfTheWrongSize) {
  TempDir dir;
  for (size_t n : {0, 31, 33, 64}) {
    std::string path = dir / ("key-" + std::to_string(n));
    ASSERT_TRUE(WriteFileAtomic(path, std::string(n, 'k'), 0600).ok());
    auto s = Sealer::LoadOrCreate(path);
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(s.error().message, "seal: key file " + path + " is " + std::to_string(n) +
                                     " bytes; a key is exactly 32");
    // Not overwritten.
    EXPECT_EQ(fs::file_size(path), n);
  }
}

TEST(SealKeyFileTest, RefusesDirectoriesAndMissingParents) {
  TempDir dir;
  auto d = Sealer::LoadOrCreate(dir / "");
  ASSERT_FALSE(d.ok());
  auto missing = Sealer::LoadOrCreate(dir / "no/such/dir/key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  // A dangling symlink is neither followed to create a key nor replaced.
  fs::create_symlink(dir / "elsewhere", dir / "link");
  auto dangling = Sealer::LoadOrCreate(dir / "link");
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.error().message.find("dangling symlink"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "elsewhere"));
}

TEST(SealKeyFileTest, ConcurrentCreatorsAgreeOnOneKey) {
  TempDir dir;
  std::string path = dir / "seal-key";
  constexpr int kThreads = 8;
  std::vector<std::string> sealed(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto s = Sealer::LoadOrCreate(path);
      if (s.ok()) sealed[i] = s->Seal("v" + std::to_string(i), "ad").value();
    });
  }
  for (auto& t : threads) t.join();
  auto final_sealer = Sealer::LoadOrCreate(path);
  ASSERT_TRUE(final_sealer.ok());
  for (int i = 0; i < kThreads; ++i) {
    auto opened = final_sealer->Open(sealed[i], "ad");
    ASSERT_TRUE(opened.ok()) << "thread " << i << " sealed under a key that was not kept";
    EXPECT_EQ(*opened, "v" + std::to_string(i));
  }
}

}  // namespace
}  // namespace cloudpact::crypto
