// The ordering contract of munmap.ts (do_vmi_munmap ->
// vms_complete_munmap_vmas), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, idle, munmap, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, expectOrder, go, ids, notifiersVisible, observe, X, Y } from '../../../test/trace.js';
import { runScenario } from '../../run/runner.js';
import type { KernelState } from '../state.js';
import { tlbUsableFor } from '../tlb.js';
import { PROPERTIES } from '../../../properties/registry.js';

const Z = 0x40000; // another VMA, in tables of its own

/** T0 munmaps X while T1 on CPU1 has X cached, then goes idle (`lazy`) or reads X again. */
const unmapCached = (lazy: boolean, neighbour = false) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1), ...(neighbour ? [anon('P0', Y, 1)] : [])],
    threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), lazy ? idle : read(X))],
    schedule: lazy ? [until('T0', 'user_access.walk'), run('T1'), run('T0')] : [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T0'), run('ipi@cpu1'), run('T0'), run('T1')],
  });

describe('munmap.ts: do_vmi_munmap', () => {
  it('detaches the VMAs under mmap_write_lock, so no fault can map the range again (step 1)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X, 2)), thread('T1', 'P0', 1, write(Y))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'vms_gather_munmap_vmas.detach'), run('T1'), run('T0'), run('T1')],
    });
    const { r, seen } = observe(sc, at('T0', 'vms_gather_munmap_vmas.detach'), (s) => ({ vmas: s.mms.P0!.vmas.length, lock: s.locks['mmap_lock:P0']!.mode }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ vmas: 0, lock: 'w' }]);
    expectOrder(r, ['T0', 'do_vmi_munmap.mmap_write_lock'], ['T0', 'vms_gather_munmap_vmas.detach'], ['T1', 'user_access.page_fault'], ['T0', 'mmap_write_downgrade'], ['T1', 'lock_mm_and_find_vma.mmap_read_lock']);
    expect(ids(r, 'T1')).not.toContain('do_anonymous_page.set_pte_at');
    expect(r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').map((e) => e.obs)).toEqual([expect.objectContaining({ vpn: vpn(Y), ok: false })]);
  });

  it('downgrades to the read lock, so a fault elsewhere in the mm runs beside the zap (step 2)', () => {
    // T1's fault takes Z's per-VMA lock; its first anonymous page needs mmap_read_trylock(), which the downgrade lets through
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), anon('P0', Z, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, write(Z))],
      schedule: [until('T0', 'user_access.walk'), until('T0', 'mmap_write_downgrade'), run('T1'), run('T0')],
    });
    const { r, seen } = observe(sc, at('T0', 'zap_pte_range.clear'), (s) => s.locks['mmap_lock:P0']!.mode);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual(['r']);
    expectOrder(r, ['T0', 'mmap_write_downgrade'], ['T1', 'lock_vma_under_rcu'], ['T1', 'vmf_anon_prepare.mmap_read_trylock'], ['T1', 'do_anonymous_page.set_pte_at'], ['T0', 'zap_pte_range.clear'], ['T0', 'do_vmi_munmap.mmap_read_unlock']);
    expect(r.coverage.per_vma_fault_racing_munmap).toBeGreaterThan(0);
  });

  it('opens the gather, then zaps the VMAs between notifier start and end (step 3)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), anon('P0', Y, 1, 'r')],
      threads: [thread('T0', 'P0', 0, write(X), read(Y), munmap(X, 2))],
    });
    const { r, seen } = observe(sc, at('T0', 'zap_pte_range.clear'), (s) => ({ pending: s.mms.P0!.tlbFlushPending, zapped: s.ghost.ops['T0.2']!.zapped.map((z) => z.vpn) }), notifiersVisible);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ pending: 1, zapped: [vpn(X)] }, { pending: 1, zapped: [vpn(X), vpn(Y)] }]);
    const t0 = ids(r, 'T0');
    const first = (id: string) => t0.indexOf(id);
    const last = (id: string) => t0.lastIndexOf(id);
    expect(first('mmap_write_downgrade')).toBeLessThan(first('tlb_gather_mmu.inc_tlb_flush_pending'));
    expect(first('tlb_gather_mmu.inc_tlb_flush_pending')).toBeLessThan(first('mmu_notifier_invalidate_range_start'));
    expect(first('mmu_notifier_invalidate_range_start')).toBeLessThan(first('zap_pte_range.clear')); // before any PTE changes
    expect(last('zap_pte_range.clear')).toBeLessThan(last('mmu_notifier_invalidate_range_end')); // after the last
    expect(last('mmu_notifier_invalidate_range_end')).toBeLessThan(first('free_pte_range.pmd_clear'));
    expect(t0.filter((id) => id === 'zap_pte_range.clear')).toHaveLength(2);
  });

  it('brackets the zap of all the VMAs with one notifier start/end pair (kernel: mm/memory.c unmap_vmas)', () => {
    // Model departs (munmap.ts, step unmap_vmas): it calls start/end once per detached VMA. unmap_vmas() calls
    // mmu_notifier_invalidate_range_start(&range) once for [start_addr, end_addr), loops unmap_single_vma()
    // over the VMAs, then mmu_notifier_invalidate_range_end(&range) once. Harmless until a notifier is registered.
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1), anon('P0', Y, 1, 'r')], threads: [thread('T0', 'P0', 0, write(X), read(Y), munmap(X, 2))] });
    const r = runScenario(sc, { policy: notifiersVisible, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0').filter((id) => id.startsWith('mmu_notifier_invalidate_range'))).toEqual(['mmu_notifier_invalidate_range_start', 'mmu_notifier_invalidate_range_end']);
  });

  it('unhooks the empty tables after the zap, into the same gather, before its single flush (step 4)', () => {
    const { r, seen } = observe(unmapCached(true), at('T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'), (s) => ({ freedTables: s.tasks.T0!.gather!.freedTables, tables: s.tasks.T0!.gather!.tables.length, pages: s.tasks.T0!.gather!.pages.length }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ freedTables: true, tables: 3, pages: 1 }]); // one flush for the page and the tables
    expectOrder(r, ['T0', 'zap_pte_range.pte_unmap_unlock'], ['T0', 'free_pte_range.pmd_clear'], ['T0', 'free_pud_range.pgd_clear'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen']);
  });

  it('flushes, lazy CPUs included when tables were freed, then frees the pages, then the tables after RCU (step 5)', () => {
    const r = go(unmapCached(true));
    expect(r.verdict).toBe('pass');
    expectOrder(r,
      ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['ipi@cpu1', 'flush_tlb_func.switch_to_init_mm'], ['T0', 'native_flush_tlb_multi.wait'],
      ['T0', 'tlb_table_flush.call_rcu'], ['T0', 'tlb_batch_pages_flush'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);
    expect(r.coverage.lazy_cpu_at_table_free).toBeGreaterThan(0);

    // Y keeps the tables: nothing is freed but the page, and the lazy CPU is left alone
    const kept = go(unmapCached(true, true));
    expect(kept.verdict).toBe('pass');
    expect(ids(kept, 'ipi@cpu1')).toEqual([]);
    expect(ids(kept, 'T0')).not.toContain('tlb_table_flush.call_rcu');
    expect(kept.state.cpus[1]).toMatchObject({ isLazy: true, loadedMm: 'P0' });
  });

  it('drops the read lock and returns with no usable translation of the range left (step 6)', () => {
    const usableX = (s: KernelState) => s.cpus.flatMap((c) => c.tlb.filter((e) => e.vpn === vpn(X) && tlbUsableFor(s, c, e.slot) === 'P0').map(() => c.id));
    const { r, seen } = observe(unmapCached(false), at('T0', 'sys_munmap.return'), (s) => ({ usable: usableX(s), holders: [...s.locks['mmap_lock:P0']!.holders] }));
    expect(r.verdict).toBe('pass'); // unmap-complete held at the return
    expect(seen).toEqual([{ usable: [], holders: [] }]);
    expectOrder(r, ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['T0', 'do_vmi_munmap.mmap_read_unlock'], ['T0', 'sys_munmap.return'], ['T1', 'lock_mm_and_find_vma.bad_area']);
    expect(ids(r, 'ipi@cpu1')).toContain('flush_tlb_func.flush_tlb_one_user'); // CPU1 was running P0 with X cached
  });
});
