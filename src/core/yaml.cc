#include "core/yaml.h"

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace cloudpact {
namespace {

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF): text that is not would
// otherwise travel into error messages, ledger entries and JSON responses.
size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

// Counts documents without building them. yaml-cpp 0.7's LoadAll can loop forever on some
// tiny malformed inputs (",", "[a],"; jbeder/yaml-cpp#1040); the event parser does not.
class NullHandler final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

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
  if (size_t bad = InvalidUtf8At(text); bad != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "YAML document is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  if (text.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "YAML document contains a NUL byte");
  }
  YAML::Node root;
  try {
    std::string owned(text);
    {
      std::istringstream in(owned);
      YAML::Parser parser(in);
      NullHandler handler;
      int docs = 0;
      while (docs < 2 && parser.HandleNextDocument(handler)) ++docs;
      if (docs > 1) return MakeError(ErrorCode::kInvalidArgument, "expected one YAML document, found more");
    }
    root = YAML::Load(owned);
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
