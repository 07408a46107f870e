// Mutant: move_ptes() moves present PTEs and never flushes the old range.
// Not a fix commit: the flush the mechanism needs, taken away. mremap has
// always flushed the moved range (move_page_tables()'s flush_tlb_range()
// after the loop until 2016, then under the PTL for dirty PTEs,
// 5d1904204c99, and for every present PTE since eb66ae030829, "mremap:
// properly flush TLB before releasing the page", Linus Torvalds,
// 2018-10-12, CVE-2018-18281). Nothing else flushes the source range when
// its PTE table stays (the zap of unmap_source_vma() finds no PTE):
// the call returns with another CPU still mapping the old address.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'move-ptes-no-flush',
  description: 'move_ptes moves present PTEs without flush_tlb_range of the old range',
  edit: (v) => v.drop('move_ptes.flush_tlb_range'),
});
