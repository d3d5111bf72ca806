import { LitElement, css, html } from 'lit';
import { ApiError, api, type AccessRequest, type Me } from '../api.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatDuration, formatTime, t, type MessageKey } from '../i18n/index.js';
import { ed25519Supported, generateKey, loadKey, sign, type StoredKey } from '../lib/keystore.js';
import { loadPinned } from '../lib/ledger-trust.js';
import { approverKeyStatement, signingStatement, utf8, type SigningStatement } from '../verify/index.js';

const PAGE = 10;

// The tenant approver's page: the browser-held signing key (generated here, then registered
// by the approver themselves with POST /v1/auth/approver-key and a signature by it), the
// key on file compared with it, the pending lockbox requests, and approve/deny signed here
// over the statement the browser recomputed itself.
export class CpApprover extends LitElement {
  static properties = {
    me: { attribute: false },
    key: { state: true },
    keyChecked: { state: true },
    registered: { state: true },
    keyResult: { state: true },
    supported: { state: true },
    items: { state: true },
    error: { state: true },
    page: { state: true },
    open: { state: true },
    statement: { state: true },
    statementError: { state: true },
    result: { state: true },
    busy: { state: true },
  };
  declare me: Me;
  declare key: StoredKey | null;
  declare keyChecked: boolean;
  declare registered: string; // the public key on file (base64), "" for none
  declare keyResult: { ok: boolean; text: string } | null;
  declare supported: boolean;
  declare items: AccessRequest[] | null;
  declare error: string;
  declare page: number;
  declare open: AccessRequest | null;
  declare statement: SigningStatement | null;
  declare statementError: string;
  declare result: { ok: boolean; text: string } | null;
  declare busy: boolean;

  static styles = [
    base,
    css`
      tbody tr { cursor: pointer; }
      tbody tr:hover { background: #f7f9fc; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0.5rem 0 1rem; }
      dt { font-weight: 600; }
      dd { margin: 0; }
      textarea { min-height: 3rem; }
    `,
  ];

  constructor() {
    super();
    this.key = null;
    this.keyChecked = false;
    this.registered = '';
    this.keyResult = null;
    this.supported = true;
    this.items = null;
    this.error = '';
    this.page = 0;
    this.open = null;
    this.statement = null;
    this.statementError = '';
    this.result = null;
    this.busy = false;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.init();
  }

  private async init() {
    this.registered = this.me.public_key ?? '';
    this.supported = await ed25519Supported();
    try {
      this.key = await loadKey(this.me.principal);
    } catch {
      this.key = null;
    }
    this.keyChecked = true;
    await this.reload();
  }

  private async reload() {
    this.error = '';
    try {
      this.items = await api.listRequests({ state: 'pending', reviewable: true });
    } catch (e) {
      this.items = null;
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  // A new non-extractable key pair in this browser, registered as this approver's key at once.
  private async generate() {
    this.busy = true;
    this.keyResult = null;
    try {
      this.key = await generateKey(this.me.principal);
    } catch (e) {
      this.keyResult = { ok: false, text: String(e) };
      this.busy = false;
      return;
    }
    await this.register();
  }

  // Registers this browser's key: the server checks a signature by it over
  // "cloudpact-approver-key/v1\n" + approver + "\n" + tenant + "\n" + public key + "\n",
  // ledgers the change (the tenant sees it among its verified records), and from then on
  // verifies this approver's approvals under it. Needs a session with password and TOTP.
  private async register() {
    const key = this.key;
    if (!key) return;
    this.busy = true;
    this.keyResult = null;
    try {
      const tenant = this.me.tenant ?? '';
      const signature = await sign(key, utf8(approverKeyStatement(this.me.principal, tenant, key.publicKey)));
      const r = await api.registerApproverKey(key.publicKey, signature);
      this.keyResult = { ok: true, text: t('ap.key.registeredAt', { index: r.ledger_index }) };
      // What the server now has on file, read back rather than assumed.
      const me = await api.me();
      this.registered = me.public_key ?? r.public_key;
    } catch (e) {
      this.keyResult = { ok: false, text: t('ap.key.registerFailed', { message: e instanceof Error ? e.message : String(e) }) };
    } finally {
      this.busy = false;
    }
  }

  private keyMatches(): boolean {
    return !!this.key && this.registered === this.key.publicKey;
  }

  private async openRequest(id: string) {
    this.result = null;
    this.statement = null;
    this.statementError = '';
    try {
      const req = await api.getRequest(id);
      this.open = req;
      // The origin the request is bound to: the pinned log's name, else what the server says.
      const pinned = (await loadPinned()).pinned;
      const origin = pinned?.name ?? (await api.ledgerInfo()).origin;
      this.statement = await signingStatement(req, origin);
    } catch (e) {
      this.statementError = e instanceof Error ? e.message : String(e);
    }
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('#detail h2')?.focus();
  }

  private async decide(decision: 'approve' | 'deny') {
    const req = this.open;
    if (!req || !this.statement || !this.key) return;
    const comment = (this.renderRoot.querySelector('#comment') as HTMLTextAreaElement | null)?.value ?? '';
    this.busy = true;
    try {
      const signature = await sign(this.key, decision === 'approve' ? this.statement.approve : this.statement.deny);
      await api.review(req.id, { decision, comment: comment || undefined, signature });
      this.result = { ok: true, text: t(decision === 'approve' ? 'ap.done.approve' : 'ap.done.deny', { id: req.id }) };
      this.open = null;
      await this.reload();
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 400 && /signature/.test(e.message)
        ? t('ap.notRegistered', { message: e.message })
        : e instanceof Error ? e.message : String(e);
      this.result = { ok: false, text: msg };
    } finally {
      this.busy = false;
    }
  }

  private keyCard() {
    if (!this.keyChecked) return loading();
    if (!this.supported) return html`<div class="card bad" role="alert">${t('ap.key.unsupported')}</div>`;
    const result = this.keyResult
      ? html`<p id="key-result" class=${this.keyResult.ok ? 'ok' : 'bad'} role=${this.keyResult.ok ? 'status' : 'alert'}>${this.keyResult.text}</p>`
      : '';
    const onFile = html`<p>${t('ap.key.onFile')}</p>
      <div class="row"><code id="registered-key">${this.registered || t('ap.key.noneOnFile')}</code></div>`;
    if (!this.key) {
      return html`<div class="card"><h2>${t('ap.key.title')}</h2><p>${t('ap.key.none')}</p>
        ${onFile}
        ${this.registered ? html`<p class="bad" role="note">${t('ap.key.elsewhere')}</p>` : ''}
        <button id="generate-key" @click=${this.generate} ?disabled=${this.busy}>${t('ap.key.generate')}</button>
        ${result}</div>`;
    }
    const match = this.keyMatches();
    return html`<div class="card"><h2>${t('ap.key.title')}</h2>
      <p>${t('ap.key.public')}</p>
      <div class="row"><code id="public-key">${this.key.publicKey}</code>
        <button class="secondary" @click=${() => navigator.clipboard?.writeText(this.key!.publicKey)}>${t('ap.key.copy')}</button></div>
      <p class="muted">${t('ap.key.created', { time: formatTime(this.key.created) })}</p>
      ${onFile}
      ${match
        ? html`<p id="key-match" class="ok">✔ ${t('ap.key.match')}</p>`
        : html`<p id="key-mismatch" class="bad" role="alert">${t(this.registered ? 'ap.key.mismatch' : 'ap.key.unregistered')}</p>
            <button id="register-key" @click=${this.register} ?disabled=${this.busy}>${t('ap.key.register')}</button>`}
      ${result}</div>`;
  }

  private list() {
    if (this.error) return failure(this.error, () => this.reload());
    if (!this.items) return loading();
    if (this.items.length === 0) return empty(t('ap.empty'));
    const rows = this.items.slice(this.page * PAGE, (this.page + 1) * PAGE);
    return html`<table>
        <thead><tr>
          <th scope="col">${t('ap.col.requester')}</th><th scope="col">${t('ap.col.what')}</th>
          <th scope="col">${t('ap.col.reason')}</th><th scope="col">${t('ap.col.duration')}</th>
          <th scope="col">${t('ap.col.ticket')}</th><th scope="col">${t('ap.col.created')}</th>
          <th scope="col">${t('ap.col.decideBy')}</th><th scope="col"></th>
        </tr></thead>
        <tbody>
          ${rows.map((r) => html`<tr data-request=${r.id} @click=${() => this.openRequest(r.id)}>
            <td>${r.requester}</td>
            <td>${r.resources.join(', ')}<div class="muted">${r.actions.join(', ')}</div></td>
            <td>${t(`reason.${r.reason}` as MessageKey)}</td>
            <td>${formatDuration(r.duration_seconds)}</td>
            <td>${r.ticket || '—'}</td>
            <td>${formatTime(r.created)}</td>
            <td>${formatTime(r.decide_by)}</td>
            <td><button class="secondary open" @click=${(e: Event) => (e.stopPropagation(), this.openRequest(r.id))}>${t('ap.open')}</button></td>
          </tr>`)}
        </tbody>
      </table>
      <cp-pager .page=${this.page} .pageSize=${PAGE} .total=${this.items.length} @page=${(e: CustomEvent<number>) => (this.page = e.detail)}></cp-pager>`;
  }

  private detail() {
    const r = this.open;
    if (!r && !this.statementError) return '';
    return html`<section id="detail" class="card" aria-live="polite">
      ${r
        ? html`<h2 tabindex="-1">${t('ap.detail.title', { id: r.id })}</h2>
            <dl>
              <dt>${t('ap.col.requester')}</dt><dd>${r.requester}</dd>
              <dt>${t('ap.detail.resources')}</dt><dd>${r.resources.join(', ')}</dd>
              <dt>${t('ap.detail.actions')}</dt><dd>${r.actions.join(', ')}</dd>
              <dt>${t('ap.col.reason')}</dt><dd>${t(`reason.${r.reason}` as MessageKey)}</dd>
              <dt>${t('ap.detail.justification')}</dt><dd>${r.justification ?? '—'}</dd>
              <dt>${t('ap.col.duration')}</dt><dd>${formatDuration(r.duration_seconds)}</dd>
              <dt>${t('ap.col.ticket')}</dt><dd>${r.ticket || '—'}</dd>
              <dt>${t('ap.col.created')}</dt><dd>${formatTime(r.created)}</dd>
              <dt>${t('ap.detail.digest')}</dt><dd><code>${this.statement?.digest ?? r.digest}</code></dd>
              <dt>${t('ap.detail.reviews')}</dt>
              <dd>${r.reviews.length ? r.reviews.map((v) => `${v.reviewer} (${v.organisation}): ${t(`decision.${v.decision}` as MessageKey)}`).join('; ') : '—'}</dd>
            </dl>`
        : ''}
      ${this.statementError
        ? html`<cp-alarm heading=${t('alarm.title')}>${t('ap.detail.digestBad', { message: this.statementError })}</cp-alarm>`
        : this.statement
          ? html`<p class="ok" id="digest-ok">✔ ${t('ap.detail.digestOk')}</p>`
          : loading()}
      ${!this.keyMatches() ? html`<p class="bad" role="alert">${t('ap.needKey')}</p>` : ''}
      <label for="comment">${t('ap.comment')}</label>
      <textarea id="comment"></textarea>
      <div class="row" style="margin-top: 0.75rem;">
        <button id="approve" ?disabled=${this.busy || !this.statement || !this.key} @click=${() => this.decide('approve')}>${t('ap.approve')}</button>
        <button id="deny" class="danger" ?disabled=${this.busy || !this.statement || !this.key} @click=${() => this.decide('deny')}>${t('ap.deny')}</button>
        <button class="secondary" @click=${() => ((this.open = null), (this.statementError = ''))}>${t('ap.close')}</button>
      </div>
    </section>`;
  }

  render() {
    return html`<h1>${t('ap.title')}</h1>
      <p class="muted">${t('ap.intro')}</p>
      ${this.keyCard()}
      ${this.result ? html`<p id="result" class=${this.result.ok ? 'ok' : 'bad'} role=${this.result.ok ? 'status' : 'alert'}>${this.result.text}</p>` : ''}
      ${this.detail()}
      <h2>${t('ap.pending')}</h2>
      ${this.list()}`;
  }
}
customElements.define('cp-approver', CpApprover);
