// Client for cloudpact's REST API (docs/API.md, docs/openapi.yaml), as the console uses it.
//
// People sign in with POST /v1/auth/signin; the server sets the HttpOnly `cloudpact_session`
// cookie (sent by the browser on same-origin requests) and returns a CSRF token, which must
// accompany every request that is not a GET as `X-CSRF-Token` (src/api/governance.cc,
// GovernanceRoutes::Identify). The CSRF token is kept in sessionStorage: scoped to this
// tab, gone when it closes, and it survives a reload so that a reload does not sign out.
// The ledger routes need no credentials at all: anyone may read and verify the log.

import { VerifyError, fromBase64 } from './verify/index.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SignInResult {
  principal: string;
  mfa: boolean;
  enrolment_only: boolean;
  csrf_token: string;
  expires: number;
}

export interface Me {
  principal: string;
  kind: string; // "staff", "approver", "auditor", or "" for a service token
  permissions: string[];
  session: boolean;
  enrolment_only: boolean;
  totp_enrolled: boolean;
  name?: string; // people in the directory
  // approvers
  tenant?: string;
  public_key?: string; // base64 of the key on file; "" when none is registered
  // staff
  organisation?: string;
  roles?: string[];
  may_review?: boolean; // a role of theirs may approve requests or review break-glass
}

export interface ApproverKeyResult {
  approver: string;
  tenant: string;
  public_key: string;
  ledger_index: number;
}

export interface ReviewView {
  reviewer: string;
  reviewer_kind: string;
  organisation: string;
  tenant?: string;
  decision: string;
  comment: string;
  signature?: string;
  public_key?: string;
  roles?: string[];
  time: number;
  ledger_index: number;
}

export interface AccessRequest {
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
  decide_by: number;
  break_glass: boolean;
  policy_version: number;
  requirements: { rule: string; approvals: number; approver_roles: string[]; distinct_organisations: number }[];
  tenants_required: string[];
  digest: string;
  state: string;
  reviews: ReviewView[];
  granted: number;
  grant_expires: number;
  closed_by: string;
  close_reason: string;
  closed: number;
  review_due: number;
  post_review: string;
  ledger_indexes: number[];
  canonical?: string;
  sign_approve?: string;
  sign_deny?: string;
  you_may_not_review_because?: string;
}

export interface NewAccessRequest {
  resources: string[];
  actions: string[];
  reason: string;
  justification: string;
  ticket?: string;
  duration_seconds?: number;
}

export interface GatewaySession {
  id: string;
  operator: string;
  login: string;
  target: string;
  grant: string;
  role: string;
  mode: string;
  command: string;
  client: string;
  state: string; // active, ended, refused
  started: number;
  ended: number;
  end_reason: string;
  exit_status: number;
  recording_sha256: string;
  recording_bytes: number;
  watchers?: number;
  ledger_indexes: number[];
  command_count: number;
  file_count: number;
  commands?: { seq: number; text: string; decision: string; rule: string; message: string; state: string; reviewer: string; time: number; ledger_index: number }[];
  files?: { op: string; path: string; direction: string; bytes: number; sha256: string; time: number; ledger_index: number }[];
}

export interface HeldCommand {
  session: string;
  operator: string;
  login: string;
  target: string;
  grant: string;
  command: { seq: number; text: string; rule: string; message: string; time: number };
  deadline: number;
}

export interface Posture {
  time: number;
  policy_version: number;
  standing_privileged: {
    by_platform: Record<string, number>;
    by_organisation: Record<string, number>;
    accounts: { staff: string; kind: string; organisation: string; roles: string[]; platforms: string[] }[];
  };
  dormant_privileged: { staff: string; organisation: string; last_activity: number }[];
  sod_conflicts: { staff: string; roles: string[]; reason: string }[];
  parity: {
    internal: { staff: number; privileged: number; standing_privileged: number };
    outsourced: { staff: number; privileged: number; standing_privileged: number };
    differences: { kind: string; name: string; applies_to: string; line: number }[];
  };
  break_glass_awaiting_review: { request_id: string; requester: string; review_due: number; overdue: boolean }[];
  review_campaigns: { id: string; name: string; due: number; decided: number; total: number; overdue: boolean; removal_not_applied: unknown[] }[];
  active_grants: number;
  pending_requests: number;
}

export interface LedgerEntryResponse {
  index: number;
  entry?: unknown;
  entry_base64: string;
  leaf_hash: string;
  inclusion_proof?: string[];
  checkpoint?: { size: number; root: string; note: string };
}

// Continuous assessment (issue 6). The lead's contract: GET /v1/assess/runs,
// GET /v1/assess/runs/{id}/scorecard, GET /v1/assess/runs/{id}/report?format=…,
// POST /v1/assess/runs.
export interface AssessCounts {
  pass: number;
  fail: number;
  manual: number;
  error: number;
  not_applicable: number;
  muted: number;
}

export interface AssessRun {
  id: string;
  catalog: string;
  platform: string;
  started: number;
  finished: number;
  started_by: string;
  resources: number;
  counts: AssessCounts;
  digest: string;
  ledgered: boolean;
  ledger_index?: number;
}

export type StatusCounts = Partial<Record<'PASS' | 'FAIL' | 'MANUAL' | 'ERROR' | 'NOT_APPLICABLE', number>>;

export interface Scorecard {
  run: AssessRun;
  catalogs: { id: string; title_zh: string; title_en: string; groups: { id: string; title_zh: string; title_en: string; counts: StatusCounts }[] }[];
  platforms: { platform: string; fail: number; error: number; manual: number; muted: number }[];
  trend: { id: string; finished: number; pass: number; fail: number; error: number }[];
}

export interface AccessLogEntry {
  index: number;
  entry?: string; // the exact leaf bytes (UTF-8 JSON text)
  inclusion_proof?: string[];
  pending_checkpoint?: boolean;
}

export interface AccessLog {
  tenant: string;
  checkpoint: string; // signed note the proofs are against
  tree_size: number;
  requests: (AccessRequest & { entries: AccessLogEntry[] })[];
  // Every ledger entry that set one of the tenant's approver keys (directory.approver,
  // directory.approver_key), with proofs against the same checkpoint.
  key_events?: AccessLogEntry[];
}

export interface LedgerInfo {
  origin: string;
  verifier_key: string;
  size: number;
  root: string;
}

const CSRF_KEY = 'cloudpact.csrf';

function storage(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

export class Api {
  constructor(private readonly base = '') {}

  get csrf(): string | null {
    return storage()?.getItem(CSRF_KEY) ?? null;
  }

  private set csrf(v: string | null) {
    const s = storage();
    if (!s) return;
    if (v) s.setItem(CSRF_KEY, v);
    else s.removeItem(CSRF_KEY);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'network', String(e));
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const after = res.headers.get('retry-after');
      throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? text.slice(0, 200), after ? Number(after) : undefined);
    }
    return json as T;
  }

  // --- sign-in ---
  async signIn(principal: string, password: string, totp?: string): Promise<SignInResult> {
    const body: Record<string, string> = { principal, password };
    if (totp) body.totp = totp;
    const r = await this.call<SignInResult>('POST', '/v1/auth/signin', body);
    this.csrf = r.csrf_token;
    return r;
  }

  async signOut(): Promise<void> {
    try {
      await this.call<void>('POST', '/v1/auth/signout');
    } finally {
      this.csrf = null;
    }
  }

  forgetSession(): void {
    this.csrf = null;
  }

  me(): Promise<Me> {
    return this.call('GET', '/v1/auth/me');
  }

  // A tenant approver registers the browser's key, with a signature by it over
  // verify/review.ts approverKeyStatement (MFA session only).
  registerApproverKey(public_key: string, signature: string): Promise<ApproverKeyResult> {
    return this.call('POST', '/v1/auth/approver-key', { public_key, signature });
  }

  beginTotp(): Promise<{ secret_base32: string; uri: string }> {
    return this.call('POST', '/v1/auth/totp');
  }

  async confirmTotp(code: string): Promise<void> {
    await this.call<void>('POST', '/v1/auth/totp/confirm', { code });
    this.csrf = null; // the server ended every session of this person
  }

  // --- access requests ---
  async listRequests(q: { state?: string; reviewable?: boolean; tenant?: string; requester?: string; limit?: number } = {}): Promise<AccessRequest[]> {
    const p = new URLSearchParams();
    if (q.state) p.set('state', q.state);
    if (q.requester) p.set('requester', q.requester);
    if (q.reviewable) p.set('reviewable', 'true');
    if (q.tenant) p.set('tenant', q.tenant);
    p.set('limit', String(q.limit ?? 1000));
    const r = await this.call<{ items: AccessRequest[] }>('GET', '/v1/access/requests?' + p.toString());
    return r.items;
  }

  getRequest(id: string): Promise<AccessRequest> {
    return this.call('GET', '/v1/access/requests/' + encodeURIComponent(id));
  }

  review(id: string, body: { decision: 'approve' | 'deny'; comment?: string; signature?: string }): Promise<AccessRequest> {
    return this.call('POST', '/v1/access/requests/' + encodeURIComponent(id) + '/reviews', body);
  }

  createRequest(body: NewAccessRequest, breakGlass = false): Promise<AccessRequest> {
    return this.call('POST', breakGlass ? '/v1/access/breakglass' : '/v1/access/requests', body);
  }

  revoke(id: string, reason?: string): Promise<AccessRequest> {
    return this.call('POST', '/v1/access/requests/' + encodeURIComponent(id) + '/revoke', reason ? { reason } : {});
  }

  posture(): Promise<Posture> {
    return this.call('GET', '/v1/posture');
  }

  // --- O&M gateway sessions ---
  async sessions(q: { state?: 'active' | 'any'; operator?: string } = {}): Promise<GatewaySession[]> {
    const p = new URLSearchParams();
    if (q.state) p.set('state', q.state);
    if (q.operator) p.set('operator', q.operator);
    const r = await this.call<{ items: GatewaySession[] }>('GET', '/v1/sessions' + (p.toString() ? '?' + p.toString() : ''));
    return r.items;
  }

  session(id: string): Promise<GatewaySession> {
    return this.call('GET', '/v1/sessions/' + encodeURIComponent(id));
  }

  // The asciicast text, with the server's X-Content-SHA256 (checked by the caller).
  async recording(id: string): Promise<{ bytes: Uint8Array; sha256: string }> {
    const res = await fetch(this.base + '/v1/sessions/' + encodeURIComponent(id) + '/recording', { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) {
      let msg = res.statusText;
      try {
        msg = ((await res.json()) as { error?: { message?: string } }).error?.message ?? msg;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, 'http_' + res.status, msg);
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()), sha256: res.headers.get('x-content-sha256') ?? '' };
  }

  terminate(id: string, reason?: string): Promise<{ session: string; terminating: boolean }> {
    return this.call('POST', '/v1/sessions/' + encodeURIComponent(id) + '/terminate', reason ? { reason } : {});
  }

  async heldCommands(): Promise<HeldCommand[]> {
    return (await this.call<{ items: HeldCommand[] }>('GET', '/v1/sessions/reviews')).items;
  }

  reviewCommand(session: string, seq: number, decision: 'approve' | 'reject', comment?: string): Promise<unknown> {
    return this.call('POST', `/v1/sessions/${encodeURIComponent(session)}/commands/${seq}/review`, comment ? { decision, comment } : { decision });
  }

  // --- assessment ---
  async assessRuns(): Promise<AssessRun[]> {
    return (await this.call<{ runs: AssessRun[] }>('GET', '/v1/assess/runs')).runs;
  }

  scorecard(id: string): Promise<Scorecard> {
    return this.call('GET', '/v1/assess/runs/' + encodeURIComponent(id) + '/scorecard');
  }

  startAssessRun(catalog = '', platform = ''): Promise<AssessRun> {
    return this.call('POST', '/v1/assess/runs', { catalog, platform });
  }

  reportUrl(id: string, format: string): string {
    return this.base + '/v1/assess/runs/' + encodeURIComponent(id) + '/report?format=' + encodeURIComponent(format);
  }

  tenantAccessLog(tenant: string): Promise<AccessLog> {
    return this.call('GET', '/v1/tenants/' + encodeURIComponent(tenant) + '/access-log');
  }

  // --- ledger (public) ---
  ledgerInfo(): Promise<LedgerInfo> {
    return this.call('GET', '/v1/ledger/info');
  }

  ledgerEntry(index: number): Promise<LedgerEntryResponse> {
    return this.call('GET', '/v1/ledger/entries/' + index);
  }

  async checkpointNote(): Promise<string> {
    const res = await fetch(this.base + '/ledger/checkpoint', { cache: 'no-store', credentials: 'omit' });
    if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, 'no checkpoint');
    return res.text();
  }

  // A consistency proof as raw hashes. A server that refuses to prove consistency between
  // two checkpoints it signed (4xx) is treated as failing verification, not as being down.
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    let r: { hashes: string[] };
    try {
      r = await this.call('GET', `/v1/ledger/proof/consistency?from=${from}&to=${to}`);
    } catch (e) {
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        throw new VerifyError('consistency_refused', `the server refused a consistency proof from ${from} to ${to}: ${e.message}`);
      }
      throw e;
    }
    return r.hashes.map((h) => fromBase64(h));
  }

  async inclusionProof(index: number, size: number): Promise<string[]> {
    const r = await this.call<{ hashes: string[] }>('GET', `/v1/ledger/proof/inclusion?index=${index}&size=${size}`);
    return r.hashes;
  }
}

export const api = new Api();
