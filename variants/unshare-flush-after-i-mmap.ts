// Mutant: the unshare flush deferred until after the i_mmap lock is
// dropped - what 8ce720d5bd91 forbids ("we disallow deferring flushing to
// tlb_finish_mmu() and instead require an explicit earlier call to
// tlb_flush_unshared_tables()", with a VM_WARN_ON_ONCE in
// tlb_finish_mmu()). Between the unlock and the flush the last owner may
// unmap, free and reuse the table while the unsharer's CPUs still cache it.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'unshare-flush-after-i-mmap',
  description: 'huge_pmd_unshare_flush runs after __hugetlb_zap_end dropped i_mmap_rwsem',
  edit: (v) => v.move('huge_pmd_unshare_flush', { after: '__hugetlb_zap_end' }),
});
