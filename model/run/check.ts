// The contract between the runner and whatever checks a run: what a check
// sees after each atomic step, and what it reports. The runner takes its
// checks from the caller (properties/registry.ts holds the properties;
// the report adds a recorder), so model/run depends on no layer above it.

import type { IdealVerdict } from '../ideal/ideal.js';
import type { Observation, PathTable, StepNote, WaitFor } from '../kernel/step.js';
import type { KernelState } from '../kernel/state.js';

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
  policy: PathTable;
  event: StepEvent;
  /** The ideal memory's verdict on this step's observation, if it had one. */
  ideal: IdealVerdict | null;
  /** Blocked actors and what each waits for. */
  blocked: Map<string, WaitFor>;
  /** True when no actor can run although some thread has not finished. */
  stalled: boolean;
  /** True when the run used up config.maxSteps. */
  budgetExhausted: boolean;
  /**
   * This check's own ghost memory for this run (empty at the first step):
   * a property that needs what happened at an earlier step (a link that
   * went away, a shared entry that changed) keeps it here, never in the
   * kernel state.
   */
  mem: Record<string, unknown>;
  /**
   * Shared by every check of this step and dropped after it (the state does
   * not change between two checks of one step): what several properties
   * derive from the whole state, computed once (properties/reach.ts).
   */
  stepCache: Map<unknown, unknown>;
}

/** Who still holds the bad translation: SPEC 6 signatures use it. */
export type Holder = 'TLB' | 'PSC' | 'PTE' | 'upper entry' | 'walker' | 'ideal' | 'locks' | 'scheduler' | 'SPTE' | 'guest TLB' | 'notifier' | 'device TLB' | 'device PSC' | 'guest PSC' | 'EPTP';

export interface Finding {
  message: string;
  holder: Holder;
}

/** A named predicate checked after every step; the first that fails stops the run. */
export interface Check {
  /** Stable id used by reports, tests and the matrix. */
  id: string;
  check(ctx: CheckContext): Finding | null;
}

export interface Violation extends Finding {
  property: string;
  step: number;
  actor: string;
  stepId: string;
}
