// The true minimum of a finding over small scopes (SPEC 7: "computed by
// breadth-first search over small scopes, not guessed"): every
// sub-scenario of a scenario, by increasing number of operations (any
// subset of its operations, each thread keeping its process, CPU and
// order; a thread left without operations goes), each with the schedule
// search run to the end within the preemption bound. The first number of
// operations at which some subset reproduces the signature is the
// minimum; among those subsets the smallest size (entries, then steps)
// is returned.
//
// This is the judge of the shrinker, so it shares nothing with the
// pipeline but the schedule search. Subsets grow as 2^n: apply it to the
// shrinker's own output and to small inputs.

import type { Policy } from '../model/policies/policy.js';
import type { RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import type { Property } from '../properties/property.js';
import { renameSchedule } from './deletions.js';
import { Oracle } from './oracle.js';
import { DEFAULT_BOUND, DEFAULT_MAX_RUNS, searchSchedule, type Found } from './schedule_search.js';
import { compareSize, opCount, sizeOf, type Size } from './size.js';
import { untilForm } from './until_form.js';

export interface MinimumOptions {
  bound?: number;
  /** Run budget of each schedule search. */
  maxRuns?: number;
  /** The properties the finding was checked with; all by default. */
  properties?: readonly Property[];
}

export interface Minimum {
  size: Size;
  scenario: Scenario;
  result: RunResult;
  /** Sub-scenarios searched, and runs spent. */
  subsets: number;
  runs: number;
}

/** Subsets of {0..n-1} with k elements, in lexicographic order. */
export function* combinations(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  if (k > n) return;
  for (;;) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}

/** The sub-scenario keeping the operations whose global indices (thread by thread) are in `keep`. */
export function subScenario(sc: Scenario, keep: ReadonlySet<number>): Scenario {
  let g = 0;
  const threads = sc.threads.map((t) => ({ ...t, ops: t.ops.filter(() => keep.has(g++)) })).filter((t) => t.ops.length > 0);
  const live = new Set(threads.map((t) => t.name));
  const gone = (a: string) => sc.threads.some((t) => t.name === a) && !live.has(a);
  const rename = (a: string) => (gone(a) ? null : a);
  return { ...sc, threads, schedule: renameSchedule(sc.schedule, rename), choices: sc.choices.filter((c) => !gone(c.actor)) };
}

export function bfsMinimum(sc: Scenario, policy: Policy, signature: string, opts: MinimumOptions = {}): Minimum | null {
  const oracle = new Oracle(policy, signature, opts.properties);
  const search = { bound: opts.bound ?? DEFAULT_BOUND, maxRuns: opts.maxRuns ?? DEFAULT_MAX_RUNS };
  const whole = oracle.probe(sc);
  const until = untilForm(sc.schedule, whole?.trace ?? []);
  const threadNames = new Set(sc.threads.map((t) => t.name));
  // The until-form of the scenario's schedule, without the threads a subset dropped.
  const hintsFor = (sub: Scenario) => [renameSchedule(until, (a) => (threadNames.has(a) && !sub.threads.some((t) => t.name === a) ? null : a))];
  const n = opCount(sc);
  let subsets = 0;
  for (let k = 0; k <= n; k++) {
    const hits: Scenario[] = [];
    for (const keep of combinations(n, k)) {
      const sub = subScenario(sc, new Set(keep));
      subsets++;
      if (searchSchedule(sub, oracle, { ...search, hints: hintsFor(sub) })) hits.push(sub);
    }
    let best: Found | null = null;
    for (const sub of hits) {
      const f = searchSchedule(sub, oracle, { ...search, hints: hintsFor(sub), best: true });
      if (f && (!best || compareSize(sizeOf(f.scenario, f.result), sizeOf(best.scenario, best.result)) < 0)) best = f;
    }
    if (best) return { size: sizeOf(best.scenario, best.result), scenario: best.scenario, result: best.result, subsets, runs: oracle.runs };
  }
  return null;
}
