// An on-disk, append-only queue of lines between a receiver that must acknowledge quickly
// (the syslog listener) and the pipeline that consumes at its own pace. Lines are durable
// (fsync'd) before Append returns; the pipeline reads them as a Source and, once it has
// committed a cursor, the segments wholly before it are deleted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/source.h"

namespace cloudpact::ingest {

// A directory (created 0700) of segment files (0600) named by a 20-digit sequence number
// ("00000000000000000001.seg"), each a run of LF-terminated lines, plus a LOCK file held with
// flock() so that one process at a time uses the spool.
//
// Thread-safe: Append may be called from several threads, and Run from another one.
class Spool final : public Source {
 public:
  // Opens (or creates) the spool in `dir`. An unterminated last line (an append torn by a
  // crash: it was never acknowledged) is cut off. Segments hold at most
  // min(segment_bytes, max_bytes / 8) bytes (one Append may exceed that), so that committing
  // frees space in steps. kFailedPrecondition when another process holds the spool.
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir, uint64_t max_bytes,
                                             uint64_t segment_bytes = 64ull << 20);
  ~Spool() override;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends the lines (none may contain '\n': kInvalidArgument; the caller escapes) and
  // fsyncs them; all or nothing. kResourceExhausted, writing nothing, when they would take
  // the spool beyond max_bytes: the caller should slow its sender down and retry once the
  // pipeline has committed (back-pressure). A batch of more than max_bytes / 4 bytes is
  // kInvalidArgument: it might never fit (split it). kUnavailable on an I/O error (nothing
  // of the batch is then readable).
  Status Append(const std::vector<std::string>& lines);

  // Delivers lines from `cursor` ({"segment":N,"offset":B,"line":L}; empty: the oldest line
  // still spooled), waiting for appends, until `stop` is set or the sink returns false.
  // Only durable lines are delivered. Line numbers count from the spool's oldest line when
  // the cursor is empty, and continue the cursor's otherwise. A cursor beyond the spool's
  // end (the directory was wiped) is logged and reading starts at the oldest line.
  Status Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) override;
  // Deletes the segments wholly before `cursor`. A cursor beyond the spool's end is logged
  // and ignored.
  void Committed(const std::string& cursor) override;

  uint64_t bytes_used() const;  // bytes in segment files, committed or not
  uint64_t max_bytes() const { return max_bytes_; }
  uint64_t appends_refused() const;  // Append calls answered kResourceExhausted

 private:
  struct Position {
    uint64_t segment = 0, offset = 0, line = 0;
  };
  Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes);
  Status Load();
  std::string SegmentPath(uint64_t n) const;
  Status RollLocked();
  static Result<Position> ParseCursor(const std::string& text);

  const std::string dir_;
  const uint64_t max_bytes_;
  const uint64_t segment_bytes_;
  int lock_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable appended_;  // notified after each durable append
  uint64_t first_segment_ = 1;        // GUARDED_BY(mu_); oldest segment on disk
  uint64_t write_segment_ = 1;        // GUARDED_BY(mu_); the segment appended to
  int write_fd_ = -1;                 // GUARDED_BY(mu_)
  uint64_t write_size_ = 0;           // GUARDED_BY(mu_); durable bytes of write_segment_
  uint64_t used_ = 0;                 // GUARDED_BY(mu_); bytes of all segments
  std::vector<uint64_t> sizes_;       // GUARDED_BY(mu_); size of segment first_segment_ + i
  uint64_t refused_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace cloudpact::ingest
