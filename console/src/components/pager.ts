import { LitElement, css, html } from 'lit';
import { LocaleController, t } from '../i18n/index.js';

// Client-side pagination for long lists; fires `page` with the new page number (0-based).
export class CpPager extends LitElement {
  static properties = { page: { type: Number }, pageSize: { type: Number }, total: { type: Number } };
  declare page: number;
  declare pageSize: number;
  declare total: number;
  constructor() {
    super();
    this.page = 0;
    this.pageSize = 20;
    this.total = 0;
    new LocaleController(this);
  }
  static styles = css`
    nav { display: flex; gap: 0.75rem; align-items: center; margin: 0.75rem 0; }
    button { font: inherit; padding: 0.3rem 0.8rem; border-radius: 6px; border: 1px solid #3056d3; background: #fff; color: #3056d3; cursor: pointer; }
    button:disabled { opacity: 0.4; cursor: default; }
    button:focus-visible { outline: 3px solid #f5a524; outline-offset: 2px; }
  `;
  private go(p: number) {
    this.page = p;
    this.dispatchEvent(new CustomEvent('page', { detail: p, bubbles: true, composed: true }));
  }
  render() {
    const pages = Math.max(1, Math.ceil(this.total / this.pageSize));
    if (pages <= 1) return html``;
    return html`<nav aria-label=${t('pager.label')}>
      <button ?disabled=${this.page <= 0} @click=${() => this.go(this.page - 1)}>${t('pager.prev')}</button>
      <span aria-live="polite">${t('pager.status', { page: this.page + 1, pages, total: this.total })}</span>
      <button ?disabled=${this.page >= pages - 1} @click=${() => this.go(this.page + 1)}>${t('pager.next')}</button>
    </nav>`;
  }
}
customElements.define('cp-pager', CpPager);
