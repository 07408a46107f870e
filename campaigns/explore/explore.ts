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
//      state. It merges less than a partial-order reduction might: the
//      key includes allocation ids and each actor's step history, so two
//      orders that allocate frames differently stay apart. The key's
//      last actor is apart from the state (cross-last, `anyLast`, on by
//      default): a state reached after another last actor with one
//      preemption less also covers the node. The two go on alike but for
//      their first switch, which costs at most one more after the other
//      actor, so every schedule from the node has a twin from the earlier
//      one with no more preemptions and as many steps.
//   3. Executions are not copied (actors are generators): a node is
//      reached again by replaying its path from the start, every step
//      checked as in any run and its step id compared with the one the
//      path took, so a path that replays differently is a model error
//      (nondeterminism), never a silent miss.
//   4. A violation comes back as a scenario whose schedule is the path
//      (one entry per run of steps of one actor), replayed by the runner
//      before it is reported: it saves and replays like any finding.
//   5. Sleep sets (Godefroid's thesis, LNCS 1032, ch. 5; opt-in, `sleep`).
//      Plain sleep sets are not sound under a preemption bound
//      (Musuvathi and Qadeer, MSR-TR-2007-12; Coons, Musuvathi and
//      McKinley, OOPSLA 2013): of two equivalent schedules t.u.w and
//      u.t.w, the one pruned may be the one within the bound, or the
//      cheaper one. Here an actor sleeps only where every schedule pruned
//      has an explored twin (same steps, same length, same state after
//      them) with no more preemptions:
//      - put to sleep: at a node whose last actor `a` can step, its step
//        t is the continuation (cost p). Each preemption child u (cost
//        p + 1, actor b) gets `a` asleep if t and u are independent there.
//        Pruned: u.s.t.w (s: steps since), switching back to `a` at its
//        end; twin: t.u.s.w, which pays the switch from `a` to b (at most
//        one) where the pruned one paid the preemption of `a` (one), and
//        whose first switch in w costs at most one more (from the last
//        actor of s instead of `a`), which the pruned schedule's switch
//        back to `a` pays, as long as the last actor of s can still step.
//      - kept asleep: along every child whose step is independent of `a`'s
//        next step (each pair checked where it occurs) and costs what its
//        twin's does: a continuation, or a preemption. At a free switch
//        (the last actor blocked or ended) the twin may pay a switch the
//        pruned schedule did not, and the argument above needs the last
//        actor able to step: every sleeper is woken there.
//      - so an asleep actor only ever spares a second (or later)
//        preemption: nothing at bound 0 or 1 (no sleepers are computed
//        where no further preemption fits the bound).
//      Independence: the model records no read or write sets, so two next
//      steps are independent at a node when executing them in both orders
//      (each on a replay) takes the same steps with the same observations,
//      breaks no property, and ends in the same state key: the commutation
//      itself, at that state (conditional independence).
//      With the state cache (Godefroid, ch. 6: a state reached again with
//      a smaller sleep set must explore what was asleep before): an entry
//      keeps its node's sleep set; a child is merged as it is made only by
//      an entry with nothing asleep, and at expansion the finished entries
//      that cover the node leave it only the actors asleep in all of them,
//      less its own sleepers.

import { Execution, modelErrorOf, type Actor, type RunOptions, type RunResult } from '../../model/run/execution.js';
import { runScenario } from '../../model/run/runner.js';
import type { Scenario, ScheduleEntry } from '../../model/run/scenario.js';
import type { StepEvent, Violation } from '../../model/run/check.js';
import { canon, stateKey, stateKeyText } from './state_key.js';

export interface ExploreOptions extends RunOptions {
  /** Most preemptions a schedule may have (default 3). */
  bound?: number;
  /** Most distinct states (nodes) to expand before giving up (default 200000). */
  maxStates?: number;
  /** false: no state caching, every schedule within the bound (for checking the cache). */
  cache?: boolean;
  /** true: sleep sets (off by default: docs/bench.md "explore" measures them); every answer is the same, only the counts differ. */
  sleep?: boolean;
  /** false: the state cache merges a state only with one reached after the same actor (`covers`); the answer is the same. */
  anyLast?: boolean;
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
  /** Children not made because their actor was asleep (sleep sets). */
  slept: number;
  /** Independence checks run (each: two replays, both orders of two steps), and how many found the steps independent. */
  indepChecks: number;
  independent: number;
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
  /**
   * Sleep sets: the actors that may sleep here (sorted), each independent
   * of every step since it was put to sleep. Which of them sleep is
   * settled when the node is expanded (`asleep` below).
   */
  z?: string[];
  /** A deferred preemption: the actors its node did not step (asleep, or covered by the state cache). */
  skip?: ReadonlySet<string>;
  /** Its state cache entry (sleep sets on). */
  entry?: Entry;
}

/**
 * What the state cache knows of a state (with sleep sets): every schedule
 * from it that costs `cost` or more is explored or covered, but those that
 * start with an actor of `sleep`. `done` once the node that made it was
 * expanded; until then it is a promise, trusted only with an empty `sleep`
 * when a child is made (as without sleep sets), never at an expansion.
 */
interface Entry {
  key: string;
  last: string;
  cost: number;
  sleep: readonly string[];
  done: boolean;
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

/**
 * Are the next steps of actors `a` and `b` independent at the state `at` makes (a fresh execution each call)?
 * Run both orders, each on its own execution: independent when
 * each actor takes a step in both (neither disables the other), the
 * same step with the same observation, no step breaks a property or
 * ends the run, and both orders end in the same state key (state_key.ts:
 * the kernel state, ideal memory, every check's ghost memory, values,
 * choice points, each actor's steps and path locals). What a step reads
 * or writes is not recorded by the model; this is the commutation
 * itself, at this state (conditional independence), which is what a
 * sleep set needs.
 */
export function commute(at: () => Execution, a: string, b: string, counted: () => void = () => {}): boolean {
  const order = (first: string, second: string) => {
    const x = at();
    const out: StepEvent[] = [];
    for (const name of [first, second]) {
      const r = stepActor(x, x.byName.get(name)!);
      counted();
      if (r === null || r === 'touched' || r.violation || r.exhausted) return null;
      out.push(r.event);
    }
    return { key: stateKeyText(x, null), e: out };
  };
  const ab = order(a, b);
  if (!ab) return false;
  const ba = order(b, a);
  if (!ba) return false;
  const same = (e: StepEvent, f: StepEvent) => e.id === f.id && canon(e.obs) === canon(f.obs);
  return ab.key === ba.key && same(ab.e[0]!, ba.e[1]!) && same(ab.e[1]!, ba.e[0]!);
}

const subset = (a: readonly string[], b: readonly string[]) => a.every((x) => b.includes(x));

export function explore(sc: Scenario, opts: ExploreOptions): ExploreResult {
  const bound = opts.bound ?? DEFAULT_EXPLORE_BOUND;
  const maxStates = opts.maxStates ?? DEFAULT_MAX_STATES;
  const cacheOn = opts.cache !== false;
  const sleepOn = opts.sleep === true;
  const base: Scenario = { ...sc, schedule: [] };
  const run: RunOptions = { policy: opts.policy, properties: opts.properties };
  const anyLast = opts.anyLast !== false;
  const entries = new Map<string, Entry[]>(); // state key (without the last actor) -> what the cache knows
  /**
   * Does entry `e` cover a node of its state reached after `last` at
   * `cost`? After the same actor: at no greater cost. After another: at
   * one preemption less (anyLast), since the two go on alike but for their
   * first switch, which costs at most one more after `e.last`: every
   * schedule from the node has a twin from `e`'s node with no more
   * preemptions and as many steps.
   */
  const covers = (e: Entry, last: string, cost: number) => (e.last === last ? e.cost <= cost : anyLast && e.cost + 2 ** 20 <= cost);
  // buckets[p][d]: nodes with p preemptions and d steps, expanded in (p, d) order
  const buckets: Node[][][] = [];
  const push = (n: Node) => ((buckets[n.p] ??= [])[n.path.length] ??= []).push(n);
  let live = 0;
  const stats = { states: 0, schedules: 0, transitions: 0, merged: 0, slept: 0, indepChecks: 0, independent: 0 };
  const perBound: BoundStats[] = [];
  type Found = { path: string[]; p: number; v: Violation };
  let found = null as Found | null; // assigned in closures: not narrowed to null
  const better = (p: number, d: number) => !found || p < found.p || (p === found.p && d < found.path.length);
  const costOf = (p: number, d: number) => p * 2 ** 20 + d;

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

  const independent = (n: Node, a: string, b: string): boolean => {
    stats.indepChecks++;
    const yes = commute(() => replay(n), a, b, () => stats.transitions++);
    if (yes) stats.independent++;
    return yes;
  };

  /** The sleepers a child by `name` may have: those of `from` independent of its step at `n`. */
  const sleepersOf = (n: Node, from: readonly string[], name: string): string[] =>
    // a sleeper only ever spares a preemption: none at the bound, and a node's descendants never cost less
    n.p >= bound ? [] : from.filter((a) => a !== name && independent(n, a, name)).sort();

  /** A child reached by a step: report it, or queue it unless its state was reached as cheaply before. */
  const child = (x: Execution, r: Stepped, parent: Node, p: number, last: string, z: string[]) => {
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
    let entry: Entry | undefined;
    if (cacheOn) {
      const key = stateKey(x, null);
      const cost = costOf(p, path.length);
      const es = entries.get(key);
      // reached as cheaply with nothing asleep there (explored, or a promise to be)
      if (es?.some((e) => e.sleep.length === 0 && covers(e, last, cost))) {
        stats.merged++;
        return;
      }
      entry = { key, last, cost, sleep: z, done: false };
      if (!es) entries.set(key, [entry]);
      else {
        // one entry less where the new one says more: same last actor, no cheaper, asleep no fewer
        const keep = es.filter((e) => !(e.last === last && e.cost >= cost && subset(z, e.sleep) && (e.done || !sleepOn)));
        keep.push(entry);
        entries.set(key, keep);
      }
    }
    const keep = live < MAX_LIVE;
    if (keep) live++;
    push({ path, ids, p, last, ...(keep ? { x } : {}), ...(z.length ? { z } : {}), ...(entry ? { entry } : {}) });
  };

  /**
   * One child per actor in `names` but `n.last`, at `n`'s cost: each on
   * `y` until a step uses it up, then on a replay of `n`'s path. An actor
   * that blocks or ends touches the execution (stepActor): it stays good
   * for trying the others and for judging a stall, but a step taken on it
   * is taken again on a clean replay, so every child's execution is the
   * one its path replays to. Returns null if some actor stepped, else the
   * execution where every actor was tried and none could step.
   * `sleepers` gives a child's sleep set from its actor.
   */
  const stepOthers = (n: Node, y: Execution, names: readonly string[], sleepers: (name: string) => string[], touched = false): Execution | null => {
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
      const z = sleepers(name); // replays of its own: x stays the child's
      child(x, r, n, n.p, name, z);
      x = null;
    }
    return stepped ? null : x;
  };

  /**
   * Sleep sets and the state cache, at an expansion: which actors this
   * node need not step. `z` is its sleep set; the cache's finished
   * entries for the same state (and last actor) at no greater cost have
   * explored every actor outside their own sleep sets, so only the actors
   * asleep in all of them are left, less those asleep here (Godefroid's
   * thesis: with state caching, a state reached again with a smaller
   * sleep set explores what the earlier visit left asleep). null: the
   * node is covered, nothing to expand.
   */
  const skipped = (n: Node, runnable: readonly string[], z: readonly string[]): Set<string> | null => {
    const e = n.entry;
    if (!e || !sleepOn) return new Set(z);
    let left: readonly string[] | null = null;
    for (const o of entries.get(e.key) ?? []) {
      if (o === e || !o.done || !covers(o, e.last, e.cost)) continue;
      left = left === null ? o.sleep : left.filter((a) => o.sleep.includes(a));
    }
    e.done = true;
    e.sleep = left === null ? z : z.filter((a) => left!.includes(a));
    if (left === null) return new Set(z);
    const todo = left.filter((a) => !z.includes(a) && runnable.includes(a));
    if (todo.length === 0) return null;
    return new Set(runnable.filter((a) => !todo.includes(a)));
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
   *
   * Sleep sets (see the head of this file): the node's sleepers sleep only
   * when its last actor can step; an asleep actor is not stepped here, and
   * the continuation's child keeps those of them independent of it.
   */
  const expand = (n: Node): boolean => {
    const y = n.x ?? replay(n);
    if (n.x) {
      live--;
      delete n.x;
    }
    const runnable = runnableNames(y);
    let touched = false;
    let cont: Stepped | null = null;
    if (n.last !== null && runnable.includes(n.last)) {
      const r = stepActor(y, y.byName.get(n.last)!);
      if (r === 'touched') touched = true;
      else if (r) cont = r;
    }
    const z = cont ? (n.z ?? []) : []; // asleep: only while the last actor can step
    const skip = skipped(n, runnable, z);
    if (skip === null) {
      stats.merged++;
      return false;
    }
    stats.states++;
    if (cont) {
      const last = n.last!;
      if (!skip.has(last)) child(y, cont, n, n.p, last, sleepersOf(n, z, last));
      if (runnable.length === 1) return true;
      if (n.p + 1 > bound) return true; // cut: schedules beyond the bound
      push({ path: n.path, ids: n.ids, p: n.p + 1, last, preempt: true, ...(z.length ? { z } : {}), skip });
      return true;
    }
    // the last actor could not step (tried above): switching is free, and no one sleeps
    const rest = stepOthers(n, y, runnable.filter((a) => !skip.has(a)), () => [], touched);
    if (rest === null) return true;
    if (runnable.some((a) => skip.has(a))) return true; // an actor left to another node of this state could step here
    stats.schedules++;
    const v = rest.stalledCheck();
    if (v && better(n.p, n.path.length)) found = { path: n.path, p: n.p, v };
    return true;
  };

  /**
   * The deferred preemptions of a node: every runnable actor but the last
   * one, which could step, and those asleep or left to the cache. Each
   * child may sleep the last actor (its continuation was explored at one
   * preemption fewer) and the node's sleepers, those independent of it.
   */
  const preempt = (n: Node) => {
    const y = replay(n);
    const from = sleepOn ? [...(n.z ?? []), n.last!] : [];
    const names = runnableNames(y).filter((a) => !n.skip?.has(a));
    stats.slept += runnableNames(y).filter((a) => a !== n.last && n.z?.includes(a)).length;
    stepOthers(n, y, names, (name) => sleepersOf(n, from, name));
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
          else expand(n);
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
