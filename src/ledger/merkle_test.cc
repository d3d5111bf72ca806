#include "ledger/merkle.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"

namespace cloudpact::ledger {
namespace {

Hash H(std::string_view hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok() && bytes->size() == 32) << hex;
  Hash h{};
  if (bytes.ok() && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

std::string Hex(const Hash& h) { return HexEncode(crypto::AsBytes(h)); }

std::vector<Hash> Hs(std::initializer_list<const char*> hexes) {
  std::vector<Hash> out;
  for (const char* h : hexes) out.push_back(H(h));
  return out;
}

// The RFC 6962 test data of the Certificate Transparency reference implementation
// (merkle_tree_test.cc), also used by Trillian and transparency-dev/merkle.
const char* const kLeafData[] = {"",         "00",       "10",
                                 "2021",     "3031",     "40414243",
                                 "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
const char* const kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
constexpr char kEmptyRoot[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct InclusionVector {
  uint64_t index;  // 0-based
  uint64_t size;
  std::vector<Hash> proof;
};
struct ConsistencyVector {
  uint64_t m, n;
  std::vector<Hash> proof;
};

std::vector<InclusionVector> InclusionVectors() {
  return {
      {0, 1, {}},
      {0, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       Hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, Hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       Hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
}

std::vector<ConsistencyVector> ConsistencyVectors() {
  return {
      {1, 1, {}},
      {1, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       Hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
}

std::vector<Hash> VectorLeafHashes() {
  std::vector<Hash> out;
  for (const char* d : kLeafData) out.push_back(LeafHash(*HexDecode(d)));
  return out;
}

MerkleTree VectorTree() {
  MerkleTree t;
  for (const Hash& h : VectorLeafHashes()) t.Append(h);
  return t;
}

std::vector<Hash> With(std::vector<Hash> v, size_t at, const Hash& h) {
  v.insert(v.begin() + static_cast<ptrdiff_t>(at), h);
  return v;
}

// ---------------------------------------------------------------------------------------
// Known answers.

TEST(MerkleTest, HashingPrimitives) {
  EXPECT_EQ(Hex(EmptyRoot()), kEmptyRoot);
  // SHA-256(0x00): the leaf hash of the empty entry, also the CT size-1 root.
  EXPECT_EQ(Hex(LeafHash("")), kRoots[0]);
  // Root of two leaves is SHA-256(0x01 || l0 || l1).
  auto leaves = VectorLeafHashes();
  EXPECT_EQ(Hex(NodeHash(leaves[0], leaves[1])), kRoots[1]);
  EXPECT_EQ(SplitPoint(2), 1u);
  EXPECT_EQ(SplitPoint(3), 2u);
  EXPECT_EQ(SplitPoint(4), 2u);
  EXPECT_EQ(SplitPoint(5), 4u);
  EXPECT_EQ(SplitPoint(8), 4u);
  EXPECT_EQ(SplitPoint(9), 8u);
  EXPECT_EQ(SplitPoint(1025), 1024u);
  EXPECT_EQ(SplitPoint(uint64_t{1} << 63), uint64_t{1} << 62);
}

TEST(MerkleTest, EmptyTree) {
  MerkleTree t;
  EXPECT_EQ(t.size(), 0u);
  auto root = t.Root(0);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Hex(*root), kEmptyRoot);
  EXPECT_EQ(Hex(RootFromLeafHashes({})), kEmptyRoot);
  auto r1 = t.Root(1);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, ErrorCode::kOutOfRange);
  auto p = t.InclusionProof(0, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kOutOfRange);
  auto c = t.ConsistencyProof(0, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
}

TEST(MerkleTest, Rfc6962RootVectors) {
  MerkleTree t = VectorTree();
  ASSERT_EQ(t.size(), 8u);
  auto leaves = VectorLeafHashes();
  for (uint64_t n = 1; n <= 8; ++n) {
    auto root = t.Root(n);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(Hex(*root), kRoots[n - 1]) << "size " << n;
    EXPECT_EQ(Hex(RootFromLeafHashes(std::span<const Hash>(leaves).first(n))), kRoots[n - 1]) << n;
    // A tree built only up to n agrees.
    MerkleTree prefix;
    for (uint64_t i = 0; i < n; ++i) prefix.Append(leaves[i]);
    EXPECT_EQ(Hex(*prefix.Root(n)), kRoots[n - 1]) << n;
  }
  EXPECT_EQ(Hex(*t.Root(0)), kEmptyRoot);
}

TEST(MerkleTest, Rfc6962InclusionVectors) {
  MerkleTree t = VectorTree();
  auto leaves = VectorLeafHashes();
  for (const auto& v : InclusionVectors()) {
    SCOPED_TRACE(::testing::Message() << "index " << v.index << " size " << v.size);
    auto proof = t.InclusionProof(v.index, v.size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, v.proof);
    const Hash root = H(kRoots[v.size - 1]);
    const Hash leaf = leaves[v.index];
    EXPECT_TRUE(VerifyInclusion(v.index, v.size, leaf, v.proof, root).ok());

    // The corruptions of transparency-dev/merkle's test-data generator.
    const Hash some = H("abacaba000000000000000000000000000000000000000000060061e00123456");
    std::vector<std::pair<std::string, Status>> bad;
    if (v.index > 0) bad.push_back({"index - 1", VerifyInclusion(v.index - 1, v.size, leaf, v.proof, root)});
    bad.push_back({"index + 1", VerifyInclusion(v.index + 1, v.size, leaf, v.proof, root)});
    bad.push_back({"index ^ 2", VerifyInclusion(v.index ^ 2, v.size, leaf, v.proof, root)});
    bad.push_back({"size * 2", VerifyInclusion(v.index, v.size * 2, leaf, v.proof, root)});
    bad.push_back({"size / 2", VerifyInclusion(v.index, v.size / 2, leaf, v.proof, root)});
    bad.push_back({"wrong leaf", VerifyInclusion(v.index, v.size, LeafHash("WrongLeaf"), v.proof, root)});
    bad.push_back({"empty root", VerifyInclusion(v.index, v.size, leaf, v.proof, EmptyRoot())});
    bad.push_back({"random root", VerifyInclusion(v.index, v.size, leaf, v.proof, some)});
    bad.push_back({"trailing root", VerifyInclusion(v.index, v.size, leaf, With(v.proof, v.proof.size(), root), root)});
    bad.push_back({"preceding root", VerifyInclusion(v.index, v.size, leaf, With(v.proof, 0, root), root)});
    for (size_t i = 0; i < v.proof.size(); ++i) {
      auto p = v.proof;
      p[i][0] ^= 8;
      bad.push_back({"bit flip " + std::to_string(i), VerifyInclusion(v.index, v.size, leaf, p, root)});
    }
    if (!v.proof.empty()) {
      std::vector<Hash> shorter(v.proof.begin(), v.proof.end() - 1);
      bad.push_back({"removed component", VerifyInclusion(v.index, v.size, leaf, shorter, root)});
    }
    if (v.proof.size() > 1) {
      bad.push_back({"inserted component", VerifyInclusion(v.index, v.size, leaf, With(v.proof, 1, some), root)});
    }
    for (const auto& [what, status] : bad) EXPECT_FALSE(status.ok()) << what;
  }
}

TEST(MerkleTest, Rfc6962ConsistencyVectors) {
  MerkleTree t = VectorTree();
  for (const auto& v : ConsistencyVectors()) {
    SCOPED_TRACE(::testing::Message() << v.m << " -> " << v.n);
    auto proof = t.ConsistencyProof(v.m, v.n);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, v.proof);
    const Hash r1 = H(kRoots[v.m - 1]), r2 = H(kRoots[v.n - 1]);
    EXPECT_TRUE(VerifyConsistency(v.m, v.n, r1, r2, v.proof).ok());
    if (v.proof.empty()) continue;

    std::vector<std::pair<std::string, Status>> bad;
    bad.push_back({"m - 1", VerifyConsistency(v.m - 1, v.n, r1, r2, v.proof)});
    bad.push_back({"m + 1", VerifyConsistency(v.m + 1, v.n, r1, r2, v.proof)});
    bad.push_back({"m ^ 2", VerifyConsistency(v.m ^ 2, v.n, r1, r2, v.proof)});
    bad.push_back({"n * 2", VerifyConsistency(v.m, v.n * 2, r1, r2, v.proof)});
    bad.push_back({"n / 2", VerifyConsistency(v.m, v.n / 2, r1, r2, v.proof)});
    bad.push_back({"wrong root1", VerifyConsistency(v.m, v.n, LeafHash("WrongRoot"), r2, v.proof)});
    bad.push_back({"wrong root2", VerifyConsistency(v.m, v.n, r1, LeafHash("WrongRoot"), v.proof)});
    bad.push_back({"swapped roots", VerifyConsistency(v.m, v.n, r2, r1, v.proof)});
    bad.push_back({"empty proof", VerifyConsistency(v.m, v.n, r1, r2, {})});
    bad.push_back({"trailing root1", VerifyConsistency(v.m, v.n, r1, r2, With(v.proof, v.proof.size(), r1))});
    bad.push_back({"trailing root2", VerifyConsistency(v.m, v.n, r1, r2, With(v.proof, v.proof.size(), r2))});
    bad.push_back({"preceding root1", VerifyConsistency(v.m, v.n, r1, r2, With(v.proof, 0, r1))});
    bad.push_back({"preceding root2", VerifyConsistency(v.m, v.n, r1, r2, With(v.proof, 0, r2))});
    bad.push_back({"preceding proof[0]", VerifyConsistency(v.m, v.n, r1, r2, With(v.proof, 0, v.proof[0]))});
    std::vector<Hash> truncated(v.proof.begin(), v.proof.end() - 1);
    bad.push_back({"truncated", VerifyConsistency(v.m, v.n, r1, r2, truncated)});
    for (size_t i = 0; i < v.proof.size(); ++i) {
      auto p = v.proof;
      p[i][0] ^= 16;
      bad.push_back({"bit flip " + std::to_string(i), VerifyConsistency(v.m, v.n, r1, r2, p)});
    }
    for (const auto& [what, status] : bad) EXPECT_FALSE(status.ok()) << what;
  }
}

TEST(MerkleTest, ConsistencyEdgeCases) {
  const Hash a = LeafHash("don't care 1"), b = LeafHash("don't care 2");
  const std::vector<Hash> one = {EmptyRoot()};
  EXPECT_FALSE(VerifyConsistency(0, 0, a, b, {}).ok());  // equal sizes, different roots
  EXPECT_FALSE(VerifyConsistency(1, 1, a, b, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 0, a, a, {}).ok());
  EXPECT_TRUE(VerifyConsistency(1, 1, b, b, {}).ok());
  EXPECT_FALSE(VerifyConsistency(1, 0, a, b, {}).ok());  // size went backwards
  EXPECT_FALSE(VerifyConsistency(2, 1, a, b, {}).ok());
  EXPECT_FALSE(VerifyConsistency(1, 2, a, b, {}).ok());  // empty proof for m < n
  EXPECT_FALSE(VerifyConsistency(0, 0, EmptyRoot(), EmptyRoot(), one).ok());  // non-empty proof
  EXPECT_FALSE(VerifyConsistency(1, 1, EmptyRoot(), EmptyRoot(), one).ok());
  EXPECT_FALSE(VerifyConsistency(0, 1, EmptyRoot(), EmptyRoot(), one).ok());
  // Every tree extends the empty tree (documented: m == 0 takes an empty proof).
  EXPECT_TRUE(VerifyConsistency(0, 5, EmptyRoot(), a, {}).ok());

  // Malformed inclusion requests.
  EXPECT_FALSE(VerifyInclusion(0, 0, a, {}, a).ok());
  EXPECT_FALSE(VerifyInclusion(1, 1, a, {}, a).ok());
  EXPECT_FALSE(VerifyInclusion(2, 1, a, {}, a).ok());
  EXPECT_TRUE(VerifyInclusion(0, 1, a, {}, a).ok());
  EXPECT_FALSE(VerifyInclusion(0, 1, a, {}, b).ok());
  EXPECT_FALSE(VerifyInclusion(0, 1, a, std::vector<Hash>{a}, a).ok());
}

TEST(MerkleTest, OutOfRange) {
  MerkleTree t = VectorTree();
  auto expect_out_of_range = [](const std::string& what, const auto& result) {
    ASSERT_FALSE(result.ok()) << what;
    EXPECT_EQ(result.error().code, ErrorCode::kOutOfRange) << what;
  };
  expect_out_of_range("Root(9)", t.Root(9));
  expect_out_of_range("Root(max)", t.Root(UINT64_MAX));
  expect_out_of_range("InclusionProof(8, 8)", t.InclusionProof(8, 8));
  expect_out_of_range("InclusionProof(3, 3)", t.InclusionProof(3, 3));
  expect_out_of_range("InclusionProof(0, 9)", t.InclusionProof(0, 9));
  expect_out_of_range("InclusionProof(0, 0)", t.InclusionProof(0, 0));
  expect_out_of_range("InclusionProof(max, max)", t.InclusionProof(UINT64_MAX, UINT64_MAX));
  expect_out_of_range("ConsistencyProof(5, 4)", t.ConsistencyProof(5, 4));
  expect_out_of_range("ConsistencyProof(1, 9)", t.ConsistencyProof(1, 9));
  expect_out_of_range("ConsistencyProof(9, 9)", t.ConsistencyProof(9, 9));
  expect_out_of_range("ConsistencyProof(8, 7)", t.ConsistencyProof(8, 7));
  // The boundaries themselves are in range.
  EXPECT_TRUE(t.Root(8).ok());
  EXPECT_TRUE(t.InclusionProof(7, 8).ok());
  EXPECT_TRUE(t.ConsistencyProof(8, 8).ok());
  EXPECT_TRUE(t.ConsistencyProof(0, 8).ok());
}

TEST(MerkleTest, NodesArePerfectSubtreeHashes) {
  MerkleTree t = VectorTree();
  auto leaves = VectorLeafHashes();
  EXPECT_EQ(t.NodeCount(0), 8u);
  EXPECT_EQ(t.NodeCount(1), 4u);
  EXPECT_EQ(t.NodeCount(2), 2u);
  EXPECT_EQ(t.NodeCount(3), 1u);
  EXPECT_EQ(t.NodeCount(4), 0u);
  EXPECT_EQ(Hex(t.Node(2, 0)), kRoots[3]);
  EXPECT_EQ(Hex(t.Node(3, 0)), kRoots[7]);
  EXPECT_EQ(t.Node(1, 2), NodeHash(leaves[4], leaves[5]));
}

// ---------------------------------------------------------------------------------------
// Exhaustive checks against the naive definition.

constexpr uint64_t kMaxSize = 300;

std::vector<Hash> NumberedLeaves(uint64_t n) {
  std::vector<Hash> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(LeafHash("leaf " + std::to_string(i)));
  return out;
}


TEST(MerkleExhaustiveTest, RootsMatchNaiveDefinition) {
  auto leaves = NumberedLeaves(kMaxSize);
  MerkleTree t;
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    t.Append(leaves[n - 1]);
    Hash want = RootFromLeafHashes(std::span<const Hash>(leaves).first(n));
    EXPECT_EQ(*t.Root(n), want) << n;  // the newest size
  }
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    EXPECT_EQ(*t.Root(n), RootFromLeafHashes(std::span<const Hash>(leaves).first(n))) << n;
  }
}

TEST(MerkleExhaustiveTest, EveryInclusionProofVerifies) {
  auto leaves = NumberedLeaves(kMaxSize);
  MerkleTree t;
  for (const Hash& h : leaves) t.Append(h);
  for (uint64_t n = 1; n <= kMaxSize; ++n) {
    const Hash root = *t.Root(n);
    const Hash naive = RootFromLeafHashes(std::span<const Hash>(leaves).first(n));
    ASSERT_EQ(root, naive) << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = t.InclusionProof(i, n);
      ASSERT_TRUE(proof.ok());
      Status s = VerifyInclusion(i, n, leaves[i], *proof, naive);
      ASSERT_TRUE(s.ok()) << i << "/" << n << ": " << s.error().message;
      // Another leaf at the same position fails.
      EXPECT_FALSE(VerifyInclusion(i, n, leaves[(i + 1) % kMaxSize], *proof, naive).ok()) << i << "/" << n;
    }
  }
}

TEST(MerkleExhaustiveTest, EveryConsistencyProofVerifies) {
  auto leaves = NumberedLeaves(kMaxSize);
  MerkleTree t;
  for (const Hash& h : leaves) t.Append(h);
  std::vector<Hash> roots;
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    roots.push_back(RootFromLeafHashes(std::span<const Hash>(leaves).first(n)));
  }
  for (uint64_t n = 0; n <= kMaxSize; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = t.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok());
      if (m == 0 || m == n) {
        EXPECT_TRUE(proof->empty()) << m << "->" << n;
      }
      Status s = VerifyConsistency(m, n, roots[m], roots[n], *proof);
      ASSERT_TRUE(s.ok()) << m << "->" << n << ": " << s.error().message;
      if (m > 0 && m < n) {
        // A root that is not the tree's at m or at n fails.
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m - 1], roots[n], *proof).ok()) << m << "->" << n;
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n - 1], *proof).ok()) << m << "->" << n;
      }
    }
  }
}

// Mutations of valid proofs, for every proof of trees up to kMutationMax leaves.
constexpr uint64_t kMutationMax = 130;

TEST(MerkleExhaustiveTest, MutatedInclusionProofsRejected) {
  auto leaves = NumberedLeaves(kMutationMax + 1);
  MerkleTree t;
  for (const Hash& h : leaves) t.Append(h);
  const Hash extra = LeafHash("extra");
  for (uint64_t n = 1; n <= kMutationMax; ++n) {
    const Hash root = *t.Root(n);
    for (uint64_t i = 0; i < n; ++i) {
      SCOPED_TRACE(::testing::Message() << "index " << i << " size " << n);
      const std::vector<Hash> proof = *t.InclusionProof(i, n);
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], proof, root).ok());
      for (size_t k = 0; k < proof.size(); ++k) {
        for (int bit : {0, 77, 255}) {
          auto p = proof;
          p[k][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], p, root).ok()) << "flip " << k << "/" << bit;
        }
        auto dropped = proof;
        dropped.erase(dropped.begin() + static_cast<ptrdiff_t>(k));
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], dropped, root).ok()) << "drop " << k;
      }
      for (size_t k = 0; k <= proof.size(); ++k) {
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], With(proof, k, extra), root).ok()) << "add at " << k;
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], With(proof, k, root), root).ok()) << "add root at " << k;
      }
      // Wrong index: neither this leaf nor the leaf that is really there verifies.
      for (uint64_t j : {i - 1, i + 1, i ^ 1, i ^ 2, i ^ 4}) {
        if (j == i || j >= n) continue;
        EXPECT_FALSE(VerifyInclusion(j, n, leaves[i], proof, root).ok()) << "index " << j;
        EXPECT_FALSE(VerifyInclusion(j, n, leaves[j], proof, root).ok()) << "index " << j;
      }
      // Wrong size: the proof does not verify against that size's tree.
      for (uint64_t m : {n - 1, n + 1, n * 2, n / 2}) {
        if (m == n || m <= i || m > kMutationMax + 1) continue;
        EXPECT_FALSE(VerifyInclusion(i, m, leaves[i], proof, *t.Root(m)).ok()) << "size " << m;
      }
      // Wrong root.
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], proof, *t.Root(n - 1)).ok());
      }
    }
  }
}

TEST(MerkleExhaustiveTest, MutatedConsistencyProofsRejected) {
  auto leaves = NumberedLeaves(kMutationMax + 1);
  MerkleTree t;
  for (const Hash& h : leaves) t.Append(h);
  std::vector<Hash> roots;
  for (uint64_t n = 0; n <= kMutationMax + 1; ++n) roots.push_back(*t.Root(n));
  const Hash extra = LeafHash("extra");
  for (uint64_t n = 2; n <= kMutationMax; ++n) {
    for (uint64_t m = 1; m < n; ++m) {
      SCOPED_TRACE(::testing::Message() << m << " -> " << n);
      const std::vector<Hash> proof = *t.ConsistencyProof(m, n);
      ASSERT_FALSE(proof.empty());
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], proof).ok());
      for (size_t k = 0; k < proof.size(); ++k) {
        for (int bit : {0, 130, 255}) {
          auto p = proof;
          p[k][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], p).ok()) << "flip " << k << "/" << bit;
        }
        auto dropped = proof;
        dropped.erase(dropped.begin() + static_cast<ptrdiff_t>(k));
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], dropped).ok()) << "drop " << k;
      }
      for (size_t k = 0; k <= proof.size(); ++k) {
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], With(proof, k, extra)).ok()) << "add " << k;
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], With(proof, k, roots[m])).ok()) << "add r1 " << k;
      }
      EXPECT_FALSE(VerifyConsistency(m, n, roots[n], roots[m], proof).ok()) << "swapped roots";
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[m], proof).ok()) << "root_m twice";
      // Wrong sizes, with the roots of the trees of those sizes.
      for (uint64_t m2 : {m - 1, m + 1}) {
        if (m2 == 0 || m2 >= n) continue;
        EXPECT_FALSE(VerifyConsistency(m2, n, roots[m2], roots[n], proof).ok()) << "m " << m2;
      }
      for (uint64_t n2 : {n - 1, n + 1}) {
        if (n2 <= m) continue;
        EXPECT_FALSE(VerifyConsistency(m, n2, roots[m], roots[n2], proof).ok()) << "n " << n2;
      }
    }
  }
}

}  // namespace
}  // namespace cloudpact::ledger
