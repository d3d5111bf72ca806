#include "gateway/transfer.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "core/encoding.h"
#include "crypto/sha256.h"

namespace cloudpact::gateway {
namespace {

// A piece of untrusted input fit to quote in an error message.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) {
    auto b = static_cast<unsigned char>(c);
    out += (b >= 0x20 && b < 0x7f && c != '"') ? c : '?';
  }
  if (s.size() > 60) out += "...";
  return out + "\"";
}

// Untrusted text kept in an event (error messages): printable ASCII only, bounded.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 512)) {
    auto b = static_cast<unsigned char>(c);
    out += (b >= 0x20 && b < 0x7f) ? c : '?';
  }
  return out;
}

// One file's data as it crosses the channel. Only a single run from offset 0 can be hashed
// without holding data back, so the first gap, overlap or rewind gives up the hash.
class FileData {
 public:
  FileData() : hash_(std::make_unique<crypto::Sha256Stream>()) {}

  void Add(uint64_t offset, std::string_view data) {
    bytes_ += data.size();
    if (data.empty()) return;
    if (hash_ != nullptr && offset == position_) {
      hash_->Update(data);
      position_ += data.size();
    } else {
      Break();
    }
  }
  void Break() { hash_.reset(); }

  // Fills bytes, sha256_hex and sequential of a kTransfer event.
  void Report(FileEvent& e) {
    e.bytes = bytes_;
    e.sequential = hash_ != nullptr;
    if (hash_ != nullptr) e.sha256_hex = HexEncode(crypto::AsBytes(hash_->Final()));
  }

 private:
  std::unique_ptr<crypto::Sha256Stream> hash_;  // null once the data stopped being sequential
  uint64_t position_ = 0;
  uint64_t bytes_ = 0;
};

// The error-handling contract shared by both trackers (see transfer.h): files announced by
// the failing call are forgotten (`forget`), kTransfer events of earlier files are kept.
Error FailCall(Error error, const std::vector<FileEvent>& events,
               std::vector<FileEvent>& backlog, const std::function<void(uint64_t)>& forget) {
  std::set<uint64_t> opened;
  for (const FileEvent& e : events) {
    if (e.kind == FileEvent::Kind::kOpen) opened.insert(e.file_id);
  }
  for (const FileEvent& e : events) {
    if (e.kind == FileEvent::Kind::kTransfer && opened.count(e.file_id) == 0) {
      backlog.push_back(e);
    }
  }
  for (uint64_t id : opened) forget(id);
  return error;
}

// ---------------------------------------------------------------------------------------------
// SFTP

Error SftpBad(std::string why) {
  return MakeError(ErrorCode::kInvalidArgument, "sftp: " + std::move(why));
}
Error SftpLimit(std::string why) {
  return MakeError(ErrorCode::kResourceExhausted, "sftp: " + std::move(why));
}

// Packet types (draft-ietf-secsh-filexfer-02 §3).
enum : uint8_t {
  kFxpInit = 1,
  kFxpVersion = 2,
  kFxpOpen = 3,
  kFxpClose = 4,
  kFxpRead = 5,
  kFxpWrite = 6,
  kFxpLstat = 7,
  kFxpFstat = 8,
  kFxpSetstat = 9,
  kFxpFsetstat = 10,
  kFxpOpendir = 11,
  kFxpReaddir = 12,
  kFxpRemove = 13,
  kFxpMkdir = 14,
  kFxpRmdir = 15,
  kFxpRealpath = 16,
  kFxpStat = 17,
  kFxpRename = 18,
  kFxpReadlink = 19,
  kFxpSymlink = 20,
  kFxpStatus = 101,
  kFxpHandle = 102,
  kFxpData = 103,
  kFxpName = 104,
  kFxpAttrs = 105,
  kFxpExtended = 200,
  kFxpExtendedReply = 201,
};
constexpr uint32_t kFxOk = 0;
constexpr uint32_t kFxEof = 1;

constexpr uint32_t kFxfRead = 0x01;
constexpr uint32_t kFxfWrite = 0x02;
constexpr uint32_t kFxfAppend = 0x04;
constexpr uint32_t kFxfCreat = 0x08;
constexpr uint32_t kFxfTrunc = 0x10;

constexpr uint32_t kAttrSize = 0x01;
constexpr uint32_t kAttrUidGid = 0x02;
constexpr uint32_t kAttrPermissions = 0x04;
constexpr uint32_t kAttrAcModTime = 0x08;
constexpr uint32_t kAttrExtended = 0x80000000;

// The draft limits handles to 256 bytes; OpenSSH's are 4.
constexpr size_t kMaxHandle = 256;

std::string_view StatusName(uint32_t code) {
  static constexpr std::string_view kNames[] = {
      "ok",          "eof",        "no such file",      "permission denied",
      "failure",     "bad message", "no connection",    "connection lost",
      "unsupported"};
  return code < std::size(kNames) ? kNames[code] : "status";
}

// Reads SSH wire fields (RFC 4251 §5) from one packet; a short field sets !ok().
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }

  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(data_[i]);
    data_.remove_prefix(4);
    return v;
  }
  uint64_t U64() {
    uint64_t hi = U32();
    uint64_t lo = U32();
    return (hi << 32) | lo;
  }
  std::string_view String() {
    uint32_t n = U32();
    if (!Need(n)) return {};
    std::string_view s = data_.substr(0, n);
    data_.remove_prefix(n);
    return s;
  }
  // ATTRS (draft-02 §5): each field present when its flag is; unknown flag bits are ignored
  // as OpenSSH's decode_attrib ignores them. Returns a description of what is set.
  std::string Attrs() {
    uint32_t flags = U32();
    std::string out;
    auto add = [&out](const std::string& s) {
      if (!out.empty()) out += ' ';
      out += s;
    };
    if (flags & kAttrSize) add("size=" + std::to_string(U64()));
    if (flags & kAttrUidGid) {
      uint32_t uid = U32();
      uint32_t gid = U32();
      add("uid=" + std::to_string(uid) + " gid=" + std::to_string(gid));
    }
    if (flags & kAttrPermissions) {
      char mode[16];
      std::snprintf(mode, sizeof mode, "mode=%04o", U32() & 07777);
      add(mode);
    }
    if (flags & kAttrAcModTime) {
      uint32_t atime = U32();
      uint32_t mtime = U32();
      add("atime=" + std::to_string(atime) + " mtime=" + std::to_string(mtime));
    }
    if (flags & kAttrExtended) {
      uint32_t count = U32();
      // Each pair is at least 8 bytes, so a count beyond that is a lie, not a long loop.
      if (count > data_.size() / 8) ok_ = false;
      for (uint32_t i = 0; ok_ && i < count; ++i) {
        (void)String();
        (void)String();
      }
      if (ok_) add("extended=" + std::to_string(count));
    }
    return ok_ ? out : std::string();
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || data_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view data_;
  bool ok_ = true;
};

// Splits a byte stream into SFTP packets (uint32 length, then that many bytes), whatever
// the chunking. At most one partial packet is held, and its length is checked before its
// body is buffered.
class Framer {
 public:
  Status Feed(std::string_view bytes, size_t max_packet,
              const std::function<Status(std::string_view)>& on_packet) {
    while (!bytes.empty()) {
      if (buf_.empty()) {
        // Whole packets straight from the input, without copying them.
        while (bytes.size() >= 4) {
          uint32_t len = BigEndian32(bytes);
          RETURN_IF_ERROR(CheckLength(len, max_packet));
          if (bytes.size() - 4 < len) break;
          RETURN_IF_ERROR(on_packet(bytes.substr(4, len)));
          bytes.remove_prefix(4 + len);
        }
        buf_.assign(bytes);
        return OkStatus();
      }
      if (buf_.size() < 4) {
        size_t take = std::min(4 - buf_.size(), bytes.size());
        buf_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (buf_.size() < 4) return OkStatus();
        RETURN_IF_ERROR(CheckLength(BigEndian32(buf_), max_packet));
      }
      size_t total = 4 + size_t{BigEndian32(buf_)};
      size_t take = std::min(total - buf_.size(), bytes.size());
      buf_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buf_.size() == total) {
        std::string packet = std::move(buf_);
        buf_.clear();
        RETURN_IF_ERROR(on_packet(std::string_view(packet).substr(4)));
      }
    }
    return OkStatus();
  }

 private:
  static uint32_t BigEndian32(std::string_view b) {
    return (uint32_t{static_cast<uint8_t>(b[0])} << 24) |
           (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
           (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
  }
  static Status CheckLength(uint32_t len, size_t max_packet) {
    if (len == 0) return SftpBad("empty packet");
    if (len > max_packet) {
      return SftpLimit("packet of " + std::to_string(len) + " bytes exceeds the limit of " +
                       std::to_string(max_packet));
    }
    return OkStatus();
  }

  std::string buf_;
};

}  // namespace

std::string_view FileEventKindName(FileEvent::Kind kind) {
  switch (kind) {
    case FileEvent::Kind::kOpen: return "open";
    case FileEvent::Kind::kTransfer: return "transfer";
    case FileEvent::Kind::kRemove: return "remove";
    case FileEvent::Kind::kRename: return "rename";
    case FileEvent::Kind::kMkdir: return "mkdir";
    case FileEvent::Kind::kRmdir: return "rmdir";
    case FileEvent::Kind::kSetstat: return "setstat";
    case FileEvent::Kind::kSymlink: return "symlink";
    case FileEvent::Kind::kLink: return "link";
  }
  return "unknown";
}

class SftpTracker::Impl {
 public:
  explicit Impl(Limits limits) : limits_(limits) {}

  Result<std::vector<FileEvent>> Feed(bool from_client, std::string_view bytes) {
    if (failed_) return *failed_;
    if (finished_) return SftpBad("bytes after Finish");
    std::vector<FileEvent> events;
    Framer& framer = from_client ? client_framer_ : target_framer_;
    Status status = framer.Feed(bytes, limits_.max_packet, [&](std::string_view packet) {
      return from_client ? OnClientPacket(packet, events) : OnTargetPacket(packet, events);
    });
    if (status.ok()) return events;
    failed_ = FailCall(std::move(status).error(), events, backlog_,
                       [this](uint64_t id) { files_.erase(id); });
    return *failed_;
  }

  std::vector<FileEvent> Finish() {
    std::vector<FileEvent> events = std::move(backlog_);
    backlog_.clear();
    for (auto& [id, file] : files_) {
      events.push_back(TransferEvent(id, file));
      events.back().complete = false;
    }
    files_.clear();
    handles_.clear();
    pending_.clear();
    finished_ = true;
    return events;
  }

 private:
  struct File {
    std::string path;
    std::string direction;
    FileData data;
    std::string error;
  };
  enum class Op { kOther, kOpen, kRead, kWrite, kClose };
  struct Pending {
    Op op = Op::kOther;
    uint64_t file = 0;
    uint64_t offset = 0;  // kRead
  };

  static FileEvent TransferEvent(uint64_t id, File& file) {
    FileEvent e;
    e.kind = FileEvent::Kind::kTransfer;
    e.file_id = id;
    e.path = file.path;
    e.direction = file.direction;
    e.error = file.error;
    file.data.Report(e);
    return e;
  }

  Status CheckPath(std::string_view path) const {
    if (path.size() > limits_.max_path) {
      return SftpLimit("path of " + std::to_string(path.size()) + " bytes exceeds the limit of " +
                       std::to_string(limits_.max_path));
    }
    return OkStatus();
  }

  Status AddPending(uint32_t id, Pending p) {
    if (pending_.count(id) != 0) {
      return SftpBad("request id " + std::to_string(id) + " reused before it was answered");
    }
    if (pending_.size() >= limits_.max_pending_requests) {
      return SftpLimit("more than " + std::to_string(limits_.max_pending_requests) +
                       " unanswered requests");
    }
    pending_.emplace(id, p);
    return OkStatus();
  }

  // The file behind a handle, or nullptr for handles the tracker does not follow.
  File* FileOf(std::string_view handle, uint64_t* id = nullptr) {
    auto it = handles_.find(std::string(handle));
    if (it == handles_.end()) return nullptr;
    auto file = files_.find(it->second);
    if (file == files_.end()) return nullptr;
    if (id != nullptr) *id = it->second;
    return &file->second;
  }

  static std::string_view TypeName(uint8_t type) {
    switch (type) {
      case kFxpOpen: return "OPEN";
      case kFxpClose: return "CLOSE";
      case kFxpRead: return "READ";
      case kFxpWrite: return "WRITE";
      case kFxpSetstat: return "SETSTAT";
      case kFxpFsetstat: return "FSETSTAT";
      case kFxpRemove: return "REMOVE";
      case kFxpMkdir: return "MKDIR";
      case kFxpRmdir: return "RMDIR";
      case kFxpRename: return "RENAME";
      case kFxpSymlink: return "SYMLINK";
      case kFxpExtended: return "EXTENDED";
      case kFxpStatus: return "STATUS";
      case kFxpHandle: return "HANDLE";
      case kFxpData: return "DATA";
      case kFxpVersion: return "VERSION";
      default: return "packet";
    }
  }

  Status OnClientPacket(std::string_view packet, std::vector<FileEvent>& events) {
    auto type = static_cast<uint8_t>(packet[0]);
    Reader r(packet.substr(1));
    if (!init_seen_) {
      if (type != kFxpInit) {
        return SftpBad("not an SFTP stream: the first packet is type " + std::to_string(type) +
                       ", not INIT");
      }
      (void)r.U32();
      if (!r.ok()) return SftpBad("truncated INIT");
      init_seen_ = true;
      return OkStatus();
    }
    if (type == kFxpInit) return SftpBad("INIT sent twice");
    // Types the server does not know get no reply from it, so they are not waited for.
    bool is_request = (type >= kFxpOpen && type <= kFxpSymlink) || type == kFxpExtended;
    if (!is_request) return OkStatus();
    uint32_t id = r.U32();
    Pending pending;
    auto event = [&](FileEvent::Kind kind, std::string_view path, std::string_view path2 = {},
                     std::string attrs = {}) -> Status {
      RETURN_IF_ERROR(CheckPath(path));
      RETURN_IF_ERROR(CheckPath(path2));
      FileEvent e;
      e.kind = kind;
      e.path = std::string(path);
      e.path2 = std::string(path2);
      e.attrs = std::move(attrs);
      events.push_back(std::move(e));
      return OkStatus();
    };
    // Fields are read first and checked once: a short field leaves r !ok().
    Status status;
    switch (type) {
      case kFxpOpen: {
        std::string_view path = r.String();
        uint32_t pflags = r.U32();
        std::string attrs = r.Attrs();
        if (!r.ok()) break;
        RETURN_IF_ERROR(CheckPath(path));
        if (files_.size() >= limits_.max_open_files) {
          return SftpLimit("more than " + std::to_string(limits_.max_open_files) + " open files");
        }
        bool reads = (pflags & kFxfRead) != 0;
        bool writes = (pflags & (kFxfWrite | kFxfAppend | kFxfCreat | kFxfTrunc)) != 0;
        // No flag at all opens read-only in OpenSSH (flags_from_portable).
        std::string direction = reads && writes ? "both" : writes ? "upload" : "download";
        uint64_t file_id = next_file_id_++;
        File& file = files_[file_id];
        file.path = std::string(path);
        file.direction = direction;
        FileEvent e;
        e.kind = FileEvent::Kind::kOpen;
        e.file_id = file_id;
        e.path = file.path;
        e.direction = direction;
        e.attrs = std::move(attrs);
        events.push_back(std::move(e));
        pending = {Op::kOpen, file_id, 0};
        break;
      }
      case kFxpClose: {
        std::string_view handle = r.String();
        if (!r.ok()) break;
        if (uint64_t file = 0; FileOf(handle, &file) != nullptr) {
          // The handle is gone from here on; the file is reported when the CLOSE is answered,
          // after every earlier reply (replies to its reads) has been seen.
          handles_.erase(std::string(handle));
          pending = {Op::kClose, file, 0};
        }
        break;
      }
      case kFxpRead: {
        std::string_view handle = r.String();
        uint64_t offset = r.U64();
        (void)r.U32();
        if (!r.ok()) break;
        if (uint64_t file = 0; FileOf(handle, &file) != nullptr) {
          pending = {Op::kRead, file, offset};
        }
        break;
      }
      case kFxpWrite: {
        std::string_view handle = r.String();
        uint64_t offset = r.U64();
        std::string_view data = r.String();
        if (!r.ok()) break;
        if (uint64_t file = 0; File* f = FileOf(handle, &file)) {
          // Hashed as sent: holding writes until they are acknowledged would cost up to the
          // client's whole pipeline of data. A refused write is reported as the file's error.
          f->data.Add(offset, data);
          pending = {Op::kWrite, file, 0};
        }
        break;
      }
      case kFxpSetstat: {
        std::string_view path = r.String();
        std::string attrs = r.Attrs();
        if (r.ok()) status = event(FileEvent::Kind::kSetstat, path, {}, std::move(attrs));
        break;
      }
      case kFxpFsetstat: {
        std::string_view handle = r.String();
        std::string attrs = r.Attrs();
        if (!r.ok()) break;
        if (File* f = FileOf(handle)) {
          status = event(FileEvent::Kind::kSetstat, f->path, {}, std::move(attrs));
        }
        break;
      }
      case kFxpRemove: {
        std::string_view path = r.String();
        if (r.ok()) status = event(FileEvent::Kind::kRemove, path);
        break;
      }
      case kFxpMkdir: {
        std::string_view path = r.String();
        std::string attrs = r.Attrs();
        if (r.ok()) status = event(FileEvent::Kind::kMkdir, path, {}, std::move(attrs));
        break;
      }
      case kFxpRmdir: {
        std::string_view path = r.String();
        if (r.ok()) status = event(FileEvent::Kind::kRmdir, path);
        break;
      }
      case kFxpRename: {
        std::string_view from = r.String();
        std::string_view to = r.String();
        if (r.ok()) status = event(FileEvent::Kind::kRename, from, to);
        break;
      }
      case kFxpSymlink: {
        std::string_view target = r.String();
        std::string_view link = r.String();
        if (r.ok()) status = event(FileEvent::Kind::kSymlink, link, target);
        break;
      }
      case kFxpExtended: {
        std::string_view name = r.String();
        if (!r.ok()) break;
        if (name == "posix-rename@openssh.com" || name == "hardlink@openssh.com") {
          std::string_view from = r.String();
          std::string_view to = r.String();
          if (!r.ok()) break;
          status = event(name == "posix-rename@openssh.com" ? FileEvent::Kind::kRename
                                                            : FileEvent::Kind::kLink,
                         name == "posix-rename@openssh.com" ? from : to,
                         name == "posix-rename@openssh.com" ? to : from);
        } else if (name == "lsetstat@openssh.com") {
          std::string_view path = r.String();
          std::string attrs = r.Attrs();
          if (r.ok()) status = event(FileEvent::Kind::kSetstat, path, {}, std::move(attrs));
        } else if (name == "copy-data") {
          // Server-side copy: data reaches the destination without crossing the channel.
          (void)r.String();
          (void)r.U64();
          (void)r.U64();
          std::string_view write_handle = r.String();
          (void)r.U64();
          if (!r.ok()) break;
          if (File* f = FileOf(write_handle)) f->data.Break();
        }
        break;
      }
      default:  // LSTAT, FSTAT, OPENDIR, READDIR, REALPATH, STAT, READLINK: only waited for
        break;
    }
    if (!r.ok()) return SftpBad("truncated " + std::string(TypeName(type)) + " request");
    RETURN_IF_ERROR(status);
    return AddPending(id, pending);
  }

  Status OnTargetPacket(std::string_view packet, std::vector<FileEvent>& events) {
    auto type = static_cast<uint8_t>(packet[0]);
    Reader r(packet.substr(1));
    if (!version_seen_) {
      if (type != kFxpVersion) {
        return SftpBad("not an SFTP stream: the server's first packet is type " +
                       std::to_string(type) + ", not VERSION");
      }
      uint32_t version = r.U32();
      if (!r.ok()) return SftpBad("truncated VERSION");
      // Packet layouts differ from version 4 on; OpenSSH only speaks 3.
      if (version != 3) return SftpBad("unsupported SFTP version " + std::to_string(version));
      version_seen_ = true;
      return OkStatus();
    }
    bool is_reply = (type >= kFxpStatus && type <= kFxpAttrs) || type == kFxpExtendedReply;
    if (!is_reply) return OkStatus();
    uint32_t id = r.U32();
    if (!r.ok()) return SftpBad("truncated " + std::string(TypeName(type)) + " reply");
    auto it = pending_.find(id);
    if (it == pending_.end()) return OkStatus();
    Pending p = it->second;
    pending_.erase(it);
    auto file_it = files_.find(p.file);
    if (p.op == Op::kOther || file_it == files_.end()) return OkStatus();
    File& file = file_it->second;

    // A STATUS reply: its code and a printable message ("" when it is OK).
    uint32_t code = kFxOk;
    std::string message;
    if (type == kFxpStatus) {
      code = r.U32();
      if (!r.ok()) return SftpBad("truncated STATUS reply");
      // Some v3 servers omit the message and language tag; they are optional here.
      std::string_view text = r.String();
      message = std::string(StatusName(code));
      if (r.ok() && !text.empty()) message += ": " + Printable(text);
    }
    auto note_error = [&file](std::string_view what, std::string_view why) {
      if (file.error.empty()) file.error = std::string(what) + " failed: " + std::string(why);
    };

    switch (p.op) {
      case Op::kOpen:
        if (type == kFxpHandle) {
          std::string_view handle = r.String();
          if (!r.ok()) return SftpBad("truncated HANDLE reply");
          if (handle.size() > kMaxHandle) {
            return SftpBad("handle of " + std::to_string(handle.size()) + " bytes");
          }
          handles_[std::string(handle)] = p.file;
        } else {
          note_error("open", type == kFxpStatus ? message : "unexpected reply");
          events.push_back(TransferEvent(p.file, file));
          files_.erase(file_it);
        }
        break;
      case Op::kRead:
        if (type == kFxpData) {
          std::string_view data = r.String();
          if (!r.ok()) return SftpBad("truncated DATA reply");
          file.data.Add(p.offset, data);
        } else if (type != kFxpStatus || code != kFxEof) {
          note_error("read", type == kFxpStatus ? message : "unexpected reply");
        }
        break;
      case Op::kWrite:
        if (type != kFxpStatus || code != kFxOk) {
          note_error("write", type == kFxpStatus ? message : "unexpected reply");
        }
        break;
      case Op::kClose:
        if (type != kFxpStatus || code != kFxOk) {
          note_error("close", type == kFxpStatus ? message : "unexpected reply");
        }
        events.push_back(TransferEvent(p.file, file));
        files_.erase(file_it);
        break;
      case Op::kOther:
        break;
    }
    return OkStatus();
  }

  Limits limits_;
  Framer client_framer_;
  Framer target_framer_;
  bool init_seen_ = false;
  bool version_seen_ = false;
  bool finished_ = false;
  std::optional<Error> failed_;
  std::vector<FileEvent> backlog_;  // kTransfer events kept from a failed call for Finish
  uint64_t next_file_id_ = 1;
  std::map<uint64_t, File> files_;                // by file id; ordered for Finish
  std::map<std::string, uint64_t> handles_;       // open handle -> file id
  std::map<uint32_t, Pending> pending_;           // request id -> what answers it
};

SftpTracker::SftpTracker() : SftpTracker(Limits{}) {}
SftpTracker::SftpTracker(Limits limits) : impl_(std::make_unique<Impl>(limits)) {}
SftpTracker::~SftpTracker() = default;
SftpTracker::SftpTracker(SftpTracker&&) noexcept = default;
SftpTracker& SftpTracker::operator=(SftpTracker&&) noexcept = default;

Result<std::vector<FileEvent>> SftpTracker::FromClient(std::string_view bytes) {
  return impl_->Feed(true, bytes);
}
Result<std::vector<FileEvent>> SftpTracker::FromTarget(std::string_view bytes) {
  return impl_->Feed(false, bytes);
}
std::vector<FileEvent> SftpTracker::Finish() { return impl_->Finish(); }

// ---------------------------------------------------------------------------------------------
// scp

namespace {

Error ScpBad(std::string why) {
  return MakeError(ErrorCode::kInvalidArgument, "scp: " + std::move(why));
}

// Bytes a source may send while it should be waiting for the sink's answer. OpenSSH's source
// sends nothing then; the slack only absorbs a record racing an answer.
constexpr size_t kMaxUnanswered = 64 * 1024;
// Answers the source has not yet asked for; OpenSSH's sink is never more than one ahead.
constexpr size_t kMaxQueuedAnswers = 64;

// The last component of a path, ignoring trailing slashes ("/a/b/" -> "b"), as OpenSSH's
// source names what it sends.
std::string_view Basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos || path == "/" ? path : path.substr(slash + 1);
}

// The directory part ("/a/b" -> "/a", "/b" -> "/", "b" -> "").
std::string_view Dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
}

std::string Join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

bool LooksLikeDirectory(std::string_view path) {
  return path.ends_with('/') || path == "." || path == ".." || path == "~" ||
         path.ends_with("/.") || path.ends_with("/..");
}

// Splits a command line into words as a POSIX shell would after quote removal; nullopt when
// it holds syntax whose effect is not just "run these words".
std::optional<std::vector<std::string>> SplitShellWords(std::string_view s) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    if (std::string_view(";&|<>()`\n").find(c) != std::string_view::npos) return std::nullopt;
    if (c == '#' && !in_word) return std::nullopt;
    if (c == '$' && i + 1 < s.size() && s[i + 1] == '(') return std::nullopt;
    in_word = true;
    if (c == '\\') {
      if (++i == s.size()) return std::nullopt;
      if (s[i] != '\n') word += s[i];
    } else if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      word += s.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i == s.size()) return std::nullopt;
        char d = s[i];
        if (d == '"') break;
        if (d == '`' || (d == '$' && i + 1 < s.size() && s[i + 1] == '(')) return std::nullopt;
        if (d == '\\' && i + 1 < s.size() &&
            std::string_view("$`\"\\\n").find(s[i + 1]) != std::string_view::npos) {
          if (s[++i] != '\n') word += s[i];
        } else {
          word += d;
        }
      }
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// The file an scp source is sending.
struct ScpFile {
  uint64_t id = 0;
  std::string path;
  uint64_t size = 0;
  uint64_t remaining = 0;
  FileData data;
  std::string error;
};

// One answer from the sink: \0, or \1 (error) / \2 or anything else (fatal) and a line.
struct Answer {
  enum class Kind { kOk, kError, kFatal } kind = Kind::kOk;
  std::string message;
};

}  // namespace

class ScpTracker::Impl {
 public:
  bool upload = false;
  bool recursive = false;
  bool target_dir = false;  // -d
  std::vector<std::string> paths;

  Result<std::vector<FileEvent>> Feed(bool from_client, std::string_view bytes) {
    if (failed_) return *failed_;
    if (finished_) return ScpBad("bytes after Finish");
    std::vector<FileEvent> events;
    bool from_source = from_client == upload;
    (from_source ? source_buf_ : sink_buf_).append(bytes);
    Status status = Pump(events);
    if (status.ok()) return events;
    failed_ = FailCall(std::move(status).error(), events, backlog_, [this](uint64_t id) {
      if (file_ && file_->id == id) file_.reset();
    });
    return *failed_;
  }

  std::vector<FileEvent> Finish() {
    std::vector<FileEvent> events = std::move(backlog_);
    backlog_.clear();
    if (file_) {
      events.push_back(EndFile(false, ""));
    }
    finished_ = true;
    return events;
  }

 private:
  enum class Await { kNone, kReady, kTimes, kDir, kEnd, kFileStart, kFileEnd };
  enum class State { kRecord, kData, kTrailer, kTrailerMessage, kDone };
  FileEvent EndFile(bool complete, std::string_view error) {
    FileEvent e;
    e.kind = FileEvent::Kind::kTransfer;
    e.file_id = file_->id;
    e.path = file_->path;
    e.direction = upload ? "upload" : "download";
    e.error = file_->error.empty() ? std::string(error) : file_->error;
    e.complete = complete;
    file_->data.Report(e);
    file_.reset();
    return e;
  }

  // A complete line at `pos` of `buf` (without its '\n'), nullopt if more bytes are needed.
  static Result<std::optional<std::string_view>> Line(const std::string& buf, size_t pos,
                                                      std::string_view what) {
    std::string_view rest = std::string_view(buf).substr(pos);
    size_t nl = rest.substr(0, kMaxLine).find('\n');
    if (nl == std::string_view::npos) {
      if (rest.size() >= kMaxLine) {
        return ScpBad(std::string(what) + " longer than " + std::to_string(kMaxLine) + " bytes");
      }
      return std::optional<std::string_view>();
    }
    return std::optional<std::string_view>(rest.substr(0, nl));
  }

  Status ParseAnswers() {
    size_t pos = 0;
    while (pos < sink_buf_.size()) {
      // The sink exits after a fatal answer; nothing may follow it.
      if (sink_fatal_) return ScpBad("the sink sent bytes after a fatal error");
      Answer a;
      char kind = sink_buf_[pos];
      if (kind == '\0') {
        ++pos;
      } else {
        // Like OpenSSH's response(): the message runs from the second byte to a newline.
        ASSIGN_OR_RETURN(std::optional<std::string_view> line,
                         Line(sink_buf_, pos + 1, "an answer"));
        if (!line) break;
        a.kind = kind == '\1' ? Answer::Kind::kError : Answer::Kind::kFatal;
        // A first byte other than \1 or \2 is fatal too, and part of the message (a shell's
        // complaint instead of scp's answer).
        a.message = Printable(kind == '\1' || kind == '\2' ? std::string(*line)
                                                           : std::string(1, kind) + std::string(*line));
        pos += 1 + line->size() + 1;
        if (a.kind == Answer::Kind::kFatal) sink_fatal_ = true;
      }
      if (answers_.size() >= kMaxQueuedAnswers) return ScpBad("the sink answered unasked");
      answers_.push_back(std::move(a));
    }
    sink_buf_.erase(0, pos);
    return OkStatus();
  }

  Status Pump(std::vector<FileEvent>& events) {
    RETURN_IF_ERROR(ParseAnswers());
    size_t pos = 0;
    Status status = RunSource(pos, events);
    source_buf_.erase(0, pos);
    RETURN_IF_ERROR(status);
    if (await_ != Await::kNone && source_buf_.size() > kMaxUnanswered) {
      return ScpBad("the source sent " + std::to_string(source_buf_.size()) +
                    " bytes without waiting for the sink's answer");
    }
    return OkStatus();
  }

  Status RunSource(size_t& pos, std::vector<FileEvent>& events) {
    for (;;) {
      if (state_ == State::kDone) {
        if (pos < source_buf_.size()) return ScpBad("the source sent bytes after the end");
        answers_.clear();
        return OkStatus();
      }
      if (await_ != Await::kNone) {
        if (answers_.empty()) return OkStatus();
        Answer a = std::move(answers_.front());
        answers_.pop_front();
        Apply(a, events);
        continue;
      }
      if (pos >= source_buf_.size()) return OkStatus();
      std::string_view rest = std::string_view(source_buf_).substr(pos);
      switch (state_) {
        case State::kData: {
          size_t n = static_cast<size_t>(std::min<uint64_t>(file_->remaining, rest.size()));
          file_->data.Add(file_->size - file_->remaining, rest.substr(0, n));
          file_->remaining -= n;
          pos += n;
          if (file_->remaining == 0) state_ = State::kTrailer;
          break;
        }
        case State::kTrailer: {
          char c = rest[0];
          ++pos;
          if (c == '\0') {
            await_ = Await::kFileEnd;
            state_ = State::kRecord;
          } else {
            // The source could not read the file (OpenSSH pads what it could not read); a
            // message line follows. \1 is an error the sink still answers; anything else
            // makes the sink exit.
            trailer_fatal_ = c != '\1';
            trailer_first_ = c;
            state_ = State::kTrailerMessage;
          }
          break;
        }
        case State::kTrailerMessage: {
          ASSIGN_OR_RETURN(std::optional<std::string_view> line,
                           Line(source_buf_, pos, "an error message"));
          if (!line) return OkStatus();
          pos += line->size() + 1;
          std::string message = trailer_fatal_ && trailer_first_ != '\2'
                                    ? std::string(1, trailer_first_) + std::string(*line)
                                    : std::string(*line);
          if (file_->error.empty()) file_->error = Printable(message);
          if (trailer_fatal_) {
            events.push_back(EndFile(false, ""));
            state_ = State::kDone;
          } else {
            await_ = Await::kFileEnd;
            state_ = State::kRecord;
          }
          break;
        }
        case State::kRecord: {
          ASSIGN_OR_RETURN(std::optional<std::string_view> line,
                           Line(source_buf_, pos, "a record"));
          if (!line) return OkStatus();
          pos += line->size() + 1;
          RETURN_IF_ERROR(Record(*line, events));
          break;
        }
        case State::kDone:
          break;
      }
    }
  }

  void Apply(const Answer& a, std::vector<FileEvent>& events) {
    Await what = await_;
    await_ = Await::kNone;
    bool fatal = a.kind == Answer::Kind::kFatal;
    bool ok = a.kind == Answer::Kind::kOk;
    switch (what) {
      case Await::kReady:
        // The source gives up when the sink cannot start (e.g. -d and PATH is no directory).
        if (!ok) state_ = State::kDone;
        return;
      case Await::kTimes:
        // After a refused T record OpenSSH's source skips that file (its C or D record).
        if (!ok) times_.clear();
        break;
      case Await::kDir:
        if (ok) dirs_.push_back(std::move(pending_dir_));
        pending_dir_.clear();
        break;
      case Await::kEnd:
        if (!dirs_.empty()) dirs_.pop_back();
        break;
      case Await::kFileStart:
        if (ok) {
          state_ = file_->remaining == 0 ? State::kTrailer : State::kData;
        } else {
          events.push_back(EndFile(true, a.message));
        }
        break;
      case Await::kFileEnd:
        events.push_back(EndFile(true, ok ? "" : a.message));
        break;
      case Await::kNone:
        break;
    }
    if (fatal) state_ = State::kDone;
  }

  // The path a top-level name stands for; see the rule in transfer.h.
  std::string TopLevelPath(std::string_view name) const {
    if (upload) {
      const std::string& base = paths[0];
      if (target_dir || recursive || LooksLikeDirectory(base) || Basename(base) != name) {
        return Join(base, name);
      }
      return base;
    }
    for (const std::string& p : paths) {
      if (Basename(p) == name) {
        std::string_view trimmed = p;
        while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.remove_suffix(1);
        return std::string(trimmed);
      }
    }
    const std::string* base = &paths[0];
    for (const std::string& p : paths) {
      if (p.find_first_of("*?[") != std::string::npos) {
        base = &p;
        break;
      }
    }
    return Join(Dirname(*base), name);
  }

  static bool ParseNumber(std::string_view& s, uint64_t max, uint64_t* out) {
    size_t i = 0;
    uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      uint64_t d = static_cast<uint64_t>(s[i] - '0');
      if (v > (max - d) / 10) return false;
      v = v * 10 + d;
      ++i;
    }
    if (i == 0) return false;
    s.remove_prefix(i);
    *out = v;
    return true;
  }

  Status Record(std::string_view line, std::vector<FileEvent>& events) {
    if (line.empty()) return ScpBad("empty record");
    char kind = line[0];
    std::string_view rest = line.substr(1);
    switch (kind) {
      case '\1':
        return OkStatus();  // the source could not send a file; the sink does not answer
      case '\2':
        state_ = State::kDone;
        return OkStatus();
      case 'E':
        // OpenSSH's sink looks at the first byte only.
        if (dirs_.empty()) return ScpBad("E record outside a directory");
        await_ = Await::kEnd;
        return OkStatus();
      case 'T': {
        // T<mtime> <usec> <atime> <usec>, all decimal as OpenSSH's source prints them.
        uint64_t v[4];
        for (int i = 0; i < 4; ++i) {
          if (!ParseNumber(rest, UINT64_MAX, &v[i]) || (i < 3 && !rest.starts_with(' ')) ||
              (i == 3 && !rest.empty())) {
            return ScpBad("malformed T record " + Quote(line));
          }
          rest.remove_prefix(i < 3 ? 1 : 0);
        }
        if (v[1] > 999999 || v[3] > 999999) return ScpBad("malformed T record " + Quote(line));
        times_ = "mtime=" + std::to_string(v[0]) + " atime=" + std::to_string(v[2]);
        await_ = Await::kTimes;
        return OkStatus();
      }
      case 'C':
      case 'D':
        break;
      default:
        return ScpBad("expected a C, D, E or T record, got " + Quote(line));
    }
    // C<4 octal digits> <size> <name>: the sink reads exactly four mode digits.
    if (rest.size() < 5 || rest[4] != ' ' ||
        rest.substr(0, 4).find_first_not_of("01234567") != std::string_view::npos) {
      return ScpBad("bad mode in " + Quote(line));
    }
    std::string attrs = "mode=" + std::string(rest.substr(0, 4));
    rest.remove_prefix(5);
    uint64_t size = 0;
    // The sink stores the size in an off_t.
    if (!ParseNumber(rest, INT64_MAX, &size) || !rest.starts_with(' ')) {
      return ScpBad("bad size in " + Quote(line));
    }
    std::string_view name = rest.substr(1);
    // The names OpenSSH's sink refuses (CVE-2018-20685, CVE-2019-6111): each would write
    // outside the directory being filled.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
      return ScpBad("unexpected file name " + Quote(name));
    }
    if (!times_.empty()) attrs += " " + times_;
    times_.clear();
    std::string path = dirs_.empty() ? TopLevelPath(name) : Join(dirs_.back(), name);
    if (path.size() > kMaxPath) {
      return MakeError(ErrorCode::kResourceExhausted,
                       "scp: path longer than " + std::to_string(kMaxPath) + " bytes");
    }
    if (kind == 'D') {
      if (!recursive) return ScpBad("directory record without -r");
      if (upload) {
        FileEvent e;
        e.kind = FileEvent::Kind::kMkdir;
        e.path = path;
        e.attrs = std::move(attrs);
        events.push_back(std::move(e));
      }
      pending_dir_ = std::move(path);
      await_ = Await::kDir;
      return OkStatus();
    }
    file_.emplace();
    file_->id = next_file_id_++;
    file_->path = path;
    file_->size = size;
    file_->remaining = size;
    FileEvent e;
    e.kind = FileEvent::Kind::kOpen;
    e.file_id = file_->id;
    e.path = std::move(path);
    e.direction = upload ? "upload" : "download";
    e.attrs = std::move(attrs);
    events.push_back(std::move(e));
    await_ = Await::kFileStart;
    return OkStatus();
  }

  std::string source_buf_;  // source bytes not yet consumed
  std::string sink_buf_;    // sink bytes not yet parsed into answers
  std::deque<Answer> answers_;
  bool sink_fatal_ = false;
  State state_ = State::kRecord;
  Await await_ = Await::kReady;  // the sink speaks first
  bool trailer_fatal_ = false;
  char trailer_first_ = 0;
  std::vector<std::string> dirs_;  // paths of the directories entered
  std::string pending_dir_;
  std::string times_;  // from a T record, for the next C or D
  std::optional<ScpFile> file_;
  uint64_t next_file_id_ = 1;
  bool finished_ = false;
  std::optional<Error> failed_;
  std::vector<FileEvent> backlog_;
};

std::optional<ScpTracker> ScpTracker::ForCommand(std::string_view command) {
  std::optional<std::vector<std::string>> words = SplitShellWords(command);
  if (!words || words->empty() || Basename((*words)[0]) != "scp") return std::nullopt;
  auto impl = std::make_unique<Impl>();
  bool t = false;
  bool f = false;
  bool options_done = false;
  for (size_t i = 1; i < words->size(); ++i) {
    const std::string& w = (*words)[i];
    // glibc's getopt, which OpenSSH's scp uses on Linux, finds options after operands too.
    if (options_done || w.size() < 2 || w[0] != '-') {
      impl->paths.push_back(w);
      continue;
    }
    if (w == "--") {
      options_done = true;
      continue;
    }
    for (size_t j = 1; j < w.size(); ++j) {
      char c = w[j];
      if (c == 't') {
        t = true;
      } else if (c == 'f') {
        f = true;
      } else if (c == 'r') {
        impl->recursive = true;
      } else if (c == 'd') {
        impl->target_dir = true;
      } else if (std::string_view("12346ABCOpqRsTv").find(c) != std::string_view::npos) {
        // Flags that do not change what is transferred where.
      } else if (std::string_view("cDFiJlPSoX").find(c) != std::string_view::npos) {
        if (j + 1 == w.size() && ++i == words->size()) return std::nullopt;  // no argument
        break;  // the argument is the rest of this word or the next word
      } else {
        return std::nullopt;  // scp would print its usage and transfer nothing
      }
    }
  }
  if (f) {
    if (impl->paths.empty()) return std::nullopt;
    impl->upload = false;
  } else if (t) {
    if (impl->paths.size() != 1) return std::nullopt;  // the sink's "ambiguous target"
    impl->upload = true;
  } else {
    return std::nullopt;
  }
  return ScpTracker(std::move(impl));
}

ScpTracker::ScpTracker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScpTracker::~ScpTracker() = default;
ScpTracker::ScpTracker(ScpTracker&&) noexcept = default;
ScpTracker& ScpTracker::operator=(ScpTracker&&) noexcept = default;

Result<std::vector<FileEvent>> ScpTracker::FromClient(std::string_view bytes) {
  return impl_->Feed(true, bytes);
}
Result<std::vector<FileEvent>> ScpTracker::FromTarget(std::string_view bytes) {
  return impl_->Feed(false, bytes);
}
std::vector<FileEvent> ScpTracker::Finish() { return impl_->Finish(); }
bool ScpTracker::upload() const { return impl_->upload; }
const std::vector<std::string>& ScpTracker::paths() const { return impl_->paths; }

}  // namespace cloudpact::gateway
