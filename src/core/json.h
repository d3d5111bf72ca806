// JSON at the trust boundary: bounded parsing of untrusted text, and RFC 8785 (JSON
// Canonicalization Scheme) serialisation, whose bytes are what the ledger hashes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace cloudpact {

using Json = nlohmann::json;

struct JsonLimits {
  size_t max_bytes = 1 << 20;
  size_t max_depth = 64;
};

// Parses I-JSON (RFC 7493): strict UTF-8, no duplicate member names, nesting bounded.
// Errors are kInvalidArgument with a message naming the problem and byte offset.
Result<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// RFC 8785 canonical form: members sorted by UTF-16 code units, numbers as ECMAScript
// Number.prototype.toString, minimal string escaping. Integers beyond ±2^53 are rejected
// because JCS numbers are IEEE doubles and such a value would not survive a round trip.
Result<std::string> CanonicalJson(const Json& value);

// Appends `s` as an RFC 8785 string ("…" with minimal escaping), for writers that build
// canonical JSON directly because their keys are fixed and known to be in order (hot paths).
// The bytes are copied as they are: the caller guarantees UTF-8.
void AppendCanonicalString(std::string& out, std::string_view s);

// The ECMAScript shortest round-trip rendering of a double (exposed for tests).
Result<std::string> CanonicalNumber(double value);

}  // namespace cloudpact
