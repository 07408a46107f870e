// Open findings of mainline as modelled (docs/findings/): each saved
// counterexample still shows its violation on linux, and each fix
// candidate the finding's page names removes it on the same schedule.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { loadCounterexample } from '../reports/counterexample.js';
import { policyByName } from '../model/policies/registry.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
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

describe('docs/findings/mshare-v2-model-error-pct.md (fixed: a kernel walk into a freed table ends the run)', () => {
  const cx = loadCounterexample('docs/findings/mshare-v2-model-error-pct.json');
  const v2 = policyByName('mshare-v2')!;

  it('checking no-freed-frame-reachable alone, the run stops where the walk would read the freed table: no model error', () => {
    const r = runScenario(cx.scenario, { policy: v2, properties: [propertyById('no-freed-frame-reachable')!] });
    expect(r.verdict).toBe('pass');
    expect(r.error).toBeNull();
    expect(r.stopped).toMatch(/^T0: a walk of P0 at 0x41000 went through a level-4 entry to frame 2, which is no longer a page table$/);
  });

  it('checking no-freed-table-reachable, the link is reported at the free, before any walk', () => {
    const r = runScenario(cx.scenario, { policy: v2, properties: PROPERTIES.filter((p) => p.id !== 'lock-discipline') });
    expect(r.violation).toMatchObject({ property: 'no-freed-table-reachable', stepId: 'rcu_do_batch.__tlb_remove_table' });
    expect(r.stopped).toBeUndefined();
  });
});

describe('docs/policies/mshare-v3-proposed.md: a sharer detaching inside the host invalidate window (notifier-balance)', () => {
  const cx = loadCounterexample('counterexamples/mshare-v3-proposed-notifier-balance-8ec9c4a6bf69.json');
  const policy = policyByName('mshare-v3-proposed')!;

  it("the host's start reaches P0's KVM, P0's munmap takes its window out of i_mmap, and the host's end never reaches it", () => {
    const r = runScenario(cx.scenario, { policy, properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'notifier-balance', stepId: 'sys_mshare_map.return' });
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    const begin = ids.indexOf('T2:kvm_mmu_invalidate_begin');
    const unlink = ids.findIndex((x) => x.startsWith('T3:unlink_file_vma'));
    expect(begin).toBeGreaterThan(-1);
    expect(unlink).toBeGreaterThan(begin);
    expect(ids.slice(unlink)).not.toContain('T2:kvm_mmu_invalidate_end');
  });

  it('holds when the sharer does not detach (the same operations without T3)', () => {
    const sc = { ...cx.scenario, threads: cx.scenario.threads.filter((t) => t.name !== 'T3'), schedule: (cx.scenario.schedule ?? []).filter((e) => e.actor !== 'T3') };
    expect(runScenario(sc, { policy, properties: PROPERTIES }).verdict).toBe('pass');
  });
});
