// Bumped whenever a change to the model can change a verdict or a trace;
// saved counterexamples record it, and a stale one is re-searched.
// 0.4.1: get_user_pages honours gup=refused through an msharefs VMA (no
// walk, no pin); no named policy uses that knob value.
// 0.5.0 (issue 9): flush granularity (cleared_* levels, stride, INVLPG per
// stride, INVLPG's architectural effect with AMD's TCE as config `tce`),
// x86-TSO store buffers for loaded_mm / is_lazy, rwsem wait lists, per-VMA
// locks, split PMD locks, PT_RECLAIM, the need_resched break, INVLPGB,
// exit as Linux does it, IPI handlers that own their CPU; the generator
// makes whole-table regions and the tlb_remove_table fallback.
// 0.5.1: a sharer's window VMA and an msharefs inner VMA are linked
// write-locked (per-VMA locks), as mmap_region() links every new VMA.
// 0.6.0 (issue 10): madvise on a window as each version's unmap_page_range()
// does it; knobs read through K.knob; mshare-2026 (system calls, sharer
// list); hugetlb PMD table sharing in mainline (PMD leaves, huge TLB
// entries, 8ce720d5bd91's unshare); properties no-stale-psc-after-unlink
// and shared-table-flush, unmap-complete from the page tables, NUMA in
// protect-complete, stores into freed frames. Issue 14: the generator
// draws swarm subsets, stops at named steps, 2-4 CPUs, INVLPGB and TCE.
// 0.7.0 (issue 13): no step's existence depends on when the scheduler
// first tried its actor (the explorer's replays found two): the local
// flush's local_irq_restore is a step before csd_lock_wait(), and
// cpumask-union's mshare_invalidate_tlbs always takes its wait step.
// Also (issue 11) KVM: VMs, memslots, TDP faults, notifier subscriptions,
// guest TLBs, and three properties; (issue 12) reclaim of clean file
// folios with the batched flush. Both opt-in in the generator (--ops vm,
// --ops reclaim); runs without them keep their traces.
// 0.8.0 (issue 12): fork and COW (dup_mmap, copy_page_range,
// wp_page_copy), the zero page, do_wp_page's reuse test and mprotect's
// can_change_pte_writable() for shared anonymous pages; opt-in in the
// generator (--ops fork), runs without it keep their traces. Variants
// (issue 14): a step a variant inserts is named "variant:id".
// 0.8.1: a kernel walk that reaches a table the design freed ends the run
// (pagetable.ts FreedTableWalk) instead of failing as a model error.
// 0.8.2 (issues 11, 12): KVM marks a folio it maps writable dirty
// (kvm_release_faultin_page, aa85986e7150); a vCPU's consecutive guest
// accesses are one KVM_RUN; VMs over mshare windows; page migration
// (--ops migrate), mremap (--ops mremap) and MADV_FREE with lazyfree
// reclaim (--ops madv_free), each opt-in; with an opt-in kind drawn, stop
// points may name its step ids. Runs of the default kinds keep their traces.
// 0.9.0 (issue 11): KVM_CREATE_VM at run time (mmu_notifier_register()
// with mm_take_all_locks()); an IOMMU SVA device TLB (--ops sva); x86
// flush_tlb_range() passes freed_tables = true (mremap, try_to_unmap_one);
// migration's rmap walk finds a migration entry mremap moved during it;
// try_to_migrate_one's check_pte is a step; take_rmap_locks() takes the
// anon_vma lock. Runs of the default kinds keep their traces.
// 0.10.0 (issues 11, 12): guest_memfd-backed memslots (kvm_gmem_get_pfn,
// kvm_gmem_punch_hole; --ops gmem); swap-out of anonymous folios with
// try_to_unmap_flush_dirty() before pageout() and do_swap_page() (a setup
// item swap; --ops swap); kswapd as a kernel-thread actor that makes its
// CPU lazy (enter_lazy_tlb) and takes reclaim requests (drawn under
// --ops reclaim, so reclaim runs draw differently). Runs of the default
// kinds keep their traces.
// 0.10.1: unmap-complete no longer blames a call for an entry of another
// mm whose tables reached its range when that mm's own open call cleared
// the PTE (a hugetlb unshare beside the other sharer's munmap: a false
// report of 0.10.0, test/scenarios/hugetlb-unshare-beside-sharer-munmap.txt).
// 0.11.0 (issue 12): a VMA that no split boundary cuts stays the same
// object (a fault under its per-VMA lock beside an unrelated munmap set
// anon_vma on a detached copy, and fork then skipped copy_page_range: a
// false read-value report of 0.10.1); do_anonymous_page() takes the PTE's
// write bit from vm_flags before the PTL. (Issue 14) move_ptes() asks the
// decision point move_ptes.force_flush for each moved PTE. Runs of the
// default kinds keep their traces.
// 0.12.0 (issue 11 item 4): an SVA device's IOMMU has a paging-structure
// cache apart from its ATC (sva/state.ts, paths/sva.ts): the walk starts
// from the deepest cached table, the invalidation drops the entries whose
// range overlaps it (IH clear, decision point cache_tag_flush_range.ih),
// and no-freed-table-reachable and no-stale-psc-after-unlink read it. The
// invalidation step's id names what it dropped (atc_, psc_, atc_psc_).
// A device's retry after a successful page response waits while its cached
// walk fails where the tables translate (iommu_dma_access.psc_behind); the
// device's I/O page faults run on a task of their own (the IOPF kernel
// thread), so a NUMA migration inside one has a current->tlb_ubc (a model
// error before). Runs without a bound device keep their traces.
// 0.13.0 (issue 12 item 6): move_pages() through an mshare window (knob
// migrate): the folio is found through the sharer's link, and the rmap
// walk of try_to_migrate() and remove_migration_ptes() visits the host's
// inner VMA only (a sharer's link into a host's tables is not followed);
// mshare policies accept `migrate` in scenarios and --ops. MADV_FREE under
// mshare policies: EINVAL on a window (madvise_free_single_vma(): not
// anonymous), mainline's elsewhere; no longer refused at validation. A
// sharer forks (no more sys_fork.einval): the child's window joins the
// msharefs i_mmap, mshare 2026's list through vm_ops->open (knob listFork).
// Runs without an mshare window keep their traces.
// 0.14.0 (issue 11): memslot deletion (kvm_delete_memslot, opt-in kind
// memslot; paths/kvm_set_memslot.ts): the INVALID slot, the
// mn_active_invalidate_count wait, synchronize_srcu over in-flight faults,
// kvm_mmu_zap_all_fast, kvm_gmem_unbind; the TDP fault looks its memslot up
// first (no step of its own), retries on an INVALID slot and exits as MMIO
// with none. mmu_invalidate_retry_gfn() retries on an invalidation in
// progress with no range (its INVALID_GPA WARN). Runs without memslot keep
// their traces.
// 0.15.0 (issue 11): the TDP MMU's roots and page table in frames
// (paths/kvm_tdp_root.ts): a vCPU's first entry loads a root
// (kvm_tdp_mmu_alloc_root() under the read mmu_lock, then
// flush_tlb_current()), the first SPTE links a page table, guest TLB
// entries are tagged with the root's frame and a walk fills a guest PSC;
// a memslot deletion invalidates the roots, makes
// KVM_REQ_MMU_FREE_OBSOLETE_ROOTS with wait, zaps them under the read lock
// and frees the tables through RCU; exit_mmap()'s release queues the page
// tables. Every run with a VM changes its trace.
// 0.16.0 (issue 9 item 3): RCU readers as Linux has them (locks.ts,
// paths/rcu.ts): a grace period also waits for every actor that held a
// spinlock or rwlock (PTL, PMD lock, page_table_lock, kvm->mmu_lock) at
// call_rcu(), until it holds none; before, only interrupts-off CPUs held
// it. A run in which the rcu actor ran under such a holder changes its
// trace.
// 0.16.1: kvm_mmu_notifier_invalidate_range_end() takes kvm->srcu in a
// step of its own before the mmu_lock wait (paths/kvm_notifier.ts), as
// range_start does; before, a blocked advance wrote it, which explore's
// replays drop. A run that reaches the end with a range in a memslot
// takes one step more.
// 0.17.0 (issue 12): GUP write pins do I/O. A `gup` or `get_user_pages`
// op with dma=write (the generator draws it in half of them) pins with
// FOLL_WRITE, the device writes the pinned page and the caller unpins it
// dirty (paths/gup_fast.ts dmaThroughPin()); the ideal memory writes the
// page pinned (ideal.ts pin/dma). Reclaim's swap-out of an anonymous folio
// now keeps one that may be DMA-pinned (folio_try_share_anon_rmap_pte()),
// and copy_present_ptes() asks a decision point. A run with a dma=write op
// changes its trace; a run without keeps it.
export const MODEL_VERSION = '0.17.0';
