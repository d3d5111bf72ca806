#include "core/yaml.h"

#include <cerrno>
#include <cstdlib>
#include <exception>

#include <yaml-cpp/yaml.h>

namespace cloudpact {
namespace {

struct Converter {
  const YamlLimits& limits;
  YamlDocument& doc;
  size_t nodes = 0;

  cloudpact::Error Fail(const YAML::Node& node, const std::string& message) {
    return MakeError(ErrorCode::kInvalidArgument,
                         "line " + std::to_string(node.Mark().line + 1) + ": " + message);
  }

  static Json Scalar(const YAML::Node& node) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;  // quoted: always a string
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
    if (s == "~" || s == "null" || s.empty()) return nullptr;
    bool integer = !s.empty() && s.size() <= 18;
    for (size_t i = 0; i < s.size() && integer; ++i) {
      integer = (s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '-' && s.size() > 1);
    }
    if (integer && !(s.size() > 1 && s[0] == '0')) return std::strtoll(s.c_str(), nullptr, 10);
    return s;
  }

  Result<Json> Convert(const YAML::Node& node, const std::string& pointer, size_t depth) {
    if (++nodes > limits.max_nodes) {
      return Fail(node, "document has more than " + std::to_string(limits.max_nodes) +
                             " values (after expanding aliases)");
    }
    if (depth > limits.max_depth) return Fail(node, "nesting deeper than " + std::to_string(limits.max_depth));
    doc.lines.emplace(pointer, node.Mark().line + 1);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        Json out = Json::array();
        size_t i = 0;
        for (const auto& child : node) {
          ASSIGN_OR_RETURN(Json v, Convert(child, JsonPointerAppend(pointer, std::to_string(i++)), depth + 1));
          out.push_back(std::move(v));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        Json out = Json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) return Fail(kv.first, "keys must be plain strings");
          const std::string key = kv.first.Scalar();
          if (out.contains(key)) return Fail(kv.first, "duplicate key \"" + key + "\"");
          ASSIGN_OR_RETURN(Json v, Convert(kv.second, JsonPointerAppend(pointer, key), depth + 1));
          out[key] = std::move(v);
        }
        return out;
      }
    }
    return Fail(node, "unsupported YAML node");
  }
};

}  // namespace

std::string JsonPointerAppend(const std::string& pointer, std::string_view token) {
  std::string out = pointer + "/";
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

int YamlDocument::LineOf(const std::string& pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = lines.find(p);
    if (it != lines.end()) return it->second;
    if (p.empty()) return 0;
    p.resize(p.rfind('/'));
  }
}

YamlDocument FromJson(Json value) {
  YamlDocument doc;
  doc.value = std::move(value);
  return doc;
}

Result<YamlDocument> ParseYaml(std::string_view text, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                         "YAML document larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "YAML document contains a NUL byte");
  }
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1) return MakeError(ErrorCode::kInvalidArgument, "expected one YAML document, found " + std::to_string(docs.size()));
    if (!docs.empty()) root = docs.front();
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                         "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("invalid YAML: ") + e.what());
  }
  YamlDocument doc;
  Converter converter{limits, doc};
  try {
    ASSIGN_OR_RETURN(doc.value, converter.Convert(root, "", 0));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                         "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return doc;
}

}  // namespace cloudpact
