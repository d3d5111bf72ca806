import { html } from 'lit';
import { t } from '../i18n/index.js';

// The three states every list has besides "here it is".
export const loading = () => html`<p class="muted" role="status" aria-live="polite">${t('app.loading')}</p>`;
export const empty = (text: string) => html`<p class="muted empty" role="status">${text}</p>`;
export const failure = (message: string, retry?: () => void) =>
  html`<div class="card bad" role="alert">
    ${t('app.error', { message })} ${retry ? html`<button class="secondary" @click=${retry}>${t('app.retry')}</button>` : ''}
  </div>`;
