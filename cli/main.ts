// mshare-check <command> (SPEC 8). Exit status: 0 no violation, 1 a
// violation found or reproduced, 2 bad usage or input (one line naming the
// file, line and problem), 3 model error.

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { POLICIES, policyByName } from '../model/policies/registry.js';
import { applyVariant, VariantError, type VariantSpec } from '../model/policies/variant.js';
import { loadEmbeddedVariant, loadVariant, VariantLoadError, type LoadedVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { countersFor, type Coverage } from '../model/run/coverage.js';
import { computeMatrix } from '../properties/matrix.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { validateScenario } from '../model/run/validate.js';
import { fuzz } from '../properties/fuzz.js';
import { opKindsFor, type OpKind } from '../properties/generate/scenario_arb.js';
import { buildCounterexample, checkedProperties, CounterexampleError, loadCounterexample, saveCounterexample, verdictOf, type CounterexampleFile } from '../reports/counterexample.js';
import { renderJson } from '../reports/render_json.js';
import { renderText } from '../reports/render_text.js';
import { buildReport } from '../reports/report.js';
import { parseScenario, ScenarioParseError } from '../reports/scenario_text.js';
import { makeLogger } from './log.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

const usage = (msg: string): never => {
  throw new UsageError(msg);
};

const USAGE = `usage: mshare-check <command>
  policies
  fuzz --policy P [--variant F] [--seed S] [--runs N | --time T] [--ops LIST] [--property ID]... [--out DIR]
  matrix [--budget T | --runs N] [--seed S] [--policy P]... [--out DIR]
  replay FILE [--policy P] [--variant F] [--property ID]...
  report FILE --format text|json`;

function policy(name: string | undefined): Policy {
  if (name === undefined) throw new UsageError('missing --policy (see `mshare-check policies`)');
  const p = policyByName(name);
  if (!p) throw new UsageError(`unknown policy '${name}' (known: ${POLICIES.map((x) => x.name).join(', ')})`);
  return p;
}

async function withVariant(p: Policy, file: string | undefined): Promise<{ policy: Policy; variant: LoadedVariant | null }> {
  if (file === undefined) return { policy: p, variant: null };
  const variant = await loadVariant(file);
  return { policy: edited(p, variant.spec, file), variant };
}

function edited(p: Policy, spec: VariantSpec, file: string): Policy {
  try {
    return applyVariant(p, spec);
  } catch (e) {
    if (e instanceof VariantError) throw new UsageError(`${file}:1: ${e.message}`);
    throw new UsageError(`${file}:1: the variant's edit() threw ${(e as Error).name}: ${(e as Error).message}`);
  }
}

/** "30s", "2m", "500ms" or plain seconds. */
function duration(t: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
  if (!m) throw new UsageError(`bad --time '${t}' (e.g. 30s, 5m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

function positiveInt(v: string, flag: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
  return Number(v);
}

export function coverageLines(c: Coverage, mshare = false): string[] {
  const names = countersFor(mshare);
  const lines = names.map((k) => `  ${k.padEnd(35)} ${c[k]}`);
  const zero = names.filter((k) => c[k] === 0);
  if (zero.length) lines.push(`  not reached: ${zero.join(', ')}`);
  return lines;
}

function readScenarioFile(file: string): Scenario {
  if (!existsSync(file)) throw new UsageError(`${file}:0: no such file`);
  const text = readFileSync(file, 'utf8');
  const sc = parseScenario(text, file);
  checkScenario(sc, file, text);
  return sc;
}

function checkScenario(sc: Scenario, file: string, text: string): void {
  const p = validateScenario(sc);
  if (!p) return;
  const line = text.split('\n').findIndex((l) => l.includes(p.near)) + 1;
  throw new UsageError(`${file}:${Math.max(line, 1)}: ${p.problem}`);
}

async function cmdFuzz(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { policy: { type: 'string' }, variant: { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' }, time: { type: 'string' }, ops: { type: 'string' }, out: { type: 'string' }, property: { type: 'string', multiple: true } } });
  const only = values.property?.map((id) => propertyById(id) ?? usage(`unknown property '${id}' (known: ${PROPERTIES.map((p) => p.id).join(', ')})`));
  if (values.runs !== undefined && values.time !== undefined) throw new UsageError('give --runs or --time, not both');
  const runs = values.time === undefined ? positiveInt(values.runs ?? '1000', '--runs') : undefined;
  const timeMs = values.time === undefined ? undefined : duration(values.time);
  const base = policy(values.policy);
  const supported = opKindsFor(base.mshare);
  const ops = (values.ops?.split(',') ?? supported) as OpKind[];
  for (const o of ops) if (!supported.includes(o)) throw new UsageError(`unknown op '${o}' in --ops for ${base.name} (known: ${supported.join(', ')})`);
  const { policy: p, variant } = await withVariant(base, values.variant);
  const seed = values.seed ?? 'mshare-check';
  const outDir = values.out ?? 'counterexamples';
  const log = makeLogger();
  log.info({ policy: p.name, seed, runs, timeMs, ops }, 'campaign start');
  const t0 = Date.now();
  const r = fuzz({
    policy: p,
    properties: only,
    seed,
    runs,
    timeMs,
    ops,
    now: Date.now,
    onRun: (i) => {
      if ((i + 1) % 1000 === 0) log.info({ runs: i + 1, elapsedMs: Date.now() - t0 }, 'progress');
    },
  });
  log.info({ runs: r.runs, steps: r.steps, elapsedMs: Date.now() - t0, found: r.finding?.signature ?? null }, 'campaign end');
  io.out(`fuzz: policy ${p.name}, seed "${seed}", ${r.runs} runs, ${r.steps} steps, ops ${ops.join(',')}`);
  io.out('coverage:');
  for (const l of coverageLines(r.coverage, base.mshare !== null)) io.out(l);
  if (!r.finding) {
    io.out(`result: no violation in ${r.runs} runs`);
    return 0;
  }
  const f = r.finding;
  const cx = buildCounterexample({ policy: base.name, variant, campaign: { seed, runIndex: f.runIndex, runSeed: f.runSeed, ops }, signature: f.signature, scenario: f.scenario, result: f.result, properties: only?.map((x) => x.id) ?? null });
  const saved = saveCounterexample(outDir, cx);
  const v = cx.verdict;
  io.out(v.result === 'model-error' ? `result: MODEL ERROR in run ${f.runIndex}: ${v.message}` : `result: VIOLATION ${v.property} in run ${f.runIndex} at step ${v.step} (${v.actor}: ${v.stepId})`);
  if (v.result === 'violation') io.out(`  ${v.message}`);
  io.out(`  signature ${f.signature}; shrunk from ${f.original.threads.reduce((n, t) => n + t.ops.length, 0)} to ${f.scenario.threads.reduce((n, t) => n + t.ops.length, 0)} operations, ${f.result.steps} steps`);
  io.out(`${saved.created ? 'saved' : 'already saved'}: ${saved.path}`);
  io.out(`replay: npx mshare-check replay ${saved.path}`);
  return v.result === 'model-error' ? 3 : 1;
}

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { policy: { type: 'string' }, variant: { type: 'string' }, property: { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('replay takes one FILE');
  const only = values.property?.map((id) => propertyById(id) ?? usage(`unknown property '${id}' (known: ${PROPERTIES.map((p) => p.id).join(', ')})`));
  let sc: Scenario;
  let p: Policy;
  let saved: CounterexampleFile | null = null;
  if (file.endsWith('.json')) {
    if (!existsSync(file)) throw new UsageError(`${file}:0: no such file`);
    const text = readFileSync(file, 'utf8');
    saved = loadCounterexample(file, text);
    sc = saved.scenario;
    checkScenario(sc, file, text);
    const base = policy(values.policy ?? saved.policy);
    if (values.variant !== undefined) p = (await withVariant(base, values.variant)).policy;
    else p = saved.variant && values.policy === undefined ? edited(base, (await loadEmbeddedVariant(saved.variant)).spec, saved.variant.file) : base;
  } else {
    sc = readScenarioFile(file);
    p = (await withVariant(policy(values.policy ?? 'linux'), values.variant)).policy;
  }
  const r = runScenario(sc, { policy: p, properties: only ?? (saved ? checkedProperties(saved, propertyById) : undefined) });
  const v = verdictOf(r);
  io.out(`replay: ${file} under ${p.name}: ${r.steps} steps`);
  if (v.result === 'violation') io.out(`VIOLATION ${v.property} at step ${v.step} (${v.actor}: ${v.stepId})\n  ${v.message}`);
  else if (v.result === 'model-error') io.out(`MODEL ERROR: ${v.message}`);
  else io.out('no violation');
  if (saved) {
    const same = saved.verdict.result === v.result && saved.verdict.property === v.property && saved.verdict.stepId === v.stepId;
    io.out(same ? 'verdict: same as saved' : `verdict: CHANGED (saved: ${saved.verdict.result} ${saved.verdict.property ?? ''} at ${saved.verdict.stepId ?? '-'})`);
  }
  return v.result === 'violation' ? 1 : v.result === 'model-error' ? 3 : 0;
}

async function cmdMatrix(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string' }, budget: { type: 'string' }, seed: { type: 'string' }, policy: { type: 'string', multiple: true }, out: { type: 'string' } } });
  if (values.runs !== undefined && values.budget !== undefined) throw new UsageError('give --runs or --budget, not both');
  const policies = values.policy?.map((n) => policy(n)) ?? POLICIES;
  const seed = values.seed ?? 'matrix';
  let runsPerCell = values.runs === undefined ? 200 : positiveInt(values.runs, '--runs');
  if (values.budget !== undefined) {
    // calibrate: about 1.5 ms a run on the reference machine (docs/bench.md); a budget is a target, not a bound
    runsPerCell = Math.max(20, Math.floor(duration(values.budget) / 1.5 / (policies.length * PROPERTIES.length)));
  }
  io.out(`matrix: ${policies.length} policies x ${PROPERTIES.length} properties, ${runsPerCell} runs per cell, seed "${seed}"`);
  io.out('each cell fuzzes with that property alone; signature = property|stale holder|kernel function');
  let current = '';
  const r = computeMatrix({
    policies,
    properties: PROPERTIES,
    seed,
    runsPerCell,
    onCell: (c) => {
      if (c.policy !== current) {
        current = c.policy;
        io.out(`\n${c.policy}`);
      }
      if (c.error) io.out(`  ${c.property.padEnd(26)} MODEL ERROR ${c.error}`);
      else if (c.found.length === 0) io.out(`  ${c.property.padEnd(26)} holds (${c.runs} runs)`);
      else for (const [i, f] of c.found.entries()) io.out(`  ${(i === 0 ? c.property : '').padEnd(26)} FOUND ${f.signature} (shortest: ${f.ops} ops, ${f.steps} steps; run ${f.runIndex})`);
    },
  });
  for (const p of policies) {
    io.out(`\ncoverage, ${p.name} (all cells):`);
    for (const l of coverageLines(r.coverage[p.name]!, p.mshare !== null)) io.out(l);
  }
  if (values.out !== undefined) {
    for (const c of r.cells) {
      for (const f of c.found) {
        const pol = policy(c.policy);
        const res = runScenario(f.scenario, { policy: pol, properties: [propertyById(c.property)!] });
        const campaign = { seed: f.seed, runIndex: f.runIndex, runSeed: f.runSeed, ops: opKindsFor(pol.mshare) };
        const saved = saveCounterexample(values.out, buildCounterexample({ policy: c.policy, variant: null, campaign, signature: f.signature, scenario: f.scenario, result: res, properties: [c.property] }));
        io.out(`${saved.created ? 'saved' : 'already saved'}: ${saved.path}`);
      }
    }
  }
  return 0;
}

/** The report replays the file under its policy and variant, for the whole trace and state (reports/report.ts). */
async function cmdReport(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string' } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('report takes one FILE');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown --format '${format}' (text or json)`);
  if (!existsSync(file)) throw new UsageError(`${file}:0: no such file`);
  const text = readFileSync(file, 'utf8');
  const cx = loadCounterexample(file, text);
  checkScenario(cx.scenario, file, text);
  const base = policy(cx.policy);
  const p = cx.variant ? edited(base, (await loadEmbeddedVariant(cx.variant)).spec, cx.variant.file) : base;
  const report = buildReport(cx, file, p, checkedProperties(cx, propertyById));
  io.out((format === 'json' ? renderJson(report) : renderText(report)).trimEnd());
  return cx.verdict.result === 'violation' ? 1 : cx.verdict.result === 'model-error' ? 3 : 0;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'policies':
        for (const p of POLICIES) io.out(`${p.name.padEnd(28)} ${p.date.padEnd(10)}  ${p.description}`);
        return 0;
      case 'fuzz':
        return await cmdFuzz(rest, io);
      case 'replay':
        return await cmdReplay(rest, io);
      case 'report':
        return await cmdReport(rest, io);
      case 'matrix':
        return await cmdMatrix(rest, io);
      case undefined:
      case 'help':
      case '--help':
        io.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ScenarioParseError || e instanceof CounterexampleError || e instanceof VariantLoadError) {
      io.err(`mshare-check: ${e.message}`);
      return 2;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`mshare-check: ${(e as Error).message}`);
      return 2;
    }
    if ((e as Error).name === 'ModelError') {
      io.err(`mshare-check: model error: ${(e as Error).message}`);
      return 3;
    }
    throw e;
  }
}
