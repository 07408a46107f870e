// The loop budget of variant code (issue 8, "bounded work"). A variant is
// user code that runs inside the model's steps; a hook that loops without
// yielding would hang the tool, and a clock cannot bound it without making
// results depend on timing. So the loader instruments every loop of a
// variant's source with a call to tickVariantBudget() (instrument.ts), and
// the runner resets the budget before every step it resumes: a variant may
// run VARIANT_LOOP_BUDGET loop iterations per step, counted, not timed.

/** Loop iterations a variant may run between two scheduling points. */
export const VARIANT_LOOP_BUDGET = 1_000_000;

export class VariantBudgetError extends Error {
  override name = 'VariantBudgetError';
}

let left = VARIANT_LOOP_BUDGET;
let owner = '(no variant)';

/** Called by instrumented variant code at the top of every loop body. */
export function tickVariantBudget(): void {
  if (--left < 0) {
    left = VARIANT_LOOP_BUDGET; // so the error path itself is not charged
    throw new VariantBudgetError(`variant '${owner}' ran ${VARIANT_LOOP_BUDGET} loop iterations without reaching a scheduling point (a hook that never yields)`);
  }
}

/** A fresh budget: before each step, each import and each edit(). */
export function resetVariantBudget(): void {
  left = VARIANT_LOOP_BUDGET;
}

/** Name the variant whose code runs now, for the error. */
export function setVariantBudgetOwner(name: string): void {
  owner = name;
}
