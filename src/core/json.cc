#include "core/json.h"

#include <charconv>
#include <cmath>
#include <set>
#include <vector>

namespace cloudpact {
namespace {

constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53);

struct TooDeep {};
struct DuplicateKey {
  std::string key;
};

// UTF-16 code-unit order of two UTF-8 strings, as RFC 8785 §3.2.3 requires. Only
// characters above U+FFFF (surrogate pairs, 0xD800..) sort differently from UTF-8 byte
// order against U+E000..U+FFFF, so we map code points to their first UTF-16 unit.
std::u16string ToUtf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1f; len = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0f; len = 3; }
    else { cp = c & 0x07; len = 4; }
    for (int k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3ff));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

void AppendStringImpl(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied: copied in runs, not one by one
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

Status Serialize(const Json& v, std::string& out, size_t depth) {
  if (depth > 256) return MakeError(ErrorCode::kInvalidArgument, "json: nesting too deep");
  switch (v.type()) {
    case Json::value_t::null: out += "null"; return OkStatus();
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return OkStatus();
    case Json::value_t::number_integer: {
      int64_t i = v.get<int64_t>();
      if (i > kMaxSafeInteger || i < -kMaxSafeInteger) {
        return MakeError(ErrorCode::kInvalidArgument, "json: integer beyond 2^53 cannot be canonicalised");
      }
      out += std::to_string(i);
      return OkStatus();
    }
    case Json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(kMaxSafeInteger)) {
        return MakeError(ErrorCode::kInvalidArgument, "json: integer beyond 2^53 cannot be canonicalised");
      }
      out += std::to_string(u);
      return OkStatus();
    }
    case Json::value_t::number_float: {
      ASSIGN_OR_RETURN(std::string n, CanonicalNumber(v.get<double>()));
      out += n;
      return OkStatus();
    }
    case Json::value_t::string: AppendStringImpl(out, v.get_ref<const std::string&>()); return OkStatus();
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        RETURN_IF_ERROR(Serialize(e, out, depth + 1));
      }
      out += ']';
      return OkStatus();
    }
    case Json::value_t::object: {
      std::vector<std::pair<std::u16string, Json::const_iterator>> members;
      members.reserve(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) members.emplace_back(ToUtf16(it.key()), it);
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [key16, it] : members) {
        if (!first) out += ',';
        first = false;
        AppendStringImpl(out, it.key());
        out += ':';
        RETURN_IF_ERROR(Serialize(it.value(), out, depth + 1));
      }
      out += '}';
      return OkStatus();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return MakeError(ErrorCode::kInvalidArgument, "json: value cannot be canonicalised");
}

}  // namespace

void AppendCanonicalString(std::string& out, std::string_view s) { AppendStringImpl(out, s); }

Result<std::string> CanonicalNumber(double value) {
  if (!std::isfinite(value)) return MakeError(ErrorCode::kInvalidArgument, "json: NaN or infinity");
  if (value == 0) return std::string("0");  // also -0
  char buf[64];
  // Shortest round-trip digits in scientific form: d[.ddd]e±XX.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (ec != std::errc()) return MakeError(ErrorCode::kInternal, "json: number formatting failed");
  std::string_view sci(buf, end - buf);
  std::string out;
  if (sci[0] == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exp10 = std::stoi(std::string(sci.substr(e_pos + 1)));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // value = 0.digits × 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n);
    out += '.';
    out += digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(-n, '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += (n - 1 >= 0) ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

Result<std::string> CanonicalJson(const Json& value) {
  std::string out;
  RETURN_IF_ERROR(Serialize(value, out, 0));
  return out;
}

Result<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "json: document larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  // nlohmann's lexer treats NUL as the end of input, which would silently accept
  // "{}\0<anything>"; a NUL byte is never valid JSON text (RFC 8259 §7 requires
  // control characters in strings to be escaped), so reject it outright.
  if (text.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "json: NUL byte at offset " + std::to_string(text.find('\0')));
  }
  // One set of member names per open object, to reject duplicates (I-JSON §2.3).
  std::vector<std::set<std::string>> keys;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    // `depth` counts the containers around the event; a container's own start event
    // opens one more level, so "[[]]" is two levels deep just as "[[1]]" is.
    size_t level = static_cast<size_t>(depth);
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) ++level;
    if (level > limits.max_depth) throw TooDeep{};
    switch (event) {
      case Json::parse_event_t::object_start: keys.emplace_back(); break;
      case Json::parse_event_t::object_end: keys.pop_back(); break;
      case Json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) {
          throw DuplicateKey{parsed.get<std::string>()};
        }
        break;
      default: break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const TooDeep&) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "json: nesting deeper than " + std::to_string(limits.max_depth));
  } catch (const DuplicateKey& d) {
    return MakeError(ErrorCode::kInvalidArgument, "json: duplicate member name \"" + d.key + "\"");
  } catch (const Json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("json: ") + e.what());
  }
}

}  // namespace cloudpact
