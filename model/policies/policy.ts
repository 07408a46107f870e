// A policy is a named design: for every kernel path, its list of steps.
// Paths are data, so a variant (SPEC 4.4) is an edit of these lists by
// step id, and the runner never needs to know which design it runs.

import type { MshareKnobs } from '../kernel/mshare/knobs.js';
import type { Gen, K } from '../kernel/step.js';

export type StepResult = void | 'stop';
/** One step of a path: `c` is the path's locals, shared by its steps. */
export type StepFn<C = any> = (k: K, c: C) => Gen<StepResult>;

export interface StepDef<C = any> {
  /** Stable id, "kernel_function.what" (reports, variants and tests use it). */
  id: string;
  fn: StepFn<C>;
}

export interface Policy {
  name: string;
  /** When the design was posted (YYYY-MM or YYYY-MM-DD). */
  date: string;
  description: string;
  paths: Record<string, StepDef[]>;
  /** The mshare design, or null for a kernel without mshare. */
  mshare: MshareKnobs | null;
}

export const STOP_STEP = 'stop' as const;

export function step<C>(id: string, fn: StepFn<C>): StepDef<C> {
  return { id, fn };
}

/** Every step id of a policy with the path that holds it. */
export function stepIndex(p: Policy): Map<string, string> {
  const m = new Map<string, string>();
  for (const [path, steps] of Object.entries(p.paths)) for (const st of steps) m.set(st.id, path);
  return m;
}
