// Mutant: mm_take_all_locks() without the vma_start_write() of every VMA
// that eeff9a5d47f8 ("mm/mmap: prevent pagefault handler from racing with
// mmu_notifier registration", Suren Baghdasaryan, 2023-02-27, merged with
// the per-VMA-lock series for v6.4; mm/mmap.c, now mm/vma.c) added: "Page
// fault handlers might need to fire MMU notifications while a new notifier
// is being registered." Holding mmap_lock for write and the rmap locks no
// longer keeps out every caller of the mm's notifiers once some run under
// a per-VMA lock alone: a COW fault (wp_page_copy()) and, since v6.17,
// MADV_DONTNEED of one VMA. A KVM_CREATE_VM that registers between such a
// caller's invalidate_range_start() and its end gets the end alone: KVM's
// mmu_invalidate_in_progress drops below zero (notifier-balance). No
// released kernel lacked the patch: it came with the series whose locking
// made it necessary (label: the series without its patch 17/28).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-eeff9a5d47f8',
  description: 'mm_take_all_locks() does not vma_start_write() the VMAs: a notifier registers while a per-VMA-lock caller is between start and end',
  edit: (v) => v.drop('mm_take_all_locks.vma_start_write'),
});
