// RFC 6962 §2.1 / RFC 9162 §2.1 hashing and the proof verification algorithms of
// RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), written to match
// src/ledger/merkle.cc step for step. Tree sizes and indexes are handled as BigInt in the
// loops because JavaScript's bit operators truncate to 32 bits.

import { VerifyError, concat, equalBytes, sha256 } from './bytes.js';

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(entry: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(LEAF, entry));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(NODE, left, right));
}

function checkHash(h: Uint8Array, what: string): void {
  if (h.length !== 32) throw new VerifyError('bad_hash', `${what} is not a 32-byte hash`);
}

// The root that `proof` leads to from `leaf` at `index` in a tree of `size`; throws on a
// malformed proof. Exposed so that the UI can show the recomputed root.
export async function rootFromInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new VerifyError('inclusion_index', 'inclusion: index not below size');
  }
  checkHash(leaf, 'leaf');
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    checkHash(p, 'proof hash');
    if (sn === 0n) throw new VerifyError('inclusion_length', 'inclusion: proof too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new VerifyError('inclusion_length', 'inclusion: proof too short');
  return r;
}

export async function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): Promise<void> {
  checkHash(root, 'root');
  const r = await rootFromInclusion(index, size, leaf, proof);
  if (!equalBytes(r, root)) throw new VerifyError('inclusion_root', 'inclusion: computed root does not match');
}

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

// PROOF(m, D[n]) verifies that the tree of size m with root rootM is a prefix of the tree
// of size n with root rootN. Like the C++ verifier it accepts m == n (empty proof, equal
// roots) and m == 0 (empty proof).
export async function verifyConsistency(
  m: number,
  n: number,
  rootM: Uint8Array,
  rootN: Uint8Array,
  proof: Uint8Array[],
): Promise<void> {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) {
    throw new VerifyError('consistency_sizes', 'consistency: first size above second');
  }
  checkHash(rootM, 'first root');
  checkHash(rootN, 'second root');
  for (const p of proof) checkHash(p, 'proof hash');
  if (m === n) {
    if (proof.length !== 0) throw new VerifyError('consistency_length', 'consistency: proof must be empty');
    if (!equalBytes(rootM, rootN)) throw new VerifyError('consistency_root', 'consistency: roots of equal sizes differ');
    return;
  }
  if (m === 0) {
    if (proof.length !== 0) throw new VerifyError('consistency_length', 'consistency: proof must be empty');
    return;
  }
  if (proof.length === 0) throw new VerifyError('consistency_length', 'consistency: empty proof');
  const M = BigInt(m);
  const path = isPowerOfTwo(M) ? [rootM, ...proof] : [...proof];
  let fn = M - 1n;
  let sn = BigInt(n) - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0n) throw new VerifyError('consistency_length', 'consistency: proof too long');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new VerifyError('consistency_length', 'consistency: proof too short');
  if (!equalBytes(fr, rootM) || !equalBytes(sr, rootN)) {
    throw new VerifyError('consistency_root', 'consistency: computed roots do not match');
  }
}

// MTH over explicit leaf hashes (RFC 6962 §2.1), the reference the tests compare with.
export async function rootFromLeafHashes(leaves: Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await rootFromLeafHashes(leaves.slice(0, k)), await rootFromLeafHashes(leaves.slice(k)));
}
