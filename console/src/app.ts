import { LitElement, css, html } from 'lit';
import { ApiError, api, type Me } from './api.js';
import { loading, failure } from './components/status.js';
import { base } from './components/styles.js';
import { LocaleController, lang, setLang, t } from './i18n/index.js';
import { homePage, pages, type PageDef } from './pages/registry.js';

// The shell: who is signed in (GET /v1/auth/me), navigation by role, hash routing
// (#/approvals …, so the console works under any path prefix), language switch.
export class CpApp extends LitElement {
  static properties = { me: { state: true }, state: { state: true }, notice: { state: true }, route: { state: true }, error: { state: true } };
  declare me: Me | null;
  declare state: 'loading' | 'signin' | 'enrol' | 'ready' | 'error';
  declare notice: string;
  declare route: string;
  declare error: string;

  static styles = [
    base,
    css`
      :host { min-height: 100vh; background: #f6f7fb; }
      header { background: #14213d; color: #fff; padding: 0.6rem 1.5rem; display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; }
      header .brand { font-weight: 700; font-size: 1.1rem; }
      header .tag { color: #c7d2fe; font-size: 0.85rem; }
      @media (max-width: 1500px) { header .tag { display: none; } }
      header .spacer { flex: 1; }
      header .who { font-size: 0.85rem; }
      header button { background: transparent; border-color: #c7d2fe; color: #fff; padding: 0.25rem 0.7rem; }
      nav ul { list-style: none; margin: 0; padding: 0; display: flex; gap: 0.25rem; }
      nav a { color: #e0e7ff; text-decoration: none; padding: 0.35rem 0.55rem; border-radius: 6px; display: inline-block; }
      nav a[aria-current='page'] { background: #3056d3; color: #fff; }
      main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
      .skip { position: absolute; left: -999px; }
      .skip:focus { left: 1rem; top: 0.5rem; background: #fff; color: #14213d; padding: 0.3rem 0.6rem; z-index: 10; }
    `,
  ];

  constructor() {
    super();
    this.me = null;
    this.state = 'loading';
    this.notice = '';
    this.route = location.hash.replace(/^#\//, '');
    this.error = '';
    new LocaleController(this);
    document.documentElement.lang = lang();
    window.addEventListener('hashchange', () => (this.route = location.hash.replace(/^#\//, '')));
  }

  connectedCallback() {
    super.connectedCallback();
    void this.identify();
  }

  private async identify() {
    this.state = 'loading';
    try {
      const me = await api.me();
      if (!me.session) {
        // A bearer token is for programs; the console is for people who sign in.
        this.state = 'signin';
        return;
      }
      this.me = me;
      this.state = me.enrolment_only ? 'enrol' : 'ready';
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        api.forgetSession();
        this.state = 'signin';
      } else {
        this.error = e instanceof Error ? e.message : String(e);
        this.state = 'error';
      }
    }
  }

  private visiblePages(): PageDef[] {
    const me = this.me;
    if (!me) return [];
    const v = pages.filter((p) => p.visible(me));
    return v.length ? v : [homePage];
  }

  private async signOut() {
    try {
      await api.signOut();
    } catch {
      /* the cookie may already be gone; either way we are signed out here */
    }
    this.me = null;
    this.notice = '';
    this.state = 'signin';
  }

  private header() {
    const visible = this.state === 'ready' ? this.visiblePages() : [];
    const current = visible.find((p) => p.id === this.route) ?? visible[0];
    return html`<a class="skip" href="#main" @click=${(e: Event) => (e.preventDefault(), this.renderRoot.querySelector<HTMLElement>('main')?.focus())}>${t('app.skip')}</a>
      <header>
        <span class="brand">${t('app.title')}</span>
        <span class="tag">${t('app.tagline')}</span>
        ${visible.length
          ? html`<nav aria-label=${t('nav.label')}><ul>
              ${visible.map((p) => html`<li><a href="#/${p.id}" aria-current=${p === current ? 'page' : 'false'}>${t(p.label)}</a></li>`)}
            </ul></nav>`
          : ''}
        <span class="spacer"></span>
        ${this.me && this.state === 'ready'
          ? html`<span class="who">${t('app.signedInAs', { name: this.me.principal })} · ${t(this.me.kind ? (`kind.${this.me.kind}` as 'kind.staff') : 'kind.service')}</span>`
          : ''}
        <button id="lang" aria-label=${t('app.lang.label')} @click=${() => setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN')}>${t('app.lang')}</button>
        ${this.me ? html`<button id="signout" @click=${this.signOut}>${t('app.signout')}</button>` : ''}
      </header>`;
  }

  private content() {
    switch (this.state) {
      case 'loading':
        return loading();
      case 'error':
        return failure(this.error, () => this.identify());
      case 'signin':
        return html`<cp-signin .notice=${this.notice} @signed-in=${() => ((this.notice = ''), this.identify())}></cp-signin>`;
      case 'enrol':
        return html`<cp-enrol @enrolled=${() => ((this.me = null), (this.notice = t('signin.enrolled')), (this.state = 'signin'))}></cp-enrol>`;
      case 'ready': {
        const visible = this.visiblePages();
        const page = visible.find((p) => p.id === this.route) ?? visible[0];
        return page.render(this.me!);
      }
    }
  }

  render() {
    return html`${this.header()}<main id="main" tabindex="-1">${this.content()}</main>`;
  }
}
customElements.define('cp-app', CpApp);
