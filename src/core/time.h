#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloudpact {

using SystemTime = std::chrono::system_clock::time_point;

inline SystemTime SystemNow() { return std::chrono::system_clock::now(); }
// 2026-11-27T12:36:42.123456Z (microseconds, UTC).
std::string FormatRfc3339(SystemTime t);
// RFC 3339 date-time to Unix seconds, the fraction dropped; false if malformed or out of
// range. With `offset_optional`, a time without Z or an offset is UTC (Keystone writes
// password_expires_at that way); a space may stand for the T.
bool ParseRfc3339Seconds(std::string_view s, bool offset_optional, int64_t* unix);
inline int64_t UnixSeconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace cloudpact
