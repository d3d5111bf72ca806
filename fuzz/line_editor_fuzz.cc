// Command-line reconstruction over arbitrary keystrokes and target output (both come from
// parties the gateway does not trust). The input is a list of segments: a header byte (low bit:
// 0 keystrokes, 1 output; the rest: length 0..127), then that many bytes. Byte 0 picks the line
// bound, so truncation paths are reached with short inputs.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/line_editor.h"

namespace {

using cloudpact::gateway::CommandLine;
using cloudpact::gateway::LineEditor;

// Independent of the decoder under test: rejects overlongs, surrogates, > U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

struct Segment {
  bool output;
  std::string_view bytes;
};

// Feeds every segment, input cut into chunks of `chunk` bytes (0: whole), checking the
// contract on every call; returns what was submitted and when full-screen mode changed.
std::vector<std::string> Run(const std::vector<Segment>& segments, size_t max_line, size_t chunk) {
  LineEditor editor(LineEditor::Options{max_line});
  std::vector<std::string> events;
  for (const Segment& seg : segments) {
    std::string_view rest = seg.bytes;
    while (!rest.empty()) {
      std::string_view part = chunk == 0 ? rest : rest.substr(0, chunk);
      rest.remove_prefix(part.size());
      if (seg.output) {
        editor.FeedOutput(part);
        continue;
      }
      while (!part.empty()) {
        std::optional<CommandLine> sub;
        const size_t used = editor.FeedInput(part, &sub);
        if (used == 0 || used > part.size()) std::abort();
        if (!sub.has_value() && used != part.size()) std::abort();
        if (sub.has_value()) {
          if (!ValidUtf8(sub->text)) std::abort();
          if (sub->text.size() > max_line) std::abort();
          if (editor.in_fullscreen()) std::abort();
          std::string e = sub->text;
          e += static_cast<char>('0' + static_cast<int>(sub->key));
          e += sub->from_echo ? 'e' : '-';
          e += sub->truncated ? 't' : '-';
          e += sub->echo_pending ? 'p' : '-';
          e += sub->echo_differs ? 'd' : '-';
          events.push_back(std::move(e));
        }
        part.remove_prefix(used);
      }
    }
    events.push_back(editor.in_fullscreen() ? "F" : "N");
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_line = 1 + data[0] % 96;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<Segment> segments;
  while (!in.empty()) {
    const auto header = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    const size_t n = std::min<size_t>(header >> 1, in.size());
    segments.push_back({(header & 1) != 0, in.substr(0, n)});
    in.remove_prefix(n);
  }
  // Whole segments and byte-by-byte feeding must agree: the parsers keep their state across
  // calls (split escape sequences, split UTF-8).
  const std::vector<std::string> whole = Run(segments, max_line, 0);
  if (Run(segments, max_line, 1) != whole) std::abort();
  if (Run(segments, max_line, 3) != whole) std::abort();
  return 0;
}
