#include "ingest/event.h"

namespace cloudpact::ingest {
std::unique_ptr<LineParser> MakeSshdParser() { return nullptr; }
}  // namespace cloudpact::ingest
