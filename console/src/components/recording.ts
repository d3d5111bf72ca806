import { LitElement, css, html, unsafeCSS } from 'lit';
import { api, type GatewaySession } from '../api.js';
import { LocaleController, t } from '../i18n/index.js';
import { sha256, toHex } from '../verify/index.js';
import playerCss from 'asciinema-player/dist/bundle/asciinema-player.css?inline';
import { base } from './styles.js';

// Plays a session's recording (asciicast v2, docs/RECORDINGS.md) with asciinema-player,
// bundled from npm (its CSS too, into this shadow root; nothing from a CDN). Before playing,
// the browser hashes what it received and compares it with the session's recording_sha256
// (the hash the gateway ledgered) and the X-Content-SHA256 header; a mismatch is shown
// loudly and the recording is still playable, labelled as not matching.
export class CpRecording extends LitElement {
  static properties = { session: { attribute: false }, state: { state: true }, error: { state: true }, hash: { state: true }, download: { state: true } };
  declare session: GatewaySession;
  declare state: 'loading' | 'ok' | 'mismatch' | 'error';
  declare error: string;
  declare hash: string;
  declare download: string;
  private player?: { dispose(): void };
  static styles = [
    base,
    unsafeCSS(playerCss),
    css`
      .screen { max-width: 52rem; overflow: auto; background: #121314; border-radius: 6px; }
    `,
  ];
  constructor() {
    super();
    this.state = 'loading';
    this.error = '';
    this.hash = '';
    this.download = '';
    new LocaleController(this);
  }
  connectedCallback() {
    super.connectedCallback();
    void this.load();
  }
  disconnectedCallback() {
    super.disconnectedCallback();
    this.player?.dispose();
    if (this.download) URL.revokeObjectURL(this.download);
  }
  private async load() {
    try {
      const { bytes, sha256: header } = await api.recording(this.session.id);
      this.hash = toHex(await sha256(bytes));
      const expected = this.session.recording_sha256;
      // The exact bytes, to keep or to replay with `asciinema play` elsewhere.
      this.download = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/x-asciicast' }));
      this.state = this.hash === expected && (!header || header === expected) ? 'ok' : 'mismatch';
      await this.updateComplete;
      const { create } = await import('asciinema-player');
      const el = this.renderRoot.querySelector<HTMLElement>('.screen')!;
      this.player = create({ data: new TextDecoder().decode(bytes) }, el, { fit: 'width', idleTimeLimit: 2, controls: true, terminalFontSize: 'small' });
    } catch (e) {
      this.state = 'error';
      this.error = e instanceof Error ? e.message : String(e);
    }
  }
  render() {
    return html`
      ${this.state === 'loading' ? html`<p class="muted" role="status">${t('app.loading')}</p>` : ''}
      ${this.state === 'error' ? html`<p class="bad" role="alert">${t('op.rec.error', { message: this.error })}</p>` : ''}
      ${this.state === 'ok' ? html`<p class="ok" id="rec-hash-ok">✔ ${t('op.rec.hashOk', { hash: this.hash.slice(0, 16) + '…' })}</p>` : ''}
      ${this.state === 'mismatch'
        ? html`<cp-alarm heading=${t('alarm.title')}>${t('op.rec.hashBad', { got: this.hash, want: this.session.recording_sha256 })}</cp-alarm>`
        : ''}
      ${this.download ? html`<p><a href=${this.download} download=${this.session.id + '.cast'}>${t('op.rec.download')}</a></p>` : ''}
      <div class="screen" aria-label=${t('op.rec.label', { id: this.session.id })}></div>`;
  }
}
customElements.define('cp-recording', CpRecording);
