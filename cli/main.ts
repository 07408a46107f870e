// mshare-check <command> (SPEC 8). Exit status: 0 no violation, 1 a
// violation found or reproduced, 2 bad usage or input (one line naming the
// file, line and problem), 3 model error or internal error (never 1).

import { setMaxListeners } from 'node:events';
import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { POLICIES } from '../model/policies/registry.js';
import { loadVariant, VariantLoadError, type LoadedVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { countersFor, type Coverage } from '../model/run/coverage.js';
import { didYouMean } from '../model/run/nearest.js';
import { computeMatrixOn, matrixCells } from '../campaigns/matrix.js';
import { CHUNK, ctxCache, inProcess, makeCtx, runCampaign, type CampaignSpec, type Executor } from '../campaigns/campaign.js';
import { sharedPool } from '../campaigns/pool.js';
import { availableParallelism } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { exitStatus, knownSignatures, mergeTotals, printFinding, printSummary, readShards, SHARD_FORMAT, shardFinding, shardRange, writeManifest, type CampaignIdentity, type Header, type ShardFinding } from './campaign_out.js';
import { ProgressLine } from './progress.js';
import { PROPERTIES, propertyById, SECONDARY_MMU_PROPERTIES } from '../properties/registry.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { validateForPolicy, validateScenario, validateStepIds } from '../model/run/validate.js';
import { thrownAt } from '../model/source_location.js';
import { MODEL_VERSION } from '../model/version.js';
import { opKindsAccepted, SETUP_ONLY_KINDS, threadOpKinds, type OpKind } from '../properties/generate/scenario_arb.js';
import { addedKindsLine, campaignOps } from '../properties/generate/variant_ops.js';
import { checkedProperties, CounterexampleError, FORMAT_VERSION, loadCounterexample, verdictOf, type CounterexampleFile, type Verdict } from '../reports/counterexample.js';
import { renderHtml } from '../reports/render_html.js';
import { renderJson } from '../reports/render_json.js';
import { renderText } from '../reports/render_text.js';
import { buildReport } from '../reports/report.js';
import { parseScenario, ScenarioParseError } from '../reports/scenario_text.js';
import { printable, UsageError } from './errors.js';
import { COMMAND_HELP, USAGE } from './help.js';
import { readInputFile } from './input.js';
import { makeLogger } from './log.js';
import { prepareOutDir, saveOrSpill, type Io } from './out_dir.js';
import { savedPolicy, type TrustFlags } from './saved_policy.js';
import { counterexampleDependsOn } from '../reports/depends_on.js';
import { DEFAULT_EXPLORE_BOUND, DEFAULT_MAX_STATES, explore } from '../campaigns/explore/explore.js';
import { buildCounterexample } from '../reports/counterexample.js';
import { signatureOf } from '../properties/signature.js';
import { cmdCheck } from './check.js';

/** A matrix cell's word for a finding: FOUND, or DEPENDS ON <knob>: when it is not the design's (issue 10). */
const foundWord = (deps: readonly string[]) => (deps.length ? `DEPENDS ON ${deps.join(', ')}:` : 'FOUND');
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

export function coverageLines(c: Coverage, mshare = false, ops: readonly string[] = []): string[] {
  const names = countersFor(mshare, ops);
  const lines = names.map((k) => `  ${k.padEnd(35)} ${c[k]}`);
  const zero = names.filter((k) => c[k] === 0);
  if (zero.length) lines.push(`  not reached: ${zero.join(', ')}`);
  return lines;
}

/**
 * A scenario's problems as file:line (the line found by the token the
 * problem is near): everything but the design's checks first, before any
 * variant code loads; the shapes the design refuses (validateForPolicy:
 * msharefs under a design without it; migrate, mremap or MADV_FREE under
 * mshare) and the step ids once the policy is known (`p`).
 */
export function checkScenario(sc: Scenario, file: string, text: string, p?: Policy): void {
  const problem = p ? (validateForPolicy(sc, p) ?? validateStepIds(sc, p)) : validateScenario(sc);
  if (!problem) return;
  const line = text.split('\n').findIndex((l) => l.includes(problem.near)) + 1;
  throw new UsageError(`${file}:${Math.max(line, 1)}: ${problem.problem}`);
}

/** A replay's exit status (SPEC 8). */
const exitOf = (v: Verdict) => (v.result === 'violation' ? 1 : v.result === 'model-error' ? 3 : 0);

const isJson = (file: string, text: string) => file.endsWith('.json') || text.trimStart().startsWith('{');

/** --jobs N: default the machine's cores; 1 runs on this thread, more on worker threads (campaigns/pool.ts). */
function executor(jobs: string | undefined, ctxs: ReturnType<typeof ctxCache>): Executor {
  const n = jobs === undefined ? availableParallelism() : positiveInt(jobs, '--jobs');
  if (n > 256) throw new UsageError(`--jobs must be at most 256, got '${jobs}'`);
  return n === 1 ? inProcess(ctxs.get) : sharedPool(n);
}

/** "K/N": shard K of N, 1 <= K <= N. */
function shardArg(v: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(k) || !Number.isSafeInteger(n) || n < 1 || k < 1 || k > n) throw new UsageError(`--shard must be K/N with 1 <= K <= N (e.g. 2/4), got '${v}'`);
  return { k, n };
}

/**
 * SIGINT while `run` is under way aborts it (a second one exits at once);
 * outside it the default applies again.
 */
async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // matrix: every cell's campaign in flight listens on the one signal
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await run(ac.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

const FUZZ_OPTIONS = {
  policy: { type: 'string' },
  variant: { type: 'string' },
  seed: { type: 'string' },
  runs: { type: 'string' },
  time: { type: 'string' },
  ops: { type: 'string' },
  out: { type: 'string' },
  property: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  skip: { type: 'string', multiple: true },
  'skip-known': { type: 'boolean' },
  shard: { type: 'string' },
} as const;

async function cmdFuzz(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: FUZZ_OPTIONS });
  const only = properties(values.property);
  if (values.runs !== undefined && values.time !== undefined) throw new UsageError('give --runs or --time, not both');
  const runs = values.time === undefined ? positiveInt(values.runs ?? '1000', '--runs') : undefined;
  const timeMs = values.time === undefined ? undefined : duration(values.time, '--time');
  const shard = values.shard === undefined ? null : shardArg(values.shard);
  if (shard && runs === undefined) throw new UsageError('--shard needs --runs: a time budget is no fixed slice of a campaign');
  if (shard && runs !== undefined && shard.n > runs) throw new UsageError(`--shard ${values.shard}: more shards than the ${runs} runs`);
  for (const s of values.skip ?? []) if (s === '' || s.length > 1000 || !/^[\x20-\x7e]*$/.test(s)) throw new UsageError('--skip must be a signature (property|holder|function), printable ASCII');
  const base = policy(values.policy);
  const supported = opKindsAccepted(base.mshare);
  const asked = values.ops?.split(',') as OpKind[] | undefined;
  for (const o of asked ?? []) if (!supported.includes(o)) throw new UsageError(`unknown op '${o}' in --ops for ${base.name}${didYouMean(o, supported)} (known: ${supported.join(', ')})`);
  if (asked && threadOpKinds(asked).length === 0) throw new UsageError(`--ops ${values.ops}: no operation for the threads (${SETUP_ONLY_KINDS.join(', ')} only add set-up to a run); add one, e.g. --ops read,write,munmap,${values.ops}`);
  const seed = values.seed ?? 'mshare-check';
  if (seed.length > 256 || !/^[\x20-\x7e]*$/.test(seed)) throw new UsageError('--seed must be printable ASCII, at most 256 characters');
  const outDir = values.out ?? 'counterexamples';
  const ctxs = ctxCache();
  const exec = executor(values.jobs, ctxs);
  const { policy: p, variant } = await withVariant(base, values.variant);
  const drawn = campaignOps(p);
  const ops = asked ?? drawn.ops;
  prepareOutDir(outDir); // before the first run: a finding is never lost to a bad --out
  const added = asked ? null : addedKindsLine(drawn.added);
  if (added) io.out(added);
  const known = values['skip-known'] ? knownSignatures(['counterexamples', outDir], base.name, variant?.spec.name ?? null, io.err) : [];
  const skip = [...new Set([...known, ...(values.skip ?? [])])].sort();
  const spec: CampaignSpec = { policy: base.name, variant: variant ? { path: resolvePath(values.variant!), sha256: variant.sha256 } : null, properties: only?.map((x) => x.id) ?? null, ops, seed, skip };
  ctxs.seed(makeCtx(spec, p, variant));
  const range = shard && runs !== undefined ? shardRange(shard.k, shard.n, runs) : { lo: 0, hi: runs ?? null };
  const log = makeLogger();
  log.info({ policy: p.name, seed, runs, timeMs, ops, jobs: exec.size, shard: values.shard, skip }, 'campaign start');
  const t0 = Date.now();
  const progress = new ProgressLine(io.tty, `fuzz ${p.name}`, timeMs);
  const say = { out: (l: string) => (progress.clear(), io.out(l)), err: (l: string) => (progress.clear(), io.err(l)) };
  const findings: ShardFinding[] = [];
  const r = await interruptible((signal) =>
    runCampaign(exec, spec, {
      ...range,
      timeUp: () => timeMs !== undefined && Date.now() - t0 >= timeMs,
      signal,
      onProgress: (x) => {
        progress.update(x);
        if (x.done % 1000 < CHUNK) log.debug({ runs: x.done, elapsedMs: Date.now() - t0 }, 'progress');
      },
      onFinding: (f) => {
        const deps = counterexampleDependsOn(p, f.cx, only ?? PROPERTIES);
        const saved = printFinding(say, f, () => saveOrSpill(outDir, f.cx, say), values.variant ?? null, deps);
        findings.push(shardFinding(f, saved, deps));
      },
    }),
  );
  progress.clear();
  log.info({ runs: r.runs, steps: r.steps, elapsedMs: Date.now() - t0, signatures: r.signatures.length, interrupted: r.interrupted }, 'campaign end');
  const edits = p.edits?.map((e) => e.text);
  const header: Header = { shown: p.name, seed, ops, coverageLines: (c) => coverageLines(c, base.mshare !== null, ops), variantArg: values.variant ?? null, ...(edits ? { edits } : {}) };
  const shardText = shard ? `shard ${shard.k}/${shard.n} (runs ${range.lo}..${range.hi! - 1})` : undefined;
  printSummary(io, header, r, { shard: shardText, interrupted: r.interrupted, unshrunk: r.unshrunk });
  if (shard && !r.interrupted) {
    const campaign: CampaignIdentity = { policy: base.name, variant: variant ? { name: variant.spec.name, sha256: variant.sha256, arg: values.variant!, ...(edits ? { edits } : {}) } : null, properties: spec.properties, ops, seed, runs: runs!, skip };
    const file = writeManifest(outDir, { format: SHARD_FORMAT, modelVersion: MODEL_VERSION, campaign, shard, totals: { runs: r.runs, steps: r.steps, coverage: r.coverage, ...(r.editsRun ? { editsRun: r.editsRun } : {}), signatures: r.signatures }, findings });
    io.out(`shard manifest: ${file} (combine the shards with: npx mshare-check merge DIR... --out DIR)`);
  }
  return exitStatus(r, r.interrupted);
}

/** merge DIR... --out DIR: the shards of one campaign, as that campaign on one machine prints and saves it. */
async function cmdMerge(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' } } });
  if (positionals.length === 0) throw new UsageError('merge takes the shards\' out directories: merge DIR... --out DIR');
  if (values.out === undefined) throw new UsageError('merge needs --out DIR (where the merged findings are saved)');
  const shards = readShards(positionals);
  const c = shards[0]!.m.campaign;
  const base = policy(c.policy);
  const totals = mergeTotals(shards.map((s) => s.m));
  // Every file to copy, read and checked before anything is written.
  const picked: { f: ShardFinding; cx: CounterexampleFile }[] = [];
  for (const s of totals.signatures.filter((x) => !x.skipped)) {
    const from = shards.find((sh) => sh.m.totals.signatures.some((x) => x.signature === s.signature && x.first.index === s.first.index))!;
    const f = from.m.findings.find((x) => x.signature === s.signature && x.index === s.first.index);
    if (!f || f.file === null) throw new UsageError(`${from.dir}: shard ${from.m.shard.k}/${from.m.shard.n} saved no file for ${printable(s.signature)} (run ${s.first.index})`);
    const path = join(from.dir, f.file);
    const cx = loadCounterexample(path, readInputFile(path));
    if (cx.signature !== s.signature || cx.campaign?.runIndex !== s.first.index) throw new UsageError(`${path}: not the finding the shard manifest names (${printable(s.signature)}, run ${s.first.index})`);
    picked.push({ f, cx });
  }
  prepareOutDir(values.out);
  for (const { f, cx } of picked) {
    printFinding(io, { ...f, cx }, () => saveOrSpill(values.out!, cx, io), c.variant?.arg ?? null, f.dependsOn);
  }
  const shown = c.variant ? `${base.name}+${c.variant.name}` : base.name;
  printSummary(io, { shown, seed: c.seed, ops: c.ops, coverageLines: (cov) => coverageLines(cov, base.mshare !== null), variantArg: c.variant?.arg ?? null, ...(c.variant?.edits ? { edits: c.variant.edits } : {}) }, totals);
  return exitStatus(totals);
}

const TRUST_OPTIONS = { policy: { type: 'string' }, variant: { type: 'string' }, 'trust-variant': { type: 'boolean' } } as const;

/**
 * A scenario to run, from a scenario text file or a saved counterexample
 * (whose embedded variant runs only as savedPolicy() allows), checked
 * against the policy it runs under. With `recordVariant`, `variant` is the
 * variant that runs, as a finding made from it records it.
 */
async function scenarioInput(file: string, values: TrustFlags, note: (line: string) => void, recordVariant = false): Promise<{ text: string; sc: Scenario; p: Policy; base: Policy; variant: LoadedVariant | null; saved: CounterexampleFile | null }> {
  if (values.variant !== undefined && values['trust-variant']) throw new UsageError('give --variant or --trust-variant, not both');
  const text = readInputFile(file);
  if (isJson(file, text)) {
    const saved = loadCounterexample(file, text);
    const sc = saved.scenario;
    checkScenario(sc, file, text);
    const p = await savedPolicy(saved, file, text, values, note);
    let variant: LoadedVariant | null = null;
    if (recordVariant && values.variant !== undefined) variant = await loadVariant(values.variant);
    else if (recordVariant && values['trust-variant'] && saved.variant) variant = { spec: { name: saved.variant.name }, file: saved.variant.file, sha256: saved.variant.sha256, source: saved.variant.source } as LoadedVariant;
    checkScenario(sc, file, text, p);
    return { text, sc, p, base: policy(values.policy ?? saved.policy), variant, saved };
  }
  const sc = parseScenario(text, file);
  checkScenario(sc, file, text);
  if (values['trust-variant']) throw new UsageError(`${file}: a scenario text file embeds no variant (--trust-variant is for .json counterexamples)`);
  const base = policy(values.policy ?? 'linux');
  const { policy: p, variant } = await withVariant(base, values.variant);
  checkScenario(sc, file, text, p);
  return { text, sc, p, base, variant, saved: null };
}

async function cmdReplay(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRUST_OPTIONS, property: { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('replay takes one FILE');
  const only = properties(values.property);
  const { sc, p, saved } = await scenarioInput(file, values, io.out);
  const r = runScenario(sc, { policy: p, properties: only ?? (saved ? checkedProperties(saved, propertyById) : undefined) ?? PROPERTIES });
  const v = verdictOf(r);
  io.out(`replay: ${printable(file)} under ${p.name}: ${r.steps} steps`);
  if (v.result === 'violation') io.out(`VIOLATION ${v.property} at step ${v.step} (${v.actor}: ${v.stepId})\n  ${v.message}`);
  else if (v.result === 'model-error') io.out(`MODEL ERROR: ${v.message}`);
  else io.out('no violation');
  if (r.stopped) io.out(`  the run stopped early: ${r.stopped} (a use-after-free no-freed-table-reachable reports; not checked in this run)`);
  if (saved) {
    const same = saved.verdict.result === v.result && saved.verdict.property === v.property && saved.verdict.stepId === v.stepId;
    io.out(same ? 'verdict: same as saved' : `verdict: CHANGED (saved: ${saved.verdict.result}${saved.verdict.property ? ` ${saved.verdict.property}` : ''} at ${saved.verdict.stepId ?? '-'})`);
  }
  return exitOf(v);
}

async function cmdMatrix(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string' }, budget: { type: 'string' }, seed: { type: 'string' }, policy: { type: 'string', multiple: true }, out: { type: 'string' }, jobs: { type: 'string' }, 'skip-known': { type: 'boolean' } } });
  if (values.runs !== undefined && values.budget !== undefined) throw new UsageError('give --runs or --budget, not both');
  const policies = values.policy?.map((n) => policy(n)) ?? POLICIES;
  const checked = PROPERTIES;
  const cells = matrixCells({ policies, properties: checked });
  const seed = values.seed ?? 'matrix';
  let runsPerCell = values.runs === undefined ? 200 : positiveInt(values.runs, '--runs');
  if (values.budget !== undefined) {
    // calibrate: about 1.5 ms a run on the reference machine (docs/bench.md); a budget is a target, not a bound
    runsPerCell = Math.max(20, Math.floor(duration(values.budget, '--budget') / 1.5 / cells.length));
  }
  const exec = executor(values.jobs, ctxCache());
  if (values.out !== undefined) prepareOutDir(values.out);
  const skip = values['skip-known'] ? Object.fromEntries(policies.map((p) => [p.name, knownSignatures(['counterexamples', ...(values.out ? [values.out] : [])], p.name, null, io.err)])) : undefined;
  io.out(`matrix: ${policies.length} policies x ${checked.length} properties (${cells.length} cells), ${runsPerCell} runs per cell, seed "${seed}"`);
  const noVm = policies.filter((p) => !cells.some((c) => c.policy === p && SECONDARY_MMU_PROPERTIES.includes(c.prop.id)));
  io.out(`the cells of ${SECONDARY_MMU_PROPERTIES.join(', ')} (KVM state) draw VMs too (ops + vm, docs/kvm.md)${noVm.length ? `; none for ${noVm.map((p) => p.name).join(', ')}, whose generator draws no VM` : ''}`);
  io.out('each cell fuzzes with that property alone; signature = property|stale holder|kernel function');
  const progress = new ProgressLine(io.tty, 'matrix');
  const total = cells.length;
  let current = '';
  let done = 0;
  const r = await interruptible((signal) =>
    computeMatrixOn(exec, {
      policies,
      properties: checked,
      seed,
      runsPerCell,
      skip,
      signal,
      onCell: (c) => {
        progress.clear();
        done++;
        progress.update({ done: done * runsPerCell, total: total * runsPerCell, findings: 0, shrinking: null });
        if (c.policy !== current) {
          current = c.policy;
          io.out(`\n${c.policy}`);
        }
        const lines: string[] = [];
        if (c.error) lines.push(`MODEL ERROR ${c.error}`);
        const pol = policies.find((x) => x.name === c.policy)!;
        for (const f of c.found) lines.push(`${foundWord(counterexampleDependsOn(pol, f.cx, [propertyById(c.property)!]))} ${f.signature} in ${f.count} run${f.count === 1 ? '' : 's'} (shortest: ${f.ops} ops, ${f.steps} steps; run ${f.runIndex})`);
        for (const s of c.signatures.filter((x) => x.skipped)) lines.push(`known ${s.signature} in ${s.count} run${s.count === 1 ? '' : 's'} (skipped; first run ${s.first.index})`);
        if (lines.length === 0) lines.push(`holds (${c.runs} runs)`);
        for (const [i, l] of lines.entries()) io.out(`  ${(i === 0 ? c.property : '').padEnd(26)} ${l}`);
        if (values.out !== undefined) for (const f of c.found) saveOrSpill(values.out, f.cx, io);
      },
    }),
  );
  progress.clear();
  if (r.interrupted) {
    io.out(`\nmatrix: interrupted (SIGINT) after ${r.cells.length} of ${total} cells`);
    return 130;
  }
  for (const p of policies) {
    io.out(`\ncoverage, ${p.name} (all cells):`);
    const kvm = cells.some((c) => c.policy === p && SECONDARY_MMU_PROPERTIES.includes(c.prop.id));
    for (const l of coverageLines(r.coverage[p.name]!, p.mshare !== null, kvm ? ['vm'] : [])) io.out(l);
  }
  return 0; // computed: findings are the matrix's content, not a failure of the command
}

/**
 * explore FILE: every interleaving of the file's operations within a
 * preemption bound (campaigns/explore/). The file's own schedule is not
 * used. stdout is the same bytes for the same input; the time goes to
 * stderr and the log.
 */
async function cmdExplore(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...TRUST_OPTIONS, property: { type: 'string', multiple: true }, bound: { type: 'string' }, 'max-states': { type: 'string' }, time: { type: 'string' }, 'no-cache': { type: 'boolean' }, 'sleep-sets': { type: 'boolean' }, 'no-cross-last': { type: 'boolean' }, out: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('explore takes one FILE');
  const only = properties(values.property);
  const bound = values.bound === undefined ? DEFAULT_EXPLORE_BOUND : /^\d+$/.test(values.bound) && Number(values.bound) <= 50 ? Number(values.bound) : usage(`--bound must be an integer from 0 to 50, got '${values.bound}'`);
  const maxStates = values['max-states'] === undefined ? DEFAULT_MAX_STATES : positiveInt(values['max-states'], '--max-states');
  const timeMs = values.time === undefined ? undefined : duration(values.time, '--time');
  const { sc, p, base, variant, saved } = await scenarioInput(file, values, io.err, true);
  const checks = only ?? (saved ? checkedProperties(saved, propertyById) : undefined) ?? PROPERTIES;
  const outDir = values.out ?? 'counterexamples';
  prepareOutDir(outDir); // before exploring: a finding is never lost to a bad --out
  const actors = sc.threads.length;
  io.out(`explore: ${printable(file)} under ${p.name}: ${actors} thread${actors === 1 ? '' : 's'}, ${sc.threads.reduce((n, t) => n + t.ops.length, 0)} ops${sc.kswapd ? `, kswapd ${sc.kswapd.name} (${sc.kswapd.reclaims.length} reclaim request${sc.kswapd.reclaims.length === 1 ? '' : 's'})` : ''}; preemption bound ${bound}, state cache ${values['no-cache'] ? 'off' : values['no-cross-last'] ? 'on (same last actor only)' : 'on'}, sleep sets ${values['sleep-sets'] ? 'on' : 'off'}${sc.schedule?.length ? ' (the file\'s schedule is not used)' : ''}`);
  const log = makeLogger();
  const t0 = Date.now();
  const r = explore(sc, { policy: p, properties: checks, bound, maxStates, cache: !values['no-cache'], sleep: values['sleep-sets'] === true, anyLast: !values['no-cross-last'], timeUp: () => timeMs !== undefined && Date.now() - t0 >= timeMs });
  const ms = Date.now() - t0;
  log.info({ file, policy: p.name, bound, verdict: r.verdict, states: r.states, schedules: r.schedules, transitions: r.transitions, elapsedMs: ms }, 'explore end');
  for (const b of r.perBound) io.out(`  bound ${b.bound}: ${b.states} states, ${b.schedules} complete schedules (cumulative)`);
  io.out(`  ${r.states} states expanded, ${r.schedules} complete schedules, ${r.transitions} steps run (replays included), ${r.merged} merged by the state cache${values['sleep-sets'] ? `, ${r.slept} preemptions spared by sleep sets (${r.independent} of ${r.indepChecks} step pairs independent)` : ''}`);
  io.err(`explore: ${(ms / 1000).toFixed(1)} s, ${Math.round(r.states / Math.max(ms / 1000, 0.001))} states/s`);
  if (r.verdict === 'model-error') {
    io.out(`MODEL ERROR: ${printable(r.error ?? '')}`);
    return 3;
  }
  if (r.verdict === 'violation') {
    const f = r.found!;
    const v = f.result.violation!;
    io.out(`VIOLATION ${v.property} at step ${v.step} (${v.actor}: ${v.stepId}) with ${f.preemptions} preemption${f.preemptions === 1 ? '' : 's'}: the shortest in preemptions, then steps`);
    io.out(`  ${printable(v.message)}`);
    const cx = buildCounterexample({ policy: base.name, variant, campaign: null, signature: signatureOf(f.result)!, scenario: f.scenario, result: f.result, properties: only?.map((x) => x.id) ?? saved?.properties ?? null });
    const deps = counterexampleDependsOn(p, cx, checks);
    if (deps.length) io.out(`  depends on ${deps.join(', ')}: an uncited knob decides it (docs/policies/)`);
    const s = saveOrSpill(outDir, cx, io);
    if (s) io.out(`  replay: npx mshare-check replay ${s.path}${cx.variant ? ' --variant ' + (values.variant ?? '<the variant file>') : ''}`);
    return 1;
  }
  if (r.verdict === 'budget') {
    const why = r.states >= maxStates ? `--max-states ${maxStates}` : `--time ${values.time}`;
    io.out(`NOT COMPLETE: stopped at ${why}; ${r.bound >= 0 ? `no violation within bound ${r.bound}, the last bound finished` : 'bound 0 was not finished'}`);
    return 0;
  }
  io.out(`no violation within bound ${r.bound}: every schedule with at most ${r.bound} preemption${r.bound === 1 ? '' : 's'} was explored`);
  return 0;
}

/** --out F of report: a file, never a directory or the counterexample it reports on (checked before the replay). */
function checkReportOut(out: string, file: string) {
  if (out === '') throw new UsageError('--out needs a file name');
  const st = (() => {
    try {
      return statSync(out);
    } catch {
      return null;
    }
  })();
  if (st?.isDirectory()) throw new UsageError(`--out ${out}: is a directory (give a file name)`);
  if (resolvePath(out) === resolvePath(file)) throw new UsageError(`--out ${out}: is the counterexample itself`);
}

/** The report replays the file under its policy and variant, for the whole trace and state (reports/report.ts). */
async function cmdReport(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...TRUST_OPTIONS, format: { type: 'string' }, out: { type: 'string' } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('report takes one FILE');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'html') throw new UsageError(`unknown --format '${printable(format)}' (text, json or html)`);
  if (values.variant !== undefined && values['trust-variant']) throw new UsageError('give --variant or --trust-variant, not both');
  const out = values.out;
  if (out !== undefined) checkReportOut(out, file);
  const text = readInputFile(file);
  const cx = loadCounterexample(file, text);
  checkScenario(cx.scenario, file, text);
  // The report's stdout is the report itself: notes about the variant go to stderr.
  const p = await savedPolicy(cx, file, text, values, io.err);
  checkScenario(cx.scenario, file, text, p);
  const report = buildReport(cx, file, p, checkedProperties(cx, propertyById));
  const rendered = format === 'json' ? renderJson(report) : format === 'html' ? renderHtml(report) : renderText(report);
  if (out === undefined) io.out(rendered.trimEnd());
  else {
    try {
      writeFileSync(out, rendered);
    } catch (e) {
      throw new UsageError(`${out}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    io.err(`report: wrote ${out}`);
  }
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
  merge: cmdMerge,
  explore: cmdExplore,
  check: (args, io) => cmdCheck(args, io, executor, ctxCache(), interruptible),
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
