// Passive trackers for file transfers relayed by the SSH gateway: an SFTP subsystem channel
// (SFTP v3, draft-ietf-secsh-filexfer-02, as OpenSSH speaks it) and a legacy scp exec channel
// (`scp -t` / `scp -f`, what `scp -O` runs on the target). The gateway relays the channel's
// bytes unchanged and feeds a copy of each direction to a tracker, which reports every file's
// path, direction, size and SHA-256 and every file operation on the target.
//
// The bytes are untrusted (the operator's client on one side, the target on the other), so a
// tracker keeps bounded memory whatever it is fed, never crashes, and answers an error when
// the stream is not what it claims to be or a bound is hit; the gateway then ends the session.
//
// Call contract, relied on by both trackers:
//   - Feed each direction's bytes in the order they arrived, in chunks of any size, and feed
//     them before forwarding them: an answer is then always seen before whatever it causes
//     (scp's source waits for the sink's answer before it sends a file's contents).
//   - Once FromClient/FromTarget has returned an error, every later call returns that error.
//     The events of the failing call are dropped, because the gateway does not forward those
//     bytes; a kTransfer for a file announced earlier is not lost, it is returned by Finish.
//   - Call Finish once, when the channel closes or after an error; it reports every file still
//     open as an incomplete kTransfer. Each kOpen is followed by exactly one kTransfer with
//     the same file_id, from a later call or from Finish.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cloudpact::gateway {

struct FileEvent {
  enum class Kind {
    kOpen,      // a file is being opened for transfer (reported before the request is forwarded)
    kTransfer,  // a file's transfer ended: closed, refused, failed, or cut short by the session
    kRemove,
    kRename,    // path -> path2 (SFTP RENAME and posix-rename@openssh.com)
    kMkdir,
    kRmdir,
    kSetstat,   // SETSTAT, FSETSTAT, lsetstat@openssh.com; attrs says what is set
    kSymlink,   // path is the new link, path2 what it points to
    kLink,      // hardlink@openssh.com: path is the new name, path2 the existing file
  };
  Kind kind = Kind::kOpen;
  // kOpen/kTransfer: 1, 2, ... per tracker; pairs a kOpen with its kTransfer, since the same
  // path may be open twice at once.
  uint64_t file_id = 0;
  std::string path;   // on the target, as the client named it (not canonicalised)
  std::string path2;  // kRename, kSymlink, kLink
  // kOpen/kTransfer: "upload" (client -> target), "download" (target -> client) or "both".
  std::string direction;
  // kOpen, kMkdir, kSetstat: the attributes the request sets, e.g. "size=0 mode=0644
  // mtime=1700000000"; empty when it sets none.
  std::string attrs;
  // kTransfer: file data that crossed the channel, whatever its offset.
  uint64_t bytes = 0;
  // kTransfer: SHA-256 (lowercase hex) of the data in file order from offset 0; empty when
  // the data was not one run from offset 0 (see sequential).
  std::string sha256_hex;
  // kTransfer: every write (or read) continued where the previous one ended, starting at 0.
  // A resumed, random-access or server-side-copied transfer is reported but not hashed.
  bool sequential = true;
  // kTransfer: the protocol reached the file's end (SFTP: the CLOSE was answered, or the OPEN
  // refused; scp: the sink's final answer arrived). False when the session ended first.
  bool complete = true;
  // kTransfer: the first failure reported for the file (open, read, write or close refused;
  // an scp error message). Bytes and hash then describe what crossed the channel, which is
  // not necessarily what was stored.
  std::string error;
};

std::string_view FileEventKindName(FileEvent::Kind kind);  // "open", "transfer", "remove", ...

// SFTP v3. Every request the client sends is expected to be answered exactly once, in any
// order, by id; a reply to an id that is not outstanding is ignored, as are requests on
// handles the tracker did not see opened (directory handles, garbage). Packet types it does
// not interpret pass untouched. SYMLINK is read in OpenSSH's argument order (target path
// first, then link path: OpenSSH PROTOCOL §4.1), which every OpenSSH sftp-server expects.
class SftpTracker {
 public:
  struct Limits {
    size_t max_packet = 256 * 1024 + 1024;  // OpenSSH's SFTP_MAX_MSG_LENGTH is 256 KiB
    size_t max_open_files = 1024;           // files being opened, open or being closed
    size_t max_pending_requests = 4096;     // requests not yet answered
    size_t max_path = 4096;                 // Linux PATH_MAX; longer paths are refused
  };

  SftpTracker();
  explicit SftpTracker(Limits limits);
  ~SftpTracker();
  SftpTracker(SftpTracker&&) noexcept;
  SftpTracker& operator=(SftpTracker&&) noexcept;

  // Client -> target bytes. Events for requests completed in these bytes: kOpen, kRemove,
  // kRename, kMkdir, kRmdir, kSetstat, kSymlink, kLink. kInvalidArgument when the stream is
  // not SFTP v3 or a packet is malformed; kResourceExhausted when a limit is exceeded.
  Result<std::vector<FileEvent>> FromClient(std::string_view bytes);
  // Target -> client bytes: kTransfer when a CLOSE is answered or an OPEN refused.
  Result<std::vector<FileEvent>> FromTarget(std::string_view bytes);
  // The session ended: every file still open (or being opened or closed) as a kTransfer with
  // complete=false, after any kTransfer held back by an error.
  std::vector<FileEvent> Finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The rcp/scp protocol of OpenSSH's `scp -O`. The side holding the files (the client for
// `scp -t`, the target for `scp -f`) is the source, the other the sink. Events:
//   - kOpen per C record, kTransfer when the sink's last answer for that file arrives (with
//     the error if it refused or failed the file). direction is "upload" for -t, else
//     "download".
//   - kMkdir per D record of an upload (D records of a download change nothing on the target).
// Paths: a name inside a D record's directory is joined to it. A top-level name N is placed
// by this rule, since whether PATH is an existing directory on the target cannot be seen:
//   upload (`scp -t PATH`): PATH/N when -d or -r was given, when PATH looks like a directory
//     (ends in "/", is ".", "..", "~", or ends in "/." or "/.."), or when N differs from
//     PATH's last component; otherwise PATH. So `scp a.txt host:/tmp/b.txt` is recorded as
//     /tmp/b.txt/a.txt and `scp -r dir host:new` (which creates new) as new/dir: a known
//     inaccuracy of the rule, which is right for the common `scp FILES host:DIR`.
//   download (`scp -f PATH...`): the PATH whose last component is N; otherwise N in the
//     directory of the first PATH with a glob character (*?[), else of the first PATH.
// PATH is taken as written after shell quote removal: `~` and `$VAR` are not expanded.
class ScpTracker {
 public:
  // OpenSSH's scp reads a record into a 2048-byte buffer and would split a longer line; the
  // tracker refuses such a line instead of guessing how the sink would read it.
  static constexpr size_t kMaxLine = 2047;  // including the '\n'
  static constexpr size_t kMaxPath = 4096;

  // Parses an exec request's command. nullopt unless it is a plain `scp` (any directory)
  // with -t and exactly one PATH, or -f and at least one PATH (-f wins if both are given, as
  // in OpenSSH), and only options scp accepts. Also nullopt when the command holds shell
  // syntax that makes the words unknowable or runs more than scp (; & | < > ( ) ` $( # or a
  // newline outside quotes): the gateway should then treat it as an ordinary command.
  static std::optional<ScpTracker> ForCommand(std::string_view command);

  ~ScpTracker();
  ScpTracker(ScpTracker&&) noexcept;
  ScpTracker& operator=(ScpTracker&&) noexcept;

  // kInvalidArgument when the stream breaks the protocol (a malformed record, a name with
  // '/', ".", "..", or empty, which OpenSSH's sink refuses too, a line over kMaxLine, a
  // source that does not wait for answers, bytes after a fatal error).
  Result<std::vector<FileEvent>> FromClient(std::string_view bytes);
  Result<std::vector<FileEvent>> FromTarget(std::string_view bytes);
  std::vector<FileEvent> Finish();

  bool upload() const;                           // -t
  const std::vector<std::string>& paths() const;  // the PATH operands

 private:
  class Impl;
  explicit ScpTracker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudpact::gateway
