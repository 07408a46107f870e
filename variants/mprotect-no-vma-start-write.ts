// Mutant: mprotect changes the VMAs of its range without vma_start_write().
// An anonymous page fault that took the VMA's per-VMA read lock
// (lock_vma_under_rcu) and made its PTE from vm_flags (do_anonymous_page()
// reads VM_WRITE before pte_offset_map_lock()) installs it writable after
// mprotect_fixup() changed vm_flags and change_pte_range() passed the empty
// PTE, so a store through it succeeds after mprotect(PROT_READ) returned.
// (A file fault makes its entry under the PTL, in set_pte_range(), and so
// sees the new flags.) mprotect_fixup() must
// write-lock each VMA it changes, as every VMA change under mmap_write_lock
// must (include/linux/mmap_lock.h, vma_start_write(); mm/mprotect.c).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'mprotect-no-vma-start-write',
  description: 'mprotect_fixup changes VMAs without vma_start_write, so a per-VMA-lock fault maps with the old protection',
  edit: (v) => v.replace('mprotect_fixup.vma_start_write', function* () {}),
});
