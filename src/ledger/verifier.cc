#include "ledger/verifier.h"

#include <bit>
#include <filesystem>

#include "core/encoding.h"
#include "core/files.h"
#include "core/json.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"

namespace cloudpact::ledger {
namespace {

class DirectorySource final : public TileSource {
 public:
  explicit DirectorySource(std::string dir) : dir_(std::move(dir)) {}
  Result<std::string> Get(const std::string& path) override {
    std::filesystem::path p = std::filesystem::path(dir_) / path;
    std::error_code ec;
    uintmax_t size = std::filesystem::file_size(p, ec);
    if (ec) return MakeError(ErrorCode::kNotFound, "cannot read " + p.string() + ": " + ec.message());
    if (size > kMaxBundleBytes) {
      return MakeError(ErrorCode::kResourceExhausted, p.string() + " is larger than any tile or bundle can be");
    }
    return ReadFile(p);
  }

 private:
  std::string dir_;
};

Hash ToHash(std::string_view bytes) {
  Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

// Hashes the tile at (level, index) must hold, from the tree we rebuilt from level 0.
Status CheckTile(TileSource& source, const MerkleTree& tree, int tile_level, uint64_t index,
                 uint32_t width, VerifyReport& report) {
  TileRef ref{false, tile_level, index, width};
  std::string path = "tile/" + FormatTilePath(ref);
  ASSIGN_OR_RETURN(std::string tile, source.Get(path));
  if (tile.size() != width * 32u) {
    return MakeError(ErrorCode::kDataLoss, path + ": " + std::to_string(tile.size()) +
                                               " bytes, expected " + std::to_string(width * 32));
  }
  int level = tile_level * kTileHeight;
  for (uint32_t i = 0; i < width; ++i) {
    if (ToHash(std::string_view(tile).substr(i * 32, 32)) != tree.Node(level, index * kTileWidth + i)) {
      return MakeError(ErrorCode::kDataLoss, path + ": hash " + std::to_string(i) +
                                                 " does not match the hashes below it");
    }
  }
  ++report.tiles_checked;
  return OkStatus();
}

}  // namespace

std::unique_ptr<TileSource> DirectoryTileSource(std::string dir) {
  return std::make_unique<DirectorySource>(std::move(dir));
}

namespace {

// A compact range over [0, n): perfect-subtree roots, largest first, with their heights.
struct CompactRange {
  std::vector<std::pair<int, Hash>> nodes;

  static Result<CompactRange> FromFrontier(uint64_t size, const std::vector<Hash>& frontier) {
    CompactRange r;
    if (static_cast<size_t>(std::popcount(size)) != frontier.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "state file: frontier does not fit the size");
    }
    size_t i = 0;
    for (int h = 63; h >= 0; --h) {
      if (size & (uint64_t{1} << h)) r.nodes.emplace_back(h, frontier[i++]);
    }
    return r;
  }
  void Append(const Hash& leaf) {
    nodes.emplace_back(0, leaf);
    while (nodes.size() >= 2 && nodes[nodes.size() - 2].first == nodes.back().first) {
      auto right = nodes.back();
      nodes.pop_back();
      nodes.back() = {right.first + 1, NodeHash(nodes.back().second, right.second)};
    }
  }
  Hash Root() const {
    if (nodes.empty()) return EmptyRoot();
    Hash r = nodes.back().second;
    for (size_t i = nodes.size() - 1; i-- > 0;) r = NodeHash(nodes[i].second, r);
    return r;
  }
  std::vector<Hash> Frontier() const {
    std::vector<Hash> out;
    for (const auto& n : nodes) out.push_back(n.second);
    return out;
  }
};

// The frontier of the first `size` leaves of a tree that holds at least that many.
std::vector<Hash> FrontierOf(const MerkleTree& tree, uint64_t size) {
  std::vector<Hash> out;
  uint64_t begin = 0;
  for (int h = 63; h >= 0; --h) {
    if (size & (uint64_t{1} << h)) {
      out.push_back(tree.Node(h, begin >> h));
      begin += uint64_t{1} << h;
    }
  }
  return out;
}

// Fetches level-0 tile `index` (width for a tree of `size`), checks its entries if asked,
// and returns its leaf hashes.
Result<std::vector<Hash>> FetchLeafTile(TileSource& source, uint64_t index, uint64_t size, bool check_entries,
                                        VerifyReport& report, const EntryCallback& on_entry = {}) {
  uint32_t width = static_cast<uint32_t>(std::min<uint64_t>(kTileWidth, size - index * kTileWidth));
  TileRef ref{false, 0, index, width};
  std::string path = "tile/" + FormatTilePath(ref);
  ASSIGN_OR_RETURN(std::string tile, source.Get(path));
  if (tile.size() != width * 32u) {
    return MakeError(ErrorCode::kDataLoss, path + ": " + std::to_string(tile.size()) + " bytes, expected " +
                                               std::to_string(width * 32));
  }
  ++report.tiles_checked;
  std::vector<std::string> entries;
  if (check_entries) {
    ref.entries = true;
    std::string bpath = "tile/" + FormatTilePath(ref);
    ASSIGN_OR_RETURN(std::string bundle, source.Get(bpath));
    auto decoded = DecodeEntryBundle(bundle);
    if (!decoded.ok()) return MakeError(ErrorCode::kDataLoss, bpath + ": " + decoded.error().message);
    if (decoded->size() != width) {
      return MakeError(ErrorCode::kDataLoss, bpath + ": " + std::to_string(decoded->size()) + " entries, expected " +
                                                 std::to_string(width));
    }
    entries = std::move(decoded).value();
    report.entries_checked += width;
  }
  std::vector<Hash> hashes;
  for (uint32_t i = 0; i < width; ++i) {
    hashes.push_back(ToHash(std::string_view(tile).substr(i * 32, 32)));
    if (check_entries && LeafHash(entries[i]) != hashes.back()) {
      return MakeError(ErrorCode::kDataLoss, "entry " + std::to_string(index * kTileWidth + i) +
                                                 " does not hash to its level-0 tile hash");
    }
    if (check_entries && on_entry) on_entry(index * kTileWidth + i, entries[i]);
  }
  return hashes;
}

}  // namespace

std::string VerifierState::ToJson() const {
  Json j = {{"origin", origin}, {"size", size}, {"root", Base64Encode(crypto::AsBytes(root))}};
  if (!frontier.empty()) {
    Json f = Json::array();
    for (const auto& h : frontier) f.push_back(Base64Encode(crypto::AsBytes(h)));
    j["frontier"] = f;
  }
  return j.dump(2) + "\n";
}

Result<VerifierState> VerifierState::FromJson(std::string_view text) {
  ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (!j.is_object() || !j.contains("origin") || !j["origin"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned() || !j.contains("root") || !j["root"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "state file: expected {origin, size, root}");
  }
  VerifierState s;
  s.origin = j["origin"].get<std::string>();
  s.size = j["size"].get<uint64_t>();
  auto root = Base64Decode(j["root"].get<std::string>());
  if (!root.ok() || root->size() != 32) return MakeError(ErrorCode::kInvalidArgument, "state file: bad root");
  s.root = ToHash(*root);
  if (j.contains("frontier")) {
    if (!j["frontier"].is_array() || j["frontier"].size() > 64) {
      return MakeError(ErrorCode::kInvalidArgument, "state file: frontier must be at most 64 hashes");
    }
    for (const auto& h : j["frontier"]) {
      auto raw = h.is_string() ? Base64Decode(h.get<std::string>()) : Result<std::string>(Error{});
      if (!raw.ok() || raw->size() != 32) return MakeError(ErrorCode::kInvalidArgument, "state file: bad frontier hash");
      s.frontier.push_back(ToHash(*raw));
    }
    if (static_cast<size_t>(std::popcount(s.size)) != s.frontier.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "state file: frontier does not fit the size");
    }
  }
  return s;
}

Result<VerifyReport> VerifyLog(TileSource& source, const crypto::NoteVerifier& log_key,
                               const VerifyOptions& options) {
  VerifyReport report;
  ASSIGN_OR_RETURN(std::string raw, source.Get("checkpoint"));
  ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(raw));
  auto signed_ok = crypto::VerifyNote(note, {log_key});
  if (!signed_ok.ok()) {
    return MakeError(ErrorCode::kPermissionDenied, "checkpoint signature: " + signed_ok.error().message);
  }
  ASSIGN_OR_RETURN(report.checkpoint, ParseCheckpoint(note.text));
  const Checkpoint& cp = report.checkpoint;
  for (const auto& sig : note.signatures) {
    for (const auto& w : options.witnesses) {
      if (w.name() == sig.name && w.key_id() == sig.key_id && w.Verify(note.text, sig.signature)) {
        report.cosigned_by.push_back(w.name());
      }
    }
  }
  if (options.previous && options.previous->origin != cp.origin) {
    return MakeError(ErrorCode::kDataLoss, "checkpoint origin \"" + cp.origin +
                                               "\" differs from the remembered \"" +
                                               options.previous->origin + "\"");
  }
  if (options.previous && options.previous->size > cp.size) {
    return MakeError(ErrorCode::kDataLoss, "log shrank: remembered size " +
                                               std::to_string(options.previous->size) +
                                               ", checkpoint size " + std::to_string(cp.size));
  }

  if (options.previous && options.incremental && !options.previous->frontier.empty()) {
    // Extend the remembered right edge with the new leaves only. The new root then
    // matches the checkpoint only if the log still holds the old tree as its prefix.
    const VerifierState& prev = *options.previous;
    ASSIGN_OR_RETURN(CompactRange range, CompactRange::FromFrontier(prev.size, prev.frontier));
    if (range.Root() != prev.root) {
      return MakeError(ErrorCode::kInvalidArgument, "state file: frontier does not hash to the remembered root");
    }
    for (uint64_t index = prev.size / kTileWidth; prev.size < cp.size && index * kTileWidth < cp.size; ++index) {
      ASSIGN_OR_RETURN(auto hashes, FetchLeafTile(source, index, cp.size, options.check_entries, report, options.on_entry));
      for (uint64_t i = 0; i < hashes.size(); ++i) {
        if (index * kTileWidth + i >= prev.size) range.Append(hashes[i]);
      }
    }
    if (range.Root() != cp.root) {
      return MakeError(ErrorCode::kDataLoss, "log is inconsistent with the remembered checkpoint of size " +
                                                 std::to_string(prev.size) +
                                                 ", or its new tiles do not hash to the checkpoint root");
    }
    report.incremental = true;
    report.consistent_with_previous = true;
    report.state = VerifierState{cp.origin, cp.size, cp.root, range.Frontier()};
    return report;
  }

  // Level 0: leaf hashes, checked against the entries they claim to hash.
  MerkleTree tree;
  for (uint64_t index = 0; index * kTileWidth < cp.size; ++index) {
    ASSIGN_OR_RETURN(auto hashes, FetchLeafTile(source, index, cp.size, options.check_entries, report, options.on_entry));
    for (const auto& h : hashes) tree.Append(h);
  }

  // Higher tiles: every hash must be the root of the full tile below it.
  for (int tl = 1; tl * kTileHeight < 64; ++tl) {
    uint64_t count = tree.NodeCount(tl * kTileHeight);
    if (count == 0) break;
    for (uint64_t index = 0; index * kTileWidth < count; ++index) {
      uint32_t width = static_cast<uint32_t>(std::min<uint64_t>(kTileWidth, count - index * kTileWidth));
      RETURN_IF_ERROR(CheckTile(source, tree, tl, index, width, report));
    }
  }

  Hash root = *tree.Root(cp.size);
  if (root != cp.root) {
    return MakeError(ErrorCode::kDataLoss, "root recomputed from the tiles (" +
                                               Base64Encode(crypto::AsBytes(root)) +
                                               ") does not match the checkpoint");
  }
  if (options.previous) {
    // The tree we rebuilt contains the old one as a prefix iff its root at the old size
    // matches: the same check a consistency proof makes, without trusting one.
    if (*tree.Root(options.previous->size) != options.previous->root) {
      return MakeError(ErrorCode::kDataLoss,
                       "log is inconsistent with the remembered checkpoint of size " +
                           std::to_string(options.previous->size));
    }
    report.consistent_with_previous = true;
  }
  report.state = VerifierState{cp.origin, cp.size, cp.root, FrontierOf(tree, cp.size)};
  return report;
}

}  // namespace cloudpact::ledger
