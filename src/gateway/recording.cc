#include "gateway/recording.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "core/encoding.h"
#include "core/log.h"
#include "crypto/sha256.h"

namespace cloudpact::gateway {
namespace {

namespace fs = std::filesystem;

// Level 3 is zstd's default; the window and tables are smaller than level 3's own (2 MiB
// window) so that a writer holds about 1.2 MiB (docs/RECORDINGS.md has the measurements):
// terminal output repeats within screens, so a 256 KiB window loses little.
constexpr int kLevel = 3;
constexpr int kWindowLog = 18;
constexpr int kHashLog = 15;
constexpr int kChainLog = 14;
// Readers accept windows up to 1 MiB: more than we write (so the writer's settings can grow a
// little), little enough that a hostile file cannot make a reader allocate much.
constexpr int kReadWindowLogMax = 20;
// The compressor writes out in pieces this big; zstd keeps what does not fit for the next call.
constexpr size_t kOutBufferSize = 32 << 10;
// A large event is escaped and compressed in pieces so that the writer's buffers do not grow
// with the size of one Output call: at most kPieceInput bytes of input (6 bytes each when
// escaped as \u00XX) on top of kLineFlush.
constexpr size_t kPieceInput = 8 << 10;
constexpr size_t kLineFlush = 16 << 10;
constexpr double kMaxSeconds = 1e9;
constexpr int kMaxTerminalSide = 65535;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kSuffix = ".cast.zst";

Error IoError(std::string_view what, const fs::path& path, int err) {
  return MakeError(ErrorCode::kUnavailable,
                   std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

// Closes a descriptor on every path out of a function.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// mkdir 0700, or accept an existing directory (not a symlink to one: the store's tree is ours).
Status MakeDir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    // mkdir's mode is filtered by the umask; 0700 is the most it can be, but say it exactly.
    if (::chmod(path.c_str(), 0700) != 0) return IoError("cannot chmod", path, errno);
    return OkStatus();
  }
  if (errno != EEXIST) return IoError("cannot create", path, errno);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kFailedPrecondition, path.string() + " is not a directory");
  }
  return OkStatus();
}

// A rename is durable only once the directory holding the new name is synced.
Status SyncDir(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open", path, errno);
  if (::fsync(fd.get()) != 0) return IoError("cannot fsync", path, errno);
  return OkStatus();
}

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// asciinema writes round(t, 6) with Python's repr; from integer microseconds we write the same
// digits (1.5, 2.0, 0.000001) without ever using an exponent.
std::string FormatTime(int64_t micros) {
  std::string s = std::to_string(micros / 1000000);
  char frac[8];
  std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(micros % 1000000));
  size_t len = 6;
  while (len > 1 && frac[len - 1] == '0') --len;
  s += '.';
  s.append(frac, len);
  return s;
}

// Escapes like Python's json.dumps(ensure_ascii=False), which asciinema uses: quote, backslash
// and control characters; everything else (valid UTF-8 by then) is written as it is.
void AppendEscapedAscii(unsigned char c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  if (c < 0x20) {
    char buf[7];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out->append(buf, 6);
  } else {
    out->push_back(static_cast<char>(c));
  }
}

// Incremental UTF-8 validation into JSON string content. A sequence cut at the end of one
// piece is kept (at most 3 bytes) and completed by the next piece of the same stream; each
// maximal ill-formed subpart becomes one U+FFFD (Unicode's recommended practice, which is
// also what Python's "replace" decoder in asciinema's own recorder does).
class Utf8Decoder {
 public:
  void Feed(std::string_view data, std::string* out) {
    size_t i = 0;
    while (i < data.size()) {
      auto b = static_cast<unsigned char>(data[i]);
      if (need_ == 0) {
        if (b < 0x80) {
          // Runs of plain printable ASCII, the bulk of terminal output, are copied at once.
          size_t j = i;
          while (j < data.size()) {
            auto c = static_cast<unsigned char>(data[j]);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
            ++j;
          }
          if (j > i) {
            out->append(data.substr(i, j - i));
            i = j;
          } else {
            AppendEscapedAscii(b, out);
            ++i;
          }
          continue;
        }
        unsigned char lo = 0x80, hi = 0xBF;
        int need;
        if (b >= 0xC2 && b <= 0xDF) {
          need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
          need = 2;
          if (b == 0xE0) lo = 0xA0;  // overlong
          if (b == 0xED) hi = 0x9F;  // UTF-16 surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
          need = 3;
          if (b == 0xF0) lo = 0x90;  // overlong
          if (b == 0xF4) hi = 0x8F;  // beyond U+10FFFF
        } else {
          out->append(kReplacement);  // a stray continuation byte, C0, C1, F5..FF
          ++i;
          continue;
        }
        pending_[0] = static_cast<char>(b);
        pending_len_ = 1;
        need_ = need;
        lo_ = lo;
        hi_ = hi;
        ++i;
        continue;
      }
      if (b >= lo_ && b <= hi_) {
        pending_[pending_len_++] = static_cast<char>(b);
        lo_ = 0x80;
        hi_ = 0xBF;
        ++i;
        if (--need_ == 0) {
          out->append(pending_, pending_len_);
          pending_len_ = 0;
        }
        continue;
      }
      // The sequence so far is one ill-formed subpart; `b` is looked at again as a new start.
      out->append(kReplacement);
      need_ = 0;
      pending_len_ = 0;
    }
  }
  bool pending() const { return need_ != 0; }
  // The stream ended inside a sequence.
  void End(std::string* out) {
    if (need_ != 0) out->append(kReplacement);
    need_ = 0;
    pending_len_ = 0;
  }

 private:
  char pending_[4] = {};
  size_t pending_len_ = 0;
  int need_ = 0;                         // continuation bytes still expected
  unsigned char lo_ = 0x80, hi_ = 0xBF;  // the range the next one must be in
};

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  Utf8Decoder decoder;
  decoder.Feed(text, &out);
  decoder.End(&out);
  out += '"';
  return out;
}

std::string HeaderLine(const RecordingHeader& h) {
  // Member order and ", "/": " separators as asciinema writes them, so our files look like its.
  std::string line = "{\"version\": 2, \"width\": " + std::to_string(h.width) +
                     ", \"height\": " + std::to_string(h.height) +
                     ", \"timestamp\": " + std::to_string(h.timestamp) + ", \"env\": {";
  bool first = true;
  for (auto [name, value] :
       {std::pair<std::string_view, const std::string*>{"TERM", &h.term}, {"SHELL", &h.shell}}) {
    if (value->empty()) continue;
    if (!first) line += ", ";
    first = false;
    line += '"';
    line += name;
    line += "\": " + JsonString(*value);
  }
  line += '}';
  if (!h.title.empty()) line += ", \"title\": " + JsonString(h.title);
  line += "}\n";
  return line;
}

std::string EventPrefix(int64_t micros, char type) {
  std::string s = "[" + FormatTime(micros) + ", \"";
  s += type;
  s += "\", \"";
  return s;
}

class FileRecordingWriter final : public RecordingWriter {
 public:
  FileRecordingWriter(fs::path root, fs::path tmp_path, int fd, ZSTD_CCtx* cctx)
      : root_(std::move(root)), tmp_path_(std::move(tmp_path)), fd_(fd), cctx_(cctx) {
    out_.resize(kOutBufferSize);
    // Reserved once so that the writer's size is fixed from the start (see kPieceInput).
    line_.reserve(kLineFlush + 6 * kPieceInput + 64);
  }

  ~FileRecordingWriter() override {
    if (!started_) {
      // Begin failed: there is no recording to keep.
      ::unlink(tmp_path_.c_str());
    } else if (!finished_ && !broken_) {
      // The session ended without Finish (an error elsewhere): keep what was recorded, stored
      // like any other recording, and say where so that it can be matched to the session.
      auto info = Finish();
      if (info.ok()) {
        log::Warn("recording finished without Finish",
                  {{"sha256", info->sha256_hex}, {"bytes", info->bytes}, {"events", info->events}});
      }
    }
    if (started_ && broken_ && !finished_) {
      log::Error("recording left incomplete; readable up to its last flush",
                 {{"path", tmp_path_.string()}, {"error", broken_->message}});
    }
    if (fd_ >= 0) ::close(fd_);
    ZSTD_freeCCtx(cctx_);
  }

  FileRecordingWriter(const FileRecordingWriter&) = delete;
  FileRecordingWriter& operator=(const FileRecordingWriter&) = delete;

  Status Start(const RecordingHeader& header) {
    RETURN_IF_ERROR(Append(HeaderLine(header)));
    started_ = true;
    return OkStatus();
  }

  Status Output(double t, std::string_view data) override { return Text(t, 'o', data, &output_); }
  Status Input(double t, std::string_view data) override { return Text(t, 'i', data, &input_); }

  Status Resize(double t, int cols, int rows) override {
    RETURN_IF_ERROR(Usable());
    ASSIGN_OR_RETURN(int64_t micros, Micros(t));
    if (cols < 1 || cols > kMaxTerminalSide || rows < 1 || rows > kMaxTerminalSide) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "terminal size out of range: " + std::to_string(cols) + "x" + std::to_string(rows));
    }
    return WriteEvent(micros, 'r', std::to_string(cols) + "x" + std::to_string(rows));
  }

  Status Marker(double t, std::string_view label) override {
    RETURN_IF_ERROR(Usable());
    ASSIGN_OR_RETURN(int64_t micros, Micros(t));
    std::string text;
    Utf8Decoder decoder;
    decoder.Feed(label, &text);
    decoder.End(&text);
    return WriteEvent(micros, 'm', text);
  }

  Status Flush() override {
    RETURN_IF_ERROR(Usable());
    if (!dirty_) return OkStatus();  // the gateway flushes every second, mostly with nothing new
    RETURN_IF_ERROR(Compress({}, ZSTD_e_flush));
    if (::fdatasync(fd_) != 0) return Break(IoError("cannot fdatasync", tmp_path_, errno));
    dirty_ = false;
    return OkStatus();
  }

  Result<RecordingInfo> Finish() override {
    RETURN_IF_ERROR(Usable());
    // A sequence left incomplete at the end was not UTF-8 after all.
    for (auto [type, decoder] : {std::pair<char, Utf8Decoder*>{'o', &output_}, {'i', &input_}}) {
      if (!decoder->pending()) continue;
      std::string text;
      decoder->End(&text);
      RETURN_IF_ERROR(WriteEvent(last_micros_, type, text));
    }
    RETURN_IF_ERROR(Compress({}, ZSTD_e_end));
    if (::fsync(fd_) != 0) return Break(IoError("cannot fsync", tmp_path_, errno));
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) return Break(IoError("cannot close", tmp_path_, errno));

    RecordingInfo info;
    info.sha256_hex = HexEncode(crypto::AsBytes(hash_.Final()));
    info.bytes = bytes_;
    info.compressed_bytes = compressed_bytes_;
    info.events = events_;
    info.duration = static_cast<double>(last_micros_) / 1e6;

    fs::path shard = root_ / "sha256" / info.sha256_hex.substr(0, 2);
    if (auto s = MakeDir(shard); !s.ok()) return Break(std::move(s).error());
    fs::path final_path = shard / (info.sha256_hex + std::string(kSuffix));
    // Over an existing file of the same name: same content by construction (dedupe), and the
    // one at the address is then one we have just written.
    if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
      return Break(IoError("cannot rename " + tmp_path_.string() + " to", final_path, errno));
    }
    if (auto s = SyncDir(shard); !s.ok()) return Break(std::move(s).error());
    finished_ = true;
    return info;
  }

  int fd() const { return fd_; }
  size_t memory() const {
    return sizeof(*this) + ZSTD_sizeof_CCtx(cctx_) + line_.capacity() + out_.capacity();
  }

 private:
  Status Usable() const {
    if (finished_) return MakeError(ErrorCode::kFailedPrecondition, "recording already finished");
    if (broken_) {
      return MakeError(broken_->code, "recording failed earlier: " + broken_->message);
    }
    return OkStatus();
  }

  // Returns the error, so that `return Break(...)` serves Status and Result alike.
  Error Break(Error error) {
    broken_ = error;
    return error;
  }

  static Result<int64_t> Micros(double t) {
    if (!(t >= 0 && t <= kMaxSeconds)) {  // also NaN
      return MakeError(ErrorCode::kInvalidArgument,
                       "event time out of range: " + std::to_string(t));
    }
    return static_cast<int64_t>(std::llround(t * 1e6));
  }

  Status Text(double t, char type, std::string_view data, Utf8Decoder* decoder) {
    RETURN_IF_ERROR(Usable());
    ASSIGN_OR_RETURN(int64_t micros, Micros(t));
    micros = std::max(micros, last_micros_);
    // The prefix is committed only once some text follows: a call that only carries part of
    // a character writes no event.
    line_.clear();
    line_.append(EventPrefix(micros, type));  // not `=`, which would drop the reserved buffer
    const size_t prefix_size = line_.size();
    bool started = false;
    for (size_t pos = 0; pos < data.size(); pos += kPieceInput) {
      decoder->Feed(data.substr(pos, kPieceInput), &line_);
      started = started || line_.size() > prefix_size;
      if (started && line_.size() >= kLineFlush) {
        RETURN_IF_ERROR(Append(line_));
        line_.clear();
      }
    }
    if (!started) {
      line_.clear();
      return OkStatus();
    }
    line_ += "\"]\n";
    RETURN_IF_ERROR(Append(line_));
    line_.clear();
    ++events_;
    last_micros_ = micros;
    return OkStatus();
  }

  // `escaped` is JSON string content.
  Status WriteEvent(int64_t micros, char type, std::string_view escaped) {
    micros = std::max(micros, last_micros_);
    line_.clear();
    line_.append(EventPrefix(micros, type));
    line_ += escaped;
    line_ += "\"]\n";
    RETURN_IF_ERROR(Append(line_));
    line_.clear();
    ++events_;
    last_micros_ = micros;
    return OkStatus();
  }

  // Every byte of the asciicast passes here: hashed as it is, compressed, written out.
  Status Append(std::string_view bytes) {
    hash_.Update(bytes);
    bytes_ += bytes.size();
    dirty_ = true;
    return Compress(bytes, ZSTD_e_continue);
  }

  Status Compress(std::string_view data, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t remaining = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(remaining)) {
        return Break(
            MakeError(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(remaining)));
      }
      if (out.pos > 0) RETURN_IF_ERROR(WriteOut(out_.data(), out.pos));
      bool done = mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0;
      if (done) return OkStatus();
    }
  }

  Status WriteOut(const char* p, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Break(IoError("cannot write", tmp_path_, n < 0 ? errno : EIO));
      p += n;
      size -= static_cast<size_t>(n);
      compressed_bytes_ += static_cast<uint64_t>(n);
    }
    return OkStatus();
  }

  const fs::path root_, tmp_path_;
  int fd_;  // -1 once closed by Finish
  ZSTD_CCtx* const cctx_;
  crypto::Sha256Stream hash_;  // of the uncompressed asciicast
  std::string line_;           // the event being written, at most ~kLineFlush + 6 * kPieceInput
  std::string out_;            // compressed bytes on their way to fd_
  Utf8Decoder output_, input_;
  uint64_t bytes_ = 0, compressed_bytes_ = 0, events_ = 0;
  int64_t last_micros_ = 0;
  bool started_ = false;  // the header is written: from then on the file is a recording
  bool dirty_ = false;    // appended since the last Flush
  bool finished_ = false;
  std::optional<Error> broken_;  // the first write error; every later call fails
};

// Decompresses a stored recording piece by piece, hashing what comes out, with the window
// bounded so that a hostile file cannot make us allocate more than ~1 MiB.
class Verifier {
 public:
  Verifier() : dctx_(ZSTD_createDCtx()), buf_(ZSTD_DStreamOutSize(), '\0') {}
  ~Verifier() { ZSTD_freeDCtx(dctx_); }
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  Status Init() {
    if (dctx_ == nullptr) return MakeError(ErrorCode::kInternal, "zstd: cannot allocate");
    size_t r = ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kReadWindowLogMax);
    if (ZSTD_isError(r)) return MakeError(ErrorCode::kInternal, ZSTD_getErrorName(r));
    return OkStatus();
  }

  // Decompressed bytes are hashed and, if `out` is set, appended to it; more than max_out of
  // them is kResourceExhausted.
  Status Feed(std::string_view compressed, std::string* out, size_t max_out) {
    ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
    for (;;) {
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      size_t r = ZSTD_decompressStream(dctx_, &o, &in);
      if (ZSTD_isError(r)) {
        return MakeError(ErrorCode::kDataLoss,
                         std::string("recording does not decompress: ") + ZSTD_getErrorName(r));
      }
      frame_open_ = r != 0;
      total_ += o.pos;
      if (total_ > max_out) {
        return MakeError(ErrorCode::kResourceExhausted,
                         "recording is longer than " + std::to_string(max_out) + " bytes");
      }
      std::string_view chunk(buf_.data(), o.pos);
      hash_.Update(chunk);
      if (out != nullptr) out->append(chunk);
      if (in.pos == in.size && o.pos < o.size) return OkStatus();
    }
  }

  Status End(std::string_view expected_hex) {
    if (frame_open_ || total_ == 0) {
      return MakeError(ErrorCode::kDataLoss,
                       "recording " + std::string(expected_hex) + " is truncated");
    }
    std::string actual = HexEncode(crypto::AsBytes(hash_.Final()));
    if (actual != expected_hex) {
      return MakeError(ErrorCode::kDataLoss,
                       "recording " + std::string(expected_hex) + " has SHA-256 " + actual);
    }
    return OkStatus();
  }

 private:
  ZSTD_DCtx* const dctx_;
  std::string buf_;
  crypto::Sha256Stream hash_;
  uint64_t total_ = 0;
  bool frame_open_ = true;  // no complete frame seen yet
};

class FileRecordingStore final : public RecordingStore {
 public:
  explicit FileRecordingStore(fs::path dir) : dir_(std::move(dir)) {}

  Result<std::unique_ptr<RecordingWriter>> Begin(const RecordingHeader& header) override {
    if (header.width < 1 || header.width > kMaxTerminalSide || header.height < 1 ||
        header.height > kMaxTerminalSide || header.timestamp < 0) {
      return MakeError(ErrorCode::kInvalidArgument, "recording header out of range");
    }
    fs::path path = dir_ / "tmp" / (HexEncode(crypto::RandomBytes(16)) + std::string(kSuffix));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return IoError("cannot create", path, errno);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    // The writer owns fd and cctx from here, whatever happens next.
    auto writer = std::make_unique<FileRecordingWriter>(dir_, path, fd, cctx);
    if (::fchmod(fd, 0600) != 0) return IoError("cannot chmod", path, errno);
    if (cctx == nullptr) return MakeError(ErrorCode::kInternal, "zstd: cannot allocate");
    for (auto [param, value] : {std::pair{ZSTD_c_compressionLevel, kLevel},
                                {ZSTD_c_windowLog, kWindowLog},
                                {ZSTD_c_hashLog, kHashLog},
                                {ZSTD_c_chainLog, kChainLog},
                                {ZSTD_c_checksumFlag, 1}}) {
      size_t r = ZSTD_CCtx_setParameter(cctx, param, value);
      if (ZSTD_isError(r)) return MakeError(ErrorCode::kInternal, ZSTD_getErrorName(r));
    }
    RETURN_IF_ERROR(writer->Start(header));
    return std::unique_ptr<RecordingWriter>(std::move(writer));
  }

  Result<std::string> Read(std::string_view sha256_hex, size_t max_bytes) const override {
    ASSIGN_OR_RETURN(int raw_fd, Open(sha256_hex));
    UniqueFd fd(raw_fd);
    Verifier verifier;
    RETURN_IF_ERROR(verifier.Init());
    std::string text;
    std::string buf(ZSTD_DStreamInSize(), '\0');
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("cannot read", PathOf(sha256_hex), errno);
      if (n == 0) break;
      RETURN_IF_ERROR(
          verifier.Feed(std::string_view(buf.data(), static_cast<size_t>(n)), &text, max_bytes));
    }
    RETURN_IF_ERROR(verifier.End(sha256_hex));
    return text;
  }

  Result<std::string> ReadCompressed(std::string_view sha256_hex, size_t max_bytes) const override {
    ASSIGN_OR_RETURN(int raw_fd, Open(sha256_hex));
    UniqueFd fd(raw_fd);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat", PathOf(sha256_hex), errno);
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      return MakeError(ErrorCode::kResourceExhausted, "compressed recording is longer than " +
                                                          std::to_string(max_bytes) + " bytes");
    }
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("cannot read", PathOf(sha256_hex), errno);
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    // Served as evidence, so verified like Read, without keeping the decompressed text.
    Verifier verifier;
    RETURN_IF_ERROR(verifier.Init());
    RETURN_IF_ERROR(verifier.Feed(data, nullptr, SIZE_MAX));
    RETURN_IF_ERROR(verifier.End(sha256_hex));
    return data;
  }

 private:
  fs::path PathOf(std::string_view hex) const {
    return dir_ / "sha256" / std::string(hex.substr(0, 2)) /
           (std::string(hex) + std::string(kSuffix));
  }

  // The name is checked before it becomes a path, so no name can leave the store.
  Result<int> Open(std::string_view hex) const {
    if (!IsSha256Hex(hex)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "not a recording name (64 lower-case hex digits)");
    }
    fs::path path = PathOf(hex);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
      return MakeError(ErrorCode::kNotFound, "no recording " + std::string(hex));
    }
    if (fd < 0) return IoError("cannot open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return MakeError(ErrorCode::kDataLoss, path.string() + " is not a regular file");
    }
    return fd;
  }

  const fs::path dir_;
};

}  // namespace

Result<std::unique_ptr<RecordingStore>> OpenRecordingStore(const fs::path& dir) {
  std::error_code ec;
  if (dir.has_parent_path() && !fs::exists(dir.parent_path(), ec)) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec)
      return MakeError(ErrorCode::kUnavailable,
                       "cannot create " + dir.parent_path().string() + ": " + ec.message());
  }
  RETURN_IF_ERROR(MakeDir(dir));
  RETURN_IF_ERROR(MakeDir(dir / "tmp"));
  RETURN_IF_ERROR(MakeDir(dir / "sha256"));
  return std::unique_ptr<RecordingStore>(std::make_unique<FileRecordingStore>(dir));
}

Result<std::string> ReadPartialRecording(const fs::path& file, size_t max_bytes) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0 && errno == ENOENT)
    return MakeError(ErrorCode::kNotFound, "no file " + file.string());
  if (fd.get() < 0) return IoError("cannot open", file, errno);
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return MakeError(ErrorCode::kInternal, "zstd: cannot allocate");
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> owner(dctx, ZSTD_freeDCtx);
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, kReadWindowLogMax);
  std::string text, in_buf(ZSTD_DStreamInSize(), '\0'), out_buf(ZSTD_DStreamOutSize(), '\0');
  bool corrupt = false;
  while (!corrupt) {
    ssize_t n = ::read(fd.get(), in_buf.data(), in_buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", file, errno);
    if (n == 0) break;
    ZSTD_inBuffer in{in_buf.data(), static_cast<size_t>(n), 0};
    for (;;) {
      ZSTD_outBuffer out{out_buf.data(), out_buf.size(), 0};
      size_t r = ZSTD_decompressStream(dctx, &out, &in);
      // A torn write at a crash shows as an error or as a block never completed; either way
      // what came before it is what there is.
      if (ZSTD_isError(r)) {
        corrupt = true;
        break;
      }
      if (text.size() + out.pos > max_bytes) {
        return MakeError(ErrorCode::kResourceExhausted,
                         "recording is longer than " + std::to_string(max_bytes) + " bytes");
      }
      text.append(out_buf.data(), out.pos);
      if (in.pos == in.size && out.pos < out.size) break;
    }
  }
  size_t end = text.rfind('\n');
  text.resize(end == std::string::npos ? 0 : end + 1);
  return text;
}

namespace internal {

int RecordingWriterFd(RecordingWriter& writer) {
  auto* w = dynamic_cast<FileRecordingWriter*>(&writer);
  return w == nullptr ? -1 : w->fd();
}

size_t RecordingWriterMemory(const RecordingWriter& writer) {
  auto* w = dynamic_cast<const FileRecordingWriter*>(&writer);
  return w == nullptr ? 0 : w->memory();
}

}  // namespace internal
}  // namespace cloudpact::gateway
