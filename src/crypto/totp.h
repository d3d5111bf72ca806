// Time-based one-time passwords (RFC 6238) through liboath, with the provisioning pieces
// an authenticator app needs: a random secret, RFC 4648 base32, and an otpauth:// URI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::crypto {

struct TotpParams {
  int digits = 6;   // 6, 7 or 8
  int period = 30;  // seconds per time step, 1 to 3600
  enum Algo : int { kSha1, kSha256, kSha512 } algo = kSha1;
};

// At most this many steps either side of the current one are accepted by VerifyTotp.
inline constexpr int kMaxTotpWindowSteps = 10;

// 20 random bytes (160 bits, RFC 4226's recommended secret length).
std::string GenerateTotpSecret();

// RFC 4648 §6 base32, upper case, without padding (as authenticator apps expect).
std::string Base32Encode(std::string_view bytes);
// Accepts upper or lower case, with or without the '=' padding (complete if present);
// rejects whitespace, other characters and non-zero trailing bits.
Result<std::string> Base32Decode(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=…&digits=…&period=…
// (the Key Uri Format of Google Authenticator), issuer and account percent-encoded. With an
// empty issuer the label is the account alone and there is no issuer parameter.
// secret is the raw bytes.
std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret,
                    const TotpParams& params = TotpParams());

// The code for the time step containing unix_time (seconds since the epoch, >= 0).
// kInvalidArgument for an empty secret, a negative time or params out of range.
Result<std::string> TotpCode(std::string_view secret, int64_t unix_time,
                             const TotpParams& params = TotpParams());

// Checks code against the steps unix_time/period - window_steps … + window_steps, comparing
// in constant time and always computing every candidate. Returns the matched time-step
// counter (the current step preferred, then the nearest), or std::nullopt for no match.
// Replay protection is the caller's: store the counter of the last accepted code per
// secret, and accept a code only if its counter is greater.
// kInvalidArgument for a code that is not exactly params.digits ASCII digits, or for the
// same reasons as TotpCode, or window_steps outside 0..kMaxTotpWindowSteps.
Result<std::optional<int64_t>> VerifyTotp(std::string_view secret, std::string_view code,
                                          int64_t unix_time,
                                          const TotpParams& params = TotpParams(),
                                          int window_steps = 1);

}  // namespace cloudpact::crypto
