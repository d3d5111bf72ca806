// SFTP streams as the gateway relays them (gateway::SftpTracker). The input is a sequence of
// segments, each a 2-byte little-endian length and that many bytes, fed alternately as
// client -> target and target -> client bytes; then the session ends.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string_view>
#include <vector>

#include "gateway/transfer.h"

namespace {

using cloudpact::gateway::FileEvent;

// The contract of transfer.h: one kTransfer per kOpen, with the same file_id, after it; a
// hash exactly when the data was sequential.
struct Checker {
  std::map<uint64_t, int> open;  // file_id -> 1 while awaiting its kTransfer
  void Check(const std::vector<FileEvent>& events) {
    for (const FileEvent& e : events) {
      if (e.kind == FileEvent::Kind::kOpen) {
        if (e.file_id == 0 || !open.emplace(e.file_id, 1).second) std::abort();
      } else if (e.kind == FileEvent::Kind::kTransfer) {
        if (open.erase(e.file_id) != 1) std::abort();
        if (e.sequential != (e.sha256_hex.size() == 64)) std::abort();
        if (!e.sequential && !e.sha256_hex.empty()) std::abort();
      } else if (e.file_id != 0) {
        std::abort();
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  cloudpact::gateway::SftpTracker::Limits limits;
  limits.max_open_files = 8;  // small bounds, so that the fuzzer reaches them
  limits.max_pending_requests = 16;
  cloudpact::gateway::SftpTracker tracker(limits);
  Checker checker;
  bool from_client = true;
  bool failed = false;
  while (in.size() >= 2) {
    size_t n = static_cast<uint8_t>(in[0]) | (size_t{static_cast<uint8_t>(in[1])} << 8);
    in.remove_prefix(2);
    std::string_view segment = in.substr(0, n);
    in.remove_prefix(segment.size());
    auto r = from_client ? tracker.FromClient(segment) : tracker.FromTarget(segment);
    from_client = !from_client;
    if (!r.ok()) {
      failed = true;
      continue;  // later calls must keep failing
    }
    if (failed) std::abort();
    checker.Check(*r);
  }
  checker.Check(tracker.Finish());
  if (!checker.open.empty()) std::abort();
  return 0;
}
