// npm run bench: speed of the checker, measured, never asserted (SPEC 10).
// Prints a Markdown table with the machine it ran on; docs/bench.md keeps
// a copy. Usage: npm run bench [-- --runs N] [--steps-only]
// --steps-only: the first two tables (checked steps/s, and against 0.4.0).

import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { linux } from '../model/policies/linux.js';
import { policyByName } from '../model/policies/registry.js';
import { loadVariant } from '../model/policies/load_variant.js';
import { applyVariant } from '../model/policies/variant.js';
import { fuzz } from '../campaigns/fuzz.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { benchShrink } from '../campaigns/shrink_benchmark.js';
import { machine } from './machine.js';
import { stepsPerSec, stepsTable } from './steps_per_sec.js';
import { loadavg } from 'node:os';

const { values } = parseArgs({ options: { runs: { type: 'string' }, seeds: { type: 'string' }, 'steps-only': { type: 'boolean' } } });
const runs = Number(values.runs ?? 5000);
const ms = (t: bigint) => Number(t / 1_000_000n);

console.log(`# mshare-check benchmark\n`);
console.log(`machine: ${machine()}\n`);

let t = process.hrtime.bigint();
const clean = fuzz({ policy: linux, seed: 'bench', runs });
let dt = ms(process.hrtime.bigint() - t);
console.log(`## linux, ${runs} runs (seed "bench")\n`);
console.log(`| runs/s | checked steps/s | steps/run | heap MiB |`);
console.log(`|---|---|---|---|`);
console.log(`| ${Math.round((runs * 1000) / dt)} | ${Math.round((clean.steps * 1000) / dt)} | ${(clean.steps / runs).toFixed(1)} | ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} |\n`);

// Issue 13: the same workload on model 0.4.0's own tree (a git worktree of
// its commit), in child processes alternating with this tree's; 2000 runs
// each (at most --runs), three rounds.
{
  const n = Math.min(runs, 2000);
  console.log(`${stepsTable(stepsPerSec({ runs: n, rounds: 3, seed: 'bench' }), n, 3, 'bench')}\n`);
}
if (values['steps-only']) process.exit(0);

console.log(`## time to the first violation, per kept mutant (seed "bench", up to 20000 runs)\n`);
console.log('Each mutant twice, counting a run only when its base policy passes the same scenario (a mutant is found by what it breaks, not by its base policy\'s own findings): drawn scenarios only (what CLI campaigns run), and with coverage feedback (campaigns/feedback.ts, opt-in). Both draw the kinds `fuzz --variant F` draws without --ops: the defaults, plus the opt-in kinds whose paths the variant edits (properties/generate/variant_ops.ts), named in the second column.\n');
console.log(`| variant | opt-in kinds added | found in run (draws only) | found in run (feedback) | time to find | shrink time | signature | ops before/after shrink |`);
console.log(`|---|---|---|---|---|---|---|---|`);
const foundVariants: string[] = [];
for (const f of readdirSync('variants').filter((x) => x.endsWith('.ts')).sort()) {
  const v = await loadVariant(`variants/${f}`);
  const policy = applyVariant(policyByName(v.spec.policy ?? 'linux')!, v.spec);
  // a run counts only if the base policy passes the same scenario: a mutant of a policy with findings of its own (mshare-2026) is found by what it breaks
  const base = policyByName(v.spec.policy ?? 'linux')!;
  const differs = (res: { verdict: string }, sc: Parameters<typeof runScenario>[0]) => res.verdict !== 'pass' && runScenario(sc, { policy: base, properties: PROPERTIES }).verdict === 'pass';
  const plain = fuzz({ policy, seed: 'bench', runs: 20000, feedback: false, base });
  t = process.hrtime.bigint();
  let found = 0n;
  const r = fuzz({ policy, seed: 'bench', runs: 20000, feedback: true, base, onRun: (_i, res, sc) => { if (found === 0n && differs(res, sc)) found = process.hrtime.bigint(); } });
  const end = process.hrtime.bigint();
  dt = ms(end - t);
  const fnd = r.finding;
  const ops = (s: { threads: { ops: unknown[] }[] }) => s.threads.reduce((n, x) => n + x.ops.length, 0);
  const plainAt = plain.finding ? String(plain.finding.runIndex) : 'not found';
  if (fnd) foundVariants.push(f);
  const kinds = campaignOps(policy).added.map((a) => a.kind).join(', ') || '-';
  console.log(fnd ? `| ${v.spec.name} | ${kinds} | ${plainAt} | ${fnd.runIndex} | ${ms(found - t)} ms | ${ms(end - found)} ms | ${fnd.signature.replaceAll('|', ' / ')} | ${ops(fnd.original)} / ${ops(fnd.scenario)} |` : `| ${v.spec.name} | ${kinds} | ${plainAt} | not found | ${dt} ms | - | - | - |`);
}

// The shrinker against the BFS minimum (issue 4): seeds bench-0..N-1 per kept mutant.
const seeds = Number(values.seeds ?? 20);
console.log(`\n## shrinking, ${seeds} seeds per kept mutant found above (bench-0..${seeds - 1}): shrunk size against the BFS minimum\n`);
console.log(`| variant | reached BFS minimum | shrink median / max | ops drawn -> shrunk (median) |`);
console.log(`|---|---|---|---|`);
// only the variants plain fuzzing found above: the others would spend every seed's whole budget finding nothing
for (const f of foundVariants) {
  const v = await loadVariant(`variants/${f}`);
  const b = benchShrink({ policy: applyVariant(policyByName(v.spec.policy ?? 'linux')!, v.spec), seeds: Array.from({ length: seeds }, (_, i) => `bench-${i}`), runs: 20000 });
  const times = b.cases.map((c) => Math.round(c.shrinkMs)).sort((x, y) => x - y);
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? 0;
  const drawn = med(b.cases.map((c) => c.originalOps).sort((x, y) => x - y));
  const shrunk = med(b.cases.map((c) => c.shrunk.ops).sort((x, y) => x - y));
  console.log(`| ${v.spec.name} | ${b.reached}/${b.cases.length}${b.notFound.length ? ` (${b.notFound.length} seeds found nothing)` : ''} | ${med(times)} / ${times.at(-1) ?? 0} ms | ${drawn} -> ${shrunk} |`);
}

// --jobs (issue 14): the same campaign on this thread and on two worker
// threads, measured in this one run; the results are checked equal.
{
  const { ctxCache, inProcess, runCampaign } = await import('../campaigns/campaign.js');
  const { WorkerPool } = await import('../campaigns/pool.js');
  const { opKindsFor } = await import('../properties/generate/scenario_arb.js');
  const spec = { policy: 'linux', variant: null, properties: null, ops: opKindsFor(null), seed: 'bench-jobs', skip: [] };
  const time = async (exec: Parameters<typeof runCampaign>[0]) => {
    const t0 = process.hrtime.bigint();
    const r = await runCampaign(exec, spec, { lo: 0, hi: runs });
    return { ms: ms(process.hrtime.bigint() - t0), r: JSON.stringify({ ...r, findings: r.findings.map((f) => f.cx) }) };
  };
  // Each twice: the first time includes starting up (JIT warm-up; for --jobs 2 also the workers loading tsx and the model).
  const here = inProcess(ctxCache().get);
  const one = await time(here);
  const oneWarm = await time(here);
  const pool = new WorkerPool(2);
  const cold = await time(pool);
  const warm = await time(pool);
  pool.stop();
  if ([oneWarm, cold, warm].some((x) => x.r !== one.r)) throw new Error('--jobs 2 gave a different result from --jobs 1');
  console.log(`\n## --jobs 2 against --jobs 1 (linux, ${runs} runs, seed "bench-jobs"; same results)\n`);
  console.log(`| | --jobs 1 | --jobs 2 | speed-up |`);
  console.log(`|---|---|---|---|`);
  console.log(`| first campaign of the process (start-up included) | ${one.ms} ms | ${cold.ms} ms | ${(one.ms / cold.ms).toFixed(2)}x |`);
  console.log(`| second campaign (warm) | ${oneWarm.ms} ms | ${warm.ms} ms | ${(oneWarm.ms / warm.ms).toFixed(2)}x |`);
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other processes on the machine share its cores)`);
}

// The systematic explorer (issue 13): beside SPIN, and on every saved
// counterexample's operations (bench/explore.ts; the large scope is
// opt-in there: npx tsx bench/explore.ts --part large).
console.log('');
await (await import('./explore.js')).benchExplore(['spin', 'saved', 'holding']);
