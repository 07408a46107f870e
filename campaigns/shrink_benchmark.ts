// How good and how fast the shrinker is, over many campaign seeds: for
// each seed, fuzz until the first finding (shrunk by the pipeline), time
// the shrink, and judge it against the BFS minimum (bfs_minimum.ts) of
// its own output and, when the drawn scenario is small, of that too.
// For `npm run bench` and the tests; measures, never asserts.

import type { Policy } from '../model/policies/policy.js';
import { fuzz } from './fuzz.js';
import { signatureOf } from '../properties/signature.js';
import type { OpKind } from '../properties/generate/scenario_arb.js';
import { bfsMinimum } from '../shrinkers/bfs_minimum.js';
import { compareSize, opCount, sizeOf, type Size } from '../shrinkers/size.js';

export interface ShrinkCase {
  seed: string;
  runIndex: number;
  signature: string;
  originalOps: number;
  shrunk: Size;
  /** Successful shrink steps. */
  passes: number;
  shrinkMs: number;
  /** The BFS minimum over the sub-scenarios of the shrunk scenario. */
  minimum: Size;
  /** The BFS minimum over the sub-scenarios of the drawn scenario, when it has at most `smallOps` operations. */
  originalMinimum: Size | null;
  /** Shrunk to the minimum: equal to the first, and no more operations and entries than the second. */
  reached: boolean;
}

export interface ShrinkBench {
  policy: string;
  cases: ShrinkCase[];
  /** Seeds whose campaign found nothing within the run budget. */
  notFound: string[];
  reached: number;
  /**
   * A second judge across seeds: the fewest operations, then entries,
   * any seed's shrink reached for each signature, and how many cases
   * reached the one of their signature.
   */
  bestBySignature: Record<string, { ops: number; entries: number }>;
  reachedBest: number;
  medianShrinkMs: number;
  maxShrinkMs: number;
}

export interface ShrinkBenchOptions {
  policy: Policy;
  seeds: readonly string[];
  /** Run budget of each campaign (default 20000). */
  runs?: number;
  ops?: readonly OpKind[];
  /** Drawn scenarios with at most this many operations are judged by their own BFS minimum too (default 6). */
  smallOps?: number;
  /** Clock for the shrink times (default performance.now). */
  now?: () => number;
}

/** Operations, then entries: what sizes from different setups can be compared by. */
const fewer = (a: Pick<Size, 'ops' | 'entries'>, b: Pick<Size, 'ops' | 'entries'>) => a.ops - b.ops || a.entries - b.entries;

export function benchShrink(opts: ShrinkBenchOptions): ShrinkBench {
  const now = opts.now ?? (() => performance.now());
  const cases: ShrinkCase[] = [];
  const notFound: string[] = [];
  for (const seed of opts.seeds) {
    let found = 0;
    const r = fuzz({ policy: opts.policy, seed, runs: opts.runs ?? 20000, ops: opts.ops, onRun: (_i, res) => void (signatureOf(res) !== null && (found = now())) });
    const shrinkMs = now() - found;
    const f = r.finding;
    if (!f) {
      notFound.push(seed);
      continue;
    }
    const shrunk = sizeOf(f.scenario, f.result);
    const minimum = bfsMinimum(f.scenario, opts.policy, f.signature)!.size;
    const small = opCount(f.original) <= (opts.smallOps ?? 6);
    const originalMinimum = small ? (bfsMinimum(f.original, opts.policy, f.signature)?.size ?? null) : null;
    const reached = compareSize(shrunk, minimum) === 0 && (originalMinimum === null || fewer(shrunk, originalMinimum) <= 0);
    cases.push({ seed, runIndex: f.runIndex, signature: f.signature, originalOps: opCount(f.original), shrunk, passes: f.shrinks, shrinkMs, minimum, originalMinimum, reached });
  }
  const times = cases.map((c) => c.shrinkMs).sort((a, b) => a - b);
  const best: ShrinkBench['bestBySignature'] = {};
  for (const c of cases) {
    const b = best[c.signature];
    if (!b || fewer(c.shrunk, b) < 0) best[c.signature] = { ops: c.shrunk.ops, entries: c.shrunk.entries };
  }
  return {
    policy: opts.policy.name,
    cases,
    notFound,
    reached: cases.filter((c) => c.reached).length,
    bestBySignature: best,
    reachedBest: cases.filter((c) => fewer(c.shrunk, best[c.signature]!) === 0).length,
    medianShrinkMs: times.length ? times[Math.floor(times.length / 2)]! : 0,
    maxShrinkMs: times.length ? times[times.length - 1]! : 0,
  };
}
