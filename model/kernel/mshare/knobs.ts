// The design choices that tell the mshare series apart (SPEC 6;
// research/mshare.md sections 3-5 and 8). A policy is `linux` plus these
// knobs; any other combination is reachable through the variant API.

export interface MshareKnobs {
  /** Where a sharer may attach: the host's own address (RFC v3) or any aligned one (v2 on). */
  attach: 'same-address' | 'any-address';
  /** find_shared_vma(): set_p4d with no lock (RFC v3, v1/v2), or under P->page_table_lock with a recheck (v3). */
  linkLocking: 'none' | 'ptl-recheck';
  /** pt_share_count on the shared PUD table, and free_pud_range() refusing a counted table (v3). */
  shareCount: boolean;
  /** Where a detaching sharer's top-level entry is cleared. */
  unlinkPoint: 'none' | 'free_pgtables' | 'unmap_page_range';
  /** What a host-side TLB flush reaches (mshare_invalidate_tlbs via arch_invalidate_secondary_tlbs). */
  hostFlush: 'host-cpumask' | 'flush_tlb_all' | 'per-sharer' | 'cpumask-union';
  /** Jann Horn's design: host invalidate_range_start/end passed to every sharer mm over i_mmap. */
  notifierPassThrough: boolean;
  /**
   * madvise(MADV_DONTNEED) through a sharer VMA, i.e. what unmap_page_range()
   * does with an msharefs VMA (paths/zap.ts unmapMshareVma):
   *   early-return  RFC v3: unmap_page_range() returns for a shared VMA; nothing zapped.
   *   empty-hook    v1/v2: vm_ops->unmap_page_range is an empty function; nothing zapped.
   *   unshare-hook  v3: vm_ops->unmap_page_range = mshare_vm_op_unshare_page_range(): the
   *                 sharer's top-level slot is unlinked and flushed; the next fault relinks.
   *   refused       a proposal: madvise on a window VMA fails with EINVAL.
   *   host-lock     a proposal: the zap runs on the host mm under the host's mmap_lock.
   *   allowed       no version's code: the zap walks the sharer's link into the host's
   *                 tables under the sharer's locks (the other reading of Anthony's Sep 2025
   *                 remark, kept for variants and tests of lock-discipline).
   */
  madvise: 'early-return' | 'empty-hook' | 'unshare-hook' | 'refused' | 'host-lock' | 'allowed';
  /** get_user_pages() through a sharer VMA. */
  gup: 'allowed' | 'refused' | 'host-lock';
  /** task_numa_work() scanning a sharer VMA. */
  numa: 'allowed' | 'skipped';
  /** MSHAREFS_UNMAP exists (not in RFC v3). */
  unmapIoctl: boolean;
  /** The creating process owns the region and its exit unmaps everything (v3). */
  owner: boolean;
}
