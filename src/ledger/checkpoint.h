// C2SP tlog-checkpoint note texts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ledger/merkle.h"

namespace cloudpact::ledger {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};

std::string FormatCheckpoint(const Checkpoint& cp);  // the note text, ending in '\n'
Result<Checkpoint> ParseCheckpoint(std::string_view text);

}  // namespace cloudpact::ledger
