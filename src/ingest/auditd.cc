#include "ingest/event.h"

namespace cloudpact::ingest {
std::unique_ptr<LineParser> MakeAuditdParser() { return nullptr; }
}  // namespace cloudpact::ingest
