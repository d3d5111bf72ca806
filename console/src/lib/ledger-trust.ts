// The chain of trust for everything the console shows from the ledger:
//   pinned log key → checkpoint signature → consistency with the remembered checkpoint.
// Pages call verifyCheckpointNote() once per load, then verifyEntry() per record.

import { api } from '../api.js';
import {
  CheckpointMemory,
  VerifyError,
  parseVerifierKey,
  verifyCheckpoint,
  type Alarm,
  type Outcome,
  type SignedCheckpoint,
  type Verifier,
} from '../verify/index.js';
import { localKV, pinnedKey } from './settings.js';

export interface Trust {
  pinned: Verifier | null;
  pinnedError?: string;
  serverKey?: string; // /v1/ledger/info's verifier key, when it differs from the pinned one
  checkpoint?: SignedCheckpoint;
  checkpointError?: VerifyError;
  consistency?: Outcome;
  consistencyError?: Error; // VerifyError: inconsistent (alarm); other: proof unavailable
  alarm: Alarm | null; // persisted across loads until dismissed
  memory?: CheckpointMemory;
}

export async function loadPinned(): Promise<{ pinned: Verifier | null; error?: string }> {
  const s = pinnedKey();
  if (!s) return { pinned: null };
  try {
    return { pinned: await parseVerifierKey(s) };
  } catch (e) {
    return { pinned: null, error: (e as Error).message };
  }
}

export async function establishTrust(note: string): Promise<Trust> {
  const { pinned, error } = await loadPinned();
  const trust: Trust = { pinned, pinnedError: error, alarm: null };
  if (!pinned) return trust;
  const memory = new CheckpointMemory(localKV, pinned.vkey);
  trust.memory = memory;
  // A key change on the server is loud even when the note still carries the old signature.
  try {
    const info = await api.ledgerInfo();
    if (info.verifier_key.trim() !== pinned.vkey) trust.serverKey = info.verifier_key;
  } catch {
    /* the access log's own checkpoint is what is verified below */
  }
  try {
    trust.checkpoint = await verifyCheckpoint(note, pinned);
  } catch (e) {
    trust.checkpointError = e instanceof VerifyError ? e : new VerifyError('checkpoint', String(e));
    trust.alarm = memory.alarm();
    return trust;
  }
  try {
    trust.consistency = await memory.advance(trust.checkpoint, (from, to) => api.consistencyProof(from, to));
  } catch (e) {
    trust.consistencyError = e as Error;
  }
  try {
    trust.alarm = memory.alarm();
  } catch {
    trust.alarm = null;
  }
  return trust;
}

// The checkpoint may be used to verify entries only if its signature verified and it is
// not part of a history inconsistent with what this browser saw before.
export function trustedCheckpoint(t: Trust): SignedCheckpoint | null {
  if (!t.checkpoint) return null;
  if (t.consistencyError instanceof VerifyError) return null;
  return t.checkpoint;
}
