#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cloudpact {

using SystemTime = std::chrono::system_clock::time_point;

inline SystemTime SystemNow() { return std::chrono::system_clock::now(); }
// 2026-11-27T12:36:42.123456Z (microseconds, UTC).
std::string FormatRfc3339(SystemTime t);
inline int64_t UnixSeconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace cloudpact
