// JSON audit sources (Kubernetes audit, CADF, CloudTrail/ActionTrail): the first byte picks
// the parser, the rest is fed line by line, then Finish. Invariants: every line gives events
// or a kInvalidArgument error with a bounded message, and every event carries its source,
// its line number, the line's SHA-256, class 6003 and values from the documented sets.
#include <cstdlib>
#include <string_view>

#include "ingest/event.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cloudpact::ingest;
  if (size == 0) return 0;
  std::unique_ptr<LineParser> parser;
  std::string_view prefix;
  switch (data[0] % 3) {
    case 0: parser = MakeK8sAuditParser(); prefix = "k8s."; break;
    case 1: parser = MakeCadfParser(); prefix = "api."; break;
    default: parser = MakeCloudTrailParser(); prefix = "api."; break;
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  uint64_t line_no = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    auto r = parser->Feed(line, ++line_no);
    if (!r.ok()) {
      Check(r.error().code == cloudpact::ErrorCode::kInvalidArgument);
      Check(!r.error().message.empty() && r.error().message.size() < 1024);
      continue;
    }
    std::string hash;
    for (const auto& e : *r) {
      Check(e.source == parser->name());
      Check(e.line == line_no);
      Check(e.raw_sha256.size() == 64);
      Check(hash.empty() || hash == e.raw_sha256);  // a Records line's events share its hash
      hash = e.raw_sha256;
      Check(e.ocsf_class_uid == 6003);
      Check(e.action.substr(0, prefix.size()) == prefix && e.action.size() > prefix.size());
      Check(e.outcome == "success" || e.outcome == "failure" || e.outcome == "unknown");
      Check(e.ocsf_activity_id == 1 || e.ocsf_activity_id == 2 || e.ocsf_activity_id == 3 ||
            e.ocsf_activity_id == 4 || e.ocsf_activity_id == 99);
      Check(!e.actor.empty());
      Check(e.detail.size() <= line.size());
      // Four-digit years only (± a day of UTC offset): the timestamp parser never yields more.
      Check(e.time_ms >= -62167219200000LL - 86400000LL && e.time_ms < 253402300800000LL + 86400000LL);
    }
  }
  Check(parser->Finish().empty());
  return 0;
}
