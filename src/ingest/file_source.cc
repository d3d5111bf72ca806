// File and stream sources (source.h): line splitting with bounded memory, `tail -F` over
// rotation and truncation, and cursors that find the right file again after a restart.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "core/json.h"
#include "core/log.h"
#include "crypto/sha256.h"
#include "ingest/source.h"

namespace cloudpact::ingest {
namespace {

constexpr size_t kReadBytes = 64 * 1024;
// A chunk also ends once its lines hold this many bytes, so that a chunk's memory is bounded
// by bytes as well as by max_chunk_lines.
constexpr size_t kChunkBytes = 4 << 20;
// The cursor's "head" hashes at most this many of the file's first bytes.
constexpr uint64_t kHeadBytes = 1024;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Splits bytes read from one file or stream into lines, tracking the offset after each.
// Lines end at LF; a CR before it is dropped. A line longer than max_line_bytes keeps its
// first max_line_bytes bytes and is flagged; the rest up to its LF is skipped, so that at
// most max_line_bytes + 1 bytes of an unterminated line are ever held.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes) : max_(std::max<size_t>(max_line_bytes, 1)) {}

  // Forgets everything; the next byte given is the one at `offset`.
  void Reset(uint64_t offset) {
    buf_.clear();
    pos_ = 0;
    base_ = offset;
    line_end_ = offset;
    cur_.clear();
    over_ = false;
  }
  // True when every byte given has been looked at: only then may more be given.
  bool Drained() const { return pos_ == buf_.size(); }
  void Give(const char* p, size_t n) {
    base_ += buf_.size();
    buf_.assign(p, n);
    pos_ = 0;
  }
  // The next complete line among the bytes given, if any.
  bool Next(std::string* line, bool* truncated) {
    if (pos_ == buf_.size()) return false;
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', buf_.size() - pos_);
    if (nl == nullptr) {
      Take(start, buf_.size() - pos_);
      pos_ = buf_.size();
      return false;
    }
    size_t len = static_cast<const char*>(nl) - start;
    Take(start, len);
    pos_ += len + 1;
    line_end_ = base_ + pos_;
    Finish(line, truncated);
    return true;
  }
  // The unterminated last line (at the end of a file that will not grow), if any.
  bool TakePartial(std::string* line, bool* truncated) {
    if (cur_.empty() && !over_) return false;
    line_end_ = read_end();
    Finish(line, truncated);
    return true;
  }
  bool has_partial() const { return !cur_.empty() || over_; }
  uint64_t line_end() const { return line_end_; }  // offset after the last line returned
  uint64_t read_end() const { return base_ + buf_.size(); }  // offset after the bytes given

 private:
  void Take(const char* p, size_t n) {
    size_t room = max_ + 1 - cur_.size();  // one more than the limit, for a CR to strip
    if (n > room) over_ = true;
    cur_.append(p, std::min(n, room));
  }
  void Finish(std::string* line, bool* truncated) {
    if (!over_ && !cur_.empty() && cur_.back() == '\r') cur_.pop_back();
    *truncated = over_ || cur_.size() > max_;
    if (cur_.size() > max_) cur_.resize(max_);
    *line = std::move(cur_);
    cur_.clear();
    over_ = false;
  }

  size_t max_;
  std::string buf_;   // bytes read, from offset base_
  size_t pos_ = 0;    // first byte of buf_ not yet looked at
  uint64_t base_ = 0;
  uint64_t line_end_ = 0;
  std::string cur_;   // the line being assembled (at most max_ + 1 bytes)
  bool over_ = false;  // cur_ had bytes cut off
};

// Collects lines into a chunk and hands it to the sink when full.
class ChunkBuilder {
 public:
  explicit ChunkBuilder(size_t max_lines) : max_lines_(std::max<size_t>(max_lines, 1)) {}
  void Add(std::string line, bool truncated, uint64_t line_no) {
    if (chunk_.lines.empty()) chunk_.first_line_no = line_no;
    if (truncated) chunk_.truncated_line_nos.push_back(line_no);
    bytes_ += line.size();
    chunk_.lines.push_back(std::move(line));
  }
  bool empty() const { return chunk_.lines.empty(); }
  bool full() const { return chunk_.lines.size() >= max_lines_ || bytes_ >= kChunkBytes; }
  // Delivers the chunk (if any) with `cursor`; false when the sink says stop.
  bool Flush(std::string cursor, const ChunkSink& sink) {
    if (chunk_.lines.empty()) return true;
    chunk_.cursor = std::move(cursor);
    LineChunk out = std::move(chunk_);
    chunk_ = LineChunk{};
    bytes_ = 0;
    return sink(std::move(out));
  }

 private:
  size_t max_lines_;
  LineChunk chunk_;
  size_t bytes_ = 0;
};

// Sleeps up to `ms`, waking early when `stop` is set.
void SleepUnlessStopped(int ms, const std::atomic<bool>& stop) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(ms, 1));
  while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), deadline - std::chrono::steady_clock::now()));
  }
}

// Adds the complete lines `split` holds to `chunk`, numbering them from `next_line`, and
// hands the chunk to `flush` whenever it fills. False when the source must stop: the sink
// said so (flush returned false) or `stop` was set after a flush.
template <typename Flush>
bool AddCompleteLines(LineSplitter& split, ChunkBuilder& chunk, uint64_t& next_line, const Flush& flush,
                      const std::atomic<bool>& stop) {
  std::string line;
  bool truncated = false;
  while (split.Next(&line, &truncated)) {
    chunk.Add(std::move(line), truncated, next_line++);
    if (chunk.full() && (!flush() || stop.load())) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// File source

struct FileCursor {
  uint64_t dev = 0, ino = 0, offset = 0, line = 0;
  std::string head;
};

Result<FileCursor> ParseFileCursor(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "file source cursor " + why + ": " + text.substr(0, 200));
  };
  auto j = ParseJson(text, JsonLimits{4096, 4});
  if (!j.ok() || !j->is_object()) return bad("is not a JSON object");
  FileCursor c;
  for (auto [name, field] : {std::pair{"dev", &c.dev}, std::pair{"ino", &c.ino},
                             std::pair{"offset", &c.offset}, std::pair{"line", &c.line}}) {
    auto it = j->find(name);
    if (it == j->end() || !it->is_number_unsigned()) return bad(std::string("lacks \"") + name + "\"");
    *field = it->get<uint64_t>();
  }
  auto h = j->find("head");
  if (h == j->end() || !h->is_string()) return bad("lacks \"head\"");
  c.head = h->get<std::string>();
  return c;
}

// One open file being read.
class OpenFile {
 public:
  OpenFile() = default;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  OpenFile(OpenFile&& o) noexcept { *this = std::move(o); }
  OpenFile& operator=(OpenFile&& o) noexcept {
    std::swap(fd, o.fd);
    dev = o.dev;
    ino = o.ino;
    name = std::move(o.name);
    head_len = o.head_len;
    head = std::move(o.head);
    return *this;
  }
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }

  // Opens `path`; kNotFound when it does not exist.
  static Result<OpenFile> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "no file " + path);
      return MakeError(ErrorCode::kUnavailable, Errno("cannot open " + path));
    }
    OpenFile f;
    f.fd = fd;
    f.name = path;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return MakeError(ErrorCode::kUnavailable, Errno("cannot stat " + path));
    if (!S_ISREG(st.st_mode)) {
      return MakeError(ErrorCode::kInvalidArgument, path + " is not a regular file (read pipes as a stream)");
    }
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    return f;
  }

  uint64_t Size() const {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  // Hex SHA-256 of the first `len` bytes; nullopt when the file is shorter.
  std::optional<std::string> HashFirst(uint64_t len) const {
    char buf[kHeadBytes];
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      got += static_cast<size_t>(n);
    }
    return crypto::Sha256Hex(std::string_view(buf, len));
  }

  // The cursor's "head" for a position at `offset`: the hash of the first min(offset, 1024)
  // bytes. Those bytes were read already, so they do not change while the file only grows.
  std::string Head(uint64_t offset) {
    uint64_t len = std::min(offset, kHeadBytes);
    if (len != head_len || head.empty()) {
      head = HashFirst(len).value_or("");
      head_len = len;
    }
    return head;
  }

  // Whether `c` names this file at a position it still has.
  bool Matches(const FileCursor& c) const {
    if (c.dev != dev || c.ino != ino || Size() < c.offset) return false;
    auto h = HashFirst(std::min(c.offset, kHeadBytes));
    return h && *h == c.head;
  }

  int fd = -1;
  uint64_t dev = 0, ino = 0;
  std::string name;
  uint64_t head_len = 0;
  std::string head;  // hash of the first head_len bytes, once computed
};

class FileSource final : public Source {
 public:
  explicit FileSource(FileSourceOptions o) : o_(std::move(o)) {}

  Status Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) override {
    std::optional<FileCursor> from;
    if (!cursor.empty()) {
      ASSIGN_OR_RETURN(from, ParseFileCursor(cursor));
    }
    LineSplitter split(o_.max_line_bytes);
    ChunkBuilder chunk(o_.max_chunk_lines);
    OpenFile file;
    uint64_t next_line = 1;  // number of the next line of `file`
    bool warned = false;

    // Find where to start: the cursor's file (at PATH, or at PATH.1 after logrotate), else
    // PATH from its beginning, waiting for it to appear when following.
    while (true) {
      if (stop.load()) return OkStatus();
      auto at_path = OpenFile::Open(o_.path);
      if (!at_path.ok() && at_path.error().code != ErrorCode::kNotFound) return std::move(at_path).error();
      if (from) {
        if (at_path.ok() && at_path->Matches(*from)) {
          file = std::move(at_path).value();
        } else if (auto rotated = OpenFile::Open(o_.path + ".1"); rotated.ok() && rotated->Matches(*from)) {
          log::Info("ingest: resuming in the rotated file", {{"path", rotated->name}, {"offset", from->offset}});
          file = std::move(rotated).value();
        }
        if (file.fd >= 0) {
          if (::lseek(file.fd, static_cast<off_t>(from->offset), SEEK_SET) < 0) {
            return MakeError(ErrorCode::kUnavailable, Errno("cannot seek in " + file.name));
          }
          split.Reset(from->offset);
          next_line = from->line + 1;
          break;
        }
        if (!warned) {
          log::Warn("ingest: the file of the saved cursor is gone (replaced, truncated or rotated away); "
                    "reading the file at the path from its beginning",
                    {{"path", o_.path}, {"cursor", cursor}});
          warned = true;
        }
      }
      if (at_path.ok()) {
        file = std::move(at_path).value();
        split.Reset(0);
        next_line = 1;
        break;
      }
      if (!o_.follow) return MakeError(ErrorCode::kNotFound, "no file " + o_.path);
      SleepUnlessStopped(o_.poll_interval_ms, stop);
    }

    auto cursor_of = [&](uint64_t offset, uint64_t line) {
      Json c = {{"dev", file.dev}, {"ino", file.ino}, {"offset", offset}, {"line", line},
                {"head", file.Head(offset)}};
      return c.dump();
    };
    auto flush = [&] { return chunk.Flush(cursor_of(split.line_end(), next_line - 1), sink); };
    bool rotated = false;  // a new file is at the path: read the old one to its end, then switch
    // copytruncate: the file is shorter than what was read, or its first bytes changed.
    // Reading starts again at its beginning (what was written between the copy and the
    // truncation is lost to everyone, as with `tail -F`).
    auto restart_if_rewritten = [&]() -> Result<bool> {
      uint64_t size = file.Size();
      if (size < split.read_end()) {
        log::Warn("ingest: file truncated, reading it again from its beginning",
                  {{"path", file.name}, {"size", size}, {"offset", split.read_end()}});
      } else if (file.head_len > 0 && !file.head.empty() && file.HashFirst(file.head_len) != file.head) {
        log::Warn("ingest: file rewritten in place, reading it again from its beginning", {{"path", file.name}});
      } else {
        return false;
      }
      if (split.has_partial()) log::Warn("ingest: unterminated line lost to truncation", {{"path", file.name}});
      if (::lseek(file.fd, 0, SEEK_SET) < 0) return MakeError(ErrorCode::kUnavailable, Errno("cannot seek"));
      split.Reset(0);
      file.head.clear();
      file.head_len = 0;
      next_line = 1;
      return true;
    };
    std::string buf(kReadBytes, '\0');

    while (true) {
      if (stop.load()) return OkStatus();
      if (!AddCompleteLines(split, chunk, next_line, flush, stop)) return OkStatus();
      ssize_t n = ::read(file.fd, buf.data(), buf.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return MakeError(ErrorCode::kUnavailable, Errno("cannot read " + file.name));
      if (n > 0) {
        split.Give(buf.data(), static_cast<size_t>(n));
        continue;
      }
      // At the end of what the file holds now.
      if (!flush()) return OkStatus();
      if (o_.follow && !rotated) {
        ASSIGN_OR_RETURN(bool rewritten, restart_if_rewritten());
        if (rewritten) continue;
      }
      std::string line;  // an unterminated last line, taken once the file will not grow
      bool truncated = false;
      struct stat st {};
      bool replaced = ::stat(o_.path.c_str(), &st) == 0 &&
                      (static_cast<uint64_t>(st.st_dev) != file.dev || static_cast<uint64_t>(st.st_ino) != file.ino);
      if (!replaced) rotated = false;
      if (replaced && !rotated) {
        // The writer may have added to the old file after our last read: read it once more.
        rotated = true;
        continue;
      }
      if (replaced) {
        auto next = OpenFile::Open(o_.path);
        if (next.ok()) {
          if (split.TakePartial(&line, &truncated)) {
            chunk.Add(std::move(line), truncated, next_line++);
            if (!flush()) return OkStatus();
          }
          log::Info("ingest: following the new file at the path", {{"path", o_.path}, {"previous", file.name}});
          file = std::move(next).value();
          split.Reset(0);
          next_line = 1;
          rotated = false;
          continue;
        }
        if (next.error().code != ErrorCode::kNotFound) return std::move(next).error();
        rotated = false;  // gone again between stat and open: keep the old one for now
      }
      if (!o_.follow) {
        if (split.TakePartial(&line, &truncated)) {
          chunk.Add(std::move(line), truncated, next_line++);
          if (!flush()) return OkStatus();
        }
        return OkStatus();
      }
      SleepUnlessStopped(o_.poll_interval_ms, stop);
      // Look again before reading: a file truncated and rewritten during the sleep would
      // otherwise be read from the middle of a line at the old offset.
      if (!rotated) {
        ASSIGN_OR_RETURN(bool rewritten, restart_if_rewritten());
        (void)rewritten;
      }
    }
  }

 private:
  FileSourceOptions o_;
};

// ---------------------------------------------------------------------------------------
// Stream source

class StreamSource final : public Source {
 public:
  StreamSource(int fd, size_t max_line_bytes) : fd_(fd), max_line_bytes_(max_line_bytes) {}

  Status Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) override {
    if (!cursor.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "standard input (a pipe) cannot be resumed from a saved cursor: what was read "
                       "before is gone. Read it again from its beginning in a new run");
    }
    LineSplitter split(max_line_bytes_);
    ChunkBuilder chunk(kStreamChunkLines);
    uint64_t next_line = 1;
    auto flush = [&] { return chunk.Flush(Json{{"line", next_line - 1}}.dump(), sink); };
    std::string buf(kReadBytes, '\0');
    while (true) {
      if (stop.load()) return OkStatus();
      if (!AddCompleteLines(split, chunk, next_line, flush, stop)) return OkStatus();
      // Wait for input a little at a time, so that `stop` is seen and lines already read are
      // not held back while the writer is quiet.
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, 200);
      if (r < 0 && errno != EINTR) return MakeError(ErrorCode::kUnavailable, Errno("cannot poll the input"));
      if (r <= 0) {
        if (!flush()) return OkStatus();
        continue;
      }
      ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return MakeError(ErrorCode::kUnavailable, Errno("cannot read the input"));
      if (n > 0) {
        split.Give(buf.data(), static_cast<size_t>(n));
        continue;
      }
      std::string line;
      bool truncated = false;
      if (split.TakePartial(&line, &truncated)) chunk.Add(std::move(line), truncated, next_line++);
      (void)flush();
      return OkStatus();
    }
  }

 private:
  static constexpr size_t kStreamChunkLines = 4096;
  int fd_;
  size_t max_line_bytes_;
};

}  // namespace

std::unique_ptr<Source> MakeFileSource(FileSourceOptions options) {
  return std::make_unique<FileSource>(std::move(options));
}

std::unique_ptr<Source> MakeStreamSource(int fd, size_t max_line_bytes) {
  return std::make_unique<StreamSource>(fd, max_line_bytes);
}

}  // namespace cloudpact::ingest
