// Byte helpers shared by the verification code. Pure: no DOM, no Node APIs, so the same
// module runs in the browser and under `node --test`.

export class VerifyError extends Error {
  // A stable machine-readable code, so the UI can pick a message from the catalogs and
  // tests can assert *why* something failed, not only that it did.
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

const enc = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

// fatal: a note or entry that is not valid UTF-8 must not be silently "repaired".
export function fromUtf8(b: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new VerifyError('bad_hex', 'not hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63];
    s += i + 1 < b.length ? B64[(n >> 6) & 63] + '=' : '==';
  }
  return s;
}

// Strict standard base64 with padding, as the server writes it (and as C2SP notes require):
// anything else is rejected rather than guessed at.
export function fromBase64(s: string): Uint8Array {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new VerifyError('bad_base64', 'not canonical base64');
  }
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const c = [0, 1, 2, 3].map((k) => (s[i + k] === '=' ? 0 : B64.indexOf(s[i + k])));
    const n = (c[0] << 18) | (c[1] << 12) | (c[2] << 6) | c[3];
    if (o < out.length) out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Non-zero bits in the padding would make two strings decode to the same bytes.
  if (toBase64(out) !== s) throw new VerifyError('bad_base64', 'not canonical base64');
  return out;
}

// The WebCrypto implementation: the browser's, or Node's (globalThis.crypto from Node 19;
// tests on Node 18 install require('node:crypto').webcrypto there first).
export function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw new VerifyError('no_webcrypto', 'WebCrypto is not available (a secure context is required)');
  return s;
}

// TypeScript 5.7+ types Uint8Array over ArrayBufferLike, which WebCrypto's signatures do
// not accept; every array here is over a plain ArrayBuffer.
export function buf(u: Uint8Array): BufferSource {
  return u as unknown as BufferSource;
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', buf(data)));
}

// Decimal as the server's ParseDecimal accepts it: digits only, no leading zero, and here
// also no larger than JavaScript can count exactly.
export function parseDecimal(s: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new VerifyError('bad_number', `not a decimal number: ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new VerifyError('bad_number', 'number too large');
  return n;
}
