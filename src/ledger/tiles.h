// C2SP tlog-tiles: tile and entry-bundle paths, tile contents from a MerkleTree, and entry
// bundles (big-endian uint16 length-prefixed entries).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ledger/merkle.h"

namespace cloudpact::ledger {

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;
inline constexpr size_t kMaxEntryBytes = 65535;  // what a uint16 length prefix can carry
// The largest tile resource: a full bundle of maximal entries (just under 16 MiB). Clients
// refuse anything larger from a log.
inline constexpr size_t kMaxBundleBytes = kTileWidth * (kMaxEntryBytes + 2);

struct TileRef {
  bool entries = false;  // tile/entries/... (an entry bundle) rather than tile/<L>/...
  int level = 0;         // 0..63, for hash tiles
  uint64_t index = 0;
  uint32_t width = kTileWidth;  // 1..256; 256 is a full tile (no .p/ suffix)
  bool operator==(const TileRef&) const = default;
};

// Parses the part of a URL path after "<prefix>/tile/": "0/x001/234.p/7", "entries/000".
// Rejects anything the spec does not allow (leading zeroes, missing x, width 0 or 256...).
Result<TileRef> ParseTilePath(std::string_view path);
std::string FormatTilePath(const TileRef& ref);  // the inverse, without "tile/"
std::string FormatTileIndex(uint64_t index);     // 1234067 -> "x001/x234/067"

// The tile's bytes from the tree, or kNotFound if the tree does not yet hold them.
Result<std::string> ReadHashTile(const MerkleTree& tree, const TileRef& ref);

std::string EncodeEntryBundle(const std::vector<std::string>& entries);
// Decodes a bundle; kInvalidArgument on truncation or trailing bytes.
Result<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle);

}  // namespace cloudpact::ledger
