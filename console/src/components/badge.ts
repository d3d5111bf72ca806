import { LitElement, css, html } from 'lit';
import { LocaleController, t } from '../i18n/index.js';

export type BadgeState = 'checking' | 'verified' | 'failed' | 'pending' | 'unverified';

// A verification badge. The state is also in the `state` attribute (tests and CSS read
// it), and failures carry their reason as text, not colour alone.
export class CpBadge extends LitElement {
  static properties = { state: { reflect: true }, detail: {} };
  declare state: BadgeState;
  declare detail: string;
  constructor() {
    super();
    this.state = 'checking';
    this.detail = '';
    new LocaleController(this);
  }
  static styles = css`
    :host { display: inline-block; }
    span { display: inline-flex; gap: 0.3rem; align-items: center; border-radius: 999px; padding: 0.1rem 0.6rem; font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
    .verified { background: #dcfae6; color: #067647; }
    .failed { background: #b42318; color: #fff; }
    .checking, .unverified { background: #eef1f6; color: #3b4252; }
    .pending { background: #fef0c7; color: #93370d; }
    small { display: block; font-weight: 400; color: #b42318; white-space: normal; max-width: 28rem; }
  `;
  render() {
    const icon = { verified: '✔', failed: '✖', checking: '…', pending: '⧗', unverified: '?' }[this.state];
    return html`<span class=${this.state} title=${this.detail}>${icon} ${t(`badge.${this.state}`)}</span>${this.state === 'failed' && this.detail
      ? html`<small>${this.detail}</small>`
      : ''}`;
  }
}
customElements.define('cp-badge', CpBadge);
