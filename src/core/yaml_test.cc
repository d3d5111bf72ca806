#include "core/yaml.h"

#include <gtest/gtest.h>

namespace cloudpact {
namespace {

TEST(Yaml, ScalarsBecomeTypedJsonAndLinesAreKept) {
  auto doc = ParseYaml("name: ops\ncount: 3\nneg: -4\non: true\nquoted: \"true\"\nzip: 007\nnothing: ~\nlist:\n  - a\n  - b: 1\n");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->value["name"], "ops");
  EXPECT_EQ(doc->value["count"], 3);
  EXPECT_EQ(doc->value["neg"], -4);
  EXPECT_EQ(doc->value["on"], true);
  EXPECT_EQ(doc->value["quoted"], "true");
  EXPECT_EQ(doc->value["zip"], "007");  // leading zero: not silently an integer
  EXPECT_TRUE(doc->value["nothing"].is_null());
  EXPECT_EQ(doc->value["list"][1]["b"], 1);
  EXPECT_EQ(doc->LineOf("/count"), 2);
  EXPECT_EQ(doc->LineOf("/list/1/b"), 10);
  EXPECT_EQ(doc->LineOf("/list/1/missing"), 10);  // nearest ancestor
}

TEST(Yaml, DuplicateKeysAreRejectedWithTheirLine) {
  auto doc = ParseYaml("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("line 3"), std::string::npos) << doc.error().message;
  EXPECT_NE(doc.error().message.find("duplicate key \"a\""), std::string::npos);
}

TEST(Yaml, SyntaxErrorsNameTheLine) {
  auto doc = ParseYaml("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("line "), std::string::npos) << doc.error().message;
}

TEST(Yaml, AliasBombsHitTheNodeBound) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", *" : "*") + prev;
    text += "]\n";
    prev = c;
  }
  auto doc = ParseYaml(text);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message.find("more than"), std::string::npos) << doc.error().message;
}

TEST(Yaml, RejectsOversizedAndMultiDocumentInput) {
  YamlLimits limits;
  limits.max_bytes = 16;
  EXPECT_EQ(ParseYaml("key: a value that is too long\n", limits).error().code, ErrorCode::kResourceExhausted);
  EXPECT_FALSE(ParseYaml("a: 1\n---\nb: 2\n").ok());
  EXPECT_FALSE(ParseYaml(std::string("a: \0", 4)).ok());
  EXPECT_NE(ParseYaml("a: \xff\n").error().message.find("not valid UTF-8"), std::string::npos);
  EXPECT_FALSE(ParseYaml("a: \xc0\xaf\n").ok());  // overlong '/'
  EXPECT_TRUE(ParseYaml("a: 数据库\n").ok());
}

// yaml-cpp 0.7's LoadAll loops forever on these (found by the policy fuzzer); they must
// come back, parsed or refused.
TEST(Yaml, InputsThatHangYamlCppLoadAllReturn) {
  for (const char* text : {",", "[a],", "{a: 1},", "- a\n,"}) {
    auto doc = ParseYaml(text);
    if (doc.ok()) EXPECT_FALSE(doc->value.is_object() && doc->value.empty());
  }
}

TEST(Yaml, JsonPointerEscapes) {
  EXPECT_EQ(JsonPointerAppend("/labels", "a/b~c"), "/labels/a~1b~0c");
}

}  // namespace
}  // namespace cloudpact
