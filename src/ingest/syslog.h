// Syslog framing shared by the sshd, sudo and auditd parsers (issue 7), and the options
// their factories take. The event.h factories (MakeSshdParser() …) use the defaults below.
//
// Accepted frames, one line each (a trailing "\r" is ignored: sshd -E writes "\r\n"):
//   RFC 5424   <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…|-] MSG
//   RFC 3164   [<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG   (/var/log/auth.log)
//   rsyslog    [<PRI>]2026-11-27T18:00:01.123456+00:00 HOST TAG[PID]: MSG   (Debian 12)
//   unframed   [TIMESTAMP ]MSG   (sshd -D -e / -E FILE, sudo's own log file, audit.log)
// RFC 3164 timestamps carry neither year nor zone: they are read as UTC, in the year of the
// options' clock, or the year before when that would put them more than 31 days in the future
// (December lines read in January). An unframed line without a timestamp gets the clock's
// time (its time of receipt): sshd -E writes none.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"
#include "ingest/event.h"

namespace cloudpact::ingest {

// Longer lines are rejected with kInvalidArgument (syslog relays cut at 8 KiB or less; sudo
// JSON and audit EXECVE records stay far below).
inline constexpr size_t kMaxLineBytes = 64 * 1024;

struct SyslogOptions {
  // Supplies the year of RFC 3164 timestamps and the time of unstamped lines; the system
  // clock when empty.
  std::function<SystemTime()> clock;
};

std::unique_ptr<LineParser> MakeSshdParser(const SyslogOptions& options);
std::unique_ptr<LineParser> MakeSudoParser(const SyslogOptions& options);
std::unique_ptr<LineParser> MakeAuditdParser(const SyslogOptions& options);

// One line split into its frame and message; views into the line given.
struct SyslogLine {
  bool framed = false;     // a HOST TAG header (or RFC 5424 header) was found
  bool has_time = false;   // the line carried a timestamp
  int64_t time_ms = 0;     // Unix ms, UTC (0 when !has_time)
  std::string_view host;   // "" when absent or "-"
  std::string_view app;    // TAG / APP-NAME without "[PID]"; "" when unframed
  std::string_view msg;    // the message (RFC 5424: after the structured data, BOM dropped)
};

// Splits a line. `now_ms` supplies the RFC 3164 year. Errors (kInvalidArgument) only for
// frames that are clearly broken: an unterminated "<PRI", a PRI above 191, an RFC 5424
// header with missing fields or unterminated structured data. Anything else that does not
// look like a frame is an unframed message.
Result<SyslogLine> ParseSyslogLine(std::string_view line, int64_t now_ms);

// Helpers shared by the three parsers; not for use outside src/ingest.
namespace syslog_internal {

int64_t NowMs(const SyslogOptions& options);
// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
// "2026-11-27T18:00:01[.frac](Z|±hh:mm)" at the start of `s`; sets `used` to its length.
bool ParseRfc3339(std::string_view s, int64_t* ms, size_t* used);
// Appends `in`, keeping valid UTF-8 and escaping control characters and invalid bytes as
// "\xNN", so that every field is valid UTF-8 JSON can carry and terminals can show.
void AppendSanitized(std::string& out, std::string_view in);
inline std::string Sanitized(std::string_view in) {
  std::string out;
  AppendSanitized(out, in);
  return out;
}
// Appends one argv element as a shell would need it: bare when it has only safe
// characters, otherwise in single quotes (each ' as '\''). Sanitized.
void AppendShellWord(std::string& out, std::string_view word);
Status CheckLineLength(std::string_view line, uint64_t line_no);
// Drops a trailing "\r" (and "\n").
std::string_view StripEol(std::string_view line);

}  // namespace syslog_internal
}  // namespace cloudpact::ingest
