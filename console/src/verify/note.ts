// C2SP signed-note (https://c2sp.org/signed-note): notes, verifier keys ("vkeys") and
// Ed25519 signatures, matching src/crypto/note.cc byte for byte:
//   key ID  = SHA-256(name || 0x0A || type || public key)[:4], big-endian
//   vkey    = name "+" hex8(key ID) "+" base64(type || public key)
//   note    = text "\n" ("— " name " " base64(key ID || signature) "\n")+
// Type 0x01 is a log's Ed25519 signature over the text; type 0x04 is a C2SP
// tlog-cosignature (signature over "cosignature/v1\ntime <ts>\n" || text).

import { VerifyError, buf, concat, equalBytes, fromBase64, sha256, subtle, toHex, utf8 } from './bytes.js';

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

export interface NoteSignature {
  name: string;
  keyId: number; // uint32
  signature: Uint8Array; // the bytes after the 4-byte key ID
}

export interface Note {
  text: string; // ends in '\n'
  signatures: NoteSignature[];
}

export interface Verifier {
  name: string;
  keyId: number;
  type: number;
  publicKey: Uint8Array; // 32 bytes
  vkey: string; // the string it was parsed from
}

export const MAX_NOTE_BYTES = 64 * 1024;
export const MAX_NOTE_SIGNATURES = 100;

// No control characters but '\n' (U+0000..U+001F, U+007F); the rest of UTF-8 validity is
// guaranteed by decoding with a fatal TextDecoder before text reaches here, and by
// rejecting lone surrogates below.
function validNoteText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

// Go's unicode.IsSpace set, as src/crypto/note.cc checks it.
const SPACES = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

export function isValidKeyName(name: string): boolean {
  if (name.length === 0 || !validNoteText(name)) return false;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x2b /* + */ || SPACES.has(cp)) return false;
  }
  return true;
}

function readU32(b: Uint8Array, at = 0): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
}

export async function noteKeyId(name: string, type: number, publicKey: Uint8Array): Promise<number> {
  const h = await sha256(concat(utf8(name), new Uint8Array([0x0a, type]), publicKey));
  return readU32(h);
}

export function parseNote(message: string): Note {
  if (utf8(message).length > MAX_NOTE_BYTES) throw new VerifyError('note_too_large', 'note: too large');
  if (!validNoteText(message)) throw new VerifyError('note_malformed', 'note: invalid UTF-8 or control character');
  if (!message.endsWith('\n')) throw new VerifyError('note_malformed', 'note: must end in a newline');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new VerifyError('note_malformed', 'note: no blank line before the signatures');
  const text = message.slice(0, split + 1);
  let sigs = message.slice(split + 2);
  if (sigs.length === 0) throw new VerifyError('note_malformed', 'note: no signatures');
  const signatures: NoteSignature[] = [];
  while (sigs.length > 0) {
    const nl = sigs.indexOf('\n');
    let line = sigs.slice(0, nl);
    sigs = sigs.slice(nl + 1);
    if (signatures.length >= MAX_NOTE_SIGNATURES) throw new VerifyError('note_too_large', 'note: too many signatures');
    if (!line.startsWith('\u2014 ')) {
      throw new VerifyError('note_malformed', 'note: signature line must start with an em dash and a space');
    }
    line = line.slice(2);
    const sp = line.indexOf(' ');
    if (sp < 0) throw new VerifyError('note_malformed', 'note: malformed signature line');
    const name = line.slice(0, sp);
    if (!isValidKeyName(name)) throw new VerifyError('note_malformed', 'note: invalid key name');
    let raw: Uint8Array;
    try {
      raw = fromBase64(line.slice(sp + 1));
    } catch {
      throw new VerifyError('note_malformed', 'note: malformed signature encoding');
    }
    if (raw.length < 5) throw new VerifyError('note_malformed', 'note: malformed signature encoding');
    signatures.push({ name, keyId: readU32(raw), signature: raw.slice(4) });
  }
  return { text, signatures };
}

export async function parseVerifierKey(vkey: string): Promise<Verifier> {
  const s = vkey.trim();
  // The key is standard base64, which may itself contain '+': split at the first two.
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) throw new VerifyError('vkey_malformed', 'vkey: expected <name>+<hex id>+<base64 key>');
  const name = s.slice(0, p1);
  const hex = s.slice(p1 + 1, p2);
  if (!isValidKeyName(name)) throw new VerifyError('vkey_malformed', 'vkey: invalid key name');
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new VerifyError('vkey_malformed', 'vkey: key ID must be 8 hex digits');
  let key: Uint8Array;
  try {
    key = fromBase64(s.slice(p2 + 1));
  } catch {
    throw new VerifyError('vkey_malformed', 'vkey: key is not base64');
  }
  if (key.length !== 33) throw new VerifyError('vkey_malformed', 'vkey: key must be a type byte and 32 bytes');
  const type = key[0];
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) {
    throw new VerifyError('vkey_malformed', 'vkey: unsupported signature type');
  }
  const publicKey = key.slice(1);
  const keyId = await noteKeyId(name, type, publicKey);
  if (keyId !== parseInt(hex, 16)) throw new VerifyError('vkey_keyid', 'vkey: key ID does not match the key');
  return { name, keyId, type, publicKey, vkey: s };
}

export async function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = await subtle().importKey('raw', buf(publicKey), { name: 'Ed25519' }, false, ['verify']);
  try {
    return await subtle().verify({ name: 'Ed25519' }, key, buf(signature), buf(message));
  } catch {
    return false; // some engines throw instead of answering false on a malformed signature
  }
}

export function cosignatureMessage(text: string, timestamp: bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp.toString()}\n${text}`);
}

// One signature by one verifier; for cosignatures the signed timestamp is returned.
export async function verifySignature(v: Verifier, text: string, sig: Uint8Array): Promise<{ ok: boolean; timestamp?: bigint }> {
  if (v.type === SIG_ED25519) return { ok: await ed25519Verify(v.publicKey, utf8(text), sig) };
  if (sig.length !== 72) return { ok: false };
  let ts = 0n;
  for (let i = 0; i < 8; i++) ts = (ts << 8n) | BigInt(sig[i]);
  if (ts > (1n << 63n) - 1n) return { ok: false };
  const ok = await ed25519Verify(v.publicKey, cosignatureMessage(text, ts), sig.slice(8));
  return ok ? { ok, timestamp: ts } : { ok };
}

// The spec's rule, as VerifyNote in C++: signatures by unknown keys are ignored, a
// signature by a known key that fails rejects the note, and at least one must verify.
export async function verifyNote(note: Note, known: Verifier[]): Promise<NoteSignature[]> {
  const verified: NoteSignature[] = [];
  for (const sig of note.signatures) {
    for (const v of known) {
      if (v.name !== sig.name || v.keyId !== sig.keyId) continue;
      const r = await verifySignature(v, note.text, sig.signature);
      if (!r.ok) throw new VerifyError('note_signature', `note: invalid signature by ${sig.name}`);
      verified.push(sig);
    }
  }
  if (verified.length === 0) throw new VerifyError('note_unknown_key', 'note: no signature by a known key');
  return verified;
}

export function sameVerifier(a: Verifier, b: Verifier): boolean {
  return a.name === b.name && a.keyId === b.keyId && a.type === b.type && equalBytes(a.publicKey, b.publicKey);
}

export function keyIdHex(v: Verifier): string {
  return toHex(new Uint8Array([v.keyId >>> 24, (v.keyId >>> 16) & 255, (v.keyId >>> 8) & 255, v.keyId & 255]));
}
