// Systematic exploration of one scenario's interleavings (issue 13):
// every schedule of its actors (threads, IPI handlers, RCU, speculative
// walks, store buffers: hardware actors are choices like threads), by
// increasing preemption count, then by increasing number of steps.
//
//   1. Iterative preemption bounding (CHESS): a preemption is a switch
//      away from an actor that could still take a step; switching when
//      it blocked or ended is free. Nodes are expanded in order of
//      (preemptions, steps), so bound b is complete before any node of
//      bound b + 1 runs, and the first violation found is the shortest
//      in preemptions, then in steps.
//   2. State caching (state_key.ts): a node whose key was reached before
//      with no more preemptions and steps is not expanded again. This
//      merges interleavings of independent steps that end in the same
//      state, without the read sets a sleep set or DPOR would need (the
//      model does not record them). It merges less than those would: the
//      key includes allocation ids and each actor's step history, so two
//      orders that allocate frames differently stay apart.
//   3. Executions are not copied (actors are generators): a node is
//      reached again by replaying its path from the start, every step
//      checked as in any run and its step id compared with the one the
//      path took, so a path that replays differently is a model error
//      (nondeterminism), never a silent miss.
//   4. A violation comes back as a scenario whose schedule is the path
//      (one entry per run of steps of one actor), replayed by the runner
//      before it is reported: it saves and replays like any finding.

import { Execution, modelErrorOf, type Actor, type RunOptions, type RunResult } from '../../model/run/execution.js';
import { runScenario } from '../../model/run/runner.js';
import type { Scenario, ScheduleEntry } from '../../model/run/scenario.js';
import type { Violation } from '../../model/run/check.js';
import { stateKey } from './state_key.js';

export interface ExploreOptions extends RunOptions {
  /** Most preemptions a schedule may have (default 3). */
  bound?: number;
  /** Most distinct states (nodes) to expand before giving up (default 200000). */
  maxStates?: number;
  /** false: no state caching, every schedule within the bound (for checking the cache). */
  cache?: boolean;
  /** Asked between nodes: true stops the search as the state budget does (a wall-clock budget; never consulted by the model). */
  timeUp?: () => boolean;
}

export interface BoundStats {
  bound: number;
  /** Distinct states expanded up to and including this bound. */
  states: number;
  /** Complete schedules (executions that ended) up to this bound. */
  schedules: number;
}

export interface ExploreResult {
  verdict: 'violation' | 'clean' | 'budget' | 'model-error';
  /** clean: every schedule with at most this many preemptions was explored. */
  bound: number;
  /** The shortest counterexample: the scenario with the path as its schedule, and the runner's replay of it. */
  found: { scenario: Scenario; result: RunResult; preemptions: number; steps: number } | null;
  error: string | null;
  states: number;
  schedules: number;
  /** Steps executed, replays included. */
  transitions: number;
  /** Nodes not expanded because their state was reached before. */
  merged: number;
  perBound: BoundStats[];
}

interface Node {
  path: string[];
  /** The step id each entry of `path` took: a replay that takes another is a model error (nondeterminism). */
  ids: string[];
  p: number;
  last: string | null;
  /** The execution that reached this node, kept (up to MAX_LIVE at once) so expanding it needs no replay. */
  x?: Execution;
  /** A deferred preemption: `p` already counts it; step every runnable actor but `last`. */
  preempt?: true;
}

/** Executions kept alive in the queue; the others are replayed from their path when expanded. */
const MAX_LIVE = 4096;

export const DEFAULT_EXPLORE_BOUND = 3;
export const DEFAULT_MAX_STATES = 200_000;

/**
 * One step of `a`: resume it until it takes a step, blocks, or ends.
 * 'touched' when it was resumed but took no step: it blocked or ended.
 * Its code up to the wait (or the end) ran, reading the state of this
 * moment, and no step records that, so the execution is no longer what
 * its path replays to: the caller must not take another step on it.
 */
function stepActor(x: Execution, a: Actor) {
  let resumed = false;
  for (;;) {
    if (!x.runnable(a)) return resumed ? ('touched' as const) : null;
    const r = x.advance(a);
    resumed = true;
    if (r.kind === 'step') return r;
    if (r.kind === 'done') return 'touched' as const;
  }
}

type Stepped = Exclude<ReturnType<typeof stepActor>, null | 'touched'>;

const runnableNames = (x: Execution) => x.actors.filter((a) => x.runnable(a)).map((a) => a.name);

/** The schedule that makes the runner take exactly `path`: one entry per run of one actor's steps. */
export function scheduleOf(path: readonly string[]): ScheduleEntry[] {
  const out: ScheduleEntry[] = [];
  for (const a of path) {
    const e = out[out.length - 1];
    if (e && e.actor === a) e.steps!++;
    else out.push({ actor: a, steps: 1 });
  }
  return out;
}

export function explore(sc: Scenario, opts: ExploreOptions): ExploreResult {
  const bound = opts.bound ?? DEFAULT_EXPLORE_BOUND;
  const maxStates = opts.maxStates ?? DEFAULT_MAX_STATES;
  const base: Scenario = { ...sc, schedule: [] };
  const run: RunOptions = { policy: opts.policy, properties: opts.properties };
  const best = new Map<string, number>(); // key -> p * 2^20 + steps, the least seen
  // buckets[p][d]: nodes with p preemptions and d steps, expanded in (p, d) order
  const buckets: Node[][][] = [];
  const push = (n: Node) => ((buckets[n.p] ??= [])[n.path.length] ??= []).push(n);
  let live = 0;
  const stats = { states: 0, schedules: 0, transitions: 0, merged: 0 };
  const perBound: BoundStats[] = [];
  type Found = { path: string[]; p: number; v: Violation };
  let found = null as Found | null; // assigned in closures: not narrowed to null
  const better = (p: number, d: number) => !found || p < found.p || (p === found.p && d < found.path.length);

  const replay = (n: Node): Execution => {
    const x = new Execution(base, run);
    for (const [i, name] of n.path.entries()) {
      const got = stepActor(x, x.byName.get(name)!);
      const r = got === 'touched' ? null : got;
      stats.transitions++;
      if (r?.event.id !== n.ids[i]) throw new Error(`explore: replay diverged at step ${i + 1}: ${name} took ${r ? r.event.id : 'no step'}, the explored path ${n.ids[i]} (the model is not deterministic here)`);
    }
    return x;
  };

  /** A child reached by a step: report it, or queue it unless its state was reached as cheaply before. */
  const child = (x: Execution, r: Stepped, parent: Node, p: number, last: string) => {
    const path = [...parent.path, last];
    const ids = [...parent.ids, r.event.id];
    stats.transitions++;
    if (r.violation) {
      if (better(p, path.length)) found = { path, p, v: r.violation };
      return;
    }
    if (r.exhausted) {
      stats.schedules++;
      return;
    }
    if (opts.cache !== false) {
      const key = stateKey(x, last);
      const cost = p * 2 ** 20 + path.length;
      const seen = best.get(key);
      if (seen !== undefined && seen <= cost) {
        stats.merged++;
        return;
      }
      best.set(key, cost);
    }
    const keep = live < MAX_LIVE;
    if (keep) live++;
    push({ path, ids, p, last, ...(keep ? { x } : {}) });
  };

  /**
   * One child per actor in `names` but `n.last`, at `n`'s cost: each on
   * `y` until a step uses it up, then on a replay of `n`'s path. An actor
   * that blocks or ends touches the execution (stepActor): it stays good
   * for trying the others and for judging a stall, but a step taken on it
   * is taken again on a clean replay, so every child's execution is the
   * one its path replays to. Returns null if some actor stepped, else the
   * execution where every actor was tried and none could step.
   */
  const stepOthers = (n: Node, y: Execution, names: readonly string[], touched = false): Execution | null => {
    let x: Execution | null = y;
    let stepped = false;
    for (const name of names) {
      if (name === n.last) continue;
      if (x === null) {
        x = replay(n);
        touched = false;
      }
      let r = stepActor(x, x.byName.get(name)!);
      if (r === null) continue;
      if (r === 'touched') {
        touched = true;
        continue;
      }
      if (touched) {
        x = replay(n);
        r = stepActor(x, x.byName.get(name)!);
        if (r === null || r === 'touched') throw new Error(`explore: ${name} stepped only after another actor was tried (the model is not deterministic here)`);
      }
      stepped = true;
      child(x, r, n, n.p, name);
      x = null;
    }
    return stepped ? null : x;
  };

  /**
   * Expand a node. Without a preemption: the actor that stepped last, or,
   * when it cannot step (blocked, ended, or no step yet), every runnable
   * actor. An actor that blocks or ends without a step touches the
   * execution (stepActor): the next candidates are tried on it, but a step
   * is taken on a clean replay (stepOthers); a step uses the execution up
   * and the next candidate replays the path. A node where no
   * actor can step ends a schedule: progress and no-deadlock judge it.
   * Switching away from a last actor that could step is a preemption: its
   * children cost one more, so they are not made now but deferred to
   * bucket (p + 1, d), expanded (by `preempt`) only once every node of
   * fewer preemptions is done. A search that finds a violation at bound b
   * then never runs a step of bound b + 1.
   */
  const expand = (n: Node) => {
    const y = n.x ?? replay(n);
    if (n.x) {
      live--;
      delete n.x;
    }
    const runnable = runnableNames(y);
    let touched = false;
    if (n.last !== null && runnable.includes(n.last)) {
      const r = stepActor(y, y.byName.get(n.last)!);
      if (r === 'touched') touched = true;
      else if (r) {
        child(y, r, n, n.p, n.last);
        if (runnable.length === 1) return;
        if (n.p + 1 > bound) return; // cut: schedules beyond the bound
        push({ path: n.path, ids: n.ids, p: n.p + 1, last: n.last, preempt: true });
        return;
      }
    }
    // the last actor could not step (tried above): switching is free
    const rest = stepOthers(n, y, runnable, touched);
    if (rest === null) return;
    stats.schedules++;
    const v = rest.stalledCheck();
    if (v && better(n.p, n.path.length)) found = { path: n.path, p: n.p, v };
  };

  /** The deferred preemptions of a node: every runnable actor but the last one, which could step. */
  const preempt = (n: Node) => {
    const y = replay(n);
    stepOthers(n, y, runnableNames(y));
  };

  let verdict: ExploreResult['verdict'] = 'clean';
  let error: string | null = null;
  let complete = -1;
  try {
    push({ path: [], ids: [], p: 0, last: null });
    outer: for (let p = 0; p <= bound; p++) {
      const levels = buckets[p] ?? [];
      for (let d = 0; d < levels.length; d++) {
        const q = levels[d];
        if (!q) continue;
        // nodes at (p, d) lead to violations at (p, d) or later: none beats one found at or before it
        if (found && (found.p < p || (found.p === p && found.path.length <= d))) break outer;
        for (let i = 0; i < q.length; i++) {
          if (stats.states >= maxStates || (stats.states % 64 === 0 && opts.timeUp?.())) {
            verdict = 'budget';
            break outer;
          }
          const n = q[i]!;
          if (n.preempt) preempt(n);
          else {
            stats.states++;
            expand(n);
          }
        }
        levels[d] = []; // expanded: free the paths
      }
      if (found && found.p <= p) break;
      complete = p;
      perBound.push({ bound: p, states: stats.states, schedules: stats.schedules });
    }
  } catch (e) {
    verdict = 'model-error';
    error = modelErrorOf(e);
  }
  const f = found;
  if (verdict !== 'model-error' && f) {
    const scenario: Scenario = { ...sc, schedule: scheduleOf(f.path) };
    const result = runScenario(scenario, run);
    if (result.violation?.property !== f.v.property || result.violation.step !== f.path.length || result.violation.stepId !== f.v.stepId) {
      return { verdict: 'model-error', bound: complete, found: null, error: `explore: the runner does not reproduce the explored path (${f.v.property} at step ${f.path.length}; replay: ${result.verdict} ${result.violation?.property ?? ''} at ${result.violation?.step ?? result.steps})`, ...stats, perBound };
    }
    return { verdict: 'violation', bound: f.p, found: { scenario, result, preemptions: f.p, steps: f.path.length }, error: null, ...stats, perBound };
  }
  return { verdict, bound: complete, found: null, error, ...stats, perBound };
}
