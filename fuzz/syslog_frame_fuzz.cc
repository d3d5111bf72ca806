// The syslog TCP frame decoder (RFC 6587; untrusted bytes from the network). Byte 0 picks the
// message limit and the mode, byte 1 seeds where the stream is split between Feed calls.
//   stream mode: the rest is one connection's bytes. Decoding it whole and decoding it in
//     pieces must agree (messages, error or not, truncation count); every message is one
//     non-empty spool line (no LF, CR or NUL) of at most 4 x the limit; a failed decoder
//     stays failed.
//   round-trip mode: the rest, split at 0xff bytes, is a list of messages, sent octet-counted;
//     each must come back escaped (a trailing LF or CRLF dropped), none lost, none extra.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/syslog_listener.h"

namespace {

using cloudpact::ingest::EscapeSyslogMessage;
using cloudpact::ingest::SyslogFrameDecoder;
using cloudpact::ingest::SyslogMessage;

struct Outcome {
  std::vector<SyslogMessage> messages;
  bool ok = true;
  uint64_t truncated = 0;
};

// Splits `stream` into pieces of 1..32 bytes chosen by a small PRNG (0 seed: whole).
Outcome Decode(std::string_view stream, size_t max, uint32_t seed) {
  SyslogFrameDecoder d(max);
  Outcome o;
  size_t i = 0;
  while (i < stream.size()) {
    size_t n = stream.size() - i;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (seed >> 16) % 32);
    }
    auto s = d.Feed(stream.substr(i, n), o.messages);
    i += n;
    if (!s.ok()) {
      o.ok = false;
      // Once the framing is lost, it stays lost and nothing more comes out.
      size_t before = o.messages.size();
      if (d.Feed("<1>more\n", o.messages).ok() || d.Finish(o.messages).ok()) std::abort();
      if (o.messages.size() != before) std::abort();
      break;
    }
  }
  if (o.ok && !d.Finish(o.messages).ok()) o.ok = false;
  o.truncated = d.truncated();
  size_t flagged = 0;
  for (const auto& m : o.messages) flagged += m.truncated;
  if (flagged != o.truncated) std::abort();
  return o;
}

void CheckLines(const Outcome& o, size_t max) {
  for (const auto& m : o.messages) {
    if (m.text.empty() || m.text.size() > 4 * max) std::abort();
    if (m.text.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr size_t kLimits[] = {1, 2, 3, 8, 16, 100, 480, 65536};
  size_t max = kLimits[data[0] & 7];
  bool round_trip = (data[0] & 8) != 0;
  uint32_t seed = data[1] | 1u;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);

  if (!round_trip) {
    Outcome whole = Decode(rest, max, 0);
    Outcome pieces = Decode(rest, max, seed);
    CheckLines(whole, max);
    if (whole.ok != pieces.ok || whole.messages != pieces.messages || whole.truncated != pieces.truncated) {
      std::abort();
    }
    return 0;
  }

  std::string stream;
  std::vector<SyslogMessage> want;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('\xff', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string m(rest.substr(start, std::min(end - start, max)));
    start = end + 1;
    if (m.empty()) continue;  // "0 " is no frame
    stream += std::to_string(m.size()) + " " + m;
    std::string body = m;
    if (!body.empty() && body.back() == '\n') {
      body.pop_back();
      if (!body.empty() && body.back() == '\r') body.pop_back();
    }
    if (!body.empty()) want.push_back(SyslogMessage{EscapeSyslogMessage(body), false});
  }
  Outcome got = Decode(stream, max, seed);
  CheckLines(got, max);
  if (!got.ok || got.messages != want || got.truncated != 0) std::abort();
  return 0;
}
