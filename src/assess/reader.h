// Reading the assessment's YAML files (catalogs, checks): shape checks that name the line
// and JSON Pointer of every problem. Internal to src/assess.
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>
#include <set>
#include <string>

#include "assess/catalog.h"
#include "core/yaml.h"

namespace cloudpact::assess::internal {

constexpr size_t kMaxText = 16 * 1024;

inline Error Problem(const char* what, const YamlDocument& doc, const std::string& ptr, const std::string& msg) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(what) + " line " + std::to_string(doc.LineOf(ptr)) +
                                                    " (" + (ptr.empty() ? "/" : ptr) + "): " + msg);
}

inline Error PosProblem(const std::string& where, const SourcePos& pos, const std::string& msg) {
  return MakeError(ErrorCode::kInvalidArgument, where + " line " + std::to_string(pos.line) + " (" +
                                                    (pos.pointer.empty() ? "/" : pos.pointer) + "): " + msg);
}

// An OSCAL token (NCName) restricted to ASCII, so every id exports as a valid OSCAL id.
inline bool ValidId(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; });
}

inline bool ValidCheckId(const std::string& s) {
  if (s.empty() || s.size() > 128 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Text fields become OSCAL strings whose schema forbids leading/trailing whitespace.
inline bool Trimmed(const std::string& s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  return !s.empty() && !ws(s.front()) && !ws(s.back());
}

class Reader {
 public:
  Reader(const char* what, const YamlDocument& doc) : what_(what), doc_(doc) {}

  Error Fail(const std::string& ptr, const std::string& msg) const { return Problem(what_, doc_, ptr, msg); }

  Status OnlyKeys(const Json& obj, const std::string& ptr, const std::set<std::string>& allowed) const {
    if (!obj.is_object()) return Fail(ptr, "must be a mapping");
    for (const auto& [k, v] : obj.items())
      if (!allowed.count(k)) return Fail(JsonPointerAppend(ptr, k), "unknown key \"" + k + "\"");
    return OkStatus();
  }

  Result<std::string> Text(const Json& obj, const std::string& ptr, const char* key, bool required) const {
    const std::string kp = JsonPointerAppend(ptr, key);
    if (!obj.contains(key)) {
      if (required) return Fail(ptr, std::string(key) + " is required");
      return std::string();
    }
    const Json& v = obj[key];
    if (!v.is_string()) return Fail(kp, std::string(key) + " must be a string");
    const std::string s = v.get<std::string>();
    if (!Trimmed(s) || s.size() > kMaxText) {
      return Fail(kp, std::string(key) + " must be non-empty, at most 16 KiB, without leading or trailing spaces");
    }
    return s;
  }

  Result<std::string> Id(const Json& obj, const std::string& ptr) const {
    ASSIGN_OR_RETURN(std::string id, Text(obj, ptr, "id", true));
    if (!ValidId(id)) return Fail(ptr + "/id", "id \"" + id + "\" must match [A-Za-z_][A-Za-z0-9._-]*");
    return id;
  }

  SourcePos Pos(const std::string& ptr) const { return SourcePos{doc_.LineOf(ptr), ptr}; }

 private:
  const char* what_;
  const YamlDocument& doc_;
};

// The *.yaml files directly in `dir`, sorted (subdirectories such as checks/ and licensed/
// are read by their own loaders).
inline Result<std::vector<std::filesystem::path>> YamlFilesIn(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  }
  if (ec) return MakeError(ErrorCode::kNotFound, "cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace cloudpact::assess::internal
