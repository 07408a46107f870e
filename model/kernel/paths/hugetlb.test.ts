// The ordering contract of hugetlb.ts (hugetlb_fault, huge_pmd_share,
// __unmap_hugepage_range with huge_pmd_unshare and
// tlb_flush_unshared_tables), one test per step of its header, plus the
// PMD leaf in the hardware walk and the TLB.

import { describe, expect, it } from 'vitest';
import { gup, hugeFile, hugeMap, idle, madvise, munmap, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, expectOrder, go, ids, observe, pos } from '../../../test/trace.js';
import { findTable, tableIndex } from '../pagetable.js';
import type { KernelState } from '../state.js';

// Three PUD-aligned (16-page) windows in one PGD entry: each process maps the hugetlbfs file H whole at pgoff 0
const A = 192 << 12;
const B = 208 << 12;
const C = 224 << 12;
const HP = 4 << 12; // one huge page (PMD_SIZE at fanout 4)
const setup3 = [hugeFile('H', 16), proc('P0'), proc('P1'), proc('P2'), hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H'), hugeMap('P2', C, 'H')];
const pmdOf = (s: KernelState, mm: string, addr: number) => findTable(s, s.mms[mm]!, vpn(addr), 2);

describe('hugetlb.ts: hugetlb_fault and huge_pmd_share', () => {
  it('maps a PMD-sized folio with one PMD leaf, and a second mapping of the file links the same PMD table (steps 2-3)', () => {
    const sc = scenario({
      setup: setup3.slice(0, 3).concat([hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H')]),
      threads: [thread('T0', 'P0', 0, write(A + 0x1000)), thread('T1', 'P1', 1, read(B + 0x1000))],
      schedule: [run('T0'), run('T1')],
    });
    const { r, seen } = observe(sc, at('T1', 'hugetlb_fault.hugetlb_vma_unlock_read'), (s) => {
      const t0 = pmdOf(s, 'P0', A)!;
      const e = t0.entries![tableIndex(s.config, vpn(A), 2)]!;
      return { same: pmdOf(s, 'P1', B)?.pfn === t0.pfn, share: t0.shareCount, huge: e.huge, subpages: s.frames[e.pfn]!.subpages!.length };
    });
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ same: true, share: 1, huge: true, subpages: 4 }]);
    expectOrder(r, ['T1', 'huge_pmd_share.i_mmap_lock_read'], ['T1', 'huge_pmd_share.ptdesc_pmd_pts_inc'], ['T1', 'huge_pmd_share.pud_populate'], ['T1', 'huge_pmd_share.i_mmap_unlock_read']);
    expect(ids(r, 'T1')).not.toContain('__pmd_alloc.alloc_one'); // no table of its own
    // T1 reads what T0 wrote through the shared PMD leaf (read-value held)
    const [w] = r.trace.filter((e) => e.actor === 'T0' && e.obs?.kind === 'access').map((e) => e.obs as { value: number });
    const [rd] = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').map((e) => e.obs as { value: number });
    expect(rd!.value).toBe(w!.value);
    expect(r.coverage.hugetlb_pmd_shared).toBe(1);
  });

  it('a VMA that does not cover its whole PUD range is not shareable: it gets a PMD table of its own (vma_shareable)', () => {
    const sc = scenario({
      setup: [hugeFile('H', 16), proc('P0'), proc('P1'), hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H', 8)],
      threads: [thread('T0', 'P0', 0, write(A)), thread('T1', 'P1', 1, read(B))],
      schedule: [run('T0'), run('T1')],
    });
    const r = go(sc);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1')).not.toContain('huge_pmd_share.i_mmap_lock_read');
    expect(ids(r, 'T1')).toContain('__pmd_alloc.alloc_one');
  });

  it('the hardware walk stops at the PMD leaf: one huge TLB entry over the PMD range, no PTE-table PSC entry', () => {
    const sc = scenario({ setup: [hugeFile('H', 16), proc('P0'), hugeMap('P0', A, 'H')], threads: [thread('T0', 'P0', 0, read(A + 0x2000), read(A + 0x3000))] });
    const { r, seen } = observe(sc, at('T0', 'user_access.walk'), (s) => ({ tlb: s.cpus[0]!.tlb.map((e) => [e.vpn - vpn(A), e.huge]), pscLevels: s.cpus[0]!.psc.map((p) => p.level).sort() }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ tlb: [[0, vpn(A)], [1, vpn(A)], [2, vpn(A)], [3, vpn(A)]], pscLevels: [2, 3] }]);
    expect(ids(r, 'T0').filter((x) => x.startsWith('user_access.'))).toEqual(['user_access.page_fault', 'user_access.walk', 'user_access.tlb_hit']); // the second page hits the same entry
  });
});

describe('hugetlb.ts: __unmap_hugepage_range and huge_pmd_unshare (8ce720d5bd91)', () => {
  /** P0 owns the table; P1 and P2 link it (pt_share_count 2); P1 then P2 munmap. */
  const threeSharers = () =>
    scenario({
      setup: setup3,
      threads: [thread('T0', 'P0', 0, write(A)), thread('T1', 'P1', 1, read(B), munmap(B, 16)), thread('T2', 'P2', 1, read(C), munmap(C, 16))],
      schedule: [run('T0'), until('T1', 'user_access.walk'), until('T2', 'user_access.walk'), run('T1'), run('ipi@cpu0'), run('T1'), run('T2'), run('ipi@cpu0'), run('T2')],
    });

  it('unshares under i_mmap_lock_write: pud_clear, pt_share_count--, the flush before the i_mmap lock goes (steps 1-3)', () => {
    const { r, seen } = observe(threeSharers(), at('T1', 'huge_pmd_unshare.pud_clear'), (s) => ({ p1: pmdOf(s, 'P1', B), share: pmdOf(s, 'P0', A)!.shareCount, g: { ...s.tasks.T1!.gather!, pages: [] } }));
    expect(r.verdict).toBe('pass');
    expect(seen[0]!.p1).toBeNull();
    expect(seen[0]!.share).toBe(1);
    // tlb_unshare_pmd_ptdesc(): the PUD_SIZE range, cleared_pmds, unshared_tables; not the last sharer
    expect(seen[0]!.g).toMatchObject({ start: vpn(B), end: vpn(B) + 16, clearedPmds: true, unsharedTables: true });
    expect(seen[0]!.g.fullyUnsharedTables).toBeFalsy();
    expectOrder(r, ['T1', '__hugetlb_zap_begin.hugetlb_vma_lock_write'], ['T1', '__hugetlb_zap_begin.i_mmap_lock_write'], ['T1', 'huge_pmd_unshare.pud_clear'], ['T1', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T1', '__hugetlb_zap_end.i_mmap_unlock_write']);
  });

  it('only the last sharer sends the GUP-fast sync IPI (tlb_remove_table_sync_one)', () => {
    const r = go(threeSharers());
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1')).not.toContain('tlb_flush_unshared_tables.tlb_remove_table_sync_one');
    expect(ids(r, 'T2')).toContain('tlb_flush_unshared_tables.tlb_remove_table_sync_one');
    expect(pos(r, 'T2', 'tlb_flush_unshared_tables.wait')).toBeLessThan(pos(r, 'T2', '__hugetlb_zap_end.i_mmap_unlock_write'));
    expect(r.coverage.hugetlb_last_sharer_sync_ipi).toBe(1);
  });

  it('the last sharer\'s tlb_remove_table_sync_one() waits for a GUP-fast walk that is inside the table (IRQs off on its CPU)', () => {
    const sc = scenario({
      setup: [hugeFile('H', 16), proc('P0'), proc('P1'), hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H')],
      threads: [thread('T0', 'P0', 0, write(A)), thread('T1', 'P1', 1, read(B), munmap(B, 16)), thread('T2', 'P0', 0, gup(A))],
      schedule: [run('T0'), until('T1', 'user_access.walk'), until('T2', 'gup_fast_pmd_range'), run('T1'), run('T2'), run('ipi@cpu0'), run('T1')],
    });
    const { r, seen } = observe(sc, at('T1', 'huge_pmd_unshare.pud_clear'), (s) => s.tasks.T2!.walker?.some((w) => w.pfn === pmdOf(s, 'P0', A)!.pfn) ?? false);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([true]); // the walker is in the table as P1 unshares it
    // the sync IPI to CPU0 is held off until T2's local_irq_restore(); T1 leaves i_mmap only after
    expectOrder(r, ['T1', 'tlb_flush_unshared_tables.tlb_remove_table_sync_one'], ['T2', 'gup_fast.local_irq_restore'], ['ipi@cpu0', 'tlb_remove_table_smp_sync'], ['T1', '__hugetlb_zap_end.i_mmap_unlock_write']);
  });

  it('the final unmap clears vm_private_data before the i_mmap lock goes, so huge_pmd_share() cannot take a table free_pgtables() is about to free (step 4)', () => {
    const sc = scenario({ setup: [hugeFile('H', 16), proc('P0'), hugeMap('P0', A, 'H')], threads: [thread('T0', 'P0', 0, write(A), munmap(A, 16))] });
    const { r, seen } = observe(sc, at('T0', '__hugetlb_vma_unlock_write_free'), (s) => s.files.H!.iMmap!.map((x) => x.shareable));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([[false]]);
    expectOrder(r, ['T0', 'huge_ptep_get_and_clear'], ['T0', '__hugetlb_vma_unlock_write_free'], ['T0', '__hugetlb_zap_end.i_mmap_unlock_write'], ['T0', 'unlink_file_vma.i_mmap_lock_write'], ['T0', 'free_pmd_range.pud_clear']);
  });

  it('an exclusive table is zapped leaf by leaf: huge_ptep_get_and_clear, cleared_pmds, the folio references freed after the flush', () => {
    const sc = scenario({ setup: [hugeFile('H', 16), proc('P0'), hugeMap('P0', A, 'H')], threads: [thread('T0', 'P0', 0, write(A), write(A + HP), madvise(A, 8))] });
    const { r, seen } = observe(sc, at('T0', 'huge_ptep_get_and_clear'), (s) => ({ cleared: s.tasks.T0!.gather!.clearedPmds, pages: s.tasks.T0!.gather!.pages.length }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ cleared: true, pages: 4 }, { cleared: true, pages: 8 }]);
    expect(ids(r, 'T0')).not.toContain('huge_pmd_unshare.pud_clear');
  });

  it('MADV_DONTNEED on a shared table unshares the whole PUD range; the next access shares again', () => {
    const sc = scenario({
      setup: [hugeFile('H', 16), proc('P0'), proc('P1'), hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H')],
      threads: [thread('T0', 'P0', 0, write(A + HP)), thread('T1', 'P1', 1, read(B + HP), madvise(B, 4), read(B + HP))],
      schedule: [run('T0'), run('T1')],
    });
    const r = go(sc);
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1').filter((x) => x === 'huge_pmd_share.pud_populate' || x === 'huge_pmd_unshare.pud_clear')).toEqual(['huge_pmd_share.pud_populate', 'huge_pmd_unshare.pud_clear', 'huge_pmd_share.pud_populate']);
    expect(ids(r, 'T1')).not.toContain('huge_ptep_get_and_clear'); // P0's leaves stay: the unshare takes nothing from P0
  });

  it('x86 tlb_flush() passes unshared_tables as freed_tables (B3): a lazy CPU of the unsharer gets the IPI', () => {
    const sc = scenario({
      setup: [hugeFile('H', 16), proc('P0'), proc('P1'), hugeMap('P0', A, 'H'), hugeMap('P1', B, 'H')],
      threads: [thread('T0', 'P0', 0, write(A)), thread('T1', 'P1', 1, read(B), idle), thread('T2', 'P1', 0, munmap(B, 16))],
      schedule: [run('T0'), run('T1'), run('T2'), run('ipi@cpu1'), run('T2')],
    });
    const { r, seen } = observe(sc, at('T2', 'native_flush_tlb_multi.send'), (s) => ({ lazy: s.cpus[1]!.isLazy, ipis: s.cpus[1]!.ipis.map((i) => [i.func, i.info.freedTables]) }));
    expect(r.verdict).toBe('pass');
    expect(seen[0]).toEqual({ lazy: true, ipis: [['flush_tlb_func', true]] });
  });
});
