// The tenant approver's signing key, generated in this browser and kept in IndexedDB as a
// non-extractable CryptoKeyPair: scripts can ask the browser to sign with it, but nobody —
// not the server, not this page — can read the private key out. Only the public key is
// exported, for registration with the provider.

import { buf, toBase64 } from '../verify/index.js';

const DB = 'cloudpact-console';
const STORE = 'approver-keys';

export interface StoredKey {
  principal: string;
  keyPair: CryptoKeyPair;
  publicKey: string; // base64 of the 32 raw bytes, as the directory registers it
  created: number; // unix seconds
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'principal' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const r = f(t.objectStore(STORE));
      t.oncomplete = () => resolve(r.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

export async function loadKey(principal: string): Promise<StoredKey | null> {
  const k = await tx<StoredKey | undefined>('readonly', (s) => s.get(principal) as IDBRequest<StoredKey | undefined>);
  return k ?? null;
}

export async function ed25519Supported(): Promise<boolean> {
  try {
    await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return true;
  } catch {
    return false;
  }
}

export async function generateKey(principal: string): Promise<StoredKey> {
  // extractable = false: the private key can never be exported. (The public key of a
  // generated pair is always exportable.)
  const keyPair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keyPair.publicKey));
  const stored: StoredKey = { principal, keyPair, publicKey: toBase64(raw), created: Math.floor(Date.now() / 1000) };
  await tx('readwrite', (s) => s.put(stored));
  return stored;
}

export async function sign(key: StoredKey, message: Uint8Array): Promise<string> {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.keyPair.privateKey, buf(message)));
  return toBase64(sig);
}
