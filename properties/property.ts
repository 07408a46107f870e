// A property: a check of the runner's contract (model/run/check.ts) with
// the statement and the kernel rule that reports and the README print.

import type { Check } from '../model/run/check.js';

export type { CheckContext, Finding, Holder, StepEvent, Violation } from '../model/run/check.js';

export interface Property extends Check {
  /** One line: what must hold. */
  statement: string;
  /** The kernel rule it comes from. */
  rule: string;
}
