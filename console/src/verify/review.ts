// What a tenant approver signs, recomputed in the browser from the fields it shows, so the
// person approves exactly what they read (src/access/access.{h,cc}):
//   canonical = RFC 8785 JSON of {"type":"cloudpact.access-request/v1","log":ORIGIN,"id",
//               "requester","resources","actions","reason","justification_sha256",
//               "ticket","duration_seconds","created","break_glass"}
//   digest    = hex SHA-256(canonical)
//   message   = "cloudpact-access-review/v1\n" + decision + "\n" + digest + "\n"

import { VerifyError, sha256, toHex, utf8 } from './bytes.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

// RFC 8785 JSON Canonicalization Scheme. Its number and string forms are ECMAScript's
// JSON.stringify; object members are sorted by UTF-16 code units, which is what
// Array.prototype.sort does for strings.
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new VerifyError('canonical', 'non-finite number');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(v[k])).join(',') + '}';
}

export interface RequestFields {
  id: string;
  requester: string;
  resources: string[];
  actions: string[];
  reason: string;
  justification?: string;
  justification_sha256: string;
  ticket: string;
  duration_seconds: number;
  created: number;
  break_glass: boolean;
  digest: string;
  canonical?: string;
  sign_approve?: string;
  sign_deny?: string;
}

export function reviewMessage(decision: 'approve' | 'deny', digestHex: string): string {
  return `cloudpact-access-review/v1\n${decision}\n${digestHex}\n`;
}

export interface SigningStatement {
  canonical: string;
  digest: string;
  approve: Uint8Array;
  deny: Uint8Array;
}

// Rebuilds the canonical request from the displayed fields and the pinned log origin and
// checks every claim the server makes about it; throws VerifyError on any difference, and
// the console then refuses to sign.
export async function signingStatement(req: RequestFields, logOrigin: string): Promise<SigningStatement> {
  if (req.justification !== undefined) {
    const h = toHex(await sha256(utf8(req.justification)));
    if (h !== req.justification_sha256) {
      throw new VerifyError('justification_hash', 'the justification shown does not match its hash');
    }
  }
  const canonical = canonicalJson({
    type: 'cloudpact.access-request/v1',
    log: logOrigin,
    id: req.id,
    requester: req.requester,
    resources: req.resources,
    actions: req.actions,
    reason: req.reason,
    justification_sha256: req.justification_sha256,
    ticket: req.ticket,
    duration_seconds: req.duration_seconds,
    created: req.created,
    break_glass: req.break_glass,
  });
  if (req.canonical !== undefined && req.canonical !== canonical) {
    throw new VerifyError('canonical_mismatch', "the server's canonical request differs from the fields shown");
  }
  const digest = toHex(await sha256(utf8(canonical)));
  if (digest !== req.digest) throw new VerifyError('digest_mismatch', "the request's digest does not match its fields");
  const approve = reviewMessage('approve', digest);
  const deny = reviewMessage('deny', digest);
  if ((req.sign_approve !== undefined && req.sign_approve !== approve) || (req.sign_deny !== undefined && req.sign_deny !== deny)) {
    throw new VerifyError('statement_mismatch', 'the server asks for a different statement to be signed');
  }
  return { canonical, digest, approve: utf8(approve), deny: utf8(deny) };
}

// What an approver signs to register a key (POST /v1/auth/approver-key), proving they hold
// its private key (src/access/access.cc ApproverKeyStatement). publicKeyBase64 is the key
// exactly as sent.
export function approverKeyStatement(approver: string, tenant: string, publicKeyBase64: string): string {
  return `cloudpact-approver-key/v1\n${approver}\n${tenant}\n${publicKeyBase64}\n`;
}
