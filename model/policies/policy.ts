// A policy is a named design: for every kernel path, its list of steps.
// Paths are data, so a variant (SPEC 4.4) is an edit of these lists by
// step id, and the runner never needs to know which design it runs.

import type { KnobSources } from '../kernel/mshare/knob_source.js';
import { step, STOP_STEP, type PathTable, type StepDef, type StepFn, type StepResult } from '../kernel/step.js';

// The step vocabulary lives with the kernel model (model/kernel/step.ts);
// re-exported here for variants, which see it as part of the policy API.
export { step, STOP_STEP };
export type { StepDef, StepFn, StepResult };

export interface Policy extends PathTable {
  /** When the design was posted (YYYY-MM or YYYY-MM-DD). */
  date: string;
  description: string;
  /** mshare designs: where each knob's value comes from (issue 10); a finding that consulted an uncited one "depends on" it. */
  knobSources?: KnobSources;
}

/** Every step id of a policy with the path that holds it. */
export function stepIndex(p: PathTable): Map<string, string> {
  const m = new Map<string, string>();
  for (const [path, steps] of Object.entries(p.paths)) for (const st of steps) m.set(st.id, path);
  return m;
}
