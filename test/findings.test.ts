// Open findings of mainline as modelled (docs/findings/): each saved
// counterexample still shows its violation on linux, and each fix
// candidate the finding's page names removes it on the same schedule.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { loadCounterexample } from '../reports/counterexample.js';
import { PROPERTIES } from '../properties/registry.js';
import flushBeforeRemoveMapping from '../patches/reclaim-flush-before-remove-mapping.js';

describe('docs/findings/reclaim-refault-stale-read.md', () => {
  const cx = loadCounterexample('docs/findings/linux-read-value-34a78abf032a.json');

  it('linux reads the old folio through the pending batch after the refault was written', () => {
    const r = runScenario(cx.scenario, { policy: linux, properties: PROPERTIES });
    expect(r.violation?.property).toBe('read-value');
    expect(r.violation?.stepId).toBe('user_access.tlb_hit');
    // the order the page describes: the folio leaves the page cache before the batch flush
    const ids = r.trace.map((e) => e.id);
    expect(ids.indexOf('__remove_mapping')).toBeGreaterThan(-1);
    expect(ids.indexOf('__remove_mapping')).toBeLessThan(ids.lastIndexOf('arch_tlbbatch_flush.send') === -1 ? Infinity : ids.lastIndexOf('arch_tlbbatch_flush.send'));
  });

  it('the fix candidate (flush before __remove_mapping) holds on the same schedule', () => {
    const r = runScenario(cx.scenario, { policy: applyVariant(linux, flushBeforeRemoveMapping), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    // T2's refault, blocked behind nothing now, finds the old folio still in the page cache while the
    // batch flush waits for CPU0, maps it and writes it; __remove_mapping()'s folio_ref_freeze() then
    // fails on that mapping's reference and the folio is kept: both processes see one folio
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    expect(ids).toContain('T2:filemap_fault');
    expect(ids.indexOf('T2:filemap_fault')).toBeLessThan(ids.indexOf('T1:arch_tlbbatch_flush.wait'));
    expect(ids).toContain('T1:__remove_mapping.ref_freeze_failed');
  });
});
