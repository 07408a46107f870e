// "Depends on <knob>" (issue 10): a finding may be called a finding of a
// design only if every knob its run consulted is cited from a patch or a
// talk. The runner records the knobs a run read (RunResult.knobsUsed,
// through K.knob); here they are judged against the policy's
// knobSources. The record is every knob the run read, not only those on
// the path to the violation: an over-approximation, never an omission.

import { isUncited } from '../model/kernel/mshare/knob_source.js';
import type { MshareKnobs } from '../model/kernel/mshare/knobs.js';
import type { Policy } from '../model/policies/policy.js';

/** The knobs of `knobsUsed` whose value in `policy` is `unknown`, `guess` or uncited, in the order given. */
export function dependsOn(policy: Pick<Policy, 'mshare' | 'knobSources'>, knobsUsed: readonly string[]): string[] {
  if (!policy.mshare) return [];
  return knobsUsed.filter((k) => isUncited(policy.knobSources?.[k as keyof MshareKnobs]));
}

/** A matrix cell's word for a signature: FOUND, or "DEPENDS ON madvise:" when the finding is not the design's. */
export function cellLabel(policy: Pick<Policy, 'mshare' | 'knobSources'>, knobsUsed: readonly string[] | undefined): string {
  const d = dependsOn(policy, knobsUsed ?? []);
  return d.length ? `DEPENDS ON ${d.join(', ')}:` : 'FOUND';
}

/** The verdict's qualifier: "depends on madvise, gup", or null when the finding rests on cited knobs only. */
export function dependsOnText(policy: Pick<Policy, 'mshare' | 'knobSources'>, knobsUsed: readonly string[] | undefined): string | null {
  const d = dependsOn(policy, knobsUsed ?? []);
  return d.length ? `depends on ${d.join(', ')}` : null;
}
