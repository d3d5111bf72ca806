#include "core/json.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cloudpact {
namespace {

double FromBits(uint64_t bits) { return std::bit_cast<double>(bits); }

std::string Canon(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().message);
  if (!parsed.ok()) return "<parse error>";
  auto c = CanonicalJson(*parsed);
  EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : "<canonicalisation error>";
}

// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical JSON text.
struct NumberVector {
  uint64_t bits;
  const char* json;
};
constexpr NumberVector kAppendixB[] = {
    {0x0000000000000000, "0"},
    {0x8000000000000000, "0"},
    {0x0000000000000001, "5e-324"},
    {0x8000000000000001, "-5e-324"},
    {0x7fefffffffffffff, "1.7976931348623157e+308"},
    {0xffefffffffffffff, "-1.7976931348623157e+308"},
    {0x4340000000000000, "9007199254740992"},
    {0xc340000000000000, "-9007199254740992"},
    {0x4430000000000000, "295147905179352830000"},
    {0x44b52d02c7e14af5, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6, "1e+23"},
    {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4e, "999999999999999700000"},
    {0x444b1ae4d6e2ef4f, "999999999999999900000"},
    {0x444b1ae4d6e2ef50, "1e+21"},
    {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8d, "0.000001"},
    {0x41b3de4355555553, "333333333.3333332"},
    {0x41b3de4355555554, "333333333.33333325"},
    {0x41b3de4355555555, "333333333.3333333"},
    {0x41b3de4355555556, "333333333.3333334"},
    {0x41b3de4355555557, "333333333.33333343"},
    {0xbecbf647612f3696, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959, "1424953923781206.2"},
};

TEST(CanonicalNumberTest, Rfc8785AppendixB) {
  for (const auto& v : kAppendixB) {
    auto s = CanonicalNumber(FromBits(v.bits));
    ASSERT_TRUE(s.ok()) << std::hex << v.bits;
    EXPECT_EQ(*s, v.json) << "bits 0x" << std::hex << v.bits;
    // And as a member of a JSON document.
    auto doc = CanonicalJson(Json::array({FromBits(v.bits)}));
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(*doc, std::string("[") + v.json + "]");
  }
}

TEST(CanonicalNumberTest, NanAndInfinityRejected) {
  for (uint64_t bits : {0x7fffffffffffffffULL, 0x7ff8000000000000ULL, 0x7ff0000000000000ULL,
                        0xfff0000000000000ULL}) {
    auto s = CanonicalNumber(FromBits(bits));
    EXPECT_FALSE(s.ok()) << std::hex << bits;
    if (!s.ok()) { EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument); }
    EXPECT_FALSE(CanonicalJson(Json{{"x", FromBits(bits)}}).ok()) << std::hex << bits;
  }
  EXPECT_FALSE(CanonicalNumber(std::numeric_limits<double>::quiet_NaN()).ok());
  EXPECT_FALSE(CanonicalNumber(std::numeric_limits<double>::infinity()).ok());
  EXPECT_FALSE(CanonicalNumber(-std::numeric_limits<double>::infinity()).ok());
}

TEST(CanonicalNumberTest, EcmaScriptFormattingBoundaries) {
  const std::vector<std::pair<double, std::string>> cases = {
      {1e21, "1e+21"},
      {1e20, "100000000000000000000"},
      {123e18, "123000000000000000000"},
      {0.000001, "0.000001"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {0.0000015, "0.0000015"},
      {-0.0, "0"},
      {1.0, "1"},
      {-1.0, "-1"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {100.0, "100"},
      {123.456, "123.456"},
      {-123.456, "-123.456"},
      {4.5, "4.5"},
      {0.002, "0.002"},
      {1e30, "1e+30"},
      {1e-27, "1e-27"},
      {1.25e25, "1.25e+25"},
      {5e-324, "5e-324"},
  };
  for (const auto& [value, want] : cases) {
    auto s = CanonicalNumber(value);
    ASSERT_TRUE(s.ok()) << want;
    EXPECT_EQ(*s, want);
  }
}

TEST(CanonicalJsonTest, Rfc8785SortingExample) {
  // RFC 8785 §3.2.3: members are sorted by their UTF-16 code units.
  const std::string text = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  auto parsed = ParseJson(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto canon = CanonicalJson(*parsed);
  ASSERT_TRUE(canon.ok());

  // The values in the order the RFC lists them.
  const std::vector<std::string> order = {
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
  };
  size_t pos = 0;
  for (const auto& v : order) {
    size_t at = canon->find("\"" + v + "\"", pos);
    ASSERT_NE(at, std::string::npos) << v << " missing or out of order in " << *canon;
    pos = at;
  }
  const std::string expected =
      "{\"\\r\":\"Carriage Return\","
      "\"1\":\"One\","
      "\"\xc2\x80\":\"Control\","
      "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
      "\"\xe2\x82\xac\":\"Euro Sign\","
      "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
      "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";
  EXPECT_EQ(*canon, expected);
}

TEST(CanonicalJsonTest, Rfc8785FullExample) {
  // RFC 8785 §3.2.2 input and §3.2.3/§3.2.4 output.
  const std::string input = R"({
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})";
  const std::string expected =
      R"({"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":")"
      "\xe2\x82\xac"
      R"($\u000f\nA'B\"\\\\\"/"})";
  EXPECT_EQ(Canon(input), expected);

  // §3.2.4 gives the same result as UTF-8 bytes.
  const std::string utf8_hex =
      "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 "
      "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a "
      "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 "
      "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 "
      "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 "
      "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
  std::string bytes;
  for (size_t i = 0; i + 1 < utf8_hex.size(); i += 3) {
    bytes += static_cast<char>(std::stoi(utf8_hex.substr(i, 2), nullptr, 16));
  }
  EXPECT_EQ(Canon(input), bytes);
}

TEST(CanonicalJsonTest, StringEscaping) {
  auto esc = [](const std::string& s) {
    auto r = CanonicalJson(Json(s));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::string();
  };
  EXPECT_EQ(esc("\""), R"("\"")");
  EXPECT_EQ(esc("\\"), R"("\\")");
  EXPECT_EQ(esc("\b"), R"("\b")");
  EXPECT_EQ(esc("\f"), R"("\f")");
  EXPECT_EQ(esc("\n"), R"("\n")");
  EXPECT_EQ(esc("\r"), R"("\r")");
  EXPECT_EQ(esc("\t"), R"("\t")");
  // Other controls: \u00XX with lowercase hex.
  EXPECT_EQ(esc(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(esc("\x01"), R"("\u0001")");
  EXPECT_EQ(esc("\x0b"), R"("\u000b")");
  EXPECT_EQ(esc("\x0e"), R"("\u000e")");
  EXPECT_EQ(esc("\x0f"), R"("\u000f")");
  EXPECT_EQ(esc("\x1f"), R"("\u001f")");
  // Everything else is literal: '/', DEL, non-ASCII, U+2028, astral characters.
  EXPECT_EQ(esc("/"), R"("/")");
  EXPECT_EQ(esc("\x7f"), "\"\x7f\"");
  EXPECT_EQ(esc(" ~"), "\" ~\"");
  EXPECT_EQ(esc("\xc2\x80"), "\"\xc2\x80\"");
  EXPECT_EQ(esc("\xe2\x80\xa8"), "\"\xe2\x80\xa8\"");
  EXPECT_EQ(esc("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(esc("a\"b\\c\nd\x01"), R"("a\"b\\c\nd\u0001")");
  // Escapes in input are resolved, then re-emitted in canonical form.
  EXPECT_EQ(Canon(R"(["\u0041\u00e9\/\u001F\u007f"])"), "[\"A\xc3\xa9/\\u001f\x7f\"]");
  // Keys are escaped the same way.
  EXPECT_EQ(Canon(R"({"a\nb":1,"\"":2})"), R"({"\"":2,"a\nb":1})");
}

TEST(CanonicalJsonTest, LiteralsAndStructure) {
  EXPECT_EQ(Canon(" [ null , true , false , { } , [ ] , \"\" ] "), R"([null,true,false,{},[],""])");
  EXPECT_EQ(Canon(R"({"b":[3,2,1],"a":{"z":null,"y":{"x":0}}})"),
            R"({"a":{"y":{"x":0},"z":null},"b":[3,2,1]})");
  EXPECT_EQ(Canon("-0"), "0");
  EXPECT_EQ(Canon("1E2"), "100");
  EXPECT_EQ(Canon("[1.0, 10, -7, 0.5e1]"), "[1,10,-7,5]");
}

TEST(CanonicalJsonTest, IntegersBeyond2To53Rejected) {
  constexpr uint64_t k53 = uint64_t{1} << 53;
  auto ok_u = CanonicalJson(Json(k53));
  ASSERT_TRUE(ok_u.ok());
  EXPECT_EQ(*ok_u, "9007199254740992");
  auto ok_i = CanonicalJson(Json(-static_cast<int64_t>(k53)));
  ASSERT_TRUE(ok_i.ok());
  EXPECT_EQ(*ok_i, "-9007199254740992");

  for (const Json& bad : {Json(k53 + 1), Json(UINT64_MAX), Json(-static_cast<int64_t>(k53) - 1),
                          Json(std::numeric_limits<int64_t>::min()),
                          Json(std::numeric_limits<int64_t>::max()),
                          Json::array({1, Json(k53 + 1)}), Json{{"a", {{"b", Json(k53 + 7)}}}}}) {
    auto r = CanonicalJson(bad);
    EXPECT_FALSE(r.ok()) << bad.dump();
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
  // The same through the parser.
  for (const char* text : {"9007199254740993", "-9007199254740993", "[18446744073709551615]",
                           R"({"n":12345678901234567})"}) {
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_FALSE(CanonicalJson(*parsed).ok()) << text;
  }
}

TEST(ParseJsonTest, AcceptsValidDocuments) {
  auto r = ParseJson(R"({"a":[1,2,{"b":null}],"c":"\ud83d\ude00","d":{"a":1},"e":[{"a":1},{"a":2}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["c"].get<std::string>(), "\xf0\x9f\x98\x80");
  EXPECT_EQ((*r)["a"][2].is_object(), true);
  EXPECT_EQ((*r)["e"][1]["a"].get<int>(), 2);
}

TEST(ParseJsonTest, RejectsDuplicateKeys) {
  for (const char* text : {R"({"a":1,"a":2})", R"({"a":1,"b":2,"a":1})", R"({"x":{"k":1,"k":1}})",
                           R"([{"ok":1},{"k":[],"k":{}}])", R"({"\u0061":1,"a":2})"}) {
    auto r = ParseJson(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
  // The same name in different objects is fine.
  EXPECT_TRUE(ParseJson(R"({"a":{"a":{"a":1}},"b":{"a":2}})").ok());
  EXPECT_TRUE(ParseJson(R"([{"a":1},{"a":2},{"a":{"a":3}}])").ok());
}

std::string Nested(size_t depth, const std::string& inner) {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(ParseJsonTest, RejectsExcessiveDepth) {
  EXPECT_TRUE(ParseJson(Nested(10, "1")).ok());
  EXPECT_TRUE(ParseJson(Nested(64, "1")).ok());  // the default bound is 64 levels
  for (size_t depth : {size_t{66}, size_t{100}, size_t{5000}, size_t{100000}}) {
    auto r = ParseJson(Nested(depth, "1"));
    EXPECT_FALSE(r.ok()) << depth;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
    EXPECT_FALSE(ParseJson(Nested(depth, "")).ok()) << depth;
  }
  std::string objects;
  for (int i = 0; i < 200; ++i) objects += "{\"a\":";
  objects += "1";
  objects += std::string(200, '}');
  EXPECT_FALSE(ParseJson(objects).ok());

  // A caller-chosen bound: three levels of nesting are allowed, four are not.
  JsonLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseJson(Nested(3, "1"), limits).ok());
  EXPECT_TRUE(ParseJson(Nested(3, ""), limits).ok());
  EXPECT_TRUE(ParseJson(R"({"a":{"b":{"c":1}}})", limits).ok());
  EXPECT_FALSE(ParseJson(Nested(4, "1"), limits).ok());
  EXPECT_FALSE(ParseJson(Nested(4, ""), limits).ok());
  EXPECT_FALSE(ParseJson(R"({"a":{"b":{"c":{}}}})", limits).ok());
  EXPECT_FALSE(ParseJson(R"({"a":{"b":{"c":{"d":1}}}})", limits).ok());
}

TEST(ParseJsonTest, RejectsOversizeInput) {
  JsonLimits limits;
  limits.max_bytes = 10;
  EXPECT_TRUE(ParseJson("\"abcdefgh\"", limits).ok());  // exactly 10 bytes
  auto r = ParseJson("\"abcdefghi\"", limits);          // 11 bytes
  EXPECT_FALSE(r.ok());
  // Whitespace counts too: the bound is on the bytes received.
  EXPECT_FALSE(ParseJson("1          ", limits).ok());

  // The default bound is 1 MiB.
  std::string big = "\"" + std::string((1 << 20) - 2, 'a') + "\"";
  ASSERT_EQ(big.size(), size_t{1} << 20);
  EXPECT_TRUE(ParseJson(big).ok());
  big.insert(1, "a");
  EXPECT_FALSE(ParseJson(big).ok());
}

TEST(ParseJsonTest, RejectsInvalidUtf8) {
  for (const std::string& text : std::vector<std::string>{
           std::string("\"\xff\""),              // never valid
           std::string("\"\x80\""),              // lone continuation byte
           std::string("\"\xc0\xaf\""),          // overlong '/'
           std::string("\"\xe0\x80\xaf\""),      // overlong, three bytes
           std::string("\"\xed\xa0\x80\""),      // UTF-8-encoded surrogate U+D800
           std::string("\"\xf4\x90\x80\x80\""),  // above U+10FFFF
           std::string("\"\xe2\x82\""),          // truncated sequence
           std::string("\"\xc3\""),              // truncated at the quote
           std::string("\"\\ud800\""),           // escaped lone high surrogate
           std::string("\"\\udc00\""),           // escaped lone low surrogate
           std::string("\"\\ud83d\\u0041\""),    // high surrogate without its pair
           std::string("{\"\xfe\":1}"),          // in a key
       }) {
    auto r = ParseJson(text);
    EXPECT_FALSE(r.ok()) << "accepted " << ::testing::PrintToString(text);
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
  EXPECT_TRUE(ParseJson("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"").ok());
}

TEST(ParseJsonTest, RejectsTrailingGarbageAndMalformedText) {
  for (const std::string& text : std::vector<std::string>{"{} x", "{}}", "[1],", "1 2", "{}{}", "[1]]", "\"a\"\"b\"", "null x",
                           std::string("{}\0", 3), std::string("{\"a\":1}\0{\"b\":2}", 15), std::string("[\"a\0\"]", 6), "", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}",
                           "[01]", "[+1]", "[.5]", "[1.]", "[NaN]", "[Infinity]", "/*c*/1", "1 // c",
                           "[\"a\tb\"]", "[\"\x01\"]", "{\"a\" 1}", "tru", "nul"}) {
    auto r = ParseJson(text);
    EXPECT_FALSE(r.ok()) << "accepted " << ::testing::PrintToString(text);
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument); }
  }
  // Surrounding whitespace is allowed.
  EXPECT_TRUE(ParseJson(" \t\r\n{} \n").ok());
}

}  // namespace
}  // namespace cloudpact
