// Rule mutant: shrink_folio_list() writes a dirty anonymous folio to swap
// (pageout() -> swap_writeout()) without try_to_unmap_flush_dirty() first,
// while try_to_unmap_one() still defers the flush of a dirty PTE. The
// ordering is d950c9477d51 ("mm: defer flush of writable TLB entries", Mel
// Gorman, 2015-09-04), the third patch of the 2015 batched-flush series:
// it began deferring dirty PTEs (set_tlb_ubc_flush_pending(mm, page,
// pte_dirty(pteval))) and, in the same patch, added
// try_to_unmap_flush_dirty() before pageout(). No kernel shipped the
// deferral without the flush: before d950c9477d51 (at 72b252aed506, "mm:
// send one IPI per CPU to TLB flush all entries after unmapping pages") a
// dirty PTE was flushed at once (flush_tlb_page()). So this is that patch
// minus one hunk, the state its changelog warns of ("the TLB must be
// flushed before any IO can start ... to avoid lost writes"), not a fix
// commit's parent. Read in the patch as posted to linux-mm (v3, 3/3,
// 2015-06-08) and the mainline mm/vmscan.c shrink_folio_list().
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'swap-pageout-before-flush-dirty',
  description: 'shrink_folio_list writes a dirty anonymous folio to swap without try_to_unmap_flush_dirty first',
  edit: (v) =>
    v.replace('shrink_folio_list.try_to_unmap_flush_dirty', function* () {
      // try_to_unmap_flush_dirty() left out: a deferred writable entry survives the write
    }),
});
