// Mutant: dup_mmap() returns without flush_tlb_mm(oldmm). copy_page_range()
// write-protected the parent's private anonymous PTEs but flushed nothing;
// a thread of the parent on another CPU keeps its writable TLB entry and,
// after fork() returned, writes through it into the page the child still
// maps: the child sees the parent's write. dup_mmap() flushes the parent's
// mm after copying every VMA and before mmap_write_unlock(oldmm)
// (kernel/fork.c, mm/mmap.c since v6.15). Not a fix commit: the flush the
// mechanism needs, taken away.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'fork-no-flush-tlb-mm',
  description: 'dup_mmap returns without flush_tlb_mm(oldmm): stale writable entries of the parent outlive the fork',
  edit: (v) => v.drop('dup_mmap.flush_tlb_mm'),
});
