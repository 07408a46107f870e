// Every kept mutant has a hand scenario (test/mutant_scenarios.ts): its
// schedule gives the named violation on the variant, and the base policy
// holds on it. Recomputed here, since bench/explore.ts --part mutants
// explores the same files.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { parseScenario } from '../reports/scenario_text.js';
import { MUTANT_SCENARIOS } from './mutant_scenarios.js';

const variants = readdirSync('variants').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();

describe('the hand scenario of every kept mutant', () => {
  it('each variant has a row and each row a variant', () => {
    expect(Object.keys(MUTANT_SCENARIOS).sort()).toEqual(variants);
  });

  it('every file of test/scenarios/mutants is some row\'s scenario', () => {
    const used = new Set(Object.values(MUTANT_SCENARIOS).map((m) => m.scenario));
    expect(readdirSync('test/scenarios/mutants').map((f) => `test/scenarios/mutants/${f}`).filter((f) => !used.has(f))).toEqual([]);
  });

  for (const [name, m] of Object.entries(MUTANT_SCENARIOS)) {
    it(`${name}: ${m.property} at ${m.actor} ${m.stepId} on the variant, holds on the base policy (${m.scenario})`, async () => {
      const v = await loadVariant(`variants/${name}.ts`);
      const base = policyByName(v.spec.policy ?? 'linux')!;
      const sc = parseScenario(readFileSync(m.scenario, 'utf8'), m.scenario);
      expect(runScenario(sc, { policy: base, properties: PROPERTIES }).verdict).toBe('pass');
      const bad = runScenario(sc, { policy: applyVariant(base, v.spec), properties: PROPERTIES });
      expect(bad.violation).toMatchObject({ property: m.property, actor: m.actor, stepId: m.stepId });
    });
  }
});
