// What a property sees after each atomic step, and what it reports.

import type { IdealVerdict } from '../model/ideal/ideal.js';
import type { Observation, StepNote, WaitFor } from '../model/kernel/step.js';
import type { KernelState } from '../model/kernel/state.js';
import type { Policy } from '../model/policies/policy.js';

export interface StepEvent {
  /** 1-based step number in the run. */
  n: number;
  actor: string;
  cpu: number;
  id: string;
  obs?: Observation;
  notes: StepNote[];
  /** Locks the actor holds after the step. */
  locks: string[];
}

export interface CheckContext {
  s: KernelState;
  /** The design under test (its mshare knobs decide what share-count checks). */
  policy: Policy;
  event: StepEvent;
  /** The ideal memory's verdict on this step's observation, if it had one. */
  ideal: IdealVerdict | null;
  /** Blocked actors and what each waits for. */
  blocked: Map<string, WaitFor>;
  /** True when no actor can run although some thread has not finished. */
  stalled: boolean;
  /** True when the run used up config.maxSteps. */
  budgetExhausted: boolean;
}

/** Who still holds the bad translation: SPEC 6 signatures use it. */
export type Holder = 'TLB' | 'PSC' | 'PTE' | 'upper entry' | 'walker' | 'ideal' | 'locks' | 'scheduler';

export interface Finding {
  message: string;
  holder: Holder;
}

export interface Property {
  /** Stable id used by reports, tests and the matrix. */
  id: string;
  /** One line: what must hold. */
  statement: string;
  /** The kernel rule it comes from. */
  rule: string;
  check(ctx: CheckContext): Finding | null;
}

export interface Violation extends Finding {
  property: string;
  step: number;
  actor: string;
  stepId: string;
}
