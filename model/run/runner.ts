// The runner: executes a scenario under its schedule, one atomic step at
// a time (execution.ts feeds every observation to the ideal memory and
// checks every property after every step) and stops at the first
// violation. Same scenario, same result: nothing here reads a clock or a
// random source.
//
// Scheduling (SPEC 4.2): the schedule is a list of preemption points.
// Each names the actor to run next and, optionally, for how many steps.
// An entry whose actor cannot run is skipped. Between entries, and after
// the last, the current actor runs on; when it blocks or ends, the first
// runnable actor in canonical order (threads, IPI handlers, rcu, hardware
// speculation) takes over. Store buffers (sb@cpuN) drain only where the
// schedule names them, or at a fence: nothing waits on a drain, so a run
// that ends with stores still buffered has missed no step.

import { Execution, modelErrorOf, type Actor, type RunOptions, type RunResult } from './execution.js';
import type { Scenario } from './scenario.js';

export { ScenarioError, type RunOptions, type RunResult } from './execution.js';
export { idealFromSetup } from './ideal_setup.js';

export function runScenario(sc: Scenario, opts: RunOptions): RunResult {
  const x = new Execution(sc, opts);
  const { actors, byName } = x;

  let cur: Actor | null = null;
  let remaining = Infinity;
  let until: string | undefined;
  let idx = 0;
  let preemptions = 0;
  const pick = (): Actor | null => {
    if (cur && remaining > 0 && x.runnable(cur)) return cur;
    while (idx < sc.schedule.length) {
      const e = sc.schedule[idx++]!;
      const a = byName.get(e.actor);
      if (a && x.runnable(a)) {
        if (cur !== a) preemptions++;
        cur = a;
        remaining = e.steps ?? Infinity;
        until = e.until;
        return a;
      }
    }
    if (cur && x.runnable(cur)) return cur;
    cur = actors.find((a) => a.kind !== 'sb' && x.runnable(a)) ?? null;
    remaining = Infinity;
    until = undefined;
    return cur;
  };

  try {
    for (;;) {
      const a = pick();
      if (!a) break;
      const r = x.advance(a);
      if (r.kind !== 'step') continue;
      if (a === cur) remaining = until !== undefined && r.event.id === until ? 0 : remaining - 1;
      if (r.violation) return x.result('violation', r.violation, null, preemptions);
      if (r.exhausted) return x.result('pass', null, null, preemptions); // only if progress is not checked
    }
    const v = x.stalledCheck();
    return v ? x.result('violation', v, null, preemptions) : x.result('pass', null, null, preemptions);
  } catch (e) {
    return x.result('model-error', null, modelErrorOf(e), preemptions);
  }
}
