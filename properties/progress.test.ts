// progress fires when a run uses up its step budget (a retry livelock), on
// the last step the budget allowed, and holds on linux for the same scenario.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { faultNeverMaps, neverMapsLivelock } from '../test/mutant_cases.js';
import { progress } from './progress.js';
import { PROPERTIES } from './registry.js';

describe('progress', () => {
  it('fires when a fault handler that never installs the PTE refaults until the budget is gone', () => {
    const sc = neverMapsLivelock(); // maxSteps 300
    const good = runScenario(sc, { policy: linux, properties: [progress] });
    expect(good.verdict).toBe('pass');
    expect(good.steps).toBeLessThan(300);
    expect(runScenario(sc, { policy: applyVariant(linux, faultNeverMaps), properties: [progress] }).violation).toEqual({
      property: 'progress', holder: 'scheduler', step: 300, actor: 'T0', stepId: 'do_anonymous_page.pte_unmap_unlock',
      message: 'no progress within 300 steps (retry livelock?)',
    });
  });

  it('is reported, never dropped: the run does not pass when the budget runs out', () => {
    // Without progress among the properties the runner stops at the budget
    // and passes; with it, the same run is a violation.
    const broken = applyVariant(linux, faultNeverMaps);
    expect(runScenario(neverMapsLivelock(), { policy: broken, properties: [] })).toMatchObject({ verdict: 'pass', steps: 300 });
    expect(runScenario(neverMapsLivelock(), { policy: broken, properties: PROPERTIES })).toMatchObject({ verdict: 'violation', violation: { property: 'progress' } });
  });
});
