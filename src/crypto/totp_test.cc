#include "crypto/totp.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace cloudpact::crypto {
namespace {

// RFC 6238 Appendix B: the seed for each algorithm is its digest size of ASCII digits.
const std::string kSeedSha1 = "12345678901234567890";
const std::string kSeedSha256 = "12345678901234567890123456789012";
const std::string kSeedSha512 = "1234567890123456789012345678901234567890123456789012345678901234";

struct Vector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};
// The whole table of RFC 6238 Appendix B (8 digits, 30-second steps, T0 = 0).
const Vector kRfc6238[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TotpParams Params8(TotpParams::Algo algo) {
  TotpParams p;
  p.digits = 8;
  p.algo = algo;
  return p;
}

std::string MustCode(std::string_view secret, int64_t t, const TotpParams& p = TotpParams()) {
  auto c = TotpCode(secret, t, p);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : std::string();
}

std::optional<int64_t> MustVerify(std::string_view secret, std::string_view code, int64_t t,
                                  const TotpParams& p = TotpParams(), int window = 1) {
  auto v = VerifyTotp(secret, code, t, p, window);
  EXPECT_TRUE(v.ok()) << v.error().message;
  return v.ok() ? *v : std::nullopt;
}

TEST(TotpTest, Rfc6238AppendixBVectors) {
  for (const Vector& v : kRfc6238) {
    SCOPED_TRACE(v.time);
    const std::pair<std::string, TotpParams> cases[] = {
        {kSeedSha1, Params8(TotpParams::kSha1)},
        {kSeedSha256, Params8(TotpParams::kSha256)},
        {kSeedSha512, Params8(TotpParams::kSha512)},
    };
    const char* expected[] = {v.sha1, v.sha256, v.sha512};
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(MustCode(cases[i].first, v.time, cases[i].second), expected[i]) << "algo " << i;
      EXPECT_EQ(MustVerify(cases[i].first, expected[i], v.time, cases[i].second, 0), v.time / 30)
          << "algo " << i;
    }
  }
}

TEST(TotpTest, SixDigitsAreTheLowDigitsOfEight) {
  // HOTP truncates modulo 10^digits, so the 6-digit code is the tail of the 8-digit one.
  EXPECT_EQ(MustCode(kSeedSha1, 59), "287082");
  TotpParams seven = Params8(TotpParams::kSha1);
  seven.digits = 7;
  EXPECT_EQ(MustCode(kSeedSha1, 59, seven), "4287082");
}

TEST(TotpTest, PeriodSetsTheStep) {
  TotpParams p = Params8(TotpParams::kSha1);
  p.period = 60;
  // 1111111080 and 1111111139 are the first and last second of 60-second step 18518518.
  EXPECT_EQ(MustCode(kSeedSha1, 1111111080, p), MustCode(kSeedSha1, 1111111139, p));
  EXPECT_EQ(MustVerify(kSeedSha1, MustCode(kSeedSha1, 1111111109, p), 1111111109, p, 0),
            1111111109 / 60);
}

TEST(TotpTest, WindowAcceptsNeighbouringStepsAndReturnsTheirCounter) {
  const int64_t now = 1234567890;  // step 41152263, 0 seconds into it
  const int64_t step = now / 30;
  std::string prev = MustCode(kSeedSha1, now - 30), cur = MustCode(kSeedSha1, now),
              next = MustCode(kSeedSha1, now + 30), prev2 = MustCode(kSeedSha1, now - 60);
  EXPECT_EQ(MustVerify(kSeedSha1, cur, now), step);
  EXPECT_EQ(MustVerify(kSeedSha1, prev, now), step - 1);
  EXPECT_EQ(MustVerify(kSeedSha1, next, now), step + 1);
  EXPECT_EQ(MustVerify(kSeedSha1, prev2, now), std::nullopt);
  EXPECT_EQ(MustVerify(kSeedSha1, prev2, now, TotpParams(), 2), step - 2);
  // Window 0: the current step only.
  EXPECT_EQ(MustVerify(kSeedSha1, cur, now, TotpParams(), 0), step);
  EXPECT_EQ(MustVerify(kSeedSha1, prev, now, TotpParams(), 0), std::nullopt);
  // A wrong code, and a code for another secret.
  std::string wrong = cur;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  EXPECT_EQ(MustVerify(kSeedSha1, wrong, now, TotpParams(), 0), std::nullopt);
  EXPECT_EQ(MustVerify("another secret", cur, now, TotpParams(), 0), std::nullopt);
}

TEST(TotpTest, WindowAtTheEpochSkipsNegativeSteps) {
  std::string c = MustCode(kSeedSha1, 0);
  EXPECT_EQ(MustVerify(kSeedSha1, c, 5, TotpParams(), 3), 0);
}

// How a caller uses the counter for replay protection: remember the last accepted step and
// accept only later ones.
TEST(TotpTest, CounterLetsTheCallerRefuseReplays) {
  int64_t last_accepted = -1;
  auto sign_in = [&](std::string_view code, int64_t now) {
    auto step = MustVerify(kSeedSha1, code, now);
    if (!step || *step <= last_accepted) return false;
    last_accepted = *step;
    return true;
  };
  const int64_t now = 2000000000;
  std::string code = MustCode(kSeedSha1, now);
  EXPECT_TRUE(sign_in(code, now));
  EXPECT_FALSE(sign_in(code, now));       // the same code again
  EXPECT_FALSE(sign_in(code, now + 30));  // still inside the window, one step later
  // An older code still inside the window is refused too: its step is not newer.
  EXPECT_FALSE(sign_in(MustCode(kSeedSha1, now - 30), now));
  // The next step's code is accepted.
  EXPECT_TRUE(sign_in(MustCode(kSeedSha1, now + 30), now + 30));
  EXPECT_EQ(last_accepted, (now + 30) / 30);
}

TEST(TotpTest, RejectsMalformedCodes) {
  const int64_t now = 59;
  const std::string_view bads[] = {
      "",
      "28708",
      "2870822",
      "28708a",
      " 287082",
      "287082 ",
      "-87082",
      "+87082",
      "2870.2",
      "\xef\xbc\x92\xef\xbc\x98\xef\xbc\x97\xef\xbc\x90\xef\xbc\x98\xef\xbc\x92",  // fullwidth
      std::string_view("28708\0", 6)};
  for (std::string_view bad : bads) {
    auto v = VerifyTotp(kSeedSha1, bad, now);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(VerifyTotp(kSeedSha1, "1234567", now).error().message, "totp: code must be 6 digits");
  // An 8-digit code against 6-digit params is malformed, not merely wrong.
  EXPECT_FALSE(VerifyTotp(kSeedSha1, "94287082", now).ok());
}

TEST(TotpTest, RejectsBadInputs) {
  TotpParams p;
  auto expect_invalid = [](auto r, const char* what) {
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << what;
  };
  expect_invalid(TotpCode("", 59, p), "empty secret");
  expect_invalid(TotpCode(kSeedSha1, -1, p), "negative time");
  expect_invalid(TotpCode(kSeedSha1, INT64_MAX, p), "huge time");
  for (int digits : {0, 5, 9, 10}) {
    p = TotpParams();
    p.digits = digits;
    expect_invalid(TotpCode(kSeedSha1, 59, p), "digits");
  }
  for (int period : {0, -30, 3601}) {
    p = TotpParams();
    p.period = period;
    expect_invalid(TotpCode(kSeedSha1, 59, p), "period");
  }
  p = TotpParams();
  p.algo = static_cast<TotpParams::Algo>(7);
  expect_invalid(TotpCode(kSeedSha1, 59, p), "algorithm");
  expect_invalid(VerifyTotp(kSeedSha1, "287082", 59, TotpParams(), -1), "window -1");
  expect_invalid(VerifyTotp(kSeedSha1, "287082", 59, TotpParams(), kMaxTotpWindowSteps + 1),
                 "window too large");
  expect_invalid(VerifyTotp("", "287082", 59), "verify with empty secret");
}

TEST(TotpTest, ConcurrentUseIsSafe) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        for (const Vector& v : kRfc6238) {
          auto c = TotpCode(kSeedSha512, v.time, Params8(TotpParams::kSha512));
          if (!c.ok() || *c != v.sha512) ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// RFC 4648 §10.
TEST(Base32Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(plain), encoded);
    auto d = Base32Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.error().message;
    EXPECT_EQ(*d, plain);
  }
  EXPECT_EQ(Base32Encode(kSeedSha1), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Base32Test, DecodeAcceptsPaddingAndLowerCase) {
  const std::pair<std::string, std::string> vectors[] = {
      {"MY======", "f"},        {"MZXQ====", "fo"},       {"MZXW6===", "foo"},
      {"MZXW6YQ=", "foob"},     {"MZXW6YTB", "fooba"},    {"MZXW6YTBOI======", "foobar"},
      {"mzxw6ytboi", "foobar"}, {"mZxW6yTbOi", "foobar"},
  };
  for (const auto& [encoded, plain] : vectors) {
    auto d = Base32Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.error().message;
    EXPECT_EQ(*d, plain) << encoded;
  }
}

TEST(Base32Test, DecodeRejectsMalformed) {
  for (std::string_view bad : {"M", "MZX", "MZXW6Y", "MZ", "MZXR", "MY=", "MY=====", "MY======A",
                               "MY=A====", "MZXW6YTB========", "========", "MY 6", "MY\n",
                               "MZXW6YT1", "MZXW6YT8", "MZXW6YT0", "MZXW6YT-"}) {
    auto d = Base32Decode(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Base32Test, RandomSecretsRoundTrip) {
  for (int i = 0; i < 100; ++i) {
    std::string secret = GenerateTotpSecret();
    ASSERT_EQ(secret.size(), 20u);
    std::string text = Base32Encode(secret);
    EXPECT_EQ(text.size(), 32u);
    auto back = Base32Decode(text);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, secret);
  }
  EXPECT_NE(GenerateTotpSecret(), GenerateTotpSecret());
}

TEST(TotpUriTest, KeyUriFormat) {
  EXPECT_EQ(TotpUri("Example Co", "alice@example.com", kSeedSha1),
            "otpauth://totp/Example%20Co:alice%40example.com"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co"
            "&algorithm=SHA1&digits=6&period=30");
  TotpParams p;
  p.digits = 8;
  p.period = 60;
  p.algo = TotpParams::kSha256;
  EXPECT_EQ(TotpUri("", "bob", "f", p),
            "otpauth://totp/bob?secret=MY&algorithm=SHA256&digits=8&period=60");
  p.algo = TotpParams::kSha512;
  // Colons, ampersands, slashes and non-ASCII in the label or issuer are all escaped.
  EXPECT_EQ(TotpUri("a:b&c", "x/y?z=\xe4\xb8\xad", "f", p),
            "otpauth://totp/a%3Ab%26c:x%2Fy%3Fz%3D%E4%B8%AD?secret=MY&issuer=a%3Ab%26c"
            "&algorithm=SHA512&digits=8&period=60");
}

}  // namespace
}  // namespace cloudpact::crypto
