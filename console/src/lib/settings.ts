// What the console remembers in this browser (localStorage): the pinned ledger key and (in
// verify/remembered.ts) the last verified checkpoint.

import type { KeyValue } from '../verify/index.js';

const PINNED = 'cloudpact.pinned-vkey';

export const localKV: KeyValue = {
  get: (k) => localStorage.getItem(k),
  set: (k, v) => localStorage.setItem(k, v),
  remove: (k) => localStorage.removeItem(k),
};

export function pinnedKey(): string | null {
  return localStorage.getItem(PINNED);
}

export function setPinnedKey(vkey: string | null): void {
  if (vkey) localStorage.setItem(PINNED, vkey);
  else localStorage.removeItem(PINNED);
}
