// The operation kinds a campaign draws for a policy when --ops is not
// given: the policy's default kinds, plus each opt-in kind (reclaim, vm,
// fork, migrate, mremap, madv_free, sva, gmem, swap: scenario_arb.ts opKindsAccepted) whose own
// paths a variant edits,
// or a step of a shared path that acts only on what that kind sets up.
// A patch to copy_pte_range() is tested by runs that fork; a patch to
// KVM's invalidation by runs with a VM. Without this, `fuzz --variant F`
// of such a patch ran scenarios that never reach the edit and said so
// ("variant edits never executed").
//
// OPT_IN_PATHS lists, per opt-in kind, the paths that only its operations
// enter. A path that the default kinds also enter (flush_tlb_mm_range,
// zap_pte_range, ...) adds nothing: the default runs already test an edit
// there. variant_ops.test.ts fuzzes the default kinds and checks that no
// step of a listed path runs, and each kind to check that its paths do.

import type { PathTable } from '../../model/kernel/step.js';
import { opKindsAccepted, opKindsFor, type OpKind } from './scenario_arb.js';

export type OptInKind = 'reclaim' | 'vm' | 'fork' | 'migrate' | 'mremap' | 'madv_free' | 'sva' | 'gmem' | 'swap' | 'memslot';

export const OPT_IN_PATHS: Readonly<Record<OptInKind, readonly string[]>> = {
  // shrink_folio_list() -> try_to_unmap() -> try_to_unmap_one(), and the batched flush (paths/reclaim.ts, try_to_unmap_one.ts, tlbbatch.ts)
  reclaim: ['shrink_folio_list', 'try_to_unmap_one', 'try_to_unmap_flush'],
  // KVM_RUN, the TDP fault, and KVM's notifier callbacks (paths/kvm_*.ts): no VM, no subscription
  vm: ['kvm_vcpu_run', 'vcpu_enter_guest', 'kvm_tdp_page_fault', 'kvm_flush_remote_tlbs', 'kvm_mmu_notifier_invalidate_range_start', 'kvm_mmu_notifier_invalidate_range_end', 'kvm_mmu_notifier_release', 'kvm_create_vm', 'mmu_notifier_register', 'mm_take_all_locks', 'kvm_mmu_load'],
  // dup_mmap() and the COW faults that only pages shared by a fork take (paths/fork.ts, copy_page_range.ts, wp_page_copy.ts)
  fork: ['dup_mmap', 'copy_page_range', 'copy_pte_range', 'wp_page_copy', 'wp_page_reuse'],
  // migrate_pages() of one folio, try_to_migrate_one(), remove_migration_ptes(), and the fault that waits on a migration entry (paths/migrate.ts)
  migrate: ['migrate_pages', 'migrate_pages_batch', 'try_to_migrate_one', 'remove_migration_ptes', 'remove_migration_pte', 'do_swap_page'],
  // do_mremap() and move_page_tables() (paths/mremap.ts, mremap_tables.ts); not move_normal_pud: it
  // needs a 16-page VMA, which the generator never draws (mremap.test.ts builds one by hand)
  mremap: ['mremap', 'mremap_to', 'move_page_tables', 'move_pgt_entry', 'move_normal_pmd', 'move_ptes'],
  // madvise(MADV_FREE) (paths/madvise_free.ts); its lazyfree folios are what reclaim's anon branch takes
  madv_free: ['madvise_free', 'madvise_free_pte_range'],
  // an IOMMU SVA device's DMA, its I/O page faults, its notifier's release at exit (paths/sva.ts)
  sva: ['iommu_dma_access', 'iommu_sva_handle_iopf', 'intel_mm_release'],
  // guest_memfd's punch hole and its invalidation (paths/kvm_gmem.ts)
  gmem: ['kvm_gmem_punch_hole', '__kvm_gmem_invalidate_begin', '__kvm_gmem_invalidate_end'],
  // do_swap_page() on a swap entry (paths/swap.ts): only reclaim with a swap device installs one
  swap: ['do_swap_page_swapin'],
  // KVM_SET_USER_MEMORY_REGION deleting a memslot (paths/kvm_set_memslot.ts), and the retiring of the TDP roots it makes (paths/kvm_tdp_root.ts)
  memslot: ['kvm_set_memory_region', 'kvm_mmu_zap_all_fast'],
};

/**
 * Steps and decision points of shared paths that act only on what an
 * opt-in kind's operations set up: under the default kinds they run but
 * find nothing to do, so an edit of them is tested only with the kind.
 */
export const OPT_IN_STEPS: Readonly<Record<OptInKind, readonly string[]>> = {
  // flush_tlb_batched_pending() flushes only when mm->tlb_flush_batched's halves differ, and only
  // set_tlb_ubc_flush_pending() (reclaim's try_to_unmap_one) sets them apart (paths/tlbbatch.ts)
  reclaim: ['zap_pte_range.flush_tlb_batched_pending', 'change_pte_range.flush_tlb_batched_pending'],
  vm: [],
  // can_change_pte_writable(): a private anonymous page is not PageAnonExclusive only after
  // copy_page_range() shared it with a child (paths/copy_page_range.ts); copy_nonpresent_pte() runs in fork's copy
  // and __folio_try_dup_anon_rmap()'s pinned-page test is asked only by fork's copy_present_ptes()
  fork: ['can_change_pte_writable.anon_exclusive', 'copy_nonpresent_pte.is_cow_mapping', 'folio_try_dup_anon_rmap.needs_cow_for_dma'],
  // asked only where a migration entry, or a PROT_NONE PTE try_to_migrate_one() clears, is found; fork's copy of a
  // migration entry needs fork as well, so is_cow_mapping is listed under both
  migrate: ['pte_accessible.mm_tlb_flush_pending', 'change_pte_range.is_writable_migration_entry', 'copy_nonpresent_pte.is_cow_mapping'],
  mremap: ['move_ptes.force_flush'],
  // reclaim's steps and decision points for a lazyfree anonymous folio: only MADV_FREE makes one
  // (paths/madvise_free.ts), so under reclaim alone they never act (paths/reclaim.ts, try_to_unmap_one.ts)
  // flush_tlb_mm_range()'s secondary-TLB call reaches an ATC only when a device is bound (paths/sva.ts);
  // under linux it has nothing else to call (an mshare design's host notifier is a default-kind matter)
  sva: ['mmu_notifier_arch_invalidate_secondary_tlbs', 'cache_tag_flush_range.ih'],
  // the TDP fault's guest_memfd branch acts only on a gfn of a guest_memfd-backed slot (paths/kvm_mmu.ts)
  gmem: ['kvm_mmu_faultin_pfn_gmem'],
  madv_free: ['try_to_unmap.rmap_walk_anon', 'try_to_unmap_one.lazyfree', 'try_to_unmap_one.lazyfree_dirty', 'try_to_unmap_one.lazyfree_extra_ref'],
  // reclaim's steps for a swap-backed anonymous folio: without a swap device (paths/swap.ts) reclaim never takes one
  swap: ['shrink_folio_list.folio_alloc_swap', 'shrink_folio_list.try_to_unmap_flush_dirty', 'shrink_folio_list.pageout', 'try_to_unmap_one.set_swp_pte'],
  // the TDP fault's retry on an INVALID memslot: only a memslot being deleted is one (paths/kvm_mmu.ts)
  // and kvm_mmu_load()'s flush, which finds entries of another root only after a deletion retired one (paths/kvm_tdp_root.ts)
  memslot: ['kvm_mmu_faultin_pfn.memslot_invalid', 'kvm_swap_active_memslots.mn_active_invalidate_count', 'kvm_mmu_load.flush_tlb_current'],
};

/**
 * Kinds an opt-in kind needs to be observable at all, added with it: what
 * MADV_FREE changes (A/D bits, the lazyfree flag, the TLB entries it must
 * flush) is read back only by reclaim's try_to_unmap_one().
 */
export const OPT_IN_WITH: Readonly<Partial<Record<OptInKind, readonly OptInKind[]>>> = {
  madv_free: ['reclaim'],
  // a swap entry is made only by reclaim
  swap: ['reclaim'],
};

/** An opt-in kind added for a variant, and the edited paths, steps or decision points that brought it. */
export interface AddedKind {
  kind: OptInKind;
  because: string[];
  /** Added only because this other added kind needs it (OPT_IN_WITH). */
  with?: OptInKind;
}

/** The kinds a campaign of `p` draws without --ops, and which of them its variant's edits added. */
export function campaignOps(p: PathTable): { ops: OpKind[]; added: AddedKind[] } {
  const ops = opKindsFor(p.mshare);
  const accepted = opKindsAccepted(p.mshare);
  const edited = new Set((p.edits ?? []).flatMap((e) => e.paths));
  const added: AddedKind[] = [];
  const ids = new Set((p.edits ?? []).flatMap((e) => e.ids));
  for (const [kind, paths] of Object.entries(OPT_IN_PATHS) as [OptInKind, readonly string[]][]) {
    const hit = [...paths.filter((x) => edited.has(x)), ...OPT_IN_STEPS[kind].filter((x) => ids.has(x))];
    if (hit.length > 0 && accepted.includes(kind)) added.push({ kind, because: hit });
  }
  for (const a of [...added]) {
    for (const w of OPT_IN_WITH[a.kind] ?? []) {
      if (!added.some((x) => x.kind === w) && accepted.includes(w)) added.push({ kind: w, because: [], with: a.kind });
    }
  }
  return { ops: [...ops, ...added.map((a) => a.kind)], added };
}

/** The line a campaign prints when its variant added kinds, e.g. "ops: fork added (the variant edits dup_mmap); ...". */
export const addedKindsLine = (added: readonly AddedKind[]): string | null =>
  added.length === 0 ? null : `ops: ${added.map((a) => `${a.kind} added (${a.with ? `with ${a.with}, which needs it` : `the variant edits ${a.because.join(', ')}`})`).join('; ')}; give --ops to choose the kinds yourself`;
