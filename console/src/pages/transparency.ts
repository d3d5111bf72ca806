import { LitElement, css, html } from 'lit';
import { ApiError, api, type AccessLog, type AccessLogEntry, type Me } from '../api.js';
import type { BadgeState } from '../components/badge.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatTime, t, type MessageKey } from '../i18n/index.js';
import { entrySummary, type LedgerEntry } from '../lib/entries.js';
import { establishTrust, trustedCheckpoint, type Trust } from '../lib/ledger-trust.js';
import { VerifyError, approverKeyStatement, ed25519Verify, fromBase64, utf8, verifyEntry } from '../verify/index.js';

interface EntryView {
  index: number;
  state: BadgeState;
  detail: string;
  entry?: LedgerEntry;
}

const PAGE = 10;

// What the grant was used for: gateway sessions, their commands and files, and recorded
// uses (src/access LinkEvidence adds them to the request's ledger_indexes).
// A change of one of the tenant's approver keys, as its ledger entry says: a provider's
// directory apply (directory.approver, body.approver the record) or the approver's own
// registration (directory.approver_key, with the previous key and a proof of possession).
interface KeyChange {
  approver: string;
  key: string;
  previous?: string;
  proof?: string; // the signature, for directory.approver_key
}

function keyChange(e?: LedgerEntry): KeyChange | null {
  const b = e?.body;
  if (!b) return null;
  if (e.type === 'directory.approver_key') {
    return { approver: String(b.approver ?? ''), key: String(b.public_key ?? ''), previous: String(b.previous_key ?? ''), proof: String(b.signature ?? '') };
  }
  const a = b.approver as Record<string, unknown> | undefined;
  if (e.type === 'directory.approver' && a && typeof a === 'object') return { approver: String(a.id ?? ''), key: String(a.public_key ?? '') };
  return null;
}

const isSessionEntry = (e?: LedgerEntry) => !!e?.type && (e.type.startsWith('gateway.') || e.type === 'access.use');

// Tenant access transparency: every access to the tenant's resources, each record verified
// by this browser from its bytes up to the signed checkpoint, and the checkpoint checked
// for consistency with the one this browser remembered. Below them, every change of the
// tenant's approver keys (key_events), verified the same way; for a key an approver
// registered themselves the browser also checks the signature that proves possession.
// An approver reads their own tenant (from /v1/auth/me); others with tenant:read name one.
export class CpTransparency extends LitElement {
  static properties = {
    me: { attribute: false },
    tenant: { state: true },
    log: { state: true },
    trust: { state: true },
    views: { state: true },
    error: { state: true },
    busy: { state: true },
    page: { state: true },
  };
  declare me: Me;
  declare tenant: string;
  declare log: AccessLog | null;
  declare trust: Trust | null;
  declare views: Map<number, EntryView>;
  declare error: string;
  declare busy: boolean;
  declare page: number;

  static styles = [
    base,
    css`
      details summary { cursor: pointer; }
      ul.entries { list-style: none; padding: 0; margin: 0.4rem 0 0; }
      ul.entries li { display: flex; gap: 0.5rem; align-items: baseline; padding: 0.2rem 0; border-top: 1px dashed #e3e6ec; flex-wrap: wrap; }
      .summary { color: #5b6475; font-size: 0.85rem; }
      h3 { font-size: 0.9rem; margin: 0.6rem 0 0; }
    `,
  ];

  constructor() {
    super();
    this.tenant = '';
    this.log = null;
    this.trust = null;
    this.views = new Map();
    this.error = '';
    this.busy = false;
    this.page = 0;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    this.tenant = this.me.kind === 'approver' ? (this.me.tenant ?? '') : '';
    if (this.tenant) void this.load();
  }

  private async load() {
    this.busy = true;
    this.error = '';
    this.views = new Map();
    try {
      const log = await api.tenantAccessLog(this.tenant);
      this.log = log;
      this.trust = await establishTrust(log.checkpoint);
      await this.verifyAll(log, this.trust);
    } catch (e) {
      this.log = null;
      this.error = e instanceof ApiError || e instanceof Error ? e.message : String(e);
    } finally {
      this.busy = false;
    }
  }

  private async verifyAll(log: AccessLog, trust: Trust) {
    const cp = trustedCheckpoint(trust);
    const views = new Map<number, EntryView>();
    const why = !trust.pinned
      ? t('pin.none')
      : trust.checkpointError
        ? trust.checkpointError.message
        : trust.consistencyError instanceof VerifyError
          ? trust.consistencyError.message
          : '';
    if (cp && cp.size !== log.tree_size) {
      // The proofs were made for tree_size; a note of another size cannot vouch for them.
      trust.checkpointError = new VerifyError('checkpoint_size', `the proofs are for size ${log.tree_size}, the checkpoint is for ${cp.size}`);
    }
    const checkWith = trust.checkpointError ? null : cp;
    const whyNot = why || trust.checkpointError?.message || '';
    for (const req of log.requests) {
      for (const e of req.entries) views.set(e.index, await this.verifyOne(e, checkWith, whyNot));
    }
    for (const e of log.key_events ?? []) views.set(e.index, await this.verifyKeyEvent(e, checkWith, whyNot, log.tenant));
    this.views = views;
  }

  // A key change: its inclusion as for every record, and, when the approver registered the
  // key themselves, their signature over the registration statement under that key.
  private async verifyKeyEvent(e: AccessLogEntry, cp: ReturnType<typeof trustedCheckpoint>, why: string, tenant: string): Promise<EntryView> {
    const v = await this.verifyOne(e, cp, why);
    const k = keyChange(v.entry);
    if (v.state === 'failed' || !k || k.proof === undefined) return v;
    let ok = false;
    try {
      ok = await ed25519Verify(fromBase64(k.key), utf8(approverKeyStatement(k.approver, tenant, k.key)), fromBase64(k.proof));
    } catch {
      ok = false;
    }
    return ok ? v : { ...v, state: 'failed', detail: t('tp.keys.proofBad') };
  }

  private async verifyOne(e: AccessLogEntry, cp: ReturnType<typeof trustedCheckpoint>, why: string): Promise<EntryView> {
    let entry: LedgerEntry | undefined;
    try {
      entry = e.entry ? (JSON.parse(e.entry) as LedgerEntry) : undefined;
    } catch {
      entry = undefined;
    }
    if (e.entry === undefined) return { index: e.index, state: 'failed', detail: 'entry missing', entry };
    if (e.pending_checkpoint) return { index: e.index, state: 'pending', detail: '', entry };
    if (!cp) return { index: e.index, state: 'unverified', detail: why, entry };
    try {
      const r = await verifyEntry({ index: e.index, bytes: utf8(e.entry), proof: e.inclusion_proof ?? [] }, cp);
      return { index: e.index, state: 'verified', detail: t('badge.detail', { leaf: r.leafHashHex.slice(0, 16) + '…' }), entry: r.entry as LedgerEntry };
    } catch (err) {
      return { index: e.index, state: 'failed', detail: (err as Error).message, entry };
    }
  }

  private setTenant(e: Event) {
    e.preventDefault();
    this.tenant = String(new FormData(e.target as HTMLFormElement).get('tenant') ?? '').trim();
    if (this.tenant) void this.load();
  }

  private dismissAlarm() {
    this.trust?.memory?.dismissAlarm();
    if (this.trust) this.trust = { ...this.trust, alarm: null };
  }

  private alarms() {
    const tr = this.trust;
    if (!tr) return '';
    const out = [];
    if (tr.pinnedError) out.push(html`<cp-alarm heading=${t('alarm.title')}>${t('pin.invalid', { message: tr.pinnedError })}</cp-alarm>`);
    if (tr.serverKey) out.push(html`<cp-alarm id="alarm-key" heading=${t('alarm.title')}>${t('pin.mismatch', { server: tr.serverKey })}</cp-alarm>`);
    if (tr.checkpointError) {
      out.push(html`<cp-alarm id="alarm-checkpoint" heading=${t('alarm.title')}>${t('alarm.checkpoint', { message: tr.checkpointError.message })}</cp-alarm>`);
    }
    if (tr.alarm) {
      const a = tr.alarm;
      out.push(html`<cp-alarm id="alarm-consistency" heading=${t('alarm.title')}>
        <p>${t('alarm.inconsistent', { size: a.presented.size, prevSize: a.remembered.size, message: a.message })}</p>
        <p class="mono">${t('alarm.remembered', { size: a.remembered.size, root: a.remembered.root, at: a.remembered.verifiedAt })}</p>
        <button class="secondary" @click=${this.dismissAlarm}>${t('alarm.dismiss')}</button>
      </cp-alarm>`);
    } else if (tr.consistencyError && !(tr.consistencyError instanceof VerifyError)) {
      out.push(html`<p class="bad" role="status">${t('alarm.unavailable', { message: tr.consistencyError.message })}</p>`);
    }
    const failed = [...this.views.values()].filter((v) => v.state === 'failed').length;
    if (failed) out.push(html`<cp-alarm id="alarm-entries" heading=${t('alarm.title')}>${t('alarm.entries', { count: failed })}</cp-alarm>`);
    return out;
  }

  private consistencyLine() {
    const c = this.trust?.consistency;
    if (!c) return '';
    const key = `tp.consistency.${c.status}` as MessageKey;
    const size = 'previous' in c ? c.previous.size : c.current.size;
    return html`<p class="ok" id="consistency">${t(key, { size })}</p>`;
  }

  private rowBadge(entries: AccessLogEntry[]): { state: BadgeState; detail: string } {
    const vs = entries.map((e) => this.views.get(e.index));
    if (vs.some((v) => !v)) return { state: 'checking', detail: '' };
    const bad = vs.find((v) => v!.state === 'failed');
    if (bad) return { state: 'failed', detail: `#${bad.index}: ${bad.detail}` };
    const unv = vs.find((v) => v!.state === 'unverified');
    if (unv) return { state: 'unverified', detail: unv.detail };
    if (vs.some((v) => v!.state === 'pending')) return { state: 'pending', detail: '' };
    return { state: 'verified', detail: '' };
  }

  private entryList(entries: AccessLogEntry[]) {
    return html`<ul class="entries">
      ${entries.map((e) => {
        const v = this.views.get(e.index);
        const en = v?.entry;
        return html`<li data-index=${e.index}>
          <cp-badge state=${v?.state ?? 'checking'} detail=${v?.detail ?? ''}></cp-badge>
          <span>${t('tp.entry', { index: e.index, type: en?.type ?? '?', actor: en?.actor ?? '?', time: en?.time ?? '?' })}</span>
          <span class="summary">${en ? entrySummary(en) : ''}</span>
        </li>`;
      })}
    </ul>`;
  }

  render() {
    return html`<h1>${t('tp.title')}</h1>
      <p class="muted">${t('tp.intro')}</p>
      <cp-pin-key @pinned=${() => this.tenant && this.load()}></cp-pin-key>
      ${this.me.kind === 'approver'
        ? html`<div class="card row">
            <span id="tenant-name">${t('tp.tenantIs', { tenant: this.tenant || '—' })}</span>
            ${this.log ? html`<button type="button" class="secondary" @click=${() => this.load()}>${t('tp.refresh')}</button>` : ''}
          </div>`
        : html`<form class="card row" @submit=${this.setTenant}>
            <label for="tenant" style="margin: 0;">${t('tp.tenant')}</label>
            <input id="tenant" name="tenant" style="width: 14rem;" .value=${this.tenant} required placeholder=${t('tp.tenantHint')} />
            <button type="submit">${t('tp.tenantSet')}</button>
            ${this.log ? html`<button type="button" class="secondary" @click=${() => this.load()}>${t('tp.refresh')}</button>` : ''}
          </form>`}
      ${this.alarms()} ${this.body()}`;
  }

  private body() {
    if (this.busy && !this.log) return loading();
    if (this.error) return failure(this.error, () => this.load());
    if (!this.log) return '';
    const log = this.log;
    const cp = this.trust?.checkpoint;
    const all = [...this.views.values()];
    const summary = html`<div class="card">
      ${cp ? html`<p class="mono" id="checkpoint">${t('tp.checkpoint', { size: cp.size, root: cp.note.split('\n')[2] })}</p>` : ''}
      ${this.consistencyLine()}
      <p id="verified-count">${t('tp.verifiedCount', { ok: all.filter((v) => v.state === 'verified').length, total: all.length })}</p>
    </div>`;
    if (log.requests.length === 0) return html`${summary}${empty(t('tp.empty'))}${this.keyEvents(log)}`;
    const rows = [...log.requests].sort((a, b) => b.created - a.created).slice(this.page * PAGE, (this.page + 1) * PAGE);
    return html`${summary}
      <table>
        <thead><tr>
          <th scope="col">${t('tp.col.request')}</th><th scope="col">${t('tp.col.requester')}</th>
          <th scope="col">${t('tp.col.what')}</th><th scope="col">${t('tp.col.reason')}</th>
          <th scope="col">${t('tp.col.state')}</th><th scope="col">${t('tp.col.evidence')}</th>
          <th scope="col">${t('tp.col.badge')}</th>
        </tr></thead>
        <tbody>
          ${rows.map((req) => {
            const b = this.rowBadge(req.entries);
            const approvals = req.reviews.map((r) => `${r.reviewer} (${t(`decision.${r.decision}` as MessageKey)}${r.signature ? ', ✍' : ''})`);
            return html`<tr data-request=${req.id}>
              <td><code>${req.id}</code><div class="muted">${formatTime(req.created)}</div></td>
              <td>${req.requester}</td>
              <td>${req.resources.join(', ')}<div class="muted">${req.actions.join(', ')}</div></td>
              <td>${t(`reason.${req.reason}` as MessageKey)}${req.ticket ? html`<div class="muted">${req.ticket}</div>` : ''}</td>
              <td>${t(`state.${req.state}` as MessageKey)}</td>
              <td>
                <div>${approvals.length ? t('tp.approvals', { list: approvals.join('; ') }) : t('tp.noApprovals')}</div>
                <details>
                  <summary>${t('tp.entries', { count: req.entries.length })}</summary>
                  ${this.entryList(req.entries.filter((e) => !isSessionEntry(this.views.get(e.index)?.entry)))}
                  ${req.entries.some((e) => isSessionEntry(this.views.get(e.index)?.entry))
                    ? html`<h3 class="muted">${t('tp.sessions')}</h3>
                        ${this.entryList(req.entries.filter((e) => isSessionEntry(this.views.get(e.index)?.entry)))}`
                    : ''}
                </details>
              </td>
              <td><cp-badge class="row-badge" state=${b.state} detail=${b.detail}></cp-badge></td>
            </tr>`;
          })}
        </tbody>
      </table>
      <cp-pager .page=${this.page} .pageSize=${PAGE} .total=${log.requests.length} @page=${(e: CustomEvent<number>) => (this.page = e.detail)}></cp-pager>
      ${this.keyEvents(log)}`;
  }

  private keyEvents(log: AccessLog) {
    const events = [...(log.key_events ?? [])].sort((a, b) => b.index - a.index);
    return html`<h2 id="key-events">${t('tp.keys.title')}</h2>
      <p class="muted">${t('tp.keys.intro')}</p>
      ${events.length === 0
        ? empty(t('tp.keys.empty'))
        : html`<table id="key-events-table">
            <thead><tr>
              <th scope="col">${t('tp.keys.col.when')}</th><th scope="col">${t('tp.keys.col.approver')}</th>
              <th scope="col">${t('tp.keys.col.key')}</th><th scope="col">${t('tp.keys.col.by')}</th>
              <th scope="col">${t('tp.col.badge')}</th>
            </tr></thead>
            <tbody>
              ${events.map((e) => {
                const v = this.views.get(e.index);
                const k = keyChange(v?.entry);
                const self = v?.entry?.type === 'directory.approver_key' && v.entry.actor === k?.approver;
                return html`<tr data-index=${e.index} data-type=${v?.entry?.type ?? ''}>
                  <td>${v?.entry?.time ?? '?'}<div class="muted">#${e.index} ${v?.entry?.type ?? ''}</div></td>
                  <td>${k?.approver ?? '?'}</td>
                  <td><code>${k?.key || t('ap.key.noneOnFile')}</code>
                    ${k?.previous ? html`<div class="muted">${t('tp.keys.previous', { key: k.previous })}</div>` : ''}</td>
                  <td>${self ? t('tp.keys.self', { actor: v!.entry!.actor! }) : (v?.entry?.actor ?? '?')}</td>
                  <td><cp-badge state=${v?.state ?? 'checking'} detail=${v?.detail ?? ''}></cp-badge></td>
                </tr>`;
              })}
            </tbody>
          </table>`}`;
  }
}
customElements.define('cp-transparency', CpTransparency);
