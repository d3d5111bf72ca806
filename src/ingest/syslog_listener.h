// Syslog over TCP (RFC 6587) and TLS (RFC 5425), received into an on-disk spool (spool.h)
// before anything else happens to it; the pipeline reads the spool as a Source. A full spool
// stops the listener reading from its sockets, so that TCP slows the senders down: messages
// are never dropped for lack of room.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ingest/source.h"
#include "ingest/spool.h"

namespace cloudpact::ingest {

// The framing of one TCP connection, decoded message by message (RFC 6587 §3.4). A message
// starting with a digit 1-9 is octet-counted ("LEN SP MSG", LEN decimal without leading
// zero, at most max_message_bytes); any other is non-transparent: it ends at LF (or NUL), and
// a CR before that LF is dropped. Empty messages are skipped.
//
// Each message is returned escaped so that it is exactly one spool line: LF, CR and NUL
// inside it become "#012", "#015" and "#000" (rsyslog's control-character escaping; other
// bytes, '#' included, are kept as they are). A LF (or CRLF) ending an octet-counted message
// is dropped rather than escaped, for senders that count their trailer.
//
// Limits: an LF-framed message longer than max_message_bytes is cut there (counted in
// truncated()) and the rest up to its LF discarded. An octet count that is malformed or above
// the limit loses the framing: Feed returns kInvalidArgument, as does every later call, and
// the connection must be closed. Memory is bounded by max_message_bytes.
struct SyslogMessage {
  std::string text;        // escaped (see below): never empty, no LF, CR or NUL
  bool truncated = false;  // cut at max_message_bytes
  bool operator==(const SyslogMessage&) const = default;
};

class SyslogFrameDecoder {
 public:
  explicit SyslogFrameDecoder(size_t max_message_bytes = 65536);

  // Decodes the next bytes of the stream (split anywhere), appending each complete message
  // to `out`. Messages completed before an error are still appended.
  Status Feed(std::string_view bytes, std::vector<SyslogMessage>& out);
  // The stream ended: an unterminated LF-framed message is appended (senders may omit the
  // last LF); kInvalidArgument when it ended inside an octet-counted frame.
  Status Finish(std::vector<SyslogMessage>& out);

  uint64_t truncated() const { return truncated_; }

 private:
  enum class State { kStart, kCount, kOctets, kLine, kSkipLine, kFailed };
  void Emit(std::vector<SyslogMessage>& out, bool octet_counted);
  Status Fail(std::string message);

  size_t max_;
  State state_ = State::kStart;
  size_t count_ = 0;       // kCount: the count so far; kOctets: bytes still to read
  std::string raw_;        // the message being assembled, unescaped (at most max_ + 1 bytes)
  std::string error_;      // kFailed: why
  uint64_t truncated_ = 0;
};

// `#012`-style escaping of LF, CR and NUL (exposed for tests).
std::string EscapeSyslogMessage(std::string_view message);

struct SyslogListenerOptions {
  std::string listen = "127.0.0.1:6514";  // HOST:PORT or [V6]:PORT; port 0 picks a free one
  std::string tls_cert, tls_key;          // PEM files; both or neither. Plain TCP only on loopback
  std::string spool_dir;                  // required
  uint64_t spool_max_bytes = 1ull << 30;  // at least 32 x max_message_bytes
  size_t max_message_bytes = 65536;
  int max_connections = 256;     // further connections are closed at once (and logged)
  int idle_timeout_seconds = 300;  // a connection (or TLS handshake) silent this long is closed
};

// Counters of one listener (also exported as cloudpact_syslog_* metrics, summed over all).
// They are updated just after the spool append, so a reader may see lines slightly before.
struct SyslogListenerStats {
  uint64_t messages = 0;            // spooled
  uint64_t truncated = 0;           // cut at max_message_bytes
  uint64_t framing_errors = 0;      // connections closed because the framing was lost
  uint64_t connections = 0;         // accepted
  uint64_t connections_refused = 0; // beyond max_connections
  uint64_t spool_full_waits = 0;    // times a connection paused because the spool was full
  int open_connections = 0;
};

class SyslogListener : public Source {
 public:
  // Validates the options (kInvalidArgument; kFailedPrecondition for plain TCP on a
  // non-loopback address), opens the spool, binds and starts accepting on its own threads.
  static Result<std::unique_ptr<SyslogListener>> Start(SyslogListenerOptions options);
  ~SyslogListener() override;  // Stop()s

  uint16_t port() const;  // the bound port
  // Stops accepting and closes every connection; returns once no thread of the listener
  // runs. Messages received but still waiting for room in the spool are lost then (logged):
  // the sender had no acknowledgement beyond TCP's. Idempotent. The spool stays readable.
  void Stop();

  // The spool's: delivers spooled messages, one per line, escaped (SyslogFrameDecoder);
  // messages cut at max_message_bytes are listed in truncated_line_nos (in the spool, such a
  // line starts with a NUL byte, which no escaped message can hold; Run strips it). Run must
  // have returned before the listener is destroyed.
  Status Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) override;
  void Committed(const std::string& cursor) override;

  Spool& spool();
  SyslogListenerStats stats() const;

 private:
  class Impl;
  explicit SyslogListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudpact::ingest
