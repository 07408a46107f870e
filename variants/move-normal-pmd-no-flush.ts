// Mutant: move_normal_pmd() moves a whole PTE table without flushing the
// old range. Not a fix commit: the flush the mechanism needs, taken away
// (move_normal_pmd() has flushed the old PMD range under both PMD locks
// since it came in, 2c91bd4a4e2e "mm: speed up mremap by 20x on large
// regions", Joel Fernandes, 2018). A CPU keeps its TLB entries for the old
// addresses, and its paging-structure-cache entry onto the moved table,
// after the call returns.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'move-normal-pmd-no-flush',
  description: 'move_normal_pmd moves a PTE table without flush_tlb_range of the old PMD range',
  edit: (v) => v.drop('move_normal_pmd.flush_tlb_range'),
});
