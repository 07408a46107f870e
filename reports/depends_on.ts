// "Depends on <knob>" (issue 10): a finding may be called a finding of a
// design only if every knob its run consulted is cited from a patch or a
// talk. The runner records the knobs a run read (RunResult.knobsUsed,
// through K.knob); here they are judged against the policy's
// knobSources. The record is every knob the run read, not only those on
// the path to the violation: an over-approximation, never an omission.
// When the scenario is at hand, each uncited knob is then put to the test:
// the counterexample is replayed under every other value of that knob, and
// the finding depends on it only if some value loses its signature. A
// knob every run reads (mshare-2026's listJoin, at each attach) then no
// longer taints a finding that happens whatever its value.

import { isUncited } from '../model/kernel/mshare/knob_source.js';
import { otherValues, type MshareKnobs } from '../model/kernel/mshare/knobs.js';
import type { Policy } from '../model/policies/policy.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import type { CounterexampleFile } from './counterexample.js';
import type { Property } from '../properties/property.js';
import { signatureOf } from '../properties/signature.js';

/** The knobs of `knobsUsed` whose value in `policy` is `unknown`, `guess` or uncited, in the order given. */
export function dependsOn(policy: Pick<Policy, 'mshare' | 'knobSources'>, knobsUsed: readonly string[]): string[] {
  if (!policy.mshare) return [];
  // a knob the design does not have (mshare-2026's list knobs under v3) decides nothing there
  return knobsUsed.filter((k) => policy.mshare![k as keyof MshareKnobs] !== undefined && isUncited(policy.knobSources?.[k as keyof MshareKnobs]));
}

/** The finding to put to the test: its scenario, its signature and the properties it was checked with. */
export interface Evidence {
  scenario: Scenario;
  signature: string;
  properties: readonly Property[];
}

/**
 * The uncited knobs of `knobsUsed` the finding really depends on: those
 * for which replaying `evidence` under some other value of the knob does
 * not reproduce its signature (a replay that cannot run counts as lost).
 */
export function dependsOnReplayed(policy: Policy, knobsUsed: readonly string[], evidence: Evidence): string[] {
  const still = (knob: keyof MshareKnobs, value: unknown) => {
    const p: Policy = { ...policy, mshare: { ...policy.mshare!, [knob]: value } };
    try {
      return signatureOf(runScenario(evidence.scenario, { policy: p, properties: evidence.properties })) === evidence.signature;
    } catch {
      return false;
    }
  };
  return dependsOn(policy, knobsUsed).filter((k) => {
    const knob = k as keyof MshareKnobs;
    return otherValues(knob, policy.mshare![knob]).some((v) => !still(knob, v));
  });
}

/** "depends on madvise", from the replays, or null when the finding holds under every value of its uncited knobs. */
export function dependsOnReplayedText(policy: Policy, knobsUsed: readonly string[] | undefined, evidence: Evidence): string | null {
  const d = dependsOnReplayed(policy, knobsUsed ?? [], evidence);
  return d.length ? `depends on ${d.join(', ')}` : null;
}

/** The same judgement for a saved finding: its run replayed for the knobs it consulted, then each uncited one put to the test. */
export function counterexampleDependsOn(policy: Policy, cx: CounterexampleFile, properties: readonly Property[]): string[] {
  if (!policy.mshare || cx.verdict.result !== 'violation') return [];
  const r = runScenario(cx.scenario, { policy, properties });
  return dependsOnReplayed(policy, r.knobsUsed, { scenario: cx.scenario, signature: cx.signature, properties });
}
