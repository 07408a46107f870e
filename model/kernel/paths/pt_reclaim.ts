// Empty PTE-table reclaim in the zap path (CONFIG_PT_RECLAIM, def_bool y
// on x86-64 since Qi Zheng's "enable PT_RECLAIM on all 64-bit
// architectures", 2025-12; mm/memory.c pte_table_reclaim_possible(),
// zap_empty_pte_table(), zap_pte_table_if_empty(), formerly mm/pt_reclaim.c
// until "mm: move pte table reclaim code to memory.c", 2026-01), the tail of
// zap_pte_range() (zap.ts steps 5 and 8):
//
//   1. Only for a zap with zap_details.reclaim_pt (MADV_DONTNEED,
//      madvise_dontneed_single_vma()) whose zap_pte_range() range covers
//      the whole PTE table (end - start >= PMD_SIZE: with fanout 4, an
//      aligned run of 4 pages), and only if no entry was left behind
//      (any_skipped; the model zaps every entry).
//   2. Direct: if the whole range was zapped in one PTL hold (no
//      need_resched() or force_break exit), still under the PTL:
//      spin_trylock() the PMD lock, pmd_clear(), unlock. A failed trylock
//      falls back to step 3.
//   3. Otherwise, after the PTL is dropped: pmd_lock(), re-read the PMD,
//      take the PTL nested, check every entry is pte_none, pmd_clear(),
//      unlock both. A fault that refilled the table meanwhile wins.
//   4. With no lock held: pte_free_tlb(tlb, table, start): freed_tables,
//      the range widened by one page at the table's start, and
//      tlb_remove_table(). The gather frees it through RCU after its flush
//      (mmu_gather.ts steps 2-3), so neither a PSC entry nor an IRQs-off
//      GUP-fast walker can still reach it. Mainline passed the end address
//      (one past the table) from 7.0 until commit 478a1c3abebf, "mm: fix
//      incorrect flush address in direct page table reclaim"
//      (CVE-2026-74674): an INVLPG that drops only the PSC entries of its
//      own address (AMD with EFER.TCE, INVPCID) then missed the table.
//
// Guarded by no-freed-table-reachable (step 4's order and address), and
// read-value / unmap-complete for step 3's recheck (a PTE set by a racing
// fault would be freed with the table).

import { span } from '../config.js';
import { lock, note, pmdLock, ptlOf, release, trySpinLock, unlock } from '../locks.js';
import { findTable, tableIndex } from '../pagetable.js';
import type { Gen, K } from '../step.js';
import type { MmId, Pfn } from '../types.js';
import { freeTlb, gatherOf } from './mmu_gather.js';

/** zap_details as far as the model needs it. */
export interface ZapDetails {
  /** Set by MADV_DONTNEED only (madvise_dontneed_single_vma). */
  reclaimPt: boolean;
}

/**
 * pmd_lockptr(): the split PMD lock of the PMD table that maps `v` (x86-64
 * has split PMD ptlocks), the lock pmd_install() takes to populate the
 * entry (fault.ts); null if that PMD table is gone.
 */
export const pmdLockptr = (k: K, mm: MmId, v: number): string | null => {
  const pmd = findTable(k.s, k.s.mms[mm]!, v, 2);
  return pmd ? pmdLock(pmd.pfn) : null;
};

/** Step 1: pte_table_reclaim_possible(), for one zap_pte_range() call over [start, end). */
export function pteTableReclaimPossible(k: K, start: number, end: number, details: ZapDetails | undefined): boolean {
  if (k.s.config.ptReclaim !== 1) return false; // IS_ENABLED(CONFIG_PT_RECLAIM)
  return !!details?.reclaimPt && end - start >= span(k.s.config, 2); // PMD_SIZE
}

/** pmd_clear() of the entry pointing at the PTE table that covers `v`; returns that table. */
function pmdClear(k: K, mm: MmId, v: number, id: string): Pfn | null {
  const s = k.s;
  const pmd = findTable(s, s.mms[mm]!, v, 2);
  const i = tableIndex(s.config, v, 2);
  const e = pmd?.entries![i];
  if (!pmd || !e) return null;
  pmd.entries![i] = null;
  note(k, 'upper-clear', mm, `pmd entry for pte table ${e.pfn} (${id})`);
  return e.pfn;
}

/**
 * Step 2: zap_empty_pte_table(), under the PTL. One atomic step: the
 * trylock, the clear and the unlock happen with the PMD lock held, so
 * nothing that takes it can see the middle; lockless walkers see the entry
 * before or after. A trylock creates no lock order (lockdep).
 */
export function* zapEmptyPteTable(k: K, mm: MmId, start: number): Gen<Pfn | null> {
  const pml = pmdLockptr(k, mm, start);
  if (pml === null) return null;
  if (!trySpinLock(k, pml)) return null; // spin_trylock() failed
  const t = pmdClear(k, mm, start, 'zap_empty_pte_table');
  release(k.s, k.self, pml);
  yield { id: 'zap_empty_pte_table.pmd_clear' };
  return t;
}

/** Step 3: zap_pte_table_if_empty(), with no lock held on entry. */
export function* zapPteTableIfEmpty(k: K, mm: MmId, start: number): Gen<Pfn | null> {
  const s = k.s;
  const pml = pmdLockptr(k, mm, start);
  if (pml === null) return null;
  yield* lock(k, pml, 'w', 'zap_pte_table_if_empty.pmd_lock');
  const t = findTable(s, s.mms[mm]!, start, 1); // pte_offset_map_rw_nolock(): the table the PMD points at now
  let freed: Pfn | null = null;
  if (t) {
    yield* lock(k, ptlOf(t.pfn), 'w', 'zap_pte_table_if_empty.spin_lock_nested'); // SINGLE_DEPTH_NESTING
    if (t.entries!.every((e) => e === null)) {
      freed = pmdClear(k, mm, start, 'zap_pte_table_if_empty');
      yield { id: 'zap_pte_table_if_empty.pmd_clear' };
    }
    yield* unlock(k, ptlOf(t.pfn), 'zap_pte_table_if_empty.spin_unlock');
  }
  yield* unlock(k, pml, 'zap_pte_table_if_empty.pmd_unlock');
  return freed;
}

/** Step 4: pte_free_tlb() of a reclaimed table; `start` is the first page it covered. */
export function* pteFreeTlb(k: K, table: Pfn, start: number): Gen {
  const g = gatherOf(k);
  freeTlb(g, 1, start); // tlb_flush_pmd_range(tlb, address, PAGE_SIZE): cleared_pmds, freed_tables
  g.tables.push(table); // __pte_free_tlb() -> tlb_remove_table()
  yield { id: 'pte_free_tlb' };
}
