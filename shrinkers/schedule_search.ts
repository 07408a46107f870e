// Schedule search (SPEC 7; research/testing-anchors.md 1.10 and 7.2):
// given a scenario whose threads and operations are fixed, find a
// schedule that reproduces a signature with at most `bound` entries,
// fewer entries first, then fewer steps.
//
//   1. the scenario's own schedule, then the hints (the shrinker passes
//      the until-form of the last schedule, which survives deletions);
//   2. breadth-first over preemption points, CHESS-style: level 0 is the
//      empty schedule (canonical order, runner.ts); level 1 picks the
//      actor that starts; level k+1 stops the last entry's actor after
//      each step of its slice (`until` its step id, or a step count where
//      the id repeats) and switches to every other actor.
//
// Only the last entry is ever unbounded and its bound never matters, so
// this enumerates every distinct schedule of at most `bound` entries:
// the search is exhaustive within the bound, up to a run budget. CHESS
// found every bug it reports within two preemptions, loom advises 2-3.

import { resolveConfig } from '../model/kernel/config.js';
import type { RunResult } from '../model/run/runner.js';
import { ipiActor, RCU_ACTOR, specActor, type Scenario, type ScheduleEntry } from '../model/run/scenario.js';
import type { StepEvent } from '../properties/property.js';
import type { Oracle } from './oracle.js';

export interface SearchOptions {
  /** Most entries of a searched schedule (default 2). */
  bound?: number;
  /** Runs one search may spend (default 3000); exhausting it ends the search with what it has. */
  maxRuns?: number;
  /** Finish the level of the first hit and keep the fewest steps (default: return the first hit). */
  best?: boolean;
  /** Schedules tried after the scenario's own, before searching. */
  hints?: readonly ScheduleEntry[][];
  /** False: try the scenario's schedule and the hints only (default true). */
  search?: boolean;
  /** Polled before every run; true ends the search with what it has (a wall-clock budget). */
  stop?: () => boolean;
}

export const DEFAULT_BOUND = 2;
export const DEFAULT_MAX_RUNS = 3000;

export interface Found {
  scenario: Scenario;
  result: RunResult;
}

/** Every actor of a scenario, in the runner's canonical order. */
export function actorsOf(sc: Scenario): string[] {
  const cpus = resolveConfig(sc.config).cpus;
  return [...sc.threads.map((t) => t.name), ...Array.from({ length: cpus }, (_, c) => ipiActor(c)), RCU_ACTOR, ...sc.speculation.map((sp) => specActor(sp.cpu))];
}

/** A node of the search: a schedule whose last entry runs unbounded from trace index `start`. */
interface Node {
  schedule: ScheduleEntry[];
  start: number;
  trace: StepEvent[];
}

const better = (a: Found, b: Found) => a.scenario.schedule.length - b.scenario.schedule.length || a.result.steps - b.result.steps;

export function searchSchedule(sc: Scenario, oracle: Oracle, opts: SearchOptions = {}): Found | null {
  let actors: string[];
  try {
    actors = actorsOf(sc);
  } catch {
    return null; // a configuration the model refuses cannot reproduce anything
  }
  const bound = opts.bound ?? DEFAULT_BOUND;
  const budget = oracle.runs + (opts.maxRuns ?? DEFAULT_MAX_RUNS);
  let best: Found | null = null;
  let hitThisLevel = false;

  const attempt = (schedule: ScheduleEntry[]): StepEvent[] => {
    const scenario = { ...sc, schedule };
    const { result, probe } = oracle.reproduce(scenario);
    if (result) {
      const f = { scenario, result };
      if (!best || better(f, best) < 0) best = f;
      hitThisLevel = true;
    }
    return probe?.trace ?? [];
  };
  const done = () => (best !== null && !opts.best) || oracle.runs >= budget || (opts.stop?.() ?? false);

  // 1. The schedule the scenario has, and the hints.
  const seen = new Set<string>();
  for (const s of [sc.schedule, ...(opts.hints ?? [])]) {
    const key = JSON.stringify(s);
    if (seen.has(key)) continue;
    seen.add(key);
    attempt(s);
    if (done()) return best;
  }

  if (opts.search === false) return best;

  // 2. Breadth-first by number of entries; a hint with e entries caps the levels at e.
  const maxLevel = () => Math.min(bound, best ? (best as Found).scenario.schedule.length : bound);
  hitThisLevel = false;
  const base = attempt([]);
  if (done() || hitThisLevel || maxLevel() < 1) return best;
  const first = base[0]?.actor;
  let level: Node[] = [];
  for (const a of actors) {
    if (a === first) {
      level.push({ schedule: [{ actor: a }], start: 0, trace: base }); // the same run as the empty schedule
      continue;
    }
    const trace = attempt([{ actor: a }]);
    if (done()) return best;
    if (trace[0]?.actor === a) level.push({ schedule: [{ actor: a }], start: 0, trace });
  }
  for (let k = 1; k < maxLevel() && !hitThisLevel; k++) {
    const keep = k + 1 < maxLevel();
    const next: Node[] = [];
    for (const node of level) {
      for (const child of children(node, actors)) {
        const trace = attempt(child.schedule);
        if (done()) return best;
        if (trace[child.start]?.actor !== child.schedule[child.schedule.length - 1]!.actor) continue; // that actor could not run there
        if (keep) next.push({ ...child, trace });
      }
    }
    level = next;
  }
  return best;
}

/** Stop the last entry's actor after each step of its slice and switch to every other actor. */
function* children(node: Node, actors: readonly string[]): Generator<{ schedule: ScheduleEntry[]; start: number }> {
  const { schedule, start, trace } = node;
  const x = schedule[schedule.length - 1]!.actor;
  let len = 0;
  while (trace[start + len]?.actor === x) len++;
  const continues = start + len < trace.length; // after the slice someone else ran, so a switch there can matter
  for (let p = 1; p <= len; p++) {
    if (p === len && !continues) break;
    let stop: ScheduleEntry;
    if (p === len) stop = { actor: x }; // it blocked or finished: the next entry takes over there
    else {
      const id = trace[start + p - 1]!.id;
      const repeated = trace.slice(start, start + p - 1).some((e) => e.id === id);
      stop = repeated ? { actor: x, steps: p } : { actor: x, until: id };
    }
    for (const c of actors) if (c !== x) yield { schedule: [...schedule.slice(0, -1), stop, { actor: c }], start: start + p };
  }
}
