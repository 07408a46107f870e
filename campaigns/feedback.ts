// Coverage feedback (issue 14): a campaign keeps the drawn scenarios whose
// runs reached something no earlier run reached, and draws part of its
// later runs as mutants of them (properties/generate/mutate.ts).
//
// What counts as "something": a coverage counter advanced by a given step
// id (`counter@step`, from the runner), and a preemption between two given
// step ids (`a>b`: one actor's step, then another actor's). The second is
// the interleaving coverage of concurrency fuzzers (KRACE's alias pairs,
// Snowboard's PMC pairs, in a step-id form): a schedule that first stops a
// thread right after switch_mm_irqs_off.read_tlb_gen and runs another is
// kept, and its mutants try what can follow from there.
//
// Determinism: the corpus changes only between rounds of ROUND runs, and
// within a round the new scenarios are taken in run-index order, so the
// scenario of run i depends on i and the campaign seed alone, never on
// how many workers ran the round or in which order they finished.

import seedrandom from 'seedrandom';
import type { RunResult } from '../model/run/runner.js';
import { mutateRaw, type Taken } from '../properties/generate/mutate.js';
import type { RawScenario } from '../properties/generate/scenario_arb.js';

/** Runs per round: the corpus a run mutates is the one of the rounds before it. */
export const ROUND = 256;
/** The share of runs, once the corpus is non-empty, that mutate a kept scenario rather than draw a new one. */
const MUTATE_SHARE = 0.5;

/** What a run reached, as feedback keys. */
export function feedbackKeys(r: RunResult): string[] {
  const keys = [...(r.coverageKeys ?? [])];
  for (let i = 1; i < r.trace.length; i++) {
    const a = r.trace[i - 1]!;
    const b = r.trace[i]!;
    if (a.actor !== b.actor) keys.push(`${a.id}>${b.id}`);
  }
  return keys;
}

/** The distinct step ids each actor of a run took, in first-taken order. */
export function stepsTaken(r: RunResult): Taken {
  const m = new Map<string, Set<string>>();
  for (const e of r.trace) {
    let ids = m.get(e.actor);
    if (!ids) m.set(e.actor, (ids = new Set()));
    ids.add(e.id);
  }
  return new Map([...m].map(([a, ids]) => [a, [...ids]]));
}

export class FeedbackCorpus {
  private readonly seen = new Set<string>();
  private readonly kept: { raw: RawScenario; taken: Taken }[] = [];
  /** Reached this round, in run-index order, not yet visible to mutation. */
  private pending: { index: number; raw: RawScenario; keys: string[]; taken: Taken }[] = [];

  get size(): number {
    return this.kept.length;
  }

  /** Record run `index`'s scenario, keys and the steps each actor took; it joins the corpus at the end of its round if it reached a new key. */
  offer(index: number, raw: RawScenario, keys: readonly string[], taken: Taken = new Map()): void {
    this.pending.push({ index, raw, keys: [...keys], taken });
  }

  /** Close the round: keep, in run-index order, each scenario that reached a key no earlier one had. */
  endRound(): void {
    this.pending.sort((x, y) => x.index - y.index);
    for (const p of this.pending) {
      let fresh = false;
      for (const k of p.keys) {
        if (this.seen.has(k)) continue;
        this.seen.add(k);
        fresh = true;
      }
      if (fresh) this.kept.push({ raw: p.raw, taken: p.taken });
    }
    this.pending = [];
  }

  /**
   * The scenario of one run: the fresh draw, or (in MUTATE_SHARE of the
   * runs once the corpus has something) a kept scenario with parts of the
   * fresh draw spliced in. Decided by the run's own seed only.
   */
  scenarioFor(runSeed: number, fresh: RawScenario): RawScenario {
    if (this.kept.length === 0) return fresh;
    const u = seedrandom(`feedback/${runSeed}`);
    if (u() >= MUTATE_SHARE) return fresh;
    const parent = this.kept[Math.floor(u() * this.kept.length)]!;
    return mutateRaw(parent.raw, fresh, u, parent.taken);
  }
}
