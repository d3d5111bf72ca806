#include "ingest/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>

#include "core/json.h"
#include "core/log.h"

namespace cloudpact::ingest {
namespace {

constexpr size_t kReadBytes = 1 << 20;
constexpr size_t kChunkLines = 4096;
constexpr size_t kChunkBytes = 4 << 20;
constexpr char kSuffix[] = ".seg";

Error IoError(const std::string& what) {
  return MakeError(ErrorCode::kUnavailable, "spool: " + what + ": " + std::strerror(errno));
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + dir);
  int r = ::fsync(fd);
  ::close(fd);
  if (r != 0) return IoError("cannot fsync " + dir);
  return OkStatus();
}

// Segment number of a file name "NNNNNNNNNNNNNNNNNNNN.seg", or 0 when it is not one.
uint64_t SegmentNumber(const std::string& name) {
  if (name.size() != 20 + sizeof(kSuffix) - 1 || name.compare(20, std::string::npos, kSuffix) != 0) return 0;
  uint64_t n = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

// Cuts an unterminated tail (a torn append) off the file; returns the new size.
Result<uint64_t> CutTornTail(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return IoError("cannot stat " + path);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t keep = size;
  char buf[4096];
  while (keep > 0) {
    uint64_t from = keep > sizeof(buf) ? keep - sizeof(buf) : 0;
    ssize_t n = ::pread(fd, buf, keep - from, static_cast<off_t>(from));
    if (n != static_cast<ssize_t>(keep - from)) {
      ::close(fd);
      return IoError("cannot read " + path);
    }
    const void* nl = ::memrchr(buf, '\n', static_cast<size_t>(n));
    if (nl != nullptr) {
      keep = from + (static_cast<const char*>(nl) - buf) + 1;
      break;
    }
    keep = from;
  }
  if (keep != size) {
    log::Warn("spool: cutting an unterminated last line (an append torn by a crash, never acknowledged)",
              {{"segment", path}, {"bytes", size - keep}});
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0 || ::fsync(fd) != 0) {
      ::close(fd);
      return IoError("cannot truncate " + path);
    }
  }
  ::close(fd);
  return keep;
}

}  // namespace

Spool::Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes)
    : dir_(std::move(dir)),
      max_bytes_(max_bytes),
      segment_bytes_(std::max<uint64_t>(1, std::min(segment_bytes, max_bytes / 8))) {}

Spool::~Spool() {
  if (write_fd_ >= 0) ::close(write_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Spool::SegmentPath(uint64_t n) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64 "%s", n, kSuffix);
  return dir_ + "/" + name;
}

Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, uint64_t max_bytes, uint64_t segment_bytes) {
  if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "spool: no directory given");
  if (max_bytes < 1024) return MakeError(ErrorCode::kInvalidArgument, "spool: max_bytes below 1024");
  std::error_code ec;
  auto parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("cannot create " + dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, "spool: " + dir + " is not a directory");
  }
  if ((st.st_mode & 077) != 0) {
    log::Warn("spool: directory is accessible to other users; spooled logs may hold secrets",
              {{"dir", dir}, {"mode", st.st_mode & 0777}});
  }
  std::unique_ptr<Spool> spool(new Spool(dir, max_bytes, segment_bytes));
  RETURN_IF_ERROR(spool->Load());
  return spool;
}

Status Spool::Load() {
  lock_fd_ = ::open((dir_ + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return IoError("cannot open " + dir_ + "/LOCK");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return MakeError(ErrorCode::kFailedPrecondition, "spool: " + dir_ + " is in use by another process");
    }
    return IoError("cannot lock " + dir_);
  }
  std::vector<uint64_t> found;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return IoError("cannot list " + dir_);
  while (struct dirent* e = ::readdir(d)) {
    if (uint64_t n = SegmentNumber(e->d_name); n != 0) found.push_back(n);
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  std::lock_guard<std::mutex> lock(mu_);
  if (found.empty()) {
    first_segment_ = write_segment_ = 1;
    int fd = ::open(SegmentPath(1).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot create " + SegmentPath(1));
    ::close(fd);
    RETURN_IF_ERROR(FsyncDir(dir_));
    found.push_back(1);
  }
  first_segment_ = found.front();
  write_segment_ = found.back();
  // Segment numbers are contiguous unless someone deleted files by hand; a missing one
  // reads as empty.
  sizes_.assign(write_segment_ - first_segment_ + 1, 0);
  for (uint64_t n : found) {
    ASSIGN_OR_RETURN(uint64_t size, CutTornTail(SegmentPath(n)));
    sizes_[n - first_segment_] = size;
    used_ += size;
  }
  write_size_ = sizes_.back();
  write_fd_ = ::open(SegmentPath(write_segment_).c_str(), O_WRONLY | O_CLOEXEC);
  if (write_fd_ < 0) return IoError("cannot open " + SegmentPath(write_segment_));
  return OkStatus();
}

Status Spool::RollLocked() {
  uint64_t next = write_segment_ + 1;
  int fd = ::open(SegmentPath(next).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + SegmentPath(next));
  if (auto s = FsyncDir(dir_); !s.ok()) {
    ::close(fd);
    ::unlink(SegmentPath(next).c_str());
    return s;
  }
  ::close(write_fd_);
  write_fd_ = fd;
  write_segment_ = next;
  write_size_ = 0;
  sizes_.push_back(0);
  return OkStatus();
}

Status Spool::Append(const std::vector<std::string>& lines) {
  if (lines.empty()) return OkStatus();
  uint64_t total = 0;
  for (const auto& l : lines) {
    if (l.find('\n') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "spool: a line contains LF (escape it before spooling)");
    }
    total += l.size() + 1;
  }
  std::string buf;
  buf.reserve(total);
  for (const auto& l : lines) {
    buf += l;
    buf += '\n';
  }
  std::lock_guard<std::mutex> lock(mu_);
  // A quarter at most: with segments of an eighth, a fully committed spool (only the segment
  // being written left) always has room for it, so waiting for commits cannot deadlock.
  if (total > max_bytes_ / 4) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "spool: a batch of " + std::to_string(total) + " bytes can never fit in a spool of " +
                         std::to_string(max_bytes_) + " bytes");
  }
  if (used_ + total > max_bytes_) {
    ++refused_;
    return MakeError(ErrorCode::kResourceExhausted,
                     "spool: full (" + std::to_string(used_) + " of " + std::to_string(max_bytes_) +
                         " bytes); waiting for the pipeline to commit");
  }
  if (write_size_ > 0 && write_size_ + total > segment_bytes_) RETURN_IF_ERROR(RollLocked());
  auto undo = [&](const std::string& what) {
    Error e = IoError(what + " " + SegmentPath(write_segment_));
    // Leave no partial batch behind, readable or in the way of the next append.
    if (::ftruncate(write_fd_, static_cast<off_t>(write_size_)) != 0) {
      log::Error("spool: cannot cut a failed append", {{"segment", SegmentPath(write_segment_)}});
    }
    return e;
  };
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pwrite(write_fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(write_size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return undo("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(write_fd_) != 0) return undo("cannot fsync");
  write_size_ += total;
  sizes_.back() = write_size_;
  used_ += total;
  appended_.notify_all();
  return OkStatus();
}

Result<Spool::Position> Spool::ParseCursor(const std::string& text) {
  auto j = ParseJson(text, JsonLimits{4096, 4});
  Position p;
  if (j.ok() && j->is_object()) {
    auto get = [&](const char* name, uint64_t* out) {
      auto it = j->find(name);
      if (it == j->end() || !it->is_number_unsigned()) return false;
      *out = it->get<uint64_t>();
      return true;
    };
    if (get("segment", &p.segment) && get("offset", &p.offset) && get("line", &p.line)) return p;
  }
  return MakeError(ErrorCode::kInvalidArgument, "spool cursor is not {\"segment\",\"offset\",\"line\"}: " +
                                                    text.substr(0, 200));
}

Status Spool::Run(const std::string& cursor, const ChunkSink& sink, const std::atomic<bool>& stop) {
  Position pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pos.segment = first_segment_;
  }
  if (!cursor.empty()) {
    ASSIGN_OR_RETURN(pos, ParseCursor(cursor));
    std::lock_guard<std::mutex> lock(mu_);
    if (pos.segment < first_segment_) {
      pos.segment = first_segment_;  // its segments were committed and deleted
      pos.offset = 0;
    } else if (pos.segment > write_segment_ || pos.offset > sizes_[pos.segment - first_segment_]) {
      log::Warn("spool: the saved cursor is beyond the spool's end (was the spool directory replaced?); "
                "reading from the oldest spooled line",
                {{"dir", dir_}, {"cursor", cursor}});
      pos.segment = first_segment_;
      pos.offset = 0;
    }
  }

  int fd = -1;
  uint64_t fd_segment = 0;
  struct Closer {
    int* fd;
    ~Closer() {
      if (*fd >= 0) ::close(*fd);
    }
  } closer{&fd};
  std::string buf;
  std::string partial;  // a line spanning two reads (the durable end is always at a line end)
  LineChunk chunk;
  size_t chunk_bytes = 0;
  uint64_t line_end = pos.offset;  // offset after the last line put in `chunk`

  auto flush = [&]() -> bool {
    if (chunk.lines.empty()) return true;
    Position c{pos.segment, line_end, pos.line};
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A chunk ending a sealed segment points at the next one, so that committing it lets
      // the sealed segment go.
      if (c.segment < write_segment_ && c.segment >= first_segment_ &&
          c.offset >= sizes_[c.segment - first_segment_]) {
        c.segment++;
        c.offset = 0;
      }
    }
    chunk.cursor = Json{{"segment", c.segment}, {"offset", c.offset}, {"line", c.line}}.dump();
    LineChunk out = std::move(chunk);
    chunk = LineChunk{};
    chunk_bytes = 0;
    return sink(std::move(out));
  };

  while (!stop.load()) {
    uint64_t limit = 0;
    bool sealed = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (pos.segment < first_segment_) {  // committed past us by someone else: skip ahead
        pos.segment = first_segment_;
        pos.offset = line_end = 0;
        partial.clear();
      }
      limit = sizes_[pos.segment - first_segment_];
      sealed = pos.segment < write_segment_;
      if (pos.offset >= limit && !sealed && chunk.lines.empty()) {
        appended_.wait_for(lock, std::chrono::milliseconds(100));
        continue;
      }
    }
    if (pos.offset >= limit) {
      if (!flush()) return OkStatus();
      if (sealed) {
        pos.segment++;
        pos.offset = line_end = 0;
      }
      continue;
    }
    if (fd < 0 || fd_segment != pos.segment) {
      if (fd >= 0) ::close(fd);
      fd_segment = pos.segment;
      fd = ::open(SegmentPath(pos.segment).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) {  // deleted by hand (or committed meanwhile): nothing to read there
          if (!flush()) return OkStatus();
          if (sealed) {
            pos.segment++;
            pos.offset = line_end = 0;
            continue;
          }
          return IoError("the segment being written is missing: " + SegmentPath(pos.segment));
        }
        return IoError("cannot open " + SegmentPath(pos.segment));
      }
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(limit - pos.offset, kReadBytes));
    buf.resize(want);
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos.offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot read " + SegmentPath(pos.segment));
    std::string_view data(buf.data(), static_cast<size_t>(n));
    uint64_t base = pos.offset;
    pos.offset += static_cast<uint64_t>(n);
    size_t at = 0;
    while (at < data.size()) {
      size_t nl = data.find('\n', at);
      if (nl == std::string_view::npos) {
        partial.append(data.substr(at));
        break;
      }
      std::string line = std::move(partial);
      partial.clear();
      line.append(data.substr(at, nl - at));
      at = nl + 1;
      if (chunk.lines.empty()) chunk.first_line_no = pos.line + 1;
      pos.line++;
      chunk_bytes += line.size();
      chunk.lines.push_back(std::move(line));
      line_end = base + at;
      if (chunk.lines.size() >= kChunkLines || chunk_bytes >= kChunkBytes) {
        // Deliver, then continue with the rest of this read from where the chunk ended.
        if (!flush()) return OkStatus();
        if (stop.load()) return OkStatus();
      }
    }
  }
  return OkStatus();
}

void Spool::Committed(const std::string& cursor) {
  auto c = ParseCursor(cursor);
  if (!c.ok()) {
    log::Error("spool: ignoring a malformed committed cursor", {{"error", c.error().message}});
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (c->segment > write_segment_ ||
      (c->segment >= first_segment_ && c->offset > sizes_[c->segment - first_segment_])) {
    // Not a position of this spool (one from before the directory was replaced): deleting up
    // to it could delete lines nobody has read.
    log::Error("spool: ignoring a committed cursor beyond the spool's end", {{"dir", dir_}, {"cursor", cursor}});
    return;
  }
  uint64_t upto = c->segment;
  bool deleted = false;
  while (first_segment_ < upto) {
    if (::unlink(SegmentPath(first_segment_).c_str()) != 0 && errno != ENOENT) {
      log::Error("spool: cannot delete a committed segment",
                 {{"segment", SegmentPath(first_segment_)}, {"error", std::strerror(errno)}});
      break;
    }
    used_ -= sizes_.front();
    sizes_.erase(sizes_.begin());
    first_segment_++;
    deleted = true;
  }
  if (deleted) {
    if (auto s = FsyncDir(dir_); !s.ok()) log::Warn(s.error().message);
  }
}

uint64_t Spool::bytes_used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

uint64_t Spool::appends_refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refused_;
}

}  // namespace cloudpact::ingest
