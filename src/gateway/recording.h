// Session recordings: what an assessor replays to see what was done through the gateway.
// Each session is written as asciicast v2 (the format `asciinema play` and asciinema-player
// read), compressed as one zstd frame while it happens, and stored under the SHA-256 of its
// uncompressed bytes, which is what the ledger records. docs/RECORDINGS.md has the format,
// the storage layout and how to check a recording against its ledger entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cloudpact::gateway {

struct RecordingHeader {
  int width = 80, height = 24;  // 1..65535, the terminal at the start of the session
  int64_t timestamp = 0;        // Unix seconds when the session started
  // Written into the header's "env" and "title"; empty ones are left out. Invalid UTF-8 (the
  // client chooses TERM) becomes U+FFFD.
  std::string term, shell, title;
};

struct RecordingInfo {
  std::string sha256_hex;  // of the uncompressed asciicast: the recording's name and ledger hash
  uint64_t bytes = 0, compressed_bytes = 0, events = 0;
  double duration = 0;  // seconds, the time of the last event
};

// One session's recording, written as events happen. Not thread-safe: one session, one writer.
//
// Times are seconds since the session started. They are written with microsecond precision and
// made non-decreasing: an event earlier than the one before it is written at the earlier
// event's time (the gateway samples the clock on more than one path). A time that is not
// finite, negative or beyond 10^9 s is kInvalidArgument.
//
// Fail-closed: an error while writing (ENOSPC, EIO, ...) is returned by the call that hit it,
// and from then on every call fails, so the gateway ends the session instead of going on
// unrecorded. Invalid arguments are refused without writing anything and do not break the
// writer. Output and input are bytes; a UTF-8 sequence split across two calls of the same
// stream is joined, and bytes that are not UTF-8 are written as U+FFFD.
class RecordingWriter {
 public:
  virtual ~RecordingWriter() = default;
  virtual Status Output(double t, std::string_view data) = 0;   // "o": what the terminal showed
  virtual Status Input(double t, std::string_view data) = 0;    // "i": keystrokes, echoed or not
  virtual Status Resize(double t, int cols, int rows) = 0;      // "r": "COLSxROWS", 1..65535 each
  virtual Status Marker(double t, std::string_view label) = 0;  // "m": e.g. a command decision
  // Makes everything written so far durable (compressor flushed, written, fdatasync'd): a
  // recording cut short by a crash can be read up to its last Flush.
  virtual Status Flush() = 0;
  // Ends the recording and stores it under its SHA-256; storing a recording identical to one
  // already stored is not an error. Any later call fails with kFailedPrecondition.
  virtual Result<RecordingInfo> Finish() = 0;
};

class RecordingStore {
 public:
  virtual ~RecordingStore() = default;
  virtual Result<std::unique_ptr<RecordingWriter>> Begin(const RecordingHeader& header) = 0;
  // The asciicast text of a stored recording. kInvalidArgument unless the name is 64 lower-case
  // hex digits; kNotFound; kResourceExhausted if it is longer than max_bytes; kDataLoss if the
  // file does not decompress or its SHA-256 is not its name.
  virtual Result<std::string> Read(std::string_view sha256_hex, size_t max_bytes) const = 0;
  // The stored zstd bytes as they are (for download), after the same verification as Read;
  // max_bytes bounds the compressed size.
  virtual Result<std::string> ReadCompressed(std::string_view sha256_hex,
                                             size_t max_bytes) const = 0;
};

// Recordings under `dir` (created 0700 if missing): DIR/tmp/ holds recordings being written,
// DIR/sha256/<first two hex>/<hex>.cast.zst the finished ones. Files are 0600.
//
// A writer destroyed without Finish (the session ended by an error elsewhere) finishes itself
// if it can, so the recording up to the failure is stored and its name logged; a writer broken
// by a write error leaves its file in DIR/tmp/, readable up to its last Flush.
Result<std::unique_ptr<RecordingStore>> OpenRecordingStore(const std::filesystem::path& dir);

// The asciicast a recording file holds up to its last Flush, for a file left in DIR/tmp/ by a
// crash or a write error, cut after its last complete line (the zstd CLI stops short of the
// end of such a file, by up to its 4 MiB output buffer). Not verified: a partial recording has
// no name to check it against and its frame never reached its checksum.
Result<std::string> ReadPartialRecording(const std::filesystem::path& file, size_t max_bytes);

namespace internal {
// For tests and measurements, on writers made by OpenRecordingStore (-1 / 0 for others).
// The descriptor of the file being written, so that a test can dup2() /dev/full over it and
// see a real ENOSPC.
int RecordingWriterFd(RecordingWriter& writer);
// Bytes the writer holds: ZSTD_sizeof_CCtx plus its own buffers. Does not grow with the
// length of the recording or of one event.
size_t RecordingWriterMemory(const RecordingWriter& writer);
}  // namespace internal

}  // namespace cloudpact::gateway
