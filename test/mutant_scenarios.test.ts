// Every kept mutant has its hand scenario as a file: test/scenarios/mutants/F.txt
// for variants/F.ts. The file's header names the violation its schedule
// gives on the variant; this test recomputes it, and checks that the base
// policy holds on the same schedule. bench/explore.ts --part mutants
// explores the files' operations (docs/bench.md), so a file that stopped
// exposing its mutant would silently turn that table into noise.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { parseScenario } from '../reports/scenario_text.js';

const DIR = 'test/scenarios/mutants';
const variants = readdirSync('variants').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).map((f) => f.replace(/\.txt$/, '')).sort();

describe('the hand scenario of every kept mutant', () => {
  it('each variant has one file and each file a variant', () => {
    expect(files).toEqual(variants);
  });

  for (const name of files) {
    it(`${name}: fails as its header says on the variant, holds on the base policy`, async () => {
      const text = readFileSync(`${DIR}/${name}.txt`, 'utf8');
      const claim = /^# fails (\S+) at (\S+) (\S+) on the variant and holds on (\S+)\.$/m.exec(text);
      expect(claim, `${DIR}/${name}.txt: header line '# fails P at ACTOR STEP on the variant and holds on POLICY.'`).not.toBeNull();
      const [, property, actor, stepId, baseName] = claim!;
      const v = await loadVariant(`variants/${name}.ts`);
      const base = policyByName(v.spec.policy ?? 'linux')!;
      expect(base.name).toBe(baseName);
      const sc = parseScenario(text, `${DIR}/${name}.txt`);
      expect(runScenario(sc, { policy: base, properties: PROPERTIES }).verdict).toBe('pass');
      const bad = runScenario(sc, { policy: applyVariant(base, v.spec), properties: PROPERTIES });
      expect(bad.violation).toMatchObject({ property, actor, stepId });
    });
  }
});
