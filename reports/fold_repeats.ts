// A livelock (progress) or a retry loop repeats the same entries of the
// race diagram until the step budget runs out: 300 steps of "#PF, fault,
// set_pte_at, free" draw as 160 entries that say nothing new after the
// first round. Fold them: the first round is drawn, and one entry stands
// for the rounds after it ("repeats the 4 entries above 38 more times").
// Only one actor's entries fold, so each entry still covers steps of one
// actor, and never the violating step, which keeps its own line, nor the
// step that decides the race (its flush), which keeps its own too.

import type { DiagramItem } from './report.js';

/** The longest run of entries, and the most rounds, that a fold may cover. */
export const MAX_PERIOD = 8;
export const MIN_ROUNDS = 3;

/**
 * Fold rounds of entries that repeat. `sig` tells entries apart (what is
 * drawn and the step ids behind it, not the step numbers); `stopAt` is
 * the violating step, never folded (nor anything after it); `never`:
 * other steps no fold may cover.
 */
export function foldRepeats(items: readonly DiagramItem[], sig: (it: DiagramItem) => string, stopAt: number | null, never: readonly number[] = []): DiagramItem[] {
  const keys = items.map(sig);
  const out: DiagramItem[] = [];
  const sameRound = (a: number, b: number, p: number) => {
    for (let j = 0; j < p; j++) if (keys[a + j] !== keys[b + j]) return false;
    return true;
  };
  const covers = (a: number, p: number) => items.slice(a, a + p).some((it) => never.some((n) => n >= it.from && n <= it.to));
  for (let i = 0; i < items.length; ) {
    let best = { p: 0, rounds: 0 };
    for (let p = 1; p <= MAX_PERIOD && i + p <= items.length; p++) {
      if (items[i + p - 1]!.actor !== items[i]!.actor) break;
      let rounds = 1;
      while (i + (rounds + 1) * p <= items.length && sameRound(i, i + rounds * p, p) && !covers(i + rounds * p, p) && (stopAt === null || items[i + (rounds + 1) * p - 1]!.to < stopAt)) rounds++;
      if (rounds >= MIN_ROUNDS && rounds * p > best.rounds * best.p) best = { p, rounds };
    }
    if (best.p === 0) {
      out.push(items[i]!);
      i++;
      continue;
    }
    const { p, rounds } = best;
    out.push(...items.slice(i, i + p));
    const first = items[i + p]!;
    const last = items[i + rounds * p - 1]!;
    const times = rounds - 1;
    out.push({
      from: first.from,
      to: last.to,
      actor: first.actor,
      cpu: first.cpu,
      call: [`repeats the ${p === 1 ? 'entry' : `${p} entries`} above ${times} more time${times === 1 ? '' : 's'}`],
      notes: [],
      locks: null,
      repeats: { entries: p, times },
    });
    i += rounds * p;
  }
  return out;
}
