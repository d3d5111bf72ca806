// The message catalogs: same keys in both languages, the same {placeholders} per message,
// nothing empty, and every literal key the source code asks for exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zhCN } from './build/zh-CN.mjs';
import { en } from './build/en.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('zh-CN and en have identical key sets', () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(zhCN).sort());
});

test('every message is non-empty and uses the same placeholders in both languages', () => {
  for (const k of Object.keys(zhCN)) {
    assert.ok(zhCN[k].trim().length > 0, `zh-CN ${k} is empty`);
    assert.ok(en[k].trim().length > 0, `en ${k} is empty`);
    assert.deepEqual(placeholders(en[k]), placeholders(zhCN[k]), `placeholders differ for ${k}`);
  }
});

test('the Chinese catalog is Chinese', () => {
  // Guards against an English string pasted into the default catalog.
  const han = /[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]/; // Han, or CJK punctuation
  const latinOnly = Object.entries(zhCN).filter(([k, v]) => !han.test(v) && !['app.lang', 'app.title'].includes(k));
  assert.deepEqual(latinOnly, []);
});

function sources(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every literal t() key in src/ exists in the catalogs', () => {
  const missing = [];
  for (const file of sources(path.join(here, '..', 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\('([\w.]+)'/g)) if (!(m[1] in zhCN)) missing.push(`${path.basename(file)}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});
