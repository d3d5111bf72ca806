import { LitElement, css, html, unsafeCSS } from 'lit';
import { api, type Me, type Posture } from '../api.js';
import { barChart, chartCss } from '../components/charts.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatTime, t } from '../i18n/index.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// Privilege posture (GET /v1/posture): standing privilege by platform and organisation,
// internal/outsourced parity, dormant privileged accounts, separation-of-duty conflicts,
// break-glass awaiting review and review campaigns — charts drawn as inline SVG.
export class CpPosture extends LitElement {
  static properties = { me: { attribute: false }, posture: { state: true }, error: { state: true } };
  declare me: Me;
  declare posture: Posture | null;
  declare error: string;

  static styles = [
    base,
    unsafeCSS(chartCss),
    css`
      .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.75rem; margin-bottom: 1rem; }
      .tile { background: #fff; border: 1px solid #e3e6ec; border-radius: 8px; padding: 0.75rem 1rem; }
      .tile .n { font-size: 1.8rem; font-weight: 700; }
      .tile.warn .n { color: #b42318; }
      .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
      progress { width: 10rem; }
    `,
  ];

  constructor() {
    super();
    this.posture = null;
    this.error = '';
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    this.error = '';
    try {
      this.posture = await api.posture();
    } catch (e) {
      this.error = message(e);
    }
  }

  private tile(id: string, label: string, n: number, warn = false) {
    return html`<div class="tile ${warn && n > 0 ? 'warn' : ''}" id=${id}><div class="n">${n}</div><div class="muted">${label}</div></div>`;
  }

  render() {
    const head = html`<h1>${t('ps.title')}</h1><p class="muted">${t('ps.intro')}</p>`;
    if (this.error) return html`${head}${failure(this.error, () => this.load())}`;
    const p = this.posture;
    if (!p) return html`${head}${loading()}`;
    const sp = p.standing_privileged;
    const entries = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value }));
    const par = p.parity;
    return html`${head}
      <p class="muted">${t('ps.asOf', { time: formatTime(p.time), version: p.policy_version })}</p>
      <div class="tiles">
        ${this.tile('t-standing', t('ps.standing'), sp.accounts.length, true)}
        ${this.tile('t-dormant', t('ps.dormant'), p.dormant_privileged.length, true)}
        ${this.tile('t-sod', t('ps.sod'), p.sod_conflicts.length, true)}
        ${this.tile('t-glass', t('ps.glass'), p.break_glass_awaiting_review.length, true)}
        ${this.tile('t-active', t('ps.active'), p.active_grants)}
        ${this.tile('t-pending', t('ps.pending'), p.pending_requests)}
      </div>
      <div class="charts card">
        ${Object.keys(sp.by_platform).length ? barChart(t('ps.chart.platform'), entries(sp.by_platform), { color: '#dc6803' }) : html`<div><strong>${t('ps.chart.platform')}</strong>${empty(t('ps.noStanding'))}</div>`}
        ${Object.keys(sp.by_organisation).length ? barChart(t('ps.chart.org'), entries(sp.by_organisation), { color: '#dc6803' }) : html`<div><strong>${t('ps.chart.org')}</strong>${empty(t('ps.noStanding'))}</div>`}
        ${barChart(t('ps.chart.parity'), [
          { label: t('ps.internal.staff'), value: par.internal.staff, color: '#3056d3' },
          { label: t('ps.outsourced.staff'), value: par.outsourced.staff, color: '#7a5af8' },
          { label: t('ps.internal.privileged'), value: par.internal.privileged, color: '#3056d3' },
          { label: t('ps.outsourced.privileged'), value: par.outsourced.privileged, color: '#7a5af8' },
          { label: t('ps.internal.standing'), value: par.internal.standing_privileged, color: '#3056d3' },
          { label: t('ps.outsourced.standing'), value: par.outsourced.standing_privileged, color: '#7a5af8' },
        ])}
      </div>
      <h2>${t('ps.accounts')}</h2>
      ${sp.accounts.length
        ? html`<table><thead><tr><th scope="col">${t('ps.col.staff')}</th><th scope="col">${t('ps.col.org')}</th><th scope="col">${t('ps.col.roles')}</th><th scope="col">${t('ps.col.platforms')}</th></tr></thead>
            <tbody>${sp.accounts.map((a) => html`<tr><td>${a.staff} <span class="muted">(${a.kind === 'outsourced' ? t('ps.outsourced') : t('ps.internal')})</span></td><td>${a.organisation}</td><td>${a.roles.join(', ')}</td><td>${a.platforms.join(', ')}</td></tr>`)}</tbody></table>`
        : empty(t('ps.noStanding'))}
      <h2>${t('ps.dormant')}</h2>
      ${p.dormant_privileged.length
        ? html`<table><thead><tr><th scope="col">${t('ps.col.staff')}</th><th scope="col">${t('ps.col.org')}</th><th scope="col">${t('ps.col.last')}</th></tr></thead>
            <tbody>${p.dormant_privileged.map((d) => html`<tr><td>${d.staff}</td><td>${d.organisation}</td><td>${d.last_activity ? formatTime(d.last_activity) : t('ps.never')}</td></tr>`)}</tbody></table>`
        : empty(t('ps.none'))}
      <h2>${t('ps.sod')}</h2>
      ${p.sod_conflicts.length
        ? html`<table><thead><tr><th scope="col">${t('ps.col.staff')}</th><th scope="col">${t('ps.col.roles')}</th><th scope="col">${t('ps.col.reason')}</th></tr></thead>
            <tbody>${p.sod_conflicts.map((c) => html`<tr><td>${c.staff}</td><td>${c.roles.join(' + ')}</td><td>${c.reason}</td></tr>`)}</tbody></table>`
        : empty(t('ps.none'))}
      <h2>${t('ps.glass')}</h2>
      ${p.break_glass_awaiting_review.length
        ? html`<table><thead><tr><th scope="col">${t('tp.col.request')}</th><th scope="col">${t('ap.col.requester')}</th><th scope="col">${t('pv.reviewDue')}</th></tr></thead>
            <tbody>${p.break_glass_awaiting_review.map((g) => html`<tr><td><code>${g.request_id}</code></td><td>${g.requester}</td><td class=${g.overdue ? 'bad' : ''}>${formatTime(g.review_due)}${g.overdue ? ` (${t('ps.overdue')})` : ''}</td></tr>`)}</tbody></table>`
        : empty(t('ps.none'))}
      <h2>${t('ps.campaigns')}</h2>
      ${p.review_campaigns.length
        ? html`<table><thead><tr><th scope="col">${t('ps.col.campaign')}</th><th scope="col">${t('ps.col.due')}</th><th scope="col">${t('ps.col.progress')}</th></tr></thead>
            <tbody>${p.review_campaigns.map((c) => html`<tr><td>${c.name}</td><td class=${c.overdue ? 'bad' : ''}>${formatTime(c.due)}${c.overdue ? ` (${t('ps.overdue')})` : ''}</td>
              <td><progress max=${c.total || 1} value=${c.decided} aria-label=${c.name}></progress> ${c.decided}/${c.total}</td></tr>`)}</tbody></table>`
        : empty(t('ps.none'))}
      <h2>${t('ps.differences')}</h2>
      ${par.differences.length
        ? html`<ul>${par.differences.map((d) => html`<li><code>${d.name}</code> (${d.kind}) — ${d.applies_to}</li>`)}</ul>`
        : empty(t('ps.none'))}`;
  }
}
customElements.define('cp-posture', CpPosture);
