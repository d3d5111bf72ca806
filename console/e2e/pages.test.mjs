// End-to-end tests of the provider-side pages (provider approver, operator, ledger explorer,
// posture, live sessions, assessment) in Debian's Chromium against a real
// `cloudpact serve --demo`; same environment as console.test.mjs (see e2e/run.sh). Each
// person signs in in their own browser context, enrolling TOTP on the way, as they would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const API = process.env.CLOUDPACT_URL;
const CONSOLE = process.env.CLOUDPACT_CONSOLE_URL || API;
const DATA = process.env.CLOUDPACT_DATA_DIR;
const ART = process.env.CLOUDPACT_ARTIFACTS || path.join(here, 'artifacts');
assert.ok(API && DATA, 'set CLOUDPACT_URL and CLOUDPACT_DATA_DIR (see e2e/run.sh)');
mkdirSync(ART, { recursive: true });

const read = (p) => readFileSync(path.join(DATA, p), 'utf8').trim();
const ADMIN = read('initial-admin-token');
const token = (who) => read(`demo/${who}.token`);
const VKEY = read('ledger-key.pub');
const PASSWORD = 'correct horse battery staple 运维';

async function call(method, p, { token: tk = ADMIN, body } = {}) {
  const headers = { Authorization: `Bearer ${tk}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// RFC 6238 (SHA-1, 6 digits, 30 s). The server takes each step once per person, and one
// step of drift, so each person's codes come from strictly increasing steps.
const lastStep = new Map();
function base32(s) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) bits += A.indexOf(c).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}
async function nextTotp(secret) {
  const step = Math.max(Math.floor(Date.now() / 30000), (lastStep.get(secret) ?? -1) + 1);
  while (step > Math.floor(Date.now() / 30000) + 1) await new Promise((r) => setTimeout(r, 1000));
  lastStep.set(secret, step);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, '0');
}

async function waitForCheckpoint(size) {
  for (let i = 0; i < 100; i++) {
    const info = await call('GET', '/v1/ledger/info');
    if (info.size >= size) return info;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no checkpoint of size ${size} within 10 s`);
}

let browser;
const pages = {};
const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });

// A person's own browser: sign in with a password, enrol TOTP, sign in with password and code.
async function signIn(who) {
  await call('POST', `/v1/accounts/${who}/password`, { body: { password: PASSWORD } });
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error (${who}):`, e));
  await page.goto(CONSOLE + '/');
  await page.fill('#principal', who);
  await page.fill('#password', PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: '生成密钥' }).click();
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s/g, '');
  await page.fill('#code', await nextTotp(secret));
  await page.getByRole('button', { name: '确认绑定' }).click();
  await page.getByText('TOTP 已绑定').waitFor();
  await page.fill('#principal', who);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('#totp').waitFor();
  await page.waitForTimeout(1200); // the "code required" answer counted as a failed attempt
  await page.fill('#totp', await nextTotp(secret));
  await page.keyboard.press('Enter');
  await page.getByText(`当前用户：${who}`).waitFor();
  pages[who] = page;
  return page;
}

// The nav links a person sees, by their hash route.
const navLinks = (page) => page.locator('cp-app nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  // Colin: an outsourced ops lead at Contoso, the same company as Bob (a DBA). The demo
  // policy's approval conflict says contractors are not approved by their own company.
  await call('POST', '/v1/directory/apply', {
    body: { staff: [{ id: 'colin', name: 'Colin 孙', kind: 'outsourced', organisation: 'Contoso 外包 / Contoso', roles: ['ops-lead'] }] },
  });
});

after(async () => {
  await browser?.close();
});

let bobRequest, aliceRequest;

test('a provider approver approves from the queue and sees why they may not approve another request', async () => {
  bobRequest = await call('POST', '/v1/access/requests', {
    token: token('bob'),
    body: { resources: ['acme-db-01'], actions: ['db:read'], reason: 'customer_support', justification: '索引维护 / index maintenance', ticket: 'SUP-2048' },
  });
  aliceRequest = await call('POST', '/v1/access/requests', {
    token: token('alice'),
    body: { resources: ['bj-host-01'], actions: ['login:root'], reason: 'maintenance', justification: '内核补丁 / kernel patch', ticket: 'CHG-77', duration_seconds: 3600 },
  });
  const page = await signIn('colin');
  // Navigation by role: the server says who Colin is and that he may review.
  const me = await page.evaluate(() => fetch('/v1/auth/me').then((r) => r.json()));
  assert.deepEqual(me.roles, ['ops-lead']);
  assert.equal(me.organisation, 'Contoso 外包 / Contoso');
  assert.equal(me.may_review, true);
  // The queue's reasons come with the list: no request is fetched again one by one.
  const fetchedOne = [];
  page.on('request', (r) => {
    if (/\/v1\/access\/requests\/[^/?]+$/.test(new URL(r.url()).pathname)) fetchedOne.push(r.url());
  });
  const nav = await navLinks(page);
  assert.ok(nav.includes('#/queue') && nav.includes('#/posture') && nav.includes('#/live'), nav.join());
  assert.ok(!nav.includes('#/approvals') && !nav.includes('#/assess'), nav.join());
  await page.goto(CONSOLE + '/#/queue');
  const blocked = page.locator(`tr[data-request="${bobRequest.id}"] [data-sod]`);
  await blocked.waitFor();
  const why = await blocked.textContent();
  assert.match(why, /职责分离/);
  assert.match(why, /外包人员不由本公司审批/); // the policy's reason, in the server's words
  const row = page.locator(`tr[data-request="${aliceRequest.id}"]`);
  await row.getByText('您可以审批').waitFor();
  await shot(page, '11-queue-sod');
  assert.deepEqual(fetchedOne, []);
  // The blocked request opens, but its buttons are disabled, with the explanation repeated.
  await page.locator(`tr[data-request="${bobRequest.id}"] button.open`).click();
  assert.equal(await page.locator(`#detail-${bobRequest.id} button.approve`).isDisabled(), true);
  await page.locator(`tr[data-request="${bobRequest.id}"] button.open`).click();
  // Keyboard: open Alice's request and approve with a comment.
  await row.locator('button.open').focus();
  await page.keyboard.press('Enter');
  await page.locator(`#comment-${aliceRequest.id}`).fill('同意，限变更窗口 / within the change window');
  await shot(page, '12-queue-detail');
  await page.locator(`#detail-${aliceRequest.id} button.approve`).click();
  await page.locator('#result.ok').waitFor();
  const after = await call('GET', `/v1/access/requests/${aliceRequest.id}`);
  assert.equal(after.state, 'active');
  assert.equal(after.reviews[0].reviewer, 'colin');
  // The explanation is the server's: the same review sent from this session is refused with it.
  const refused = await page.evaluate(async (id) => {
    const r = await fetch(`/v1/access/requests/${id}/reviews`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('cloudpact.csrf') },
      body: JSON.stringify({ decision: 'approve' }),
    });
    return { status: r.status, text: await r.text() };
  }, bobRequest.id);
  assert.equal(refused.status, 403);
  assert.match(refused.text, /separation of duties/);
});

test('an operator requests access in the browser and sees the grant with its time left', async () => {
  const page = await signIn('alice');
  const me = await page.evaluate(() => fetch('/v1/auth/me').then((r) => r.json()));
  assert.equal(me.may_review, false); // an SRE: no approval rule names her role
  const nav = await navLinks(page);
  assert.ok(nav.includes('#/operate'), nav.join());
  assert.ok(!nav.includes('#/queue') && !nav.includes('#/ledger'), nav.join());
  await page.goto(CONSOLE + '/#/operate');
  await page.locator('#resources').fill('bj-host-01');
  await page.locator('#actions').fill('exec');
  await page.locator('#reason').selectOption('incident_response');
  await page.locator('#duration').selectOption('7200');
  await page.locator('#justification').fill('告警排查 / alert triage');
  await page.locator('#ticket').fill('INC-9');
  await page.locator('#submit-request').click();
  await page.locator('#result.ok').waitFor();
  const id = /req_[0-9a-f]+/.exec(await page.locator('#result').textContent())[0];
  await page.locator(`#my-requests tr[data-request="${id}"]`).getByText('待审批').waitFor();
  const asked = await call('GET', `/v1/access/requests/${id}`);
  assert.deepEqual([asked.resources, asked.actions, asked.reason, asked.duration_seconds, asked.ticket], [['bj-host-01'], ['exec'], 'incident_response', 7200, 'INC-9']);
  // An ops lead approves it (the production rule needs one).
  await call('POST', `/v1/access/requests/${id}/reviews`, { token: token('erin'), body: { decision: 'approve', comment: 'ok' } });
  await page.getByRole('button', { name: '刷新' }).first().click();
  const grant = page.locator(`[data-grant="${id}"]`);
  const timer = grant.locator('cp-countdown');
  await timer.waitFor();
  const first = Number(await timer.getAttribute('remaining'));
  assert.ok(first > 7000 && first <= 7200, `time left ${first}`);
  assert.match(await timer.locator('[role="timer"]').textContent(), /1 小时 5\d 分 \d+ 秒/);
  await page.waitForTimeout(2100);
  const later = Number(await timer.getAttribute('remaining'));
  assert.ok(later < first, `the countdown ticks (${first} → ${later})`);
  // The grant approved in the queue before is there too.
  await page.locator(`[data-grant="${aliceRequest.id}"] cp-countdown`).waitFor();
  await shot(page, '13-operator-grants');
});

test('an operator plays back a session recording after the browser checked its hash', async () => {
  const page = pages.alice;
  // A session and its recording as the gateway serves them (the demo has no SSH target),
  // given to the page by request routing.
  const cast =
    '{"version": 2, "width": 80, "height": 24, "timestamp": 1700000000, "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"}, "title": "alice@bj-host-01"}\n' +
    '[0.2, "o", "$ "]\n[0.9, "i", "uptime\\r"]\n[0.900001, "m", "command: uptime"]\n[1.1, "o", "uptime\\r\\n 10:00:00 up 42 days\\r\\n$ "]\n';
  const sha = createHash('sha256').update(cast).digest('hex');
  const session = {
    id: 'ses_e2e0001', operator: 'alice', login: 'root', target: 'bj-host-01', grant: aliceRequest.id, role: 'sre', mode: 'shell', command: '',
    client: 'OpenSSH', state: 'ended', started: 1700000000, ended: 1700000002, end_reason: 'closed', exit_status: 0, recording_sha256: sha,
    recording_bytes: cast.length, watchers: 0, ledger_indexes: [], command_count: 1, file_count: 0,
  };
  await page.route('**/v1/sessions?**', (route) => route.fulfill({ json: { items: [session] } }));
  await page.route('**/v1/sessions/ses_e2e0001/recording', (route) =>
    route.fulfill({ body: cast, headers: { 'content-type': 'application/x-asciicast', 'x-content-sha256': sha } }),
  );
  try {
    await page.reload();
    await page.locator('tr[data-session="ses_e2e0001"] button.play').click();
    await page.locator('#rec-hash-ok').waitFor();
    // asciinema-player renders the terminal (its VT is WebAssembly): play it to the end.
    await page.locator('cp-recording .ap-overlay-start').click();
    await page.locator('cp-recording .ap-term').getByText('up 42 days').waitFor({ timeout: 10000 });
    await shot(page, '14-operator-recording');
  } finally {
    await page.unroute('**/v1/sessions?**');
    await page.unroute('**/v1/sessions/ses_e2e0001/recording');
  }
});

test('the ledger explorer verifies an entry, and shows a failure when the entry is rewritten in flight', async () => {
  const page = await signIn('dave');
  const nav = await navLinks(page);
  for (const p of ['#/ledger', '#/posture', '#/live', '#/queue']) assert.ok(nav.includes(p), `${p} in ${nav.join()}`);
  const info = await waitForCheckpoint((await call('GET', '/healthz')).ledger_size);
  await page.goto(CONSOLE + '/#/ledger');
  await page.locator('#vkey').fill(VKEY);
  await page.getByRole('button', { name: '固定此公钥' }).click();
  await page.locator('#cp-badge[state="verified"]').waitFor();
  await page.locator('#cosignatures tr[data-signer] cp-badge[state="verified"]').waitFor(); // the log's own signature
  const top = page.locator('#entries tbody tr').first();
  await top.locator('cp-badge[state="verified"]').waitFor();
  const states = await page.locator('#entries tbody tr cp-badge').evaluateAll((els) => els.map((e) => e.getAttribute('state')));
  assert.ok(states.length >= 10 && states.every((s) => s === 'verified'), states.join());
  await shot(page, '15-ledger-entries');
  // The approval made in the queue: its entry, proof and badge.
  const approved = await call('GET', `/v1/access/requests/${aliceRequest.id}`);
  const index = approved.reviews[0].ledger_index;
  assert.ok(index < info.size);
  await page.locator('#goto').fill(String(index));
  await page.locator('#goto').press('Enter');
  await page.locator(`#entry-detail[data-index="${index}"] #entry-badge[state="verified"]`).waitFor();
  assert.match(await page.locator('#entry-json').textContent(), /"reviewer": "colin"/);
  await shot(page, '16-ledger-entry-verified');

  const pattern = `**/v1/ledger/entries/${index}`;
  await page.route(pattern, async (route) => {
    const res = await route.fetch();
    const e = await res.json();
    const text = Buffer.from(e.entry_base64, 'base64').toString('utf8').replace('"decision":"approve"', '"decision":"deny"');
    assert.ok(text.includes('"decision":"deny"'));
    e.entry_base64 = Buffer.from(text).toString('base64');
    e.entry = JSON.parse(text);
    await route.fulfill({ response: res, json: e });
  });
  try {
    await page.reload();
    await page.locator('#cp-badge[state="verified"]').waitFor();
    await page.locator('#goto').fill(String(index));
    await page.locator('#goto').press('Enter');
    await page.locator(`#entry-detail[data-index="${index}"] #entry-badge[state="failed"]`).waitFor();
    await page.locator('#alarm-entry [role="alert"]').waitFor();
    assert.match(await page.locator('#alarm-entry').textContent(), /核验失败/);
    await shot(page, '17-ledger-entry-tampered');
  } finally {
    await page.unroute(pattern);
  }
});

test('a security admin reviews break-glass access after the fact from the queue', async () => {
  const glass = await call('POST', '/v1/access/breakglass', {
    token: token('olga'),
    body: { resources: ['sh-node-01'], actions: ['login:root'], reason: 'incident_response', justification: '生产故障 / outage', ticket: 'INC-10' },
  });
  assert.equal(glass.state, 'active');
  // Colin (ops lead) may not review it: the policy names security-admin for break-glass.
  const colin = pages.colin;
  await colin.goto(CONSOLE + '/#/queue');
  await colin.reload();
  const blocked = colin.locator(`tr[data-request="${glass.id}"] [data-sod]`);
  await blocked.waitFor();
  assert.match(await blocked.textContent(), /break-glass/);
  const page = pages.dave;
  await page.goto(CONSOLE + '/#/queue');
  await page.reload();
  const row = page.locator(`tr[data-request="${glass.id}"]`);
  await row.getByText('您可以审批').waitFor();
  await row.locator('button.open').click();
  await page.locator(`#comment-${glass.id}`).fill('故障单已核实 / incident confirmed');
  await page.locator(`#detail-${glass.id} button.approve`).click();
  await page.locator('cp-provider #result.ok').waitFor();
  const after = await call('GET', `/v1/access/requests/${glass.id}`);
  assert.equal(after.post_review, 'justified');
  assert.equal(await page.locator(`tr[data-request="${glass.id}"]`).count(), 0);
});

test('posture shows charts; live sessions are terminated only after a confirmation', async () => {
  const page = pages.dave;
  await page.goto(CONSOLE + '/#/posture');
  await page.locator('#t-standing').waitFor();
  assert.ok((await page.locator('cp-posture svg[role="img"]').count()) >= 2);
  await shot(page, '18-posture');
  await page.goto(CONSOLE + '/#/live');
  await page.locator('cp-live').getByText('当前没有进行中的会话。').waitFor();
  // A running session (the demo has no SSH target: given by request routing), terminated
  // only after an explicit confirmation, with the reason sent to the server.
  const live = {
    id: 'ses_e2elive', operator: 'alice', login: 'root', target: 'bj-host-01', grant: aliceRequest.id, role: 'sre', mode: 'shell', command: '',
    client: 'OpenSSH', state: 'active', started: Math.floor(Date.now() / 1000) - 60, ended: 0, end_reason: '', exit_status: -1,
    recording_sha256: '', recording_bytes: 0, watchers: 0, ledger_indexes: [], command_count: 3, file_count: 0,
  };
  let terminated = null;
  await page.route('**/v1/sessions?state=active', (route) => route.fulfill({ json: { items: terminated ? [] : [live] } }));
  await page.route('**/v1/sessions/ses_e2elive/terminate', async (route) => {
    terminated = { method: route.request().method(), body: route.request().postDataJSON(), csrf: route.request().headers()['x-csrf-token'] };
    await route.fulfill({ status: 202, json: { session: live.id, terminating: true } });
  });
  try {
    await page.reload();
    await page.locator('tr[data-session="ses_e2elive"] button.terminate').click();
    await page.locator('#terminate-reason').fill('未经批准的变更 / unapproved change');
    await shot(page, '19-live-sessions-confirm');
    assert.equal(terminated, null, 'nothing is sent before the confirmation');
    await page.locator('#confirm-terminate').click();
    await page.locator('cp-live #result.ok').waitFor();
    assert.equal(terminated.method, 'POST');
    assert.deepEqual(terminated.body, { reason: '未经批准的变更 / unapproved change' });
    assert.ok(terminated.csrf);
  } finally {
    await page.unroute('**/v1/sessions?state=active');
    await page.unroute('**/v1/sessions/ses_e2elive/terminate');
  }
});

test('the assessment page shows a scorecard after a run started from the page, its digest verified in the ledger', async () => {
  // The demo policy's security admin may run assessments (assess:read, assess:run).
  const page = pages.dave;
  await page.goto(CONSOLE + '/#/queue');
  const me = await page.evaluate(() => fetch('/v1/auth/me').then((r) => r.json()));
  assert.ok(me.permissions.includes('assess:run'), me.permissions.join());
  await page.locator('cp-app nav a[href="#/assess"]').waitFor();
  await page.goto(CONSOLE + '/#/assess');
  await page.locator('#run-now').waitFor();
  const before = new Set((await call('GET', '/v1/assess/runs')).runs.map((r) => r.id));
  await page.locator('#run-now').click();
  await page.locator('#result.ok').waitFor({ timeout: 60000 });
  // The page shows the run it started (the server may hold others, e.g. from its start).
  const id = await page.locator('#run').inputValue();
  assert.ok(!before.has(id), `${id} is a new run`);
  const run = (await call('GET', '/v1/assess/runs')).runs.find((r) => r.id === id);
  assert.equal(run.started_by, 'dave');
  await page.locator(`#run-info h2:has-text("${id}")`).waitFor();
  await page.locator('section.catalog').first().waitFor();
  assert.equal((await page.locator('#run-digest').textContent()).trim(), run.digest);
  await waitForCheckpoint(run.ledger_index + 1);
  await page.locator('#run-badge[state="verified"]').waitFor({ timeout: 20000 });
  await page.locator('#trend svg').waitFor();
  const href = await page.locator('a[data-format="html"]').getAttribute('href');
  const report = await page.evaluate((u) => fetch(u).then((r) => r.status), href);
  assert.equal(report, 200);
  await shot(page, '20-assessment');
  await page.locator('#lang').click();
  await page.getByRole('heading', { name: 'Assessment' }).waitFor();
  await page.locator('#run-badge[state="verified"]').waitFor();
  await shot(page, '21-assessment-en');
  await page.goto(CONSOLE + '/#/queue');
  await page.getByRole('heading', { name: 'Access approval queue' }).waitFor();
  await shot(page, '22-queue-en');
  await page.locator('#lang').click();
});
