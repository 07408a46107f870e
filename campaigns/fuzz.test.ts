// fuzz()'s `base`: a run counts as a finding only when the base policy
// passes the same scenario (what the bench measures a mutant by).

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import noIpi from '../variants/no-ipi.js';
import { fuzz } from './fuzz.js';

describe('fuzz with a base policy', () => {
  const broken = applyVariant(linux, noIpi);

  it('counts a run the base passes: the mutant is found as without a base', () => {
    const plain = fuzz({ policy: broken, seed: 'base', runs: 200 });
    const vsLinux = fuzz({ policy: broken, seed: 'base', runs: 200, base: linux });
    expect(plain.finding).not.toBeNull();
    expect(vsLinux.finding?.runIndex).toBe(plain.finding!.runIndex);
    expect(runScenario(vsLinux.finding!.original, { policy: linux, properties: PROPERTIES }).verdict).toBe('pass');
  });

  it('does not count a run the base fails too: a policy measured against itself finds nothing', () => {
    const r = fuzz({ policy: broken, seed: 'base', runs: 200, base: broken });
    expect(r.finding).toBeNull();
    expect(r.runs).toBe(200);
  });
});
