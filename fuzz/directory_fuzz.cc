// The directory document (`cloudpact apply -f`, POST /v1/directory/apply): YAML from people
// or JSON from the API, parsed and validated. Must never crash, hang or leak; every error
// must be a bounded, JSON-safe message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json.h"
#include "core/yaml.h"
#include "directory/directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto doc = cloudpact::ParseYaml(in);
  if (!doc.ok()) {
    (void)cloudpact::Json(doc.error().message).dump();  // throws (crash) on invalid UTF-8
    return 0;
  }
  auto spec = cloudpact::directory::ParseDirectory(*doc);
  if (!spec.ok()) {
    (void)cloudpact::Json(spec.error().message).dump();
    return 0;
  }
  // What parsed must render back to JSON (the ledger entry of each record).
  for (const auto& r : spec->resources) (void)cloudpact::directory::ToJson(r).dump();
  for (const auto& s : spec->staff) (void)cloudpact::directory::ToJson(s).dump();
  for (const auto& a : spec->approvers) {
    if (a.public_key.size() != 32) std::abort();
    (void)cloudpact::directory::ToJson(a).dump();
  }
  return 0;
}
