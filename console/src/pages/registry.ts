import { html, type TemplateResult } from 'lit';
import type { Me } from '../api.js';
import type { MessageKey } from '../i18n/index.js';

// Every page of the console, and who sees it. A new page (provider approver, operator,
// admin, auditor) is one file in pages/ plus one entry here.
export interface PageDef {
  id: string;
  label: MessageKey;
  visible: (me: Me) => boolean;
  render: (me: Me) => TemplateResult;
}

export const pages: PageDef[] = [
  {
    id: 'approvals',
    label: 'nav.approvals',
    visible: (me) => me.kind === 'approver',
    render: (me) => html`<cp-approver .me=${me}></cp-approver>`,
  },
  {
    id: 'transparency',
    label: 'nav.transparency',
    visible: (me) => me.permissions.includes('tenant:read'),
    render: (me) => html`<cp-transparency .me=${me}></cp-transparency>`,
  },
];

export const homePage: PageDef = {
  id: 'home',
  label: 'nav.home',
  visible: () => true,
  render: (me) => html`<cp-home .me=${me}></cp-home>`,
};
