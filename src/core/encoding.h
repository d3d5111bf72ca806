// Byte encodings used by the standards we follow: lowercase hex, and standard base64
// (RFC 4648 §4, with padding) as signed notes and checkpoints use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact {

std::string HexEncode(std::string_view bytes);
// Accepts only an even number of [0-9a-fA-F].
Result<std::string> HexDecode(std::string_view hex);

std::string Base64Encode(std::string_view bytes);
// Strict: canonical padding required, no whitespace, no trailing garbage.
Result<std::string> Base64Decode(std::string_view text);
// URL-safe alphabet without padding (RFC 4648 §5), for bearer tokens.
std::string Base64UrlEncode(std::string_view bytes);

// Parses a decimal uint64 with no sign, no leading zeroes (except "0"), no overflow.
Result<uint64_t> ParseDecimal(std::string_view text);

}  // namespace cloudpact
