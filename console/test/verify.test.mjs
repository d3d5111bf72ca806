// The browser's verification library against the server's own proofs: every fixture file
// (the committed static.json, and live-*.json or $CLOUDPACT_FIXTURES written by
// make-fixtures.sh from a freshly started server) must verify, and every flipped byte in an
// entry, proof, root or signature must fail.
import { webcrypto } from 'node:crypto';
if (!globalThis.crypto) globalThis.crypto = webcrypto; // Node 18

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from './build/verify.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'fixtures');
const files = readdirSync(dir).filter((f) => f === 'static.json' || /^live-.*\.json$/.test(f)).map((f) => path.join(dir, f));
if (process.env.CLOUDPACT_FIXTURES) files.push(...process.env.CLOUDPACT_FIXTURES.split(path.delimiter));
assert.ok(files.length > 0, 'no fixtures');

const b64 = (s) => v.fromBase64(s);
const flip = (bytes, at = bytes.length >> 1, bit = 1) => {
  const c = bytes.slice();
  c[at] ^= bit;
  return c;
};
async function rejects(p, code) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof v.VerifyError, `expected VerifyError, got ${e}`);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

test('RFC 6962 known answers', async () => {
  // SHA-256 of the empty string is the empty tree's root; the leaf hash of an empty entry
  // is a published RFC 6962 test vector (Go's and Trillian's merkle tests).
  assert.equal(v.toHex(await v.rootFromLeafHashes([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(v.toHex(await v.leafHash(new Uint8Array(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
});

test('base64 is strict', () => {
  assert.deepEqual([...v.fromBase64('AAEC')], [0, 1, 2]);
  assert.equal(v.toBase64(new Uint8Array([255, 254])), '//4=');
  assert.throws(() => v.fromBase64('AAE'), v.VerifyError);
  assert.throws(() => v.fromBase64('AB=='), v.VerifyError); // non-zero padding bits
  assert.throws(() => v.fromBase64('AA-_'), v.VerifyError); // base64url is not accepted
});

for (const file of files) {
  const fx = JSON.parse(readFileSync(file, 'utf8'));
  const name = path.basename(file);
  const roots = new Map();

  test(`${name}: the verifier key parses and its key ID is recomputed`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    assert.equal(log.name, fx.origin);
    assert.equal(log.type, v.SIG_ED25519);
    assert.equal(log.publicKey.length, 32);
    // Another key under the same name and ID: the ID no longer matches.
    const [n, id, key] = [fx.vkey.slice(0, fx.vkey.indexOf('+')), ...fx.vkey.slice(fx.vkey.indexOf('+') + 1).split(/\+(.*)/s)];
    const raw = b64(key);
    await rejects(v.parseVerifierKey(`${n}+${id}+${v.toBase64(flip(raw, 5))}`), 'vkey_keyid');
    await rejects(v.parseVerifierKey(`${n}x+${id}+${key}`), 'vkey_keyid');
    await rejects(v.parseVerifierKey(`${n}+${id}`), 'vkey_malformed');
  });

  test(`${name}: every checkpoint's signature verifies, and any change breaks it`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    for (const c of fx.checkpoints) {
      const cp = await v.verifyCheckpoint(c.note, log);
      assert.equal(cp.size, c.size);
      assert.equal(cp.origin, fx.origin);
      roots.set(c.size, cp.root);
      const lines = c.note.split('\n');
      // The tree size changed.
      const bigger = [lines[0], String(c.size + 1), ...lines.slice(2)].join('\n');
      await rejects(v.verifyCheckpoint(bigger, log), 'note_signature');
      // One bit of the root hash flipped.
      const root = v.toBase64(flip(b64(lines[2]), 7));
      await rejects(v.verifyCheckpoint([lines[0], lines[1], root, ...lines.slice(3)].join('\n'), log), 'note_signature');
      // One bit of the signature flipped (the signature line is the last non-empty line).
      const sigLine = lines.length - 2;
      const [dash, who, sig] = lines[sigLine].split(' ');
      const badSig = [...lines.slice(0, sigLine), `${dash} ${who} ${v.toBase64(flip(b64(sig), 40))}`, ''].join('\n');
      await rejects(v.verifyCheckpoint(badSig, log), 'note_signature');
      // A signature by a key with another ID is ignored, leaving none by a known key.
      const otherId = [...lines.slice(0, sigLine), `${dash} ${who} ${v.toBase64(flip(b64(sig), 0))}`, ''].join('\n');
      await rejects(v.verifyCheckpoint(otherId, log), 'note_unknown_key');
      // Structure.
      await rejects(v.verifyCheckpoint(c.note.replace('\n\n', '\n'), log), 'note_malformed');
      await rejects(v.verifyCheckpoint(c.note.slice(0, -1), log), 'note_malformed');
    }
  });

  test(`${name}: every entry hashes to the server's leaf hash`, async () => {
    for (const e of fx.entries) {
      const bytes = b64(e.entry_base64);
      assert.equal(v.toHex(await v.leafHash(bytes)), e.leaf_hash, `entry ${e.index}`);
      assert.notEqual(v.toHex(await v.leafHash(flip(bytes))), e.leaf_hash);
    }
  });

  test(`${name}: roots recomputed from the leaves match every signed checkpoint`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    const leaves = await Promise.all(fx.entries.map((e) => v.leafHash(b64(e.entry_base64))));
    for (const c of fx.checkpoints) {
      const cp = await v.verifyCheckpoint(c.note, log);
      assert.equal(v.toHex(await v.rootFromLeafHashes(leaves.slice(0, c.size))), v.toHex(cp.root), `size ${c.size}`);
    }
  });

  test(`${name}: inclusion proofs verify, and tampering with entry, proof, index or root fails`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    const rootOf = new Map();
    for (const c of fx.checkpoints) rootOf.set(c.size, (await v.verifyCheckpoint(c.note, log)).root);
    let checked = 0;
    for (const p of fx.inclusion) {
      const entry = b64(fx.entries[p.index].entry_base64);
      const proof = p.hashes.map(b64);
      const root = rootOf.get(p.size);
      const cp = { origin: fx.origin, size: p.size, root, extensions: [] };
      await v.verifyInclusion(p.index, p.size, await v.leafHash(entry), proof, root);
      await v.verifyEntry({ index: p.index, bytes: entry, proof: p.hashes }, cp);
      // A flipped byte in the entry.
      await rejects(v.verifyEntry({ index: p.index, bytes: flip(entry), proof: p.hashes }, cp), 'inclusion_root');
      // A flipped byte in the root.
      await rejects(v.verifyEntry({ index: p.index, bytes: entry, proof: p.hashes }, { ...cp, root: flip(root, 3) }), 'inclusion_root');
      if (proof.length > 0) {
        // A flipped byte in each proof hash.
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.map((h, j) => (j === k ? flip(h, 31, 0x80) : h));
          await rejects(v.verifyInclusion(p.index, p.size, await v.leafHash(entry), bad, root), 'inclusion_root');
        }
        // Truncated or extended proofs.
        await rejects(v.verifyInclusion(p.index, p.size, await v.leafHash(entry), proof.slice(1), root));
        await rejects(v.verifyInclusion(p.index, p.size, await v.leafHash(entry), [...proof, proof[0]], root));
        // The same proof for a neighbouring index.
        const other = p.index ^ 1;
        if (other < p.size) await rejects(v.verifyInclusion(other, p.size, await v.leafHash(entry), proof, root));
      }
      await rejects(v.verifyInclusion(p.size, p.size, await v.leafHash(entry), proof, root), 'inclusion_index');
      checked++;
    }
    assert.ok(checked >= 10, `only ${checked} inclusion proofs`);
  });

  test(`${name}: consistency proofs verify, and tampering fails`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    const rootOf = new Map([[0, await v.rootFromLeafHashes([])]]);
    for (const c of fx.checkpoints) rootOf.set(c.size, (await v.verifyCheckpoint(c.note, log)).root);
    let nontrivial = 0;
    for (const p of fx.consistency) {
      const proof = p.hashes.map(b64);
      const [rm, rn] = [rootOf.get(p.from), rootOf.get(p.to)];
      await v.verifyConsistency(p.from, p.to, rm, rn, proof);
      if (p.from === 0) continue;
      if (p.from === p.to) {
        await rejects(v.verifyConsistency(p.from, p.to, rm, flip(rn), proof), 'consistency_root');
        continue;
      }
      nontrivial++;
      await rejects(v.verifyConsistency(p.from, p.to, flip(rm), rn, proof), 'consistency_root');
      await rejects(v.verifyConsistency(p.from, p.to, rm, flip(rn), proof), 'consistency_root');
      for (let k = 0; k < proof.length; k++) {
        const bad = proof.map((h, j) => (j === k ? flip(h, 0) : h));
        await rejects(v.verifyConsistency(p.from, p.to, rm, rn, bad), 'consistency_root');
      }
      await rejects(v.verifyConsistency(p.from, p.to, rm, rn, proof.slice(0, -1)));
      await rejects(v.verifyConsistency(p.to, p.from, rn, rm, proof), 'consistency_sizes');
    }
    assert.ok(nontrivial >= 3, `only ${nontrivial} non-trivial consistency proofs`);
  });

  test(`${name}: the remembered checkpoint advances on consistent checkpoints and raises an alarm otherwise`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    const cps = [];
    for (const c of fx.checkpoints) cps.push(await v.verifyCheckpoint(c.note, log));
    const proofs = new Map(fx.consistency.map((p) => [`${p.from}-${p.to}`, p.hashes.map(b64)]));
    const fetchProof = async (from, to) => {
      const p = proofs.get(`${from}-${to}`);
      if (!p) throw new Error(`no proof ${from}-${to}`);
      return p;
    };
    const kv = new v.MapKeyValue();
    const mem = new v.CheckpointMemory(kv, fx.vkey);
    assert.equal((await mem.advance(cps[0], fetchProof)).status, 'first');
    assert.equal((await mem.advance(cps[0], fetchProof)).status, 'same');
    for (const cp of cps.slice(1)) assert.equal((await mem.advance(cp, fetchProof)).status, 'advanced');
    const last = cps[cps.length - 1];
    assert.equal(mem.remembered().size, last.size);
    assert.equal((await mem.advance(cps[0], fetchProof)).status, 'older');
    assert.equal(mem.remembered().size, last.size, 'an older checkpoint must not replace the memory');
    assert.equal(mem.alarm(), null);

    // A checkpoint of the same size with another root: a fork.
    await rejects(mem.advance({ ...last, root: flip(last.root) }, fetchProof), 'consistency_root');
    assert.equal(mem.alarm().code, 'consistency_root');
    assert.equal(mem.remembered().root, v.toBase64(last.root), 'the forked root must not be remembered');
    mem.dismissAlarm();
    assert.equal(mem.alarm(), null);

    // Remembering an early checkpoint, then shown a later one whose root does not extend it.
    const mem2 = new v.CheckpointMemory(new v.MapKeyValue(), fx.vkey);
    await mem2.advance(cps[0], fetchProof);
    await rejects(mem2.advance({ ...last, root: flip(last.root, 9) }, fetchProof), 'consistency_root');
    assert.equal(mem2.alarm().presented.size, last.size);
    assert.equal(mem2.remembered().size, cps[0].size);

    // A proof that cannot be fetched is reported but is not a fork.
    const mem3 = new v.CheckpointMemory(new v.MapKeyValue(), fx.vkey);
    await mem3.advance(cps[0], fetchProof);
    await assert.rejects(mem3.advance(last, async () => { throw new Error('network down'); }), (e) => e.code === 'consistency_unavailable');
    assert.equal(mem3.alarm(), null);
  });

  test(`${name}: the tenant access log verifies entry by entry`, async () => {
    const log = await v.parseVerifierKey(fx.vkey);
    const al = fx.access_log;
    const cp = await v.verifyCheckpoint(al.checkpoint, log);
    assert.equal(cp.size, al.tree_size);
    let n = 0;
    for (const req of al.requests) {
      for (const e of req.entries) {
        if (e.pending_checkpoint) continue;
        const bytes = v.utf8(e.entry); // the access log carries the leaf bytes as a JSON string
        const r = await v.verifyEntry({ index: e.index, bytes, proof: e.inclusion_proof }, cp);
        assert.equal(typeof r.entry.type, 'string');
        // The test's in-flight rewrite in e2e, done here on the bytes: one character changed.
        const tampered = e.entry.replace('"actor":"', '"actor":"x');
        await rejects(v.verifyEntry({ index: e.index, bytes: v.utf8(tampered), proof: e.inclusion_proof }, cp), 'inclusion_root');
        n++;
      }
    }
    assert.ok(n >= 1, 'the access log has no verifiable entries');
  });

  test(`${name}: the approver's signing statement is recomputed from the request's fields`, async () => {
    const req = fx.request;
    const st = await v.signingStatement(req, fx.origin);
    assert.equal(st.canonical, req.canonical);
    assert.equal(st.digest, req.digest);
    assert.equal(new TextDecoder().decode(st.approve), req.sign_approve);
    assert.equal(new TextDecoder().decode(st.deny), req.sign_deny);
    // Whatever the server changes, the browser refuses to sign.
    await rejects(v.signingStatement({ ...req, duration_seconds: req.duration_seconds + 1 }, fx.origin), 'canonical_mismatch');
    await rejects(v.signingStatement({ ...req, canonical: undefined, requester: 'mallory' }, fx.origin), 'digest_mismatch');
    await rejects(v.signingStatement({ ...req, canonical: undefined, resources: [...req.resources, 'x'] }, fx.origin), 'digest_mismatch');
    await rejects(v.signingStatement({ ...req, justification: req.justification + '.' }, fx.origin), 'justification_hash');
    await rejects(v.signingStatement({ ...req, canonical: undefined }, fx.origin + 'x'), 'digest_mismatch');
    await rejects(v.signingStatement({ ...req, sign_approve: req.sign_deny }, fx.origin), 'statement_mismatch');
  });
}

test('RFC 8785 canonical JSON', () => {
  assert.equal(v.canonicalJson({ b: 1, a: [true, null, 'é\u2028"'], c: { z: 1e21, y: -0.5 } }), '{"a":[true,null,"é\u2028\\""],"b":1,"c":{"y":-0.5,"z":1e+21}}');
  // Members sorted by UTF-16 code units: U+FB33 (one unit) after U+1F600 (a surrogate pair starting 0xD83D).
  assert.equal(v.canonicalJson({ '\ufb33': 1, '\u{1f600}': 2 }), '{"\u{1f600}":2,"\ufb33":1}');
});

test('Ed25519 through WebCrypto: a signature verifies and a flipped bit does not', async () => {
  const kp = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
  const msg = v.utf8(v.reviewMessage('approve', 'ab'.repeat(32)));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, kp.privateKey, msg));
  assert.equal(await v.ed25519Verify(pub, msg, sig), true);
  assert.equal(await v.ed25519Verify(pub, msg, flip(sig, 10)), false);
  assert.equal(await v.ed25519Verify(pub, flip(msg, 3), sig), false);
  assert.equal(await v.ed25519Verify(pub, msg, sig.slice(1)), false);
});

test('the approver key statement is the server\'s (src/access/access.cc ApproverKeyStatement)', () => {
  assert.equal(v.approverKeyStatement('acme-ann', 'acme', 'AAAA+/=='), 'cloudpact-approver-key/v1\nacme-ann\nacme\nAAAA+/==\n');
});
