import { LitElement, css, html } from 'lit';
import { LocaleController, t } from '../i18n/index.js';

// Time left until `until` (unix seconds), ticking every second. The remaining seconds are
// also in the `remaining` attribute for tests; role=timer is not announced on every tick.
export class CpCountdown extends LitElement {
  static properties = { until: { type: Number }, remaining: { type: Number, reflect: true } };
  declare until: number;
  declare remaining: number;
  private timer?: number;
  static styles = css`
    :host { display: inline-block; font-variant-numeric: tabular-nums; font-weight: 600; }
    .low { color: #b42318; }
    .gone { color: #5b6475; font-weight: 400; }
  `;
  constructor() {
    super();
    this.until = 0;
    this.remaining = 0;
    new LocaleController(this);
  }
  connectedCallback() {
    super.connectedCallback();
    this.tick();
    this.timer = window.setInterval(() => this.tick(), 1000);
  }
  disconnectedCallback() {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
  }
  // A new `until` (the element reused for another grant) shows its time at once.
  willUpdate(changed: Map<string, unknown>) {
    if (changed.has('until')) this.remaining = this.left();
  }
  private left() {
    return Math.max(0, Math.floor(this.until - Date.now() / 1000));
  }
  private tick() {
    const left = this.left();
    if (left !== this.remaining) this.remaining = left;
    if (left === 0) this.dispatchEvent(new CustomEvent('expired', { bubbles: true, composed: true }));
  }
  render() {
    const s = this.remaining;
    if (s <= 0) return html`<span class="gone" role="timer">${t('op.expired')}</span>`;
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const text = h ? t('op.left.hms', { h, m, s: sec }) : t('op.left.ms', { m, s: sec });
    return html`<span class=${s < 300 ? 'low' : ''} role="timer" aria-live="off">${text}</span>`;
  }
}
customElements.define('cp-countdown', CpCountdown);
