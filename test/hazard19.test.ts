// Hazard 19 (docs/mshare-hazards.md): the notifier pass-through of a
// shared-table design. (a) computed: passing the host's
// arch_invalidate_secondary_tlbs() through to the sharers (what an SVA
// device TLB on a sharer needs) takes i_mmap_rwsem where the page-table
// lock may be held; mshare-v3-proposed passes through only
// invalidate_range_start/end and holds on the same operations.

import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { loadCounterexample } from '../reports/counterexample.js';
import { PROPERTIES } from '../properties/registry.js';
import passthroughSecondaryTlbs from '../patches/passthrough-secondary-tlbs.js';

describe('hazard 19 (a): the pass-through of arch_invalidate_secondary_tlbs', () => {
  // the operations of per-sharer-flush's saved sleep under the PTL: a sharer writes its window, then exits
  const { scenario } = loadCounterexample('counterexamples/mshare-v3-per-sharer-flush-lock-discipline-4e8ccbefa9d1.json');
  const proposed = policyByName('mshare-v3-proposed')!;

  it('sleeps on i_mmap_rwsem under the page-table lock', () => {
    const r = runScenario(scenario, { policy: applyVariant(proposed, passthroughSecondaryTlbs), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', stepId: 'passthrough-secondary-tlbs:i_mmap_lock_read' });
    expect(r.violation!.message).toMatch(/might_sleep \(i_mmap_rwsem:M\) in atomic context holding ptl:/);
  });

  it('mshare-v3-proposed, passing through only start and end, holds on the same operations', () => {
    expect(runScenario(scenario, { policy: proposed, properties: PROPERTIES }).verdict).toBe('pass');
  });
});
