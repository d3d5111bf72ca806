// Query strings and the verifier's state file.
#include <string_view>

#include "api/http.h"
#include "ledger/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)cloudpact::api::ParseQuery(in);
  (void)cloudpact::ledger::VerifierState::FromJson(in);
  return 0;
}
