// Mutant: munmap detaches the VMAs of its range without vma_start_write().
// A page fault that took the VMA's per-VMA read lock (lock_vma_under_rcu)
// before the detach goes on under it: munmap neither waits for it nor stops
// it, so the fault maps a page into a range munmap has already unmapped
// (and zapped, and maybe freed the tables of). The per-VMA lock scheme rests
// on every VMA change under mmap_write_lock being preceded by
// vma_start_write() (include/linux/mmap_lock.h; vms_gather_munmap_vmas()
// in mm/vma.c).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'munmap-no-vma-start-write',
  description: 'vms_gather_munmap_vmas detaches VMAs without vma_start_write, so per-VMA-lock faults run on',
  edit: (v) => v.replace('vms_gather_munmap_vmas.vma_start_write', function* () {}),
});
