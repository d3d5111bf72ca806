#include "ledger/tiles.h"

#include "core/encoding.h"

namespace cloudpact::ledger {
namespace {

Result<uint32_t> ParseSmall(std::string_view s, uint32_t max) {
  auto v = ParseDecimal(s);
  if (!v.ok() || *v > max) return MakeError(ErrorCode::kNotFound, "tile path: bad number");
  return static_cast<uint32_t>(*v);
}

Result<uint64_t> ParseIndex(std::string_view s) {
  // Elements: "xNNN/" ... "NNN", each exactly three digits.
  uint64_t index = 0;
  size_t elements = 0;
  while (true) {
    bool last = s.empty() || s[0] != 'x';
    if (!last) s.remove_prefix(1);
    if (s.size() < 3) return MakeError(ErrorCode::kNotFound, "tile path: bad index element");
    for (int i = 0; i < 3; ++i) {
      if (s[i] < '0' || s[i] > '9') return MakeError(ErrorCode::kNotFound, "tile path: bad index element");
    }
    uint64_t group = static_cast<uint64_t>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    if (++elements > 7 || index > (UINT64_MAX - group) / 1000) {
      return MakeError(ErrorCode::kNotFound, "tile path: index too large");
    }
    // Only the canonical encoding: "x000/001" would be a second name for "001".
    if (elements == 1 && !last && group == 0) {
      return MakeError(ErrorCode::kNotFound, "tile path: non-canonical index");
    }
    index = index * 1000 + group;
    s.remove_prefix(3);
    if (last) {
      if (!s.empty()) return MakeError(ErrorCode::kNotFound, "tile path: trailing characters");
      return index;
    }
    if (s.empty() || s[0] != '/') return MakeError(ErrorCode::kNotFound, "tile path: bad index element");
    s.remove_prefix(1);
  }
}

}  // namespace

std::string FormatTileIndex(uint64_t index) {
  std::vector<uint64_t> groups;
  do {
    groups.push_back(index % 1000);
    index /= 1000;
  } while (index > 0);
  std::string out;
  char buf[8];
  for (size_t i = groups.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, i == 0 ? "%03u" : "x%03u/", static_cast<unsigned>(groups[i]));
    out += buf;
  }
  return out;
}

std::string FormatTilePath(const TileRef& ref) {
  std::string out = ref.entries ? "entries/" : std::to_string(ref.level) + "/";
  out += FormatTileIndex(ref.index);
  if (ref.width < kTileWidth) out += ".p/" + std::to_string(ref.width);
  return out;
}

Result<TileRef> ParseTilePath(std::string_view path) {
  TileRef ref;
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return MakeError(ErrorCode::kNotFound, "tile path: no level");
  std::string_view head = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  if (head == "entries") {
    ref.entries = true;
  } else {
    ASSIGN_OR_RETURN(uint32_t level, ParseSmall(head, 63));
    ref.level = static_cast<int>(level);
  }
  size_t p = path.find(".p/");
  if (p != std::string_view::npos) {
    ASSIGN_OR_RETURN(uint32_t width, ParseSmall(path.substr(p + 3), kTileWidth - 1));
    if (width == 0) return MakeError(ErrorCode::kNotFound, "tile path: width must be 1..255");
    ref.width = width;
    path = path.substr(0, p);
  }
  ASSIGN_OR_RETURN(ref.index, ParseIndex(path));
  return ref;
}

Result<std::string> ReadHashTile(const MerkleTree& tree, const TileRef& ref) {
  int level = ref.level * kTileHeight;
  if (ref.entries || level >= 64) return MakeError(ErrorCode::kNotFound, "no such tile");
  if (ref.index > (UINT64_MAX - ref.width) / kTileWidth) return MakeError(ErrorCode::kNotFound, "no such tile");
  uint64_t first = ref.index * kTileWidth;
  uint64_t count = tree.NodeCount(level);
  if (first + ref.width > count) return MakeError(ErrorCode::kNotFound, "tile not yet in the log");
  std::string out;
  out.reserve(ref.width * 32);
  for (uint64_t i = 0; i < ref.width; ++i) out.append(crypto::AsBytes(tree.Node(level, first + i)));
  return out;
}

std::string EncodeEntryBundle(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += static_cast<char>((e.size() >> 8) & 0xff);
    out += static_cast<char>(e.size() & 0xff);
    out += e;
  }
  return out;
}

Result<std::vector<std::string>> DecodeEntryBundle(std::string_view bundle) {
  std::vector<std::string> out;
  while (!bundle.empty()) {
    if (bundle.size() < 2 || out.size() >= kTileWidth) {
      return MakeError(ErrorCode::kInvalidArgument, "entry bundle: malformed");
    }
    size_t len = (static_cast<uint8_t>(bundle[0]) << 8) | static_cast<uint8_t>(bundle[1]);
    bundle.remove_prefix(2);
    if (bundle.size() < len) return MakeError(ErrorCode::kInvalidArgument, "entry bundle: truncated");
    out.emplace_back(bundle.substr(0, len));
    bundle.remove_prefix(len);
  }
  return out;
}

}  // namespace cloudpact::ledger
