import { html, type TemplateResult } from 'lit';
import type { Me } from '../api.js';
import type { MessageKey } from '../i18n/index.js';

// Every page of the console, and who sees it (from GET /v1/auth/me: kind, permissions and,
// for staff, may_review). A new page is one file in pages/ plus one entry here. Staff all
// hold access:request and access:review implicitly, so the provider approver's queue is
// shown to staff the server says may review: a role of theirs is named by an approval rule
// or break_glass.reviewer_roles, or confers access:review.
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
  {
    id: 'queue',
    label: 'nav.queue',
    // sessions:control: the page also holds the commands the gateway keeps for a decision.
    visible: (me) => me.kind === 'staff' && (me.may_review === true || has(me, 'sessions:control')),
    render: (me) => html`<cp-provider .me=${me}></cp-provider>`,
  },
  {
    id: 'operate',
    label: 'nav.operate',
    visible: (me) => me.kind === 'staff' && has(me, 'access:request'),
    render: (me) => html`<cp-operator .me=${me}></cp-operator>`,
  },
  {
    id: 'live',
    label: 'nav.live',
    visible: (me) => has(me, 'sessions:control') || has(me, 'sessions:read'),
    render: (me) => html`<cp-live .me=${me}></cp-live>`,
  },
  {
    id: 'posture',
    label: 'nav.posture',
    visible: (me) => has(me, 'posture:read'),
    render: (me) => html`<cp-posture .me=${me}></cp-posture>`,
  },
  {
    id: 'ledger',
    label: 'nav.ledger',
    visible: (me) => has(me, 'posture:read') || has(me, 'directory:read') || me.kind === 'auditor',
    render: (me) => html`<cp-ledger .me=${me}></cp-ledger>`,
  },
  {
    id: 'assess',
    label: 'nav.assess',
    visible: (me) => has(me, 'assess:read') || has(me, 'assess:run'),
    render: (me) => html`<cp-assess .me=${me}></cp-assess>`,
  },
];

function has(me: Me, permission: string): boolean {
  return me.permissions.includes(permission);
}

export const homePage: PageDef = {
  id: 'home',
  label: 'nav.home',
  visible: () => true,
  render: (me) => html`<cp-home .me=${me}></cp-home>`,
};
