// A campaign that keeps going (issue 14): every run of the budget is
// checked, every distinct signature is counted, and the first run of each
// new signature is shrunk and handed on (saved by the CLI) while the runs
// go on. Signatures in the skip set are counted but never shrunk.
//
// Determinism under --runs, for any number of workers and any slicing:
// run i is a function of (campaign seed, i) alone (runSeeds, and
// fuzz.ts scenarioDrawer); runs are grouped in chunks of consecutive
// indices, executed anywhere, and folded into the tally in index order
// only (Tally). A signature's finding is the lowest run index that shows
// it, known for sure once every lower run is folded; only then is it
// shrunk (the shrinker is deterministic), so no speculative shrink is
// ever wasted and the findings come out in run-index order. Counts, steps
// and coverage are sums, so a campaign split into slices (--shard) adds
// up to the same totals.

import { loadVariant, type LoadedVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { addCoverage, emptyCoverage, type Coverage } from '../model/run/coverage.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import type { OpKind } from '../properties/generate/scenario_arb.js';
import type { Property } from '../properties/property.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { signatureOf } from '../properties/signature.js';
import { buildCounterexample, type CounterexampleFile } from '../reports/counterexample.js';
import { shrink } from '../shrinkers/pipeline.js';
import { runSeeds, scenarioDrawer } from './fuzz.js';

/** Runs per unit of work handed to a worker. Results never depend on it. */
export const CHUNK = 25;

/** Everything that defines a campaign's runs; plain data, sent to worker threads. */
export interface CampaignSpec {
  /** The base policy's registry name. */
  policy: string;
  /** The variant file applied to it (absolute path) and the sha256 of the source the campaign started with. */
  variant: { path: string; sha256: string } | null;
  properties: string[] | null;
  ops: OpKind[];
  seed: string;
  /** Signatures counted but never shrunk or saved (--skip, --skip-known; the matrix cell's own). */
  skip: string[];
}

/** A campaign spec resolved to code. */
export interface Ctx {
  spec: CampaignSpec;
  policy: Policy;
  variant: LoadedVariant | null;
  properties: readonly Property[] | undefined;
  skip: ReadonlySet<string>;
  draw: (runSeed: number) => Scenario;
  /** The run seeds, drawn in order; rewound when asked for an earlier index. */
  seeds: { next: number; gen: () => number };
}

export function makeCtx(spec: CampaignSpec, policy: Policy, variant: LoadedVariant | null): Ctx {
  const properties = spec.properties?.map((id) => {
    const p = propertyById(id);
    if (!p) throw new Error(`unknown property '${id}'`);
    return p;
  });
  return { spec, policy, variant, properties, skip: new Set(spec.skip), draw: scenarioDrawer(policy, spec.ops), seeds: { next: 0, gen: runSeeds(spec.seed) } };
}

/** The seed of run `index` (runSeeds draws them in sequence; a chunk asks for consecutive ones). */
export function seedOf(ctx: Ctx, index: number): number {
  if (index < ctx.seeds.next) ctx.seeds = { next: 0, gen: runSeeds(ctx.spec.seed) };
  while (ctx.seeds.next < index) {
    ctx.seeds.gen();
    ctx.seeds.next++;
  }
  ctx.seeds.next++;
  return ctx.seeds.gen();
}

/** A run that broke a property (or the model). */
export interface Hit {
  index: number;
  runSeed: number;
  signature: string;
}

export interface ChunkResult {
  from: number;
  to: number;
  steps: number;
  coverage: Coverage;
  /** Every run of the chunk with a signature, in index order, skipped ones included (they are counted). */
  hits: Hit[];
  /** Under a variant: which of its edits (PathTable.edits) some run of the chunk executed, ascending. */
  editsRun?: number[];
}

export function runChunk(ctx: Ctx, from: number, to: number): ChunkResult {
  const coverage = emptyCoverage();
  const hits: Hit[] = [];
  const edits = new Set<number>();
  let steps = 0;
  for (let i = from; i < to; i++) {
    const runSeed = seedOf(ctx, i);
    const r = runScenario(ctx.draw(runSeed), { policy: ctx.policy, properties: ctx.properties ?? PROPERTIES });
    steps += r.steps;
    addCoverage(coverage, r.coverage);
    for (const e of r.editsRun ?? []) edits.add(e);
    const signature = signatureOf(r);
    if (signature !== null) hits.push({ index: i, runSeed, signature });
  }
  return { from, to, steps, coverage, hits, ...(ctx.policy.edits ? { editsRun: [...edits].sort((a, b) => a - b) } : {}) };
}

/** A new signature's first run, shrunk, as the counterexample file that replays it. */
export interface Shrunk {
  index: number;
  runSeed: number;
  signature: string;
  /** Operations as drawn and after shrinking; steps of the shrunk run. */
  originalOps: number;
  ops: number;
  steps: number;
  cx: CounterexampleFile;
}

const opsOf = (sc: Scenario) => sc.threads.reduce((n, t) => n + t.ops.length, 0);

export function shrinkHit(ctx: Ctx, hit: Hit): Shrunk {
  const original = ctx.draw(hit.runSeed);
  const s = shrink(original, ctx.policy, hit.signature, { properties: ctx.properties });
  const cx = buildCounterexample({
    policy: ctx.spec.policy,
    variant: ctx.variant,
    campaign: { seed: ctx.spec.seed, runIndex: hit.index, runSeed: hit.runSeed, ops: ctx.spec.ops },
    signature: hit.signature,
    scenario: s.scenario,
    result: s.result,
    properties: ctx.spec.properties,
  });
  return { index: hit.index, runSeed: hit.runSeed, signature: hit.signature, originalOps: opsOf(original), ops: opsOf(s.scenario), steps: s.result.steps, cx };
}

/** One distinct signature of a campaign: how many runs showed it, and the first. */
export interface SignatureCount {
  signature: string;
  count: number;
  first: { index: number; runSeed: number };
  /** In the skip set: counted, never shrunk or saved. */
  skipped: boolean;
}

/**
 * The campaign's totals over the runs [lo, prefix): chunks are folded in
 * index order only, whatever order they complete in, so every total and
 * every "first run" is that of a plain sequential campaign.
 */
export class Tally {
  prefix: number;
  steps = 0;
  coverage = emptyCoverage();
  /** A variant's edits executed by some folded run (ChunkResult.editsRun). */
  readonly editsRun = new Set<number>();
  readonly signatures = new Map<string, SignatureCount>();
  private readonly waiting = new Map<number, ChunkResult>();

  constructor(readonly lo: number, private readonly skip: ReadonlySet<string>) {
    this.prefix = lo;
  }

  /** Fold what can be folded; returns the first runs of signatures new to the campaign (not skipped), in index order. */
  add(c: ChunkResult): Hit[] {
    this.waiting.set(c.from, c);
    const fresh: Hit[] = [];
    for (let next = this.waiting.get(this.prefix); next; next = this.waiting.get(this.prefix)) {
      this.waiting.delete(next.from);
      this.prefix = next.to;
      this.steps += next.steps;
      addCoverage(this.coverage, next.coverage);
      for (const e of next.editsRun ?? []) this.editsRun.add(e);
      for (const h of next.hits) {
        const seen = this.signatures.get(h.signature);
        if (seen) {
          seen.count++;
          continue;
        }
        const skipped = this.skip.has(h.signature);
        this.signatures.set(h.signature, { signature: h.signature, count: 1, first: { index: h.index, runSeed: h.runSeed }, skipped });
        if (!skipped) fresh.push(h);
      }
    }
    return fresh;
  }

  get runs(): number {
    return this.prefix - this.lo;
  }

  /** Every signature, by first run. */
  list(): SignatureCount[] {
    return [...this.signatures.values()].sort((a, b) => a.first.index - b.first.index);
  }
}

export interface CampaignResult {
  runs: number;
  steps: number;
  coverage: Coverage;
  /** Under a variant: the numbers of its edits that some run executed, ascending (the rest never ran: printSummary says so). */
  editsRun?: number[];
  signatures: SignatureCount[];
  /** The new signatures' first runs, shrunk, in run order. */
  findings: Shrunk[];
  /** New signatures not shrunk: over the shrink limit, or the campaign was interrupted first. */
  unshrunk: Hit[];
  interrupted: boolean;
}

/** Where chunks and shrinks run: this thread (inProcess) or worker threads (pool.ts). */
export interface Executor {
  readonly size: number;
  chunk(spec: CampaignSpec, from: number, to: number): Promise<ChunkResult>;
  shrink(spec: CampaignSpec, hit: Hit): Promise<Shrunk>;
  /** Abandon everything under way (SIGINT): pending promises reject. */
  stop(): void;
}

export interface Progress {
  /** Runs completed (folded or not), and the budget (null for a time budget). */
  done: number;
  total: number | null;
  findings: number;
  shrinking: Hit | null;
}

export interface CampaignOptions {
  /** Runs [lo, hi); hi null: until `timeUp()` says so. */
  lo: number;
  hi: number | null;
  timeUp?: () => boolean;
  signal?: AbortSignal;
  /** Shrink at most this many new signatures (the matrix's maxSignatures); the rest are counted. */
  shrinkLimit?: number;
  /** Each finding, shrunk, in run order, as soon as it and every earlier one are. */
  onFinding?: (f: Shrunk) => void | Promise<void>;
  onProgress?: (p: Progress) => void;
}

/** Run a campaign on an executor: chunks in index order, at most two per worker in flight. */
export function runCampaign(exec: Executor, spec: CampaignSpec, o: CampaignOptions): Promise<CampaignResult> {
  const tally = new Tally(o.lo, new Set(spec.skip));
  const findings: Shrunk[] = [];
  const settled: Hit[] = [];
  const shrinking = new Set<Hit>();
  let next = o.lo;
  let inflight = 0;
  let completed = 0;
  let emitted: Promise<void> = Promise.resolve();
  let finished = false;
  let failure: unknown = null;
  const cap = Math.max(2, exec.size * 2);
  const more = () => !o.signal?.aborted && failure === null && (o.hi === null ? !o.timeUp?.() : next < o.hi);
  const progress = () => o.onProgress?.({ done: completed, total: o.hi === null ? null : o.hi - o.lo, findings: settled.length, shrinking: [...shrinking][0] ?? null });

  return new Promise<CampaignResult>((resolve, reject) => {
    const finish = (interrupted: boolean) => {
      if (finished) return;
      finished = true;
      o.signal?.removeEventListener('abort', onAbort);
      if (failure !== null && !interrupted) return reject(failure);
      const done = new Set(findings.map((f) => f.index));
      resolve({ runs: tally.runs, steps: tally.steps, coverage: tally.coverage, ...editsOf(tally, spec.variant !== null), signatures: tally.list(), findings, unshrunk: settled.filter((h) => !done.has(h.index)), interrupted });
    };
    const onAbort = () => {
      exec.stop();
      finish(true);
    };
    o.signal?.addEventListener('abort', onAbort);
    const fail = (e: unknown) => {
      if (o.signal?.aborted || finished) return;
      failure ??= e;
      exec.stop();
      finish(false);
    };
    const newFinding = (h: Hit) => {
      settled.push(h);
      if (settled.length > (o.shrinkLimit ?? Infinity)) return;
      shrinking.add(h);
      progress();
      const p = exec.shrink(spec, h);
      // Emitted one after another in run order, whichever shrink ends first.
      emitted = emitted.then(async () => {
        const f = await p;
        shrinking.delete(h);
        if (o.signal?.aborted || finished) return;
        findings.push(f);
        await o.onFinding?.(f);
        progress();
      });
      emitted.catch(fail);
    };
    const pump = () => {
      if (finished) return;
      while (more() && inflight < cap) {
        const from = next;
        const to = o.hi === null ? from + CHUNK : Math.min(o.hi, from + CHUNK);
        next = to;
        inflight++;
        exec.chunk(spec, from, to).then((c) => {
          inflight--;
          if (finished) return;
          completed += c.to - c.from;
          for (const h of tally.add(c)) newFinding(h);
          progress();
          pump();
        }, fail);
      }
      if (inflight === 0 && !more()) {
        const ending = emitted;
        void ending.then(() => {
          if (ending === emitted) finish(!!o.signal?.aborted);
          else pump(); // a finding arrived meanwhile: wait for it too
        }, fail);
      }
    };
    if (o.signal?.aborted) return finish(true);
    pump();
  });
}

/** The same campaign on this thread, synchronously (computeMatrix, tests): identical results. */
export function runCampaignSync(ctx: Ctx, lo: number, hi: number, shrinkLimit = Infinity): CampaignResult {
  const tally = new Tally(lo, ctx.skip);
  const findings: Shrunk[] = [];
  const unshrunk: Hit[] = [];
  for (let from = lo; from < hi; from += CHUNK) {
    for (const h of tally.add(runChunk(ctx, from, Math.min(hi, from + CHUNK)))) {
      if (findings.length < shrinkLimit) findings.push(shrinkHit(ctx, h));
      else unshrunk.push(h);
    }
  }
  return { runs: tally.runs, steps: tally.steps, coverage: tally.coverage, ...editsOf(tally, ctx.policy.edits !== undefined), signatures: tally.list(), findings, unshrunk, interrupted: false };
}

const editsOf = (t: Tally, variant: boolean): Pick<CampaignResult, 'editsRun'> => (variant ? { editsRun: [...t.editsRun].sort((a, b) => a - b) } : {});

const turn = () => new Promise<void>((r) => setImmediate(r));

export class Stopped extends Error {
  override name = 'Stopped';
}

/**
 * --jobs 1: chunks and shrinks one at a time on this thread, yielding to
 * the event loop between them (a SIGINT is seen between two chunks; a
 * shrink under way finishes first).
 */
export function inProcess(ctxOf: (spec: CampaignSpec) => Ctx | Promise<Ctx>): Executor {
  let tail: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const serial = <T>(task: () => T | Promise<T>): Promise<T> => {
    const p = tail.then(async () => {
      await turn();
      if (stopped) throw new Stopped('stopped');
      return task();
    });
    tail = p.catch(() => {});
    return p;
  };
  return {
    size: 1,
    chunk: (spec, from, to) => serial(async () => runChunk(await ctxOf(spec), from, to)),
    shrink: (spec, hit) => serial(async () => shrinkHit(await ctxOf(spec), hit)),
    stop: () => {
      stopped = true;
    },
  };
}

/** A spec's code: the registry's policy, with the variant file loaded again and checked against the campaign's hash. */
export async function loadCtx(spec: CampaignSpec): Promise<Ctx> {
  const base = policyByName(spec.policy);
  if (!base) throw new Error(`unknown policy '${spec.policy}'`);
  if (!spec.variant) return makeCtx(spec, base, null);
  const v = await loadVariant(spec.variant.path);
  if (v.sha256 !== spec.variant.sha256) throw new Error(`${spec.variant.path}: the variant file changed after the campaign started`);
  return makeCtx(spec, applyVariant(base, v.spec), v);
}

export const specKey = (spec: CampaignSpec) => JSON.stringify(spec);

/** loadCtx, once per spec (a matrix has one spec per cell); `seed` adds contexts built by the caller. */
export function ctxCache(limit = 256): { get: (spec: CampaignSpec) => Promise<Ctx>; seed: (ctx: Ctx) => void } {
  const cache = new Map<string, Promise<Ctx>>();
  const put = (k: string, p: Promise<Ctx>) => {
    if (cache.size >= limit) cache.delete(cache.keys().next().value!);
    cache.set(k, p);
    p.catch(() => cache.delete(k));
    return p;
  };
  return {
    get: (spec) => cache.get(specKey(spec)) ?? put(specKey(spec), loadCtx(spec)),
    seed: (ctx) => void put(specKey(ctx.spec), Promise.resolve(ctx)),
  };
}
