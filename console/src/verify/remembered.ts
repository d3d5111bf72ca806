// The console's memory of the log: the last checkpoint this browser verified, per log key.
// Each new checkpoint must be consistent with it (RFC 9162 consistency proof); a log that
// rewrites history, or shows this browser a different history than before, is caught here.
// An inconsistency is remembered as an alarm that stays until someone dismisses it on
// purpose, and the remembered checkpoint is never replaced by the inconsistent one.

import { VerifyError, fromBase64, toBase64 } from './bytes.js';
import type { Checkpoint } from './checkpoint.js';
import { verifyConsistency } from './merkle.js';

// localStorage in the browser, a Map in tests.
export interface KeyValue {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export interface Remembered {
  size: number;
  root: string; // base64
  verifiedAt: string; // ISO time, for display
}

export interface Alarm {
  code: string;
  message: string;
  remembered: Remembered;
  presented: { size: number; root: string };
  at: string;
}

export type ConsistencyFetcher = (from: number, to: number) => Promise<Uint8Array[]>;

export type Outcome =
  | { status: 'first'; current: Remembered } // nothing remembered yet: trust starts here
  | { status: 'same'; current: Remembered }
  | { status: 'advanced'; previous: Remembered; current: Remembered }
  // The server showed an older checkpoint; it is a prefix of what we remember, so we keep ours.
  | { status: 'older'; previous: Remembered; current: Remembered };

const PREFIX = 'cloudpact.checkpoint.';
const ALARM = 'cloudpact.alarm.';

export class CheckpointMemory {
  constructor(private readonly kv: KeyValue, private readonly logKey: string) {}

  remembered(): Remembered | null {
    const raw = this.kv.get(PREFIX + this.logKey);
    if (!raw) return null;
    try {
      const r = JSON.parse(raw) as Remembered;
      if (Number.isSafeInteger(r.size) && fromBase64(r.root).length === 32) return r;
    } catch {
      /* fall through */
    }
    // Damaged memory is itself suspicious; say so instead of silently starting over.
    throw new VerifyError('memory_damaged', 'the remembered checkpoint is unreadable');
  }

  alarm(): Alarm | null {
    const raw = this.kv.get(ALARM + this.logKey);
    return raw ? (JSON.parse(raw) as Alarm) : null;
  }

  // For the person who has seen and reported the alarm; the remembered checkpoint stays.
  dismissAlarm(): void {
    this.kv.remove(ALARM + this.logKey);
  }

  forget(): void {
    this.kv.remove(PREFIX + this.logKey);
  }

  // `cp` must already be signature-verified. Throws VerifyError (and records an alarm)
  // when `cp` is inconsistent with the remembered checkpoint.
  async advance(cp: Checkpoint, fetchProof: ConsistencyFetcher, now = new Date()): Promise<Outcome> {
    const current: Remembered = { size: cp.size, root: toBase64(cp.root), verifiedAt: now.toISOString() };
    const prev = this.remembered();
    if (!prev) {
      this.store(current);
      return { status: 'first', current };
    }
    const prevRoot = fromBase64(prev.root);
    try {
      if (cp.size === prev.size) {
        await verifyConsistency(prev.size, cp.size, prevRoot, cp.root, []);
        return { status: 'same', current: prev };
      }
      if (cp.size > prev.size) {
        const proof = await fetchProof(prev.size, cp.size);
        await verifyConsistency(prev.size, cp.size, prevRoot, cp.root, proof);
        this.store(current);
        return { status: 'advanced', previous: prev, current };
      }
      const proof = await fetchProof(cp.size, prev.size);
      await verifyConsistency(cp.size, prev.size, cp.root, prevRoot, proof);
      return { status: 'older', previous: prev, current };
    } catch (e) {
      const err = e instanceof VerifyError ? e : new VerifyError('consistency_unavailable', String(e));
      // A proof that cannot even be fetched is not evidence of a fork; only a proof that
      // fails to verify is. The former is reported as an error, the latter raises the alarm.
      if (err.code !== 'consistency_unavailable') {
        const alarm: Alarm = {
          code: err.code,
          message: err.message,
          remembered: prev,
          presented: { size: cp.size, root: current.root },
          at: now.toISOString(),
        };
        this.kv.set(ALARM + this.logKey, JSON.stringify(alarm));
      }
      throw err;
    }
  }

  private store(r: Remembered): void {
    this.kv.set(PREFIX + this.logKey, JSON.stringify(r));
  }
}

export class MapKeyValue implements KeyValue {
  readonly map = new Map<string, string>();
  get(k: string) {
    return this.map.get(k) ?? null;
  }
  set(k: string, v: string) {
    this.map.set(k, v);
  }
  remove(k: string) {
    this.map.delete(k);
  }
}
