#include "crypto/totp.h"

#include <liboath/oath.h>

#include "crypto/sha256.h"

namespace cloudpact::crypto {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// Times beyond the year 9999 are refused, which also keeps step arithmetic from overflowing.
constexpr int64_t kMaxUnixTime = 253402300799;

Status InitOath() {
  // oath_init must run once before any other call; a function-local static is initialised
  // exactly once even when several threads arrive together. Generating codes afterwards
  // touches no shared state.
  static const int rc = oath_init();
  if (rc != OATH_OK) {
    return MakeError(ErrorCode::kInternal, std::string("liboath: ") + oath_strerror(rc));
  }
  return OkStatus();
}

Status CheckInputs(std::string_view secret, int64_t unix_time, const TotpParams& p) {
  if (secret.empty()) return MakeError(ErrorCode::kInvalidArgument, "totp: empty secret");
  if (unix_time < 0 || unix_time > kMaxUnixTime) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: time out of range");
  }
  if (p.digits < 6 || p.digits > 8) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: digits must be 6, 7 or 8");
  }
  if (p.period < 1 || p.period > 3600) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: period must be 1 to 3600 seconds");
  }
  if (p.algo != TotpParams::kSha1 && p.algo != TotpParams::kSha256 &&
      p.algo != TotpParams::kSha512) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: unknown algorithm");
  }
  return InitOath();
}

int OathFlags(TotpParams::Algo algo) {
  switch (algo) {
    case TotpParams::kSha1:
      return 0;
    case TotpParams::kSha256:
      return OATH_TOTP_HMAC_SHA256;
    case TotpParams::kSha512:
      return OATH_TOTP_HMAC_SHA512;
  }
  return 0;
}

// The code of time step `step` (>= 0); inputs already checked.
Result<std::string> CodeForStep(std::string_view secret, int64_t step, const TotpParams& p) {
  char out[16] = {};
  int rc = oath_totp_generate2(secret.data(), secret.size(), static_cast<time_t>(step * p.period),
                               static_cast<unsigned>(p.period), 0, static_cast<unsigned>(p.digits),
                               OathFlags(p.algo), out);
  if (rc != OATH_OK) {
    return MakeError(ErrorCode::kInternal, std::string("liboath: ") + oath_strerror(rc));
  }
  return std::string(out);
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

}  // namespace

std::string GenerateTotpSecret() { return RandomBytes(20); }

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 31];
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  auto bad = [](const char* why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("base32: ") + why);
  };
  size_t data_len = text.find('=');
  if (data_len == std::string_view::npos) {
    data_len = text.size();
  } else {
    // Padding, if any, must be complete: up to a multiple of 8 characters, '=' only.
    if (text.size() % 8 != 0) return bad("incomplete padding");
    if (text.find_first_not_of('=', data_len) != std::string_view::npos) {
      return bad("characters after padding");
    }
  }
  // 8 characters carry 5 bytes; a group may end after 2, 4, 5 or 7 characters (1-4 bytes).
  size_t rest = data_len % 8;
  if (rest == 1 || rest == 3 || rest == 6) return bad("invalid length");
  if (data_len != text.size() && text.size() - data_len >= 8) return bad("too much padding");

  std::string out;
  out.reserve(data_len * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text.substr(0, data_len)) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      return bad("invalid character");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // Leftover bits (fewer than 8) must be zero, so that each byte string has one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return bad("non-zero trailing bits");
  return out;
}

std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret,
                    const TotpParams& params) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += PercentEncode(issuer) + ":";
  uri += PercentEncode(account);
  uri += "?secret=" + Base32Encode(secret);
  if (!issuer.empty()) uri += "&issuer=" + PercentEncode(issuer);
  const char* algo = params.algo == TotpParams::kSha256   ? "SHA256"
                     : params.algo == TotpParams::kSha512 ? "SHA512"
                                                          : "SHA1";
  uri += std::string("&algorithm=") + algo;
  uri += "&digits=" + std::to_string(params.digits);
  uri += "&period=" + std::to_string(params.period);
  return uri;
}

Result<std::string> TotpCode(std::string_view secret, int64_t unix_time, const TotpParams& params) {
  RETURN_IF_ERROR(CheckInputs(secret, unix_time, params));
  return CodeForStep(secret, unix_time / params.period, params);
}

Result<std::optional<int64_t>> VerifyTotp(std::string_view secret, std::string_view code,
                                          int64_t unix_time, const TotpParams& params,
                                          int window_steps) {
  RETURN_IF_ERROR(CheckInputs(secret, unix_time, params));
  if (window_steps < 0 || window_steps > kMaxTotpWindowSteps) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: window out of range");
  }
  if (code.size() != static_cast<size_t>(params.digits) ||
      code.find_first_not_of("0123456789") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "totp: code must be " + std::to_string(params.digits) + " digits");
  }
  const int64_t current = unix_time / params.period;
  std::optional<int64_t> matched;
  // Current step first, then outwards; every candidate is computed and compared so that the
  // time taken does not depend on which step (if any) matched.
  for (int i = 0; i <= 2 * window_steps; ++i) {
    int64_t step = current + ((i % 2 == 1) ? -(i + 1) / 2 : i / 2);
    if (step < 0) continue;
    ASSIGN_OR_RETURN(std::string expected, CodeForStep(secret, step, params));
    bool equal = ConstantTimeEquals(expected, code);
    if (equal && !matched) matched = step;
  }
  return matched;
}

}  // namespace cloudpact::crypto
