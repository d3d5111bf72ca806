// The sshd, sudo and auditd line parsers (untrusted log lines). The first byte picks the
// parser (% 3: sshd, sudo, auditd); the rest is fed line by line, then Finish. Invariants:
// no crash, every event complete and bounded, every field valid UTF-8 (so ToJson dumps),
// lines numbered within what was fed, assembly bounded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/event.h"
#include "ingest/syslog.h"

namespace {

using cloudpact::ingest::OperationEvent;

bool ValidUtf8(std::string_view s) {
  std::string copy;
  cloudpact::ingest::syslog_internal::AppendSanitized(copy, s);
  return copy == s && s.find('\0') == std::string_view::npos;
}

void Check(const OperationEvent& e, std::string_view name, uint64_t last_line) {
  if (e.source != name) std::abort();
  if (e.action.empty() || e.action.size() > 64) std::abort();
  if (e.outcome != "success" && e.outcome != "failure" && e.outcome != "unknown") std::abort();
  if (e.line < 1 || e.line > last_line) std::abort();
  if (e.raw_sha256.size() != 64 ||
      e.raw_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    std::abort();
  if (e.ocsf_class_uid != 3002 && e.ocsf_class_uid != 1007 && e.ocsf_class_uid != 3001)
    std::abort();
  for (const std::string* f : {&e.actor, &e.actor_org, &e.source_ip, &e.platform, &e.action,
                               &e.target, &e.target_login, &e.detail}) {
    // A field comes from one line (≤ 64 KiB), escaping at most quadruples it; detail may
    // join the arguments of one event's records (≤ 256 lines).
    if (f->size() > 256u * 4 * cloudpact::ingest::kMaxLineBytes) std::abort();
    if (!ValidUtf8(*f)) std::abort();
  }
  (void)cloudpact::ingest::ToJson(e).dump();  // throws (and so aborts) on invalid UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using std::chrono::milliseconds;
  cloudpact::ingest::SyslogOptions options{
      [] { return cloudpact::SystemTime(milliseconds(1795824000000)); }};
  std::unique_ptr<cloudpact::ingest::LineParser> p;
  switch (data[0] % 3) {
    case 0: p = cloudpact::ingest::MakeSshdParser(options); break;
    case 1: p = cloudpact::ingest::MakeSudoParser(options); break;
    default: p = cloudpact::ingest::MakeAuditdParser(options); break;
  }
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  uint64_t line_no = 0;
  size_t events = 0;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    auto r = p->Feed(line, ++line_no);
    if (!r.ok()) {
      if (r.error().message.empty()) std::abort();
      continue;
    }
    // One line completes at most the events in assembly plus its own.
    if (r->size() > 1025) std::abort();
    for (const auto& e : *r) Check(e, p->name(), line_no);
    events += r->size();
  }
  auto rest = p->Finish();
  if (rest.size() > 1024) std::abort();
  for (const auto& e : rest) Check(e, p->name(), line_no);
  if (!p->Finish().empty()) std::abort();  // each event once
  events += rest.size();
  if (events > line_no) std::abort();      // never more events than lines
  return 0;
}
