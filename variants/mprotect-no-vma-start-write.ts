// Mutant: mprotect changes the VMAs of its range without vma_start_write().
// A page fault that took the VMA's per-VMA read lock (lock_vma_under_rcu)
// before mprotect_fixup() runs on with the old protection: it maps the page
// writable after change_pte_range() has passed that PTE, so a store through
// it succeeds after mprotect(PROT_READ) returned. mprotect_fixup() must
// write-lock each VMA it changes, as every VMA change under mmap_write_lock
// must (include/linux/mmap_lock.h, vma_start_write(); mm/mprotect.c).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'mprotect-no-vma-start-write',
  description: 'mprotect_fixup changes VMAs without vma_start_write, so a per-VMA-lock fault maps with the old protection',
  edit: (v) => v.replace('mprotect_fixup.vma_start_write', function* () {}),
});
