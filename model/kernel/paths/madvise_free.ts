// madvise(MADV_FREE): madvise_dontneed_free() -> madvise_free_single_vma()
// -> walk_page_range_vma() -> madvise_free_pte_range() (mm/madvise.c, as
// of v6.17..7.x):
//
//   1. madvise_lock(): get_lock_mode() gives MADV_FREE the per-VMA read
//      lock like MADV_DONTNEED ("mm: madvise: use per_vma lock for
//      MADV_FREE", Barry Song, 2025-06-10; research/update-2026.md B7): a
//      range inside one VMA that is not write-locked takes it, anything
//      else falls back to mmap_read_lock() (the madvise.mmap_read_lock step
//      of paths/madvise.ts, shared).
//   2. madvise_init_tlb(): one mmu_gather for the call, tlb_gather_mmu()
//      (tlb_flush_pending++).
//   3. Per VMA of the range (madvise_walk_vmas(); a hole: -ENOMEM at the
//      end): a VMA that is not anonymous (!vma_is_anonymous(): a shared
//      file, shmem or hugetlbfs mapping) fails the call with -EINVAL at
//      once, the VMAs before it already advised. Else notifier start
//      (MMU_NOTIFY_CLEAR), the walk, notifier end.
//   4. madvise_free_pte_range(), one PTE table per call, under its PTL
//      (pte_offset_map_lock) after flush_tlb_batched_pending(): for each
//      present PTE of a normal folio (vm_normal_folio(): not the zero page)
//        a. folio_test_dirty(): a folio mapped more than once is skipped
//           (folio_mapcount() != folio_nr_pages()), else folio_clear_dirty();
//        b. pte_young() || pte_dirty(): clear_young_dirty_ptes() (A and D
//           cleared in the PTE, which stays present and writable) and
//           tlb_remove_tlb_entries(): the gather records the page, so
//           tlb_finish_mmu() flushes it;
//        c. folio_mark_lazyfree(): PG_swapbacked cleared (Frame.lazyfree).
//      A shared clean folio (after fork) is made lazyfree too: only a dirty
//      one needs the mapcount check.
//   5. madvise_finish_tlb(): tlb_finish_mmu() flushes what step 4b
//      recorded (the nested-gather rule included: 99baac21e458).
//   6. madvise_unlock().
//
// Step 5 is what makes reclaim's lazyfree check sound: after it no CPU
// holds a TLB entry with D set for a PTE whose D is clear, so a store
// either sets D in the PTE (a clean entry re-walks, access.ts) or faults.
// Before it, a store through an entry filled dirty writes the page without
// the PTE seeing it; try_to_unmap_one() then finds the PTE clean and
// discards the data (try_to_unmap_one.ts). Guarded by read-value: the
// ideal memory lets a lazyfree page read back its old value or zero only
// until the next write (docs/kernel-facts.md F10, R3).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { note, ptlOf, unlock } from '../locks.js';
import { isZeroPfn } from '../frames.js';
import { pteTableRanges, tableIndex } from '../pagetable.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { K } from '../step.js';
import type { MmId, Pfn } from '../types.js';
import { vmasIn } from '../vma.js';
import { flushTlbBatchedPending } from './flush_tlb_batched_pending.js';
import { madviseDontneed, type MadviseCtx } from './madvise.js';
import { gatherOf, tlbFlushPteRange } from './mmu_gather.js';
import { freeSwapAndCache } from './swap.js';
import type { NotifierCtx } from './notifier.js';

// madvise_lock() / madvise_unlock(): the same code as MADV_DONTNEED's (paths/madvise.ts), under step ids of this path
const [madviseLock, , madviseUnlock] = madviseDontneed;

export const madviseFree: StepDef<MadviseCtx>[] = [
  step('madvise_free.madvise_lock', madviseLock!.fn),
  step('madvise_free_single_vma', function* (k, c) {
    const vmas = vmasIn(k.s.mms[c.mm]!, c.start, c.end);
    c.result = vmas.reduce((n, v) => n + (v.end - v.start), 0) === c.end - c.start ? 'ok' : 'ENOMEM';
    yield* k.run('tlb_gather_mmu', { mm: c.mm }); // madvise_init_tlb()
    for (const v of vmas) {
      if (v.kind !== 'anon') {
        c.result = 'EINVAL'; // "MADV_FREE works for only anon vma at the moment"
        yield { id: 'madvise_free_single_vma.einval' };
        break;
      }
      const n: NotifierCtx = { mm: c.mm, start: v.start, end: v.end, event: 'CLEAR' };
      yield* k.run('mmu_notifier_invalidate_range_start', n);
      yield* madviseFreePageRange(k, c.mm, v.start, v.end);
      yield* k.run('mmu_notifier_invalidate_range_end', n);
    }
    yield* k.run('tlb_finish_mmu', {}); // madvise_finish_tlb()
  }),
  step('madvise_free.madvise_unlock', madviseUnlock!.fn),
];

export interface MadviseFreePteCtx {
  mm: MmId;
  addr: number;
  end: number;
  table?: Pfn;
}

/** walk_page_range_vma(): madvise_free_pte_range() for every PTE table of [start, end). */
export function* madviseFreePageRange(k: K, mm: MmId, start: number, end: number) {
  for (const [addr, to] of pteTableRanges(k.s.config, start, end)) yield* k.run('madvise_free_pte_range', { mm, addr, end: to });
}

/** Step 4: one PTE table. */
export const madviseFreePteRange: StepDef<MadviseFreePteCtx>[] = [
  step('madvise_free_pte_range.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.addr, 'madvise_free_pte_range.pte_offset_map_lock');
    if (t === null) return STOP_STEP; // pmd_none: nothing mapped here
    c.table = t;
  }),
  step('madvise_free_pte_range.flush_tlb_batched_pending', function* (k, c) {
    yield* flushTlbBatchedPending(k, c.mm);
  }),
  step('madvise_free_pte_range.clear_young_dirty_ptes', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    for (let v = c.addr; v < c.end; v++) {
      const i = tableIndex(s.config, v, 1);
      const e = t.entries![i];
      if (e?.swap !== undefined) {
        // !pte_present(): a swap entry is dropped, free_swap_and_cache_nr(), clear_not_present_full_ptes()
        t.entries![i] = null;
        note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
        freeSwapAndCache(s, e.swap);
        yield { id: 'madvise_free_pte_range.free_swap_and_cache' };
        continue;
      }
      if (!e || e.huge || isZeroPfn(s, e.pfn)) continue; // pte_none, or vm_normal_folio() NULL
      const f = s.frames[e.pfn]!;
      if (f.dirty) {
        if (f.mapcount !== 1) continue; // folio_mapcount() != folio_nr_pages(): not exclusive, left alone
        f.dirty = false; // folio_clear_dirty()
      }
      if (e.accessed || e.dirty) {
        t.entries![i] = { ...e, accessed: false, dirty: false }; // clear_young_dirty_ptes(CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY)
        note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
        tlbFlushPteRange(gatherOf(k), v, v + 1); // tlb_remove_tlb_entries()
      }
      f.lazyfree = true; // folio_mark_lazyfree(): __folio_clear_swapbacked()
      yield { id: 'madvise_free_pte_range.folio_mark_lazyfree' };
    }
  }),
  step('madvise_free_pte_range.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'madvise_free_pte_range.pte_unmap_unlock');
    return STOP_STEP;
  }),
];
