import { LitElement, css, html } from 'lit';
import { api, type GatewaySession, type Me } from '../api.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatTime, t } from '../i18n/index.js';
import { noGateway } from './operator.js';

const PAGE = 20;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// Live O&M sessions (GET /v1/sessions?state=active, refreshed every 5 s) and terminating one
// (POST /v1/sessions/{id}/terminate) after an explicit confirmation with a reason, which the
// operator is told and the ledger records.
export class CpLive extends LitElement {
  static properties = {
    me: { attribute: false },
    items: { state: true },
    error: { state: true },
    confirming: { state: true },
    result: { state: true },
    busy: { state: true },
    page: { state: true },
  };
  declare me: Me;
  declare items: GatewaySession[] | null;
  declare error: string;
  declare confirming: string;
  declare result: { ok: boolean; text: string } | null;
  declare busy: boolean;
  declare page: number;
  private timer?: number;
  private off = false; // no SSH gateway on this server

  static styles = [
    base,
    css`
      .confirm { background: #fef3f2; border: 1px solid #fda29b; border-radius: 8px; padding: 0.75rem 1rem; }
    `,
  ];

  constructor() {
    super();
    this.items = null;
    this.error = '';
    this.confirming = '';
    this.result = null;
    this.busy = false;
    this.page = 0;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
    this.timer = window.setInterval(() => !this.confirming && !this.off && this.load(), 5000);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
  }

  private async load() {
    try {
      const s = await api.sessions({ state: 'active' });
      this.items = s.sort((a, b) => b.started - a.started);
      this.error = '';
    } catch (e) {
      if (noGateway(e)) (this.off = true), this.requestUpdate();
      else this.error = message(e);
    }
  }

  private async ask(id: string) {
    this.confirming = id;
    this.result = null;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('#terminate-reason')?.focus();
  }

  private async terminate(s: GatewaySession) {
    const reason = (this.renderRoot.querySelector('#terminate-reason') as HTMLInputElement | null)?.value ?? '';
    this.busy = true;
    try {
      await api.terminate(s.id, reason || undefined);
      this.result = { ok: true, text: t('ls.terminated', { id: s.id }) };
      this.confirming = '';
      await this.load();
    } catch (e) {
      this.result = { ok: false, text: message(e) };
    } finally {
      this.busy = false;
    }
  }

  private list() {
    if (this.off) return empty(t('ls.noGateway'));
    if (this.error) return failure(this.error, () => this.load());
    if (!this.items) return loading();
    if (!this.items.length) return empty(t('ls.empty'));
    const rows = this.items.slice(this.page * PAGE, (this.page + 1) * PAGE);
    return html`<table id="live-sessions">
        <thead><tr><th scope="col">${t('ls.col.session')}</th><th scope="col">${t('ls.col.operator')}</th><th scope="col">${t('ls.col.target')}</th>
          <th scope="col">${t('ls.col.started')}</th><th scope="col">${t('ls.col.commands')}</th><th scope="col"></th></tr></thead>
        <tbody>${rows.map(
          (s) => html`<tr data-session=${s.id}>
              <td><code>${s.id}</code><div class="muted">${s.mode}${s.grant ? html` · <code>${s.grant}</code>` : ''}</div></td>
              <td>${s.operator}</td><td>${s.login}@${s.target}</td><td>${formatTime(s.started)}</td><td>${s.command_count}</td>
              <td><button class="danger terminate" ?disabled=${!this.me.permissions.includes('sessions:control')} @click=${() => this.ask(s.id)}>${t('ls.terminate')}</button></td>
            </tr>
            ${this.confirming === s.id
              ? html`<tr><td colspan="6"><div class="confirm" role="alertdialog" aria-labelledby="confirm-title">
                  <strong id="confirm-title">${t('ls.confirm', { id: s.id, operator: s.operator, target: s.target })}</strong>
                  <label for="terminate-reason">${t('ls.reason')}</label>
                  <input id="terminate-reason" autocomplete="off" />
                  <div class="row" style="margin-top: 0.5rem;">
                    <button class="danger" id="confirm-terminate" ?disabled=${this.busy} @click=${() => this.terminate(s)}>${t('ls.confirmYes')}</button>
                    <button class="secondary" @click=${() => (this.confirming = '')}>${t('ls.confirmNo')}</button>
                  </div>
                </div></td></tr>`
              : ''}`,
        )}</tbody>
      </table>
      <cp-pager .page=${this.page} .pageSize=${PAGE} .total=${this.items.length} @page=${(e: CustomEvent<number>) => (this.page = e.detail)}></cp-pager>`;
  }

  render() {
    return html`<h1>${t('ls.title')}</h1>
      <p class="muted">${t('ls.intro')}</p>
      ${this.result ? html`<p id="result" class=${this.result.ok ? 'ok' : 'bad'} role=${this.result.ok ? 'status' : 'alert'}>${this.result.text}</p>` : ''}
      ${this.list()}`;
  }
}
customElements.define('cp-live', CpLive);
