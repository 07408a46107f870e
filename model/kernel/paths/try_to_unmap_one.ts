// try_to_unmap_one() (mm/rmap.c) for one VMA mapping a file folio, from
// rmap_walk_file() under i_mmap_rwsem (read), with TTU_BATCH_FLUSH as
// shrink_folio_list() passes it:
//
//   1. mmu_notifier_range_init(MMU_NOTIFY_CLEAR, the page's range in this
//      VMA); mmu_notifier_invalidate_range_start(), before any PTE changes.
//   2. page_vma_mapped_walk(): map_pte() takes the PTE table's PTL
//      (pte_offset_map_lock, pte_offset_map.ts); not mapped here (none, or
//      another folio): nothing to do.
//   3. Under the PTL: get_and_clear_ptes(); if should_defer_flush(),
//      set_tlb_ubc_flush_pending() (tlbbatch.ts step 2), else
//      flush_tlb_range() when pte_accessible() (a full flush_tlb_mm_range()
//      of the page, before the PTL goes). Then folio_mark_dirty() if the PTE
//      was dirty, folio_remove_rmap_pte(), folio_put() (the mapping's
//      reference). A file PTE becomes none (no swap entry).
//   4. page_vma_mapped_walk_done(): unlock the PTL.
//   5. mmu_notifier_invalidate_range_end().
//
// A lazyfree anonymous folio (MADV_FREE; mm/rmap.c try_to_unmap_one(),
// "MADV_FREE page check"), from rmap_walk_anon():
//
//   3'. Under the PTL, as step 3 up to folio_mark_dirty() (the flush
//       deferred or done the same way; mainline does not flush before the
//       check, it relies on the architecture: "a clear->dirty transition on
//       a cached TLB entry is written through and traps if the PTE is
//       unmapped"). Then smp_mb(); folio_ref_count(), folio_mapcount():
//       folio_test_dirty() (redirtied through the PTE, or by a GUP user):
//       set_ptes() restores the PTE, folio_set_swapbacked(), walk_abort;
//       else ref_count != 1 + map_count (a GUP pin or speculative
//       reference): restore the PTE, walk_abort (6c8e2a256915, kept
//       lazyfree since "mm: Set folio swapbacked iff folios are dirty in
//       try_to_unmap_one", Barry Song, 2025-02-14); else discard:
//       folio_remove_rmap_ptes(), folio_put_refs().
//
// The check is sound only if no CPU can still write the folio without the
// PTE or the folio having seen it: a TLB entry filled dirty before MADV_FREE
// cleared D is flushed by MADV_FREE's own tlb_finish_mmu(); a clean entry
// re-walks on a store (access.ts) and finds the PTE, or none (a #PF).
//
// A swap-backed anonymous folio in the swap cache (reclaim.ts with a swap
// device, paths/swap.ts), from rmap_walk_anon():
//
//   3''. Under the PTL, as step 3 up to folio_mark_dirty(): the deferred
//        flush records pte_dirty(pteval) as the batch's `writable`
//        (set_tlb_ubc_flush_pending()). An exclusive folio that may be
//        DMA-pinned stays: folio_try_share_anon_rmap_pte() fails
//        (folio_maybe_dma_pinned(): in the model a reference beyond its
//        mappings, the isolation and the swap cache: frames.ts
//        folioMaybeDmaPinned()), so set_pte_at() restores pteval
//        and walk_abort. Otherwise folio_dup_swap() (the slot's
//        count), set_pte_at() of the swap entry (swp_entry_to_pte(), with
//        pte_swp_mkexclusive() if the folio was exclusive),
//        folio_remove_rmap_pte(), folio_put(). folio_dup_swap() failing
//        (-ENOMEM) is not modelled.
//
// Step 3's deferred flush leaves the TLB entries of other CPUs usable until
// try_to_unmap_flush() (reclaim.ts step 6); the folio stays allocated until
// then. Guarded by no-freed-frame-reachable and read-value (the refaulted
// page must read what the folio held), and lock-discipline (PTE writes
// under the PTL).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { note, ptlOf, unlock } from '../locks.js';
import { tableIndex } from '../pagetable.js';
import { folioMaybeDmaPinned, putPage } from '../frames.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { MmId, Pfn } from '../types.js';
import type { Pte } from '../state.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import { pteAccessible, setTlbUbcFlushPending, shouldDeferFlush } from './tlbbatch.js';
import { swapPte } from './swap.js';

export interface TryToUnmapOneCtx {
  mm: MmId;
  vpn: number;
  folio: Pfn;
  table?: Pfn;
  flushNow?: boolean;
  /** The PTE get_and_clear_ptes() returned (for this folio). */
  pteval?: Pte;
  /** An anonymous folio (rmap_walk_anon()): lazyfree (step 3' decides) or, with `swapbacked`, step 3''. */
  anon?: boolean;
  swapbacked?: boolean;
  /** The folio was exclusive (PageAnonExclusive()) when the walk started: the swap entry says so. */
  exclusive?: boolean;
  /** try_to_unmap_one() returned false (walk_abort): the rmap walk stops. */
  abort?: boolean;
}

export const tryToUnmapOne: StepDef<TryToUnmapOneCtx>[] = [
  step('try_to_unmap_one.mmu_notifier_invalidate_range_start', function* (k, c) {
    yield* k.run('mmu_notifier_invalidate_range_start', { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'CLEAR' });
  }),
  step('try_to_unmap_one.page_vma_mapped_walk', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'page_vma_mapped_walk.pte_offset_map_lock');
    c.table = t ?? undefined;
  }),
  step('try_to_unmap_one.get_and_clear_ptes', function* (k, c) {
    if (c.table === undefined) return;
    const s = k.s;
    const t = s.frames[c.table]!;
    const i = tableIndex(s.config, c.vpn, 1);
    const e = t.entries![i];
    if (!e || e.pfn !== c.folio || e.huge || e.migration) {
      yield { id: 'page_vma_mapped_walk.not_mapped' };
      return;
    }
    t.entries![i] = null; // get_and_clear_ptes()
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    const f = s.frames[c.folio]!;
    if (e.dirty) f.dirty = true; // folio_mark_dirty()
    if (!c.anon) {
      f.mapcount--; // folio_remove_rmap_pte()
      putPage(s, c.folio); // folio_put(): the isolation and page-cache references keep it allocated
    }
    c.flushNow = !shouldDeferFlush(k, c.mm) && pteAccessible(k, c.mm, e);
    c.pteval = e;
    yield { id: 'try_to_unmap_one.get_and_clear_ptes' };
  }),
  step('try_to_unmap_one.set_tlb_ubc_flush_pending', function* (k, c) {
    if (c.pteval && !c.flushNow) yield* setTlbUbcFlushPending(k, c.mm, c.pteval);
  }),
  // flush_tlb_range(vma, address, end_addr): nothing deferred, flush before the PTL goes
  step('try_to_unmap_one.flush_tlb_range', function* (k, c) {
    if (!c.flushNow) return;
    const f: FlushCtx = { mm: c.mm, start: c.vpn, end: c.vpn + 1, stride: 1, freedTables: true }; // x86 flush_tlb_range() passes freed_tables = true (mremap_tables.ts)
    yield* k.run('flush_tlb_mm_range', f);
  }),
  // step 3': the MADV_FREE page check, still under the PTL
  step('try_to_unmap_one.lazyfree', function* (k, c) {
    if (!c.anon || c.swapbacked || !c.pteval) return;
    const s = k.s;
    const f = s.frames[c.folio]!;
    const t = s.frames[c.table!]!;
    const restore = () => {
      t.entries![tableIndex(s.config, c.vpn, 1)] = c.pteval!; // set_ptes(mm, address, pvmw.pte, pteval, nr_pages)
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
      c.abort = true; // walk_abort
    };
    if (k.decide('try_to_unmap_one.lazyfree_dirty', f.dirty)) {
      restore();
      delete f.lazyfree; // folio_set_swapbacked()
      yield { id: 'try_to_unmap_one.lazyfree_redirtied' };
      return;
    }
    if (k.decide('try_to_unmap_one.lazyfree_extra_ref', f.refcount !== 1 + f.mapcount)) {
      restore();
      yield { id: 'try_to_unmap_one.lazyfree_extra_ref' };
      return;
    }
    f.mapcount--; // discard: folio_remove_rmap_ptes()
    putPage(s, c.folio); // folio_put_refs(): the isolation reference keeps it allocated
    yield { id: 'try_to_unmap_one.lazyfree_discard' };
  }),
  // step 3'': the swap entry, still under the PTL
  step('try_to_unmap_one.set_swp_pte', function* (k, c) {
    if (!c.swapbacked || !c.pteval) return;
    const s = k.s;
    const f = s.frames[c.folio]!;
    const slot = f.swapSlot!;
    if (c.exclusive && folioMaybeDmaPinned(f, 2)) { // beyond the isolation and swap-cache references
      // folio_try_share_anon_rmap_pte() -> -EBUSY: the pin's I/O must keep writing the page the PTE maps
      s.frames[c.table!]!.entries![tableIndex(s.config, c.vpn, 1)] = c.pteval; // set_pte_at(mm, address, pvmw.pte, pteval)
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, c.table!);
      c.abort = true; // walk_abort
      yield { id: 'try_to_unmap_one.maybe_dma_pinned' };
      return;
    }
    s.swap!.slots[slot]!.count++; // folio_dup_swap()
    s.frames[c.table!]!.entries![tableIndex(s.config, c.vpn, 1)] = swapPte(slot, !!c.exclusive); // set_pte_at(mm, address, pvmw.pte, swp_pte)
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, c.table!);
    f.mapcount--; // folio_remove_rmap_pte()
    putPage(s, c.folio); // folio_put(): the isolation and swap-cache references keep it allocated
    yield { id: 'try_to_unmap_one.set_swp_pte' };
  }),
  step('try_to_unmap_one.page_vma_mapped_walk_done', function* (k, c) {
    if (c.table === undefined) return;
    yield* unlock(k, ptlOf(c.table), 'page_vma_mapped_walk_done.pte_unmap_unlock');
  }),
  step('try_to_unmap_one.mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* k.run('mmu_notifier_invalidate_range_end', { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'CLEAR' });
    return STOP_STEP;
  }),
];
