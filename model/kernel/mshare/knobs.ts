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
  /**
   * move_pages(2) of a page through a sharer's window (paths/migrate.ts):
   *   host-rmap  mm/migrate.c and mm/rmap.c as mainline has them: add_folio_for_migration()'s
   *              folio_walk_start() walks the window's link, and try_to_migrate()'s rmap walk
   *              reaches the host's inner VMA only (the window VMA maps the msharefs file, not
   *              the folio's object), so the migration's flush is the host's.
   *   refused    a window is not migratable: move_pages() reports -EFAULT for its pages.
   */
  migrate: 'host-rmap' | 'refused';
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
  /**
   * A forked child's copy of a window VMA (dup_mmap(): the child inherits it and faults the shared
   * table in; research/mshare.md 2.7): vm_ops->open puts the child's mm on the sharer list, or
   * nothing does, so host-side flushes never reach the child.
   */
  listFork?: 'vm-open' | 'none';
  /** When a sharer leaves the list: when its window VMA goes (remove_vma, after its unlink flush), or in the unlink hook, before that flush. */
  listLeave?: 'after-unlink-flush' | 'at-unlink';
  /** The per-sharer flush_tlb_mm_range()'s freed_tables: the host gather's (tables freed or unshared), or never. */
  listFreedTables?: 'host-gather' | 'never';
  /** Whether the list walk also calls each sharer's invalidate_range_start/end, or reaches only arch_invalidate_secondary_tlbs (via flush_tlb_mm_range). */
  listNotifiers?: 'secondary-tlbs-only' | 'start-end';
}

/**
 * Every value each knob can take, so a finding can be replayed under the
 * other values of a knob it consulted (reports/depends_on.ts). Typed so
 * that a value added to a knob above and not here does not compile.
 */
export const KNOB_VALUES: { readonly [K in keyof MshareKnobs]-?: Readonly<Record<`${NonNullable<MshareKnobs[K]>}`, true>> } = {
  attach: { 'same-address': true, 'any-address': true },
  linkLocking: { none: true, 'ptl-recheck': true },
  shareCount: { true: true, false: true },
  unlinkPoint: { none: true, free_pgtables: true, unmap_page_range: true },
  hostFlush: { 'host-cpumask': true, flush_tlb_all: true, 'per-sharer': true, 'cpumask-union': true, 'sharer-list': true },
  notifierPassThrough: { true: true, false: true },
  madvise: { 'early-return': true, 'empty-hook': true, 'unshare-hook': true, refused: true, 'host-lock': true, allowed: true },
  gup: { allowed: true, refused: true, 'host-lock': true },
  numa: { allowed: true, skipped: true },
  migrate: { 'host-rmap': true, refused: true },
  unmapIoctl: { true: true, false: true },
  owner: { true: true, false: true },
  api: { msharefs: true, syscalls: true },
  listJoin: { 'at-attach': true, 'after-link': true },
  listFork: { 'vm-open': true, none: true },
  listLeave: { 'after-unlink-flush': true, 'at-unlink': true },
  listFreedTables: { 'host-gather': true, never: true },
  listNotifiers: { 'secondary-tlbs-only': true, 'start-end': true },
};

/** The values of `knob` other than `current`, as the knob's own type. */
export function otherValues<K extends keyof MshareKnobs>(knob: K, current: MshareKnobs[K]): MshareKnobs[K][] {
  return Object.keys(KNOB_VALUES[knob])
    .map((v) => (v === 'true' ? true : v === 'false' ? false : v) as MshareKnobs[K])
    .filter((v) => v !== current);
}
