#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include "core/encoding.h"

namespace cloudpact::crypto {
namespace {

TEST(Sha256Test, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(AsBytes(HmacSha256("Jefe", "what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: 20 bytes of 0x0b, "Hi There".
  EXPECT_EQ(HexEncode(AsBytes(HmacSha256(std::string(20, '\x0b'), "Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Sha256Test, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(Sha256Test, StreamEqualsOneShotWhateverTheChunking) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 131 % 251));
  for (size_t chunk : {1u, 63u, 64u, 65u, 4096u, 100000u}) {
    Sha256Stream s;
    for (size_t i = 0; i < data.size(); i += chunk) s.Update(std::string_view(data).substr(i, chunk));
    EXPECT_EQ(s.bytes(), data.size());
    EXPECT_EQ(s.Final(), Sha256(data)) << chunk;
  }
  Sha256Stream s;
  s.Update("abc");
  (void)s.Final();
  EXPECT_EQ(s.Final(), Sha256(""));  // starts over after Final
}

}  // namespace
}  // namespace cloudpact::crypto
