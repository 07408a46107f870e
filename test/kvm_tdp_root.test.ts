// The TDP MMU's roots and table pages (paths/kvm_tdp_root.ts, docs/kvm.md
// "TDP roots and table pages"): a vCPU loads a root, a memslot deletion
// retires it, the tables go through RCU, and kvm_mmu_load() flushes what
// a freed root's frame left tagged in the CPU.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import noFlush from '../variants/kvm-mmu-load-no-flush.js';
import { scenarioFile as load } from './build.js';

const ids = (r: { trace: { actor: string; id: string }[] }, actor?: string) => r.trace.filter((e) => !actor || e.actor === actor).map((e) => e.id);
const pos = (r: { trace: { actor: string; id: string }[] }, actor: string, id: string) => r.trace.findIndex((e) => e.actor === actor && e.id === id);

describe('TDP roots on linux', () => {
  it('a retired root and its page table are freed by RCU, and the next root gets the root frame back behind a flush', () => {
    const r = runScenario(load('kvm-root-reused-after-memslot-delete'), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0.filter((id) => id === 'kvm_tdp_mmu_alloc_root')).toHaveLength(2);
    expect(t0.filter((id) => id === 'kvm_mmu_load.flush_tlb_current')).toHaveLength(2);
    // the deletion retired the root under mmu_lock, asked T0 to drop it, then zapped it
    expect(pos(r, 'T1', 'kvm_tdp_mmu_invalidate_all_roots')).toBeLessThan(pos(r, 'T1', 'kvm_make_all_cpus_request.kvm_make_request'));
    expect(pos(r, 'T1', 'kvm_make_all_cpus_request.kvm_make_request')).toBeLessThan(pos(r, 'T1', 'kvm_mmu_zap_all_fast.kvm_mmu_unlock'));
    expect(pos(r, 'T1', 'tdp_mmu_zap_root')).toBeGreaterThan(pos(r, 'T1', 'kvm_mmu_zap_all_fast.kvm_mmu_unlock'));
    // T0's put was the last: the rcu actor freed both table pages before T0's second kvm_mmu_load()
    const frees = r.trace.filter((e) => e.actor === 'rcu' && e.id === 'rcu_do_batch.__tlb_remove_table');
    expect(frees).toHaveLength(2);
    expect(pos(r, 'T0', 'kvm_mmu_free_obsolete_roots')).toBeLessThan(r.trace.indexOf(frees[0]!));
    const loads = r.trace.flatMap((e, i) => (e.actor === 'T0' && e.id === 'kvm_tdp_mmu_alloc_root' ? [i] : []));
    expect(loads[1]).toBeGreaterThan(r.trace.indexOf(frees[1]!));
  });
});

describe('what breaks without the flush on load', () => {
  it('kvm-mmu-load-no-flush: entries tagged with the freed root\'s frame are live again under the new root', () => {
    const bad = runScenario(load('kvm-root-reused-after-memslot-delete'), { policy: applyVariant(linux, noFlush), properties: PROPERTIES });
    expect(bad.verdict).toBe('violation');
    expect(bad.violation).toMatchObject({ actor: 'T0' });
    expect(['secondary-subset', 'no-freed-table-reachable']).toContain(bad.violation!.property);
    expect(bad.violation!.message).toMatch(/gfn 0|page table/);
  });
});
