// The size of a counterexample (SPEC 7): operations first, then schedule
// entries (preemption points), then executed steps. Smaller is what a
// reader of the race diagram has to follow: fewer calls, fewer places
// where the scheduler interferes, fewer lines.

import type { RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';

export interface Size {
  ops: number;
  entries: number;
  steps: number;
}

export const opCount = (sc: Scenario) => sc.threads.reduce((n, t) => n + t.ops.length, 0);

export const sizeOf = (sc: Scenario, r: RunResult): Size => ({ ops: opCount(sc), entries: sc.schedule.length, steps: r.steps });

/** Lexicographic: operations, then entries, then steps. */
export const compareSize = (a: Size, b: Size) => a.ops - b.ops || a.entries - b.entries || a.steps - b.steps;

export const formatSize = (s: Size) => `${s.ops} ops, ${s.entries} entries, ${s.steps} steps`;
