#include "ledger/tiles.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "testing/fixtures.h"

namespace cloudpact::ledger {
namespace {

// ---------------------------------------------------------------------------------------
// Paths.

TileRef Tile(int level, uint64_t index, uint32_t width = kTileWidth) {
  return TileRef{false, level, index, width};
}
TileRef Bundle(uint64_t index, uint32_t width = kTileWidth) { return TileRef{true, 0, index, width}; }

TEST(TilePathTest, FormatTileIndex) {
  EXPECT_EQ(FormatTileIndex(0), "000");
  EXPECT_EQ(FormatTileIndex(7), "007");
  EXPECT_EQ(FormatTileIndex(999), "999");
  EXPECT_EQ(FormatTileIndex(1000), "x001/000");
  EXPECT_EQ(FormatTileIndex(1234067), "x001/x234/067");  // the tlog-tiles example
  EXPECT_EQ(FormatTileIndex(1000000), "x001/x000/000");
  EXPECT_EQ(FormatTileIndex(UINT64_MAX), "x018/x446/x744/x073/x709/x551/615");
}

TEST(TilePathTest, SpecExamples) {
  auto full = ParseTilePath("0/x001/x234/067");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, Tile(0, 1234067));
  EXPECT_FALSE(full->entries);
  EXPECT_EQ(full->width, 256u);

  auto entries = ParseTilePath("entries/x001/x234/067");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, Bundle(1234067));

  auto partial = ParseTilePath("1/x001/x234/067.p/17");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(*partial, Tile(1, 1234067, 17));

  auto partial_entries = ParseTilePath("entries/000.p/15");  // as in the Tessera log
  ASSERT_TRUE(partial_entries.ok());
  EXPECT_EQ(*partial_entries, Bundle(0, 15));

  auto top = ParseTilePath("63/000.p/1");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(*top, Tile(63, 0, 1));

  auto widest = ParseTilePath("2/999.p/255");
  ASSERT_TRUE(widest.ok());
  EXPECT_EQ(*widest, Tile(2, 999, 255));

  auto max = ParseTilePath("0/x018/x446/x744/x073/x709/x551/615");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->index, UINT64_MAX);
}

TEST(TilePathTest, FormatTilePath) {
  EXPECT_EQ(FormatTilePath(Tile(0, 1234067)), "0/x001/x234/067");
  EXPECT_EQ(FormatTilePath(Tile(1, 1234067, 17)), "1/x001/x234/067.p/17");
  EXPECT_EQ(FormatTilePath(Tile(0, 0, 112)), "0/000.p/112");
  EXPECT_EQ(FormatTilePath(Tile(63, 5)), "63/005");
  EXPECT_EQ(FormatTilePath(Bundle(0, 15)), "entries/000.p/15");
  EXPECT_EQ(FormatTilePath(Bundle(273)), "entries/273");
  EXPECT_EQ(FormatTilePath(Bundle(1000, 1)), "entries/x001/000.p/1");
}

TEST(TilePathTest, RoundTrip) {
  for (uint64_t index : {uint64_t{0}, uint64_t{1}, uint64_t{999}, uint64_t{1000}, uint64_t{1001},
                         uint64_t{273}, uint64_t{999999}, uint64_t{1000000}, uint64_t{1234067},
                         uint64_t{1} << 40, UINT64_MAX / 256, UINT64_MAX}) {
    for (const TileRef& ref : {Tile(0, index), Tile(5, index, 1), Tile(63, index, 255), Bundle(index),
                               Bundle(index, 128)}) {
      std::string path = FormatTilePath(ref);
      auto parsed = ParseTilePath(path);
      ASSERT_TRUE(parsed.ok()) << path;
      EXPECT_EQ(*parsed, ref) << path;
      EXPECT_EQ(FormatTilePath(*parsed), path);
    }
  }
}

TEST(TilePathTest, Rejections) {
  for (const std::string path : {
           "",                      // empty
           "0",                     // no index
           "0/",                    // empty index
           "/000",                  // empty level
           "00/000",                // leading zero in level
           "01/000",                // leading zero in level
           "064/000",               // leading zero in level
           "64/000",                // level 64
           "100/000",               // level too large
           "-1/000",                // signed level
           "+1/000",                // signed level
           "a/000",                 // not a level
           "Entries/000",           // not "entries"
           "entry/000",             // not "entries"
           "0/000.p/0",             // width 0
           "0/000.p/256",           // width 256 (a full tile has no .p/)
           "0/000.p/300",           // width too large
           "0/000.p/01",            // leading zero in width
           "0/000.p/",              // empty width
           "0/000.p",               // no width
           "0/000.p/5/",            // trailing slash after the width
           "0/000.p/x5",            // not a width
           "0/000.q/5",             // not .p
           "0/001/234",             // first element lacks its x
           "0/x001/234/x567",       // x on the last element
           "0/x001",                // x on the only element
           "0/x001/x234",           // x on the last element
           "0/01",                  // two-digit element
           "0/1",                   // one-digit element
           "0/x01/234",             // two-digit non-last element
           "0/x001/34",             // two-digit last element
           "0/0001",                // four-digit element
           "0/x0001/234",           // four-digit non-last element
           "0/000/",                // trailing slash
           "0/x001/",               // trailing slash
           "0/x001//234",           // empty element
           "0//000",                // empty element
           "0/ 000",                // space
           "0/00a",                 // not digits
           "0/xx001/234",           // double x
           "0/X001/234",            // capital X
           "0/x018/x446/x744/x073/x709/x551/616",       // 2^64
           "0/x999/x999/x999/x999/x999/x999/x999/999",  // far beyond 2^64
           "tile/0/000",            // "tile/" is not part of the path
           "0/x000/001",            // non-canonical: index 1 is "001"
           "0/x000/x001/000",       // non-canonical: index 1000 is "x001/000"
           "entries/x000/000.p/1",  // non-canonical: index 0 is "000"
       }) {
    auto r = ParseTilePath(path);
    EXPECT_FALSE(r.ok()) << "accepted \"" << path << "\"";
  }
}

// ---------------------------------------------------------------------------------------
// Hash tiles from a tree.

// What the spec says a tree of size s consists of at tile level l: floor(s / 256^(l+1))
// full tiles and, if non-zero, one partial tile of floor(s / 256^l) mod 256 hashes.
struct LevelShape {
  uint64_t full;
  uint64_t partial_width;
};
LevelShape Shape(uint64_t s, int l) {
  uint64_t div = 1;
  for (int i = 0; i < l; ++i) div *= 256;
  return {s / div / 256, (s / div) % 256};
}

MerkleTree TreeOfSize(uint64_t n, std::vector<Hash>* leaves = nullptr) {
  MerkleTree t;
  for (uint64_t i = 0; i < n; ++i) {
    Hash h = LeafHash("entry " + std::to_string(i));
    t.Append(h);
    if (leaves) leaves->push_back(h);
  }
  return t;
}

TEST(HashTileTest, TreeOfSize70000) {
  // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
  // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
  // 17, and one partial level 2 tile of width 1."
  EXPECT_EQ(Shape(70000, 0).full, 273u);
  EXPECT_EQ(Shape(70000, 0).partial_width, 112u);
  EXPECT_EQ(Shape(70000, 1).full, 1u);
  EXPECT_EQ(Shape(70000, 1).partial_width, 17u);
  EXPECT_EQ(Shape(70000, 2).full, 0u);
  EXPECT_EQ(Shape(70000, 2).partial_width, 1u);
  EXPECT_EQ(Shape(70000, 3).full, 0u);
  EXPECT_EQ(Shape(70000, 3).partial_width, 0u);

  std::vector<Hash> leaves;
  MerkleTree t = TreeOfSize(70000, &leaves);
  const struct {
    int level;
    uint64_t full;
    uint32_t partial;
  } want[] = {{0, 273, 112}, {1, 1, 17}, {2, 0, 1}, {3, 0, 0}};
  for (const auto& w : want) {
    SCOPED_TRACE(::testing::Message() << "level " << w.level);
    for (uint64_t i = 0; i < w.full; ++i) {
      auto tile = ReadHashTile(t, Tile(w.level, i));
      ASSERT_TRUE(tile.ok()) << i;
      EXPECT_EQ(tile->size(), 8192u);
    }
    // No further full tile.
    auto next_full = ReadHashTile(t, Tile(w.level, w.full));
    ASSERT_FALSE(next_full.ok());
    EXPECT_EQ(next_full.error().code, ErrorCode::kNotFound);
    if (w.partial > 0) {
      auto partial = ReadHashTile(t, Tile(w.level, w.full, w.partial));
      ASSERT_TRUE(partial.ok());
      EXPECT_EQ(partial->size(), w.partial * 32u);
      // Narrower partial tiles are prefixes of it (served for earlier checkpoints).
      auto narrower = ReadHashTile(t, Tile(w.level, w.full, 1));
      ASSERT_TRUE(narrower.ok());
      EXPECT_EQ(*narrower, partial->substr(0, 32));
    }
    // One hash wider than exists: not yet in the log.
    auto wider = ReadHashTile(t, Tile(w.level, w.full, w.partial + 1));
    ASSERT_FALSE(wider.ok());
    EXPECT_EQ(wider.error().code, ErrorCode::kNotFound);
  }

  // Contents: level 0 holds leaf hashes; each level-1 hash is the MTH of the 256 leaves it
  // spans; the level-2 partial tile's single hash is the MTH of the first 65536 leaves.
  std::span<const Hash> all(leaves);
  auto l0 = *ReadHashTile(t, Tile(0, 273, 112));
  for (uint32_t i = 0; i < 112; ++i) {
    EXPECT_EQ(l0.substr(i * 32, 32), crypto::AsBytes(leaves[273 * 256 + i]));
  }
  auto l1_full = *ReadHashTile(t, Tile(1, 0));
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{128}, uint64_t{255}}) {
    Hash mth = RootFromLeafHashes(all.subspan(i * 256, 256));
    EXPECT_EQ(l1_full.substr(i * 32, 32), crypto::AsBytes(mth)) << i;
  }
  auto l1_partial = *ReadHashTile(t, Tile(1, 1, 17));
  Hash mth_last = RootFromLeafHashes(all.subspan((256 + 16) * 256, 256));
  EXPECT_EQ(l1_partial.substr(16 * 32, 32), crypto::AsBytes(mth_last));
  auto l2 = *ReadHashTile(t, Tile(2, 0, 1));
  EXPECT_EQ(l2, crypto::AsBytes(RootFromLeafHashes(all.first(65536))));
  // The MTH of a full level-1 tile's hashes is the MTH of the leaves below it.
  std::vector<Hash> l1_hashes(256);
  for (size_t i = 0; i < 256; ++i) std::copy_n(l1_full.data() + i * 32, 32, l1_hashes[i].begin());
  EXPECT_EQ(RootFromLeafHashes(l1_hashes), RootFromLeafHashes(all.first(65536)));
}

TEST(HashTileTest, TreeOfSize256) {
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
  // tile of width 1."
  std::vector<Hash> leaves;
  MerkleTree t = TreeOfSize(256, &leaves);
  EXPECT_TRUE(ReadHashTile(t, Tile(0, 0)).ok());
  EXPECT_FALSE(ReadHashTile(t, Tile(0, 1, 1)).ok());
  auto l1 = ReadHashTile(t, Tile(1, 0, 1));
  ASSERT_TRUE(l1.ok());
  EXPECT_EQ(*l1, crypto::AsBytes(RootFromLeafHashes(leaves)));
  EXPECT_FALSE(ReadHashTile(t, Tile(1, 0, 2)).ok());
  EXPECT_FALSE(ReadHashTile(t, Tile(2, 0, 1)).ok());
  // A partial level-0 tile never feeds level 1: at 255 leaves there is no level-1 tile.
  MerkleTree t255 = TreeOfSize(255);
  EXPECT_TRUE(ReadHashTile(t255, Tile(0, 0, 255)).ok());
  EXPECT_FALSE(ReadHashTile(t255, Tile(0, 0)).ok());
  EXPECT_FALSE(ReadHashTile(t255, Tile(1, 0, 1)).ok());
}

TEST(HashTileTest, NotHashTiles) {
  MerkleTree t = TreeOfSize(10);
  EXPECT_FALSE(ReadHashTile(t, Bundle(0, 10)).ok());
  EXPECT_FALSE(ReadHashTile(t, Tile(8, 0, 1)).ok());   // level 64 in tree levels
  EXPECT_FALSE(ReadHashTile(t, Tile(63, 0, 1)).ok());
  EXPECT_FALSE(ReadHashTile(t, Tile(0, UINT64_MAX, 1)).ok());
  EXPECT_FALSE(ReadHashTile(t, Tile(0, UINT64_MAX / 256, 255)).ok());
  EXPECT_FALSE(ReadHashTile(MerkleTree(), Tile(0, 0, 1)).ok());
}

// ---------------------------------------------------------------------------------------
// Entry bundles.

TEST(EntryBundleTest, KnownEncoding) {
  // Big-endian uint16 length prefixes.
  EXPECT_EQ(EncodeEntryBundle({}), "");
  EXPECT_EQ(EncodeEntryBundle({""}), std::string("\x00\x00", 2));
  EXPECT_EQ(EncodeEntryBundle({"one", "two", "three"}),
            std::string("\x00\x03one\x00\x03two\x00\x05three", 17));
  EXPECT_EQ(EncodeEntryBundle({std::string(258, 'a')}).substr(0, 3), std::string("\x01\x02" "a", 3));
}

TEST(EntryBundleTest, RoundTrip) {
  std::vector<std::string> entries = {"", "a", std::string("\x00\xff\x00", 3), std::string(255, 'b'),
                                      std::string(256, 'c'), std::string(kMaxEntryBytes, 'd'), "end"};
  auto decoded = DecodeEntryBundle(EncodeEntryBundle(entries));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, entries);

  std::vector<std::string> full;
  for (int i = 0; i < 256; ++i) full.push_back("entry " + std::to_string(i));
  auto full_decoded = DecodeEntryBundle(EncodeEntryBundle(full));
  ASSERT_TRUE(full_decoded.ok());
  EXPECT_EQ(*full_decoded, full);

  auto empty = DecodeEntryBundle("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(EntryBundleTest, TruncationAndGarbage) {
  const std::string good = EncodeEntryBundle({"one", "two", "three"});
  // Every strict prefix that does not end on an entry boundary is malformed.
  for (size_t len = 1; len < good.size(); ++len) {
    if (len == 5 || len == 10) continue;  // after "one" and after "two"
    auto r = DecodeEntryBundle(good.substr(0, len));
    EXPECT_FALSE(r.ok()) << len;
    if (!r.ok()) { EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << len; }
  }
  EXPECT_FALSE(DecodeEntryBundle(good + std::string(1, '\0')).ok());  // a lone trailing byte
  EXPECT_FALSE(DecodeEntryBundle(good + std::string("\x00\x01", 2)).ok());  // a length with no entry
  EXPECT_FALSE(DecodeEntryBundle(std::string("\xff\xff", 2) + "abc").ok());
  // More than a full tile's worth of entries is not a bundle.
  std::vector<std::string> too_many(257, "x");
  EXPECT_FALSE(DecodeEntryBundle(EncodeEntryBundle(too_many)).ok());
}

// ---------------------------------------------------------------------------------------
// The Tessera test log (shared/interop/tessera-testlog): tiles written by another
// implementation.

const std::vector<std::string> kTesseraLeaves = {
    "one", "two", "three", "four", "five", "six", "seven", "eit",
    "nain", "ten", "ileven", "twelf", "threeten", "fourten", "fivten"};

std::string FixtureDir() { return testing::TesseraDir(); }

std::string ReadFile(const std::string& path) { return testing::ReadFixture(path); }

std::vector<Hash> TesseraLeafHashes(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(LeafHash(kTesseraLeaves[i]));
  return out;
}

TEST(TesseraFixtureTest, FixtureIsPresent) {
  ASSERT_TRUE(std::filesystem::is_directory(FixtureDir())) << FixtureDir();
  ASSERT_TRUE(std::filesystem::exists(FixtureDir() + "/checkpoint"));
}

TEST(TesseraFixtureTest, LevelZeroTilesAreLeafHashes) {
  for (size_t n = 1; n <= 15; ++n) {
    std::string rel = "tile/" + FormatTilePath(Tile(0, 0, static_cast<uint32_t>(n)));
    EXPECT_EQ(rel, "tile/0/000.p/" + std::to_string(n));
    std::string tile = ReadFile(FixtureDir() + "/" + rel);
    ASSERT_EQ(tile.size(), n * 32) << rel;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(tile.substr(i * 32, 32), crypto::AsBytes(LeafHash(kTesseraLeaves[i]))) << rel << " #" << i;
    }
    // Our tree serves the same bytes for the same path.
    MerkleTree t;
    for (const Hash& h : TesseraLeafHashes(n)) t.Append(h);
    auto ours = ReadHashTile(t, *ParseTilePath(rel.substr(5)));
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(*ours, tile) << rel;
  }
}

TEST(TesseraFixtureTest, EntryBundlesDecode) {
  for (size_t n = 1; n <= 15; ++n) {
    std::string rel = "tile/" + FormatTilePath(Bundle(0, static_cast<uint32_t>(n)));
    EXPECT_EQ(rel, "tile/entries/000.p/" + std::to_string(n));
    std::string bundle = ReadFile(FixtureDir() + "/" + rel);
    auto entries = DecodeEntryBundle(bundle);
    ASSERT_TRUE(entries.ok()) << rel << ": " << entries.error().message;
    std::vector<std::string> want(kTesseraLeaves.begin(), kTesseraLeaves.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_EQ(*entries, want) << rel;
    EXPECT_EQ(EncodeEntryBundle(want), bundle) << rel;  // byte-identical to Tessera's
  }
}

TEST(TesseraFixtureTest, CheckpointsMatchLeaves) {
  for (size_t n = 0; n <= 15; ++n) {
    std::string raw = ReadFile(FixtureDir() + "/checkpoint." + std::to_string(n));
    size_t blank = raw.rfind("\n\n");
    ASSERT_NE(blank, std::string::npos);
    auto cp = ParseCheckpoint(raw.substr(0, blank + 1));
    ASSERT_TRUE(cp.ok()) << n << ": " << cp.error().message;
    EXPECT_EQ(cp->origin, "example.com/log/testdata");
    EXPECT_EQ(cp->size, n);
    EXPECT_TRUE(cp->extensions.empty());
    EXPECT_EQ(cp->root, RootFromLeafHashes(TesseraLeafHashes(n))) << n;
    MerkleTree t;
    for (const Hash& h : TesseraLeafHashes(15)) t.Append(h);
    EXPECT_EQ(cp->root, *t.Root(n)) << n;
    EXPECT_EQ(FormatCheckpoint(*cp), raw.substr(0, blank + 1));
  }
  // The empty log's root is SHA-256 of nothing.
  std::string raw0 = ReadFile(FixtureDir() + "/checkpoint.0");
  EXPECT_NE(raw0.find("\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"), std::string::npos);
  // "checkpoint" is the latest, size 15.
  std::string latest = ReadFile(FixtureDir() + "/checkpoint");
  EXPECT_EQ(latest, ReadFile(FixtureDir() + "/checkpoint.15"));
}

}  // namespace
}  // namespace cloudpact::ledger
