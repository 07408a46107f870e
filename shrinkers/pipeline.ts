// The shrinking pipeline (SPEC 7; research/testing-anchors.md 7.2): a
// failing scenario in, the smallest scenario with the same signature
// that these passes reach out, in rounds until a round changes nothing:
//
//   a. delete: whole threads, single operations, speculation entries,
//      choices, setup items, CPUs; after each deletion the schedule is
//      searched again (schedule_search.ts), starting from the until-form
//      of the last schedule, so a deletion is never refused only because
//      old step counts now stop in the wrong place;
//   b. preparatory mmaps into the setup (hoist.ts), smaller arguments
//      (arguments.ts);
//   c. a thread split in two where that saves schedule entries (split.ts),
//      threads in order of first step, canonical names, then regions to
//      their lowest slots (canonical.ts);
//   d. fewer schedule entries, then the best schedule within the bound.
//
// The signature never changes: every candidate is checked against it
// (oracle.ts). Deletions are always taken, since 1-minimality comes
// first; b-d only when the size (size.ts) does not grow. Rounds run
// first with a bound of one entry, which is cheap while the scenario is
// big, then with the full bound. The last round tried every single
// deletion of the final scenario and none kept the signature: the
// result is 1-minimal under the schedule search. With a wall-clock
// budget the best scenario so far comes back, marked incomplete.

import type { Policy } from '../model/policies/policy.js';
import type { RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import type { Property } from '../properties/property.js';
import { validateScenario } from '../model/run/validate.js';
import { argCandidates } from './arguments.js';
import { addressMoves, canonicalNames, processesInOrder, threadsByFirstStep } from './canonical.js';
import { candidates, GROUPS, renameSchedule } from './deletions.js';
import { hoistCandidates } from './hoist.js';
import { Oracle } from './oracle.js';
import { splitCandidates } from './split.js';
import { DEFAULT_BOUND, DEFAULT_MAX_RUNS, searchSchedule, type Found, type SearchOptions } from './schedule_search.js';
import { compareSize, sizeOf, type Size } from './size.js';
import { normalizeSchedule, untilForm } from './until_form.js';

export interface ShrinkOptions {
  /** Wall-clock budget in ms; default none. */
  budgetMs?: number;
  /** The clock for the budget, injected so tests stay deterministic (default Date.now). */
  now?: () => number;
  /** Preemption bound of the schedule search (default 2). */
  bound?: number;
  /** Run budget of one schedule search (default 3000). */
  maxRuns?: number;
  /** The properties the finding was checked with (a campaign may narrow them); all by default. */
  properties?: readonly Property[];
  /** Called after every successful step, for progress logging. */
  onStep?: (what: string, size: Size) => void;
}

export interface ShrinkResult {
  scenario: Scenario;
  result: RunResult;
  size: Size;
  /** Successful shrink steps. */
  passes: number;
  /** Runs spent shrinking. */
  runs: number;
  /** False when the budget ran out first: the best so far, maybe not 1-minimal. */
  complete: boolean;
}

export class ShrinkError extends Error {
  override name = 'ShrinkError';
}

class OutOfTime {}

/** A scenario without its schedule, which the search supplies. */
const structure = (sc: Scenario) => JSON.stringify({ ...sc, schedule: [] });

export function shrink(input: Scenario, policy: Policy, signature: string, opts: ShrinkOptions = {}): ShrinkResult {
  const oracle = new Oracle(policy, signature, opts.properties);
  const first = oracle.confirm(input);
  if (!first) throw new ShrinkError(`the scenario does not reproduce ${signature}`);
  const s = new Shrinker(oracle, { scenario: { ...input, schedule: normalizeSchedule(input.schedule) }, result: first }, opts);
  const bound = opts.bound ?? DEFAULT_BOUND;
  let complete = true;
  try {
    for (const b of new Set([Math.min(1, bound), bound])) s.rounds(b);
  } catch (e) {
    if (!(e instanceof OutOfTime)) throw e;
    complete = false;
  }
  const { scenario, result } = s.cur;
  return { scenario, result, size: sizeOf(scenario, result), passes: s.passes, runs: oracle.runs, complete };
}

/** The state of one shrink: the best scenario so far and how it got there. */
class Shrinker {
  passes = 0;
  /** Every structure taken so far: a size-neutral rewrite (thread order) never goes back to one. */
  private readonly visited = new Set<string>();
  private readonly timeUp: () => boolean;
  private readonly valid: (sc: Scenario) => boolean;
  private search: SearchOptions;

  constructor(
    private readonly oracle: Oracle,
    public cur: Found,
    private readonly opts: ShrinkOptions = {},
  ) {
    const now = opts.now ?? Date.now;
    const t0 = now();
    this.timeUp = () => opts.budgetMs !== undefined && now() - t0 >= opts.budgetMs;
    this.search = { bound: opts.bound ?? DEFAULT_BOUND, maxRuns: opts.maxRuns ?? DEFAULT_MAX_RUNS, stop: this.timeUp };
    // The runner refuses invalid scenarios; leave them out before spending a run.
    this.valid = (sc) => validateScenario(sc) === null;
  }

  /** Rounds of a-d with schedules of at most `bound` entries, until one changes nothing. */
  rounds(bound: number): void {
    this.search = { ...this.search, bound };
    for (;;) {
      const changed = [this.deletions(), this.arguments(), this.canonical(), this.schedule()];
      if (!changed.includes(true)) return;
    }
  }

  /** A candidate with a schedule that reproduces: its own, the until-form of the current one, or a searched one. */
  attempt(sc: Scenario, rename: (a: string) => string | null = (a) => a, search = true, best = false): Found | null {
    if (this.timeUp()) throw new OutOfTime();
    if (!this.valid(sc)) return null;
    const hint = renameSchedule(untilForm(this.cur.scenario.schedule, this.cur.result.trace), rename);
    const f = searchSchedule(sc, this.oracle, { ...this.search, hints: [hint], search, best });
    if (!f && this.timeUp()) throw new OutOfTime(); // a search cut short proves nothing
    return f;
  }

  private take(f: Found, what: string) {
    this.visited.add(structure(f.scenario));
    // The last entry's bound never matters (until_form.ts): the same run, a shorter schedule.
    this.cur = { scenario: { ...f.scenario, schedule: normalizeSchedule(f.scenario.schedule) }, result: f.result };
    this.passes++;
    this.opts.onStep?.(what, sizeOf(this.cur.scenario, this.cur.result));
  }

  private compare(f: Found) {
    return compareSize(sizeOf(f.scenario, f.result), sizeOf(this.cur.scenario, this.cur.result));
  }

  /** a. Each group to its own fixpoint; after a success the same index is the next item. */
  private deletions(): boolean {
    let changed = false;
    for (const group of GROUPS) {
      for (let i = 0; ; ) {
        const c = candidates(this.cur.scenario, group)[i];
        if (!c) break;
        const f = this.attempt(c.scenario, c.rename);
        if (f) {
          this.take(f, `delete ${c.what}`);
          changed = true;
        } else i++;
      }
    }
    return changed;
  }

  /**
   * Try candidates in order, regenerating after each success; keep those
   * that do not grow the size. A `strict` rewrite must shrink it, so its
   * schedule is the best one, not the first found.
   */
  private improve(kind: string, gen: (sc: Scenario) => { what: string; scenario: Scenario }[], search: boolean, strict = false): boolean {
    let changed = false;
    for (let i = 0; ; ) {
      this.visited.add(structure(this.cur.scenario));
      const c = gen(this.cur.scenario).filter((x) => !this.visited.has(structure(x.scenario)))[i];
      if (!c) return changed;
      const f = this.attempt(c.scenario, undefined, search, strict);
      if (f && this.compare(f) < (strict ? 0 : 1)) {
        this.take(f, `${kind}: ${c.what}`);
        changed = true;
      } else i++;
    }
  }

  /** b. Preparatory calls into the setup, and smaller arguments: they change what runs, so the schedule is searched again. */
  private arguments(): boolean {
    const hoisted = this.improve('hoist', hoistCandidates, true);
    return this.improve('argument', argCandidates, true) || hoisted;
  }

  /** c. Threads split where that saves entries, and in order of first step (both searched again); then equivalent forms: no search. */
  private canonical(): boolean {
    const split = this.improve('split', splitCandidates, true, true);
    const order = this.improve('order', (sc) => [{ what: 'threads in order of first step', scenario: threadsByFirstStep(sc, this.cur.result.trace) }], true);
    const names = this.improve(
      'rename',
      (sc) => [
        { what: 'canonical names', scenario: canonicalNames(sc) },
        { what: 'processes in order', scenario: processesInOrder(sc) },
      ],
      false,
    );
    return [this.improve('address', addressMoves, false), names, order, split].includes(true);
  }

  /** d. Drop entries one at a time (a schedule beyond the bound), then the best schedule within the bound. */
  private schedule(): boolean {
    let changed = false;
    for (let i = 0; i < this.cur.scenario.schedule.length; ) {
      const f = this.attempt({ ...this.cur.scenario, schedule: this.cur.scenario.schedule.filter((_, j) => j !== i) }, undefined, false);
      if (f && this.compare(f) < 0) {
        this.take(f, `schedule: drop entry ${i}`);
        changed = true;
      } else i++;
    }
    if (this.timeUp()) throw new OutOfTime();
    const hints = [this.cur.scenario.schedule, untilForm(this.cur.scenario.schedule, this.cur.result.trace)];
    const best = searchSchedule({ ...this.cur.scenario, schedule: [] }, this.oracle, { ...this.search, best: true, hints });
    if (this.timeUp()) throw new OutOfTime();
    if (best && this.compare(best) < 0) {
      this.take(best, 'schedule: best within the bound');
      changed = true;
    }
    return changed;
  }
}
