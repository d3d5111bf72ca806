// One ledger entry fetched by index (GET /v1/ledger/entries/{i}) and verified in this
// browser: the checkpoint served with it is checked against the pinned key and for
// consistency with the remembered one (ledger-trust.ts), then entry bytes → leaf hash →
// inclusion proof → that checkpoint's root. Used by the ledger explorer and by the
// assessment page's run badge.

import { api, type LedgerEntryResponse } from '../api.js';
import type { BadgeState } from '../components/badge.js';
import { t } from '../i18n/index.js';
import { VerifyError, fromBase64, fromUtf8, toHex, leafHash, verifyEntry } from '../verify/index.js';
import type { LedgerEntry } from './entries.js';
import { establishTrust, trustedCheckpoint, type Trust } from './ledger-trust.js';

export interface VerifiedEntry {
  index: number;
  state: BadgeState;
  detail: string;
  entry?: LedgerEntry; // parsed from the very bytes that were hashed
  bytes?: Uint8Array;
  leafHashHex?: string;
  response?: LedgerEntryResponse;
  trust?: Trust;
}

// Verifies an entry response against an already established trust (or establishes it from
// the checkpoint served with the entry when none is given).
export async function verifyEntryResponse(r: LedgerEntryResponse, trust?: Trust): Promise<VerifiedEntry> {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(r.entry_base64);
  } catch {
    return { index: r.index, state: 'failed', detail: 'entry_base64 is not base64', response: r };
  }
  let entry: LedgerEntry | undefined;
  try {
    entry = JSON.parse(fromUtf8(bytes)) as LedgerEntry;
  } catch {
    entry = undefined;
  }
  const leaf = toHex(await leafHash(bytes));
  const base = { index: r.index, entry, bytes, leafHashHex: leaf, response: r };
  if (!r.checkpoint || !r.inclusion_proof) return { ...base, state: 'pending', detail: t('badge.pending') };
  let tr = trust;
  if (!tr || !tr.checkpoint || tr.checkpoint.size !== r.checkpoint.size) tr = await establishTrust(r.checkpoint.note);
  const cp = trustedCheckpoint(tr);
  if (!tr.pinned) return { ...base, trust: tr, state: 'unverified', detail: t('pin.none') };
  if (!cp) {
    const why = tr.checkpointError?.message ?? tr.consistencyError?.message ?? t('badge.unverified');
    return { ...base, trust: tr, state: 'failed', detail: why };
  }
  if (cp.size !== r.checkpoint.size) {
    return { ...base, trust: tr, state: 'failed', detail: `the proof is for size ${r.checkpoint.size}, the verified checkpoint is for ${cp.size}` };
  }
  try {
    const v = await verifyEntry({ index: r.index, bytes, proof: r.inclusion_proof }, cp);
    if (v.leafHashHex !== r.leaf_hash) {
      // Not a failure of the log, but the server's own leaf_hash disagrees with the bytes.
      return { ...base, trust: tr, state: 'failed', detail: `the server's leaf_hash ${r.leaf_hash.slice(0, 16)}… is not the hash of the bytes` };
    }
    return { ...base, trust: tr, entry: v.entry as LedgerEntry, state: 'verified', detail: t('badge.detail', { leaf: leaf.slice(0, 16) + '…' }) };
  } catch (e) {
    return { ...base, trust: tr, state: 'failed', detail: e instanceof VerifyError ? e.message : String(e) };
  }
}

export async function fetchAndVerify(index: number, trust?: Trust): Promise<VerifiedEntry> {
  const r = await api.ledgerEntry(index);
  return verifyEntryResponse(r, trust);
}
