#include "gateway/recording.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
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

// Level 1, not zstd's default 3: it compresses terminal text within a few per cent of level 3
// and escaped binary output (2.4 times its size as JSON, which a `cat` of a binary file
// produces at network speed) 7-20 % faster, and the compressor is most of what recording
// costs per byte (docs/BENCHMARKS.md, issue 4). The window and tables are smaller than the
// level's own so that a writer holds about 1.2 MiB (docs/RECORDINGS.md has the measurements):
// terminal output repeats within screens, so a 256 KiB window loses little.
constexpr int kLevel = 1;
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
constexpr std::string_view kEventEnd = "\"]\n";
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

// What the escaper does with each byte value, and with what text. Escapes are those of
// Python's json.dumps(ensure_ascii=False), which asciinema uses: quote, backslash and control
// characters; everything else (valid UTF-8 by then, DEL included) is written as it is.
//
// A byte is written as `text` (itself, its escape, or U+FFFD) unless it begins a whole UTF-8
// sequence, which is copied; the choice is made without branching on the data, because in
// binary output the cases alternate at random and a mispredicted branch per byte is what
// costs most.
struct ByteAction {
  uint8_t need = 0;  // continuation bytes a lead byte needs; 0 for any other byte
  // The range the first continuation byte must be in (the others are 0x80..0xBF).
  uint8_t lo = 0x80, hi = 0xBF;
  uint8_t len = 3;                          // of `text`
  char text[8] = {'\xEF', '\xBF', '\xBD'};  // padded so that it can be copied as 8 bytes
};

constexpr std::array<ByteAction, 256> MakeByteActions() {
  std::array<ByteAction, 256> table{};
  constexpr char kHex[] = "0123456789abcdef";
  for (int c = 0; c < 256; ++c) {
    ByteAction& a = table[static_cast<size_t>(c)];
    auto escape = [&a](std::string_view text) {
      a.len = static_cast<uint8_t>(text.size());
      for (size_t i = 0; i < 8; ++i) a.text[i] = i < text.size() ? text[i] : '\0';
    };
    if (c == '"') {
      escape("\\\"");
    } else if (c == '\\') {
      escape("\\\\");
    } else if (c == '\b') {
      escape("\\b");
    } else if (c == '\f') {
      escape("\\f");
    } else if (c == '\n') {
      escape("\\n");
    } else if (c == '\r') {
      escape("\\r");
    } else if (c == '\t') {
      escape("\\t");
    } else if (c < 0x20) {
      const char text[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      escape(std::string_view(text, 6));
    } else if (c < 0x80) {
      const char text[] = {static_cast<char>(c)};
      escape(std::string_view(text, 1));
    } else if (c >= 0xC2 && c <= 0xDF) {
      a.need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      a.need = 2;
      if (c == 0xE0) a.lo = 0xA0;  // overlong
      if (c == 0xED) a.hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      a.need = 3;
      if (c == 0xF0) a.lo = 0x90;  // overlong
      if (c == 0xF4) a.hi = 0x8F;  // beyond U+10FFFF
    }  // else a stray continuation byte, C0, C1, F5..FF: U+FFFD, and a lead byte whose
       // sequence is ill-formed is one too
  }
  return table;
}

constexpr std::array<ByteAction, 256> kByteActions = MakeByteActions();

// Whether all 8 bytes of `v` are copied as they are: 0x20..0x7F except '"' and '\\'.
inline bool AllCopied(uint64_t v) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  // A byte is zero in x iff the high bit of (x - 1) & ~x is set for it (no false positives
  // in the lowest zero byte; any hit means "not all copied", which is all we ask).
  auto has_zero = [](uint64_t x) { return ((x - kOnes) & ~x & kHigh) != 0; };
  const bool high = (v & kHigh) != 0;
  // Bytes below 0x20: subtracting 0x20 borrows into the high bit only for them (v has no
  // high bits set here).
  const bool control = ((v - 0x20 * kOnes) & ~v & kHigh) != 0;
  return !high && !control && !has_zero(v ^ ('"' * kOnes)) && !has_zero(v ^ ('\\' * kOnes));
}

// Incremental UTF-8 validation into JSON string content. A sequence cut at the end of one
// piece is kept (at most 3 bytes) and completed by the next piece of the same stream; each
// maximal ill-formed subpart becomes one U+FFFD (Unicode's recommended practice, which is
// also what Python's "replace" decoder in asciinema's own recorder does).
//
// Written for throughput (a `cat` of a binary file is recorded too): runs of plain ASCII are
// copied 8 bytes at a time, complete UTF-8 sequences at once, escapes from a table, into a
// buffer the caller sized with MaxOutput, so that no byte costs an allocation check.
class Utf8Decoder {
 public:
  // The most Feed writes for `n` bytes: 6 per byte (\u00XX), a U+FFFD for a sequence left
  // from the piece before, and the 8-byte stores' overrun.
  static constexpr size_t MaxOutput(size_t n) { return 6 * n + 16; }

  // Writes the JSON string content for `data` at `out`, which has room for
  // MaxOutput(data.size()) bytes, and returns the end of what it wrote.
  char* Feed(std::string_view data, char* out) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const auto* const end = p + data.size();
    while (p < end) {
      if (need_ != 0) {
        p = Continue(p, &out);
        continue;
      }
      // Plain ASCII 8 bytes at a time; else the next 8 bytes (or a little more) one byte or
      // one sequence at a time, which binary output does all the time, before trying 8 at once
      // again. 16 bytes ahead can be read: a sequence at the last of the 8 is read as 8 bytes.
      while (end - p >= 16) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        if (AllCopied(v)) {
          std::memcpy(out, p, 8);
          out += 8;
          p += 8;
          continue;
        }
        for (const auto* const stop = p + 8; p < stop;) {
          const ByteAction& a = kByteActions[*p];
          if (a.need == 0) {
            std::memcpy(out, a.text, 8);
            out += a.len;
            ++p;
            continue;
          }
          // Continuation bytes that follow in range, up to `need`: all of them make a whole
          // sequence; fewer make one ill-formed subpart (one U+FFFD) of the lead and them.
          // (`&`, not `&&`: all of it is computed, nothing branches.)
          const unsigned n = a.need;
          const bool c1 = (p[1] >= a.lo) & (p[1] <= a.hi);
          const bool c2 = c1 & (n >= 2) & ((p[2] & 0xC0) == 0x80);
          const bool c3 = c2 & (n >= 3) & ((p[3] & 0xC0) == 0x80);
          const unsigned k = unsigned{c1} + unsigned{c2} + unsigned{c3};
          const bool whole = k == n;
          std::memcpy(out, whole ? reinterpret_cast<const char*>(p) : a.text, 8);
          out += whole ? n + 1 : a.len;
          p += 1 + k;
        }
      }
      if (p == end) break;
      // The last few bytes: a sequence may be cut here and finished by the next piece.
      const ByteAction& a = kByteActions[*p];
      if (a.need == 0) {
        std::memcpy(out, a.text, 8);
        out += a.len;
        ++p;
        continue;
      }
      pending_[0] = static_cast<char>(*p++);
      pending_len_ = 1;
      need_ = a.need;
      lo_ = a.lo;
      hi_ = a.hi;
    }
    return out;
  }

  // For small texts (the header, markers): appends to a string.
  void Feed(std::string_view data, std::string* out) {
    const size_t size = out->size();
    out->resize(size + MaxOutput(data.size()));
    out->resize(static_cast<size_t>(Feed(data, out->data() + size) - out->data()));
  }

  bool pending() const { return need_ != 0; }
  // The stream ended inside a sequence.
  void End(std::string* out) {
    if (need_ != 0) out->append(kReplacement);
    need_ = 0;
    pending_len_ = 0;
  }

 private:
  static char* Replacement(char* out) {
    std::memcpy(out, kReplacement.data(), 3);
    return out + 3;
  }

  // The next byte of a sequence begun earlier; returns where to go on from.
  const unsigned char* Continue(const unsigned char* p, char** out) {
    if (*p >= lo_ && *p <= hi_) {
      pending_[pending_len_++] = static_cast<char>(*p);
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--need_ == 0) {
        std::memcpy(*out, pending_, pending_len_);
        *out += pending_len_;
        pending_len_ = 0;
      }
      return p + 1;
    }
    // The sequence so far is one ill-formed subpart; `*p` is looked at again as a new start.
    *out = Replacement(*out);
    need_ = 0;
    pending_len_ = 0;
    return p;
  }

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
    return sizeof(*this) + ZSTD_sizeof_CCtx(cctx_) + kLineCapacity + out_.capacity();
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
    char* const line = line_.get();
    const std::string prefix = EventPrefix(micros, type);
    std::memcpy(line, prefix.data(), prefix.size());
    char* const text = line + prefix.size();
    char* end = text;
    bool started = false;
    for (size_t pos = 0; pos < data.size(); pos += kPieceInput) {
      end = decoder->Feed(data.substr(pos, kPieceInput), end);
      started = started || end > text;
      if (started && static_cast<size_t>(end - line) >= kLineFlush) {
        RETURN_IF_ERROR(Append(std::string_view(line, static_cast<size_t>(end - line))));
        end = line;
      }
    }
    if (!started) return OkStatus();
    std::memcpy(end, kEventEnd.data(), kEventEnd.size());
    end += kEventEnd.size();
    RETURN_IF_ERROR(Append(std::string_view(line, static_cast<size_t>(end - line))));
    ++events_;
    last_micros_ = micros;
    return OkStatus();
  }

  // `escaped` is JSON string content.
  Status WriteEvent(int64_t micros, char type, std::string_view escaped) {
    micros = std::max(micros, last_micros_);
    // In three pieces: the hash and the compressor see one stream, and a long marker needs no
    // buffer of its own.
    RETURN_IF_ERROR(Append(EventPrefix(micros, type)));
    RETURN_IF_ERROR(Append(escaped));
    RETURN_IF_ERROR(Append(kEventEnd));
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
  // The event being written: kLineFlush bytes at most before a piece of kPieceInput bytes is
  // escaped into it, then given to Append.
  static constexpr size_t kLineCapacity = kLineFlush + 64 + Utf8Decoder::MaxOutput(kPieceInput);
  const std::unique_ptr<char[]> line_ = std::make_unique_for_overwrite<char[]>(kLineCapacity);
  std::string out_;  // compressed bytes on their way to fd_
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
