// A schedule rewritten from step counts to step ids. "Run T0 for 26
// steps" stops somewhere else as soon as an operation before that point
// is deleted; "run T0 until user_access.walk" still stops at the walk.
// The shrinker tries this form after every deletion, before searching.
//
// The runner does not say which entry produced which step, so the slices
// are recovered from the trace by replaying the runner's pick rule
// (model/run/runner.ts): an entry is consulted when the current actor's
// bound is used up or when it cannot run; the first entry naming the
// actor that took the next step is the one taken (every entry before it
// named an actor that could not run, or that actor would have stepped).
// An entry taken by an actor that blocked at once has no slice; it had
// no effect and is dropped.

import type { ScheduleEntry } from '../model/run/scenario.js';
import type { StepEvent } from '../properties/property.js';

/** The trace indices [from, to) each entry ran, or null for an entry without effect. */
export interface Slice {
  from: number;
  to: number;
}

export function entrySlices(schedule: readonly ScheduleEntry[], trace: readonly Pick<StepEvent, 'actor' | 'id'>[]): (Slice | null)[] {
  const slices: (Slice | null)[] = schedule.map(() => null);
  let idx = 0;
  let cur: string | null = null;
  let remaining = Infinity;
  let until: string | undefined;
  let entry = -1;
  trace.forEach((e, i) => {
    if (cur === null || remaining <= 0 || e.actor !== cur) {
      let j = idx;
      while (j < schedule.length && schedule[j]!.actor !== e.actor) j++;
      if (j < schedule.length) {
        entry = j;
        idx = j + 1;
        remaining = schedule[j]!.steps ?? Infinity;
        until = schedule[j]!.until;
        slices[j] = { from: i, to: i };
      } else {
        entry = -1; // every remaining entry was skipped: canonical order from here on
        idx = schedule.length;
        remaining = Infinity;
        until = undefined;
      }
      cur = e.actor;
    }
    remaining = until !== undefined && e.id === until ? 0 : remaining - 1;
    if (entry >= 0) slices[entry]!.to = i + 1;
  });
  return slices;
}

/** The last entry's bound never matters: after it the current actor runs on either way. */
export function normalizeSchedule(schedule: readonly ScheduleEntry[]): ScheduleEntry[] {
  if (schedule.length === 0) return [];
  const out = schedule.slice(0, -1).map((e) => ({ ...e }));
  out.push({ actor: schedule[schedule.length - 1]!.actor });
  return out;
}

/**
 * Each entry that had an effect, bounded by the id of the last step it
 * took when that id occurs once in its slice (else by the step count);
 * an entry whose actor blocked before its bound becomes unbounded.
 */
export function untilForm(schedule: readonly ScheduleEntry[], trace: readonly Pick<StepEvent, 'actor' | 'id'>[]): ScheduleEntry[] {
  const slices = entrySlices(schedule, trace);
  const out: { e: ScheduleEntry; s: Slice }[] = [];
  schedule.forEach((e, j) => {
    const s = slices[j];
    if (!s || s.to === s.from) return;
    const prev = out[out.length - 1];
    // Two entries of one actor back to back are one slice.
    const merged = prev && prev.e.actor === e.actor && prev.s.to === s.from ? { from: prev.s.from, to: s.to } : s;
    const ids = trace.slice(merged.from, merged.to).map((x) => x.id);
    const last = ids[ids.length - 1]!;
    const bounded = (e.steps !== undefined && s.to - s.from === e.steps) || (e.until !== undefined && last === e.until);
    const entry: ScheduleEntry = !bounded ? { actor: e.actor } : ids.indexOf(last) === ids.length - 1 ? { actor: e.actor, until: last } : { actor: e.actor, steps: ids.length };
    if (merged !== s) out.pop();
    out.push({ e: entry, s: merged });
  });
  return normalizeSchedule(out.map((x) => x.e));
}
