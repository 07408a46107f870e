// Mutant: madvise_free_pte_range() clears A and D in the PTE but does not
// record the page in the mmu_gather (no tlb_remove_tlb_entries()), so
// madvise(MADV_FREE) returns with other CPUs' TLB entries still filled
// dirty. A store through such an entry sets nothing in the PTE (x86 writes
// D back only on a clean entry), reclaim's try_to_unmap_one() then sees a
// clean PTE and a clean folio and discards what was just written: the next
// read faults a zero page. The mechanism the flush exists for, taken away:
// MADV_FREE came with the clear-then-record pair from its first version
// (854e9ed09ded "mm: support madvise(MADV_FREE)", Minchan Kim, 2016-01-15:
// "Some of architecture(ex, PPC) don't update TLB with set_pte_at and
// tlb_remove_tlb_entry so for the portability, remap the pte with
// old|clean after pte clearing"); current mainline does it with
// clear_young_dirty_ptes() + tlb_remove_tlb_entries(). Not a fix commit.
import { defineVariant } from '../model/policies/variant.js';
import { isZeroPfn } from '../model/kernel/frames.js';
import { note } from '../model/kernel/locks.js';
import { tableIndex } from '../model/kernel/pagetable.js';
import type { MadviseFreePteCtx } from '../model/kernel/paths/madvise_free.js';

export default defineVariant({
  name: 'madv-free-no-tlb-remove',
  description: 'madvise_free_pte_range clears young and dirty without tlb_remove_tlb_entries (nothing to flush)',
  edit: (v) =>
    v.replace('madvise_free_pte_range.clear_young_dirty_ptes', function* (k, c0) {
      const c = c0 as MadviseFreePteCtx;
      const s = k.s;
      const t = s.frames[c.table!]!;
      for (let a = c.addr; a < c.end; a++) {
        const i = tableIndex(s.config, a, 1);
        const e = t.entries![i];
        if (!e || e.huge || isZeroPfn(s, e.pfn)) continue;
        const f = s.frames[e.pfn]!;
        if (f.dirty) {
          if (f.mapcount !== 1) continue;
          f.dirty = false;
        }
        if (e.accessed || e.dirty) {
          t.entries![i] = { ...e, accessed: false, dirty: false };
          note(k, 'pte-write', c.mm, `pte ${a}`, t.pfn); // and no tlb_remove_tlb_entries()
        }
        f.lazyfree = true;
        yield { id: 'madvise_free_pte_range.folio_mark_lazyfree' };
      }
    }),
});
