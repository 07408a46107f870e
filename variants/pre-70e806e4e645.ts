// Mutant: fork shares a page that a GUP pin holds, as before 70e806e4e645
// ("mm: Do early cow for pinned pages during fork() for ptes", Peter Xu,
// 2020-09, v5.9; today __folio_try_dup_anon_rmap()'s
// folio_needs_cow_for_dma() -> -EBUSY -> copy_present_page(), decision
// point folio_try_dup_anon_rmap.needs_cow_for_dma). The parent's PTE is
// write-protected and the page shared with the child, so the parent's next
// write COWs it away: the I/O still in flight through the pin (an O_DIRECT
// read) lands in the page the child kept. The parent never sees the data it
// read, and the child sees data read after it was forked. Scenario:
// test/scenarios/gup-dma-across-fork.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-70e806e4e645',
  description: 'copy_present_ptes shares a DMA-pinned anonymous page with the child instead of copying it (before 70e806e4e645)',
  edit: (v) => v.decide('folio_try_dup_anon_rmap.needs_cow_for_dma', () => false),
});
