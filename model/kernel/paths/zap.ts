// unmap_page_range() -> zap_pte_range() (mm/memory.c), one PTE table at a
// time:
//
//   1. pte_offset_map_lock(): take the table's PTL.
//   2. flush_tlb_batched_pending(): no reclaim batches are modelled yet.
//   3. For each present PTE: ptep_get_and_clear_full(), widen the gather
//      (tlb_remove_tlb_entry), move D to the folio; a dirty file PTE keeps
//      its rmap until after the flush (DELAY_RMAP) and forces a flush;
//      queue the page with the PTE's reference. A full batch (a schedule
//      choice) forces a flush and stops early.
//   4. Forced flush: tlb_flush_mmu_tlbonly() and tlb_flush_rmaps() while
//      still holding the PTL (commit 1cf35d47712d), then unlock, then
//      tlb_flush_mmu() frees the batch.
//
// Guarded by lock-discipline (PTE writes need the PTL) and by the
// mmu_gather properties for what happens after.

import { step, STOP_STEP, type StepDef } from '../step.js';
import { lock, note, ptlOf, unlock } from '../locks.js';
import { findTable, pteTableRanges, tableIndex } from '../pagetable.js';
import type { K } from '../step.js';
import type { MmId, Pfn } from '../types.js';
import { gatherOf, tlbFlushPteRange } from './mmu_gather.js';

export interface ZapCtx {
  mm: MmId;
  /** The ghost op whose removals these are (unmap-complete). */
  opId: string;
  /** Range of the current PTE table still to zap. */
  addr: number;
  end: number;
  table?: Pfn;
  forceFlush?: boolean;
}

export const zapPteRange: StepDef<ZapCtx>[] = [
  step('zap_pte_range.pte_offset_map_lock', function* (k, c) {
    const t = findTable(k.s, k.s.mms[c.mm]!, c.addr, 1);
    if (!t) {
      c.addr = c.end; // pmd_none: nothing mapped here
      return STOP_STEP;
    }
    c.table = t.pfn;
    c.forceFlush = false;
    yield* lock(k, ptlOf(t.pfn), 'w', 'zap_pte_range.pte_offset_map_lock');
  }),
  step('zap_pte_range.clear', function* (k, c) {
    const s = k.s;
    const g = gatherOf(k);
    const t = s.frames[c.table!]!;
    const op = s.ghost.ops[c.opId];
    while (c.addr < c.end) {
      const v = c.addr++;
      const i = tableIndex(s.config, v, 1);
      const e = t.entries![i];
      if (!e) continue;
      t.entries![i] = null; // ptep_get_and_clear_full()
      note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
      tlbFlushPteRange(g, v, v + 1); // tlb_remove_tlb_entry(): cleared_ptes
      const f = s.frames[e.pfn]!;
      if (e.dirty) f.dirty = true; // folio_mark_dirty()
      if (e.dirty && f.lp.startsWith('file:')) {
        g.delayedRmap.push(e.pfn); // __tlb_remove_folio_pages(..., delay_rmap)
        c.forceFlush = true;
      } else {
        f.mapcount--; // folio_remove_rmap_ptes()
      }
      g.pages.push(e.pfn);
      op?.zapped.push({ vpn: v, ghost: e.ghost, at: ++s.ghost.clock });
      yield { id: 'zap_pte_range.clear' };
      if (k.choose('zap_pte_range.batch_full')) {
        c.forceFlush = true; // __tlb_remove_folio_pages() returned true
        break;
      }
      if (c.forceFlush) break;
    }
  }),
  step('zap_pte_range.force_flush', function* (k, c) {
    if (!c.forceFlush) return;
    yield* k.run('tlb_flush_mmu_tlbonly', {}); // under the PTL
  }),
  step('zap_pte_range.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'zap_pte_range.pte_unmap_unlock');
  }),
  step('zap_pte_range.tlb_flush_mmu', function* (k, c) {
    if (c.forceFlush) yield* k.run('tlb_flush_mmu_free', {});
  }),
];

/** unmap_page_range(): zap_pte_range() over every PTE table covering [start, end). */
export function* unmapPageRange(k: K, mm: MmId, opId: string, start: number, end: number) {
  for (const [addr, to] of pteTableRanges(k.s.config, start, end)) {
    const c: ZapCtx = { mm, opId, addr, end: to };
    while (c.addr < c.end) yield* k.run('zap_pte_range', c);
  }
}

