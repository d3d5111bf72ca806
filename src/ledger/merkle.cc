#include "ledger/merkle.h"

#include <bit>

namespace cloudpact::ledger {

Hash LeafHash(std::string_view entry) { return crypto::Sha256({std::string_view("\x00", 1), entry}); }

Hash NodeHash(const Hash& left, const Hash& right) {
  return crypto::Sha256({std::string_view("\x01", 1), crypto::AsBytes(left), crypto::AsBytes(right)});
}

Hash EmptyRoot() { return crypto::Sha256(std::string_view()); }

uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

void MerkleTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Each time a level gains an even-indexed right sibling, the parent becomes complete.
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size()) levels_.emplace_back();
    auto& cur = levels_[level];
    levels_[level + 1].push_back(NodeHash(cur[cur.size() - 2], cur[cur.size() - 1]));
  }
}

Hash MerkleTree::RangeHash(uint64_t begin, uint64_t end) const {
  uint64_t n = end - begin;
  if (std::has_single_bit(n)) {
    int level = std::countr_zero(n);
    return levels_[level][begin >> level];
  }
  uint64_t k = SplitPoint(n);
  return NodeHash(RangeHash(begin, begin + k), RangeHash(begin + k, end));
}

Result<Hash> MerkleTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return MakeError(ErrorCode::kOutOfRange, "tree size " + std::to_string(tree_size) +
                                                 " is beyond the log size " + std::to_string(size()));
  }
  if (tree_size == 0) return EmptyRoot();
  return RangeHash(0, tree_size);
}

void MerkleTree::Path(uint64_t m, uint64_t begin, uint64_t end, std::vector<Hash>& out) const {
  uint64_t n = end - begin;
  if (n == 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out.push_back(RangeHash(begin + k, end));
  } else {
    Path(m - k, begin + k, end, out);
    out.push_back(RangeHash(begin, begin + k));
  }
}

Result<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index, uint64_t tree_size) const {
  if (tree_size > size()) {
    return MakeError(ErrorCode::kOutOfRange, "tree size " + std::to_string(tree_size) +
                                                 " is beyond the log size " + std::to_string(size()));
  }
  if (index >= tree_size) {
    return MakeError(ErrorCode::kOutOfRange, "index " + std::to_string(index) +
                                                 " is not below tree size " + std::to_string(tree_size));
  }
  std::vector<Hash> out;
  Path(index, 0, tree_size, out);
  return out;
}

void MerkleTree::SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole,
                          std::vector<Hash>& out) const {
  uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(RangeHash(begin, end));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, whole, out);
    out.push_back(RangeHash(begin + k, end));
  } else {
    SubProof(m - k, begin + k, end, false, out);
    out.push_back(RangeHash(begin, begin + k));
  }
}

Result<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t m, uint64_t n) const {
  if (n > size()) {
    return MakeError(ErrorCode::kOutOfRange, "tree size " + std::to_string(n) +
                                                 " is beyond the log size " + std::to_string(size()));
  }
  if (m > n) {
    return MakeError(ErrorCode::kOutOfRange, "from " + std::to_string(m) + " is larger than to " +
                                                 std::to_string(n));
  }
  std::vector<Hash> out;
  if (m == 0 || m == n) return out;
  SubProof(m, 0, n, true, out);
  return out;
}

Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) return MakeError(ErrorCode::kInvalidArgument, "inclusion: index not below size");
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return MakeError(ErrorCode::kInvalidArgument, "inclusion: proof too long");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return MakeError(ErrorCode::kInvalidArgument, "inclusion: proof too short");
  if (r != root) return MakeError(ErrorCode::kDataLoss, "inclusion: computed root does not match");
  return OkStatus();
}

Status VerifyConsistency(uint64_t m, uint64_t n, const Hash& root_m, const Hash& root_n,
                         std::span<const Hash> proof) {
  if (m > n) return MakeError(ErrorCode::kInvalidArgument, "consistency: first size above second");
  if (m == n) {
    if (!proof.empty()) return MakeError(ErrorCode::kInvalidArgument, "consistency: proof must be empty");
    if (root_m != root_n) return MakeError(ErrorCode::kDataLoss, "consistency: roots of equal sizes differ");
    return OkStatus();
  }
  if (m == 0) {
    if (!proof.empty()) return MakeError(ErrorCode::kInvalidArgument, "consistency: proof must be empty");
    return OkStatus();
  }
  if (proof.empty()) return MakeError(ErrorCode::kInvalidArgument, "consistency: empty proof");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(m)) path.push_back(root_m);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = m - 1, sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return MakeError(ErrorCode::kInvalidArgument, "consistency: proof too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return MakeError(ErrorCode::kInvalidArgument, "consistency: proof too short");
  if (fr != root_m || sr != root_n) {
    return MakeError(ErrorCode::kDataLoss, "consistency: computed roots do not match");
  }
  return OkStatus();
}

Hash RootFromLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = SplitPoint(leaves.size());
  return NodeHash(RootFromLeafHashes(leaves.subspan(0, k)), RootFromLeafHashes(leaves.subspan(k)));
}

}  // namespace cloudpact::ledger
