// Every step id that fuzzed runs of every named policy yield, with the
// properties off so runs go to their end: what bench/step_ids.ts writes
// into model/run/step_ids.ts and what step_ids.test.ts checks it against.

import fc from 'fast-check';
import { POLICIES } from '../model/policies/registry.js';
import { runScenario } from '../model/run/runner.js';
import { opKindsFor, rawScenarioArb, resolve } from '../properties/generate/scenario_arb.js';
import { runSeeds } from './fuzz.js';

export function fuzzedStepIds(runsPerPolicy: number, seed: string): Set<string> {
  const ids = new Set<string>();
  for (const p of POLICIES) {
    const arb = rawScenarioArb({ ops: opKindsFor(p.mshare), mshare: p.mshare });
    const next = runSeeds(`${seed}/${p.name}`);
    for (let i = 0; i < runsPerPolicy; i++) {
      const sc = resolve(fc.sample(arb, { seed: next(), numRuns: 1 })[0]!, p.mshare);
      for (const e of runScenario(sc, { policy: p, properties: [] }).trace) ids.add(e.id);
    }
  }
  return ids;
}
