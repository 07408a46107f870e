// The one question every shrinker asks: does this scenario still break
// the property the same way (the same signature, campaigns/fuzz.ts)?
//
// Most candidates do not, so a run first checks the target property
// alone. Properties are pure predicates over the state and never steer
// the run, so until the full run stops, both runs take the same steps;
// if the full run reproduces the signature at step n, nothing fired
// before n and the lone target property fires at n with the same
// finding. A run that misses with the target alone therefore misses
// with all of them, and only hits are run again with every property.
// About twice as fast on the misses, which are most runs.

import type { Policy } from '../model/policies/policy.js';
import { runScenario, ScenarioError, type RunResult } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { signatureOf } from '../properties/signature.js';
import type { Property } from '../properties/property.js';
import { PROPERTIES } from '../properties/registry.js';

export class Oracle {
  /** Runs done so far, for budgets and benchmarks. */
  runs = 0;
  private readonly alone: readonly Property[] | undefined;

  constructor(
    readonly policy: Policy,
    readonly signature: string,
    /** The properties the finding was checked with (a campaign may narrow them); all by default. */
    readonly properties: readonly Property[] = PROPERTIES,
  ) {
    // A model error is independent of the properties: check none first.
    // A property outside the set leaves the probe a full run.
    const id = signature.split('|')[0]!;
    const p = properties.find((x) => x.id === id);
    this.alone = id === 'model-error' ? [] : p ? [p] : undefined;
  }

  /** One run; a scenario the runner refuses (ScenarioError) reproduces nothing and has no trace. */
  private run(sc: Scenario, properties: readonly Property[]): RunResult | null {
    this.runs++;
    try {
      return runScenario(sc, { policy: this.policy, properties });
    } catch (e) {
      if (e instanceof ScenarioError) return null;
      throw e;
    }
  }

  /** A run whose trace the searches read; checks the target property only, so it may run past other violations. */
  probe(sc: Scenario): RunResult | null {
    return this.run(sc, this.alone ?? this.properties);
  }

  /** The full run when `sc` reproduces the signature, else null. */
  confirm(sc: Scenario): RunResult | null {
    const r = this.run(sc, this.properties);
    return r && signatureOf(r) === this.signature ? r : null;
  }

  /** Probe, then confirm a hit: the full run if `sc` reproduces, else null. */
  reproduce(sc: Scenario): { result: RunResult | null; probe: RunResult | null } {
    const probe = this.probe(sc);
    const hit = probe !== null && signatureOf(probe) === this.signature;
    if (this.alone === undefined) return { result: hit ? probe : null, probe };
    return { result: hit ? this.confirm(sc) : null, probe };
  }
}
