// What a finding is: the property, who still holds the bad translation,
// and the kernel function of the step that broke it. Deduplication, the
// matrix and the shrinker (which keeps it fixed) all use it.

import type { RunResult } from '../model/run/runner.js';

export function signatureOf(r: RunResult): string | null {
  if (r.verdict === 'model-error') return `model-error|${r.error}`;
  if (!r.violation) return null;
  const v = r.violation;
  return `${v.property}|${v.holder}|${v.stepId.split('.')[0]}`;
}

