// Coverage counters (SPEC 5.4): how often a run reached the situations
// that make races possible. A clean campaign only means something when the
// counters of the races it claims to cover are nonzero. Computed from the
// step ids and the state after each step, outside the kernel paths, so a
// variant that replaces a step cannot hide them.

import { mmapLock, vmaLockMm } from '../kernel/locks.js';
import { findLeaf } from '../kernel/pagetable.js';
import { irqsOffOver, readyCallback } from '../kernel/paths/rcu.js';
import { pscUsableFor, tlbUsableFor } from '../kernel/tlb.js';
import type { KernelState } from '../kernel/state.js';
import { reorderVisible } from '../kernel/store_buffer.js';
import type { StepEvent } from './check.js';

export const COVERAGE_COUNTERS = [
  'stale_access_in_window',
  'lazy_cpu_at_table_free',
  'dormant_slot_reactivated',
  'dormant_slot_reused_clean',
  'lazy_return_catch_up',
  'nested_gathers',
  'forced_flush_under_ptl',
  'ipi_held_off_by_irqs_off',
  'rcu_gp_held_off_by_walker',
  // a queued RCU callback whose interrupts-off CPUs are all done, waiting
  // only for an actor that held a spinlock or rwlock (PTL, mmu_lock) at
  // call_rcu() (locks.ts, paths/rcu.ts)
  'rcu_gp_held_off_by_reader',
  'cpumask_lazily_cleared',
  'lazy_cpu_to_init_mm',
  // GUP write pins (paths/gup_fast.ts, gup.ts; `gup ... dma=write`): the
  // device's write through a pin; one into a page no PTE maps any more (a
  // MADV_DONTNEED, munmap or exit went past the pin: the I/O outlives the
  // mapping, and only the pin keeps the frame)
  'dma_through_pin',
  'dma_into_unmapped_pinned_page',
  'spurious_fault',
  'fault_lost_race',
  // an INVLPG-per-stride flush (flush_tlb_func.flush_tlb_one_user) after which the CPU still holds a leaf entry of that PCID
  'invlpg_left_other_entry_live',
  // tlb_remove_table() found no batch page and took tlb_remove_table_one()
  'tlb_remove_table_one',
  'pt_reclaim_free',
  'need_resched_break',
  'per_vma_fault_racing_munmap',
  'rwsem_reader_held_off_by_writer',
  // x86-TSO (store_buffer.ts): native_flush_tlb_multi.send ran while another
  // CPU in the mm's cpumask had a loaded_mm / is_lazy store in its store
  // buffer that memory did not show yet, so should_flush_tlb() (where it was
  // consulted) read an older value than that CPU's own view.
  'store_buffer_reordering',
  // hugetlb PMD table sharing (paths/hugetlb.ts): huge_pmd_share() linked
  // another mm's PMD table; huge_pmd_unshare() ran while a CPU still had a
  // usable huge TLB entry or a PMD-table PSC entry of the unsharing mm; the
  // last sharer's tlb_remove_table_sync_one(). (A GUP-fast walk inside the
  // table at the unshare is not a counter: 0 in 20000 runs of the default
  // generator; paths/hugetlb.test.ts builds it by hand.)
  'hugetlb_pmd_shared',
  'hugetlb_unshare_with_tlb_live',
  'hugetlb_last_sharer_sync_ipi',
  // reclaim (paths/reclaim.ts, tlbbatch.ts): a PTE cleared with its flush
  // deferred (set_tlb_ubc_flush_pending); a user access hitting a TLB entry
  // whose PTE reclaim cleared while that deferred flush is still pending
  // (the batched-flush window); flush_tlb_batched_pending() finding the
  // mm's batch unflushed and flushing it (3ea277194daa); a folio freed
  // after the batch flush
  'reclaim_deferred_flush',
  'reclaim_batched_flush_window',
  'flush_batched_pending_catch_up',
  'reclaim_folio_freed',
  // kswapd (model/run/actors.ts kswapdActor): shrink_folio_list() started
  // while kswapd's CPU holds a user mm lazily (context_switch() ->
  // enter_lazy_tlb()); kswapd's arch_tlbbatch_flush() with a lazy CPU in
  // the batch cpumask (should_flush_tlb() skips it where it reads is_lazy
  // set); kswapd's own flush_tlb_func() finding its CPU lazy and switching
  // it to init_mm (a flush of an mm only its own lazy CPU had loaded)
  'kswapd_reclaim_on_lazy_mm',
  'kswapd_batch_flush_lazy_cpu',
  'kswapd_lazy_cpu_to_init_mm',
  // migration (paths/migrate.ts, try_to_migrate_one.ts): a PTE replaced by
  // a migration entry with its flush deferred (TTU_BATCH_FLUSH); a user
  // access hitting a TLB entry whose PTE is a migration entry (the batched
  // window before try_to_unmap_flush()); a fault that found a migration
  // entry and waited for the migration (migration_entry_wait()); an old
  // folio freed after its migration; a migration undone (the folio mapped
  // again, or a reference such as a GUP pin: remove_migration_ptes(src,
  // src)); a migration entry zapped, or made readable by mprotect or fork;
  // a NUMA hinting fault that migrated (migrate_misplaced_folio())
  'migrate_deferred_flush',
  'migrate_batched_flush_window',
  'migration_entry_waited',
  'migrate_folio_freed',
  'migrate_undone',
  'migration_entry_changed',
  'numa_misplaced_migration',
  // fork and COW (paths/fork.ts, copy_page_range.ts, wp_page_copy.ts):
  // copy_page_range() write-protected a parent PTE while a CPU still held a
  // usable writable TLB entry for it (the window flush_tlb_mm() closes); a
  // store through such an entry while the fork is open; ptep_clear_flush()
  // clearing a COW-shared PTE while another CPU still held a TLB entry of
  // the mm for it (the flush it does is needed); a COW break in the parent
  // while its fork's window is open; a write fault COWing from the zero
  // page; a GUP-pinned page copied at fork (page_needs_cow_for_dma())
  'fork_wrprotect_with_writable_tlb',
  'fork_stale_write_in_window',
  'cow_break_with_old_page_in_tlb',
  'cow_fault_during_fork',
  'zero_page_cow',
  'fork_pinned_page_copied',
  // mremap (paths/mremap.ts, mremap_tables.ts): PTEs moved by move_ptes()
  // under both PTLs; a whole PTE or PMD table moved by move_normal_pmd() /
  // move_normal_pud(); a page fault of the mm whose per-VMA attempt failed
  // (lock_vma_under_rcu(): its VMA write-locked, or none) while an open
  // mremap holds the mmap_lock for write, so that it falls back to the
  // mmap_lock and waits for the move; a user access through a TLB entry of the source range whose PTE
  // has already moved, while the mremap is open (the window the flush
  // before the PTL's release closes)
  'mremap_ptes_moved',
  'mremap_table_moved',
  'mremap_fault_during_move',
  'mremap_stale_access_in_window',
  // MADV_FREE (paths/madvise_free.ts, try_to_unmap_one.ts): reclaim
  // discarding a clean lazyfree folio; reclaim finding a lazyfree folio
  // redirtied and keeping it (PTE restored, swap-backed again); a store
  // through a TLB entry filled dirty while its PTE is present and clean
  // (MADV_FREE cleared D and has not flushed yet: the window its
  // tlb_finish_mmu() closes)
  'lazyfree_folio_discarded',
  'lazyfree_folio_redirtied',
  'madv_free_stale_dirty_write',
  // reclaim finding a clean lazyfree folio with a reference beyond its
  // mappings (a GUP pin: 6c8e2a256915) and keeping it
  'lazyfree_pinned_folio_kept',
  // swap (paths/swap.ts, reclaim.ts; opt-in kind swap): a dirty anonymous
  // folio written to swap after try_to_unmap_flush_dirty() flushed a
  // deferred dirty entry; a user access through a TLB entry whose PTE is
  // already a swap entry, the batch flush still pending; a fault on a swap
  // entry that read the page back from swap; one that found it in the swap
  // cache
  'swap_writeout_after_flush_dirty',
  'swap_batched_flush_window',
  'swap_in_read',
  'swap_cache_hit',
  // swap-out finding an exclusive folio maybe DMA-pinned and keeping it
  // mapped (folio_try_share_anon_rmap_pte())
  'swap_pinned_folio_kept',
  // KVM (paths/kvm_*.ts): a TDP fault retried by mmu_invalidate_retry_gfn();
  // an invalidate_range_start that began while a TDP fault was between its
  // seq sample and mmu_lock's release; a KVM_REQ_TLB_FLUSH that had to kick
  // a vCPU in guest mode; a start that zapped SPTEs; a request made while
  // the vCPU still held guest-TLB entries (they survive until it is handled)
  'kvm_fault_retried',
  'kvm_fault_racing_invalidate_start',
  'kvm_flush_kicked_guest_mode',
  'kvm_spte_zapped_in_start',
  'kvm_guest_tlb_until_request',
  // KVM_CREATE_VM at run time (paths/mmu_notifier_register.ts): a VM's
  // notifier joining its mm during the run; its mm_take_all_locks() having
  // waited for a lock another actor held (a caller of the mm's notifiers
  // between start and end, or any other holder)
  'kvm_registered_at_run',
  'kvm_register_waited',
  // guest_memfd (paths/kvm_gmem.ts, kvm_mmu.ts): a TDP fault of a
  // guest_memfd-backed gfn retried by mmu_invalidate_retry_gfn(); a punch
  // hole whose kvm_mmu_invalidate_begin() met a TDP fault between its seq
  // sample and mmu_lock's release; a punch hole that zapped SPTEs
  'gmem_fault_retried',
  'gmem_punch_hole_racing_fault',
  'gmem_spte_zapped_by_punch_hole',
  // memslot deletion (paths/kvm_set_memslot.ts): a delete whose
  // kvm_swap_active_memslots() waited for an MMU-notifier invalidation in
  // flight (mn_active_invalidate_count); one whose synchronize_srcu waited
  // for a vCPU fault that had looked the slot up; a fault that found the
  // INVALID copy of a slot being deleted and retried
  'memslot_delete_waited_invalidation',
  'memslot_delete_waited_fault',
  'memslot_fault_on_invalid_slot',
  // TDP roots and table pages (paths/kvm_tdp_root.ts), reached through a
  // memslot deletion: a TDP table page (root or page table) freed by the
  // rcu actor; a vCPU's kvm_mmu_load() that got a root on a frame its CPU
  // still has guest TLB or PSC entries tagged with (what its
  // flush_tlb_current() is for)
  'kvm_tdp_table_freed',
  'kvm_root_reloaded_over_stale_entries',
  // IOMMU SVA (paths/sva.ts): a device's ATC entries, and its IOMMU's
  // paging-structure-cache entries, dropped by arch_invalidate_secondary_tlbs
  // from flush_tlb_mm_range() (the batch's (0, -1UL) call in
  // arch_tlbbatch_add_pending() takes no step of its own and is not
  // counted); a DMA that took an I/O page fault; a DMA through an ATC entry
  // the PTE no longer gives (the allowed staleness before the CPU flush
  // reaches the device)
  'sva_atc_invalidated_by_notifier',
  'sva_psc_invalidated_by_notifier',
  'sva_iopf',
  'sva_stale_dma_in_window',
  // mshare (SPEC 6): the situations behind the review's hazards
  'host_change_with_sharer_tlb',
  'sharer_dormant_slot_at_host_change',
  'lazy_sharer_at_table_free',
  'attach_or_link_in_host_window',
  'sharer_detached',
  'walker_in_host_tables_at_free',
  // migration through the host's rmap (paths/migrate.ts, knob migrate): the
  // host PTE of the folio being migrated cleared while a sharer CPU's TLB
  // still maps that folio (only the design's host flush can reach it)
  'sharer_tlb_at_migration_unmap',
  // a forked child's inherited window (paths/fork.ts): a host-side zap
  // while the child's CPU holds a usable TLB entry in it
  'forked_sharer_at_host_change',
  // mshare 2026's sharer list (paths/mshare_2026.ts): a sharer flushed by a
  // host-side change's list walk; a sharer joining the list while a
  // host-side change of its region is open; a sharer leaving the list while
  // a CPU still holds a usable TLB entry inside its window (its own flush
  // has not removed everything yet)
  'sharer_list_flush',
  'sharer_joined_in_host_window',
  'sharer_left_with_live_tlb',
] as const;

/** The counters that matter for a policy: the CPU side, plus mshare's when it has mshare. */
/**
 * Counters only an opt-in kind of `--ops` advances (properties/generate/
 * scenario_arb.ts opKindsFor): `reclaim`, `vm` (a VM with vCPUs), `fork`,
 * `migrate`, `mremap`, `madv_free`, `sva`, `gmem` (a VM with
 * guest_memfd-backed memslots and the punch hole) and `swap`.
 */
export const OPT_IN_COUNTERS: Readonly<Record<'reclaim' | 'vm' | 'fork' | 'migrate' | 'mremap' | 'madv_free' | 'sva' | 'gmem' | 'swap' | 'memslot', readonly string[]>> = {
  memslot: ['memslot_delete_waited_invalidation', 'memslot_delete_waited_fault', 'memslot_fault_on_invalid_slot', 'kvm_tdp_table_freed', 'kvm_root_reloaded_over_stale_entries'],
  gmem: ['gmem_fault_retried', 'gmem_punch_hole_racing_fault', 'gmem_spte_zapped_by_punch_hole'],
  swap: ['swap_writeout_after_flush_dirty', 'swap_batched_flush_window', 'swap_in_read', 'swap_cache_hit', 'swap_pinned_folio_kept'],
  sva: ['sva_atc_invalidated_by_notifier', 'sva_psc_invalidated_by_notifier', 'sva_iopf', 'sva_stale_dma_in_window'],
  migrate: ['migrate_deferred_flush', 'migrate_batched_flush_window', 'migration_entry_waited', 'migrate_folio_freed', 'migrate_undone', 'migration_entry_changed', 'numa_misplaced_migration'],
  mremap: ['mremap_ptes_moved', 'mremap_table_moved', 'mremap_fault_during_move', 'mremap_stale_access_in_window'],
  madv_free: ['lazyfree_folio_discarded', 'lazyfree_folio_redirtied', 'madv_free_stale_dirty_write', 'lazyfree_pinned_folio_kept'],
  fork: ['fork_wrprotect_with_writable_tlb', 'fork_stale_write_in_window', 'cow_break_with_old_page_in_tlb', 'cow_fault_during_fork', 'zero_page_cow', 'fork_pinned_page_copied'],
  reclaim: ['reclaim_deferred_flush', 'reclaim_batched_flush_window', 'flush_batched_pending_catch_up', 'reclaim_folio_freed', 'kswapd_reclaim_on_lazy_mm', 'kswapd_batch_flush_lazy_cpu', 'kswapd_lazy_cpu_to_init_mm'],
  vm: ['kvm_fault_retried', 'kvm_fault_racing_invalidate_start', 'kvm_flush_kicked_guest_mode', 'kvm_spte_zapped_in_start', 'kvm_guest_tlb_until_request', 'kvm_registered_at_run', 'kvm_register_waited'],
};

/** mshare counters only an opt-in kind advances (beside OPT_IN_COUNTERS, whose counters every policy reports). */
const MSHARE_OPT_IN_COUNTERS: Readonly<Record<string, readonly string[]>> = { migrate: ['sharer_tlb_at_migration_unmap'], fork: ['forked_sharer_at_host_change'] };

/** The counters a campaign reports: mshare's only for mshare policies, an opt-in kind's only when `ops` has it. */
export const countersFor = (mshare: boolean, ops: readonly string[] = []): readonly CoverageName[] =>
  (mshare ? COVERAGE_COUNTERS : COVERAGE_COUNTERS.slice(0, COVERAGE_COUNTERS.indexOf('host_change_with_sharer_tlb'))).filter(
    (c) => ![...Object.entries(OPT_IN_COUNTERS), ...Object.entries(MSHARE_OPT_IN_COUNTERS)].some(([op, cs]) => cs.includes(c) && !ops.includes(op) && !(op === 'vm' && (ops.includes('gmem') || ops.includes('memslot')))), // gmem and memslot draw their VM as vm does
  );

export type CoverageName = (typeof COVERAGE_COUNTERS)[number];
export type Coverage = Record<CoverageName, number>;

const ZERO_COVERAGE: Readonly<Coverage> = Object.freeze(Object.fromEntries(COVERAGE_COUNTERS.map((c) => [c, 0])) as Coverage);
/** Every counter at 0, in COVERAGE_COUNTERS order (a copy of one frozen template: two per run). */
export const emptyCoverage = (): Coverage => ({ ...ZERO_COVERAGE });

export function addCoverage(into: Coverage, from: Coverage): void {
  for (const c of COVERAGE_COUNTERS) into[c] += from[c];
}

export function countStep(cov: Coverage, s: KernelState, e: StepEvent, mmOfActor: (a: string) => string | null): void {
  const id = e.id;
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && id === 'user_access.tlb_hit') {
    const pte = findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte; // a PTE or a hugetlb PMD leaf's subpage
    const cpu = s.cpus[e.cpu]!;
    const tlb = cpu.tlb.find((t) => t.slot === cpu.loadedSlot && t.vpn === o.vpn);
    if (tlb && (!pte || pte.pfn !== tlb.pfn || (tlb.writable && !pte.writable))) cov.stale_access_in_window++;
  }
  if (/^free_.*_clear$/.test(id)) {
    const mm = mmOfActor(e.actor);
    if (s.cpus.some((c) => c.isLazy && c.loadedMm === mm)) cov.lazy_cpu_at_table_free++;
  }
  if (id === 'load_new_mm_cr3.flush_stale_slot') cov.dormant_slot_reactivated++;
  if (id === 'load_new_mm_cr3.noflush') cov.dormant_slot_reused_clean++;
  if (id === 'switch_mm_irqs_off.lazy_catch_up') cov.lazy_return_catch_up++;
  if (id === 'tlb_gather_mmu.inc_tlb_flush_pending' && Object.values(s.mms).some((m) => m.tlbFlushPending > 1)) cov.nested_gathers++;
  if (id === 'flush_tlb_mm_range.inc_mm_tlb_gen' && e.locks.some((l) => l.startsWith('ptl:'))) cov.forced_flush_under_ptl++;
  if (s.cpus.some((c) => c.ipis.length > 0 && c.irqsOff && c.inIrq === null)) cov.ipi_held_off_by_irqs_off++;
  if (s.rcu.callbacks.length > 0 && !readyCallback(s)) {
    if (s.rcu.callbacks.every((cb) => !irqsOffOver(s, cb)) && Object.values(s.tasks).some((t) => t.walker)) cov.rcu_gp_held_off_by_walker++;
    if (s.rcu.callbacks.some((cb) => irqsOffOver(s, cb))) cov.rcu_gp_held_off_by_reader++; // not ready, so it has readers
  }
  if (id === 'flush_tlb_func.cpumask_clear_cpu') cov.cpumask_lazily_cleared++;
  if (id === 'flush_tlb_func.switch_to_init_mm') cov.lazy_cpu_to_init_mm++;
  if (id === 'handle_pte_fault.spurious') cov.spurious_fault++;
  if (id === 'mmu_notifier_register.hlist_add_head_rcu') {
    cov.kvm_registered_at_run++;
    if (s.tasks[e.actor]?.registerWaited) cov.kvm_register_waited++;
  }
  if (id.endsWith('.pte_changed')) cov.fault_lost_race++;
  // After the partial flush, the flushed mm's PCID is the loaded slot: an entry left there
  // is a page the INVLPGs did not name (outside the range, or between two strides), which a
  // full flush would have dropped. Only leaf entries count: which PSC entries an INVLPG
  // leaves depends on config tce (tlb.ts flushTlbOne).
  if (id === 'flush_tlb_func.flush_tlb_one_user') {
    const cpu = s.cpus[e.cpu]!;
    if (cpu.tlb.some((t) => t.slot === cpu.loadedSlot)) cov.invlpg_left_other_entry_live++;
  }
  if (id === 'tlb_remove_table_one.call_rcu' || id === 'tlb_remove_table_one.__tlb_remove_table') cov.tlb_remove_table_one++;
  if (id === 'pte_free_tlb') cov.pt_reclaim_free++; // a PTE table PT_RECLAIM unlinked, queued for freeing (pt_reclaim.ts)
  if (id === 'zap_pte_range.need_resched') {
    const g = s.tasks[e.actor]?.gather;
    if (g && g.end > g.start) cov.need_resched_break++; // the PTL is about to go with cleared, unflushed entries
  }
  countLocks(cov, s, e);
  if (id === 'native_flush_tlb_multi.send') {
    const mask = s.mms[mmOfActor(e.actor) ?? '']?.cpumask ?? [];
    if (s.cpus.some((c) => c.id !== e.cpu && mask.includes(c.id) && reorderVisible(c))) cov.store_buffer_reordering++;
  }
  countHugetlb(cov, s, e, mmOfActor);
  countReclaim(cov, s, e);
  countFork(cov, s, e, mmOfActor);
  countPins(cov, s, e);
  countMigrate(cov, s, e);
  countMremap(cov, s, e, mmOfActor);
  countMadvFree(cov, s, e);
  countKvm(cov, s, e);
  countSva(cov, s, e);
  countMshare(cov, s, e);
  countSharerList(cov, s, e, mmOfActor);
}

function countReclaim(cov: Coverage, s: KernelState, e: StepEvent): void {
  if (e.id === 'set_tlb_ubc_flush_pending') cov.reclaim_deferred_flush++;
  if (e.id === 'flush_tlb_batched_pending.atomic_cmpxchg') cov.flush_batched_pending_catch_up++;
  if (e.id === 'free_unref_folios') cov.reclaim_folio_freed++;
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && e.id === 'user_access.tlb_hit') {
    const pending = Object.values(s.tasks).some((t) => t.tlbUbc?.flushRequired && t.tlbUbc.cpumask.includes(e.cpu));
    const pte = findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte;
    if (pending && !pte) cov.reclaim_batched_flush_window++;
    if (pending && pte?.swap !== undefined) cov.swap_batched_flush_window++;
  }
  if (e.id === 'swap_writeout.after_flush_dirty') cov.swap_writeout_after_flush_dirty++;
  if (e.id === 'swap_read_folio') cov.swap_in_read++;
  if (e.id === 'do_swap_page.swap_cache_hit') cov.swap_cache_hit++;
  if (e.id === 'try_to_unmap_one.maybe_dma_pinned') cov.swap_pinned_folio_kept++;
  // kswapd: the task without an mm that is not a device's IOPF thread (Execution gives every user thread one)
  const t = s.tasks[e.actor];
  if (!t || t.mm !== null || t.iopf) return;
  const cpu = s.cpus[e.cpu]!;
  if (e.id === 'shrink_folio_list.isolate' && cpu.isLazy && cpu.loadedMm !== null) cov.kswapd_reclaim_on_lazy_mm++;
  if (e.id === 'arch_tlbbatch_flush.send' && t.tlbUbc?.cpumask.some((c) => s.cpus[c]!.isLazy)) cov.kswapd_batch_flush_lazy_cpu++;
  if (e.id === 'flush_tlb_func.switch_to_init_mm') cov.kswapd_lazy_cpu_to_init_mm++;
}

/** Migration's counters: see COVERAGE_COUNTERS. */
function countMigrate(cov: Coverage, s: KernelState, e: StepEvent): void {
  const id = e.id;
  if (id === 'try_to_migrate_one.set_tlb_ubc_flush_pending') cov.migrate_deferred_flush++;
  else if (id === 'migration_entry_wait.woken') cov.migration_entry_waited++;
  else if (id === 'migrate_folio_done') cov.migrate_folio_freed++;
  else if (id === 'migrate_folio_undo_src') cov.migrate_undone++;
  else if (id === 'migrate_misplaced_folio_prepare') cov.numa_misplaced_migration++;
  else if (id === 'zap_nonpresent_ptes.migration_entry' || id === 'change_pte_range.migration_entry' || id === 'copy_nonpresent_pte.migration_entry') cov.migration_entry_changed++;
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && id === 'user_access.tlb_hit' && findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte.migration) cov.migrate_batched_flush_window++;
}

/** fork and COW's counters: see COVERAGE_COUNTERS. */
function countFork(cov: Coverage, s: KernelState, e: StepEvent, mmOfActor: (a: string) => string | null): void {
  const forkOpen = (mm: string) => Object.values(s.ghost.ops).some((o) => o.open && o.kind === 'fork' && o.mm === mm);
  const mm = mmOfActor(e.actor);
  const staleWritable = (m: string) =>
    s.cpus.some((c) => c.tlb.some((t) => t.writable && tlbUsableFor(s, c, t.slot) === m && findLeaf(s, s.mms[m]!, t.vpn)?.pte.writable === false));
  if (e.id === '__copy_present_ptes' && mm && staleWritable(mm)) cov.fork_wrprotect_with_writable_tlb++;
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && o.write && e.id === 'user_access.tlb_hit' && forkOpen(o.mm) && findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte.writable === false) cov.fork_stale_write_in_window++;
  if (e.id === 'wp_page_copy.ptep_get_and_clear' && mm) {
    const m = s.mms[mm]!;
    if (s.cpus.some((c) => c.id !== e.cpu && c.tlb.some((t) => tlbUsableFor(s, c, t.slot) === mm && !findLeaf(s, m, t.vpn)))) cov.cow_break_with_old_page_in_tlb++;
  }
  if (e.id === 'wp_page_copy.set_pte_at' && mm && forkOpen(mm)) cov.cow_fault_during_fork++;
  if (e.id === 'wp_page_copy.alloc_zeroed') cov.zero_page_cow++;
  if (e.id === 'copy_present_page') cov.fork_pinned_page_copied++;
}

/** mremap's counters: see COVERAGE_COUNTERS. */
function countMremap(cov: Coverage, s: KernelState, e: StepEvent, mmOfActor: (a: string) => string | null): void {
  if (e.id === 'move_ptes.set_ptes') cov.mremap_ptes_moved++;
  if (e.id === 'move_normal_pmd.pmd_populate' || e.id === 'move_normal_pud.pud_populate') cov.mremap_table_moved++;
  const open = (mm: string) => Object.values(s.ghost.ops).filter((o) => o.open && o.kind === 'mremap' && o.mm === mm);
  if (e.id === 'lock_vma_under_rcu.inval') {
    const mm = mmOfActor(e.actor);
    const l = mm === null ? undefined : s.locks[mmapLock(mm as never)];
    if (mm && l?.mode === 'w' && !l.holders.includes(e.actor) && open(mm).length > 0) cov.mremap_fault_during_move++;
  }
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && e.id === 'user_access.tlb_hit' && !findLeaf(s, s.mms[o.mm]!, o.vpn) && open(o.mm).some((m) => o.vpn >= m.start && o.vpn < m.end)) cov.mremap_stale_access_in_window++;
}

/** The GUP write pins' counters: see COVERAGE_COUNTERS. */
function countPins(cov: Coverage, s: KernelState, e: StepEvent): void {
  const o = e.obs;
  if (o?.kind !== 'dma') return;
  cov.dma_through_pin++;
  // the frame the DMA wrote: values are unique per run (K.nextValue())
  if (s.frames.some((f) => f.state === 'data' && f.content === o.value && f.mapcount === 0)) cov.dma_into_unmapped_pinned_page++;
}

/** MADV_FREE's counters: see COVERAGE_COUNTERS. */
function countMadvFree(cov: Coverage, s: KernelState, e: StepEvent): void {
  if (e.id === 'try_to_unmap_one.lazyfree_discard') cov.lazyfree_folio_discarded++;
  if (e.id === 'try_to_unmap_one.lazyfree_redirtied') cov.lazyfree_folio_redirtied++;
  if (e.id === 'try_to_unmap_one.lazyfree_extra_ref') cov.lazyfree_pinned_folio_kept++;
  const o = e.obs;
  if (o?.kind === 'access' && o.ok && o.write && e.id === 'user_access.tlb_hit') {
    const cpu = s.cpus[e.cpu]!;
    const tlb = cpu.tlb.find((t) => t.slot === cpu.loadedSlot && t.vpn === o.vpn);
    const pte = findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte;
    if (tlb?.dirty && pte && pte.pfn === tlb.pfn && !pte.dirty) cov.madv_free_stale_dirty_write++;
  }
}

function countHugetlb(cov: Coverage, s: KernelState, e: StepEvent, mmOfActor: (a: string) => string | null): void {
  if (e.id === 'huge_pmd_share.pud_populate') cov.hugetlb_pmd_shared++;
  if (e.id === 'tlb_flush_unshared_tables.tlb_remove_table_sync_one') cov.hugetlb_last_sharer_sync_ipi++;
  if (e.id !== 'huge_pmd_unshare.pud_clear') return;
  const mm = mmOfActor(e.actor);
  const hugeTable = (pfn: number) => s.frames[pfn]!.state === 'pagetable' && s.frames[pfn]!.level === 2 && s.frames[pfn]!.entries!.some((x) => x?.huge);
  const live = s.cpus.some((c) => c.tlb.some((t) => t.huge !== undefined && tlbUsableFor(s, c, t.slot) === mm) || c.psc.some((p) => p.level === 2 && pscUsableFor(s, c, p.slot) === mm && hugeTable(p.pfn)));
  if (live) cov.hugetlb_unshare_with_tlb_live++;
}

/**
 * per_vma_fault_racing_munmap: a fault writes a PTE or an upper entry of mm M
 * holding only a per-VMA lock of M (not M's mmap_lock) while an munmap or
 * exit of M is open. rwsem_reader_held_off_by_writer: a down_read() queues on
 * an rwsem that only readers hold, because a writer waits (rwsem.c rule 1).
 */
function countLocks(cov: Coverage, s: KernelState, e: StepEvent): void {
  if (e.id.endsWith('.set_pte_at') || e.id.endsWith('_populate') || e.id === 'wp_page_reuse') {
    const mm = e.locks.map(vmaLockMm).find((m) => m !== null);
    if (mm && !e.locks.includes(mmapLock(mm)) && Object.values(s.ghost.ops).some((o) => o.open && o.mm === mm && (o.kind === 'munmap' || o.kind === 'exit'))) cov.per_vma_fault_racing_munmap++;
  }
  if (e.id === 'rwsem_down_read_slowpath.queue') {
    const l = Object.values(s.locks).find((x) => x.waiters?.some((w) => w.actor === e.actor && w.mode === 'r'));
    if (l && l.holders.length > 0 && l.mode === 'r') cov.rwsem_reader_held_off_by_writer++;
  }
}

/** IOMMU SVA (paths/sva.ts). */
function countSva(cov: Coverage, s: KernelState, e: StepEvent): void {
  if (!s.sva) return;
  const id = e.id;
  const o = e.obs;
  if (id === 'intel_arch_invalidate_secondary_tlbs.atc_invalidated' || id === 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated') cov.sva_atc_invalidated_by_notifier++;
  if (id === 'intel_arch_invalidate_secondary_tlbs.psc_invalidated' || id === 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated') cov.sva_psc_invalidated_by_notifier++;
  if (id === 'iommu_dma_access.page_request') cov.sva_iopf++;
  if (id === 'iommu_dma_access.atc_hit' && o?.kind === 'access' && o.device) {
    const a = s.sva?.devices[o.device]?.atc.find((x) => x.vpn === o.vpn);
    const pte = findLeaf(s, s.mms[o.mm]!, o.vpn)?.pte;
    if (a && (!pte || pte.protNone || pte.pfn !== a.pfn || pte.ghost !== a.ghost || (a.writable && !pte.writable))) cov.sva_stale_dma_in_window++;
  }
}

function countKvm(cov: Coverage, s: KernelState, e: StepEvent): void {
  const kvm = s.kvm;
  if (!kvm) return;
  if (e.id === 'is_page_fault_stale.retry') cov.kvm_fault_retried++;
  if (e.id === 'kvm_mmu_invalidate_begin' && kvm.faultsInFlight.length > 0) cov.kvm_fault_racing_invalidate_start++;
  if (e.id === 'kvm_make_all_cpus_request.kick') cov.kvm_flush_kicked_guest_mode++;
  if (e.id === 'is_page_fault_stale.retry' && kvm.gmemFaults?.includes(e.actor)) cov.gmem_fault_retried++;
  if (e.id === '__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin' && kvm.faultsInFlight.length > 0) cov.gmem_punch_hole_racing_fault++;
  if (e.id === '__kvm_gmem_invalidate_begin.tdp_mmu_zap_leafs') cov.gmem_spte_zapped_by_punch_hole++;
  if (e.id === 'tdp_mmu_zap_leafs') cov.kvm_spte_zapped_in_start++;
  if (e.id === 'kvm_invalidate_memslot.mn_active_invalidate_count' || e.id === 'kvm_delete_memslot.mn_active_invalidate_count') cov.memslot_delete_waited_invalidation++;
  if (e.id === 'kvm_invalidate_memslot.synchronize_srcu_expedited' || e.id === 'kvm_delete_memslot.synchronize_srcu_expedited') cov.memslot_delete_waited_fault++;
  if (e.id === 'kvm_mmu_faultin_pfn.memslot_invalid') cov.memslot_fault_on_invalid_slot++;
  if (e.id === 'rcu_do_batch.__tlb_remove_table') {
    const p = s.freeList[s.freeList.length - 1]; // a TDP callback carries one frame, pushed last
    if (p !== undefined && s.frames[p]!.lp.startsWith('tdp:')) cov.kvm_tdp_table_freed++;
  }
  if (e.id === 'kvm_tdp_mmu_alloc_root') {
    const v = kvm.vcpus[e.actor]!;
    const tagged = (x: { vcpu: string; root: number }) => x.vcpu === e.actor && x.root === v.root!.pfn;
    if (kvm.guestTlb[v.cpu]?.some(tagged) || kvm.guestPsc?.[v.cpu]?.some(tagged)) cov.kvm_root_reloaded_over_stale_entries++;
  }
  if (e.id === 'kvm_make_all_cpus_request.kvm_make_request') {
    const pending = (n: string) => kvm.vcpus[n]!.requests.includes('KVM_REQ_TLB_FLUSH');
    if (Object.values(kvm.guestTlb).some((es) => es.some((x) => pending(x.vcpu)))) cov.kvm_guest_tlb_until_request++;
  }
}

function countMshare(cov: Coverage, s: KernelState, e: StepEvent): void {
  let any = false;
  for (const _ in s.mshare) {
    any = true; // every step looks: no array for the common case of no region
    break;
  }
  if (!any) return;
  const files = Object.values(s.mshare);
  const gatherMm = s.tasks[e.actor]?.gather?.mm;
  const host = files.find((f) => f.host === gatherMm);
  const sharerMms = (f: (typeof files)[number]) => new Set(f.sharers.map((x) => x.mm));
  /** Some CPU holds a usable TLB entry of one of `mms` (that passes `also`). */
  const usableEntryOf = (mms: ReadonlySet<string>, also: (t: KernelState['cpus'][number]['tlb'][number]) => boolean = () => true) =>
    mms.size > 0 && s.cpus.some((c) => c.tlb.some((t) => { const m = tlbUsableFor(s, c, t.slot); return m !== null && mms.has(m) && also(t); }));
  if (host && e.id === 'zap_pte_range.clear') {
    const sh = sharerMms(host);
    if (usableEntryOf(sh)) cov.host_change_with_sharer_tlb++;
    if (usableEntryOf(new Set(host.sharers.filter((x) => x.forked).map((x) => x.mm)))) cov.forked_sharer_at_host_change++;
    const dormant = s.cpus.some((c) => c.slots.some((sl, i) => (i !== c.loadedSlot || c.isLazy) && [...sh].some((m) => s.mms[m]!.ctxId === sl.ctxId) && c.tlb.some((t) => t.slot === i)));
    if (dormant) cov.sharer_dormant_slot_at_host_change++;
  }
  if (e.id === 'try_to_migrate_one.ptep_get_and_clear') {
    // the folio under migration is locked (migrate_folio_unmap()); a sharer CPU's usable entry still maps it
    const sharers = new Set(files.flatMap((f) => f.sharers.map((x) => x.mm)));
    if (usableEntryOf(sharers, (t) => s.frames[t.pfn]!.locked === true)) cov.sharer_tlb_at_migration_unmap++;
  }
  if (host && /^free_.*_clear$/.test(e.id)) {
    const sh = sharerMms(host);
    if (s.cpus.some((c) => c.isLazy && c.loadedMm !== null && sh.has(c.loadedMm))) cov.lazy_sharer_at_table_free++;
    // a GUP walk through a sharer's link that is inside the host's tables while the host frees some
    if (Object.values(s.tasks).some((t) => t.walker?.some((w) => s.frames[w.pfn]!.owner === host.host))) cov.walker_in_host_tables_at_free++;
  }
  if (e.id === 'sys_attach' || e.id === 'sys_mshare_attach' || e.id === 'find_shared_vma.set_p4d') {
    const open = Object.values(s.ghost.ops).some((o) => o.open && files.some((f) => f.host === o.mm));
    if (open) cov.attach_or_link_in_host_window++;
  }
  if (e.id === 'mshare_vm_op_unshare_page_range.p4d_clear' || e.id === 'free_pgd_range.p4d_clear') cov.sharer_detached++;
}

/** The sharer list's counters (mshare 2026): see COVERAGE_COUNTERS. */
function countSharerList(cov: Coverage, s: KernelState, e: StepEvent, mmOfActor: (a: string) => string | null): void {
  if (e.id === 'mshare_flush_sharers.next') cov.sharer_list_flush++;
  const mm = mmOfActor(e.actor);
  if (e.id === 'mshare_sharer_add.list_add') {
    const f = Object.values(s.mshare).find((x) => x.list?.some((l) => l.mm === mm));
    if (f && Object.values(s.ghost.ops).some((o) => o.open && o.mm === f.host)) cov.sharer_joined_in_host_window++;
  }
  if (e.id === 'mshare_sharer_del.list_del') {
    const f = Object.values(s.mshare).find((x) => x.lastLeft?.mm === mm);
    const w = f?.lastLeft;
    if (f && w && s.cpus.some((c) => c.tlb.some((t) => t.vpn >= w.start && t.vpn < w.start + f.pages && tlbUsableFor(s, c, t.slot) === mm))) cov.sharer_left_with_live_tlb++;
  }
}
