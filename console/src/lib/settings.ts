// What the console remembers in this browser (localStorage): the pinned ledger key, the
// tenant an approver reads, and (in verify/remembered.ts) the last verified checkpoint.

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

export function rememberedTenant(principal: string): string | null {
  return localStorage.getItem('cloudpact.tenant.' + principal);
}

export function rememberTenant(principal: string, tenant: string): void {
  localStorage.setItem('cloudpact.tenant.' + principal, tenant);
}
