// Tile and entry-bundle paths from URLs, and entry bundles from logs being verified.
#include <cstdlib>
#include <string_view>

#include "ledger/tiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ref = cloudpact::ledger::ParseTilePath(in);
  if (ref.ok()) {
    // Paths are canonical: a parsed path formats back to itself.
    if (cloudpact::ledger::FormatTilePath(*ref) != in) std::abort();
  }
  auto bundle = cloudpact::ledger::DecodeEntryBundle(in);
  if (bundle.ok() && cloudpact::ledger::EncodeEntryBundle(*bundle) != in) std::abort();
  return 0;
}
