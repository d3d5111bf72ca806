#include "ledger/verifier.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "crypto/note.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "testing/fixtures.h"

namespace cloudpact::ledger {
namespace {

const std::string kTesseraVkey =
    "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const std::string kOrigin = "example.com/log/testdata";

std::string FixtureDir() { return testing::TesseraDir(); }

crypto::NoteVerifier LogKey() {
  auto v = crypto::NoteVerifier::Parse(kTesseraVkey);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : crypto::NoteVerifier::FromPublicKey("invalid", crypto::NoteSigType::kEd25519, std::string(32, '\0'));
}

// Serves the fixture, with hooks to substitute the checkpoint or rewrite any resource.
class FixtureSource : public TileSource {
 public:
  explicit FixtureSource(std::string checkpoint_file = "checkpoint")
      : inner_(DirectoryTileSource(FixtureDir())), checkpoint_file_(std::move(checkpoint_file)) {}

  Result<std::string> Get(const std::string& path) override {
    fetched.push_back(path);
    Result<std::string> r = path == "checkpoint" ? inner_->Get(checkpoint_file_) : inner_->Get(path);
    if (r.ok() && rewrite) rewrite(path, *r);
    return r;
  }

  std::function<void(const std::string& path, std::string& body)> rewrite;
  std::vector<std::string> fetched;

 private:
  std::unique_ptr<TileSource> inner_;
  std::string checkpoint_file_;
};

// Serves fixed bodies for some paths and the fixture for the rest.
class OverrideSource : public TileSource {
 public:
  Result<std::string> Get(const std::string& path) override {
    auto it = bodies.find(path);
    if (it != bodies.end()) return it->second;
    return inner_->Get(path);
  }
  std::map<std::string, std::string> bodies;

 private:
  std::unique_ptr<TileSource> inner_ = DirectoryTileSource(FixtureDir());
};

std::string ReadFixture(const std::string& name) {
  auto src = DirectoryTileSource(FixtureDir());
  auto r = src->Get(name);
  EXPECT_TRUE(r.ok()) << name;
  return r.ok() ? *r : std::string();
}

Checkpoint FixtureCheckpoint(uint64_t n) {
  std::string raw = ReadFixture("checkpoint." + std::to_string(n));
  auto cp = ParseCheckpoint(raw.substr(0, raw.rfind("\n\n") + 1));
  EXPECT_TRUE(cp.ok()) << n;
  return cp.ok() ? *cp : Checkpoint{};
}

VerifierState StateAt(uint64_t n) {
  Checkpoint cp = FixtureCheckpoint(n);
  return VerifierState{cp.origin, cp.size, cp.root};
}

TEST(VerifierTest, DirectorySourceServesFilesAndNotFound) {
  auto src = DirectoryTileSource(FixtureDir());
  auto cp = src->Get("checkpoint");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->rfind(kOrigin + "\n15\n", 0), 0u);
  auto tile = src->Get("tile/0/000.p/15");
  ASSERT_TRUE(tile.ok());
  EXPECT_EQ(tile->size(), 15u * 32);
  auto missing = src->Get("tile/0/000");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(VerifierTest, AcceptsTesseraLog) {
  auto src = DirectoryTileSource(FixtureDir());
  auto report = VerifyLog(*src, LogKey(), {});
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->checkpoint.origin, kOrigin);
  EXPECT_EQ(report->checkpoint.size, 15u);
  EXPECT_EQ(Base64Encode(crypto::AsBytes(report->checkpoint.root)), "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=");
  EXPECT_EQ(report->entries_checked, 15u);
  EXPECT_EQ(report->tiles_checked, 1u);  // one partial level-0 tile; no level-1 tile yet
  EXPECT_FALSE(report->consistent_with_previous);
  EXPECT_TRUE(report->cosigned_by.empty());
}

TEST(VerifierTest, FetchesWhatTheCheckpointRequires) {
  FixtureSource src;
  ASSERT_TRUE(VerifyLog(src, LogKey(), {}).ok());
  EXPECT_EQ(src.fetched, (std::vector<std::string>{"checkpoint", "tile/0/000.p/15", "tile/entries/000.p/15"}));

  FixtureSource tiles_only;
  VerifyOptions no_entries;
  no_entries.check_entries = false;
  auto report = VerifyLog(tiles_only, LogKey(), no_entries);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->entries_checked, 0u);
  EXPECT_EQ(tiles_only.fetched, (std::vector<std::string>{"checkpoint", "tile/0/000.p/15"}));
}

TEST(VerifierTest, AcceptsEveryCheckpointAndItsPredecessors) {
  for (uint64_t n = 0; n <= 15; ++n) {
    SCOPED_TRACE(::testing::Message() << "checkpoint." << n);
    FixtureSource src("checkpoint." + std::to_string(n));
    auto report = VerifyLog(src, LogKey(), {});
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_EQ(report->checkpoint.size, n);
    EXPECT_EQ(report->checkpoint.root, FixtureCheckpoint(n).root);
    EXPECT_EQ(report->entries_checked, n);
    EXPECT_FALSE(report->consistent_with_previous);

    for (uint64_t m = 0; m <= n; ++m) {
      FixtureSource again("checkpoint." + std::to_string(n));
      VerifyOptions opts;
      opts.previous = StateAt(m);
      auto r = VerifyLog(again, LogKey(), opts);
      ASSERT_TRUE(r.ok()) << "previous " << m << ": " << r.error().message;
      EXPECT_TRUE(r->consistent_with_previous) << "previous " << m;
      EXPECT_EQ(r->checkpoint.size, n);
    }
  }
}

TEST(VerifierTest, PreviousWithWrongRootIsDataLoss) {
  for (uint64_t m : {uint64_t{1}, uint64_t{7}, uint64_t{8}, uint64_t{14}, uint64_t{15}}) {
    VerifierState prev = StateAt(m);
    prev.root[0] ^= 0x01;
    FixtureSource src;
    VerifyOptions opts;
    opts.previous = prev;
    auto r = VerifyLog(src, LogKey(), opts);
    ASSERT_FALSE(r.ok()) << m;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << m << ": " << r.error().message;
  }
  // The root of another size is also wrong.
  VerifierState swapped = StateAt(9);
  swapped.root = StateAt(10).root;
  VerifyOptions opts;
  opts.previous = swapped;
  FixtureSource src;
  auto r = VerifyLog(src, LogKey(), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  // Size 0 with a root other than the empty tree's.
  VerifierState empty = StateAt(0);
  empty.root = StateAt(1).root;
  opts.previous = empty;
  FixtureSource src0;
  auto r0 = VerifyLog(src0, LogKey(), opts);
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.error().code, ErrorCode::kDataLoss);
}

TEST(VerifierTest, PreviousLargerThanCurrentIsDataLoss) {
  for (uint64_t n : {uint64_t{0}, uint64_t{5}, uint64_t{14}}) {
    FixtureSource src("checkpoint." + std::to_string(n));
    VerifyOptions opts;
    opts.previous = StateAt(n + 1);
    auto r = VerifyLog(src, LogKey(), opts);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << n;
  }
  // A remembered size beyond anything in the log.
  FixtureSource src;
  VerifyOptions opts;
  opts.previous = VerifierState{kOrigin, 1000, StateAt(15).root};
  auto r = VerifyLog(src, LogKey(), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST(VerifierTest, PreviousOfAnotherLogIsDataLoss) {
  FixtureSource src;
  VerifyOptions opts;
  VerifierState prev = StateAt(3);
  prev.origin = "example.com/log/other";
  opts.previous = prev;
  auto r = VerifyLog(src, LogKey(), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST(VerifierTest, CorruptTileIsDataLoss) {
  for (bool check_entries : {true, false}) {
    for (size_t byte : {size_t{0}, size_t{31}, size_t{32}, size_t{200}, size_t{15 * 32 - 1}}) {
      SCOPED_TRACE(::testing::Message() << "byte " << byte << " check_entries " << check_entries);
      FixtureSource src;
      src.rewrite = [byte](const std::string& path, std::string& body) {
        if (path == "tile/0/000.p/15") body[byte] ^= 0x01;
      };
      VerifyOptions opts;
      opts.check_entries = check_entries;
      auto r = VerifyLog(src, LogKey(), opts);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << r.error().message;
    }
  }
  // Truncated, extended and empty tiles.
  for (const auto& edit : std::vector<std::function<void(std::string&)>>{
           [](std::string& b) { b.pop_back(); },
           [](std::string& b) { b.resize(14 * 32); },
           [](std::string& b) { b += std::string(32, '\0'); },
           [](std::string& b) { b.clear(); },
       }) {
    FixtureSource src;
    src.rewrite = [&edit](const std::string& path, std::string& body) {
      if (path == "tile/0/000.p/15") edit(body);
    };
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << r.error().message;
  }
  // Two leaf hashes swapped (each one still a valid leaf hash of the log).
  FixtureSource swapped;
  swapped.rewrite = [](const std::string& path, std::string& body) {
    if (path == "tile/0/000.p/15") {
      std::string first = body.substr(0, 32);
      body.replace(0, 32, body.substr(32, 32));
      body.replace(32, 32, first);
    }
  };
  VerifyOptions no_entries;
  no_entries.check_entries = false;
  auto r = VerifyLog(swapped, LogKey(), no_entries);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

TEST(VerifierTest, CorruptEntryBundleIsDataLoss) {
  const std::string bundle = ReadFixture("tile/entries/000.p/15");
  // Every byte of the bundle: length prefixes and entry contents alike.
  for (size_t byte = 0; byte < bundle.size(); ++byte) {
    FixtureSource src;
    src.rewrite = [byte](const std::string& path, std::string& body) {
      if (path == "tile/entries/000.p/15") body[byte] ^= 0x01;
    };
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok()) << "byte " << byte;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << "byte " << byte << ": " << r.error().message;
  }
  for (const auto& edit : std::vector<std::function<void(std::string&)>>{
           [](std::string& b) { b.pop_back(); },
           [](std::string& b) { b += std::string("\x00\x01x", 3); },  // a 16th entry
           [](std::string& b) { b += '\0'; },
           [](std::string& b) { b.clear(); },
       }) {
    FixtureSource src;
    src.rewrite = [&edit](const std::string& path, std::string& body) {
      if (path == "tile/entries/000.p/15") edit(body);
    };
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << r.error().message;
  }
  // Without entry checks the (corrupt) bundle is not even fetched.
  FixtureSource src;
  src.rewrite = [](const std::string& path, std::string& body) {
    if (path == "tile/entries/000.p/15") body[5] ^= 0x01;
  };
  VerifyOptions no_entries;
  no_entries.check_entries = false;
  EXPECT_TRUE(VerifyLog(src, LogKey(), no_entries).ok());
}

TEST(VerifierTest, MissingResourceIsNotFound) {
  for (const std::string path : {"checkpoint", "tile/0/000.p/15", "tile/entries/000.p/15"}) {
    struct Missing : TileSource {
      std::string path;
      std::unique_ptr<TileSource> inner = DirectoryTileSource(FixtureDir());
      Result<std::string> Get(const std::string& p) override {
        if (p == path) return MakeError(ErrorCode::kNotFound, "gone");
        return inner->Get(p);
      }
    } src;
    src.path = path;
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << path;
  }
}

TEST(VerifierTest, WrongKeyIsPermissionDenied) {
  // Same name, different key: its key ID differs, so the log's signature is unknown.
  crypto::NoteSigner impostor(kOrigin, crypto::Ed25519PrivateKey::Generate());
  {
    auto src = DirectoryTileSource(FixtureDir());
    auto r = VerifyLog(*src, impostor.Verifier(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  }
  // The right public key under another name.
  crypto::NoteVerifier real = LogKey();
  auto renamed = crypto::NoteVerifier::FromPublicKey("example.com/log/other", real.type(), real.public_key());
  {
    auto src = DirectoryTileSource(FixtureDir());
    auto r = VerifyLog(*src, renamed, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  }
  // The right key, but the checkpoint text altered after signing.
  {
    OverrideSource src;
    std::string cp = ReadFixture("checkpoint.15");
    cp.replace(cp.find("\n15\n"), 4, "\n14\n");
    src.bodies["checkpoint"] = cp;
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  }
  // A checkpoint signed by the impostor, served in place of the log's.
  {
    OverrideSource src;
    std::string text = ReadFixture("checkpoint.15");
    text = text.substr(0, text.rfind("\n\n") + 1);
    src.bodies["checkpoint"] = crypto::FormatNote(crypto::Note{text, {impostor.Sign(text)}});
    auto r = VerifyLog(src, LogKey(), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  }
}

TEST(VerifierTest, SignedButWrongRootIsDataLoss) {
  // A checkpoint correctly signed by the log key but for a root the tiles do not produce.
  crypto::NoteSigner log(kOrigin, crypto::Ed25519PrivateKey::Generate());
  Checkpoint cp = FixtureCheckpoint(15);
  cp.root[31] ^= 0x80;
  std::string text = FormatCheckpoint(cp);
  OverrideSource src;
  src.bodies["checkpoint"] = crypto::FormatNote(crypto::Note{text, {log.Sign(text)}});
  auto r = VerifyLog(src, log.Verifier(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << r.error().message;
  // And a size the tiles on hand do not match (size 14 served with 15's root).
  Checkpoint cp14 = FixtureCheckpoint(15);
  cp14.size = 14;
  std::string text14 = FormatCheckpoint(cp14);
  OverrideSource src14;
  src14.bodies["checkpoint"] = crypto::FormatNote(crypto::Note{text14, {log.Sign(text14)}});
  auto r14 = VerifyLog(src14, log.Verifier(), {});
  ASSERT_FALSE(r14.ok());
  EXPECT_EQ(r14.error().code, ErrorCode::kDataLoss);
}

TEST(VerifierTest, ReportsWitnessCosignatures) {
  crypto::NoteSigner w1("witness.example.com/w1", crypto::Ed25519PrivateKey::Generate(),
                        crypto::NoteSigType::kCosignatureV1);
  crypto::NoteSigner w2("witness.example.com/w2", crypto::Ed25519PrivateKey::Generate(),
                        crypto::NoteSigType::kCosignatureV1);
  std::string raw = ReadFixture("checkpoint");
  auto note = crypto::ParseNote(raw);
  ASSERT_TRUE(note.ok());
  note->signatures.push_back(w1.Sign(note->text, 1700000000));
  crypto::NoteSignature bad = w2.Sign(note->text, 1700000000);
  bad.signature[3] ^= 0x01;  // w2's cosignature does not verify
  note->signatures.push_back(bad);
  OverrideSource src;
  src.bodies["checkpoint"] = crypto::FormatNote(*note);
  VerifyOptions opts;
  opts.witnesses = {w1.Verifier(), w2.Verifier()};
  auto r = VerifyLog(src, LogKey(), opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cosigned_by, std::vector<std::string>{"witness.example.com/w1"});
}

TEST(VerifierStateTest, JsonRoundTrip) {
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{15}}) {
    VerifierState s = StateAt(n);
    std::string json = s.ToJson();
    auto back = VerifierState::FromJson(json);
    ASSERT_TRUE(back.ok()) << json << ": " << back.error().message;
    EXPECT_EQ(back->origin, s.origin);
    EXPECT_EQ(back->size, s.size);
    EXPECT_EQ(back->root, s.root);
    EXPECT_EQ(back->ToJson(), json);
  }
  VerifierState big{"example.com/\"quoted\"\\log", UINT64_MAX, StateAt(15).root};
  auto back = VerifierState::FromJson(big.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->origin, big.origin);
  EXPECT_EQ(back->size, UINT64_MAX);
}

TEST(VerifierStateTest, FromJsonKnownDocument) {
  auto s = VerifierState::FromJson(
      R"({"origin":"example.com/log/testdata","size":15,"root":"rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs="})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->origin, kOrigin);
  EXPECT_EQ(s->size, 15u);
  EXPECT_EQ(s->root, FixtureCheckpoint(15).root);
  // And it is usable as the previous state.
  FixtureSource src;
  VerifyOptions opts;
  opts.previous = *s;
  auto r = VerifyLog(src, LogKey(), opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->consistent_with_previous);
}

TEST(VerifierStateTest, FromJsonRejectsMalformed) {
  const std::string root = "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=";
  for (const std::string& text : {
           std::string(""),
           std::string("[]"),
           std::string("null"),
           std::string(R"({"size":15,"root":")") + root + "\"}",                       // no origin
           std::string(R"({"origin":"o","root":")") + root + "\"}",                    // no size
           std::string(R"({"origin":"o","size":15})"),                                 // no root
           std::string(R"({"origin":1,"size":15,"root":")") + root + "\"}",            // origin not a string
           std::string(R"({"origin":"o","size":"15","root":")") + root + "\"}",        // size a string
           std::string(R"({"origin":"o","size":-1,"root":")") + root + "\"}",          // negative size
           std::string(R"({"origin":"o","size":1.5,"root":")") + root + "\"}",         // fractional size
           std::string(R"({"origin":"o","size":15,"root":"AAAA"})"),                   // short root
           std::string(R"({"origin":"o","size":15,"root":"not base64!"})"),            // not base64
           std::string(R"({"origin":"o","size":15,"root":")") + root.substr(0, 43) + "\"}",  // bad padding
           std::string(R"({"origin":"o","size":15,"root":42})"),                       // root not a string
           std::string(R"({"origin":"o","origin":"p","size":15,"root":")") + root + "\"}",  // duplicate
           std::string(R"({"origin":"o","size":15,"root":")") + root + "\"} trailing",
       }) {
    EXPECT_FALSE(VerifierState::FromJson(text).ok()) << text;
  }
}

}  // namespace
}  // namespace cloudpact::ledger
