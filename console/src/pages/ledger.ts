import { LitElement, css, html } from 'lit';
import { api, type LedgerInfo, type Me } from '../api.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, t, type MessageKey } from '../i18n/index.js';
import { entrySummary } from '../lib/entries.js';
import { fetchAndVerify, type VerifiedEntry } from '../lib/ledger-entry.js';
import { establishTrust, type Trust } from '../lib/ledger-trust.js';
import { VerifyError, keyIdHex, parseNote, parseVerifierKey, verifySignature, type Note, type Verifier } from '../verify/index.js';

const PAGE = 20;
const WITNESSES = 'cloudpact.witness-vkeys';

interface Cosig {
  name: string;
  keyId: string;
  state: 'verified' | 'failed' | 'unverified';
  detail: string;
  log: boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// The ledger explorer for security administrators and auditors: the latest checkpoint,
// verified against the pinned key and checked for consistency with the one this browser
// remembers; its witness cosignatures, verified against witness keys the reader pins; the
// entries, newest first, each with a badge computed here (bytes → leaf hash → inclusion
// proof → checkpoint root → signature); and one entry's detail with its proof.
export class CpLedger extends LitElement {
  static properties = {
    me: { attribute: false },
    info: { state: true },
    trust: { state: true },
    note: { state: true },
    cosigs: { state: true },
    entries: { state: true },
    error: { state: true },
    page: { state: true },
    detail: { state: true },
    detailError: { state: true },
    editingWitnesses: { state: true },
  };
  declare me: Me;
  declare info: LedgerInfo | null;
  declare trust: Trust | null;
  declare note: string;
  declare cosigs: Cosig[];
  declare entries: Map<number, VerifiedEntry | { index: number; error: string }>;
  declare error: string;
  declare page: number;
  declare detail: VerifiedEntry | null;
  declare detailError: string;
  declare editingWitnesses: boolean;

  static styles = [
    base,
    css`
      tbody tr.entry { cursor: pointer; }
      tbody tr.entry:hover { background: #f7f9fc; }
      pre { background: #f4f6fa; border-radius: 6px; padding: 0.6rem; overflow: auto; max-height: 24rem; font-size: 0.8rem; white-space: pre-wrap; word-break: break-all; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; }
      dt { font-weight: 600; }
      dd { margin: 0; min-width: 0; }
      ol.steps { margin: 0.3rem 0; padding-left: 1.3rem; }
      .goto { display: flex; gap: 0.5rem; align-items: center; }
      .goto input { width: 8rem; }
      td.time { white-space: nowrap; font-size: 0.85rem; }
    `,
  ];

  constructor() {
    super();
    this.info = null;
    this.trust = null;
    this.note = '';
    this.cosigs = [];
    this.entries = new Map();
    this.error = '';
    this.page = 0;
    this.detail = null;
    this.detailError = '';
    this.editingWitnesses = false;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    this.error = '';
    try {
      const [info, note] = await Promise.all([api.ledgerInfo(), api.checkpointNote()]);
      this.info = info;
      this.note = note;
      this.trust = await establishTrust(note);
      this.cosigs = await this.checkCosignatures(note);
      await this.loadPage();
    } catch (e) {
      this.error = message(e);
    }
  }

  private size() {
    return this.trust?.checkpoint?.size ?? this.info?.size ?? 0;
  }

  private async loadPage() {
    const size = this.size();
    const first = size - 1 - this.page * PAGE;
    const indexes: number[] = [];
    for (let i = first; i >= 0 && i > first - PAGE; i--) indexes.push(i);
    const out = new Map(this.entries);
    await Promise.all(
      indexes.map(async (i) => {
        if (out.has(i) && !('error' in out.get(i)!)) return;
        try {
          out.set(i, await fetchAndVerify(i, this.trust ?? undefined));
        } catch (e) {
          out.set(i, { index: i, error: message(e) });
        }
      }),
    );
    this.entries = out;
  }

  private witnessKeys(): string[] {
    return (localStorage.getItem(WITNESSES) ?? '').split('\n').map((s) => s.trim()).filter(Boolean);
  }

  private async checkCosignatures(noteText: string): Promise<Cosig[]> {
    let note: Note;
    try {
      note = parseNote(noteText);
    } catch (e) {
      return [{ name: '?', keyId: '', state: 'failed', detail: message(e), log: false }];
    }
    const witnesses: Verifier[] = [];
    for (const k of this.witnessKeys()) {
      try {
        witnesses.push(await parseVerifierKey(k));
      } catch {
        /* shown when saving */
      }
    }
    const pinned = this.trust?.pinned ?? null;
    const out: Cosig[] = [];
    for (const sig of note.signatures) {
      const keyId = sig.keyId.toString(16).padStart(8, '0');
      if (pinned && sig.name === pinned.name && sig.keyId === pinned.keyId) {
        out.push({ name: sig.name, keyId, state: this.trust?.checkpointError ? 'failed' : 'verified', detail: t('lx.cosig.log'), log: true });
        continue;
      }
      const w = witnesses.find((v) => v.name === sig.name && v.keyId === sig.keyId);
      if (!w) {
        out.push({ name: sig.name, keyId, state: 'unverified', detail: t('lx.cosig.unknown'), log: false });
        continue;
      }
      const r = await verifySignature(w, note.text, sig.signature);
      out.push({
        name: sig.name,
        keyId,
        state: r.ok ? 'verified' : 'failed',
        detail: r.ok ? t('lx.cosig.ok', { time: r.timestamp ? new Date(Number(r.timestamp) * 1000).toISOString() : '—' }) : t('lx.cosig.bad'),
        log: false,
      });
    }
    return out;
  }

  private async saveWitnesses(e: Event) {
    e.preventDefault();
    const text = String(new FormData(e.target as HTMLFormElement).get('witnesses') ?? '');
    const keys = text.split('\n').map((s) => s.trim()).filter(Boolean);
    for (const k of keys) {
      try {
        await parseVerifierKey(k);
      } catch (err) {
        alert(t('pin.invalid', { message: message(err) }));
        return;
      }
    }
    localStorage.setItem(WITNESSES, keys.join('\n'));
    this.editingWitnesses = false;
    this.cosigs = await this.checkCosignatures(this.note);
  }

  private async openEntry(index: number) {
    this.detailError = '';
    this.detail = null;
    try {
      const cached = this.entries.get(index);
      this.detail = cached && !('error' in cached) ? cached : await fetchAndVerify(index, this.trust ?? undefined);
    } catch (e) {
      this.detailError = message(e);
    }
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('#entry-detail h2')?.focus();
  }

  private goto(e: Event) {
    e.preventDefault();
    const v = Number(new FormData(e.target as HTMLFormElement).get('index'));
    if (Number.isSafeInteger(v) && v >= 0) void this.openEntry(v);
  }

  private checkpointCard() {
    const tr = this.trust;
    if (!tr) return loading();
    const cp = tr.checkpoint;
    const c = tr.consistency;
    return html`<section class="card" id="checkpoint-card">
      <h2>${t('lx.checkpoint')}</h2>
      ${tr.checkpointError ? html`<cp-alarm id="alarm-checkpoint" heading=${t('alarm.title')}>${t('alarm.checkpoint', { message: tr.checkpointError.message })}</cp-alarm>` : ''}
      ${tr.serverKey ? html`<cp-alarm heading=${t('alarm.title')}>${t('pin.mismatch', { server: tr.serverKey })}</cp-alarm>` : ''}
      ${tr.alarm
        ? html`<cp-alarm id="alarm-consistency" heading=${t('alarm.title')}>${t('alarm.inconsistent', { size: tr.alarm.presented.size, prevSize: tr.alarm.remembered.size, message: tr.alarm.message })}</cp-alarm>`
        : ''}
      <dl>
        <dt>${t('lx.origin')}</dt><dd><code>${this.info?.origin ?? ''}</code></dd>
        <dt>${t('lx.size')}</dt><dd id="cp-size">${cp?.size ?? this.info?.size ?? '—'}</dd>
        <dt>${t('lx.root')}</dt><dd><code>${this.note.split('\n')[2] ?? ''}</code></dd>
        <dt>${t('lx.signature')}</dt>
        <dd><cp-badge id="cp-badge" state=${cp ? 'verified' : tr.pinned ? 'failed' : 'unverified'} detail=${tr.checkpointError?.message ?? (tr.pinned ? '' : t('pin.none'))}></cp-badge></dd>
        <dt>${t('lx.consistency')}</dt>
        <dd>${c ? html`<span class="ok" id="consistency">${t(`tp.consistency.${c.status}` as MessageKey, { size: 'previous' in c ? c.previous.size : c.current.size })}</span>` : tr.consistencyError ? html`<span class="bad">${tr.consistencyError.message}</span>` : '—'}</dd>
        ${tr.memory ? html`<dt>${t('lx.remembered')}</dt><dd class="mono">${(() => {
          try {
            const r = tr.memory!.remembered();
            return r ? t('lx.rememberedAt', { size: r.size, at: r.verifiedAt }) : '—';
          } catch (e) {
            return e instanceof VerifyError ? e.message : '—';
          }
        })()}</dd>` : ''}
      </dl>
      <details><summary>${t('lx.note')}</summary><pre id="note">${this.note}</pre></details>
    </section>`;
  }

  private cosigCard() {
    const keys = this.witnessKeys();
    return html`<section class="card" id="cosignatures">
      <h2>${t('lx.cosig.title')}</h2>
      <p class="muted">${t('lx.cosig.intro')}</p>
      ${this.cosigs.length
        ? html`<table><thead><tr><th scope="col">${t('lx.cosig.name')}</th><th scope="col">${t('lx.cosig.keyId')}</th><th scope="col">${t('tp.col.badge')}</th></tr></thead>
            <tbody>${this.cosigs.map(
              (c) => html`<tr data-signer=${c.name}><td>${c.name}${c.log ? html` <span class="muted">(${t('lx.cosig.logKey')})</span>` : ''}</td><td><code>${c.keyId}</code></td>
                <td><cp-badge state=${c.state} detail=${c.detail}></cp-badge> <span class="muted">${c.detail}</span></td></tr>`,
            )}</tbody></table>`
        : empty(t('lx.cosig.none'))}
      ${this.cosigs.filter((c) => !c.log).length === 0 ? html`<p class="muted">${t('lx.cosig.noWitness')}</p>` : ''}
      ${this.editingWitnesses
        ? html`<form @submit=${this.saveWitnesses}>
            <label for="witnesses">${t('lx.cosig.keys')}</label>
            <textarea id="witnesses" name="witnesses" class="mono" rows="3" .value=${keys.join('\n')}></textarea>
            <div class="row" style="margin-top: 0.5rem;"><button type="submit">${t('pin.save')}</button>
              <button type="button" class="secondary" @click=${() => (this.editingWitnesses = false)}>${t('ap.close')}</button></div>
          </form>`
        : html`<button class="secondary" @click=${() => (this.editingWitnesses = true)}>${t('lx.cosig.edit', { n: keys.length })}</button>`}
    </section>`;
  }

  private entryTable() {
    const size = this.size();
    if (!size) return empty(t('lx.empty'));
    const first = size - 1 - this.page * PAGE;
    const rows: number[] = [];
    for (let i = first; i >= 0 && i > first - PAGE; i--) rows.push(i);
    return html`<table id="entries">
        <thead><tr><th scope="col">#</th><th scope="col">${t('lx.col.type')}</th><th scope="col">${t('lx.col.actor')}</th><th scope="col">${t('lx.col.time')}</th>
          <th scope="col">${t('lx.col.summary')}</th><th scope="col">${t('tp.col.badge')}</th></tr></thead>
        <tbody>${rows.map((i) => {
          const v = this.entries.get(i);
          if (!v) return html`<tr data-index=${i}><td>${i}</td><td colspan="5" class="muted">${t('app.loading')}</td></tr>`;
          if ('error' in v) return html`<tr data-index=${i}><td>${i}</td><td colspan="5" class="bad">${v.error}</td></tr>`;
          return html`<tr class="entry" data-index=${i} tabindex="0" @click=${() => this.openEntry(i)} @keydown=${(e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), this.openEntry(i))}>
            <td>${i}</td><td><code>${v.entry?.type ?? '?'}</code></td><td>${v.entry?.actor ?? '?'}</td><td class="time">${v.entry?.time ? v.entry.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : ''}</td>
            <td class="muted">${v.entry ? entrySummary(v.entry) : ''}</td>
            <td><cp-badge state=${v.state} detail=${v.detail}></cp-badge></td>
          </tr>`;
        })}</tbody>
      </table>
      <cp-pager .page=${this.page} .pageSize=${PAGE} .total=${size} @page=${(e: CustomEvent<number>) => ((this.page = e.detail), void this.loadPage())}></cp-pager>`;
  }

  private detailCard() {
    if (this.detailError) return failure(this.detailError);
    const d = this.detail;
    if (!d) return '';
    const r = d.response;
    return html`<section class="card" id="entry-detail" data-index=${d.index}>
      <div class="row" style="justify-content: space-between;">
        <h2 tabindex="-1">${t('lx.entry', { index: d.index })}</h2>
        <button class="secondary" @click=${() => (this.detail = null)}>${t('ap.close')}</button>
      </div>
      <p><cp-badge id="entry-badge" state=${d.state} detail=${d.detail}></cp-badge></p>
      ${d.state === 'failed' ? html`<cp-alarm id="alarm-entry" heading=${t('alarm.title')}>${t('lx.entryFailed', { message: d.detail })}</cp-alarm>` : ''}
      <ol class="steps">
        <li>${t('lx.step.bytes', { n: d.bytes?.length ?? 0 })}</li>
        <li>${t('lx.step.leaf')} <code>${d.leafHashHex ?? ''}</code></li>
        <li>${t('lx.step.proof', { n: r?.inclusion_proof?.length ?? 0, size: r?.checkpoint?.size ?? '—' })}</li>
        <li>${t('lx.step.root')} <code>${r?.checkpoint?.root ?? '—'}</code></li>
        <li>${t('lx.step.sig')} ${this.trust?.pinned ? html`<code>${this.trust.pinned.name}+${keyIdHex(this.trust.pinned)}</code>` : t('pin.none')}</li>
      </ol>
      <dl>
        <dt>${t('lx.col.type')}</dt><dd><code>${d.entry?.type ?? '?'}</code></dd>
        <dt>${t('lx.col.actor')}</dt><dd>${d.entry?.actor ?? '?'}</dd>
        <dt>${t('lx.col.time')}</dt><dd>${d.entry?.time ?? ''}</dd>
      </dl>
      <h3>${t('lx.body')}</h3>
      <pre id="entry-json">${JSON.stringify(d.entry ?? null, null, 2)}</pre>
      <details><summary>${t('lx.proof')}</summary><pre>${(r?.inclusion_proof ?? []).join('\n') || '—'}</pre></details>
    </section>`;
  }

  render() {
    return html`<h1>${t('lx.title')}</h1>
      <p class="muted">${t('lx.intro')}</p>
      <cp-pin-key @pinned=${() => ((this.entries = new Map()), this.load())}></cp-pin-key>
      ${this.error ? failure(this.error, () => this.load()) : ''}
      ${this.checkpointCard()}
      ${this.cosigCard()}
      ${this.detailCard()}
      <div class="row" style="justify-content: space-between;">
        <h2>${t('lx.entries')}</h2>
        <form class="goto" @submit=${this.goto}>
          <label for="goto" style="margin: 0;">${t('lx.goto')}</label>
          <input id="goto" name="index" type="number" min="0" />
          <button type="submit" class="secondary">${t('ap.open')}</button>
          <button type="button" class="secondary" @click=${() => ((this.entries = new Map()), this.load())}>${t('tp.refresh.short')}</button>
        </form>
      </div>
      ${this.entryTable()}`;
  }
}
customElements.define('cp-ledger', CpLedger);
