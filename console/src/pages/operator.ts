import { LitElement, css, html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ApiError, api, type AccessRequest, type GatewaySession, type Me } from '../api.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatDuration, formatTime, t, type MessageKey } from '../i18n/index.js';

const PAGE = 10;
const REASONS = ['customer_support', 'incident_response', 'maintenance', 'legal_request'] as const;
const DURATIONS = [1800, 3600, 7200, 14400, 28800];

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
// A server started without the SSH gateway (--ssh-listen off) has no /v1/sessions routes.
export const noGateway = (e: unknown) => e instanceof ApiError && e.status === 404 && /no route/.test(e.message);
const list = (s: string) => s.split(/[\s,，]+/).map((x) => x.trim()).filter(Boolean);

// The operator's page: ask for access, see one's grants with the time they have left,
// one's other requests, one's gateway sessions, and play back a session's recording.
export class CpOperator extends LitElement {
  static properties = {
    me: { attribute: false },
    mine: { state: true },
    sessions: { state: true },
    error: { state: true },
    sessError: { state: true },
    result: { state: true },
    busy: { state: true },
    page: { state: true },
    sessPage: { state: true },
    playing: { state: true },
  };
  declare me: Me;
  declare mine: AccessRequest[] | null;
  declare sessions: GatewaySession[] | null;
  declare error: string;
  declare sessError: string;
  declare result: { ok: boolean; text: string } | null;
  declare busy: boolean;
  declare page: number;
  declare sessPage: number;
  declare playing: GatewaySession | null;
  private gatewayOff = false;

  static styles = [
    base,
    css`
      form.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1rem; }
      form.grid .wide { grid-column: 1 / -1; }
      select { font: inherit; padding: 0.4rem; border: 1px solid #a8b0c0; border-radius: 6px; width: 100%; }
      .hint { font-weight: 400; color: #5b6475; font-size: 0.85rem; }
      .grants { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 0.75rem; }
      .grant { border-left: 4px solid #12b76a; }
      .grant.glass { border-left-color: #b42318; }
      .tag { display: inline-block; background: #eef1f6; border-radius: 999px; padding: 0 0.5rem; font-size: 0.8rem; }
      .check { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; }
      .check input { width: auto; }
    `,
  ];

  constructor() {
    super();
    this.mine = null;
    this.sessions = null;
    this.error = '';
    this.sessError = '';
    this.result = null;
    this.busy = false;
    this.page = 0;
    this.sessPage = 0;
    this.playing = null;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.reload();
  }

  private async reload() {
    this.error = '';
    this.sessError = '';
    try {
      const mine = await api.listRequests({ requester: this.me.principal });
      this.mine = mine.sort((a, b) => b.created - a.created);
    } catch (e) {
      this.mine = null;
      this.error = message(e);
    }
    try {
      const s = await api.sessions({ state: 'any', operator: this.me.principal });
      this.sessions = s.sort((a, b) => b.started - a.started);
    } catch (e) {
      this.sessions = null;
      this.sessError = noGateway(e) ? '' : message(e);
      this.gatewayOff = noGateway(e);
      this.requestUpdate();
    }
  }

  private async submit(e: Event) {
    e.preventDefault();
    // Kept now: an event from inside a shadow root loses its target once dispatch ends.
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const glass = f.get('breakglass') === 'on';
    if (glass && !confirm(t('op.form.glassConfirm'))) return;
    this.busy = true;
    this.result = null;
    try {
      const req = await api.createRequest(
        {
          resources: list(String(f.get('resources') ?? '')),
          actions: list(String(f.get('actions') ?? '')),
          reason: String(f.get('reason')),
          justification: String(f.get('justification') ?? ''),
          ticket: String(f.get('ticket') ?? '') || undefined,
          duration_seconds: Number(f.get('duration')),
        },
        glass,
      );
      this.result = { ok: true, text: t(glass ? 'op.form.glassDone' : 'op.form.done', { id: req.id }) };
      form.reset();
      await this.reload();
    } catch (err) {
      this.result = { ok: false, text: t('op.form.refused', { message: message(err) }) };
    } finally {
      this.busy = false;
    }
  }

  private async giveUp(r: AccessRequest) {
    if (!confirm(t('op.revokeConfirm', { id: r.id }))) return;
    try {
      await api.revoke(r.id, 'returned by the operator');
      this.result = { ok: true, text: t('op.revoked', { id: r.id }) };
      await this.reload();
    } catch (e) {
      this.result = { ok: false, text: message(e) };
    }
  }

  private form() {
    return html`<form class="card grid" id="request-form" @submit=${this.submit} aria-labelledby="form-title">
      <h2 id="form-title" class="wide">${t('op.form.title')}</h2>
      <div>
        <label for="resources">${t('op.form.resources')} <span class="hint">${t('op.form.listHint')}</span></label>
        <input id="resources" name="resources" required autocomplete="off" placeholder="acme-db-01" />
      </div>
      <div>
        <label for="actions">${t('op.form.actions')} <span class="hint">${t('op.form.listHint')}</span></label>
        <input id="actions" name="actions" required autocomplete="off" placeholder="db:read, login:dba" />
      </div>
      <div>
        <label for="reason">${t('ap.col.reason')}</label>
        <select id="reason" name="reason">${REASONS.map((r) => html`<option value=${r}>${t(`reason.${r}`)}</option>`)}</select>
      </div>
      <div>
        <label for="duration">${t('ap.col.duration')}</label>
        <select id="duration" name="duration">${DURATIONS.map((d) => html`<option value=${d} ?selected=${d === 3600}>${formatDuration(d)}</option>`)}</select>
      </div>
      <div class="wide">
        <label for="justification">${t('ap.detail.justification')} <span class="hint">${t('op.form.justHint')}</span></label>
        <textarea id="justification" name="justification" required></textarea>
      </div>
      <div>
        <label for="ticket">${t('ap.col.ticket')}</label>
        <input id="ticket" name="ticket" autocomplete="off" placeholder="SUP-1024" />
      </div>
      <div>
        <label class="check" style="margin-top: 2rem;"><input type="checkbox" name="breakglass" id="breakglass" /> ${t('op.form.glass')}</label>
      </div>
      <div class="row wide" style="margin-top: 0.75rem;">
        <button type="submit" id="submit-request" ?disabled=${this.busy}>${t('op.form.submit')}</button>
      </div>
    </form>`;
  }

  private grants() {
    if (this.error) return failure(this.error, () => this.reload());
    if (!this.mine) return loading();
    const now = Date.now() / 1000;
    const active = this.mine.filter((r) => r.state === 'active' && r.grant_expires > now);
    if (!active.length) return empty(t('op.grants.empty'));
    return html`<div class="grants">
      ${repeat(
        active,
        (r) => r.id,
        (r) => html`<div class="card grant ${r.break_glass ? 'glass' : ''}" data-grant=${r.id}>
          <div class="row" style="justify-content: space-between;"><strong>${r.resources.join(', ')}</strong>${r.break_glass ? html`<span class="tag">${t('pv.breakGlass')}</span>` : ''}</div>
          <div class="muted">${r.actions.join(', ')}</div>
          <p>${t('op.grants.left')} <cp-countdown .until=${r.grant_expires} @expired=${() => this.requestUpdate()}></cp-countdown></p>
          <div class="muted">${t('op.grants.until', { time: formatTime(r.grant_expires) })} · <code>${r.id}</code></div>
          <button class="secondary" style="margin-top: 0.5rem;" @click=${() => this.giveUp(r)}>${t('op.revoke')}</button>
        </div>`,
      )}
    </div>`;
  }

  private requests() {
    if (!this.mine) return '';
    if (!this.mine.length) return empty(t('op.mine.empty'));
    const rows = this.mine.slice(this.page * PAGE, (this.page + 1) * PAGE);
    return html`<table id="my-requests">
        <thead><tr><th scope="col">${t('tp.col.request')}</th><th scope="col">${t('ap.col.what')}</th><th scope="col">${t('ap.col.reason')}</th>
          <th scope="col">${t('tp.col.state')}</th><th scope="col">${t('ap.detail.reviews')}</th></tr></thead>
        <tbody>${rows.map(
          (r) => html`<tr data-request=${r.id}>
            <td><code>${r.id}</code><div class="muted">${formatTime(r.created)}</div></td>
            <td>${r.resources.join(', ')}<div class="muted">${r.actions.join(', ')}</div></td>
            <td>${t(`reason.${r.reason}` as MessageKey)}</td>
            <td>${t(`state.${r.state}` as MessageKey)}${r.close_reason ? html`<div class="muted">${r.close_reason}</div>` : ''}</td>
            <td>${r.reviews.length ? r.reviews.map((v) => `${v.reviewer}: ${t(`decision.${v.decision}` as MessageKey)}`).join('; ') : '—'}</td>
          </tr>`,
        )}</tbody>
      </table>
      <cp-pager .page=${this.page} .pageSize=${PAGE} .total=${this.mine.length} @page=${(e: CustomEvent<number>) => (this.page = e.detail)}></cp-pager>`;
  }

  private sessionList() {
    if (this.gatewayOff) return empty(t('ls.noGateway'));
    if (this.sessError) return failure(this.sessError, () => this.reload());
    if (!this.sessions) return loading();
    if (!this.sessions.length) return empty(t('op.sessions.empty'));
    const rows = this.sessions.slice(this.sessPage * PAGE, (this.sessPage + 1) * PAGE);
    return html`<table id="my-sessions">
        <thead><tr><th scope="col">${t('ls.col.session')}</th><th scope="col">${t('ls.col.target')}</th><th scope="col">${t('ls.col.started')}</th>
          <th scope="col">${t('tp.col.state')}</th><th scope="col">${t('ls.col.commands')}</th><th scope="col"></th></tr></thead>
        <tbody>${rows.map(
          (s) => html`<tr data-session=${s.id}>
            <td><code>${s.id}</code><div class="muted">${s.mode}</div></td>
            <td>${s.login}@${s.target}</td>
            <td>${formatTime(s.started)}${s.ended ? html`<div class="muted">→ ${formatTime(s.ended)}</div>` : ''}</td>
            <td>${t(`ls.state.${s.state}` as MessageKey)}${s.end_reason ? html`<div class="muted">${s.end_reason}</div>` : ''}</td>
            <td>${s.command_count}</td>
            <td>${s.state === 'ended' && s.recording_sha256
              ? html`<button class="secondary play" @click=${() => (this.playing = this.playing?.id === s.id ? null : s)}>${this.playing?.id === s.id ? t('ap.close') : t('op.play')}</button>`
              : ''}</td>
          </tr>`,
        )}</tbody>
      </table>
      <cp-pager .page=${this.sessPage} .pageSize=${PAGE} .total=${this.sessions.length} @page=${(e: CustomEvent<number>) => (this.sessPage = e.detail)}></cp-pager>
      ${this.playing
        ? html`<section class="card" id="player" aria-label=${t('op.rec.label', { id: this.playing.id })}>
            <h3>${t('op.rec.label', { id: this.playing.id })}</h3>
            <cp-recording .session=${this.playing}></cp-recording>
          </section>`
        : ''}`;
  }

  render() {
    return html`<h1>${t('op.title')}</h1>
      <p class="muted">${t('op.intro')}</p>
      ${this.result ? html`<p id="result" class=${this.result.ok ? 'ok' : 'bad'} role=${this.result.ok ? 'status' : 'alert'}>${this.result.text}</p>` : ''}
      <div class="row"><h2 style="flex: 1;">${t('op.grants.title')}</h2><button class="secondary" @click=${() => this.reload()}>${t('tp.refresh.short')}</button></div>
      ${this.grants()}
      ${this.form()}
      <h2>${t('op.mine.title')}</h2>
      ${this.requests()}
      <h2>${t('op.sessions.title')}</h2>
      ${this.sessionList()}`;
  }
}
customElements.define('cp-operator', CpOperator);
