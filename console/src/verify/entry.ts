// One ledger entry, verified from its bytes: entry bytes → RFC 6962 leaf hash → inclusion
// proof → the root of a checkpoint whose signature was verified against the pinned key.

import { VerifyError, fromBase64, fromUtf8, toHex } from './bytes.js';
import type { Checkpoint } from './checkpoint.js';
import { leafHash, rootFromInclusion } from './merkle.js';
import { equalBytes } from './bytes.js';

export interface EntryInput {
  index: number;
  bytes: Uint8Array; // the exact leaf bytes
  proof: string[] | Uint8Array[]; // base64 strings as served, or raw hashes
}

export interface EntryResult {
  leafHashHex: string;
  computedRootB64?: string;
  entry: unknown; // the parsed JSON of the same bytes that were hashed
}

export function decodeProof(proof: string[] | Uint8Array[]): Uint8Array[] {
  return proof.map((p) => {
    if (typeof p !== 'string') return p;
    try {
      return fromBase64(p);
    } catch {
      throw new VerifyError('bad_hash', 'proof hash is not base64');
    }
  });
}

export async function verifyEntry(e: EntryInput, cp: Checkpoint): Promise<EntryResult> {
  const leaf = await leafHash(e.bytes);
  if (e.index >= cp.size) throw new VerifyError('entry_not_covered', 'the checkpoint does not cover this entry yet');
  const root = await rootFromInclusion(e.index, cp.size, leaf, decodeProof(e.proof));
  if (!equalBytes(root, cp.root)) throw new VerifyError('inclusion_root', 'inclusion: computed root does not match the checkpoint');
  let entry: unknown;
  try {
    entry = JSON.parse(fromUtf8(e.bytes));
  } catch {
    throw new VerifyError('entry_not_json', 'the entry is not JSON');
  }
  return { leafHashHex: toHex(leaf), entry };
}
