// The review record's hazards (research/mshare.md 6) as hand-written race
// scenarios in test/scenarios/, each run on the designs it concerns: the
// model must express the hazard where the design has it and hold where
// the design fixed it. Property by property, so one finding does not hide
// another (as in the matrix).

import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import type { Policy } from '../model/policies/policy.js';
import { runScenario } from '../model/run/runner.js';
import { propertyById } from '../properties/registry.js';
import { PROPERTIES } from '../properties/registry.js';
import { scenarioFile as load } from './build.js';

const pol = (name: string) => policyByName(name)!;
const check = (scenario: string, policy: Policy, property: string) => runScenario(load(scenario), { policy, properties: [propertyById(property)!] });

describe('mshare hazards, design by design', () => {
  it('hazard 1: RFC v3 frees a page a sharer still caches; v2 and v3 flush every CPU first', () => {
    const bad = check('hazard7-pud-freed-while-linked', pol('mshare-rfc-v3'), 'no-freed-frame-reachable');
    expect(bad.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'TLB', stepId: 'remove_vma.fput' });
    expect(bad.violation!.message).toMatch(/CPU0 PCID slot 0 \(P0\) maps 0x40000 -> frame \d+, which is free/);
    for (const p of ['mshare-v2', 'mshare-v3']) expect(check('hazard7-pud-freed-while-linked', pol(p), 'no-freed-frame-reachable').verdict).toBe('pass');
  });

  it("hazard 1, seen by unmap-complete: the host-side change returns while a sharer's entry survives", () => {
    const r = check('hazard7-pud-freed-while-linked', pol('mshare-rfc-v3'), 'unmap-complete');
    expect(r.violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_mshare_map.return' });
    expect(r.violation!.message).toContain('(sharer P0)');
  });

  it('hazard 3: a flush to the union of cpumasks misses a dormant sharer slot; flush_tlb_all and per-sharer flushes do not', () => {
    const r = check('hazard3-dormant-sharer-slot', pol('mshare-v3-cpumask-union'), 'no-freed-frame-reachable');
    expect(r.violation).toMatchObject({ holder: 'TLB', stepId: 'remove_vma.fput' });
    for (const p of ['mshare-v3', 'mshare-v3-per-sharer-flush']) expect(check('hazard3-dormant-sharer-slot', pol(p), 'no-freed-frame-reachable').verdict).toBe('pass');
  });

  it('hazard 5: RFC v3 munmap of the msharefs VMA leaves the link and the TLB entry', () => {
    const r = check('hazard5-detach-keeps-link', pol('mshare-rfc-v3'), 'unmap-complete');
    expect(r.violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_munmap.return' });
    // v2 unlinks in free_p4d_range() with a bare p4d_clear(): no gather flag, so no flush at all (issue 9)
    expect(check('hazard5-detach-keeps-link', pol('mshare-v2'), 'unmap-complete').violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_munmap.return', holder: 'TLB' });
    expect(check('hazard5-detach-keeps-link', pol('mshare-v3'), 'unmap-complete').verdict).toBe('pass');
  });

  it("v3's unlink flushes with a P4D stride (tlb_flush_p4d_range): one INVLPG at the VMA start, so a second cached page survives munmap", () => {
    for (const p of ['mshare-v3', 'mshare-v3-proposed']) {
      const r = check('unlink-p4d-stride', pol(p), 'unmap-complete');
      expect(r.violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_munmap.return', holder: 'TLB' });
      expect(r.violation!.message).toContain('still maps 0x41000');
    }
  });

  it('hazard 7: v2 frees the shared PUD table while a sharer links it; v3 keeps it while counted', () => {
    const r = check('hazard7-pud-freed-while-linked', pol('mshare-v2'), 'no-freed-table-reachable');
    expect(r.violation).toMatchObject({ holder: 'upper entry', stepId: 'rcu_do_batch.__tlb_remove_table' });
    expect(check('hazard7-pud-freed-while-linked', pol('mshare-v3'), 'no-freed-table-reachable').verdict).toBe('pass');
  });

  it("hazard 15: v3's DONTNEED runs the unlink hook, not a zap of host PTEs; a zap through the link (madvise 'allowed', no version's code) writes them without the host's lock; refused in the proposal", () => {
    // issue 10: v3 sends MADV_DONTNEED on the window to mshare_vm_op_unshare_page_range()
    const v3 = runScenario(load('hazard15-madvise-through-sharer'), { policy: pol('mshare-v3'), properties: PROPERTIES });
    expect(v3.verdict).toBe('pass');
    expect(v3.trace.map((e) => e.id)).toContain('mshare_vm_op_unshare_page_range.p4d_clear');
    const allowed = applyVariant(pol('mshare-v3'), defineVariant({ name: 'madvise-zaps-through-link', description: "madvise: 'allowed'", edit: (v) => v.knobs({ madvise: 'allowed' }) }));
    const r = check('hazard15-madvise-through-sharer', allowed, 'lock-discipline');
    expect(r.violation).toMatchObject({ holder: 'locks', stepId: 'zap_pte_range.clear' });
    expect(r.violation!.message).toContain('without mmap_lock:M.host');
    const proposed = runScenario(load('hazard15-madvise-through-sharer'), { policy: pol('mshare-v3-proposed'), properties: PROPERTIES });
    expect(proposed.verdict).toBe('pass');
    expect(proposed.trace.some((e) => e.id === 'sys_madvise.return' && e.obs?.kind === 'return' && e.obs.result === 'EINVAL')).toBe(true);
  });

  it('hazard 16: get_user_pages walks host tables freed under it; taking the host lock holds', () => {
    const r = check('hazard16-gup-walker', pol('mshare-v3'), 'no-freed-table-reachable');
    expect(r.violation).toMatchObject({ holder: 'walker', stepId: 'rcu_do_batch.__tlb_remove_table' });
    expect(r.coverage.walker_in_host_tables_at_free).toBeGreaterThan(0);
    expect(check('hazard16-gup-walker', pol('mshare-v3-proposed'), 'no-freed-table-reachable').verdict).toBe('pass');
  });

  it('option (b) sleeps on i_mmap_rwsem under a PTE lock (lock-discipline)', () => {
    const r = check('per-sharer-flush-under-ptl', pol('mshare-v3-per-sharer-flush'), 'lock-discipline');
    expect(r.violation).toMatchObject({ holder: 'locks', stepId: 'mshare_invalidate_tlbs.i_mmap_lock_read' });
    expect(r.violation!.message).toMatch(/might_sleep \(i_mmap_rwsem:M\) in atomic context holding ptl:/);
  });

  it("options (b) and (c) miss a detached sharer's lazy paging-structure cache; flush_tlb_all does not", () => {
    for (const p of ['mshare-v3-per-sharer-flush', 'mshare-v3-cpumask-union']) {
      const r = check('lazy-psc-detached-sharer', pol(p), 'no-freed-table-reachable');
      expect(r.violation, p).toMatchObject({ holder: 'PSC' });
      expect(r.violation!.message).toContain('(P0, lazy)');
    }
    expect(check('lazy-psc-detached-sharer', pol('mshare-v3'), 'no-freed-table-reachable').verdict).toBe('pass');
  });
});

describe('notifier pass-through (mshare-v3-proposed)', () => {
  it("walks i_mmap around a host-side change, and only there", () => {
    const r = runScenario(load('hazard7-pud-freed-while-linked'), { policy: pol('mshare-v3-proposed'), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.map((e) => e.id);
    expect(ids).toContain('mshare_invalidate_range_start.i_mmap_lock_read');
    expect(ids.indexOf('mshare_invalidate_range_start.i_mmap_lock_read')).toBeLessThan(ids.indexOf('zap_pte_range.clear'));
    expect(ids.indexOf('mshare_invalidate_range_end.i_mmap_unlock_read')).toBeGreaterThan(ids.indexOf('zap_pte_range.clear'));
    const v3 = runScenario(load('hazard7-pud-freed-while-linked'), { policy: pol('mshare-v3'), properties: PROPERTIES });
    expect(v3.trace.some((e) => e.id.startsWith('mshare_invalidate_range_'))).toBe(false);
  });
});

describe('share-count', () => {
  it('holds when links are made under the PTL with a recheck (v3)', () => {
    expect(check('link-race', pol('mshare-v3'), 'share-count').verdict).toBe('pass');
  });

  it('fails when two faults link at once without the PTL and recheck', () => {
    const noRecheck = applyVariant(pol('mshare-v3'), defineVariant({ name: 'link-without-ptl', description: 'set_p4d without page_table_lock or recheck', edit: (v) => v.knobs({ linkLocking: 'none' }) }));
    const r = check('link-race', noRecheck, 'share-count');
    expect(r.violation).toMatchObject({ property: 'share-count' });
    expect(r.violation!.message).toMatch(/pt_share_count of M's PUD table \d+ is 2, but 1 sharer entry links to it/);
  });
});
