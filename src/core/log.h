// Structured logs: one JSON object per line on stderr, so that operators can ship them
// to any collector without a parser of ours.
#pragma once

#include <string_view>

#include "core/json.h"

namespace cloudpact::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetMinLevel(Level level);
// Writes {"ts": RFC 3339 UTC, "level": ..., "msg": ..., ...fields} atomically per line.
void Write(Level level, std::string_view msg, const Json& fields = Json::object());

inline void Info(std::string_view msg, const Json& fields = Json::object()) { Write(Level::kInfo, msg, fields); }
inline void Warn(std::string_view msg, const Json& fields = Json::object()) { Write(Level::kWarn, msg, fields); }
inline void Error(std::string_view msg, const Json& fields = Json::object()) { Write(Level::kError, msg, fields); }

}  // namespace cloudpact::log
