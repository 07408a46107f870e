// Migration of a page of an msharefs region (issue 12 item 6; knob
// migrate, paths/migrate.ts): move_pages() through a window walks the
// sharer's link to the folio, and try_to_migrate()'s rmap walk reaches the
// host's inner VMA only, so the flush that must reach every sharer's CPUs
// before migrate_folio_done() frees the old folio is the design's host
// flush. The verdicts below are computed per policy, each from its knobs.

import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import type { Policy } from '../model/policies/policy.js';
import { runScenario } from '../model/run/runner.js';
import { validateScenario } from '../model/run/validate.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { scenarioFile } from './build.js';
import { expectOrder } from './trace.js';

const WINDOW = scenarioFile('mshare-migrate-window');
const WINDOW_2026 = scenarioFile('m2026-migrate-window');
const policy = (name: string) => policyByName(name)!;
const withKnob = (p: Policy, knobs: Partial<NonNullable<Policy['mshare']>>): Policy => ({ ...p, name: `${p.name}+test`, mshare: { ...p.mshare!, ...knobs } });
/** The properties a migration's flush answers to (the link-locking findings of RFC v3 and v2 are left out: they come first). */
const FLUSH = ['no-freed-frame-reachable', 'read-value', 'unmap-complete'].map((id) => propertyById(id)!);

describe('move_pages() of a page of an msharefs region', () => {
  it('is accepted under every mshare policy', () => {
    for (const p of ['mshare-rfc-v3', 'mshare-v2', 'mshare-v3', 'mshare-v3-proposed']) expect(validateScenario(WINDOW, policy(p))).toBeNull();
    expect(validateScenario(WINDOW_2026, policy('mshare-2026'))).toBeNull();
  });

  it('v3: the rmap visits the host only, and ptep_clear_flush() reaches CPU0 through mshare_invalidate_tlbs() -> flush_tlb_all() before the old folio is freed', () => {
    const r = runScenario(WINDOW, { policy: policy('mshare-v3'), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.filter((e) => e.actor === 'T1').map((e) => e.id);
    expect(ids).toContain('add_folio_for_migration.folio_isolate_lru');
    expect(ids.filter((id) => id === 'try_to_migrate_one.ptep_get_and_clear')).toHaveLength(1); // one mapping: the host's
    expect(ids.filter((id) => id === 'remove_migration_pte.set_pte_at')).toHaveLength(1);
    expectOrder(r, ['T1', 'try_to_migrate_one.ptep_get_and_clear'], ['T1', 'flush_tlb_all.send'], ['ipi@cpu0', 'do_flush_tlb_all'], ['T1', 'flush_tlb_all.wait'], ['T1', 'migrate_folio_done']);
  });

  it('RFC v3: the host flush reaches mm_cpumask(host) only, so CPU0 maps the old folio when migrate_folio_done() frees it (hazard 1 through migration)', () => {
    const r = runScenario(WINDOW, { policy: policy('mshare-rfc-v3'), properties: FLUSH });
    expect(r.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'TLB', stepId: 'migrate_folio_done' });
    expect(r.violation!.message).toMatch(/^CPU0 PCID slot 0 \(P0\) maps 0x40000 -> frame \d+, which is free$/);
    // the same run with v3's host flush holds: the knob decides it
    expect(runScenario(WINDOW, { policy: withKnob(policy('mshare-rfc-v3'), { hostFlush: 'flush_tlb_all' }), properties: FLUSH }).verdict).toBe('pass');
  });

  it("option (c), cpumask union: a sharer's dormant PCID slot keeps the old folio (no tlb_gen bump), freed by migrate_folio_done() (hazard 3 through migration); v3 holds", () => {
    const sc = scenarioFile('mshare-migrate-dormant-slot');
    const r = runScenario(sc, { policy: policy('mshare-v3-cpumask-union'), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'TLB', stepId: 'migrate_folio_done' });
    expect(r.violation!.message).toMatch(/^CPU0 PCID slot 0 \(P0\) maps 0x40000 -> frame \d+, which is free$/);
    expect(runScenario(sc, { policy: policy('mshare-v3'), properties: PROPERTIES }).verdict).toBe('pass');
  });

  it('option (b), per-sharer flush: the i_mmap walk of mshare_invalidate_tlbs() sleeps on i_mmap_rwsem under the PTL ptep_clear_flush() holds', () => {
    const r = runScenario(WINDOW, { policy: policy('mshare-v3-per-sharer-flush'), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'lock-discipline', actor: 'T1', stepId: 'mshare_invalidate_tlbs.i_mmap_lock_read' });
    expect(r.violation!.message).toMatch(/might_sleep \(i_mmap_rwsem:M\) in atomic context holding ptl:\d+/);
  });

  it('mshare 2026: the sharer list (a spinlock) flushes P0 and P1 one by one before the old folio is freed', () => {
    const r = runScenario(WINDOW_2026, { policy: policy('mshare-2026'), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T1', 'try_to_migrate_one.ptep_get_and_clear'], ['T1', 'mshare_flush_sharers.spin_lock'], ['ipi@cpu0', 'flush_tlb_func.flush_tlb_one_user'], ['T1', 'mshare_flush_sharers.spin_unlock'], ['T1', 'migrate_folio_done']);
  });

  it('knob migrate = refused: nothing is migrated through a window', () => {
    const r = runScenario(WINDOW, { policy: withKnob(policy('mshare-rfc-v3'), { migrate: 'refused' }), properties: FLUSH });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.filter((e) => e.actor === 'T1').map((e) => e.id);
    expect(ids).toContain('add_folio_for_migration.no_folio');
    expect(ids).not.toContain('migrate_folio_unmap.get_new_folio');
  });
});
