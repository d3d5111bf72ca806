// Cedar (@cedar-policy/cedar-wasm) on the dataset and check mix of bench/access_bench.cc,
// for the comparison in docs/BENCHMARKS.md ("Authorization checks").
//
//   CLOUDPACT_CEDAR_EXPORT_DIR=DIR build/release/bench/access_bench --benchmark_out=DIR/access_bench.json
//   node cedar_bench.mjs DIR [--cloudpact DIR/access_bench.json]
//
// DIR holds what access_bench exported: entities.json (staff, resources, actions),
// policies.json (standing permissions, and grants by principal) and checks.json (the same
// mix of checks access_bench times, each with cloudpact's decision). Every check is
// evaluated; the run fails when Cedar's decision differs from cloudpact's for any of them.
//
// How the policy set is modelled (the C++ exporter writes the policy text):
//
// - A standing permission is one static policy, `permit (principal in Role::"sre",
//   action in [...], resource) when { <selector> }`: the selector's platforms, types,
//   tenants, labels and tenant_data become conditions on resource attributes, the role's
//   applies_to a condition on principal.kind. A staff member's roles are the entity's
//   parents. Action patterns ("login:*") are action groups: a concrete action is a member of
//   every pattern that matches it. A disabled account is one `forbid`.
//
// - A grant is one static policy too: `permit (principal == Staff::"u…", action in
//   [granted actions], resource == Resource::"…") when { context.now >= granted &&
//   context.now < expires }` (several resources: `[…].contains(resource)`). This is the
//   faithful model: a grant binds a principal, a set of actions, a set of resources and a
//   time interval together, and Cedar has no quantifiers to find "some grant entity of this
//   principal that covers this action and resource now" in entity data. Grants as entity
//   attributes or relations would have to be filtered (by time, at least) by the caller
//   before Cedar sees them, which moves the decision out of Cedar; template-linked
//   policies cannot carry per-grant actions or times, since only principal and resource
//   can be slots.
//
// - Speed: Cedar evaluates every policy in the set it is given; it has no index. With all
//   51,000 grant policies in one set a check takes a third of a second or more (measured
//   below on a sample, "unsliced"). So the policy set is sliced by principal: each
//   principal with grants gets a preparsed set (preparsePolicySet) of the standing policies
//   plus their own grant policies, everyone else the standing set. The slice is exact: a grant policy whose scope names another
//   principal can never apply. This mirrors cloudpact, which looks up the principal's grants
//   by id and checks only those. The entities passed per call are the principal, the
//   resource and the action (with its groups): what the policies can reach.
//
// Timed per check: building the call object and statefulIsAuthorized (which converts the
// JS request and entities into Cedar's types, evaluates, and converts the answer back).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import cedar from '@cedar-policy/cedar-wasm/nodejs';

// Node 20.20's V8 aborts ("unreachable code" in Deoptimizer::DoComputeBuiltinContinuation)
// when a call into Cedar that TurboFan inlined deoptimises, which this script reliably
// triggers once it switches to the large unsliced policy set. Not inlining JS-to-Wasm calls
// avoids it and costs nanoseconds against calls of a hundred microseconds. Compiler flags
// are read when code is optimised, so setting it here, before any call, takes effect.
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

const args = process.argv.slice(2);
let dir = process.env.CLOUDPACT_CEDAR_EXPORT_DIR;
let cloudpactFile = null;
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--cloudpact') cloudpactFile = args[++i];
  else dir = args[i];
}
if (!dir) {
  console.error('usage: node cedar_bench.mjs DIR [--cloudpact access_bench.json]');
  process.exit(2);
}
const UNSLICED_CHECKS = Number(process.env.CEDAR_UNSLICED_CHECKS ?? 100);
const started = process.hrtime.bigint();
const progress = (what) => console.error(`cedar_bench: ${what} (${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);

const load = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const t0 = process.hrtime.bigint();
const entities = load('entities.json');
const policies = load('policies.json');
const { meta, checks: allChecks } = load('checks.json');
const checks = allChecks.slice(0, Number(process.env.CEDAR_MAX_CHECKS ?? allChecks.length));
progress(`loaded ${entities.length} entities and ${checks.length} checks`);

const staff = new Map(), resources = new Map(), actions = new Map();
for (const e of entities) {
  const m = e.uid.type === 'Staff' ? staff : e.uid.type === 'Resource' ? resources : e.uid.type === 'Action' ? actions : null;
  if (m) m.set(e.uid.id, e);
}

function preparse(id, staticPolicies) {
  const r = cedar.preparsePolicySet(id, { staticPolicies });
  if (r.type !== 'success') {
    console.error(`preparsePolicySet(${id}) failed:`, JSON.stringify(r.errors, null, 1));
    process.exit(1);
  }
}
preparse('standing', policies.standing);
const sliced = new Map();  // principal → preparsed set id
let grantPolicies = 0;
for (const [principal, grants] of Object.entries(policies.grants_by_principal)) {
  preparse('p:' + principal, { ...policies.standing, ...grants });
  sliced.set(principal, 'p:' + principal);
  grantPolicies += Object.keys(grants).length;
}
const setupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
progress(`preparsed ${sliced.size + 1} policy sets`);

const context = { now: meta.now };
let errors = 0;
const errorSamples = [];
function check(c, setId) {
  const [p, a, r] = c;
  const ents = [];
  const pe = staff.get(p);
  if (pe) ents.push(pe);
  const re = resources.get(r);
  if (re) ents.push(re);
  const ae = actions.get(a);
  if (ae) ents.push(ae);
  const ans = cedar.statefulIsAuthorized({
    principal: { type: 'Staff', id: p },
    action: { type: 'Action', id: a },
    resource: { type: 'Resource', id: r },
    context,
    preparsedPolicySetId: setId ?? sliced.get(p) ?? 'standing',
    entities: ents,
  });
  if (ans.type !== 'success') {
    ++errors;
    if (errorSamples.length < 3) errorSamples.push(JSON.stringify(ans.errors));
    return null;
  }
  return ans.response.decision === 'allow';
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// Warm-up, then one timed pass per check (latency and decisions), then an untimed pass
// (throughput without the timer's cost).
for (let i = 0; i < Math.min(20000, checks.length); ++i) check(checks[i]);
progress('warmed up');
const lat = new Float64Array(checks.length);
const cat = new Uint8Array(checks.length);
const CATS = ['grant', 'standing', 'denied'];
let mismatches = 0;
const mismatchSamples = [];
let t = process.hrtime.bigint();
for (let i = 0; i < checks.length; ++i) {
  const c = checks[i];
  const a = process.hrtime.bigint();
  const allow = check(c);
  const ns = Number(process.hrtime.bigint() - a);
  lat[i] = ns;
  cat[i] = CATS.indexOf(c[4]);
  if (allow !== (c[3] === 1)) {
    ++mismatches;
    if (mismatchSamples.length < 10) mismatchSamples.push({ check: c, cedar: allow });
  }
}
const timedSeconds = Number(process.hrtime.bigint() - t) / 1e9;
progress('timed pass done');
t = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
let allowed = 0;
for (let i = 0; i < checks.length; ++i) allowed += check(checks[i]) ? 1 : 0;
const untimedSeconds = Number(process.hrtime.bigint() - t) / 1e9;
const cpu = process.cpuUsage(cpu0);  // the whole process (GC threads included), in µs
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
progress('untimed pass done');

const byCat = {};
for (let k = 0; k < CATS.length; ++k) {
  const v = new Float64Array(lat.filter((_, i) => cat[i] === k));
  v.sort();  // typed arrays sort numerically
  byCat[CATS[k]] = v;
}
lat.sort();
const result = {
  cedar: cedar.getCedarVersion(),
  cedar_wasm: cedar.getCedarSDKVersion?.() ?? null,
  node: process.version,
  staff: staff.size,
  resources: resources.size,
  standing_policies: Object.keys(policies.standing).length,
  grant_policies: grantPolicies,
  preparsed_sets: sliced.size + 1,
  setup_seconds: +setupSeconds.toFixed(1),
  checks: checks.length,
  p50_ns: percentile(lat, 0.5),
  p90_ns: percentile(lat, 0.9),
  p99_ns: percentile(lat, 0.99),
  p999_ns: percentile(lat, 0.999),
  max_ns: lat[lat.length - 1],
  checks_per_s: Math.round(checks.length / untimedSeconds),
  checks_per_s_timed: Math.round(checks.length / timedSeconds),
  checks_per_cpu_s: Math.round(checks.length / cpuSeconds),
  mismatches,
  errors,
};
for (const [k, v] of Object.entries(byCat)) {
  result[`${k}_p50_ns`] = percentile(v, 0.5);
  result[`${k}_p99_ns`] = percentile(v, 0.99);
}

// The same checks against one set holding every grant: what slicing saves.
if (UNSLICED_CHECKS > 0) {
  const all = { ...policies.standing };
  for (const grants of Object.values(policies.grants_by_principal)) Object.assign(all, grants);
  const ts = process.hrtime.bigint();
  preparse('all', all);
  progress(`preparsed one set of ${Object.keys(all).length} policies`);
  result.unsliced_preparse_seconds = +(Number(process.hrtime.bigint() - ts) / 1e9).toFixed(1);
  const n = Math.min(UNSLICED_CHECKS, checks.length);
  for (let i = 0; i < Math.min(50, n); ++i) check(checks[i], 'all');
  const u = new Float64Array(n);
  let um = 0;
  for (let i = 0; i < n; ++i) {
    const a = process.hrtime.bigint();
    const allow = check(checks[i], 'all');
    u[i] = Number(process.hrtime.bigint() - a);
    if (allow !== (checks[i][3] === 1)) ++um;
  }
  u.sort();
  progress('unsliced sample done');
  result.unsliced = { checks: n, policies: Object.keys(all).length, p50_ns: percentile(u, 0.5), p99_ns: percentile(u, 0.99), mismatches: um };
}

const us = (ns) => (ns / 1000).toFixed(2) + ' µs';
console.log(`cedar ${result.cedar} (cedar-wasm ${result.cedar_wasm ?? '?'}, node ${result.node}): ` +
  `${result.staff} staff, ${result.resources} resources, ${result.standing_policies} standing + ` +
  `${result.grant_policies} grant policies in ${result.preparsed_sets} preparsed sets (${result.setup_seconds} s to load)`);
console.log(`  ${result.checks} checks: p50 ${us(result.p50_ns)}, p90 ${us(result.p90_ns)}, p99 ${us(result.p99_ns)}, ` +
  `p99.9 ${us(result.p999_ns)}, max ${us(result.max_ns)}`);
console.log(`  throughput (one thread): ${result.checks_per_s.toLocaleString('en')} checks/s, ` +
  `${result.checks_per_cpu_s.toLocaleString('en')} per CPU-second`);
console.log(`  by kind p50/p99: grant ${us(result.grant_p50_ns)}/${us(result.grant_p99_ns)}, ` +
  `standing ${us(result.standing_p50_ns)}/${us(result.standing_p99_ns)}, denied ${us(result.denied_p50_ns)}/${us(result.denied_p99_ns)}`);
if (result.unsliced) {
  console.log(`  unsliced (one set of ${result.unsliced.policies} policies, ${result.unsliced.checks} checks): ` +
    `p50 ${us(result.unsliced.p50_ns)}, p99 ${us(result.unsliced.p99_ns)}, mismatches ${result.unsliced.mismatches}`);
}
console.log(`  decisions differing from cloudpact's: ${mismatches} of ${checks.length}; Cedar errors: ${errors}`);
for (const m of mismatchSamples) console.log('    mismatch:', JSON.stringify(m));
for (const e of errorSamples) console.log('    error:', e);

// The ratio, when given access_bench's Google Benchmark JSON output of the same run.
if (cloudpactFile) {
  const gb = JSON.parse(readFileSync(cloudpactFile, 'utf8')).benchmarks;
  const find = (prefix) => gb.find((b) => b.name.startsWith(prefix + '/') && b.name.includes('threads:1') && !b.error_occurred);
  const lat1 = find('BM_CheckLatency'), mix1 = find('BM_CheckMix');
  if (lat1 && mix1) {
    const ratio = {
      p50: +(result.p50_ns / lat1.p50_ns).toFixed(1),
      p99: +(result.p99_ns / lat1.p99_ns).toFixed(1),
      throughput: +(mix1.checks_per_s_per_thread / result.checks_per_s).toFixed(1),
      throughput_per_cpu_s: +(mix1.checks_per_cpu_s_per_thread / result.checks_per_cpu_s).toFixed(1),
    };
    result.cloudpact = { p50_ns: lat1.p50_ns, p99_ns: lat1.p99_ns, checks_per_s: Math.round(mix1.checks_per_s_per_thread),
                         checks_per_cpu_s: Math.round(mix1.checks_per_cpu_s_per_thread) };
    result.ratio_cedar_over_cloudpact = ratio;
    console.log(`  cloudpact (1 thread): p50 ${us(lat1.p50_ns)}, p99 ${us(lat1.p99_ns)}, ` +
      `${result.cloudpact.checks_per_s.toLocaleString('en')} checks/s, ${result.cloudpact.checks_per_cpu_s.toLocaleString('en')} per CPU-second`);
    console.log(`  Cedar/cloudpact: p50 ×${ratio.p50}, p99 ×${ratio.p99}; ` +
      `cloudpact/Cedar throughput ×${ratio.throughput} (×${ratio.throughput_per_cpu_s} per CPU-second)`);
  } else {
    console.log(`  (no single-thread BM_CheckLatency/BM_CheckMix in ${cloudpactFile}; no ratio)`);
  }
}
console.log('RESULT ' + JSON.stringify(result));
process.exit(mismatches === 0 && errors === 0 ? 0 : 1);
