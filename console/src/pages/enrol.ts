import { LitElement, html } from 'lit';
import { ApiError, api } from '../api.js';
import { base } from '../components/styles.js';
import { LocaleController, t } from '../i18n/index.js';

// TOTP enrolment for an enrolment-only session (MFA required, none enrolled yet): begin,
// show the secret, confirm with a code. Confirming ends every session, so the person then
// signs in again with a code.
export class CpEnrol extends LitElement {
  static properties = { secret: { state: true }, uri: { state: true }, error: { state: true }, busy: { state: true } };
  declare secret: string;
  declare uri: string;
  declare error: string;
  declare busy: boolean;
  static styles = [base];

  constructor() {
    super();
    this.secret = '';
    this.uri = '';
    this.error = '';
    this.busy = false;
    new LocaleController(this);
  }

  private async begin() {
    this.busy = true;
    this.error = '';
    try {
      const r = await api.beginTotp();
      this.secret = r.secret_base32;
      this.uri = r.uri;
    } catch (e) {
      this.error = e instanceof ApiError ? e.message : String(e);
    } finally {
      this.busy = false;
    }
  }

  private async confirm(e: Event) {
    e.preventDefault();
    const code = String(new FormData(e.target as HTMLFormElement).get('code') ?? '').replace(/\s/g, '');
    this.busy = true;
    this.error = '';
    try {
      await api.confirmTotp(code);
      this.dispatchEvent(new CustomEvent('enrolled', { bubbles: true, composed: true }));
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.busy = false;
    }
  }

  render() {
    return html`<div class="card" style="max-width: 34rem; margin: 2rem auto;">
      <h1>${t('enrol.title')}</h1>
      <p>${t('enrol.intro')}</p>
      ${this.secret
        ? html`<label>${t('enrol.secret')}</label>
            <p><code id="totp-secret">${this.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
            <label>${t('enrol.uri')}</label>
            <p><a class="mono" href=${this.uri}>${this.uri}</a></p>
            <form @submit=${this.confirm}>
              <label for="code">${t('enrol.code')}</label>
              <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus />
              <div class="row" style="margin-top: 1rem;"><button type="submit" ?disabled=${this.busy}>${t('enrol.confirm')}</button></div>
            </form>`
        : html`<button @click=${this.begin} ?disabled=${this.busy}>${t('enrol.begin')}</button>`}
      ${this.error ? html`<p class="bad" role="alert">${this.error}</p>` : ''}
    </div>`;
  }
}
customElements.define('cp-enrol', CpEnrol);
