import { LitElement, html } from 'lit';
import type { Me } from '../api.js';
import { base } from '../components/styles.js';
import { LocaleController, t } from '../i18n/index.js';

// Shown to people for whom no page exists yet (provider approvers, operators, admins and
// auditors get theirs in later issues).
export class CpHome extends LitElement {
  static properties = { me: { attribute: false } };
  declare me: Me;
  static styles = [base];
  constructor() {
    super();
    new LocaleController(this);
  }
  render() {
    return html`<h1>${t('nav.home')}</h1>
      <div class="card"><p>${t('app.signedInAs', { name: this.me.principal })}</p><p class="muted">${t('app.noPages')}</p></div>`;
  }
}
customElements.define('cp-home', CpHome);
