// YAML for files people write (directory, policy): parsed into the same JSON value the REST
// API accepts, so one validator serves both, with the source line of every value kept so
// that errors can point at it.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "core/json.h"
#include "core/result.h"

namespace cloudpact {

struct YamlLimits {
  size_t max_bytes = 4 << 20;
  size_t max_nodes = 500'000;  // after alias expansion: bounds "billion laughs" documents
  size_t max_depth = 64;
};

struct YamlDocument {
  Json value;
  // JSON Pointer (RFC 6901) of each value → its 1-based line in the source.
  std::unordered_map<std::string, int> lines;

  // The line of `pointer`, or of its nearest ancestor that has one; 0 if none.
  int LineOf(const std::string& pointer) const;
};

// One YAML document. Plain scalars become booleans (true/false), integers, null (~, null)
// or strings; quoted scalars are always strings. Duplicate keys, non-string keys, and
// anything beyond the limits are kInvalidArgument with the line named.
Result<YamlDocument> ParseYaml(std::string_view text, const YamlLimits& limits = {});

// Wraps a JSON value that has no source lines (from the REST API) as a document.
YamlDocument FromJson(Json value);

// Appends "/token" to a JSON Pointer, escaping '~' and '/' per RFC 6901.
std::string JsonPointerAppend(const std::string& pointer, std::string_view token);

}  // namespace cloudpact
