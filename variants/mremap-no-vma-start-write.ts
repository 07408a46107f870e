// Mutant: move_vma() moves the page tables of a VMA it has not
// write-locked. Undoes the move_vma() hunk of "mm/mremap: write-lock VMA
// while remapping it to a new address range" (Suren Baghdasaryan,
// 2023-02-27, the per-VMA lock series merged for v6.4; today's
// vma_start_write(vrm->vma) in move_vma(): "We don't want racing faults").
// A page fault under the per-VMA lock (lock_vma_under_rcu()) then runs in
// the source range while move_page_tables() empties it: it maps a fresh
// page behind the move, the user's store goes there, and
// unmap_source_vma() zaps it.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'mremap-no-vma-start-write',
  description: 'move_vma moves the page tables without vma_start_write on the source VMA: a per-VMA-lock fault maps a page behind the move',
  edit: (v) => v.drop('move_vma.vma_start_write'),
});
