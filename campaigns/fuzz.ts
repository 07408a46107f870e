// A fuzzing campaign: seedrandom turns the campaign seed string into one
// seed per run; fast-check draws a scenario from it and, when the run
// breaks a property, the shrinking pipeline (shrinkers/pipeline.ts)
// minimises it while keeping the finding's signature.
// With a run budget the failure reported is the one with the lowest run
// index, so results never depend on timing.

import fc from 'fast-check';
import seedrandom from 'seedrandom';
import type { Policy } from '../model/policies/policy.js';
import { addCoverage, emptyCoverage, type Coverage } from '../model/run/coverage.js';
import { runScenario, type RunResult } from '../model/run/runner.js';
import type { Property } from '../properties/property.js';
import { signatureOf } from '../properties/signature.js';

export { signatureOf };
import type { Scenario } from '../model/run/scenario.js';
import { shrink } from '../shrinkers/pipeline.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { rawScenarioArb, resolve as resolveRaw, type OpKind, type RawScenario } from '../properties/generate/scenario_arb.js';
import { PROPERTIES } from '../properties/registry.js';
import { FeedbackCorpus, feedbackKeys, ROUND, stepsTaken } from './feedback.js';

export interface FuzzOptions {
  policy: Policy;
  /** Check only these properties (the matrix runs one at a time); all by default. */
  properties?: readonly Property[];
  /** Signatures already known: runs that only reproduce one of these count as clean. */
  skip?: ReadonlySet<string>;
  /**
   * A variant's base policy: a run counts as a finding only if the base
   * passes the same scenario, so a mutant is found by what it breaks, not
   * by a finding its base policy already shows (the bench's measure).
   */
  base?: Policy;
  seed: string;
  /** Stop after this many runs ... */
  runs?: number;
  /** ... or after this many milliseconds of wall-clock time (CLI only; not reproducible run for run). */
  timeMs?: number;
  ops?: readonly OpKind[];
  /** Called after every run, for progress logging. */
  onRun?: (index: number, r: RunResult, sc: Scenario) => void;
  /** Wall-clock budget for shrinking the finding (shrinkers/pipeline.ts); none by default, so results never depend on timing. */
  shrinkBudgetMs?: number;
  /** Wall clock, injected so the campaign stays testable. */
  now?: () => number;
  /**
   * Coverage feedback (campaigns/feedback.ts): mutate runs that reached
   * something new. Off by default and not yet in the CLI's campaigns
   * (campaign.ts draws run i from its seed alone; feedback needs the
   * corpus of earlier rounds on every worker). npm run bench measures it.
   */
  feedback?: boolean;
}

export interface Finding {
  runIndex: number;
  runSeed: number;
  signature: string;
  /** The scenario as drawn, and after shrinking. */
  original: Scenario;
  scenario: Scenario;
  result: RunResult;
  shrinks: number;
}

export interface FuzzResult {
  runs: number;
  steps: number;
  coverage: Coverage;
  finding: Finding | null;
}

export const runSeeds = (seed: string) => {
  const rng = seedrandom(seed);
  return () => rng.int32() >>> 0;
};

/**
 * The scenario of the run with seed `runSeed`: a function of the seed
 * alone, so a run can be drawn again anywhere (campaigns/campaign.ts
 * spreads the runs of one campaign over worker threads and machines).
 */
export function scenarioDrawer(policy: Policy, ops: readonly OpKind[] = campaignOps(policy).ops): (runSeed: number) => Scenario {
  const raw = rawDrawer(policy, ops);
  return (runSeed) => resolveRaw(raw(runSeed), policy.mshare);
}

/** The drawn scenario of a run before its indices are resolved: what coverage feedback mutates. */
export function rawDrawer(policy: Policy, ops: readonly OpKind[] = campaignOps(policy).ops): (runSeed: number) => RawScenario {
  const arb = rawScenarioArb({ ops, mshare: policy.mshare });
  return (runSeed) => fc.sample(arb, { seed: runSeed, numRuns: 1 })[0]!;
}

export function fuzz(opts: FuzzOptions): FuzzResult {
  const rawOf = rawDrawer(opts.policy, opts.ops);
  const nextSeed = runSeeds(opts.seed);
  const now = opts.now ?? (() => 0);
  const t0 = now();
  const coverage = emptyCoverage();
  let steps = 0;
  const corpus = opts.feedback ? new FeedbackCorpus() : null;
  for (let i = 0; ; i++) {
    if (opts.runs !== undefined && i >= opts.runs) return { runs: i, steps, coverage, finding: null };
    if (opts.timeMs !== undefined && now() - t0 >= opts.timeMs) return { runs: i, steps, coverage, finding: null };
    if (corpus && i > 0 && i % ROUND === 0) corpus.endRound();
    const runSeed = nextSeed();
    const raw = corpus ? corpus.scenarioFor(runSeed, rawOf(runSeed)) : rawOf(runSeed);
    const sc = resolveRaw(raw, opts.policy.mshare);
    const r = runScenario(sc, { policy: opts.policy, properties: opts.properties ?? PROPERTIES, coverageKeys: corpus !== null });
    if (corpus) corpus.offer(i, raw, feedbackKeys(r), stepsTaken(r));
    steps += r.steps;
    addCoverage(coverage, r.coverage);
    opts.onRun?.(i, r, sc);
    const sig = signatureOf(r);
    if (sig === null || opts.skip?.has(sig)) continue;
    if (opts.base && runScenario(sc, { policy: opts.base, properties: opts.properties ?? PROPERTIES }).verdict !== 'pass') continue;
    const budget = opts.shrinkBudgetMs === undefined ? {} : { budgetMs: opts.shrinkBudgetMs, now: opts.now ?? Date.now };
    const shrunk = shrink(sc, opts.policy, sig, { properties: opts.properties, ...budget });
    return { runs: i + 1, steps, coverage, finding: { runIndex: i, runSeed, signature: sig, original: sc, scenario: shrunk.scenario, result: shrunk.result, shrinks: shrunk.passes } };
  }
}
