// Request bodies: bounded I-JSON parsing, then RFC 8785 canonicalisation, which must be
// idempotent for anything that parses.
#include <cstdlib>
#include <string_view>

#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto j = cloudpact::ParseJson(in, {1 << 16, 64});
  if (!j.ok()) return 0;
  auto c = cloudpact::CanonicalJson(*j);
  if (!c.ok()) return 0;
  auto again = cloudpact::ParseJson(*c, {1 << 20, 64});
  if (!again.ok()) std::abort();
  auto c2 = cloudpact::CanonicalJson(*again);
  if (!c2.ok() || *c2 != *c) std::abort();
  return 0;
}
