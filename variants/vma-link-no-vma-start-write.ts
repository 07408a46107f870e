// Mutant: copy_vma() links the new VMA of an mremap into the tree without
// write-locking it. Undoes the copy_vma() hunk of "mm/mremap: write-lock
// VMA while remapping it to a new address range" (Suren Baghdasaryan,
// 2023-02-27, v6.4; the lock now sits in vma_link(), before
// vma_iter_store_new()). A page fault under the per-VMA lock finds the new
// VMA while move_page_tables() is still filling it, maps a page of its
// own there, and move_ptes() then sets the moved PTE over it (the
// kernel's VM_WARN_ON_ONCE(!pte_none(*new_ptep))): the store is lost and
// the page leaks.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'vma-link-no-vma-start-write',
  description: "vma_link of mremap's new VMA without vma_start_write: a per-VMA-lock fault maps a page the move then overwrites",
  edit: (v) => v.drop('vma_link.vma_start_write'),
});
