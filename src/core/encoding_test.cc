#include "core/encoding.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace cloudpact {
namespace {

// RFC 4648 §10 test vectors.
const std::vector<std::pair<std::string, std::string>> kBase64Vectors = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};
const std::vector<std::pair<std::string, std::string>> kBase16Vectors = {
    {"", ""},           {"f", "66"},           {"fo", "666F"},         {"foo", "666F6F"},
    {"foob", "666F6F62"}, {"fooba", "666F6F6261"}, {"foobar", "666F6F626172"},
};

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

TEST(HexTest, Rfc4648Base16Vectors) {
  for (const auto& [plain, encoded] : kBase16Vectors) {
    // We encode lowercase (the signed-note convention) and accept either case.
    EXPECT_EQ(HexEncode(plain), Lower(encoded)) << plain;
    auto upper = HexDecode(encoded);
    ASSERT_TRUE(upper.ok()) << encoded;
    EXPECT_EQ(*upper, plain);
    auto lower = HexDecode(Lower(encoded));
    ASSERT_TRUE(lower.ok()) << encoded;
    EXPECT_EQ(*lower, plain);
  }
}

TEST(HexTest, KnownBytes) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  auto d = HexDecode("00017F80fF");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, std::string("\x00\x01\x7f\x80\xff", 5));
}

TEST(HexTest, RoundTripAllBytes) {
  const std::string all = AllBytes();
  for (size_t len = 0; len <= all.size(); len += 17) {
    std::string in = all.substr(all.size() - len);
    std::string hex = HexEncode(in);
    EXPECT_EQ(hex.size(), in.size() * 2);
    auto out = HexDecode(hex);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, in);
  }
}

TEST(HexTest, RejectsMalformed) {
  for (const std::string& bad : std::vector<std::string>{"0", "abc", "0g", "g0", "zz", " 0", "00 ", "0x00", "-1", "+1", "\xff\xff",
                          std::string("0\0", 2)}) {
    auto r = HexDecode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
}

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.error().message;
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64Test, StandardVersusUrlAlphabet) {
  // 0xfb 0xef 0xbe encodes to sextets 62,62,62,62 and 0xff 0xff 0xff to 63,63,63,63.
  EXPECT_EQ(Base64Encode("\xfb\xef\xbe"), "++++");
  EXPECT_EQ(Base64Encode("\xff\xff\xff"), "////");
  EXPECT_EQ(Base64UrlEncode("\xfb\xef\xbe"), "----");
  EXPECT_EQ(Base64UrlEncode("\xff\xff\xff"), "____");
  // URL-safe encoding has no padding (RFC 4648 §5 as used for bearer tokens).
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  auto d = Base64Decode("+/8=");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "\xfb\xff");
}

TEST(Base64Test, RoundTripAllLengths) {
  const std::string all = AllBytes();
  for (size_t len = 0; len <= 70; ++len) {
    for (size_t start : {size_t{0}, size_t{100}, size_t{256} - len}) {
      std::string in = all.substr(start, len);
      std::string enc = Base64Encode(in);
      EXPECT_EQ(enc.size(), (len + 2) / 3 * 4);
      auto out = Base64Decode(enc);
      ASSERT_TRUE(out.ok()) << enc << ": " << out.error().message;
      EXPECT_EQ(*out, in);
    }
  }
  auto out = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, all);
}

TEST(Base64Test, RejectsBadLength) {
  for (const std::string& bad : std::vector<std::string>{"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9vYg", "Zm9vYg=", "Zm9vYmFy="}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
}

TEST(Base64Test, RejectsBadCharacters) {
  for (const std::string& bad : std::vector<std::string>{"Zm9v\n", "Zm9\n", " Zm9v", "Zm 9", "Zm9v\r\n", "Zm-v", "Zm_v", "Zm9*",
                          "Zm9.", "Zm\xc3\xa9", std::string("Zm9\0", 4), "Zm9vYmFy\n",
                          // '=' anywhere but the tail of the last quantum.
                          "=Zm9", "Z=m9", "Zm=v", "Zg==Zm9v", "Zm9v====", "Zm8=Zm8=", "Z===",
                          "====", "Zm9v=Zm8"}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
  }
}

TEST(Base64Test, RejectsNonCanonicalPaddingBits) {
  // "f" is "Zg=="; 'h' sets one of the four bits that the padding drops.
  for (const std::string& bad : std::vector<std::string>{"Zh==", "Zi==", "Zv==", "Z/==", "Zm9=", "Zm/=", "Zm9vYh==", "Zm9vYmF="}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
  // The canonical forms with the same leading bits are accepted.
  auto f = Base64Decode("Zg==");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, "f");
  auto fo = Base64Decode("Zm8=");
  ASSERT_TRUE(fo.ok());
  EXPECT_EQ(*fo, "fo");
  auto last = Base64Decode("Zw==");  // 011001 110000: 0x67, canonical
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, "g");
}

TEST(ParseDecimalTest, Accepts) {
  const std::vector<std::pair<std::string, uint64_t>> cases = {
      {"0", 0},
      {"1", 1},
      {"9", 9},
      {"10", 10},
      {"20852163", 20852163},
      {"4294967296", 4294967296ULL},
      {"9007199254740993", 9007199254740993ULL},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551609", UINT64_MAX - 6},
  };
  for (const auto& [text, want] : cases) {
    auto r = ParseDecimal(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(*r, want) << text;
  }
}

TEST(ParseDecimalTest, RejectsLeadingZeros) {
  for (const std::string& bad : std::vector<std::string>{"00", "01", "007", "0000000000000000001", "018446744073709551615"}) {
    EXPECT_FALSE(ParseDecimal(bad).ok()) << bad;
  }
}

TEST(ParseDecimalTest, RejectsOverflow) {
  for (const std::string& bad : std::vector<std::string>{"18446744073709551616", "18446744073709551619", "18446744073709551620",
                          "19999999999999999999", "99999999999999999999",
                          "100000000000000000000", "123456789012345678901234567890"}) {
    EXPECT_FALSE(ParseDecimal(bad).ok()) << bad;
  }
}

TEST(ParseDecimalTest, RejectsEmptyAndNonDigits) {
  for (const std::string& bad : std::vector<std::string>{"", "-1", "+1", "-0", " 1", "1 ", "1\n", "1a", "a1", "0x10", "1.0", "1e3",
                          "1_000", "\xd9\xa1" /* ARABIC-INDIC DIGIT ONE */, std::string("1\0", 2)}) {
    EXPECT_FALSE(ParseDecimal(bad).ok()) << "accepted \"" << bad << "\"";
  }
}

}  // namespace
}  // namespace cloudpact
