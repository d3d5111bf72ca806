// Where audit-log lines come from: files followed across rotation, standard input, and
// syslog over TCP (optionally TLS) through an on-disk spool. Each source hands the pipeline
// ordered chunks of lines with an opaque cursor; the pipeline commits the cursor in the same
// storage transaction as the events of those lines, and a restarted source resumes after the
// last committed cursor: nothing lost, nothing counted twice (docs/INGEST.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace cloudpact::ingest {

// Consecutive lines of one source, without their line terminators.
struct LineChunk {
  std::vector<std::string> lines;
  uint64_t first_line_no = 1;  // 1-based number of lines[0] in its file / stream
  // Resume point after the last line of this chunk: compact JSON text, only meaningful to the
  // source that made it. Passing it to Run() continues with the line after lines.back().
  std::string cursor;
  // A line longer than the source's limit is cut there; its number is listed so that the
  // pipeline keeps it as a dead letter instead of parsing half a record.
  std::vector<uint64_t> truncated_line_nos;
};

// Called with each chunk, in order. Blocks while the pipeline is full (back-pressure); returns
// false when the source must stop (shutdown).
using ChunkSink = std::function<bool(LineChunk)>;

class Source {
 public:
  virtual ~Source() = default;
  // Reads from `cursor` (empty: the source's beginning) and delivers chunks until `stop` is
  // set or the sink returns false; follows new data rather than returning at the end, except
  // for finite sources (stdin, one-off files), which return OK at their end. Errors that
  // prevent reading at all are returned; transient ones (file missing for a while, a peer
  // disconnecting) are logged and retried.
  virtual Status Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) = 0;
  // Called once the pipeline has durably committed everything up to `cursor`: a spool may now
  // delete segments that lie wholly before it. Default: nothing.
  virtual void Committed(const std::string& cursor) { (void)cursor; }
};

struct FileSourceOptions {
  std::string path;
  bool follow = true;            // false: read to the current end once and return
  size_t max_line_bytes = 65536; // longer lines are cut and reported in truncated_line_nos
  size_t max_chunk_lines = 4096;
  int poll_interval_ms = 200;
};
// A file followed like `tail -F`: detects rotation by rename (a new inode at the path: the
// rest of the old file is read first, from its open descriptor) and by truncation
// (copytruncate: reading restarts at 0). The cursor names the file by device, inode and a
// hash of its first bytes, so that a restart after rotation finds the right file (also as
// PATH.1 when logrotate renamed it) and resumes at the saved byte offset.
//
// Lines end at LF; a CR before it is dropped. An unterminated last line is held back until
// its LF arrives, or until the file is rotated away; a one-off read (follow=false) delivers
// it at the end. Line numbers are per file: 1 at its first line, continued from the cursor.
// Memory is bounded by max_chunk_lines x max_line_bytes, and a chunk also ends at 4 MiB.
// Cursor: {"dev","ino","offset","line","head"}, "head" the hex SHA-256 of the file's first
// min(offset, 1024) bytes (bytes already read, so stable while the file grows; a reused inode
// with other content does not match). A cursor whose file is neither at PATH nor at PATH.1
// (deleted, replaced, truncated below the offset, or rotated twice) is logged and PATH is read
// from its beginning. Without a cursor PATH is read from its beginning. A missing PATH is
// waited for (follow) or kNotFound; a PATH that is not a regular file is kInvalidArgument.
// Limits, as with `tail -F`: lines written to the old file after the new one was found and the
// old one drained, or between copytruncate's copy and its truncation, are not seen.
std::unique_ptr<Source> MakeFileSource(FileSourceOptions options);

// Standard input (or any descriptor), read to its end. Cursor: the line count, {"line":N} (a
// pipe cannot be re-read, so a restart cannot resume it; `cloudpact ingest -` is one-off):
// Run with a non-empty cursor is kFailedPrecondition. Same line rules as files; lines read are
// delivered when the writer pauses. The descriptor is not closed.
std::unique_ptr<Source> MakeStreamSource(int fd, size_t max_line_bytes = 65536);

}  // namespace cloudpact::ingest
