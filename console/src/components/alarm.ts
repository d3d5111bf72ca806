import { LitElement, css, html } from 'lit';

// The loud failure: a red banner announced to assistive technology at once (role=alert).
export class CpAlarm extends LitElement {
  static properties = { heading: {} };
  declare heading: string;
  constructor() {
    super();
    this.heading = '';
  }
  static styles = css`
    :host { display: block; margin: 0 0 1rem; }
    div { background: #b42318; color: #fff; border-radius: 8px; padding: 0.9rem 1.2rem; font-size: 1.05rem; box-shadow: 0 0 0 4px #fecdca; }
    strong { display: block; font-size: 1.2rem; margin-bottom: 0.3rem; }
    ::slotted(button) { margin-top: 0.5rem; }
  `;
  render() {
    return html`<div role="alert"><strong>⚠ ${this.heading}</strong><slot></slot></div>`;
  }
}
customElements.define('cp-alarm', CpAlarm);
