// The mmu_gather contract (include/asm-generic/tlb.h, mm/mmu_gather.c):
//
//   1. Unhook: clear the PTE or upper entry under its lock, widen the
//      gather's range (tlb_remove_tlb_entry, pte_free_tlb), queue the page
//      or table; the gather keeps the page's reference.
//   2. Invalidate: tlb_flush_mmu_tlbonly() flushes the range, but only if
//      something was cleared or a table freed, then resets the range.
//   3. Free: pages only after that flush (tlb_batch_pages_flush); tables
//      through call_rcu() after it (tlb_table_flush), so the grace period
//      also waits for IRQs-off walkers such as GUP-fast.
//   4. tlb_finish_mmu(): if another gather is open on the mm
//      (mm_tlb_flush_nested), flush the whole mm with freed_tables, since
//      that other gather may have cleared PTEs we found empty (commit
//      99baac21e458, B3). Then flush, free, dec_tlb_flush_pending().
//
// Step 3 before 2 breaks no-freed-frame-reachable; dropping step 4's
// nested flush breaks unmap-complete.

import { step, STOP_STEP, type StepDef } from '../step.js';
import { putPage } from '../frames.js';
import type { K } from '../step.js';
import type { Gather } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId } from '../types.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';

export const gatherOf = (k: K): Gather => {
  const g = k.s.tasks[k.self]?.gather;
  if (!g) throw new Error(`${k.self} has no mmu_gather`);
  return g;
};

export function resetRange(g: Gather): void {
  g.start = Number.MAX_SAFE_INTEGER;
  g.end = 0;
  g.cleared = false;
  g.freedTables = false;
}

/** tlb_remove_tlb_entry() / tlb_flush_p?d_range(): widen the range to cover [start, end). */
export function widen(g: Gather, start: number, end: number): void {
  g.start = Math.min(g.start, start);
  g.end = Math.max(g.end, end);
}

export interface GatherCtx {
  mm: MmId;
  /** tlb_gather_mmu_fullmm() (exit_mmap): the flush covers the whole mm. */
  fullmm?: boolean;
}

export const tlbGatherMmu: StepDef<GatherCtx>[] = [
  step('tlb_gather_mmu', function* (k, c) {
    const g: Gather = { mm: c.mm, start: 0, end: 0, fullmm: c.fullmm === true, cleared: false, freedTables: false, pages: [], delayedRmap: [], tables: [] };
    resetRange(g);
    k.s.tasks[k.self]!.gather = g;
    k.s.mms[c.mm]!.tlbFlushPending++; // inc_tlb_flush_pending()
    yield { id: 'tlb_gather_mmu.inc_tlb_flush_pending' };
  }),
];

export const tlbFlushMmuTlbonly: StepDef<unknown>[] = [
  step('tlb_flush_mmu_tlbonly', function* (k) {
    const g = gatherOf(k);
    if (!(g.cleared || g.freedTables)) return STOP_STEP;
    const f: FlushCtx = { mm: g.mm, start: g.fullmm ? 0 : g.start, end: g.fullmm ? TLB_FLUSH_ALL : g.end, freedTables: g.freedTables };
    yield* k.run('flush_tlb_mm_range', f); // tlb_flush()
    resetRange(g); // __tlb_reset_range()
  }),
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
    s.rcu.callbacks.push({ seq: ++s.rcu.seq, tables: g.tables }); // tlb_remove_table_free() -> call_rcu()
    g.tables = [];
    yield { id: 'tlb_table_flush.call_rcu' };
  }),
  step('tlb_batch_pages_flush', function* (k) {
    const g = gatherOf(k);
    if (g.pages.length === 0) return;
    for (const p of g.pages) putPage(k.s, p); // free_pages_and_swap_cache()
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
