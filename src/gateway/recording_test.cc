#include "gateway/recording.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <vector>

#include "core/encoding.h"
#include "core/files.h"
#include "crypto/sha256.h"

namespace cloudpact::gateway {
namespace {

namespace fs = std::filesystem;

std::string Hex(std::string_view bytes) {
  return HexEncode(crypto::AsBytes(crypto::Sha256(bytes)));
}

std::string ReadAll(const fs::path& path) {
  auto bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << path;
  return bytes.ok() ? std::move(bytes).value() : "";
}

void WriteAll(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// What a reader of a crash-truncated file gets: everything decodable, without requiring the
// frame to be complete.
std::string DecompressPrefix(std::string_view compressed, bool* complete) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::string out;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t r = 1;
  for (;;) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    r = ZSTD_decompressStream(dctx, &o, &in);
    if (ZSTD_isError(r)) {
      ADD_FAILURE() << ZSTD_getErrorName(r);
      break;
    }
    out.append(buf.data(), o.pos);
    if (in.pos == in.size && o.pos < o.size) break;
  }
  ZSTD_freeDCtx(dctx);
  *complete = r == 0;
  return out;
}

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  return files;
}

int Mode(const fs::path& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 07777);
}

class RecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "recording_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ / "recordings";
    auto store = OpenRecordingStore(dir_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<RecordingWriter> Begin(RecordingHeader header = {}) {
    auto writer = store_->Begin(header);
    EXPECT_TRUE(writer.ok()) << writer.error().message;
    return writer.ok() ? std::move(writer).value() : nullptr;
  }

  // The asciicast a writer produced: finished, read back, checked against its info.
  std::string FinishAndRead(std::unique_ptr<RecordingWriter> writer) {
    auto info = writer->Finish();
    EXPECT_TRUE(info.ok()) << info.error().message;
    if (!info.ok()) return "";
    auto text = store_->Read(info->sha256_hex, 1 << 30);
    EXPECT_TRUE(text.ok()) << text.error().message;
    if (!text.ok()) return "";
    EXPECT_EQ(info->sha256_hex, Hex(*text));
    EXPECT_EQ(info->bytes, text->size());
    return std::move(text).value();
  }

  // The event lines of a finished recording, header dropped.
  std::string Events(std::unique_ptr<RecordingWriter> writer) {
    std::string text = FinishAndRead(std::move(writer));
    size_t nl = text.find('\n');
    return nl == std::string::npos ? "" : text.substr(nl + 1);
  }

  fs::path StoredPath(const std::string& hex) const {
    return dir_ / "sha256" / hex.substr(0, 2) / (hex + ".cast.zst");
  }

  std::vector<fs::path> TmpFiles() const { return FilesUnder(dir_ / "tmp"); }

  fs::path root_, dir_;
  std::unique_ptr<RecordingStore> store_;
};

TEST_F(RecordingTest, RoundTripIsByteExactAsciicast) {
  RecordingHeader header;
  header.width = 100;
  header.height = 30;
  header.timestamp = 1700000000;
  header.term = "xterm-256color";
  header.shell = "/bin/bash";
  header.title = "alice@db-1 \"prod\"";
  auto w = Begin(header);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(0.5, "$ ").ok());
  ASSERT_TRUE(w->Input(1.25, "ls\r").ok());
  ASSERT_TRUE(w->Marker(1.250001, "command: ls").ok());
  ASSERT_TRUE(w->Output(1.3, "\x1b[1ma\"b\"\\c\x1b[0m\ttab\r\n\x07\x7f").ok());
  ASSERT_TRUE(w->Resize(2, 120, 40).ok());
  ASSERT_TRUE(w->Output(123.456789, "bye\r\n").ok());
  auto info = w->Finish();
  ASSERT_TRUE(info.ok()) << info.error().message;

  const std::string expected =
      "{\"version\": 2, \"width\": 100, \"height\": 30, \"timestamp\": 1700000000, "
      "\"env\": {\"TERM\": \"xterm-256color\", \"SHELL\": \"/bin/bash\"}, "
      "\"title\": \"alice@db-1 \\\"prod\\\"\"}\n"
      "[0.5, \"o\", \"$ \"]\n"
      "[1.25, \"i\", \"ls\\r\"]\n"
      "[1.250001, \"m\", \"command: ls\"]\n"
      "[1.3, \"o\", \"\\u001b[1ma\\\"b\\\"\\\\c\\u001b[0m\\ttab\\r\\n\\u0007\x7f\"]\n"
      "[2.0, \"r\", \"120x40\"]\n"
      "[123.456789, \"o\", \"bye\\r\\n\"]\n";
  auto text = store_->Read(info->sha256_hex, 1 << 20);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text, expected);
  EXPECT_EQ(info->sha256_hex, Hex(expected));
  EXPECT_EQ(info->bytes, expected.size());
  EXPECT_EQ(info->events, 6u);
  EXPECT_DOUBLE_EQ(info->duration, 123.456789);
  EXPECT_EQ(info->compressed_bytes, fs::file_size(StoredPath(info->sha256_hex)));
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(RecordingTest, EmptyHeaderFieldsAreLeftOut) {
  auto w = Begin();
  ASSERT_TRUE(w);
  EXPECT_EQ(FinishAndRead(std::move(w)),
            "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 0, \"env\": {}}\n");
}

TEST_F(RecordingTest, TimesAreMicrosecondsAndNeverGoBack) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(0, "a").ok());
  ASSERT_TRUE(w->Output(1.0000004, "b").ok());  // rounds to whole microseconds
  ASSERT_TRUE(w->Output(0.000001 + 2, "c").ok());
  ASSERT_TRUE(w->Output(1.5, "d").ok());  // earlier than the one before: not written earlier
  ASSERT_TRUE(w->Resize(1.0, 80, 25).ok());
  ASSERT_TRUE(w->Output(86400.1, "e").ok());
  for (double bad : {-0.5, std::nan(""), std::numeric_limits<double>::infinity(), 2e9}) {
    auto s = w->Output(bad, "x");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  for (auto [cols, rows] : {std::pair{0, 24}, {80, -1}, {70000, 24}}) {
    auto s = w->Resize(3, cols, rows);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  // Refused arguments wrote nothing and did not break the writer.
  ASSERT_TRUE(w->Output(86400.1, "f").ok());
  EXPECT_EQ(Events(std::move(w)),
            "[0.0, \"o\", \"a\"]\n"
            "[1.0, \"o\", \"b\"]\n"
            "[2.000001, \"o\", \"c\"]\n"
            "[2.000001, \"o\", \"d\"]\n"
            "[2.000001, \"r\", \"80x25\"]\n"
            "[86400.1, \"o\", \"e\"]\n"
            "[86400.1, \"o\", \"f\"]\n");
}

TEST_F(RecordingTest, Utf8SplitAcrossEventsIsJoinedPerStream) {
  // 中 = E4 B8 AD, 文 = E6 96 87.
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "a\xE4\xB8").ok());
  ASSERT_TRUE(w->Input(1.5, "\xE6").ok());  // input has its own carry
  ASSERT_TRUE(w->Output(2, "\xAD\xE6").ok());
  ASSERT_TRUE(w->Output(3, "\x96").ok());  // only part of a character: no event
  ASSERT_TRUE(w->Input(3.5, "\x96\x87!").ok());
  ASSERT_TRUE(w->Output(4,
                        "\x87"
                        "b")
                  .ok());
  ASSERT_TRUE(w->Output(5, "\xF0\x9F").ok());  // 😀 = F0 9F 98 80
  ASSERT_TRUE(w->Output(6, "\x98").ok());
  ASSERT_TRUE(w->Output(7, "\x80").ok());
  EXPECT_EQ(Events(std::move(w)),
            "[1.0, \"o\", \"a\"]\n"
            "[2.0, \"o\", \"中\"]\n"
            "[3.5, \"i\", \"文!\"]\n"
            "[4.0, \"o\", \"文b\"]\n"
            "[7.0, \"o\", \"😀\"]\n");
}

TEST_F(RecordingTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  RecordingHeader header;
  header.term = "xterm\xFF";
  auto w = Begin(header);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1,
                        "a\xFF"
                        "b")
                  .ok());                              // never valid
  ASSERT_TRUE(w->Output(2, "\xC0\xAF").ok());          // overlong '/'
  ASSERT_TRUE(w->Output(3, "\xED\xA0\x80").ok());      // a UTF-16 surrogate
  ASSERT_TRUE(w->Output(4, "\xF4\x90\x80\x80").ok());  // beyond U+10FFFF
  ASSERT_TRUE(w->Output(5, "\xE4\xB8x").ok());         // cut short by ASCII
  ASSERT_TRUE(w->Output(6, "\xE4\xB8").ok());          // then valid bytes cannot continue it...
  ASSERT_TRUE(w->Input(6.5, "\xAD").ok());             // ...from the other stream
  ASSERT_TRUE(w->Marker(7, "bad \x80 label").ok());
  ASSERT_TRUE(w->Output(8, "\xE6\x96").ok());  // the recording ends inside a character
  std::string text = FinishAndRead(std::move(w));
  EXPECT_EQ(text,
            "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 0, \"env\": {\"TERM\": "
            "\"xterm" +
                r +
                "\"}}\n"
                "[1.0, \"o\", \"a" +
                r +
                "b\"]\n"
                "[2.0, \"o\", \"" +
                r + r +
                "\"]\n"
                "[3.0, \"o\", \"" +
                r + r + r +
                "\"]\n"
                "[4.0, \"o\", \"" +
                r + r + r + r +
                "\"]\n"
                "[5.0, \"o\", \"" +
                r +
                "x\"]\n"
                "[6.5, \"i\", \"" +
                r +
                "\"]\n"
                "[7.0, \"m\", \"bad " +
                r +
                " label\"]\n"
                "[8.0, \"o\", \"" +
                r +
                "\"]\n"
                "[8.0, \"o\", \"" +
                r + "\"]\n");
}

// The JSON string content for `data` written one byte at a time, the plainest reading of the
// rules (Python's json.dumps(ensure_ascii=False) of bytes.decode("utf-8", "replace")): the
// writer's fast paths must produce exactly this.
std::string ReferenceJson(std::string_view data) {
  const std::string replacement = "\xEF\xBF\xBD";
  std::string out;
  size_t i = 0;
  while (i < data.size()) {
    auto b = static_cast<unsigned char>(data[i]);
    if (b < 0x80) {
      switch (b) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (b < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", b);
            out += buf;
          } else {
            out += static_cast<char>(b);
          }
      }
      ++i;
      continue;
    }
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t k = 0;  // continuation bytes in range, up to `need`
    while (k < need && i + 1 + k < data.size()) {
      auto c = static_cast<unsigned char>(data[i + 1 + k]);
      if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) break;
      ++k;
    }
    if (need > 0 && k == need) {
      out += data.substr(i, need + 1);
    } else {
      out += replacement;  // one per maximal ill-formed subpart, or a sequence cut by the end
    }
    i += 1 + k;
  }
  return out;
}

// Random mixtures of ASCII, escapes, valid and ill-formed UTF-8 at every boundary (E0, ED, F0,
// F4), cut sequences and random bytes, given in random pieces (so that sequences are split
// across calls and both the bulk and the byte-at-a-time paths run): the "o" events, joined,
// are the reference escaping of the whole input.
TEST_F(RecordingTest, EscapingMatchesByteAtATimeReference) {
  const std::string pieces[] = {"a",
                                "plain text, long enough for 8 at once ",
                                "\"",
                                "\\",
                                "\x1b[0m",
                                "\r\n",
                                "\x7f",
                                "\x01",
                                "\xC2\x80",
                                "\xDF\xBF",
                                "\xE0\xA0\x80",
                                "\xE0\x9F\x80",
                                "\xED\x9F\xBF",
                                "\xED\xA0\x80",
                                "\xEF\xBF\xBF",
                                "\xF0\x90\x80\x80",
                                "\xF0\x8F\xBF\xBF",
                                "\xF4\x8F\xBF\xBF",
                                "\xF4\x90\x80\x80",
                                "\xF5",
                                "\xC0",
                                "\xC1\xBF",
                                "\x80",
                                "\xBF",
                                "\xE4\xB8",
                                "\xF0\x9F\x98",
                                "\xFF",
                                "\xE4\xB8\xAD\xE6\x96\x87"};
  uint32_t x = 20261127;
  auto next = [&x] {
    x = x * 1664525 + 1013904223;
    return x >> 8;
  };
  for (int round = 0; round < 60; ++round) {
    std::string data;
    const size_t size = round == 0 ? (256 << 10) : next() % 3000;
    while (data.size() < size) {
      if (next() % 3 == 0) {
        data += static_cast<char>(next() & 0xFF);
      } else {
        data += pieces[next() % std::size(pieces)];
      }
    }
    auto w = Begin();
    ASSERT_TRUE(w);
    double t = 0;
    for (size_t pos = 0; pos < data.size();) {
      const size_t n = next() % 4 == 0 ? next() % 40000 : next() % 40;
      ASSERT_TRUE(w->Output(t += 0.001, std::string_view(data).substr(pos, n)).ok());
      pos += n;
    }
    std::string text = FinishAndRead(std::move(w));
    std::string joined;
    size_t line = text.find('\n') + 1;  // after the header
    while (line < text.size()) {
      size_t end = text.find('\n', line);
      ASSERT_NE(end, std::string::npos);
      std::string_view event(text.data() + line, end - line);
      const size_t start = event.find(", \"o\", \"");
      ASSERT_NE(start, std::string_view::npos) << event;
      ASSERT_TRUE(event.ends_with("\"]")) << event;
      joined += event.substr(start + 8, event.size() - 2 - (start + 8));
      line = end + 1;
    }
    ASSERT_EQ(joined, ReferenceJson(data)) << "round " << round << ", " << data.size() << " bytes";
  }
}

TEST_F(RecordingTest, StoredUnderSha256OfUncompressedText) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "hello").ok());
  auto info = w->Finish();
  ASSERT_TRUE(info.ok());
  fs::path path = StoredPath(info->sha256_hex);
  ASSERT_TRUE(fs::exists(path));
  std::string stored = ReadAll(path);
  bool complete = false;
  std::string text = DecompressPrefix(stored, &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(Hex(text), info->sha256_hex);  // what `zstd -dc FILE | sha256sum` checks
  auto read = store_->Read(info->sha256_hex, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, text);
  auto compressed = store_->ReadCompressed(info->sha256_hex, 1 << 20);
  ASSERT_TRUE(compressed.ok()) << compressed.error().message;
  EXPECT_EQ(*compressed, stored);
}

TEST_F(RecordingTest, IdenticalRecordingIsStoredOnce) {
  std::string names[2];
  for (auto& name : names) {
    auto w = Begin();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Output(1, "same").ok());
    auto info = w->Finish();
    ASSERT_TRUE(info.ok()) << info.error().message;
    name = info->sha256_hex;
  }
  EXPECT_EQ(names[0], names[1]);
  EXPECT_EQ(FilesUnder(dir_ / "sha256").size(), 1u);
  EXPECT_TRUE(store_->Read(names[0], 1 << 20).ok());
}

TEST_F(RecordingTest, TamperedRecordingIsDataLoss) {
  auto w = Begin();
  ASSERT_TRUE(w);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(w->Output(i, "line " + std::to_string(i) + "\r\n").ok());
  auto info = w->Finish();
  ASSERT_TRUE(info.ok());
  const fs::path path = StoredPath(info->sha256_hex);
  const std::string original = ReadAll(path);
  auto expect_data_loss = [&](const std::string& what) {
    auto text = store_->Read(info->sha256_hex, 1 << 20);
    ASSERT_FALSE(text.ok()) << what;
    EXPECT_EQ(text.error().code, ErrorCode::kDataLoss) << what << ": " << text.error().message;
    auto compressed = store_->ReadCompressed(info->sha256_hex, 1 << 20);
    ASSERT_FALSE(compressed.ok()) << what;
    EXPECT_EQ(compressed.error().code, ErrorCode::kDataLoss)
        << what << ": " << compressed.error().message;
  };

  // A well-formed zstd file with other content: only the hash can tell.
  std::string other =
      "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"rm -rf /\"]\n";
  std::string recompressed(ZSTD_compressBound(other.size()), '\0');
  recompressed.resize(
      ZSTD_compress(recompressed.data(), recompressed.size(), other.data(), other.size(), 3));
  WriteAll(path, recompressed);
  expect_data_loss("other content");

  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x01;
  WriteAll(path, flipped);
  expect_data_loss("flipped byte");

  WriteAll(path, original.substr(0, original.size() - 5));
  expect_data_loss("truncated");

  WriteAll(path, original + "junk");
  expect_data_loss("trailing bytes");

  WriteAll(path, "");
  expect_data_loss("empty");

  WriteAll(path, original);
  EXPECT_TRUE(store_->Read(info->sha256_hex, 1 << 20).ok());
}

TEST_F(RecordingTest, NamesOtherThanSha256HexAreRejected) {
  // Something a traversal could reach if names were used as paths.
  WriteAll(root_ / "secret", "x");
  const std::string upper(64, 'A');
  for (std::string name : {std::string("../../secret"), std::string(""), std::string(63, 'a'),
                           std::string(65, 'a'), upper, std::string(62, 'a') + "/.",
                           "../" + std::string(61, 'a'), std::string(63, 'a') + '\0'}) {
    for (bool compressed : {false, true}) {
      auto r = compressed ? store_->ReadCompressed(name, 1 << 20) : store_->Read(name, 1 << 20);
      ASSERT_FALSE(r.ok()) << name;
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << name;
    }
  }
  auto missing = store_->Read(std::string(64, 'a'), 1 << 20);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(RecordingTest, ReadsAreBounded) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, std::string(100000, 'z')).ok());
  auto info = w->Finish();
  ASSERT_TRUE(info.ok());
  auto over = store_->Read(info->sha256_hex, info->bytes - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(store_->Read(info->sha256_hex, info->bytes).ok());
  auto over_compressed = store_->ReadCompressed(info->sha256_hex, info->compressed_bytes - 1);
  ASSERT_FALSE(over_compressed.ok());
  EXPECT_EQ(over_compressed.error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(store_->ReadCompressed(info->sha256_hex, info->compressed_bytes).ok());
}

TEST_F(RecordingTest, DirectoriesAre0700AndFiles0600) {
  mode_t old = ::umask(0);  // what we get must not depend on the umask
  fs::path dir = root_ / "fresh" / "recordings";
  auto store = OpenRecordingStore(dir);
  ::umask(old);
  ASSERT_TRUE(store.ok()) << store.error().message;
  old = ::umask(0);
  auto w = (*store)->Begin({});
  ASSERT_TRUE(w.ok());
  auto tmp = FilesUnder(dir / "tmp");
  ASSERT_EQ(tmp.size(), 1u);
  EXPECT_EQ(Mode(tmp[0]), 0600);
  auto info = (*w)->Finish();
  ::umask(old);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(Mode(dir), 0700);
  EXPECT_EQ(Mode(dir / "tmp"), 0700);
  EXPECT_EQ(Mode(dir / "sha256"), 0700);
  EXPECT_EQ(Mode(dir / "sha256" / info->sha256_hex.substr(0, 2)), 0700);
  EXPECT_EQ(Mode(dir / "sha256" / info->sha256_hex.substr(0, 2) / (info->sha256_hex + ".cast.zst")),
            0600);
}

TEST_F(RecordingTest, StoreThatCannotBeCreatedIsAnError) {
  WriteAll(root_ / "file", "x");
  auto store = OpenRecordingStore(root_ / "file" / "recordings");
  EXPECT_FALSE(store.ok());
  auto bad = store_->Begin(RecordingHeader{.width = 0, .term = "", .shell = "", .title = ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(TmpFiles().empty());
}

// A real ENOSPC from the kernel: /dev/full put where the recording file was.
TEST_F(RecordingTest, FullDiskBreaksTheWriter) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "before").ok());
  ASSERT_TRUE(w->Flush().ok());
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  ASSERT_GE(::dup2(full, internal::RecordingWriterFd(*w)), 0);
  ::close(full);

  ASSERT_TRUE(w->Output(2, "buffered by the compressor").ok());
  auto flushed = w->Flush();
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(flushed.error().message.find(std::strerror(ENOSPC)), std::string::npos)
      << flushed.error().message;

  EXPECT_FALSE(w->Output(3, "x").ok());
  EXPECT_FALSE(w->Input(3, "x").ok());
  EXPECT_FALSE(w->Resize(3, 80, 24).ok());
  EXPECT_FALSE(w->Marker(3, "x").ok());
  EXPECT_FALSE(w->Flush().ok());
  auto finished = w->Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().code, ErrorCode::kUnavailable);
  w.reset();
  // Nothing stored under a name; the partial file stays as evidence.
  EXPECT_TRUE(FilesUnder(dir_ / "sha256").empty());
  EXPECT_EQ(TmpFiles().size(), 1u);
}

// The error comes from the call that hit it, here an Output too large for zstd to buffer.
TEST_F(RecordingTest, WriteErrorIsReturnedByTheCallThatHitIt) {
  auto w = Begin();
  ASSERT_TRUE(w);
  int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  ASSERT_GE(::dup2(full, internal::RecordingWriterFd(*w)), 0);
  ::close(full);
  std::string noise;
  uint32_t x = 1;
  for (int i = 0; i < (4 << 20); ++i) {
    x = x * 1664525 + 1013904223;
    noise.push_back(static_cast<char>('!' + (x >> 24) % 90));
  }
  auto s = w->Output(1, noise);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(w->Output(2, "x").ok());
}

// EBADF at the very end: a descriptor that cannot be written, found by Finish.
TEST_F(RecordingTest, UnwritableDescriptorFailsFinish) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "x").ok());
  int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  ASSERT_GE(::dup2(read_only, internal::RecordingWriterFd(*w)), 0);
  ::close(read_only);
  auto finished = w->Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_NE(finished.error().message.find(std::strerror(EBADF)), std::string::npos)
      << finished.error().message;
  auto again = w->Finish();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, finished.error().code);
  EXPECT_TRUE(FilesUnder(dir_ / "sha256").empty());
}

TEST_F(RecordingTest, FlushedRecordingIsReadableBeforeFinish) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "first\r\n").ok());
  ASSERT_TRUE(w->Input(2, "secret\r").ok());
  ASSERT_TRUE(w->Flush().ok());
  ASSERT_TRUE(w->Output(3, "after the flush").ok());  // still inside the compressor
  auto tmp = TmpFiles();
  ASSERT_EQ(tmp.size(), 1u);
  bool complete = true;
  std::string text = DecompressPrefix(ReadAll(tmp[0]), &complete);
  EXPECT_FALSE(complete);
  EXPECT_EQ(text,
            "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 0, \"env\": {}}\n"
            "[1.0, \"o\", \"first\\r\\n\"]\n"
            "[2.0, \"i\", \"secret\\r\"]\n");
  // The store's own reader of partial files says the same.
  auto partial = ReadPartialRecording(tmp[0], 1 << 20);
  ASSERT_TRUE(partial.ok()) << partial.error().message;
  EXPECT_EQ(*partial, text);
  ASSERT_TRUE(w->Flush().ok());
  text = DecompressPrefix(ReadAll(tmp[0]), &complete);
  EXPECT_NE(text.find("after the flush"), std::string::npos);
  EXPECT_FALSE(complete);
  // A torn last write: the reader keeps the complete lines before it.
  const std::string compressed = ReadAll(tmp[0]);
  WriteAll(root_ / "torn.cast.zst", compressed.substr(0, compressed.size() - 3));
  partial = ReadPartialRecording(root_ / "torn.cast.zst", 1 << 20);
  ASSERT_TRUE(partial.ok()) << partial.error().message;
  EXPECT_TRUE(text.starts_with(*partial));
  EXPECT_EQ(partial->back(), '\n');
  EXPECT_GT(partial->size(), 0u);
  std::string finished = FinishAndRead(std::move(w));
  EXPECT_EQ(finished, text);
}

TEST_F(RecordingTest, WriterDestroyedWithoutFinishStoresItsRecording) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Output(1, "cut short").ok());
  w.reset();
  EXPECT_TRUE(TmpFiles().empty());
  auto stored = FilesUnder(dir_ / "sha256");
  ASSERT_EQ(stored.size(), 1u);
  std::string hex = stored[0].filename().string().substr(0, 64);
  auto text = store_->Read(hex, 1 << 20);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_NE(text->find("[1.0, \"o\", \"cut short\"]\n"), std::string::npos);
}

TEST_F(RecordingTest, FinishedWriterRefusesMore) {
  auto w = Begin();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Finish().ok());
  auto again = w->Finish();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(w->Output(1, "x").ok());
  EXPECT_FALSE(w->Flush().ok());
}

// 50 MiB of output, most of it in 64 KiB pieces as a PTY delivers it and one 8 MiB call: the
// writer's memory is the same at the end as after the first piece.
TEST_F(RecordingTest, LargeOutputStreamsInBoundedMemory) {
  auto w = Begin();
  ASSERT_TRUE(w);
  std::string piece;
  uint32_t x = 7;
  while (piece.size() < (64 << 10)) {
    x = x * 1664525 + 1013904223;
    piece += "drwxr-xr-x 2 root root " + std::to_string(x % 100000) + " \x1b[01;34mdir\x1b[0m\r\n";
  }
  piece.resize(64 << 10);
  ASSERT_TRUE(w->Output(0.001, piece).ok());
  const size_t after_first = internal::RecordingWriterMemory(*w);
  size_t peak = after_first;
  uint64_t total = piece.size();
  double t = 0.001;
  while (total < (42 << 20)) {
    t += 0.001;
    ASSERT_TRUE(w->Output(t, piece).ok());
    total += piece.size();
    peak = std::max(peak, internal::RecordingWriterMemory(*w));
    if (total % (4 << 20) == 0) {
      ASSERT_TRUE(w->Flush().ok());
    }
  }
  std::string big(8 << 20, '\x1b');  // escaped 6:1, so 48 MiB of JSON if it were held whole
  ASSERT_TRUE(w->Output(t, big).ok());
  total += big.size();
  peak = std::max(peak, internal::RecordingWriterMemory(*w));
  EXPECT_EQ(peak, after_first);
  EXPECT_LT(peak, size_t{2} << 20);
  std::cout << "[ memory   ] writer holds " << peak << " bytes\n";
  auto info = w->Finish();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_GT(info->bytes, total);
  EXPECT_LT(info->compressed_bytes, info->bytes / 10);
  auto text = store_->Read(info->sha256_hex, 128 << 20);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->size(), info->bytes);
}

int Shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The format as asciinema itself reads it: every line JSON, a version 2 header, events of
// [time, code, text] in time order; and, where asciinema is installed, `asciinema cat` prints
// exactly the output that was recorded.
TEST_F(RecordingTest, AsciinemaReadsTheRecording) {
  // scripts/setup.sh installs asciinema (and with it python3): both are required here.
  ASSERT_EQ(Shell("python3 -c 'import json' >/dev/null 2>&1"), 0) << "python3 is missing; run scripts/setup.sh";
  RecordingHeader header{.width = 90,
                         .height = 20,
                         .timestamp = 1700000000,
                         .term = "xterm",
                         .shell = "/bin/sh",
                         .title = "t\xC3\xA9st"};
  auto w = Begin(header);
  ASSERT_TRUE(w);
  std::string shown;
  // Each piece and what the terminal shows for it once UTF-8 is repaired.
  const std::pair<std::string, std::string> pieces[] = {
      {"plain $ \x1b[32mgreen\x1b[0m\r\n", "plain $ \x1b[32mgreen\x1b[0m\r\n"},
      {"\x01\x02\x1f\x7f \"q\" \\ \t\b\f", "\x01\x02\x1f\x7f \"q\" \\ \t\b\f"},
      {"\xE4\xB8", ""},
      {"\xAD\xE6\x96\x87 \xF0\x9F\x98\x80", "\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80"},
      {"bad \xFF\xC0 end\r\n", "bad \xEF\xBF\xBD\xEF\xBF\xBD end\r\n"},
      {"\xE2\x80\xA8 line separator", "\xE2\x80\xA8 line separator"},
  };
  double t = 0;
  for (const auto& [data, text] : pieces) {
    t += 0.25;
    ASSERT_TRUE(w->Output(t, data).ok());
    ASSERT_TRUE(w->Input(t + 0.1, "k").ok());
    shown += text;
  }
  ASSERT_TRUE(w->Resize(t + 1, 132, 43).ok());
  ASSERT_TRUE(w->Marker(t + 1, "decision: allow").ok());
  std::string cast = FinishAndRead(std::move(w));
  ASSERT_FALSE(cast.empty());
  WriteAll(root_ / "session.cast", cast);
  WriteAll(root_ / "shown.txt", shown);
  WriteAll(root_ / "check.py", R"PY(
import json, sys
# newline="": no newline translation, the bytes are compared exactly.
lines = open(sys.argv[1], encoding="utf-8", newline="").read().split("\n")
assert lines[-1] == "", "no final newline"
header = json.loads(lines[0])
assert header["version"] == 2 and type(header["width"]) is int and type(header["height"]) is int, header
last, out = 0.0, ""
for line in lines[1:-1]:
    t, code, data = json.loads(line)
    assert type(t) is float and t >= last, line
    assert code in ("o", "i", "r", "m") and type(data) is str, line
    last = t
    if code == "o": out += data
assert out == open(sys.argv[2], encoding="utf-8", newline="").read(), repr(out)
)PY");
  const std::string cast_path = (root_ / "session.cast").string();
  EXPECT_EQ(Shell("python3 " + (root_ / "check.py").string() + " " + cast_path + " " +
                  (root_ / "shown.txt").string()),
            0);

  // asciinema's own loader, as `asciinema play` and `asciinema cat` use it (cat itself wants a
  // TTY); run with the interpreter of asciinema's #! line (unquoted: it may be `env python3`).
  ASSERT_EQ(Shell("command -v asciinema >/dev/null 2>&1"), 0) << "asciinema is missing; run scripts/setup.sh";
  WriteAll(root_ / "load.py", R"PY(
import sys
from asciinema import asciicast
with asciicast.open_from_url(sys.argv[1]) as a:
    assert a.v2_header["width"] == 90 and a.v2_header["title"] == "t\u00e9st", a.v2_header
    text = "".join(data for _, _, data in a.stdout_events())
open(sys.argv[2], "w", encoding="utf-8", newline="").write(text)
)PY");
  ASSERT_EQ(
      Shell("$(head -1 \"$(command -v asciinema)\" | cut -c3-) " + (root_ / "load.py").string() +
            " " + cast_path + " " + (root_ / "loaded.txt").string()),
      0);
  EXPECT_EQ(ReadAll(root_ / "loaded.txt"), shown);
}

}  // namespace
}  // namespace cloudpact::gateway
