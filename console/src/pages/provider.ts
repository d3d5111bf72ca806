import { LitElement, css, html } from 'lit';
import { ApiError, api, type AccessRequest, type HeldCommand, type Me } from '../api.js';
import { empty, failure, loading } from '../components/status.js';
import { base } from '../components/styles.js';
import { LocaleController, formatDuration, formatTime, t, type MessageKey } from '../i18n/index.js';

const PAGE = 10;

interface Row {
  req: AccessRequest;
  why?: string; // the server's you_may_not_review_because, from the list itself
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// The provider approver's page: the queue of pending access requests with, for each one
// this person may not approve, the server's own reason (separation of duties, own request,
// already reviewed, no eligible role); approve or deny with a comment; after-the-fact
// reviews of break-glass access; and commands held by the gateway for a decision.
export class CpProvider extends LitElement {
  static properties = {
    me: { attribute: false },
    rows: { state: true },
    glass: { state: true },
    held: { state: true },
    error: { state: true },
    page: { state: true },
    open: { state: true },
    result: { state: true },
    busy: { state: true },
  };
  declare me: Me;
  declare rows: Row[] | null;
  declare glass: Row[] | null;
  declare held: HeldCommand[] | null;
  declare error: string;
  declare page: number;
  declare open: string;
  declare result: { ok: boolean; text: string } | null;
  declare busy: boolean;

  static styles = [
    base,
    css`
      .sod { background: #fff4e5; border-left: 4px solid #dc6803; padding: 0.35rem 0.6rem; border-radius: 4px; font-size: 0.9rem; }
      .may { color: #067647; font-size: 0.9rem; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0.5rem 0 1rem; }
      dt { font-weight: 600; }
      dd { margin: 0; }
      td.actions { white-space: nowrap; }
      .tag { display: inline-block; background: #fee4e2; color: #b42318; border-radius: 999px; padding: 0 0.5rem; font-size: 0.8rem; font-weight: 600; }
    `,
  ];

  constructor() {
    super();
    this.rows = null;
    this.glass = null;
    this.held = null;
    this.error = '';
    this.page = 0;
    this.open = '';
    this.result = null;
    this.busy = false;
    new LocaleController(this);
  }

  connectedCallback() {
    super.connectedCallback();
    void this.reload();
  }

  private canControlSessions() {
    return this.me.permissions.includes('sessions:control');
  }

  private async reload() {
    this.error = '';
    try {
      const [pending, all] = await Promise.all([api.listRequests({ state: 'pending' }), api.listRequests({})]);
      pending.sort((a, b) => a.decide_by - b.decide_by);
      // Each item says whether this person may review it, and if not, why.
      this.rows = pending.map((req) => ({ req, why: req.you_may_not_review_because }));
      this.glass = all.filter((r) => r.break_glass && !r.post_review).map((req) => ({ req, why: req.you_may_not_review_because }));
      if (this.page * PAGE >= this.rows.length) this.page = 0;
    } catch (e) {
      this.rows = null;
      this.error = message(e);
    }
    if (this.canControlSessions()) {
      try {
        this.held = await api.heldCommands();
      } catch {
        this.held = [];
      }
    }
  }

  private async decide(row: Row, decision: 'approve' | 'deny') {
    const comment = (this.renderRoot.querySelector(`#comment-${row.req.id}`) as HTMLTextAreaElement | null)?.value ?? '';
    this.busy = true;
    try {
      await api.review(row.req.id, { decision, comment: comment || undefined });
      const key: MessageKey = row.req.break_glass
        ? decision === 'approve' ? 'pv.done.justified' : 'pv.done.unjustified'
        : decision === 'approve' ? 'pv.done.approve' : 'pv.done.deny';
      this.result = { ok: true, text: t(key, { id: row.req.id }) };
      this.open = '';
      await this.reload();
    } catch (e) {
      // The server's refusal is the explanation: show its words.
      const text = e instanceof ApiError && e.status === 403 ? t('pv.refused', { message: e.message }) : message(e);
      this.result = { ok: false, text };
      row.why = e instanceof ApiError && e.status === 403 ? e.message : row.why;
      this.requestUpdate();
    } finally {
      this.busy = false;
    }
  }

  private async decideCommand(h: HeldCommand, decision: 'approve' | 'reject') {
    this.busy = true;
    try {
      await api.reviewCommand(h.session, h.command.seq, decision);
      this.result = { ok: true, text: t(decision === 'approve' ? 'pv.cmd.approved' : 'pv.cmd.rejected', { command: h.command.text }) };
      this.held = await api.heldCommands();
    } catch (e) {
      this.result = { ok: false, text: message(e) };
    } finally {
      this.busy = false;
    }
  }

  private requirements(r: AccessRequest) {
    if (!r.requirements.length) return t('pv.req.none');
    return r.requirements
      .map((q) =>
        t('pv.req.rule', {
          rule: q.rule,
          n: q.approvals,
          roles: q.approver_roles.length ? q.approver_roles.join(' / ') : 'access:review',
          orgs: q.distinct_organisations || 1,
        }),
      )
      .join('；');
  }

  private whyCell(row: Row) {
    if (row.why) {
      return html`<div class="sod" data-sod role="note"><strong>${t('pv.mayNot')}</strong> ${this.explain(row.why)}</div>`;
    }
    return html`<span class="may">✔ ${t('pv.may')}</span>`;
  }

  // The server's reason, with a plain-language lead for the kinds it knows.
  private explain(why: string) {
    let lead: MessageKey | null = null;
    if (why.startsWith('separation of duties')) lead = 'pv.why.sod';
    else if (why.startsWith('nobody may review their own')) lead = 'pv.why.own';
    else if (why.includes('already reviewed')) lead = 'pv.why.already';
    else if (why.includes('holds no role')) lead = 'pv.why.role';
    else if (why.includes('is disabled')) lead = 'pv.why.disabled';
    return html`${lead ? html`${t(lead)} ` : ''}<span class="muted">(${t('pv.why.server', { message: why })})</span>`;
  }

  private detail(row: Row) {
    const r = row.req;
    return html`<tr class="detail"><td colspan="7">
      <section class="card" id=${'detail-' + r.id} aria-label=${t('ap.detail.title', { id: r.id })}>
        <h3 tabindex="-1">${t('ap.detail.title', { id: r.id })} ${r.break_glass ? html`<span class="tag">${t('pv.breakGlass')}</span>` : ''}</h3>
        <dl>
          <dt>${t('ap.col.requester')}</dt><dd>${r.requester}</dd>
          <dt>${t('ap.detail.resources')}</dt><dd>${r.resources.join(', ')}</dd>
          <dt>${t('ap.detail.actions')}</dt><dd>${r.actions.join(', ')}</dd>
          <dt>${t('ap.col.reason')}</dt><dd>${t(`reason.${r.reason}` as MessageKey)}</dd>
          <dt>${t('ap.detail.justification')}</dt><dd>${r.justification ?? '—'}</dd>
          <dt>${t('ap.col.ticket')}</dt><dd>${r.ticket || '—'}</dd>
          <dt>${t('ap.col.duration')}</dt><dd>${formatDuration(r.duration_seconds)}</dd>
          <dt>${t('pv.requirements')}</dt><dd>${this.requirements(r)}</dd>
          <dt>${t('pv.tenants')}</dt><dd>${r.tenants_required.length ? r.tenants_required.join(', ') : '—'}</dd>
          <dt>${t('ap.detail.reviews')}</dt>
          <dd>${r.reviews.length ? r.reviews.map((v) => `${v.reviewer} (${v.organisation}): ${t(`decision.${v.decision}` as MessageKey)}${v.comment ? ' — ' + v.comment : ''}`).join('; ') : '—'}</dd>
          ${r.break_glass ? html`<dt>${t('pv.reviewDue')}</dt><dd>${formatTime(r.review_due)}</dd>` : ''}
        </dl>
        ${row.why ? html`<div class="sod" role="note"><strong>${t('pv.mayNot')}</strong> ${this.explain(row.why)}</div>` : ''}
        <label for=${'comment-' + r.id}>${t('ap.comment')}</label>
        <textarea id=${'comment-' + r.id}></textarea>
        <div class="row" style="margin-top: 0.75rem;">
          <button class="approve" ?disabled=${this.busy || !!row.why} @click=${() => this.decide(row, 'approve')}>
            ${r.break_glass ? t('pv.justified') : t('pv.approve')}</button>
          <button class="danger deny" ?disabled=${this.busy || !!row.why} @click=${() => this.decide(row, 'deny')}>
            ${r.break_glass ? t('pv.unjustified') : t('pv.deny')}</button>
          <button class="secondary" @click=${() => (this.open = '')}>${t('ap.close')}</button>
        </div>
      </section>
    </td></tr>`;
  }

  private async toggle(id: string) {
    this.open = this.open === id ? '' : id;
    this.result = null;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>(`#detail-${CSS.escape(id)} h3`)?.focus();
  }

  private table(rows: Row[], withPager: boolean, total: number) {
    return html`<table>
        <thead><tr>
          <th scope="col">${t('ap.col.requester')}</th><th scope="col">${t('ap.col.what')}</th>
          <th scope="col">${t('ap.col.reason')}</th><th scope="col">${t('ap.col.duration')}</th>
          <th scope="col">${t('ap.col.decideBy')}</th><th scope="col">${t('pv.col.you')}</th><th scope="col"></th>
        </tr></thead>
        <tbody>
          ${rows.map(
            (row) => html`<tr data-request=${row.req.id} class=${row.why ? 'blocked' : 'open'}>
                <td>${row.req.requester}<div class="muted"><code>${row.req.id}</code></div></td>
                <td>${row.req.resources.join(', ')}<div class="muted">${row.req.actions.join(', ')}</div></td>
                <td>${t(`reason.${row.req.reason}` as MessageKey)}${row.req.ticket ? html`<div class="muted">${row.req.ticket}</div>` : ''}</td>
                <td>${formatDuration(row.req.duration_seconds)}</td>
                <td>${formatTime(row.req.break_glass ? row.req.review_due : row.req.decide_by)}</td>
                <td>${this.whyCell(row)}</td>
                <td class="actions"><button class="secondary open" aria-expanded=${this.open === row.req.id ? 'true' : 'false'} @click=${() => this.toggle(row.req.id)}>${t('ap.open')}</button></td>
              </tr>
              ${this.open === row.req.id ? this.detail(row) : ''}`,
          )}
        </tbody>
      </table>
      ${withPager
        ? html`<cp-pager .page=${this.page} .pageSize=${PAGE} .total=${total} @page=${(e: CustomEvent<number>) => (this.page = e.detail)}></cp-pager>`
        : ''}`;
  }

  private queue() {
    if (this.error) return failure(this.error, () => this.reload());
    if (!this.rows) return loading();
    if (!this.rows.length) return empty(t('pv.empty'));
    return this.table(this.rows.slice(this.page * PAGE, (this.page + 1) * PAGE), true, this.rows.length);
  }

  private glassSection() {
    if (!this.glass) return '';
    return html`<h2>${t('pv.glass.title')}</h2>
      <p class="muted">${t('pv.glass.intro')}</p>
      ${this.glass.length ? this.table(this.glass, false, this.glass.length) : empty(t('pv.glass.empty'))}`;
  }

  private heldSection() {
    if (!this.canControlSessions()) return '';
    return html`<h2>${t('pv.cmd.title')}</h2>
      <p class="muted">${t('pv.cmd.intro')}</p>
      ${this.held === null
        ? loading()
        : this.held.length === 0
          ? empty(t('pv.cmd.empty'))
          : html`<table>
              <thead><tr><th scope="col">${t('ls.col.operator')}</th><th scope="col">${t('ls.col.target')}</th><th scope="col">${t('pv.cmd.command')}</th><th scope="col">${t('pv.cmd.deadline')}</th><th scope="col"></th></tr></thead>
              <tbody>${this.held.map(
                (h) => html`<tr data-session=${h.session}>
                  <td>${h.operator}</td><td>${h.login}@${h.target}</td>
                  <td><code>${h.command.text}</code><div class="muted">${h.command.message || h.command.rule}</div></td>
                  <td>${formatTime(h.deadline)}</td>
                  <td class="actions">
                    <button ?disabled=${this.busy} @click=${() => this.decideCommand(h, 'approve')}>${t('pv.cmd.approve')}</button>
                    <button class="danger" ?disabled=${this.busy} @click=${() => this.decideCommand(h, 'reject')}>${t('pv.cmd.reject')}</button>
                  </td>
                </tr>`,
              )}</tbody>
            </table>`}`;
  }

  render() {
    return html`<h1>${t('pv.title')}</h1>
      <p class="muted">${t('pv.intro')}</p>
      ${this.result ? html`<p id="result" class=${this.result.ok ? 'ok' : 'bad'} role=${this.result.ok ? 'status' : 'alert'}>${this.result.text}</p>` : ''}
      <div class="row"><h2 style="flex: 1;">${t('pv.queue')}</h2><button class="secondary" @click=${() => this.reload()}>${t('tp.refresh.short')}</button></div>
      ${this.queue()} ${this.glassSection()} ${this.heldSection()}`;
  }
}
customElements.define('cp-provider', CpProvider);
