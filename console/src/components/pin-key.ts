import { LitElement, html } from 'lit';
import { api } from '../api.js';
import { LocaleController, t } from '../i18n/index.js';
import { pinnedKey, setPinnedKey } from '../lib/settings.js';
import { parseVerifierKey } from '../verify/index.js';
import { base } from './styles.js';

// Pinning the ledger's verifier key. The key should come from outside this server (the
// provider's contract, website, or `DIR/ledger-key.pub`); trusting what the server
// presents is offered, with a warning, because otherwise a first-time user is stuck.
export class CpPinKey extends LitElement {
  static properties = { editing: { state: true }, error: { state: true }, serverKey: { state: true } };
  declare editing: boolean;
  declare error: string;
  declare serverKey: string;
  static styles = [base];

  constructor() {
    super();
    this.editing = false;
    this.error = '';
    this.serverKey = '';
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    api.ledgerInfo().then((i) => (this.serverKey = i.verifier_key), () => {});
  }

  private async pin(vkey: string) {
    try {
      const v = await parseVerifierKey(vkey);
      setPinnedKey(v.vkey);
      this.error = '';
      this.editing = false;
      this.requestUpdate(); // the pinned key lives in localStorage, not in a reactive property
      this.dispatchEvent(new CustomEvent('pinned', { bubbles: true, composed: true }));
    } catch (e) {
      this.error = t('pin.invalid', { message: (e as Error).message });
    }
  }

  private submit(e: Event) {
    e.preventDefault();
    void this.pin(String(new FormData(e.target as HTMLFormElement).get('vkey') ?? ''));
  }

  render() {
    const current = pinnedKey();
    if (current && !this.editing) {
      return html`<div class="card">
        <div class="row"><span class="muted">${t('pin.pinned', { vkey: '' })}</span><code id="pinned-vkey" style="flex: 1 1 20rem; min-width: 0;">${current}</code>
          <button class="secondary" @click=${() => (this.editing = true)}>${t('pin.change')}</button></div>
      </div>`;
    }
    return html`<div class="card">
      <h2>${t('pin.title')}</h2>
      ${current ? '' : html`<p class="bad" role="alert">${t('pin.none')}</p>`}
      <p>${t('pin.intro')}</p>
      <form @submit=${this.submit}>
        <label for="vkey">${t('pin.input')}</label>
        <input id="vkey" name="vkey" class="mono" spellcheck="false" autocomplete="off" required />
        <div class="row" style="margin-top: 0.75rem;"><button type="submit">${t('pin.save')}</button></div>
      </form>
      ${this.serverKey
        ? html`<p class="muted" style="margin-top: 1rem;">${t('pin.tofuWarn', { vkey: this.serverKey })}</p>
            <button class="secondary" @click=${() => this.pin(this.serverKey)}>${t('pin.tofu')}</button>`
        : ''}
      ${this.error ? html`<p class="bad" role="alert">${this.error}</p>` : ''}
    </div>`;
  }
}
customElements.define('cp-pin-key', CpPinKey);
