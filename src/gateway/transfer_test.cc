#include "gateway/transfer.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/encoding.h"
#include "crypto/sha256.h"
#include "testing/backends.h"

namespace cloudpact::gateway {
namespace {

using Kind = FileEvent::Kind;
using namespace std::string_literals;

std::string HexSha(std::string_view data) { return HexEncode(crypto::AsBytes(crypto::Sha256(data))); }

// One line per event, so that a mismatch prints what differs.
std::string Describe(const FileEvent& e) {
  std::ostringstream out;
  out << FileEventKindName(e.kind) << " #" << e.file_id << " " << e.path;
  if (!e.path2.empty()) out << " -> " << e.path2;
  if (!e.direction.empty()) out << " " << e.direction;
  if (!e.attrs.empty()) out << " [" << e.attrs << "]";
  if (e.kind == Kind::kTransfer) {
    out << " bytes=" << e.bytes << " sha=" << (e.sha256_hex.empty() ? "-" : e.sha256_hex)
        << (e.sequential ? "" : " nonsequential") << (e.complete ? "" : " incomplete");
    if (!e.error.empty()) out << " error=" << e.error;
  }
  return out.str();
}
std::vector<std::string> Describe(const std::vector<FileEvent>& events) {
  std::vector<std::string> out;
  for (const FileEvent& e : events) out.push_back(Describe(e));
  return out;
}

// ---------------------------------------------------------------------------------------------
// A small SFTP v3 encoder.

std::string U32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string U64(uint64_t v) { return U32(static_cast<uint32_t>(v >> 32)) + U32(static_cast<uint32_t>(v)); }
std::string Str(std::string_view s) { return U32(static_cast<uint32_t>(s.size())) + std::string(s); }
std::string Packet(uint8_t type, const std::string& body) {
  return U32(static_cast<uint32_t>(body.size() + 1)) + static_cast<char>(type) + body;
}
const std::string kNoAttrs = U32(0);

std::string Init() { return Packet(1, U32(3)); }
std::string Version() { return Packet(2, U32(3) + Str("posix-rename@openssh.com") + Str("1")); }
std::string Open(uint32_t id, std::string_view path, uint32_t pflags,
                 const std::string& attrs = kNoAttrs) {
  return Packet(3, U32(id) + Str(path) + U32(pflags) + attrs);
}
std::string Close(uint32_t id, std::string_view h) { return Packet(4, U32(id) + Str(h)); }
std::string Read(uint32_t id, std::string_view h, uint64_t off, uint32_t len) {
  return Packet(5, U32(id) + Str(h) + U64(off) + U32(len));
}
std::string Write(uint32_t id, std::string_view h, uint64_t off, std::string_view data) {
  return Packet(6, U32(id) + Str(h) + U64(off) + Str(data));
}
std::string PathOp(uint8_t type, uint32_t id, std::string_view path) {
  return Packet(type, U32(id) + Str(path));
}
std::string StatusPkt(uint32_t id, uint32_t code, std::string_view msg = "") {
  return Packet(101, U32(id) + U32(code) + Str(msg) + Str(""));
}
std::string Handle(uint32_t id, std::string_view h) { return Packet(102, U32(id) + Str(h)); }
std::string Data(uint32_t id, std::string_view data) { return Packet(103, U32(id) + Str(data)); }

constexpr uint32_t kRead = 1, kWrite = 2, kCreat = 8, kTrunc = 0x10;

// A conversation: segments in the order the gateway saw them, each from one side.
struct Segment {
  bool from_client;
  std::string bytes;
};
using Script = std::vector<Segment>;

// Feeds every segment in chunks of chunk(rng) bytes (0: whole segments), then Finish.
template <typename Tracker>
Result<std::vector<FileEvent>> RunScript(Tracker& tracker, const Script& script,
                                   const std::function<size_t()>& chunk = nullptr) {
  std::vector<FileEvent> all;
  for (const Segment& s : script) {
    std::string_view rest = s.bytes;
    while (!rest.empty()) {
      size_t n = chunk ? std::min(rest.size(), std::max<size_t>(1, chunk())) : rest.size();
      auto r = s.from_client ? tracker.FromClient(rest.substr(0, n))
                             : tracker.FromTarget(rest.substr(0, n));
      if (!r.ok()) return std::move(r).error();
      all.insert(all.end(), r->begin(), r->end());
      rest.remove_prefix(n);
    }
  }
  for (FileEvent& e : tracker.Finish()) all.push_back(std::move(e));
  return all;
}

std::string Pattern(size_t n, int seed) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 131 + seed * 7) % 251));
  return s;
}

// An upload of `up` as /srv/a.txt in three writes and a download of `down` from /srv/b.bin
// in 32 KiB reads, pipelined as OpenSSH's client does.
Script UploadAndDownload(const std::string& up, const std::string& down) {
  Script s;
  s.push_back({true, Init()});
  s.push_back({false, Version()});
  s.push_back({true, Open(1, "/srv/a.txt", kWrite | kCreat | kTrunc,
                          U32(0x4) + U32(0100644))});
  s.push_back({false, Handle(1, "h1")});
  std::string writes;
  uint32_t id = 2;
  for (size_t off = 0; off < up.size(); off += 40000) {
    writes += Write(id++, "h1", off, std::string_view(up).substr(off, 40000));
  }
  s.push_back({true, writes});
  std::string acks;
  for (uint32_t i = 2; i < id; ++i) acks += StatusPkt(i, 0);
  s.push_back({false, acks});
  s.push_back({true, Close(50, "h1") + Open(51, "/srv/b.bin", kRead)});
  s.push_back({false, StatusPkt(50, 0) + Handle(51, "h2")});
  std::string reads, replies;
  id = 60;
  for (size_t off = 0; off <= down.size(); off += 32768) {
    reads += Read(id, "h2", off, 32768);
    replies += off < down.size() ? Data(id, std::string_view(down).substr(off, 32768))
                                 : StatusPkt(id, 1, "EOF");
    ++id;
  }
  s.push_back({true, reads});
  s.push_back({false, replies});
  s.push_back({true, Close(99, "h2")});
  s.push_back({false, StatusPkt(99, 0)});
  return s;
}

TEST(SftpTrackerTest, UploadAndDownloadReportSizesAndHashes) {
  std::string up = Pattern(100000, 1);
  std::string down = Pattern(70000, 2);
  SftpTracker tracker;
  auto events = RunScript(tracker, UploadAndDownload(up, down));
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(Describe(*events),
            (std::vector<std::string>{
                // The CLOSE and the next OPEN went out together; the CLOSE's answer followed.
                "open #1 /srv/a.txt upload [mode=0644]",
                "open #2 /srv/b.bin download",
                "transfer #1 /srv/a.txt upload bytes=100000 sha=" + HexSha(up),
                "transfer #2 /srv/b.bin download bytes=70000 sha=" + HexSha(down),
            }));
}

TEST(SftpTrackerTest, ChunkingDoesNotChangeTheEvents) {
  Script script = UploadAndDownload(Pattern(50000, 3), Pattern(40000, 4));
  SftpTracker whole;
  auto expected = RunScript(whole, script);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(expected->size(), 4u);
  SftpTracker bytewise;
  auto one = RunScript(bytewise, script, [] { return size_t{1}; });
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(Describe(*one), Describe(*expected));
  for (int seed = 0; seed < 5; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<size_t> dist(1, 9000);
    SftpTracker random;
    auto got = RunScript(random, script, [&] { return dist(rng); });
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(Describe(*got), Describe(*expected)) << "seed " << seed;
  }
}

Script OpenForWrite(uint32_t id, std::string_view path, std::string_view handle) {
  return {{true, Init()}, {false, Version()}, {true, Open(id, path, kWrite | kCreat)},
          {false, Handle(id, handle)}};
}

TEST(SftpTrackerTest, OutOfOrderOrResumedWritesAreCountedButNotHashed) {
  Script s = OpenForWrite(1, "/x", "h");
  s.push_back({true, Write(2, "h", 4, "5678") + Write(3, "h", 0, "1234") + Close(4, "h")});
  s.push_back({false, StatusPkt(2, 0) + StatusPkt(3, 0) + StatusPkt(4, 0)});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(Describe((*events)[1]), "transfer #1 /x upload bytes=8 sha=- nonsequential");

  Script resumed = OpenForWrite(1, "/y", "h");
  resumed.push_back({true, Write(2, "h", 100, "tail") + Close(3, "h")});
  resumed.push_back({false, StatusPkt(2, 0) + StatusPkt(3, 0)});
  SftpTracker t2;
  events = RunScript(t2, resumed);
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->back().sequential);
  EXPECT_EQ(events->back().sha256_hex, "");

  // A rewind after a sequential start gives up the hash too.
  Script rewind = OpenForWrite(1, "/z", "h");
  rewind.push_back({true, Write(2, "h", 0, "abcd") + Write(3, "h", 2, "cd") + Close(4, "h")});
  rewind.push_back({false, StatusPkt(2, 0) + StatusPkt(3, 0) + StatusPkt(4, 0)});
  SftpTracker t3;
  events = RunScript(t3, rewind);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Describe(events->back()), "transfer #1 /z upload bytes=6 sha=- nonsequential");
}

TEST(SftpTrackerTest, FileOperationsAreReported) {
  Script s = OpenForWrite(1, "/f", "h");
  std::string attrs = U32(0x1 | 0x2 | 0x4 | 0x8) + U64(0) + U32(10) + U32(20) + U32(04755) +
                      U32(1700000000) + U32(1700000001);
  s.push_back(
      {true, PathOp(13, 2, "/old") + Packet(18, U32(3) + Str("/a") + Str("/b")) +
                 Packet(14, U32(4) + Str("/d") + U32(0x4) + U32(0700)) + PathOp(15, 5, "/d2") +
                 Packet(9, U32(6) + Str("/s") + attrs) + Packet(10, U32(7) + Str("h") + U32(0x1) + U64(5)) +
                 Packet(20, U32(8) + Str("/target") + Str("/link")) +
                 Packet(200, U32(9) + Str("posix-rename@openssh.com") + Str("/p") + Str("/q")) +
                 Packet(200, U32(10) + Str("hardlink@openssh.com") + Str("/existing") + Str("/new")) +
                 Packet(200, U32(11) + Str("lsetstat@openssh.com") + Str("/l") + U32(0x4) + U32(0600)) +
                 Packet(200, U32(12) + Str("statvfs@openssh.com") + Str("/"))});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(Describe(*events),
            (std::vector<std::string>{
                "open #1 /f upload",
                "remove #0 /old",
                "rename #0 /a -> /b",
                "mkdir #0 /d [mode=0700]",
                "rmdir #0 /d2",
                "setstat #0 /s [size=0 uid=10 gid=20 mode=4755 atime=1700000000 mtime=1700000001]",
                "setstat #0 /f [size=5]",
                "symlink #0 /link -> /target",
                "rename #0 /p -> /q",
                "link #0 /new -> /existing",
                "setstat #0 /l [mode=0600]",
                "transfer #1 /f upload bytes=0 sha=" + HexSha("") + " incomplete",
            }));
}

TEST(SftpTrackerTest, DirectoryAndUnknownHandlesAreIgnored) {
  Script s = {{true, Init()}, {false, Version()}};
  s.push_back({true, PathOp(11, 1, "/dir")});
  s.push_back({false, Handle(1, "d")});
  s.push_back({true, Packet(12, U32(2) + Str("d")) + Write(3, "nope", 0, "x") +
                         Read(4, "nope", 0, 10) + Close(5, "d") + Close(6, "garbage")});
  s.push_back({false, Packet(104, U32(2) + U32(0)) + StatusPkt(3, 4) + Data(4, "zz") +
                          StatusPkt(5, 0) + StatusPkt(6, 4) + StatusPkt(77, 0)});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_TRUE(events->empty()) << ::testing::PrintToString(Describe(*events));
}

TEST(SftpTrackerTest, FailuresAreReportedWithTheFile) {
  Script s = {{true, Init()}, {false, Version()}};
  s.push_back({true, Open(1, "/missing", kRead)});
  s.push_back({false, StatusPkt(1, 2, "No such file")});
  s.push_back({true, Open(2, "/full", kWrite | kCreat)});
  s.push_back({false, Handle(2, "h")});
  s.push_back({true, Write(3, "h", 0, "abc")});
  s.push_back({false, StatusPkt(3, 4, "No space left on device")});
  s.push_back({true, Close(4, "h")});
  s.push_back({false, StatusPkt(4, 0)});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Describe(*events),
            (std::vector<std::string>{
                "open #1 /missing download",
                "transfer #1 /missing download bytes=0 sha=" + HexSha("") +
                    " error=open failed: no such file: No such file",
                "open #2 /full upload",
                "transfer #2 /full upload bytes=3 sha=" + HexSha("abc") +
                    " error=write failed: failure: No space left on device",
            }));
}

TEST(SftpTrackerTest, FinishReportsFilesStillOpen) {
  Script s = OpenForWrite(1, "/a", "h");
  s.push_back({true, Write(2, "h", 0, "partial") + Open(3, "/b", kRead | kWrite)});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(Describe(*events),
            (std::vector<std::string>{
                "open #1 /a upload",
                "open #2 /b both",
                "transfer #1 /a upload bytes=7 sha=" + HexSha("partial") + " incomplete",
                "transfer #2 /b both bytes=0 sha=" + HexSha("") + " incomplete",
            }));
}

TEST(SftpTrackerTest, CopyDataGivesUpTheDestinationHash) {
  Script s = OpenForWrite(1, "/dst", "w");
  s.push_back({true, Packet(200, U32(2) + Str("copy-data") + Str("r") + U64(0) + U64(0) +
                                     Str("w") + U64(0)) +
                         Close(3, "w")});
  s.push_back({false, StatusPkt(2, 0) + StatusPkt(3, 0)});
  SftpTracker tracker;
  auto events = RunScript(tracker, s);
  ASSERT_TRUE(events.ok());
  EXPECT_FALSE(events->back().sequential);
}

Status FeedClient(SftpTracker& t, const std::string& bytes) {
  auto r = t.FromClient(bytes);
  if (!r.ok()) return std::move(r).error();
  return OkStatus();
}

TEST(SftpTrackerTest, RejectsStreamsThatAreNotSftpV3) {
  struct Case {
    std::string client;
    std::string target;
    std::string message;
  };
  std::vector<Case> cases = {
      {"SSH-2.0-OpenSSH_9.2\r\n", "", "exceeds the limit"},
      {Open(1, "/x", kRead), "", "not INIT"},
      {U32(0), "", "empty packet"},
      {Init() + Init(), "", "INIT sent twice"},
      {Init(), Packet(2, U32(4)), "unsupported SFTP version 4"},
      {Init(), StatusPkt(1, 0), "not VERSION"},
      {Init() + Packet(3, U32(1) + Str("/x")), "", "truncated OPEN"},
      {Init() + Packet(3, U32(1) + U32(100)), "", "truncated OPEN"},
      {Init() + Packet(6, U32(1)), "", "truncated WRITE"},
      {Init() + Packet(7, ""), "", "truncated"},
      // ATTRS whose flags promise fields that are not there, or absurd extended counts.
      {Init() + Open(1, "/x", kWrite, U32(0x1) + U32(0)), "", "truncated OPEN"},
      {Init() + Open(1, "/x", kWrite, U32(0x80000000) + U32(0xffffffff)), "", "truncated OPEN"},
      {Init() + Open(1, "/x", kWrite, U32(0x80000000) + U32(1) + Str("a")), "", "truncated OPEN"},
      {Init() + PathOp(13, 1, "/a") + PathOp(13, 1, "/b"), "", "request id 1 reused"},
  };
  for (const Case& c : cases) {
    SftpTracker t;
    auto client = t.FromClient(c.client);
    Status status = OkStatus();
    if (!client.ok()) {
      status = std::move(client).error();
    } else {
      auto target = t.FromTarget(c.target);
      if (!target.ok()) status = std::move(target).error();
    }
    ASSERT_FALSE(status.ok()) << ::testing::PrintToString(c.client);
    EXPECT_NE(status.error().message.find(c.message), std::string::npos)
        << status.error().message << " / wanted " << c.message;
  }
  // Truncated replies to requests that are waited for.
  SftpTracker t;
  ASSERT_TRUE(FeedClient(t, Init() + Open(1, "/x", kRead)).ok());
  ASSERT_TRUE(t.FromTarget(Version()).ok());
  auto r = t.FromTarget(Packet(102, U32(1) + U32(9)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(SftpTrackerTest, LimitsAreEnforced) {
  SftpTracker::Limits limits;
  limits.max_packet = 1000;
  limits.max_open_files = 2;
  limits.max_pending_requests = 3;
  limits.max_path = 10;

  SftpTracker big(limits);
  auto r = big.FromClient(Init() + U32(1001));  // rejected from its length alone
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  SftpTracker fits(limits);
  EXPECT_TRUE(fits.FromClient(Init() + PathOp(13, 1, "/a") + Write(2, "h", 0, std::string(960, 'x'))).ok());

  SftpTracker files(limits);
  ASSERT_TRUE(files.FromClient(Init() + Open(1, "/a", kRead) + Open(2, "/b", kRead)).ok());
  r = files.FromClient(Open(3, "/c", kRead));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("open files"), std::string::npos);

  SftpTracker pending(limits);
  ASSERT_TRUE(pending.FromClient(Init() + PathOp(17, 1, "/") + PathOp(17, 2, "/") + PathOp(17, 3, "/")).ok());
  r = pending.FromClient(PathOp(17, 4, "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  // Answered requests free their slots.
  SftpTracker answered(limits);
  ASSERT_TRUE(answered.FromClient(Init() + PathOp(17, 1, "/") + PathOp(17, 2, "/") + PathOp(17, 3, "/")).ok());
  ASSERT_TRUE(answered.FromTarget(Version() + StatusPkt(1, 0) + StatusPkt(2, 0)).ok());
  EXPECT_TRUE(answered.FromClient(PathOp(17, 4, "/") + PathOp(17, 5, "/")).ok());

  SftpTracker path(limits);
  r = path.FromClient(Init() + PathOp(13, 1, "/0123456789"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);

  SftpTracker handle;
  ASSERT_TRUE(handle.FromClient(Init() + Open(1, "/a", kRead)).ok());
  r = handle.FromTarget(Version() + Handle(1, std::string(257, 'h')));
  EXPECT_FALSE(r.ok());
}

TEST(SftpTrackerTest, AnErrorIsStickyAndKeepsEarlierTransfersForFinish) {
  SftpTracker t;
  ASSERT_TRUE(t.FromClient(Init() + Open(1, "/kept", kWrite)).ok());
  ASSERT_TRUE(t.FromTarget(Version() + Handle(1, "h")).ok());
  ASSERT_TRUE(t.FromClient(Write(2, "h", 0, "data") + Close(3, "h")).ok());
  // The CLOSE is answered in a chunk that then turns out to be garbage: the gateway drops the
  // chunk, but the file's transfer must still reach the ledger.
  auto r = t.FromTarget(StatusPkt(2, 0) + StatusPkt(3, 0) + U32(0));
  ASSERT_FALSE(r.ok());
  // A file opened in a failing call was never announced, so Finish does not report it.
  auto again = t.FromClient(Open(4, "/never", kRead));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, r.error().message);
  EXPECT_EQ(Describe(t.Finish()),
            (std::vector<std::string>{"transfer #1 /kept upload bytes=4 sha=" + HexSha("data")}));

  SftpTracker t2;
  ASSERT_TRUE(t2.FromClient(Init()).ok());
  ASSERT_FALSE(t2.FromClient(Open(1, "/dropped", kRead) + U32(0)).ok());
  EXPECT_TRUE(t2.Finish().empty());
}

// Random and mutated streams: errors are fine, crashes and unbounded growth are not. The
// fuzzer (fuzz/sftp_fuzz.cc) does this at scale; this keeps a little of it in every run.
TEST(SftpTrackerTest, SurvivesMutatedStreams) {
  Script base = UploadAndDownload(Pattern(3000, 5), Pattern(2000, 6));
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    Script s = base;
    for (int k = 0; k < 3; ++k) {
      Segment& seg = s[rng() % s.size()];
      if (!seg.bytes.empty()) seg.bytes[rng() % seg.bytes.size()] = static_cast<char>(rng());
    }
    SftpTracker t;
    (void)RunScript(t, s, [&] { return size_t{1} + rng() % 64; });
  }
}

// ---------------------------------------------------------------------------------------------
// scp

TEST(ScpTrackerTest, ForCommandRecognisesSinkAndSource) {
  auto up = ScpTracker::ForCommand("scp -v -r -p -d -t -- /srv/dest");
  ASSERT_TRUE(up.has_value());
  EXPECT_TRUE(up->upload());
  EXPECT_EQ(up->paths(), std::vector<std::string>{"/srv/dest"});
  auto down = ScpTracker::ForCommand("/usr/bin/scp -f 'my file.txt' \"b\\\"c\" d\\ e -r");
  ASSERT_TRUE(down.has_value());
  EXPECT_FALSE(down->upload());
  EXPECT_EQ(down->paths(), (std::vector<std::string>{"my file.txt", "b\"c", "d e"}));
  auto combined = ScpTracker::ForCommand("scp -rt ~/x");
  ASSERT_TRUE(combined.has_value());
  EXPECT_EQ(combined->paths(), std::vector<std::string>{"~/x"});
  auto dash = ScpTracker::ForCommand("scp -t -- -odd");
  ASSERT_TRUE(dash.has_value());
  EXPECT_EQ(dash->paths(), std::vector<std::string>{"-odd"});
  EXPECT_TRUE(ScpTracker::ForCommand("scp -l 100 -t /x").has_value());

  for (const char* not_scp : {"", "ls -la", "scp /a /b", "scp -t", "scp -t /a /b", "scp -f",
                              "scp -t /x; rm -rf /", "scp -t /x && id", "scp -t $(id)",
                              "scp -t `id`", "scp -t /x | cat", "scp -t /x > /y",
                              "scp -t '/unterminated", "scp -Z -t /x", "scp -t /x # c",
                              "rscp -t /x", "scp -t \"$(id)\"", "scp -l"}) {
    EXPECT_FALSE(ScpTracker::ForCommand(not_scp).has_value()) << not_scp;
  }
}

std::vector<std::string> ScpRun(std::string_view command, const Script& script,
                                std::string* error = nullptr) {
  auto tracker = ScpTracker::ForCommand(command);
  EXPECT_TRUE(tracker.has_value()) << command;
  if (!tracker) return {};
  auto events = RunScript(*tracker, script);
  if (!events.ok()) {
    if (error != nullptr) *error = events.error().message;
    return {"error: " + events.error().message};
  }
  return Describe(*events);
}

const std::string kOk(1, '\0');

// An upload as `scp -r -p dir host:/srv` sends it.
Script RecursiveUpload(const std::string& a, const std::string& b) {
  return {
      {false, kOk},
      {true, "T1700000000 0 1700000001 0\n"},
      {false, kOk},
      {true, "D0755 0 dir\n"},
      {false, kOk},
      {true, "C0644 " + std::to_string(a.size()) + " a.txt\n"},
      {false, kOk},
      {true, a + kOk},
      {false, kOk},
      {true, "D0700 0 sub\n"},
      {false, kOk},
      {true, "C0600 " + std::to_string(b.size()) + " b b\n"},
      {false, kOk},
      {true, b + kOk},
      {false, kOk},
      {true, "E\n"},
      {false, kOk},
      {true, "C0644 0 empty\n"},
      {false, kOk},
      {true, kOk},
      {false, kOk},
      {true, "E\n"},
      {false, kOk},
  };
}

TEST(ScpTrackerTest, UploadWithDirectories) {
  std::string a = Pattern(70000, 7), b = "hello\n";
  EXPECT_EQ(ScpRun("scp -r -p -t /srv", RecursiveUpload(a, b)),
            (std::vector<std::string>{
                "mkdir #0 /srv/dir [mode=0755 mtime=1700000000 atime=1700000001]",
                "open #1 /srv/dir/a.txt upload [mode=0644]",
                "transfer #1 /srv/dir/a.txt upload bytes=70000 sha=" + HexSha(a),
                "mkdir #0 /srv/dir/sub [mode=0700]",
                "open #2 /srv/dir/sub/b b upload [mode=0600]",
                "transfer #2 /srv/dir/sub/b b upload bytes=6 sha=" + HexSha(b),
                "open #3 /srv/dir/empty upload [mode=0644]",
                "transfer #3 /srv/dir/empty upload bytes=0 sha=" + HexSha(""),
            }));
}

TEST(ScpTrackerTest, ChunkingDoesNotChangeTheEvents) {
  Script script = RecursiveUpload(Pattern(20000, 8), "xyz");
  auto whole = ScpTracker::ForCommand("scp -r -t /srv");
  auto expected = RunScript(*whole, script);
  ASSERT_TRUE(expected.ok());
  auto bytewise = ScpTracker::ForCommand("scp -r -t /srv");
  auto one = RunScript(*bytewise, script, [] { return size_t{1}; });
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(Describe(*one), Describe(*expected));
  std::mt19937 rng(1);
  auto random = ScpTracker::ForCommand("scp -r -t /srv");
  auto got = RunScript(*random, script, [&] { return size_t{1} + rng() % 3000; });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Describe(*got), Describe(*expected));
}

TEST(ScpTrackerTest, DownloadOfFilesAndGlobs) {
  std::string data = "secret\n";
  Script s = {{true, kOk},
              {false, "C0600 7 shadow\n"},
              {true, kOk},
              {false, data + kOk},
              {true, kOk}};
  EXPECT_EQ(ScpRun("scp -f /etc/shadow", s),
            (std::vector<std::string>{
                "open #1 /etc/shadow download [mode=0600]",
                "transfer #1 /etc/shadow download bytes=7 sha=" + HexSha(data),
            }));
  EXPECT_EQ(ScpRun("scp -f '/var/log/*.log'", s)[0],
            "open #1 /var/log/shadow download [mode=0600]");
  EXPECT_EQ(ScpRun("scp -f a /etc/shadow/", s)[0], "open #1 /etc/shadow download [mode=0600]");
  EXPECT_EQ(ScpRun("scp -f relative", s)[0], "open #1 shadow download [mode=0600]");
  // A source's own error (a file it cannot read) gets no answer and changes nothing.
  Script missing = {{true, kOk}, {false, "\1scp: /nope: No such file or directory\n"}};
  EXPECT_TRUE(ScpRun("scp -f /nope", missing).empty());
  // D records of a download are not target changes, but name the files inside.
  Script dir = {{true, kOk},        {false, "D0755 0 logs\n"}, {true, kOk},
                {false, "C0644 1 x\n"}, {true, kOk},         {false, "y" + kOk},
                {true, kOk},        {false, "E\n"},          {true, kOk}};
  EXPECT_EQ(ScpRun("scp -r -f /var/logs", dir),
            (std::vector<std::string>{
                "open #1 /var/logs/x download [mode=0644]",
                "transfer #1 /var/logs/x download bytes=1 sha=" + HexSha("y"),
            }));
}

TEST(ScpTrackerTest, TopLevelPathRule) {
  auto first_path = [](std::string_view command, std::string_view name) {
    Script s = {{false, kOk}, {true, "C0644 1 " + std::string(name) + "\n"}};
    auto events = ScpRun(command, s);
    return events.empty() ? std::string() : events[0];
  };
  EXPECT_EQ(first_path("scp -t /tmp", "a.txt"), "open #1 /tmp/a.txt upload [mode=0644]");
  EXPECT_EQ(first_path("scp -t /tmp/a.txt", "a.txt"), "open #1 /tmp/a.txt upload [mode=0644]");
  EXPECT_EQ(first_path("scp -d -t /tmp/a.txt", "a.txt"), "open #1 /tmp/a.txt/a.txt upload [mode=0644]");
  EXPECT_EQ(first_path("scp -t /tmp/x/", "x"), "open #1 /tmp/x/x upload [mode=0644]");
  EXPECT_EQ(first_path("scp -t .", "x"), "open #1 ./x upload [mode=0644]");
  EXPECT_EQ(first_path("scp -t /", "x"), "open #1 /x upload [mode=0644]");
  // The documented inaccuracy: a renaming copy is recorded inside the target path.
  EXPECT_EQ(first_path("scp -t /tmp/b.txt", "a.txt"), "open #1 /tmp/b.txt/a.txt upload [mode=0644]");
}

TEST(ScpTrackerTest, SinkErrorsAreReportedWithTheFile) {
  Script s = {{false, kOk},
              {true, "C0644 3 locked\n"},
              {false, "\1scp: /srv/locked: Permission denied\n"},
              {true, "C0644 3 full\n"},
              {false, kOk},
              {true, "abc" + kOk},
              {false, "\1scp: /srv/full: No space left on device\n"},
              {true, "C0644 2 ok\n"},
              {false, kOk},
              {true, "hi" + kOk},
              {false, kOk}};
  EXPECT_EQ(ScpRun("scp -d -t /srv", s),
            (std::vector<std::string>{
                "open #1 /srv/locked upload [mode=0644]",
                "transfer #1 /srv/locked upload bytes=0 sha=" + HexSha("") +
                    " error=scp: /srv/locked: Permission denied",
                "open #2 /srv/full upload [mode=0644]",
                "transfer #2 /srv/full upload bytes=3 sha=" + HexSha("abc") +
                    " error=scp: /srv/full: No space left on device",
                "open #3 /srv/ok upload [mode=0644]",
                "transfer #3 /srv/ok upload bytes=2 sha=" + HexSha("hi"),
            }));
  // A refused directory is skipped by the source: no E follows, the next file is top-level.
  Script dir = {{false, kOk},
                {true, "D0755 0 d\n"},
                {false, "\1scp: /srv/d: Not a directory\n"},
                {true, "C0644 1 f\n"},
                {false, kOk},
                {true, "x" + kOk},
                {false, kOk}};
  EXPECT_EQ(ScpRun("scp -r -t /srv", dir)[1], "open #1 /srv/f upload [mode=0644]");
  // The source's own read error after the data (OpenSSH pads what it could not read).
  Script source_error = {{false, kOk},
                         {true, "C0644 2 f\n"},
                         {false, kOk},
                         {true, "\0\0\1scp: f: Input/output error\n"s},
                         {false, kOk}};
  EXPECT_EQ(ScpRun("scp -t /srv/f", source_error)[1],
            "transfer #1 /srv/f upload bytes=2 sha=" + HexSha(std::string(2, '\0')) +
                " error=scp: f: Input/output error");
}

TEST(ScpTrackerTest, TruncatedStreamsAreIncompleteInFinish) {
  Script s = {{false, kOk}, {true, "C0644 10 f\n"}, {false, kOk}, {true, "12345"}};
  EXPECT_EQ(ScpRun("scp -t /srv/f", s),
            (std::vector<std::string>{
                "open #1 /srv/f upload [mode=0644]",
                "transfer #1 /srv/f upload bytes=5 sha=" + HexSha("12345") + " incomplete",
            }));
  // Awaiting the sink's final answer.
  Script unanswered = {{false, kOk}, {true, "C0644 1 f\n"}, {false, kOk}, {true, "1" + kOk}};
  EXPECT_EQ(ScpRun("scp -t /srv/f", unanswered).back(),
            "transfer #1 /srv/f upload bytes=1 sha=" + HexSha("1") + " incomplete");
}

TEST(ScpTrackerTest, FatalAnswersEndTheTransfer) {
  Script s = {{false, kOk}, {true, "C0644 1 f\n"}, {false, "\2scp: fatal\n"}};
  EXPECT_EQ(ScpRun("scp -t /srv", s).back(),
            "transfer #1 /srv/f upload bytes=0 sha=" + HexSha("") + " error=scp: fatal");
  Script more = {{false, kOk}, {true, "C0644 1 f\n"}, {false, "\2scp: fatal\n"}, {true, "x"}};
  std::string error;
  ScpRun("scp -t /srv", more, &error);
  EXPECT_NE(error.find("after the end"), std::string::npos) << error;
  Script after = {{false, "\2bye\n" + kOk}};
  ScpRun("scp -t /srv", after, &error);
  EXPECT_NE(error.find("after a fatal error"), std::string::npos) << error;
  // A shell's complaint instead of the sink's ready answer ends it too.
  Script shell = {{false, "bash: scp: command not found\n"}, {true, "C0644 1 f\n"}};
  ScpRun("scp -t /srv", shell, &error);
  EXPECT_NE(error.find("after the end"), std::string::npos) << error;
}

TEST(ScpTrackerTest, RejectsMalformedRecords) {
  struct Case {
    std::string command;
    std::string record;
    std::string message;
  };
  std::vector<Case> cases = {
      {"scp -t /srv", "C0644 1 a/b\n", "unexpected file name"},
      {"scp -r -t /srv", "D0755 0 ..\n", "unexpected file name"},
      {"scp -t /srv", "C0644 1 .\n", "unexpected file name"},
      {"scp -t /srv", "C0644 1 \n", "unexpected file name"},
      {"scp -t /srv", "C644 1 a\n", "bad mode"},
      {"scp -t /srv", "C0844 1 a\n", "bad mode"},
      {"scp -t /srv", "C0644 x a\n", "bad size"},
      {"scp -t /srv", "C0644 9223372036854775808 a\n", "bad size"},
      {"scp -t /srv", "C0644 99999999999999999999999 a\n", "bad size"},
      {"scp -t /srv", "D0755 0 d\n", "without -r"},
      {"scp -r -t /srv", "E\n", "outside a directory"},
      {"scp -t /srv", "T1 0 2\n", "malformed T"},
      {"scp -t /srv", "T1 1000000 2 0\n", "malformed T"},
      {"scp -t /srv", "X\n", "expected a C, D, E or T"},
      {"scp -t /srv", "\n", "empty record"},
      {"scp -t /srv", "C0644 1 " + std::string(3000, 'n') + "\n", "longer than 2047"},
      {"scp -t /srv", "C0644 1 " + std::string(3000, 'n'), "longer than 2047"},
  };
  for (const Case& c : cases) {
    std::string error;
    ScpRun(c.command, {{false, kOk}, {true, c.record}}, &error);
    EXPECT_NE(error.find(c.message), std::string::npos)
        << ::testing::PrintToString(c.record) << ": " << error;
  }
  // The largest size an off_t holds is fine.
  std::string error;
  ScpRun("scp -t /srv", {{false, kOk}, {true, "C0644 9223372036854775807 a\n"}}, &error);
  EXPECT_EQ(error, "");
}

TEST(ScpTrackerTest, BoundsWhatTheSidesMaySendUnasked) {
  // A source that streams without waiting for the sink's answers.
  std::string error;
  ScpRun("scp -t /srv", {{false, kOk}, {true, "C0644 1 f\n" + std::string(70000, 'x')}}, &error);
  EXPECT_NE(error.find("without waiting"), std::string::npos) << error;
  // A sink that answers what was never asked.
  ScpRun("scp -t /srv", {{false, std::string(100, '\0')}}, &error);
  EXPECT_NE(error.find("answered unasked"), std::string::npos) << error;
  // An answer line that never ends.
  ScpRun("scp -t /srv", {{false, "\1" + std::string(5000, 'e')}}, &error);
  EXPECT_NE(error.find("longer than"), std::string::npos) << error;
}

TEST(ScpTrackerTest, SurvivesMutatedStreams) {
  Script base = RecursiveUpload(Pattern(500, 9), "abc");
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    Script s = base;
    Segment& seg = s[rng() % s.size()];
    if (!seg.bytes.empty()) seg.bytes[rng() % seg.bytes.size()] = static_cast<char>(rng() % 128);
    auto t = ScpTracker::ForCommand("scp -r -t /srv");
    (void)RunScript(*t, s, [&] { return size_t{1} + rng() % 16; });
  }
}

// ---------------------------------------------------------------------------------------------
// Interoperability: the real OpenSSH clients and servers, relayed through the tracker the way
// the gateway relays a channel (each chunk is fed before it is forwarded).

namespace fs = std::filesystem;

struct Child {
  pid_t pid = -1;
  int in = -1;   // its stdin, or -1
  int out = -1;  // its stdout, or -1
};

// Starts argv in `cwd`; with `pipes` its stdin and stdout are ours, else /dev/null.
Child Spawn(const std::vector<std::string>& argv, const fs::path& cwd, bool pipes) {
  int in[2], out[2];
  if (pipes && (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(pipes ? in[0] : null, 0);
    ::dup2(pipes ? out[1] : null, 1);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  Child c;
  c.pid = pid;
  if (pipes) {
    ::close(in[0]);
    ::close(out[1]);
    c.in = in[1];
    c.out = out[0];
    ::fcntl(c.in, F_SETFL, O_NONBLOCK);
    ::fcntl(c.out, F_SETFL, O_NONBLOCK);
  }
  return c;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What a relayed session produced.
struct Relayed {
  std::vector<FileEvent> events;
  std::string error;    // the tracker's, if any
  std::string command;  // the remote command scp asked for ("" for sftp)
  int client_status = -1;
};

// Runs `client` (sftp -D WRAPPER or scp -S WRAPPER, whose helper is written to dir/wrapper)
// against the server: sftp-server when `sftp`, else the command scp asks for, run by sh.
// The events come from the SftpTracker or from ScpTracker::ForCommand(command).
Relayed RelaySession(const fs::path& dir, const fs::path& root, bool sftp,
                     std::vector<std::string> client) {
  Relayed result;
  fs::path from_client = dir / "from_client", to_client = dir / "to_client";
  ::mkfifo(from_client.c_str(), 0600);
  ::mkfifo(to_client.c_str(), 0600);
  {
    std::ofstream w(dir / "wrapper");
    // scp hands its helper one socket as stdin and stdout, so the client sees EOF only once
    // both copying directions are gone: when one ends, the other is stopped.
    w << "#!/bin/bash\n"
      << "# scp -S passes ssh's arguments; the last is the remote command.\n"
      << "for last; do :; done\n"
      << "printf '%s' \"$last\" > " << dir / "command.tmp" << " && mv " << dir / "command.tmp"
      << " " << dir / "command" << "\n"
      << "exec 3<&0 4>&1 </dev/null >/dev/null\n"
      << "cat " << to_client << " >&4 &\n"
      << "cat <&3 > " << from_client << " &\n"
      << "exec 3<&- 4>&-\nwait -n\nkill $(jobs -p) 2>/dev/null\n";
  }
  fs::permissions(dir / "wrapper", fs::perms::owner_all);
  // O_RDWR: a FIFO read end opened before its writer would otherwise read as EOF.
  int in_fd = ::open(from_client.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  Child c = Spawn(client, dir, false);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto expired = [&] { return std::chrono::steady_clock::now() > deadline; };
  while (!fs::exists(dir / "command") && !expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.command = ReadFile(dir / "command");
  std::optional<SftpTracker> sftp_tracker;
  std::optional<ScpTracker> scp_tracker;
  Child server;
  if (sftp) {
    sftp_tracker.emplace();
    server = Spawn({"/usr/lib/openssh/sftp-server", "-d", root.string()}, root, true);
  } else {
    scp_tracker = ScpTracker::ForCommand(result.command);
    if (!scp_tracker) result.error = "not an scp command: " + result.command;
    server = Spawn({"/bin/sh", "-c", result.command}, root, true);
  }
  int out_fd = -1;
  while (out_fd < 0 && !expired()) {
    out_fd = ::open(to_client.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (out_fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto feed = [&](bool from_client_side, std::string_view bytes) {
    if (!result.error.empty()) return;
    Result<std::vector<FileEvent>> r =
        sftp ? (from_client_side ? sftp_tracker->FromClient(bytes) : sftp_tracker->FromTarget(bytes))
             : (from_client_side ? scp_tracker->FromClient(bytes) : scp_tracker->FromTarget(bytes));
    if (!r.ok()) {
      result.error = r.error().message;
      return;
    }
    result.events.insert(result.events.end(), r->begin(), r->end());
  };
  std::string to_server, to_client_buf;
  bool client_done = false;
  char buf[65536];
  while (!expired() && (server.out >= 0 || !client_done)) {
    pollfd fds[4] = {{in_fd, POLLIN, 0},
                     {server.out, POLLIN, 0},
                     {to_server.empty() ? -1 : server.in, POLLOUT, 0},
                     {to_client_buf.empty() ? -1 : out_fd, POLLOUT, 0}};
    ::poll(fds, 4, 20);
    ssize_t n;
    while ((n = ::read(in_fd, buf, sizeof buf)) > 0) {
      feed(true, std::string_view(buf, n));
      to_server.append(buf, n);
    }
    if (server.out >= 0) {
      while ((n = ::read(server.out, buf, sizeof buf)) > 0) {
        feed(false, std::string_view(buf, n));
        to_client_buf.append(buf, n);
      }
      if (n == 0) {
        ::close(server.out);
        server.out = -1;
      }
    }
    if (!to_server.empty() && server.in >= 0) {
      n = ::write(server.in, to_server.data(), to_server.size());
      if (n > 0) to_server.erase(0, n);
    }
    if (!to_client_buf.empty() && out_fd >= 0) {
      n = ::write(out_fd, to_client_buf.data(), to_client_buf.size());
      if (n > 0) to_client_buf.erase(0, n);
    }
    // The server is done and everything it said was delivered: the client sees EOF.
    if (server.out < 0 && to_client_buf.empty() && out_fd >= 0) {
      ::close(out_fd);
      out_fd = -1;
    }
    if (!client_done && ::waitpid(c.pid, &result.client_status, WNOHANG) == c.pid) {
      client_done = true;
    }
    // The client is gone and what it sent was delivered: the server sees EOF.
    if (client_done && to_server.empty() && server.in >= 0 &&
        ::read(in_fd, buf, 0) == 0) {
      ::close(server.in);
      server.in = -1;
    }
  }
  if (!client_done) {
    ::kill(c.pid, SIGKILL);
    ::waitpid(c.pid, &result.client_status, 0);
    result.error += " (timed out; server " + std::string(server.out >= 0 ? "running" : "done") +
                    ", " + std::to_string(result.events.size()) + " events, " +
                    std::to_string(to_client_buf.size()) + "/" + std::to_string(to_server.size()) +
                    " bytes unsent)";
  }
  for (int fd : {in_fd, out_fd, server.in, server.out}) {
    if (fd >= 0) ::close(fd);
  }
  ::kill(server.pid, SIGKILL);
  ::waitpid(server.pid, nullptr, 0);
  std::vector<FileEvent> last = sftp ? sftp_tracker->Finish()
                                     : (scp_tracker ? scp_tracker->Finish() : std::vector<FileEvent>{});
  result.events.insert(result.events.end(), last.begin(), last.end());
  return result;
}

const FileEvent* FindTransfer(const std::vector<FileEvent>& events, const std::string& path,
                              std::string_view direction) {
  for (const FileEvent& e : events) {
    if (e.kind == Kind::kTransfer && e.path == path && e.direction == direction) return &e;
  }
  return nullptr;
}

TEST(SftpInteropTest, RealClientAndServer) {
  fs::path dir = testing::TempDir("sftp-interop");
  fs::path root = fs::canonical(dir) / "root";
  fs::create_directories(root);
  std::string big = Pattern(300000, 11), small = "small file\n";
  std::ofstream(dir / "big.bin", std::ios::binary) << big;
  std::ofstream(dir / "small.txt", std::ios::binary) << small;
  std::ofstream(dir / "batch") << "put big.bin up.bin\n"
                                  "put small.txt small.txt\n"
                                  "get up.bin down.bin\n"
                                  "mkdir d\n"
                                  "rename small.txt d/s.txt\n"
                                  "chmod 600 d/s.txt\n"
                                  "symlink d/s.txt link\n"
                                  "ln d/s.txt hard\n"
                                  "rm link\n"
                                  "rm hard\n"
                                  "rm d/s.txt\n"
                                  "rmdir d\n";
  Relayed r = RelaySession(dir, root, true,
                           {"sftp", "-q", "-b", (dir / "batch").string(), "-D", (dir / "wrapper").string()});
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.client_status, 0);
  ASSERT_EQ(ReadFile(dir / "down.bin"), big);  // the relay itself worked
  std::string up = (root / "up.bin").string();
  const FileEvent* upload = FindTransfer(r.events, up, "upload");
  ASSERT_NE(upload, nullptr) << ::testing::PrintToString(Describe(r.events));
  EXPECT_EQ(upload->bytes, big.size());
  EXPECT_EQ(upload->sha256_hex, HexSha(big));
  EXPECT_EQ(upload->sha256_hex, HexSha(ReadFile(root / "up.bin")));
  EXPECT_TRUE(upload->complete);
  EXPECT_EQ(upload->error, "");
  const FileEvent* small_up = FindTransfer(r.events, (root / "small.txt").string(), "upload");
  ASSERT_NE(small_up, nullptr);
  EXPECT_EQ(small_up->sha256_hex, HexSha(small));
  const FileEvent* download = FindTransfer(r.events, up, "download");
  ASSERT_NE(download, nullptr);
  EXPECT_EQ(download->bytes, big.size());
  EXPECT_EQ(download->sha256_hex, HexSha(big));

  std::vector<std::string> ops;
  for (const FileEvent& e : r.events) {
    if (e.kind != Kind::kOpen && e.kind != Kind::kTransfer) {
      ops.push_back(Describe(e));
    }
  }
  std::string d = (root / "d").string(), s = (root / "d/s.txt").string();
  EXPECT_EQ(ops, (std::vector<std::string>{
                     "mkdir #0 " + d + " [mode=0777]",
                     "rename #0 " + (root / "small.txt").string() + " -> " + s,
                     "setstat #0 " + s + " [mode=0600]",
                     "symlink #0 " + (root / "link").string() + " -> d/s.txt",
                     "link #0 " + (root / "hard").string() + " -> " + s,
                     "remove #0 " + (root / "link").string(),
                     "remove #0 " + (root / "hard").string(),
                     "remove #0 " + s,
                     "rmdir #0 " + d,
                 }));
}

TEST(ScpInteropTest, RealUploadAndDownload) {
  fs::path dir = testing::TempDir("scp-interop");
  fs::path root = fs::canonical(dir) / "root";
  fs::create_directories(root / "dest");
  fs::create_directories(dir / "local/sub");
  std::string big = Pattern(200000, 12), small = "b\n";
  std::ofstream(dir / "local/a.bin", std::ios::binary) << big;
  std::ofstream(dir / "local/sub/b.txt", std::ios::binary) << small;
  std::vector<std::string> scp = {"scp", "-O", "-q", "-S", (dir / "wrapper").string()};

  std::vector<std::string> up = scp;
  up.insert(up.end(), {"-r", "local", "localhost:" + (root / "dest").string()});
  Relayed r = RelaySession(dir, root, false, up);
  ASSERT_EQ(r.error, "") << r.command;
  ASSERT_EQ(r.client_status, 0);
  std::string a = (root / "dest/local/a.bin").string(), b = (root / "dest/local/sub/b.txt").string();
  ASSERT_EQ(ReadFile(a), big);
  const FileEvent* ea = FindTransfer(r.events, a, "upload");
  ASSERT_NE(ea, nullptr) << r.command << ::testing::PrintToString(Describe(r.events));
  EXPECT_EQ(ea->bytes, big.size());
  EXPECT_EQ(ea->sha256_hex, HexSha(ReadFile(a)));
  const FileEvent* eb = FindTransfer(r.events, b, "upload");
  ASSERT_NE(eb, nullptr);
  EXPECT_EQ(eb->sha256_hex, HexSha(small));
  EXPECT_EQ(r.events.front().kind, Kind::kMkdir);
  EXPECT_EQ(r.events.front().path, (root / "dest/local").string());

  fs::remove(dir / "command");
  fs::remove(dir / "from_client");
  fs::remove(dir / "to_client");
  std::vector<std::string> down = scp;
  down.insert(down.end(), {"localhost:" + a, "copy.bin"});
  r = RelaySession(dir, root, false, down);
  ASSERT_EQ(r.error, "") << r.command;
  ASSERT_EQ(r.client_status, 0);
  ASSERT_EQ(ReadFile(dir / "copy.bin"), big);
  EXPECT_EQ(Describe(r.events),
            (std::vector<std::string>{
                "open #1 " + a + " download [mode=0644]",
                "transfer #1 " + a + " download bytes=200000 sha=" + HexSha(big),
            }))
      << r.command;
}

}  // namespace
}  // namespace cloudpact::gateway
