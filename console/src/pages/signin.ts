import { LitElement, html } from 'lit';
import { ApiError, api } from '../api.js';
import { base } from '../components/styles.js';
import { LocaleController, t } from '../i18n/index.js';

// Password first; the TOTP step appears only when the server says a code is required
// (src/api/accounts.cc answers 401 "TOTP code required" after a correct password).
export class CpSignin extends LitElement {
  static properties = { notice: {}, step: { state: true }, error: { state: true }, busy: { state: true } };
  declare notice: string;
  declare step: 'password' | 'totp';
  declare error: string;
  declare busy: boolean;
  private principal = '';
  private password = '';
  static styles = [base];

  constructor() {
    super();
    this.notice = '';
    this.step = 'password';
    this.error = '';
    this.busy = false;
    new LocaleController(this);
  }

  private async submit(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    if (this.step === 'password') {
      this.principal = String(data.get('principal') ?? '').trim();
      this.password = String(data.get('password') ?? '');
    }
    const totp = this.step === 'totp' ? String(data.get('totp') ?? '').replace(/\s/g, '') : undefined;
    this.busy = true;
    this.error = '';
    try {
      const r = await api.signIn(this.principal, this.password, totp);
      this.password = '';
      this.dispatchEvent(new CustomEvent('signed-in', { detail: r, bubbles: true, composed: true }));
    } catch (err) {
      this.error = this.describe(err);
    } finally {
      this.busy = false;
    }
  }

  private describe(err: unknown): string {
    if (!(err instanceof ApiError)) return String(err);
    if (err.status === 429) return t('signin.wait', { seconds: err.retryAfter ?? 1 });
    if (err.status === 401 && /TOTP code required/.test(err.message)) {
      this.step = 'totp';
      this.updateComplete.then(() => this.renderRoot.querySelector<HTMLInputElement>('input[name=totp]')?.focus());
      return '';
    }
    if (err.status === 401 && this.step === 'totp') return t('signin.totpInvalid');
    if (err.status === 401) return t('signin.invalid');
    return err.message;
  }

  render() {
    return html`<div class="card" style="max-width: 26rem; margin: 2rem auto;">
      <h1>${t('signin.title')}</h1>
      ${this.notice ? html`<p role="status" class="ok">${this.notice}</p>` : ''}
      <form @submit=${this.submit}>
        ${this.step === 'password'
          ? html`<label for="principal">${t('signin.principal')}</label>
              <input id="principal" name="principal" autocomplete="username" required autofocus .value=${this.principal} />
              <label for="password">${t('signin.password')}</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required />`
          : html`<p class="muted">${t('signin.totpHint')}</p>
              <label for="totp">${t('signin.totp')}</label>
              <input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required />`}
        ${this.error ? html`<p class="bad" role="alert">${this.error}</p>` : ''}
        <div class="row" style="margin-top: 1rem;">
          <button type="submit" ?disabled=${this.busy}>${this.step === 'password' ? t('signin.submit') : t('signin.verify')}</button>
          ${this.step === 'totp'
            ? html`<button type="button" class="secondary" @click=${() => ((this.step = 'password'), (this.error = ''))}>${t('signin.back')}</button>`
            : ''}
        </div>
      </form>
    </div>`;
  }
}
customElements.define('cp-signin', CpSignin);
