// End-to-end: Debian's Chromium, driven by playwright-core, against a real
// `cloudpact serve --demo`. Environment:
//   CLOUDPACT_URL          the server (API)
//   CLOUDPACT_CONSOLE_URL  where the console is served (default: CLOUDPACT_URL)
//   CLOUDPACT_DATA_DIR     the server's data dir: initial-admin-token, demo/*.token,
//                          ledger-key.pub, and ledger-key (to forge a fork of the log)
//   CLOUDPACT_ARTIFACTS    directory for screenshots (default: e2e/artifacts)
//   CHROMIUM               browser binary (default /usr/bin/chromium)
// The tests run in order and share one browser profile, as one tenant administrator would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, createHash, sign as edSign, randomBytes } from 'node:crypto';
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
const tokens = { bob: read('demo/bob.token'), erin: read('demo/erin.token'), frank: read('demo/frank.token') };
const VKEY = read('ledger-key.pub');
const ANN = 'acme-ann';
const PASSWORD = 'correct horse battery staple 租户';

async function call(method, p, { token = ADMIN, body } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(API + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// RFC 6238 with SHA-1, 6 digits, 30 s, as an authenticator app computes it. The server
// accepts each time step once and only later ones afterwards, and one step of drift.
let lastStep = -1;
function base32(s) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/[\s=]/g, '').toUpperCase()) bits += A.indexOf(c).toString(2).padStart(5, '0');
  const out = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(out);
}
async function nextTotp(secret) {
  let step = Math.max(Math.floor(Date.now() / 30000), lastStep + 1);
  while (step > Math.floor(Date.now() / 30000) + 1) await new Promise((r) => setTimeout(r, 1000));
  lastStep = step;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, '0');
}

// A note signed with the log's own private key (DIR/ledger-key, Go's PRIVATE+KEY+ form):
// what a provider that forks its log would show. Only the key holder can make one.
function forgeCheckpoint(origin, size) {
  // PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>; the base64 may itself contain '+'.
  const m = /^PRIVATE\+KEY\+([^+]+)\+[0-9a-f]{8}\+(.+)$/.exec(read('ledger-key'));
  assert.ok(m, 'DIR/ledger-key is not a PRIVATE+KEY+ key');
  const [, name, b64] = m;
  const seed = Buffer.from(b64, 'base64').subarray(1);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), Buffer.from([1]), pub])).digest().subarray(0, 4);
  const text = `${origin}\n${size}\n${randomBytes(32).toString('base64')}\n`;
  const sig = edSign(null, Buffer.from(text), key);
  return `${text}\n\u2014 ${name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

async function waitForCheckpoint(size) {
  for (let i = 0; i < 100; i++) {
    const info = await call('GET', '/v1/ledger/info');
    if (info.size >= size) return info;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no checkpoint of size ${size} within 10 s`);
}

let browser, context, page, totpSecret, requestId, keyEntry;
const shot = (name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await call('POST', `/v1/accounts/${ANN}/password`, { body: { password: PASSWORD } });
});

after(async () => {
  await browser?.close();
});

test('the console is served and speaks Chinese first, English on request', async () => {
  await page.goto(CONSOLE + '/');
  await page.getByRole('heading', { name: '登录' }).waitFor();
  await shot('01-signin-zh');
  await page.locator('#lang').click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor(); // remembered
  await page.locator('#lang').click();
  await page.getByRole('heading', { name: '登录' }).waitFor();
  // No request may leave the console's origin (no CDN, no external fonts).
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(CONSOLE) && !r.url().startsWith(API) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  await page.reload();
  await page.getByRole('heading', { name: '登录' }).waitFor();
  assert.deepEqual(foreign, []);
});

test('a tenant approver enrols TOTP in the browser, then signs in with password and code', async () => {
  await page.fill('#principal', ANN);
  await page.fill('#password', PASSWORD);
  await page.keyboard.press('Enter'); // keyboard only
  await page.locator('#totp-secret').or(page.getByRole('button', { name: '生成密钥' })).first().waitFor();
  await page.getByRole('button', { name: '生成密钥' }).click();
  totpSecret = (await page.locator('#totp-secret').textContent()).replace(/\s/g, '');
  assert.match(totpSecret, /^[A-Z2-7]{16,}$/);
  await shot('02-enrol-totp');
  await page.fill('#code', await nextTotp(totpSecret));
  await page.getByRole('button', { name: '确认绑定' }).click();
  await page.getByText('TOTP 已绑定').waitFor();
  await page.fill('#principal', ANN);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.locator('#totp').waitFor();
  await page.waitForTimeout(1200); // the "code required" answer counted as a failed attempt: 1 s back-off
  await page.fill('#totp', await nextTotp(totpSecret));
  await page.keyboard.press('Enter');
  await page.getByText(`当前用户：${ANN}`).waitFor();
  const me = await page.evaluate(() => fetch('/v1/auth/me').then((r) => r.json()));
  assert.equal(me.principal, ANN);
  assert.equal(me.enrolment_only, false);
});

test('a tenant approves a lockbox request in the browser and the operator is granted access', async () => {
  const req = await call('POST', '/v1/access/requests', {
    token: tokens.bob,
    body: { resources: ['acme-db-01'], actions: ['db:read'], reason: 'customer_support', justification: '租户报告慢查询 / slow queries', ticket: 'SUP-1024' },
  });
  requestId = req.id;
  await call('POST', `/v1/access/requests/${req.id}/reviews`, { token: tokens.erin, body: { decision: 'approve' } });
  await call('POST', `/v1/access/requests/${req.id}/reviews`, { token: tokens.frank, body: { decision: 'approve' } });

  await page.goto(CONSOLE + '/#/approvals');
  await page.locator('#generate-key').click();
  const publicKey = (await page.locator('#public-key').textContent()).trim();
  assert.equal(Buffer.from(publicKey, 'base64').length, 32);
  // The key pair is non-extractable: the page itself cannot export the private key.
  const exportable = await page.evaluate(async () => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('cloudpact-console');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const stored = await new Promise((res) => {
      const g = db.transaction('approver-keys').objectStore('approver-keys').getAll();
      g.onsuccess = () => res(g.result[0]);
    });
    try {
      await crypto.subtle.exportKey('pkcs8', stored.keyPair.privateKey);
      return true;
    } catch {
      return stored.keyPair.privateKey.extractable;
    }
  });
  assert.equal(exportable, false);
  // The approver registered it herself (signed in with password and TOTP, the browser signing
  // the registration statement with the new key): no provider step. The page shows the key
  // on file, read back from /v1/auth/me, and that it is this browser's.
  await page.locator('#key-match').waitFor();
  assert.equal((await page.locator('#registered-key').textContent()).trim(), publicKey);
  assert.match(await page.locator('#key-result.ok').textContent(), /#\d+/);
  const me = await page.evaluate(() => fetch('/v1/auth/me').then((r) => r.json()));
  assert.equal(me.tenant, 'acme');
  assert.equal(me.public_key, publicKey);
  keyEntry = Number(/#(\d+)/.exec(await page.locator('#key-result').textContent())[1]);
  const ledgered = await call('GET', `/v1/ledger/entries/${keyEntry}`);
  const body = JSON.parse(Buffer.from(ledgered.entry_base64, 'base64').toString()).body;
  assert.equal(body.approver, ANN);
  assert.equal(body.public_key, publicKey);
  // A bearer token cannot register a key for anyone: only the person, in person.
  await assert.rejects(call('POST', '/v1/auth/approver-key', { body: { public_key: publicKey, signature: 'A'.repeat(88) } }), /403/);
  await page.reload();
  const row = page.locator(`tr[data-request="${req.id}"]`);
  await row.waitFor();
  await shot('03-approvals-pending');
  await row.getByRole('button').click();
  await page.locator('#digest-ok').waitFor();
  await page.locator('#comment').fill('同意，限本次工单 / approved for this ticket');
  await shot('04-approval-detail');
  await page.locator('#approve').click();
  await page.locator('#result.ok').waitFor();
  await shot('05-approved');

  const after = await call('GET', `/v1/access/requests/${req.id}`);
  assert.equal(after.state, 'active');
  const tenantReview = after.reviews.find((r) => r.reviewer === ANN);
  assert.equal(tenantReview.decision, 'approve');
  assert.equal(tenantReview.public_key, publicKey);
  const check = await call('POST', '/v1/authz/check', { body: { principal: 'bob', action: 'db:read', resource: 'acme-db-01' } });
  assert.equal(check.allow, true, JSON.stringify(check));
  assert.equal(check.grant, req.id);
});

test('the transparency page verifies every record in the browser', async () => {
  // Bob uses the grant (as the gateway or a data plane would record it).
  const use = await call('POST', '/v1/access/uses', { body: { principal: 'bob', action: 'db:read', resource: 'acme-db-01', detail: { query: 'EXPLAIN SELECT …' } } });
  await waitForCheckpoint(use.ledger_index + 1); // else its badge says "awaiting checkpoint"
  await page.goto(CONSOLE + '/#/transparency');
  await page.locator('#vkey').fill(VKEY);
  await page.getByRole('button', { name: '固定此公钥' }).click();
  await page.locator('#pinned-vkey').waitFor();
  // Her tenant comes from /v1/auth/me: nothing to type.
  assert.equal(await page.locator('#tenant').count(), 0);
  await page.locator('#tenant-name:has-text("acme")').waitFor();
  const row = page.locator(`tr[data-request="${requestId}"]`);
  await row.locator('cp-badge.row-badge[state="verified"]').waitFor();
  await row.locator('summary').click();
  const states = await row.locator('li cp-badge').evaluateAll((els) => els.map((e) => e.getAttribute('state')));
  assert.equal(states.length, 6, `expected request, 3 reviews, grant and use, got ${states}`);
  assert.ok(states.every((s) => s === 'verified'), states.join());
  // The use is listed under sessions and commands, verified too.
  await row.getByText('会话与命令').waitFor();
  await row.locator(`li[data-index="${use.ledger_index}"] cp-badge[state="verified"]`).waitFor();
  await page.locator('#consistency').waitFor();
  // Her key registration is among the tenant's verified records (inclusion and her proof
  // of possession, both checked by the browser).
  const keyRow = page.locator(`#key-events-table tr[data-index="${keyEntry}"]`);
  await keyRow.locator('cp-badge[state="verified"]').waitFor();
  assert.equal(await keyRow.getAttribute('data-type'), 'directory.approver_key');
  assert.match(await keyRow.textContent(), new RegExp(ANN));
  assert.equal(await page.locator('[role="alert"]').count(), 0);
  await shot('06-transparency-verified');
});

test('an entry rewritten in flight turns its badge into a loud failure', async () => {
  const pattern = `**/v1/tenants/acme/access-log`;
  let rewritten = 0;
  await page.route(pattern, async (route) => {
    const res = await route.fetch();
    const log = await res.json();
    const e = log.requests.find((r) => r.id === requestId).entries.find((x) => JSON.parse(x.entry).type === 'access.grant');
    e.entry = e.entry.replace('"actor":"cloudpact"', '"actor":"cloudpacT"');
    rewritten = e.index;
    await route.fulfill({ response: res, json: log });
  });
  try {
    await page.reload();
    const row = page.locator(`tr[data-request="${requestId}"]`);
    await row.locator('cp-badge.row-badge[state="failed"]').waitFor();
    await row.locator('summary').click();
    await row.locator(`li[data-index="${rewritten}"] cp-badge[state="failed"]`).waitFor();
    const others = await row.locator(`li:not([data-index="${rewritten}"]) cp-badge`).evaluateAll((els) => els.map((e) => e.getAttribute('state')));
    assert.ok(others.every((s) => s === 'verified'), others.join());
    const alarm = page.locator('#alarm-entries [role="alert"]');
    await alarm.waitFor();
    assert.match(await page.locator('#alarm-entries').textContent(), /1 条记录核验失败/); // slotted text
    await shot('07-transparency-tampered-entry');
  } finally {
    await page.unroute(pattern); // later tests see the honest server again
  }
});

test('a checkpoint inconsistent with the remembered one raises the alarm, and it stays raised', async () => {
  const before = await call('GET', '/v1/ledger/info');
  // The log grows; then the server presents a checkpoint of the new size whose root is not
  // an extension of the one this browser remembered — correctly signed with the log's key.
  const added = await call('POST', '/v1/ledger/entries', { body: { type: 'console.e2e', body: { note: 'growth' } } });
  const info = await waitForCheckpoint(added.index + 1);
  assert.ok(info.size > before.size);
  const pattern = `**/v1/tenants/acme/access-log`;
  await page.route(pattern, async (route) => {
    const res = await route.fetch();
    const log = await res.json();
    log.checkpoint = forgeCheckpoint(before.origin, info.size);
    log.tree_size = info.size;
    await route.fulfill({ response: res, json: log });
  });
  const alarm = page.locator('#alarm-consistency [role="alert"]');
  try {
    await page.reload();
    await alarm.waitFor();
    assert.match(await page.locator('#alarm-consistency').textContent(), /不一致/);
    // Nothing is shown as verified against a forked history.
    assert.equal(await page.locator('cp-badge[state="verified"]').count(), 0);
    await shot('08-transparency-inconsistent-checkpoint');
  } finally {
    await page.unroute(pattern);
  }

  // The honest checkpoint again: the alarm is remembered until dismissed on purpose.
  await page.reload();
  await alarm.waitFor();
  await page.locator(`tr[data-request="${requestId}"] cp-badge.row-badge[state="verified"]`).waitFor();
  await page.getByRole('button', { name: '我已知晓并上报，关闭此警告' }).click();
  assert.equal(await page.locator('#alarm-consistency').count(), 0);
  await page.reload();
  await page.locator(`tr[data-request="${requestId}"] cp-badge.row-badge[state="verified"]`).waitFor();
  assert.equal(await page.locator('#alarm-consistency').count(), 0);
});

test('the pages are reachable with the keyboard alone', async () => {
  await page.goto(CONSOLE + '/#/approvals');
  await page.getByRole('heading', { name: '访问审批' }).first().waitFor();
  // The focused element, looking through shadow roots.
  const focused = () =>
    page.evaluate(() => {
      let a = document.activeElement;
      while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
      return a ? `${a.tagName.toLowerCase()}:${(a.textContent || '').trim()}` : '';
    });
  const seen = [];
  for (let i = 0; i < 20 && !seen.includes('a:访问透明度'); i++) {
    await page.keyboard.press('Tab');
    seen.push(await focused());
  }
  assert.ok(seen.includes('a:访问透明度'), `Tab order: ${seen.join(' | ')}`);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: '访问透明度' }).waitFor();
});

test('English pages render too', async () => {
  await page.locator('#lang').click();
  await page.getByRole('heading', { name: 'Access transparency' }).waitFor();
  await shot('09-transparency-en');
  await page.goto(CONSOLE + '/#/approvals');
  await page.getByRole('heading', { name: 'Access approvals' }).waitFor();
  await page.getByText('No requests await your decision.').waitFor();
  await shot('10-approvals-empty-en');
  await page.locator('#lang').click();
});
