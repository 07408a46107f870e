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
  hostFlush: 'host-cpumask' | 'flush_tlb_all' | 'per-sharer' | 'cpumask-union' | 'sharer-list';
  /** Jann Horn's design: host invalidate_range_start/end passed to every sharer mm over i_mmap. */
  notifierPassThrough: boolean;
  /** madvise(MADV_DONTNEED) through a sharer VMA. */
  madvise: 'allowed' | 'refused' | 'host-lock';
  /** get_user_pages() through a sharer VMA. */
  gup: 'allowed' | 'refused' | 'host-lock';
  /** task_numa_work() scanning a sharer VMA. */
  numa: 'allowed' | 'skipped';
  /** MSHAREFS_UNMAP exists (not in RFC v3). */
  unmapIoctl: boolean;
  /** The creating process owns the region and its exit unmaps everything (v3). */
  owner: boolean;
  // mshare 2026 (LWN "Revisiting mshare", 2026-05-13; paths/mshare_2026.ts).
  // Absent in the msharefs designs.
  /** The system-call API (mshare_create, ftruncate, mshare_attach, mshare_map, mshare_advise, mshare_protect, close) instead of msharefs. */
  api?: 'msharefs' | 'syscalls';
  /** When a sharer mm joins the sharer list: at mshare_attach (before any link is possible), or after find_shared_vma() linked the shared table. */
  listJoin?: 'at-attach' | 'after-link';
  /** When a sharer leaves the list: when its window VMA goes (remove_vma, after its unlink flush), or in the unlink hook, before that flush. */
  listLeave?: 'after-unlink-flush' | 'at-unlink';
  /** The per-sharer flush_tlb_mm_range()'s freed_tables: the host gather's (tables freed or unshared), or never. */
  listFreedTables?: 'host-gather' | 'never';
  /** Whether the list walk also calls each sharer's invalidate_range_start/end, or reaches only arch_invalidate_secondary_tlbs (via flush_tlb_mm_range). */
  listNotifiers?: 'secondary-tlbs-only' | 'start-end';
}
