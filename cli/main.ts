// mshare-check <command> (SPEC 8). Exit status: 0 no violation, 1 a
// violation found or reproduced, 2 bad usage or input (one line naming the
// file, line and problem), 3 model error or internal error (never 1).

import { parseArgs } from 'node:util';
import { POLICIES } from '../model/policies/registry.js';
import { loadVariant, VariantLoadError, type LoadedVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { countersFor, type Coverage } from '../model/run/coverage.js';
import { didYouMean } from '../model/run/nearest.js';
import { computeMatrix } from '../campaigns/matrix.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { validateScenario, validateStepIds } from '../model/run/validate.js';
import { thrownAt } from '../model/source_location.js';
import { MODEL_VERSION } from '../model/version.js';
import { fuzz } from '../campaigns/fuzz.js';
import { opKindsFor, type OpKind } from '../properties/generate/scenario_arb.js';
import { buildCounterexample, checkedProperties, CounterexampleError, FORMAT_VERSION, loadCounterexample, verdictOf, type CounterexampleFile, type Verdict } from '../reports/counterexample.js';
import { renderJson } from '../reports/render_json.js';
import { renderText } from '../reports/render_text.js';
import { buildReport } from '../reports/report.js';
import { parseScenario, ScenarioParseError } from '../reports/scenario_text.js';
import { printable, UsageError } from './errors.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { readInputFile } from './input.js';
import { makeLogger } from './log.js';
import { prepareOutDir, saveOrSpill, type Io } from './out_dir.js';
import { savedPolicy } from './saved_policy.js';
import { dependsOnReplayed, dependsOnReplayedText } from '../reports/depends_on.js';
import { edited, policy } from './policy_arg.js';

export type { Io };

const usage = (msg: string): never => {
  throw new UsageError(msg);
};

async function withVariant(p: Policy, file: string | undefined): Promise<{ policy: Policy; variant: LoadedVariant | null }> {
  if (file === undefined) return { policy: p, variant: null };
  const variant = await loadVariant(file);
  return { policy: edited(p, variant.spec, file), variant };
}

/** "30s", "2m", "500ms" or plain seconds; more than zero. */
function duration(t: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
  if (!m) throw new UsageError(`bad ${flag} '${t}' (e.g. 30s, 5m)`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!(ms >= 1)) throw new UsageError(`${flag} must be at least 1ms, got '${t}'`);
  return ms;
}

function positiveInt(v: string, flag: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
  return Number(v);
}

const properties = (ids: string[] | undefined) => ids?.map((id) => propertyById(id) ?? usage(`unknown property '${id}'${didYouMean(id, PROPERTIES.map((p) => p.id))} (known: ${PROPERTIES.map((p) => p.id).join(', ')})`));

export function coverageLines(c: Coverage, mshare = false): string[] {
  const names = countersFor(mshare);
  const lines = names.map((k) => `  ${k.padEnd(35)} ${c[k]}`);
  const zero = names.filter((k) => c[k] === 0);
  if (zero.length) lines.push(`  not reached: ${zero.join(', ')}`);
  return lines;
}

/**
 * A scenario's problems as file:line (the line found by the token the
 * problem is near): everything but the step ids first, before any variant
 * code loads; the step ids once the policy is known (`p`).
 */
export function checkScenario(sc: Scenario, file: string, text: string, p?: Policy): void {
  const problem = p ? validateStepIds(sc, p) : validateScenario(sc);
  if (!problem) return;
  const line = text.split('\n').findIndex((l) => l.includes(problem.near)) + 1;
  throw new UsageError(`${file}:${Math.max(line, 1)}: ${problem.problem}`);
}

/** A replay's exit status (SPEC 8). */
const exitOf = (v: Verdict) => (v.result === 'violation' ? 1 : v.result === 'model-error' ? 3 : 0);

const isJson = (file: string, text: string) => file.endsWith('.json') || text.trimStart().startsWith('{');

async function cmdFuzz(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { policy: { type: 'string' }, variant: { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' }, time: { type: 'string' }, ops: { type: 'string' }, out: { type: 'string' }, property: { type: 'string', multiple: true } } });
  const only = properties(values.property);
  if (values.runs !== undefined && values.time !== undefined) throw new UsageError('give --runs or --time, not both');
  const runs = values.time === undefined ? positiveInt(values.runs ?? '1000', '--runs') : undefined;
  const timeMs = values.time === undefined ? undefined : duration(values.time, '--time');
  const base = policy(values.policy);
  const supported = opKindsFor(base.mshare);
  const ops = (values.ops?.split(',') ?? supported) as OpKind[];
  for (const o of ops) if (!supported.includes(o)) throw new UsageError(`unknown op '${o}' in --ops for ${base.name}${didYouMean(o, supported)} (known: ${supported.join(', ')})`);
  const seed = values.seed ?? 'mshare-check';
  if (seed.length > 256 || !/^[\x20-\x7e]*$/.test(seed)) throw new UsageError('--seed must be printable ASCII, at most 256 characters');
  const outDir = values.out ?? 'counterexamples';
  const { policy: p, variant } = await withVariant(base, values.variant);
  prepareOutDir(outDir); // before the first run: a finding is never lost to a bad --out
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
  const v = cx.verdict;
  io.out(v.result === 'model-error' ? `result: MODEL ERROR in run ${f.runIndex}: ${v.message}` : `result: VIOLATION ${v.property} in run ${f.runIndex} at step ${v.step} (${v.actor}: ${v.stepId})`);
  if (v.result === 'violation') io.out(`  ${v.message}`);
  const deps = v.result === 'violation' ? dependsOnReplayedText(p, f.result.knobsUsed, { scenario: f.scenario, signature: f.signature, properties: only ?? PROPERTIES }) : null;
  if (deps) io.out(`  ${deps}: a knob this run consulted is not cited from a patch or talk, so this is not a finding of ${base.name}`);
  io.out(`  signature ${f.signature}; shrunk from ${f.original.threads.reduce((n, t) => n + t.ops.length, 0)} to ${f.scenario.threads.reduce((n, t) => n + t.ops.length, 0)} operations, ${f.result.steps} steps`);
  const saved = saveOrSpill(outDir, cx, io);
  if (saved) io.out(`replay: npx mshare-check replay ${saved.path}${variant ? ` --variant ${values.variant}` : ''}`);
  return v.result === 'model-error' ? 3 : 1;
}

const TRUST_OPTIONS = { policy: { type: 'string' }, variant: { type: 'string' }, 'trust-variant': { type: 'boolean' } } as const;

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRUST_OPTIONS, property: { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('replay takes one FILE');
  const only = properties(values.property);
  if (values.variant !== undefined && values['trust-variant']) throw new UsageError('give --variant or --trust-variant, not both');
  const text = readInputFile(file);
  let sc: Scenario;
  let p: Policy;
  let saved: CounterexampleFile | null = null;
  if (isJson(file, text)) {
    saved = loadCounterexample(file, text);
    sc = saved.scenario;
    checkScenario(sc, file, text);
    p = await savedPolicy(saved, file, text, values, io.out);
    checkScenario(sc, file, text, p);
  } else {
    sc = parseScenario(text, file);
    checkScenario(sc, file, text);
    if (values['trust-variant']) throw new UsageError(`${file}: a scenario text file embeds no variant (--trust-variant is for .json counterexamples)`);
    p = (await withVariant(policy(values.policy ?? 'linux'), values.variant)).policy;
    checkScenario(sc, file, text, p);
  }
  const r = runScenario(sc, { policy: p, properties: only ?? (saved ? checkedProperties(saved, propertyById) : undefined) ?? PROPERTIES });
  const v = verdictOf(r);
  io.out(`replay: ${printable(file)} under ${p.name}: ${r.steps} steps`);
  if (v.result === 'violation') io.out(`VIOLATION ${v.property} at step ${v.step} (${v.actor}: ${v.stepId})\n  ${v.message}`);
  else if (v.result === 'model-error') io.out(`MODEL ERROR: ${v.message}`);
  else io.out('no violation');
  if (saved) {
    const same = saved.verdict.result === v.result && saved.verdict.property === v.property && saved.verdict.stepId === v.stepId;
    io.out(same ? 'verdict: same as saved' : `verdict: CHANGED (saved: ${saved.verdict.result}${saved.verdict.property ? ` ${saved.verdict.property}` : ''} at ${saved.verdict.stepId ?? '-'})`);
  }
  return exitOf(v);
}

async function cmdMatrix(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string' }, budget: { type: 'string' }, seed: { type: 'string' }, policy: { type: 'string', multiple: true }, out: { type: 'string' } } });
  if (values.runs !== undefined && values.budget !== undefined) throw new UsageError('give --runs or --budget, not both');
  const policies = values.policy?.map((n) => policy(n)) ?? POLICIES;
  const seed = values.seed ?? 'matrix';
  let runsPerCell = values.runs === undefined ? 200 : positiveInt(values.runs, '--runs');
  if (values.budget !== undefined) {
    // calibrate: about 1.5 ms a run on the reference machine (docs/bench.md); a budget is a target, not a bound
    runsPerCell = Math.max(20, Math.floor(duration(values.budget, '--budget') / 1.5 / (policies.length * PROPERTIES.length)));
  }
  if (values.out !== undefined) prepareOutDir(values.out);
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
      else {
        const pol = policies.find((x) => x.name === c.policy)!;
        for (const [i, f] of c.found.entries()) {
          // a finding that consulted an uncited knob is not one of the design (issue 10)
          const deps = dependsOnReplayed(pol, f.knobsUsed, { scenario: f.scenario, signature: f.signature, properties: [propertyById(c.property)!] });
          io.out(`  ${(i === 0 ? c.property : '').padEnd(26)} ${deps.length ? `DEPENDS ON ${deps.join(', ')}:` : 'FOUND'} ${f.signature} (shortest: ${f.ops} ops, ${f.steps} steps; run ${f.runIndex})`);
        }
      }
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
        saveOrSpill(values.out, buildCounterexample({ policy: c.policy, variant: null, campaign, signature: f.signature, scenario: f.scenario, result: res, properties: [c.property] }), io);
      }
    }
  }
  return 0; // computed: findings are the matrix's content, not a failure of the command
}

/** The report replays the file under its policy and variant, for the whole trace and state (reports/report.ts). */
async function cmdReport(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRUST_OPTIONS, format: { type: 'string' } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('report takes one FILE');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown --format '${format}' (text or json)`);
  if (values.variant !== undefined && values['trust-variant']) throw new UsageError('give --variant or --trust-variant, not both');
  const text = readInputFile(file);
  const cx = loadCounterexample(file, text);
  checkScenario(cx.scenario, file, text);
  // The report's stdout is the report itself: notes about the variant go to stderr.
  const p = await savedPolicy(cx, file, text, values, io.err);
  checkScenario(cx.scenario, file, text, p);
  const report = buildReport(cx, file, p, checkedProperties(cx, propertyById));
  io.out((format === 'json' ? renderJson(report) : renderText(report)).trimEnd());
  return exitOf(report.verdict); // this replay's verdict, not the one the file claims
}

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  policies: async (args, io) => {
    parseArgs({ args, options: {} });
    for (const p of POLICIES) io.out(`${p.name.padEnd(28)} ${p.date.padEnd(10)}  ${p.description}`);
    return 0;
  },
  fuzz: cmdFuzz,
  replay: cmdReplay,
  report: cmdReport,
  matrix: cmdMatrix,
};

export const VERSION_LINE = `mshare-check ${MODEL_VERSION} (model ${MODEL_VERSION}, counterexample format ${FORMAT_VERSION})`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  const fail = (msg: string) => {
    io.err(`mshare-check: ${printable(msg.split('\n')[0]!)}`);
    return 2;
  };
  try {
    if (cmd === undefined) return fail('missing command (see mshare-check --help)');
    if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
      const about = rest[0];
      if (about !== undefined && COMMAND_HELP[about]) io.out(COMMAND_HELP[about]);
      else io.out(USAGE);
      return 0;
    }
    if (cmd === '--version' || cmd === '-V') {
      io.out(VERSION_LINE);
      return 0;
    }
    const run = COMMANDS[cmd];
    if (!run) return fail(`unknown command '${cmd}'${didYouMean(cmd, Object.keys(COMMANDS))} (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(COMMAND_HELP[cmd]!);
      return 0;
    }
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ScenarioParseError || e instanceof CounterexampleError || e instanceof VariantLoadError) return fail(e.message);
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return fail((e as Error).message);
    if ((e as Error).name === 'ModelError') {
      io.err(`mshare-check: model error: ${printable((e as Error).message)}`);
      return 3;
    }
    // A crash is never exit 1 (which means "violation reproduced").
    const where = thrownAt(e);
    io.err(`mshare-check: internal error: ${printable(`${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`)}${where ? ` (${printable(where)})` : ''}; please report it`);
    return 3;
  }
}
