// Mutant: before fb49c455323f ("fork: lock VMAs of the parent process when
// forking", Suren Baghdasaryan, v6.5-rc, 2023; bugzilla 217624, memory
// corruption in the Go runtime once x86 had per-VMA locks). dup_mmap()
// holds the parent's mmap_lock for write but does not vma_start_write()
// its VMAs, so a page fault under a per-VMA lock runs beside
// copy_page_range(): a write fault on a PTE already write-protected breaks
// the COW into a private page (the child does not see the write), and a
// later write to a page not yet copied is copied into the child. The child
// then holds the later write and not the earlier one: no single moment of
// the fork gives that memory.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-fb49c455323f',
  description: "dup_mmap does not vma_start_write the parent's VMAs: a per-VMA-lock fault runs beside copy_page_range",
  edit: (v) => v.drop('dup_mmap.vma_start_write'),
});
