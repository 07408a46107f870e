// The mmu_gather contract (include/asm-generic/tlb.h, mm/mmu_gather.c):
//
//   1. Unhook: clear the PTE or upper entry under its lock, widen the
//      gather's range and record the level (tlb_remove_tlb_entry and
//      tlb_flush_pte_range set cleared_ptes; pte_free_tlb, pmd_free_tlb,
//      pud_free_tlb widen by one page and set freed_tables plus
//      cleared_pmds, _puds, _p4ds: the level of the entry that pointed at
//      the table), queue the page or table; the gather keeps the page's
//      reference.
//   2. Invalidate: tlb_flush_mmu_tlbonly() flushes, but only if a cleared_*
//      flag, freed_tables or unshared_tables is set. x86 tlb_flush()
//      (arch/x86/include/asm/tlb.h) passes start, end (0, TLB_FLUSH_ALL
//      for fullmm), tlb_get_unmap_shift() (the LOWEST level cleared: PTE,
//      else PMD, PUD, P4D) and freed_tables to flush_tlb_mm_range(); then
//      __tlb_reset_range() clears the range and every flag.
//   3. Free: pages only after that flush (tlb_batch_pages_flush); tables
//      through call_rcu() after it (tlb_table_flush), so the grace period
//      also waits for IRQs-off walkers such as GUP-fast. tlb_remove_table()
//      needs a batch page (GFP_NOWAIT); when none can be had (the schedule
//      choice tlb_remove_table.batch_alloc_fails) it invalidates now
//      (tlb_table_invalidate) and calls tlb_remove_table_one(): with
//      CONFIG_PT_RECLAIM call_rcu() on the table's own rcu_head
//      (__tlb_remove_table_one_rcu), otherwise tlb_remove_table_sync_one()
//      - a synchronous IPI to every other CPU, which waits for IRQs-off
//      walkers - and __tlb_remove_table() at once.
//   4. tlb_finish_mmu(): if another gather is open on the mm
//      (mm_tlb_flush_nested), flush the whole mm with freed_tables, since
//      that other gather may have cleared PTEs we found empty (commit
//      99baac21e458, B3). Then flush, free, dec_tlb_flush_pending().
//
// Step 3 before 2 breaks no-freed-frame-reachable; dropping step 4's
// nested flush breaks unmap-complete; a stride wider than the lowest level
// cleared (step 2) leaves leaf entries between the INVLPGs and breaks
// unmap-complete; the fallback's free without its IPI breaks
// no-freed-table-reachable for a GUP-fast walker when the flush before it
// sent no IPI (INVLPGB broadcast; an IPI flush already waited for it).
//
// unshared_tables: set only by hugetlb PMD unsharing
// (tlb_unshare_pmd_ptdesc(), paths/hugetlb.ts); mshare v3's unlink uses
// tlb_flush_p4d_range() (cleared_p4ds only, mshare.ts). x86 tlb_flush()
// passes freed_tables || unshared_tables (x86FreedArg): Lance Yang's 2026
// series, in mm-unstable, mainline merge not verified (update-2026 B3).

import { span, type Config } from '../config.js';
import { step, STOP_STEP, type StepDef, type StepFn } from '../step.js';
import { freeFrame, putPage } from '../frames.js';
import { folioFreeSwap } from './swap.js';
import type { K } from '../step.js';
import type { FlushInfo, Gather } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId, Pfn } from '../types.js';
import { sendIpis, waitForIpis, type FlushCtx } from './flush_tlb_mm_range.js';
import { callRcu } from './rcu.js';

export const gatherOf = (k: K): Gather => {
  const g = k.s.tasks[k.self]?.gather;
  if (!g) throw new Error(`${k.self} has no mmu_gather`);
  return g;
};

/** __tlb_reset_range(): an empty range and no level recorded. */
export function resetRange(g: Gather): void {
  g.start = Number.MAX_SAFE_INTEGER;
  g.end = 0;
  g.clearedPtes = false;
  g.clearedPmds = false;
  g.clearedPuds = false;
  g.clearedP4ds = false;
  g.freedTables = false;
  g.unsharedTables = false;
}

/** __tlb_adjust_range(): widen the range to cover [start, end). */
export function widen(g: Gather, start: number, end: number): void {
  g.start = Math.min(g.start, start);
  g.end = Math.max(g.end, end);
}

/** tlb_remove_tlb_entry() and tlb_flush_pte_range(): PTEs of [start, end) were cleared or changed. */
export function tlbFlushPteRange(g: Gather, start: number, end: number): void {
  widen(g, start, end);
  g.clearedPtes = true;
}

/** tlb_flush_p4d_range(): top-level entries over [start, end) were cleared (P4D is folded into the PGD here). */
export function tlbFlushP4dRange(g: Gather, start: number, end: number): void {
  widen(g, start, end);
  g.clearedP4ds = true;
}

/**
 * pte_free_tlb() / pmd_free_tlb() / pud_free_tlb() for a table of `level`
 * (1 = PTE table) that mapped `addr`: one page of range, freed_tables, and
 * the level of the entry that pointed at the table (tlb.h).
 */
export function freeTlb(g: Gather, level: number, addr: number): void {
  widen(g, addr, addr + 1);
  g.freedTables = true;
  if (level === 1) g.clearedPmds = true;
  else if (level === 2) g.clearedPuds = true;
  else g.clearedP4ds = true;
}

/** tlb_get_unmap_shift(), as a stride in pages: the lowest level whose entries were cleared. */
export function tlbGetUnmapShift(c: Config, g: Gather): number {
  if (g.clearedPtes) return 1;
  if (g.clearedPmds) return span(c, 2);
  if (g.clearedPuds) return span(c, 3);
  if (g.clearedP4ds) return span(c, 4);
  return 1;
}

export interface GatherCtx {
  mm: MmId;
  /** tlb_gather_mmu_fullmm() (exit_mmap): the flush covers the whole mm. */
  fullmm?: boolean;
}

export const tlbGatherMmu: StepDef<GatherCtx>[] = [
  step('tlb_gather_mmu', function* (k, c) {
    const g: Gather = {
      mm: c.mm, start: 0, end: 0, fullmm: c.fullmm === true,
      clearedPtes: false, clearedPmds: false, clearedPuds: false, clearedP4ds: false, freedTables: false, unsharedTables: false,
      pages: [], delayedRmap: [], tables: [],
    };
    resetRange(g);
    k.s.tasks[k.self]!.gather = g;
    k.s.mms[c.mm]!.tlbFlushPending++; // inc_tlb_flush_pending()
    yield { id: 'tlb_gather_mmu.inc_tlb_flush_pending' };
  }),
];

/**
 * tlb_flush_mmu_tlbonly() -> x86 tlb_flush(), for a given
 * tlb_get_unmap_shift() (variants/unmap-shift-highest.ts passes its own).
 */
export function tlbFlushMmuTlbonlyStep(unmapShift: (c: Config, g: Gather) => number, tablesArg: (g: Gather) => boolean = x86FreedArg): StepFn<unknown> {
  return function* (k) {
    const g = gatherOf(k);
    if (!(g.freedTables || g.clearedPtes || g.clearedPmds || g.clearedPuds || g.clearedP4ds || g.unsharedTables)) return STOP_STEP;
    const f: FlushCtx = { mm: g.mm, start: g.fullmm ? 0 : g.start, end: g.fullmm ? TLB_FLUSH_ALL : g.end, stride: unmapShift(k.s.config, g), freedTables: tablesArg(g) };
    yield* k.run('flush_tlb_mm_range', f);
    resetRange(g); // __tlb_reset_range()
  };
}

/**
 * x86 tlb_flush()'s last argument to flush_tlb_mm_range():
 * freed_tables || unshared_tables, so lazy CPUs are IPIed at a hugetlb
 * PMD unshare too (Lance Yang, "x86/tlb: skip redundant sync IPIs for
 * native TLB flush", v7 2026-03, mm-unstable; update-2026 B3).
 * variants/pre-b3-unshare-no-lazy-ipi.ts passes freed_tables alone.
 */
export const x86FreedArg = (g: Gather): boolean => g.freedTables || g.unsharedTables;

export const tlbFlushMmuTlbonly: StepDef<unknown>[] = [
  step('tlb_flush_mmu_tlbonly', tlbFlushMmuTlbonlyStep(tlbGetUnmapShift)),
  // tlb_flush_rmaps(): the delayed rmap removals, once no stale entry can write.
  step('tlb_flush_rmaps', function* (k) {
    const g = gatherOf(k);
    for (const p of g.delayedRmap) k.s.frames[p]!.mapcount--;
    g.delayedRmap = [];
  }),
];

export const tlbFlushMmuFree: StepDef<unknown>[] = [
  step('tlb_table_flush', function* (k) {
    const g = gatherOf(k);
    if (g.tables.length === 0) return;
    yield* k.run('tlb_flush_mmu_tlbonly', {}); // tlb_table_invalidate()
    const s = k.s;
    callRcu(s, g.tables); // tlb_remove_table_free() -> call_rcu()
    g.tables = [];
    yield { id: 'tlb_table_flush.call_rcu' };
  }),
  step('tlb_batch_pages_flush', function* (k) {
    const g = gatherOf(k);
    if (g.pages.length === 0) return;
    for (const p of g.pages) {
      // free_pages_and_swap_cache() -> free_swap_cache(): an unmapped, unlocked swap-cache folio no swap entry names leaves the cache
      const f = k.s.frames[p]!;
      if (f.swapSlot !== undefined && f.mapcount === 0 && !f.locked) folioFreeSwap(k.s, p);
      putPage(k.s, p);
    }
    g.pages = [];
    yield { id: 'tlb_batch_pages_flush' };
  }),
];

export const tlbFinishMmu: StepDef<unknown>[] = [
  step('tlb_finish_mmu.mm_tlb_flush_nested', function* (k) {
    const g = gatherOf(k);
    if (k.s.mms[g.mm]!.tlbFlushPending > 1) {
      g.fullmm = true; // flush the whole mm ...
      resetRange(g);
      g.freedTables = true; // ... including paging-structure caches
    }
  }),
  step('tlb_finish_mmu.flush', function* (k) {
    yield* k.run('tlb_flush_mmu_tlbonly', {});
  }),
  step('tlb_finish_mmu.free', function* (k) {
    yield* k.run('tlb_flush_mmu_free', {});
  }),
  step('tlb_finish_mmu.dec_tlb_flush_pending', function* (k) {
    const g = gatherOf(k);
    k.s.mms[g.mm]!.tlbFlushPending--;
    k.s.tasks[k.self]!.gather = null;
    yield { id: 'tlb_finish_mmu.dec_tlb_flush_pending' };
  }),
];

export interface RemoveTableCtx {
  table: Pfn;
}

/** tlb_remove_table(): queue an unhooked table in the batch, or the fallback when no batch page can be had. */
export const tlbRemoveTable: StepDef<RemoveTableCtx>[] = [
  step('tlb_remove_table', function* (k, c) {
    const g = gatherOf(k);
    // The batch exists once a table is queued, until tlb_table_flush() hands it to RCU.
    if (g.tables.length > 0 || !k.choose('tlb_remove_table.batch_alloc_fails')) {
      g.tables.push(c.table);
      return STOP_STEP;
    }
    yield* k.run('tlb_flush_mmu_tlbonly', {}); // tlb_table_invalidate()
  }),
  // tlb_remove_table_one() with CONFIG_PT_RECLAIM: call_rcu(&ptdesc->pt_rcu_head)
  step('tlb_remove_table_one', function* (k, c) {
    const s = k.s;
    if (!s.config.ptReclaim) return;
    callRcu(s, [c.table]);
    yield { id: 'tlb_remove_table_one.call_rcu' };
    return STOP_STEP;
  }),
  // otherwise tlb_remove_table_sync_one(): smp_call_function(tlb_remove_table_smp_sync, NULL, 1) ...
  step('tlb_remove_table_sync_one', function* (k) {
    const s = k.s;
    const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: false, newTlbGen: 0, trimCpumask: false };
    const sent = sendIpis(k, s.cpus.filter((x) => x.id !== k.cpu).map((x) => x.id), 'tlb_remove_table_smp_sync', info);
    yield { id: 'tlb_remove_table_sync_one.smp_call_function' };
    yield* waitForIpis(k, sent, 'tlb_remove_table_sync_one.wait');
  }),
  // ... and __tlb_remove_table() at once
  step('__tlb_remove_table', function* (k, c) {
    freeFrame(k.s, k.s.frames[c.table]!);
    yield { id: 'tlb_remove_table_one.__tlb_remove_table' };
  }),
];

/** tlb_remove_table_smp_sync(): the IPI does nothing; being delivered means the CPU had interrupts on. */
export const tlbRemoveTableSmpSync: StepDef<unknown>[] = [
  step('tlb_remove_table_smp_sync', function* () {
    yield { id: 'tlb_remove_table_smp_sync' };
  }),
];
