#include "ingest/event.h"

namespace cloudpact::ingest {
std::unique_ptr<LineParser> MakeK8sAuditParser() { return nullptr; }
std::unique_ptr<LineParser> MakeCadfParser() { return nullptr; }
std::unique_ptr<LineParser> MakeCloudTrailParser() { return nullptr; }
}  // namespace cloudpact::ingest
