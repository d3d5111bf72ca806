// RFC 6962 §2.1 / RFC 9162 §2.1 Merkle trees: hashing, an in-memory append-only tree
// that answers root, inclusion and consistency queries for any earlier size, and the
// verification algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/sha256.h"

namespace cloudpact::ledger {

using crypto::Hash;

Hash LeafHash(std::string_view entry);          // SHA-256(0x00 || entry)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash EmptyRoot();                               // SHA-256() — the root of an empty tree

// Largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n);

// Holds every perfect-subtree hash (2n hashes for n leaves). Not synchronised: the owner
// serialises Append against readers.
class MerkleTree {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }

  // Hash of the perfect subtree of 2^level leaves starting at index << level. Requires
  // index < NodeCount(level).
  const Hash& Node(int level, uint64_t index) const { return levels_[level][index]; }
  uint64_t NodeCount(int level) const {
    return level < static_cast<int>(levels_.size()) ? levels_[level].size() : 0;
  }

  // MTH(D[0:size]); kOutOfRange if size > size().
  Result<Hash> Root(uint64_t tree_size) const;
  // PATH(index, D[0:size]) in RFC order (leaf to root).
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  // PROOF(m, D[0:n]).
  Result<std::vector<Hash>> ConsistencyProof(uint64_t m, uint64_t n) const;

 private:
  // MTH(D[begin:end]) where begin is a multiple of the largest power of two <= end-begin,
  // which holds for every range the RFC algorithms visit.
  Hash RangeHash(uint64_t begin, uint64_t end) const;
  void Path(uint64_t m, uint64_t begin, uint64_t end, std::vector<Hash>& out) const;
  void SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole, std::vector<Hash>& out) const;

  std::vector<std::deque<Hash>> levels_;
};

// RFC 9162 §2.1.3.2. kInvalidArgument on a malformed proof, kDataLoss on a mismatch.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);
// RFC 9162 §2.1.4.2; also accepts m == n (empty proof, equal roots) and m == 0.
Status VerifyConsistency(uint64_t m, uint64_t n, const Hash& root_m, const Hash& root_n,
                         std::span<const Hash> proof);

// MTH over explicit leaf hashes: the reference used by verifiers and tests.
Hash RootFromLeafHashes(std::span<const Hash> leaves);

}  // namespace cloudpact::ledger
