// Sources (source.h) and the spool (spool.h), on real files in a temporary directory. Waits
// have generous deadlines that only guard against hangs; nothing here asserts on timing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "ingest/source.h"
#include "ingest/spool.h"
#include "testing/backends.h"

namespace cloudpact::ingest {
namespace {

namespace fs = std::filesystem;
constexpr auto kHangGuard = std::chrono::seconds(60);

void Append(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << p;
}

std::string Numbered(const std::string& prefix, int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

std::vector<std::string> NumberedLines(const std::string& prefix, int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

// Runs a source on its own thread and collects what it delivers.
class Runner {
 public:
  explicit Runner(Source& source, std::string cursor = "") {
    thread_ = std::thread([this, &source, cursor] {
      auto s = source.Run(cursor, [this](LineChunk c) { return Take(std::move(c)); }, stop_);
      std::lock_guard<std::mutex> lock(mu_);
      status_ = std::move(s);
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Runner() { (void)Stop(); }

  // Waits until `n` lines have arrived (or the source returned); fails on the hang guard.
  std::vector<std::string> WaitLines(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    bool got = cv_.wait_for(lock, kHangGuard, [&] { return lines_.size() >= n || done_; });
    EXPECT_TRUE(got) << "hang guard: only " << lines_.size() << " of " << n << " lines";
    return lines_;
  }
  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  // Waits until `done` holds for the lines so far (or the source returned).
  std::vector<std::string> WaitUntil(const std::function<bool(const std::vector<std::string>&)>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return done(lines_) || done_; })) << "hang guard";
    return lines_;
  }
  // Waits for Run to return by itself.
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, kHangGuard, [&] { return done_; })) << "hang guard: Run did not return";
    lock.unlock();
    return Stop();
  }
  std::vector<LineChunk> chunks() {
    std::lock_guard<std::mutex> lock(mu_);
    return chunks_;
  }
  std::vector<uint64_t> line_nos() {
    std::lock_guard<std::mutex> lock(mu_);
    return line_nos_;
  }
  std::string last_cursor() {
    std::lock_guard<std::mutex> lock(mu_);
    return chunks_.empty() ? "" : chunks_.back().cursor;
  }

 private:
  bool Take(LineChunk c) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < c.lines.size(); ++i) {
      lines_.push_back(c.lines[i]);
      line_nos_.push_back(c.first_line_no + i);
    }
    chunks_.push_back(std::move(c));
    cv_.notify_all();
    return true;
  }

  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<uint64_t> line_nos_;
  std::vector<LineChunk> chunks_;
  Status status_;
  bool done_ = false;
};

// Reads a whole finite source synchronously.
struct ReadAll {
  Status status;
  std::vector<std::string> lines;
  std::vector<uint64_t> line_nos;
  std::vector<LineChunk> chunks;
};
ReadAll ReadOnce(Source& source, const std::string& cursor = "") {
  ReadAll r;
  std::atomic<bool> stop{false};
  r.status = source.Run(cursor, [&](LineChunk c) {
    for (size_t i = 0; i < c.lines.size(); ++i) {
      r.lines.push_back(c.lines[i]);
      r.line_nos.push_back(c.first_line_no + i);
    }
    r.chunks.push_back(std::move(c));
    return true;
  }, stop);
  return r;
}

FileSourceOptions Opts(const fs::path& p, bool follow = true) {
  FileSourceOptions o;
  o.path = p.string();
  o.follow = follow;
  o.poll_interval_ms = 10;
  return o;
}

// ---------------------------------------------------------------------------------------
// File source

TEST(FileSource, ReadsLinesAndHoldsBackAnUnterminatedOne) {
  auto dir = testing::TempDir("fs-partial");
  auto path = dir / "app.log";
  Append(path, "first\nsecond\r\nthi");
  auto src = MakeFileSource(Opts(path));
  Runner run(*src);
  EXPECT_EQ(run.WaitLines(2), (std::vector<std::string>{"first", "second"}));
  // The cursor stops before the unterminated line.
  auto c = ParseJson(run.last_cursor());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)["offset"], 14);
  EXPECT_EQ((*c)["line"], 2);
  EXPECT_EQ((*c)["head"].get<std::string>().size(), 64u);
  Append(path, "rd\n\nfourth\n");
  EXPECT_EQ(run.WaitLines(5), (std::vector<std::string>{"first", "second", "third", "", "fourth"}));
  EXPECT_EQ(run.line_nos(), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(run.Stop().ok());
}

TEST(FileSource, OneOffReadDeliversTheLastLineWithoutLfAndMissingFileIsNotFound) {
  auto dir = testing::TempDir("fs-oneoff");
  auto path = dir / "app.log";
  Append(path, "a\nb\r\nc");
  auto src = MakeFileSource(Opts(path, false));
  auto r = ReadOnce(*src);
  ASSERT_TRUE(r.status.ok()) << r.status.error().message;
  EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "b", "c"}));
  auto c = ParseJson(r.chunks.back().cursor);
  EXPECT_EQ((*c)["offset"], 6);
  EXPECT_EQ((*c)["line"], 3);

  auto missing = MakeFileSource(Opts(dir / "nope.log", false));
  auto m = ReadOnce(*missing);
  ASSERT_FALSE(m.status.ok());
  EXPECT_EQ(m.status.error().code, ErrorCode::kNotFound);

  auto bad = ReadOnce(*src, "{\"dev\":1}");
  ASSERT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.error().code, ErrorCode::kInvalidArgument);
}

TEST(FileSource, LongLinesAreCutAndReported) {
  auto dir = testing::TempDir("fs-long");
  auto path = dir / "app.log";
  std::string huge(5 << 20, 'h');  // far beyond the limit: never held whole
  Append(path, "short\n" + std::string(25, 'x') + "\n0123456789\r\n" + huge + "\nafter\n" + std::string(11, 'y'));
  auto o = Opts(path, false);
  o.max_line_bytes = 10;
  auto src = MakeFileSource(o);
  auto r = ReadOnce(*src);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.lines, (std::vector<std::string>{"short", std::string(10, 'x'), "0123456789", std::string(10, 'h'),
                                               "after", std::string(10, 'y')}));
  std::vector<uint64_t> cut;
  for (const auto& c : r.chunks) cut.insert(cut.end(), c.truncated_line_nos.begin(), c.truncated_line_nos.end());
  EXPECT_EQ(cut, (std::vector<uint64_t>{2, 4, 6}));
}

TEST(FileSource, ChunksAreBoundedAndLineNumbersContinue) {
  auto dir = testing::TempDir("fs-chunks");
  auto path = dir / "app.log";
  Append(path, Numbered("l", 1, 10));
  auto o = Opts(path, false);
  o.max_chunk_lines = 3;
  auto src = MakeFileSource(o);
  auto r = ReadOnce(*src);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.chunks.size(), 4u);
  EXPECT_EQ(r.chunks[0].first_line_no, 1u);
  EXPECT_EQ(r.chunks[1].first_line_no, 4u);
  EXPECT_EQ(r.chunks[3].first_line_no, 10u);
  EXPECT_EQ(r.chunks[3].lines, (std::vector<std::string>{"l10"}));
  // Each chunk's cursor resumes right after it.
  auto rest = ReadOnce(*src, r.chunks[1].cursor);
  EXPECT_EQ(rest.lines, NumberedLines("l", 7, 10));
  EXPECT_EQ(rest.line_nos.front(), 7u);
}

TEST(FileSource, FollowsRotationByRenameWithoutLosingOrRepeatingLines) {
  auto dir = testing::TempDir("fs-rotate");
  auto path = dir / "app.log";
  Append(path, Numbered("line ", 1, 100));
  auto src = MakeFileSource(Opts(path));
  Runner run(*src);
  ASSERT_EQ(run.WaitLines(100).size(), 100u);
  Append(path, Numbered("line ", 101, 150));
  fs::rename(path, dir / "app.log.1");
  // The writer has not reopened yet: it still appends to the renamed file.
  Append(dir / "app.log.1", Numbered("line ", 151, 160) + "line 16");
  Append(dir / "app.log.1", "1\n");
  Append(path, Numbered("line ", 162, 200));
  auto lines = run.WaitLines(200);
  EXPECT_EQ(lines, NumberedLines("line ", 1, 200));
  auto nos = run.line_nos();
  ASSERT_EQ(nos.size(), 200u);
  EXPECT_EQ(nos[161], 1u);  // "line 162", the first line of the new file
  // A second rotation, with a partial last line left in the old file.
  Append(path, "tail without newline");
  fs::rename(path, dir / "app.log.1");
  Append(path, "fresh\n");
  lines = run.WaitLines(202);
  ASSERT_EQ(lines.size(), 202u);
  EXPECT_EQ(lines[200], "tail without newline");
  EXPECT_EQ(lines[201], "fresh");
  EXPECT_TRUE(run.Stop().ok());
}

TEST(FileSource, CopytruncateRestartsAtTheBeginning) {
  auto dir = testing::TempDir("fs-copytruncate");
  auto path = dir / "app.log";
  Append(path, Numbered("old ", 1, 10));
  auto src = MakeFileSource(Opts(path));
  Runner run(*src);
  ASSERT_EQ(run.WaitLines(10).size(), 10u);
  fs::copy_file(path, dir / "app.log.1");
  fs::resize_file(path, 0);
  Append(path, "new 1\nnew 2\n");  // shorter than what was read
  auto lines = run.WaitLines(12);
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[10], "new 1");
  EXPECT_EQ(lines[11], "new 2");
  EXPECT_EQ(run.line_nos()[10], 1u);
  // Truncated and rewritten beyond the old offset: caught by the changed first bytes.
  std::string longer = "rewritten " + std::string(200, 'z') + "\n";
  {
    std::ofstream out(path, std::ios::trunc | std::ios::binary);
    out << longer;
  }
  lines = run.WaitLines(13);
  ASSERT_EQ(lines.size(), 13u);
  EXPECT_EQ(lines[12], longer.substr(0, longer.size() - 1));
  EXPECT_TRUE(run.Stop().ok());
}

TEST(FileSource, RestartsFromACursorInTheSameFile) {
  auto dir = testing::TempDir("fs-resume");
  auto path = dir / "app.log";
  Append(path, Numbered("l", 1, 5) + "partial");
  auto src = MakeFileSource(Opts(path, false));
  auto first = ReadOnce(*src);
  ASSERT_EQ(first.lines.size(), 6u);  // one-off: the partial line is delivered at the end
  // Take the cursor after line 5 instead (a following reader would have held "partial" back).
  auto o = Opts(path, false);
  o.max_chunk_lines = 5;
  auto chunked = ReadOnce(*MakeFileSource(o));
  std::string cursor = chunked.chunks[0].cursor;
  Append(path, " done\n" + Numbered("l", 7, 8));
  auto again = ReadOnce(*src, cursor);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.lines, (std::vector<std::string>{"partial done", "l7", "l8"}));
  EXPECT_EQ(again.line_nos, (std::vector<uint64_t>{6, 7, 8}));
}

TEST(FileSource, RestartsInTheRotatedFileThenTheNewOne) {
  auto dir = testing::TempDir("fs-resume-rotated");
  auto path = dir / "app.log";
  Append(path, Numbered("old ", 1, 5));
  auto src = MakeFileSource(Opts(path, false));
  auto first = ReadOnce(*src);
  std::string cursor = first.chunks.back().cursor;
  // While we were down: more lines, logrotate renamed the file, the writer started anew.
  Append(path, Numbered("old ", 6, 7));
  fs::rename(path, dir / "app.log.1");
  Append(path, Numbered("new ", 1, 2));
  auto again = ReadOnce(*src, cursor);
  ASSERT_TRUE(again.status.ok()) << again.status.error().message;
  EXPECT_EQ(again.lines, (std::vector<std::string>{"old 6", "old 7", "new 1", "new 2"}));
  EXPECT_EQ(again.line_nos, (std::vector<uint64_t>{6, 7, 1, 2}));
  // And when following, the same, then new lines.
  auto follow = MakeFileSource(Opts(path));
  Runner run(*follow, cursor);
  EXPECT_EQ(run.WaitLines(4), (std::vector<std::string>{"old 6", "old 7", "new 1", "new 2"}));
  Append(path, "new 3\n");
  EXPECT_EQ(run.WaitLines(5).back(), "new 3");
  EXPECT_TRUE(run.Stop().ok());
}

TEST(FileSource, AReplacedFileIsReadFromItsBeginning) {
  auto dir = testing::TempDir("fs-replaced");
  auto path = dir / "app.log";
  Append(path, Numbered("a", 1, 3));
  auto src = MakeFileSource(Opts(path, false));
  std::string cursor = ReadOnce(*src).chunks.back().cursor;
  // Deleted and recreated (the inode number may well be reused), longer than the offset.
  fs::remove(path);
  Append(path, Numbered("b", 1, 4));
  auto again = ReadOnce(*src, cursor);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.lines, NumberedLines("b", 1, 4));
  EXPECT_EQ(again.line_nos.front(), 1u);
  // Truncated in place while we were down: the saved offset is beyond its end.
  std::string c2 = ReadOnce(*src).chunks.back().cursor;
  fs::resize_file(path, 3);
  auto t = ReadOnce(*src, c2);
  EXPECT_EQ(t.lines, (std::vector<std::string>{"b1"}));
}

TEST(FileSource, WaitsForTheFileAndStopsWhenAsked) {
  auto dir = testing::TempDir("fs-wait");
  auto path = dir / "later.log";
  auto src = MakeFileSource(Opts(path));
  {
    Runner run(*src);
    Append(path, "hello\n");
    EXPECT_EQ(run.WaitLines(1), (std::vector<std::string>{"hello"}));
    EXPECT_TRUE(run.Stop().ok());  // returns although the file could still grow
  }
  {
    auto never = MakeFileSource(Opts(dir / "never.log"));
    Runner idle(*never);
    EXPECT_TRUE(idle.Stop().ok());  // also while waiting for the file to appear
  }
  // A sink that says stop ends Run.
  std::atomic<bool> stop{false};
  int calls = 0;
  auto o = Opts(path);
  o.max_chunk_lines = 1;
  Append(path, "two\nthree\n");
  auto s = MakeFileSource(o)->Run("", [&](LineChunk) { return ++calls < 2; }, stop);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 2);
}

// ---------------------------------------------------------------------------------------
// Stream source

TEST(StreamSource, ReadsAPipeToItsEnd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([w = fds[1]] {
    std::string data = "one\r\ntwo\n" + std::string(100, 'x') + "\nlast";
    EXPECT_EQ(::write(w, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(w);
  });
  auto src = MakeStreamSource(fds[0], 50);
  auto r = ReadOnce(*src);
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.lines, (std::vector<std::string>{"one", "two", std::string(50, 'x'), "last"}));
  std::vector<uint64_t> cut;
  for (const auto& c : r.chunks) cut.insert(cut.end(), c.truncated_line_nos.begin(), c.truncated_line_nos.end());
  EXPECT_EQ(cut, (std::vector<uint64_t>{3}));
  EXPECT_EQ(r.chunks.back().cursor, "{\"line\":4}");
  auto resumed = ReadOnce(*src, "{\"line\":4}");
  ASSERT_FALSE(resumed.status.ok());
  EXPECT_EQ(resumed.status.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(resumed.status.error().message.find("cannot be resumed"), std::string::npos);
}

TEST(StreamSource, DeliversWhatArrivedWhileTheWriterIsQuietAndStops) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto src = MakeStreamSource(fds[0]);
  Runner run(*src);
  ASSERT_EQ(::write(fds[1], "early\n", 6), 6);
  EXPECT_EQ(run.WaitLines(1), (std::vector<std::string>{"early"}));
  EXPECT_TRUE(run.Stop().ok());
  ::close(fds[1]);
  ::close(fds[0]);
}

// ---------------------------------------------------------------------------------------
// Spool

size_t SegmentFiles(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".seg";
  return n;
}

TEST(Spool, AppendsAreReadInOrderAndWaitedFor) {
  auto dir = testing::TempDir("spool-basic") / "spool";
  auto spool = Spool::Open(dir.string(), 1 << 20);
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  ASSERT_TRUE((*spool)->Append({"a", "b", ""}).ok());
  EXPECT_EQ((*spool)->bytes_used(), 5u);
  Runner run(**spool);
  EXPECT_EQ(run.WaitLines(3), (std::vector<std::string>{"a", "b", ""}));
  ASSERT_TRUE((*spool)->Append({"c"}).ok());  // Run was waiting for it
  EXPECT_EQ(run.WaitLines(4).back(), "c");
  EXPECT_EQ(run.line_nos(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(run.Stop().ok());
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.status().permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write) << e.path();
  }
  auto bad = (*spool)->Append({"ok", "two\nlines"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*spool)->bytes_used(), 7u);  // nothing of the refused batch
  // One process at a time.
  auto second = Spool::Open(dir.string(), 1 << 20);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
}

TEST(Spool, CommittingDeletesSegmentsBeforeTheCursorAndResumes) {
  auto dir = testing::TempDir("spool-commit") / "spool";
  auto lines = NumberedLines("message number ", 1, 200);
  std::string cursor_at_100;
  {
    auto spool = Spool::Open(dir.string(), 1 << 20, 256);
    ASSERT_TRUE(spool.ok());
    for (const auto& l : lines) ASSERT_TRUE((*spool)->Append({l}).ok());
    size_t segments = SegmentFiles(dir);
    EXPECT_GT(segments, 10u);
    uint64_t full = (*spool)->bytes_used();
    Runner run(**spool);
    ASSERT_EQ(run.WaitLines(200), lines);
    EXPECT_TRUE(run.Stop().ok());
    // Commit the chunk that ends at or after line 100.
    uint64_t seen = 0;
    for (const auto& c : run.chunks()) {
      seen += c.lines.size();
      if (seen >= 100) {
        cursor_at_100 = c.cursor;
        break;
      }
    }
    ASSERT_FALSE(cursor_at_100.empty());
    // A cursor beyond the spool's end (from a spool since wiped) deletes nothing.
    (*spool)->Committed("{\"segment\":999,\"offset\":5,\"line\":7}");
    EXPECT_EQ((*spool)->bytes_used(), full);
    EXPECT_EQ(SegmentFiles(dir), segments);
    (*spool)->Committed(cursor_at_100);
    EXPECT_LT((*spool)->bytes_used(), full);
    EXPECT_LT(SegmentFiles(dir), segments);
  }
  // Reopened, resuming at the committed cursor: the rest, numbered on.
  auto spool = Spool::Open(dir.string(), 1 << 20, 256);
  ASSERT_TRUE(spool.ok());
  uint64_t after = ParseJson(cursor_at_100).value()["line"].get<uint64_t>();
  Runner run(**spool, cursor_at_100);
  auto rest = run.WaitLines(200 - after);
  EXPECT_EQ(rest, std::vector<std::string>(lines.begin() + static_cast<long>(after), lines.end()));
  EXPECT_EQ(run.line_nos().front(), after + 1);
  std::string last = run.last_cursor();
  EXPECT_TRUE(run.Stop().ok());
  (*spool)->Committed(last);
  EXPECT_EQ(SegmentFiles(dir), 1u);  // only the one being written is left
  // A cursor from a spool that was since wiped is not trusted (see also above).
  Runner wiped(**spool, "{\"segment\":999,\"offset\":5,\"line\":7}");
  ASSERT_TRUE((*spool)->Append({"after wipe"}).ok());
  auto w = wiped.WaitUntil([](const auto& l) { return !l.empty() && l.back() == "after wipe"; });
  ASSERT_FALSE(w.empty());
  EXPECT_EQ(w.back(), "after wipe");
  EXPECT_TRUE(wiped.Stop().ok());
}

TEST(Spool, AFullSpoolRefusesAppendsUntilCommitsFreeSpace) {
  auto dir = testing::TempDir("spool-full") / "spool";
  auto spool = Spool::Open(dir.string(), 4096);  // segments of 512 bytes
  ASSERT_TRUE(spool.ok());
  std::string line(99, 'm');  // 100 bytes with its LF
  int appended = 0;
  while (true) {
    auto s = (*spool)->Append({line});
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, ErrorCode::kResourceExhausted);
      break;
    }
    ASSERT_LT(++appended, 1000);
  }
  EXPECT_EQ(appended, 40);
  EXPECT_EQ((*spool)->bytes_used(), 4000u);
  EXPECT_EQ((*spool)->appends_refused(), 1u);
  auto huge = (*spool)->Append({std::string(2000, 'h')});  // could never fit
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::kInvalidArgument);
  Runner run(**spool);
  ASSERT_EQ(run.WaitLines(40).size(), 40u);
  (*spool)->Committed(run.last_cursor());
  EXPECT_LE((*spool)->bytes_used(), 512u);
  EXPECT_TRUE((*spool)->Append({line}).ok());
  EXPECT_EQ(run.WaitLines(41).size(), 41u);
  EXPECT_TRUE(run.Stop().ok());
}

TEST(Spool, ATornLastLineIsCutOnOpen) {
  auto dir = testing::TempDir("spool-torn") / "spool";
  {
    auto spool = Spool::Open(dir.string(), 1 << 20);
    ASSERT_TRUE(spool.ok());
    ASSERT_TRUE((*spool)->Append({"complete 1", "complete 2"}).ok());
  }
  fs::path seg;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".seg") seg = e.path();
  }
  Append(seg, "torn by a cra");  // a crash in the middle of an append
  auto spool = Spool::Open(dir.string(), 1 << 20);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->bytes_used(), 22u);
  EXPECT_EQ(fs::file_size(seg), 22u);
  ASSERT_TRUE((*spool)->Append({"complete 3"}).ok());
  Runner run(**spool);
  EXPECT_EQ(run.WaitLines(3), (std::vector<std::string>{"complete 1", "complete 2", "complete 3"}));
  EXPECT_TRUE(run.Stop().ok());
}

TEST(Spool, ConcurrentAppendersAndAReaderLoseNothing) {
  auto dir = testing::TempDir("spool-concurrent") / "spool";
  auto spool = Spool::Open(dir.string(), 1 << 20, 1024);
  ASSERT_TRUE(spool.ok());
  Runner run(**spool);
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE((*spool)->Append({"w" + std::to_string(w) + " " + std::to_string(i)}).ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  auto lines = run.WaitLines(200);
  EXPECT_TRUE(run.Stop().ok());
  ASSERT_EQ(lines.size(), 200u);
  // Each writer's lines in its order.
  std::vector<int> next(4, 0);
  for (const auto& l : lines) {
    int w = l[1] - '0';
    EXPECT_EQ(l, "w" + std::to_string(w) + " " + std::to_string(next[w]));
    next[w]++;
  }
}

}  // namespace
}  // namespace cloudpact::ingest
