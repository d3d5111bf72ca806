// scp streams as the gateway relays them (gateway::ScpTracker for `scp -r -t /srv`). The
// input is a sequence of segments, each a 2-byte little-endian length and that many bytes,
// fed alternately as target -> client (the sink speaks first) and client -> target bytes;
// then the session ends.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>
#include <vector>

#include "gateway/transfer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cloudpact::gateway::FileEvent;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto tracker = cloudpact::gateway::ScpTracker::ForCommand("scp -r -p -t /srv");
  if (!tracker) std::abort();
  // Any command must parse without crashing, too.
  (void)cloudpact::gateway::ScpTracker::ForCommand(in.substr(0, 200));
  std::set<uint64_t> open;
  auto check = [&open](const std::vector<FileEvent>& events) {
    for (const FileEvent& e : events) {
      if (e.path.empty() || e.path.size() > cloudpact::gateway::ScpTracker::kMaxPath) std::abort();
      if (e.kind == FileEvent::Kind::kOpen && !open.insert(e.file_id).second) std::abort();
      if (e.kind == FileEvent::Kind::kTransfer) {
        if (open.erase(e.file_id) != 1) std::abort();
        if (e.sha256_hex.size() != 64) std::abort();  // scp data is always sequential
      }
    }
  };
  bool from_client = false;
  bool failed = false;
  while (in.size() >= 2) {
    size_t n = static_cast<uint8_t>(in[0]) | (size_t{static_cast<uint8_t>(in[1])} << 8);
    in.remove_prefix(2);
    std::string_view segment = in.substr(0, n);
    in.remove_prefix(segment.size());
    auto r = from_client ? tracker->FromClient(segment) : tracker->FromTarget(segment);
    from_client = !from_client;
    if (!r.ok()) {
      failed = true;
      continue;
    }
    if (failed) std::abort();
    check(*r);
  }
  check(tracker->Finish());
  if (!open.empty()) std::abort();
  return 0;
}
