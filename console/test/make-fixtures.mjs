// Collects verification test vectors from a live `cloudpact serve --demo` (see
// make-fixtures.sh): signed checkpoints of several sizes, every entry's bytes, inclusion
// proofs against every checkpoint, consistency proofs between every pair, a tenant access
// log and a lockbox request as the tenant approver sees it. Usage:
//   node test/make-fixtures.mjs URL DATA_DIR OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [url, dataDir, out] = process.argv.slice(2);
if (!url || !dataDir || !out) {
  console.error('usage: make-fixtures.mjs URL DATA_DIR OUT.json');
  process.exit(2);
}
const read = (p) => readFileSync(path.join(dataDir, p), 'utf8').trim();
const admin = read('initial-admin-token');
const bob = read('demo/bob.token');
const ann = read('demo/acme-ann.token');

async function call(method, p, { token, body, text } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const t = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${t}`);
  return text ? t : JSON.parse(t);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const noteSize = (note) => Number(note.split('\n')[1]);

async function checkpointAtLeast(size) {
  for (let i = 0; i < 100; i++) {
    const note = await call('GET', '/ledger/checkpoint', { text: true });
    if (noteSize(note) >= size) return note;
    await sleep(100);
  }
  throw new Error(`no checkpoint of size ${size} within 10 s`);
}

const info = await call('GET', '/v1/ledger/info');
const vkeyFile = read('ledger-key.pub');
if (vkeyFile !== info.verifier_key) throw new Error('DIR/ledger-key.pub differs from /v1/ledger/info');

// A lockbox request on Acme's database, so that the tenant's access log has content.
const request = await call('POST', '/v1/access/requests', {
  token: bob,
  body: {
    resources: ['acme-db-01'],
    actions: ['db:read'],
    reason: 'customer_support',
    justification: '租户报告慢查询 / slow queries',
    ticket: 'SUP-1024',
  },
});

// Checkpoints of several sizes: the current one, then after appending 1, 3 and 6 entries
// (sizes that are not powers of two, and one that may be, exercise both proof branches).
const checkpoints = [];
checkpoints.push(await checkpointAtLeast(info.size + 1));
for (const n of [1, 3, 6]) {
  let last;
  for (let i = 0; i < n; i++) {
    last = await call('POST', '/v1/ledger/entries', {
      token: admin,
      body: { type: 'console.fixture', body: { n, i, text: '控制台测试 ✓ console fixture' } },
    });
  }
  checkpoints.push(await checkpointAtLeast(last.index + 1));
}
const sizes = [...new Set(checkpoints.map(noteSize))].sort((a, b) => a - b);
const notes = sizes.map((s) => checkpoints.find((c) => noteSize(c) === s));
const max = sizes[sizes.length - 1];

const entries = [];
for (let i = 0; i < max; i++) {
  const e = await call('GET', `/v1/ledger/entries/${i}`);
  entries.push({ index: i, entry_base64: e.entry_base64, leaf_hash: e.leaf_hash });
}
const inclusion = [];
for (const size of sizes) {
  for (let i = 0; i < size; i++) {
    const r = await call('GET', `/v1/ledger/proof/inclusion?index=${i}&size=${size}`);
    inclusion.push({ index: i, size, hashes: r.hashes });
  }
}
const consistency = [];
for (const from of [0, ...sizes]) {
  for (const to of sizes) {
    if (from > to) continue;
    const r = await call('GET', `/v1/ledger/proof/consistency?from=${from}&to=${to}`);
    consistency.push({ from, to, hashes: r.hashes });
  }
}
// After the appends, so its proofs are against a checkpoint this file also holds.
const accessLog = await call('GET', '/v1/tenants/acme/access-log', { token: ann });
const requestView = await call('GET', `/v1/access/requests/${request.id}`, { token: ann });

writeFileSync(
  out,
  JSON.stringify(
    {
      generated: new Date().toISOString(),
      source: 'cloudpact serve --demo (console/test/make-fixtures.sh)',
      origin: info.origin,
      vkey: info.verifier_key,
      checkpoints: notes.map((note) => ({ size: noteSize(note), note })),
      entries,
      inclusion,
      consistency,
      access_log: accessLog,
      request: requestView,
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${out}: ${entries.length} entries, checkpoints ${sizes.join(', ')}, ${inclusion.length} inclusion and ${consistency.length} consistency proofs`);
