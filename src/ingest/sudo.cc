#include "ingest/event.h"

namespace cloudpact::ingest {
std::unique_ptr<LineParser> MakeSudoParser() { return nullptr; }
}  // namespace cloudpact::ingest
