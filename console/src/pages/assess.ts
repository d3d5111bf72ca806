import { LitElement, css, html, unsafeCSS } from 'lit';
import { ApiError, api, type AssessRun, type Me, type Scorecard, type StatusCounts } from '../api.js';
import type { BadgeState } from '../components/badge.js';
import { barChart, chartCss, lineChart, stackedBar } from '../components/charts.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatTime, lang, t } from '../i18n/index.js';
import { fetchAndVerify } from '../lib/ledger-entry.js';

const STATUSES = [
  { key: 'PASS', color: '#12b76a' },
  { key: 'FAIL', color: '#d92d20' },
  { key: 'ERROR', color: '#7a271a' },
  { key: 'MANUAL', color: '#f79009' },
  { key: 'NOT_APPLICABLE', color: '#98a2b3' },
] as const;
const FORMATS = ['html', 'oscal', 'ocsf', 'csv', 'sarif'] as const;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// The assessment scorecard (issue 6): per article of the convention, per GB/T control
// point or family, per platform, the trend over runs, the reports, and the run's result
// digest checked against the ledger by this browser: the entry at ledger_index is verified
// up to the signed checkpoint, and its body must name this run and carry this digest.
export class CpAssess extends LitElement {
  static properties = {
    me: { attribute: false },
    runs: { state: true },
    selected: { state: true },
    card: { state: true },
    error: { state: true },
    cardError: { state: true },
    badge: { state: true },
    running: { state: true },
    result: { state: true },
  };
  declare me: Me;
  declare runs: AssessRun[] | null;
  declare selected: string;
  declare card: Scorecard | null;
  declare error: string;
  declare cardError: string;
  declare badge: { state: BadgeState; detail: string };
  declare running: boolean;
  declare result: { ok: boolean; text: string } | null;

  static styles = [
    base,
    unsafeCSS(chartCss),
    css`
      .counts { display: flex; gap: 0.6rem; flex-wrap: wrap; font-size: 0.85rem; }
      .counts span { white-space: nowrap; }
      .counts i { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 2px; margin-right: 0.25rem; vertical-align: -1px; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(24rem, 1fr)); gap: 1rem; }
      select { font: inherit; padding: 0.35rem; border: 1px solid #a8b0c0; border-radius: 6px; }
      .reports a { margin-right: 0.75rem; }
      td.bar { width: 250px; }
    `,
  ];

  constructor() {
    super();
    this.runs = null;
    this.selected = '';
    this.card = null;
    this.error = '';
    this.cardError = '';
    this.badge = { state: 'checking', detail: '' };
    this.running = false;
    this.result = null;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.loadRuns();
  }

  private canRun() {
    return this.me.permissions.includes('assess:run');
  }

  private async loadRuns(select?: string) {
    this.error = '';
    try {
      this.runs = await api.assessRuns();
      const id = select ?? (this.runs.some((r) => r.id === this.selected) ? this.selected : this.runs[0]?.id ?? '');
      if (id) await this.select(id);
    } catch (e) {
      this.runs = null;
      this.error = e instanceof ApiError && e.status === 404 ? t('as.unavailable', { message: e.message }) : message(e);
    }
  }

  private async select(id: string) {
    this.selected = id;
    this.card = null;
    this.cardError = '';
    this.badge = { state: 'checking', detail: '' };
    try {
      this.card = await api.scorecard(id);
    } catch (e) {
      this.cardError = message(e);
      return;
    }
    void this.verifyRun(this.card.run);
  }

  // The run's digest, as ledgered: entry → proof → checkpoint → pinned key, then the
  // entry's own body must be this run's assess.run record with this digest.
  private async verifyRun(run: AssessRun) {
    if (!run.ledgered || run.ledger_index === undefined) {
      this.badge = { state: 'pending', detail: t('as.notLedgered') };
      return;
    }
    try {
      // A run ledgered a moment ago waits for the next checkpoint (published within a second).
      let v = await fetchAndVerify(run.ledger_index);
      for (let i = 0; v.state === 'pending' && i < 20 && this.selected === run.id; i++) {
        this.badge = { state: 'pending', detail: v.detail };
        await new Promise((r) => setTimeout(r, 500));
        v = await fetchAndVerify(run.ledger_index);
      }
      if (this.selected !== run.id) return;
      if (v.state !== 'verified') {
        this.badge = { state: v.state, detail: v.detail };
        return;
      }
      const body = (v.entry?.body ?? {}) as { digest?: unknown; run?: unknown };
      if (v.entry?.type !== 'assess.run' || body.run !== run.id) {
        this.badge = { state: 'failed', detail: t('as.badge.otherEntry', { index: run.ledger_index, type: String(v.entry?.type) }) };
      } else if (body.digest !== run.digest) {
        this.badge = { state: 'failed', detail: t('as.badge.digest', { ledgered: String(body.digest), shown: run.digest }) };
      } else {
        this.badge = { state: 'verified', detail: t('as.badge.ok', { index: run.ledger_index }) };
      }
    } catch (e) {
      this.badge = { state: 'failed', detail: message(e) };
    }
  }

  private async runNow() {
    this.running = true;
    this.result = null;
    try {
      const run = await api.startAssessRun();
      this.result = { ok: true, text: t('as.started') };
      await this.loadRuns(run.id);
    } catch (e) {
      this.result = { ok: false, text: t('as.startFailed', { message: message(e) }) };
    } finally {
      this.running = false;
    }
  }

  private label(x: { title_zh: string; title_en: string; id: string }) {
    return (lang() === 'en' ? x.title_en || x.title_zh : x.title_zh || x.title_en) || x.id;
  }

  private segments(c: StatusCounts) {
    return STATUSES.map((s) => ({ key: s.key, label: t(`as.status.${s.key}`), value: c[s.key] ?? 0, color: s.color }));
  }

  private runLabel(r: AssessRun) {
    return `${formatTime(r.finished || r.started)} · ${r.catalog || t('as.allCatalogs')} · ${r.platform || t('as.allPlatforms')} · ${r.id}`;
  }

  private header() {
    const runs = this.runs ?? [];
    return html`<div class="card row" id="run-bar">
      <label for="run" style="margin: 0;">${t('as.run')}</label>
      <select id="run" @change=${(e: Event) => this.select((e.target as HTMLSelectElement).value)} ?disabled=${!runs.length}>
        ${runs.map((r) => html`<option value=${r.id} ?selected=${r.id === this.selected}>${this.runLabel(r)}</option>`)}
      </select>
      <span style="flex: 1;"></span>
      ${this.canRun()
        ? html`<button id="run-now" ?disabled=${this.running} @click=${this.runNow}>${this.running ? t('as.running') : t('as.runNow')}</button>`
        : ''}
    </div>`;
  }

  private runCard(card: Scorecard) {
    const r = card.run;
    return html`<section class="card" id="run-info">
      <h2>${t('as.runTitle', { id: r.id })}</h2>
      <div class="counts">
        ${STATUSES.map((s) => html`<span><i style="background:${s.color}"></i>${t(`as.status.${s.key}`)} <strong>${(r.counts as unknown as Record<string, number>)[s.key.toLowerCase()] ?? 0}</strong></span>`)}
        <span>${t('as.muted')} <strong>${r.counts.muted}</strong></span>
        <span>${t('as.resources')} <strong>${r.resources}</strong></span>
      </div>
      <p class="muted">${t('as.runMeta', { by: r.started_by, started: formatTime(r.started), finished: formatTime(r.finished) })}</p>
      <p>${t('as.digest')} <code id="run-digest">${r.digest}</code></p>
      <p>${t('as.ledgerIndex')} <code id="run-ledger-index">${r.ledgered ? r.ledger_index : '—'}</code>
        <cp-badge id="run-badge" state=${this.badge.state} detail=${this.badge.detail}></cp-badge>
        <span class="muted">${this.badge.state === 'verified' ? this.badge.detail : ''}</span></p>
      ${this.badge.state === 'failed' ? html`<cp-alarm id="alarm-run" heading=${t('alarm.title')}>${t('as.badge.failed', { message: this.badge.detail })}</cp-alarm>` : ''}
      <p class="reports">${t('as.reports')}
        ${FORMATS.map((f) => html`<a href=${api.reportUrl(r.id, f)} data-format=${f} target=${f === 'html' ? '_blank' : ''} rel="noopener" ?download=${f !== 'html'}>${t(`as.format.${f}`)}</a>`)}
      </p>
    </section>`;
  }

  private catalogs(card: Scorecard) {
    if (!card.catalogs.length) return empty(t('as.noCatalogs'));
    return card.catalogs.map(
      (c) => html`<section class="card catalog" data-catalog=${c.id}>
        <h2>${this.label(c)}</h2>
        <table>
          <thead><tr><th scope="col">${t('as.col.group')}</th><th scope="col">${t('as.col.bar')}</th><th scope="col">${t('as.col.counts')}</th></tr></thead>
          <tbody>${c.groups.map(
            (g) => html`<tr data-group=${g.id}>
              <td><code>${g.id}</code> ${this.label(g)}</td>
              <td class="bar">${stackedBar(this.label(g), this.segments(g.counts))}</td>
              <td><div class="counts">${this.segments(g.counts).filter((s) => s.value).map((s) => html`<span><i style="background:${s.color}"></i>${s.label} ${s.value}</span>`)}</div></td>
            </tr>`,
          )}</tbody>
        </table>
      </section>`,
    );
  }

  private platforms(card: Scorecard) {
    if (!card.platforms.length) return empty(t('as.noPlatforms'));
    return html`<div class="grid">
      ${barChart(t('as.chart.platformFail'), card.platforms.map((p) => ({ label: p.platform, value: p.fail, color: '#d92d20' })))}
      <table id="platforms">
        <thead><tr><th scope="col">${t('as.col.platform')}</th><th scope="col">${t('as.status.FAIL')}</th><th scope="col">${t('as.status.ERROR')}</th><th scope="col">${t('as.status.MANUAL')}</th><th scope="col">${t('as.muted')}</th></tr></thead>
        <tbody>${card.platforms.map((p) => html`<tr><td>${p.platform}</td><td>${p.fail}</td><td>${p.error}</td><td>${p.manual}</td><td>${p.muted}</td></tr>`)}</tbody>
      </table>
    </div>`;
  }

  private trend(card: Scorecard) {
    const pts = [...card.trend].sort((a, b) => a.finished - b.finished);
    if (!pts.length) return empty(t('as.noTrend'));
    const labels = pts.map((p) => new Date(p.finished * 1000).toLocaleDateString(lang() === 'en' ? 'en-GB' : 'zh-CN', { month: 'numeric', day: 'numeric' }) + ' ' + new Date(p.finished * 1000).toLocaleTimeString(lang() === 'en' ? 'en-GB' : 'zh-CN', { hour: '2-digit', minute: '2-digit' }));
    return html`<div id="trend">${lineChart(t('as.chart.trend', { n: pts.length }), labels, [
      { label: t('as.status.PASS'), color: '#12b76a', points: pts.map((p) => p.pass) },
      { label: t('as.status.FAIL'), color: '#d92d20', points: pts.map((p) => p.fail) },
      { label: t('as.status.ERROR'), color: '#7a271a', points: pts.map((p) => p.error) },
    ])}</div>`;
  }

  private body() {
    if (this.error) return failure(this.error, () => this.loadRuns());
    if (!this.runs) return loading();
    if (!this.runs.length) return empty(this.canRun() ? t('as.emptyRun') : t('as.empty'));
    if (this.cardError) return failure(this.cardError, () => this.select(this.selected));
    const card = this.card;
    if (!card) return loading();
    return html`${this.runCard(card)}
      <h2>${t('as.trend')}</h2><div class="card">${this.trend(card)}</div>
      ${this.catalogs(card)}
      <h2>${t('as.platforms')}</h2><div class="card">${this.platforms(card)}</div>`;
  }

  render() {
    return html`<h1>${t('as.title')}</h1>
      <p class="muted">${t('as.intro')}</p>
      <cp-pin-key @pinned=${() => this.card && this.verifyRun(this.card.run)}></cp-pin-key>
      ${this.result ? html`<p id="result" class=${this.result.ok ? 'ok' : 'bad'} role=${this.result.ok ? 'status' : 'alert'}>${this.result.text}</p>` : ''}
      ${this.header()} ${this.body()}`;
  }
}
customElements.define('cp-assess', CpAssess);
