// unmap_page_range() -> zap_pte_range() (mm/memory.c), one PTE table at a
// time:
//
//   1. pte_offset_map_lock(): take the table's PTL, rechecking the PMD
//      entry (pte_offset_map.ts); none left: nothing to zap.
//   2. flush_tlb_batched_pending(): if reclaim left a batched flush
//      pending on the mm, flush it before looking at any PTE.
//   3. For each present PTE: first need_resched() (a schedule choice):
//      stop here, keeping what was cleared in the gather unflushed. Then
//      ptep_get_and_clear_full(), widen the gather (tlb_remove_tlb_entry),
//      move D to the folio; a dirty file PTE keeps its rmap until after
//      the flush (DELAY_RMAP) and forces a flush at the end of the table;
//      queue the page with the PTE's reference. A full batch (a schedule
//      choice) forces a flush and stops early (force_break). A migration
//      entry (migrate.ts) is only cleared: zap_nonpresent_ptes().
//   4. Forced flush: tlb_flush_mmu_tlbonly() and tlb_flush_rmaps() while
//      still holding the PTL (commit 1cf35d47712d), then unlock, then
//      tlb_flush_mmu() frees the batch.
//   5. A stop before the end (need_resched, force_break): cond_resched()
//      and start again at step 1 for the rest of the table. The entries
//      cleared so far are flushed later, by tlb_finish_mmu() or the next
//      forced flush; a second zap of the same range in between finds them
//      none and relies on the nested-gather flush (mmu_gather.ts step 4).
//   6-8. CONFIG_PT_RECLAIM (pt_reclaim.ts): still under the PTL, after the
//      whole table went in one hold, zap_empty_pte_table(); after the last
//      hold, zap_pte_table_if_empty() if that was not possible; then
//      pte_free_tlb().
//
// Guarded by lock-discipline (PTE writes need the PTL) and by the
// mmu_gather properties for what happens after.
//
// An msharefs VMA (unmapMshareVma) never reaches zap_pte_range() in any
// posted version except through the `madvise: 'allowed'` knob value:
// unmap_page_range() returns early for it (RFC v3), calls its empty
// vm_ops hook (v1/v2), or calls mshare_vm_op_unshare_page_range() (v3).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { note, ptlOf, unlock } from '../locks.js';
import { isZeroPfn } from '../frames.js';
import { pteTableRanges, tableIndex } from '../pagetable.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { K } from '../step.js';
import { ModelError, type MmId, type Pfn } from '../types.js';
import type { Vma } from '../state.js';
import { flushTlbBatchedPending } from './flush_tlb_batched_pending.js';
import { freeSwapAndCache } from './swap.js';
import { gatherOf, tlbFlushPteRange } from './mmu_gather.js';
import { pteFreeTlb, pteTableReclaimPossible, zapEmptyPteTable, zapPteTableIfEmpty, type ZapDetails } from './pt_reclaim.js';

export interface ZapCtx {
  mm: MmId;
  /** The ghost op whose removals these are (unmap-complete). */
  opId: string;
  /** Range of the current PTE table still to zap. */
  addr: number;
  end: number;
  table?: Pfn;
  forceFlush?: boolean;
  /** zap_pte_range()'s `start`: where this call began, the table's first page when it may be reclaimed. */
  start?: number;
  /** pte_table_reclaim_possible() for this call; cleared by any_skipped. */
  canReclaimPt?: boolean;
  /** All of the table zapped in one PTL hold so far; cleared by a need_resched() or force_break exit. */
  directReclaim?: boolean;
  /** The PTE table whose PMD entry this call cleared, to be freed. */
  reclaimed?: Pfn | null;
}

export const zapPteRange: StepDef<ZapCtx>[] = [
  step('zap_pte_range.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.addr, 'zap_pte_range.pte_offset_map_lock');
    if (t === null) {
      c.addr = c.end; // pmd_none: nothing mapped here
      c.canReclaimPt = false; // return addr: no reclaim either
      return STOP_STEP;
    }
    c.table = t;
    c.forceFlush = false;
  }),
  step('zap_pte_range.flush_tlb_batched_pending', function* (k, c) {
    yield* flushTlbBatchedPending(k, c.mm);
  }),
  step('zap_pte_range.clear', function* (k, c) {
    const s = k.s;
    const g = gatherOf(k);
    const t = s.frames[c.table!]!;
    const op = s.ghost.ops[c.opId];
    while (c.addr < c.end) {
      const i = tableIndex(s.config, c.addr, 1);
      const e = t.entries![i];
      if (!e) {
        c.addr++; // do_zap_pte_range() skips a run of none PTEs
        continue;
      }
      if (k.choose('zap_pte_range.need_resched')) {
        c.directReclaim = false;
        yield { id: 'zap_pte_range.need_resched' }; // break, the PTL still held
        break;
      }
      const v = c.addr++;
      t.entries![i] = null; // ptep_get_and_clear_full()
      note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
      if (e.swap !== undefined) {
        // zap_nonpresent_ptes(): a swap entry, free_swap_and_cache() (paths/swap.ts); no frame, no TLB entry
        freeSwapAndCache(s, e.swap);
        yield { id: 'zap_nonpresent_ptes.swap_entry' };
        continue;
      }
      if (e.migration) {
        // zap_nonpresent_ptes(): a migration entry holds no reference and no mapcount, and no TLB entry
        op?.zapped.push({ vpn: v, ghost: e.ghost, at: ++s.ghost.clock });
        yield { id: 'zap_nonpresent_ptes.migration_entry' };
        continue;
      }
      tlbFlushPteRange(g, v, v + 1); // tlb_remove_tlb_entry(): cleared_ptes
      if (isZeroPfn(s, e.pfn)) {
        op?.zapped.push({ vpn: v, ghost: e.ghost, at: ++s.ghost.clock });
        yield { id: 'zap_pte_range.clear' }; // zap_present_ptes(): vm_normal_page() NULL, no rmap, no batch
        continue;
      }
      const f = s.frames[e.pfn]!;
      if (e.dirty) f.dirty = true; // folio_mark_dirty()
      if (e.dirty && f.lp.startsWith('file:')) {
        g.delayedRmap.push(e.pfn); // __tlb_remove_folio_pages(..., delay_rmap)
        c.forceFlush = true; // flush before the PTL goes, but zap on
      } else {
        f.mapcount--; // folio_remove_rmap_ptes()
      }
      g.pages.push(e.pfn);
      op?.zapped.push({ vpn: v, ghost: e.ghost, at: ++s.ghost.clock });
      yield { id: 'zap_pte_range.clear' };
      if (k.choose('zap_pte_range.batch_full')) {
        c.forceFlush = true; // __tlb_remove_folio_pages() returned true: force_break
        c.directReclaim = false;
        break;
      }
    }
  }),
  step('zap_empty_pte_table', function* (k, c) {
    if (!(c.canReclaimPt && c.directReclaim && c.addr === c.end)) return;
    c.reclaimed = yield* zapEmptyPteTable(k, c.mm, c.start!);
    if (c.reclaimed === null) c.directReclaim = false; // the trylock failed: recheck after the unlock
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
  // if (addr != end) goto retry: unmapPageRange() runs the path again
  step('zap_pte_table_if_empty', function* (k, c) {
    if (c.addr !== c.end || !c.canReclaimPt || c.directReclaim) return;
    c.reclaimed = yield* zapPteTableIfEmpty(k, c.mm, c.start!);
  }),
  step('pte_free_tlb', function* (k, c) {
    const t = reclaimedTable(c);
    if (t !== null) yield* pteFreeTlb(k, t, c.start!); // mm_dec_nr_ptes()
  }),
];

/** The PTE table this zap_pte_range() call unlinked for PT_RECLAIM, once the whole range is done; else null. */
export function reclaimedTable(c: ZapCtx): Pfn | null {
  return c.addr === c.end && c.canReclaimPt && c.reclaimed != null ? c.reclaimed : null;
}

/**
 * unmap_page_range() of [start, end) of an msharefs VMA of `mm`, by the
 * madvise knob. Citations: model/policies/mshare_sources.ts.
 *   RFC v3 "mm/mshare: ... unmap_page_range" (2024-09-03): __unmap_page_range()
 *     returns at `if (vma_is_shared(vma))`; v2 12/20 keeps that check too.
 *   v1 11/20, v2 11/20 "mm: add and use unmap_page_range vm_ops hook": unmap_page_range()
 *     calls vma->vm_ops->unmap_page_range, and msharefs's (v2 12/20,
 *     mshare_vm_op_unmap_page_range) is empty.
 *   v3 13/22 "mm/mshare: prepare for page table sharing support" (2025-08-19): the hook is
 *     mshare_vm_op_unshare_page_range(), which steps addr by P4D_SIZE from the
 *     (unaligned) start, clears P's entry under P->page_table_lock and
 *     tlb_flush_p4d_range(tlb, addr, P4D_SIZE): any DONTNEED in the window
 *     unlinks the whole slot (research/update-2026.md A6).
 */
export function* unmapMshareVma(k: K, mm: MmId, opId: string, vma: Vma, start: number, end: number, details?: ZapDetails) {
  switch (k.knob('madvise')) {
    case 'early-return':
      keptByCall(k, opId, start, end);
      yield { id: 'unmap_page_range.vma_is_shared' };
      return;
    case 'empty-hook':
      keptByCall(k, opId, start, end);
      yield { id: 'mshare_vm_op_unmap_page_range' };
      return;
    case 'unshare-hook':
      yield* k.run('mshare_vm_op_unshare_page_range', { mm, vma, start });
      return;
    case 'allowed':
      yield* unmapPageRange(k, mm, opId, start, end, details); // through P's link into the host's tables
      return;
    default:
      throw new ModelError(`unmap_page_range() of msharefs VMA ${vma.file} under madvise=${String(k.policy.mshare?.madvise)}`);
  }
}

/**
 * Ghost bookkeeping: a call whose unmap_page_range() leaves [start, end)
 * mapped (no zap, no unlink) removed nothing there, so unmap-complete may
 * not expect the translations it saw at invoke to be gone.
 */
function keptByCall(k: K, opId: string, start: number, end: number) {
  const op = k.s.ghost.ops[opId];
  if (op) op.mappedAtInvoke = op.mappedAtInvoke.filter((m) => m.vpn < start || m.vpn >= end);
}

/** unmap_page_range(): zap_pte_range() over every PTE table covering [start, end). */
export function* unmapPageRange(k: K, mm: MmId, opId: string, start: number, end: number, details?: ZapDetails) {
  for (const [addr, to] of pteTableRanges(k.s.config, start, end)) {
    const c: ZapCtx = { mm, opId, addr, end: to, start: addr, canReclaimPt: pteTableReclaimPossible(k, addr, to, details), directReclaim: true, reclaimed: null };
    while (c.addr < c.end) yield* k.run('zap_pte_range', c);
  }
}
