// Files that must never be seen half-written or by the wrong user: keys, tokens, state.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace cloudpact {

Result<std::string> ReadFile(const std::filesystem::path& path);
// Writes to a temporary file created with `mode` (so never readable by others, not even
// for an instant), fsyncs it, and renames it over `path`: readers see the old content or
// the new, never a mix.
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& content, int mode = 0600);

}  // namespace cloudpact
