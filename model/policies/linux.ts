// Policy `linux`: mainline, no mshare. Every kernel path as the kernel
// orders it; the other policies and every variant are edits of this one.

import { userAccess } from '../kernel/paths/access.js';
import { contextSwitch } from '../kernel/paths/context_switch.js';
import { doAnonymousPage, doSharedFault, doUserAddrFault, handlePteFault, ptAlloc, wpPageReuse } from '../kernel/paths/fault.js';
import { flushTlbAll, flushTlbMmRange } from '../kernel/paths/flush_tlb_mm_range.js';
import { doFlushTlbAll, flushTlbFunc } from '../kernel/paths/flush_tlb_func.js';
import { freePgtables } from '../kernel/paths/free_pgtables.js';
import { blkdevBioEndIoSimple, gupFast } from '../kernel/paths/gup_fast.js';
import { madviseDontneed } from '../kernel/paths/madvise.js';
import { madviseFree, madviseFreePteRange } from '../kernel/paths/madvise_free.js';
import { mmap } from '../kernel/paths/mmap.js';
import { tlbFinishMmu, tlbFlushMmuFree, tlbFlushMmuTlbonly, tlbGatherMmu, tlbRemoveTable, tlbRemoveTableSmpSync } from '../kernel/paths/mmu_gather.js';
import { changePteRange, mprotect } from '../kernel/paths/mprotect.js';
import { munmap } from '../kernel/paths/munmap.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart, mmuNotifierRelease } from '../kernel/paths/notifier.js';
import { rcuDoBatch } from '../kernel/paths/rcu.js';
import { enterLazyTlb, switchMmIrqsOff } from '../kernel/paths/switch_mm.js';
import { zapPteRange } from '../kernel/paths/zap.js';
import { findSharedVma } from '../kernel/paths/fault.js';
import { mshareAdvise, mshareAttach, mshareCloseFd, mshareCreate, mshareFlushSharers, mshareFtruncate, mshareMap, mshareOwnerClose, mshareProtect, mshareSharerAdd, mshareSharerDel } from '../kernel/paths/mshare_2026.js';
import { exitMshare, flushTlbFuncMshare, mshareInvalidateTlbs, mshareUnsharePageRange, msharefsCreateMapping, msharefsMmap, msharefsUnmap } from '../kernel/paths/mshare.js';
import { doNumaPage, taskNumaWork } from '../kernel/paths/numa.js';
import { getUserPages } from '../kernel/paths/gup.js';
import { doExit, exitMm, exitMmap } from '../kernel/paths/exit.js';
import { hugePmdShare, hugePteLock, hugetlbFault, tlbFlushUnsharedTables, unmapHugepageRange } from '../kernel/paths/hugetlb.js';
import { syscallExitToUserMode } from '../kernel/paths/exit_to_user_mode.js';
import { shrinkFolioList } from '../kernel/paths/reclaim.js';
import { tryToUnmapFlush } from '../kernel/paths/tlbbatch.js';
import { tryToUnmapOne } from '../kernel/paths/try_to_unmap_one.js';
import { doSwapPage } from '../kernel/paths/swap.js';
import { dupMmap } from '../kernel/paths/fork.js';
import { copyPageRange, copyPteRange } from '../kernel/paths/copy_page_range.js';
import { wpPageCopy } from '../kernel/paths/wp_page_copy.js';
import { migratePages, migratePagesBatch, migrationEntryWait, removeMigrationPte, removeMigrationPtes } from '../kernel/paths/migrate.js';
import { tryToMigrateOne } from '../kernel/paths/try_to_migrate_one.js';
import { mremap, mremapTo } from '../kernel/paths/mremap.js';
import { moveNormalPmd, moveNormalPud, movePageTables, movePgtEntry, movePtes } from '../kernel/paths/mremap_tables.js';
import { kvmTdpPageFault } from '../kernel/paths/kvm_mmu.js';
import { kvmGmemInvalidateBegin, kvmGmemInvalidateEnd, kvmGmemPunchHole } from '../kernel/paths/kvm_gmem.js';
import { kvmSetMemslotDelete } from '../kernel/paths/kvm_set_memslot.js';
import { kvmFlushRemoteTlbs } from '../kernel/paths/kvm_flush.js';
import { kvmMmuLoad, kvmMmuZapAllFast } from '../kernel/paths/kvm_tdp_root.js';
import { kvmMmuNotifierInvalidateRangeEnd, kvmMmuNotifierInvalidateRangeStart, kvmMmuNotifierRelease } from '../kernel/paths/kvm_notifier.js';
import { kvmVcpuRun, vcpuEnterGuest } from '../kernel/paths/kvm_vcpu_run.js';
import { kvmCreateVm, mmTakeAllLocks, mmuNotifierRegister } from '../kernel/paths/mmu_notifier_register.js';
import { intelMmRelease, iommuDmaAccess, iommuSvaHandleIopf } from '../kernel/paths/sva.js';
import type { Policy } from './policy.js';

export const linux: Policy = {
  name: 'linux',
  date: '2026-11',
  description: 'mainline x86-64 (v6.19 .. 7.x), no mshare: lazy TLB, PCID, per-VMA locks, PT_RECLAIM, RCU table freeing',
  mshare: null,
  paths: {
    syscall_exit_to_user_mode: syscallExitToUserMode,
    user_access: userAccess,
    do_user_addr_fault: doUserAddrFault,
    __pte_alloc: ptAlloc,
    handle_pte_fault: handlePteFault,
    do_anonymous_page: doAnonymousPage,
    do_shared_fault: doSharedFault,
    wp_page_reuse: wpPageReuse,
    context_switch: contextSwitch,
    switch_mm_irqs_off: switchMmIrqsOff,
    enter_lazy_tlb: enterLazyTlb,
    flush_tlb_mm_range: flushTlbMmRange,
    flush_tlb_func: flushTlbFunc,
    flush_tlb_all: flushTlbAll,
    do_flush_tlb_all: doFlushTlbAll,
    tlb_gather_mmu: tlbGatherMmu,
    tlb_flush_mmu_tlbonly: tlbFlushMmuTlbonly,
    tlb_flush_mmu_free: tlbFlushMmuFree,
    tlb_finish_mmu: tlbFinishMmu,
    tlb_remove_table: tlbRemoveTable,
    tlb_remove_table_smp_sync: tlbRemoveTableSmpSync,
    zap_pte_range: zapPteRange,
    free_pgtables: freePgtables,
    mmu_notifier_invalidate_range_start: mmuNotifierInvalidateRangeStart,
    mmu_notifier_invalidate_range_end: mmuNotifierInvalidateRangeEnd,
    munmap,
    madvise_dontneed: madviseDontneed,
    // MADV_FREE (paths/madvise_free.ts), opt-in kind madv_free
    madvise_free: madviseFree,
    madvise_free_pte_range: madviseFreePteRange,
    mprotect,
    change_pte_range: changePteRange,
    mmap,
    gup_fast: gupFast,
    blkdev_bio_end_io_simple: blkdevBioEndIoSimple,
    rcu_do_batch: rcuDoBatch,
    get_user_pages: getUserPages,
    task_numa_work: taskNumaWork,
    do_numa_page: doNumaPage,
    do_exit: doExit,
    exit_mm: exitMm,
    exit_mmap: exitMmap,
    mmu_notifier_release: mmuNotifierRelease,
    // reclaim (paths/reclaim.ts, try_to_unmap_one.ts, tlbbatch.ts)
    shrink_folio_list: shrinkFolioList,
    try_to_unmap_one: tryToUnmapOne,
    try_to_unmap_flush: tryToUnmapFlush,
    // fork and COW (paths/fork.ts, copy_page_range.ts, wp_page_copy.ts)
    dup_mmap: dupMmap,
    copy_page_range: copyPageRange,
    copy_pte_range: copyPteRange,
    wp_page_copy: wpPageCopy,
    // migration (paths/migrate.ts, try_to_migrate_one.ts)
    migrate_pages: migratePages,
    migrate_pages_batch: migratePagesBatch,
    try_to_migrate_one: tryToMigrateOne,
    remove_migration_ptes: removeMigrationPtes,
    remove_migration_pte: removeMigrationPte,
    do_swap_page: migrationEntryWait,
    // swap (paths/swap.ts): do_swap_page() on a swap entry, with a swap device in the setup
    do_swap_page_swapin: doSwapPage,
    // mremap (paths/mremap.ts, mremap_tables.ts)
    mremap,
    mremap_to: mremapTo,
    move_page_tables: movePageTables,
    move_pgt_entry: movePgtEntry,
    move_normal_pmd: moveNormalPmd,
    move_normal_pud: moveNormalPud,
    move_ptes: movePtes,
    // mshare: reached only under a policy with mshare knobs
    find_shared_vma: findSharedVma,
    msharefs_mmap: msharefsMmap,
    msharefs_create_mapping: msharefsCreateMapping,
    msharefs_unmap: msharefsUnmap,
    exit_mshare: exitMshare,
    mshare_vm_op_unshare_page_range: mshareUnsharePageRange,
    mshare_invalidate_tlbs: mshareInvalidateTlbs,
    flush_tlb_func_mshare: flushTlbFuncMshare,
    // mshare 2026 (paths/mshare_2026.ts)
    mshare_create: mshareCreate,
    mshare_ftruncate: mshareFtruncate,
    mshare_attach: mshareAttach,
    mshare_map: mshareMap,
    mshare_advise: mshareAdvise,
    mshare_protect: mshareProtect,
    mshare_owner_close: mshareOwnerClose,
    mshare_close_fd: mshareCloseFd,
    mshare_sharer_add: mshareSharerAdd,
    mshare_sharer_del: mshareSharerDel,
    mshare_flush_sharers: mshareFlushSharers,
    // hugetlb PMD table sharing (paths/hugetlb.ts)
    hugetlb_fault: hugetlbFault,
    huge_pmd_share: hugePmdShare,
    __unmap_hugepage_range: unmapHugepageRange,
    huge_pte_lock: hugePteLock,
    tlb_flush_unshared_tables: tlbFlushUnsharedTables,
    // KVM's secondary MMU (paths/kvm_*.ts): reached only when the setup creates a VM
    kvm_vcpu_run: kvmVcpuRun,
    // IOMMU SVA (paths/sva.ts)
    iommu_dma_access: iommuDmaAccess,
    iommu_sva_handle_iopf: iommuSvaHandleIopf,
    intel_mm_release: intelMmRelease,
    vcpu_enter_guest: vcpuEnterGuest,
    kvm_tdp_page_fault: kvmTdpPageFault,
    kvm_flush_remote_tlbs: kvmFlushRemoteTlbs,
    kvm_mmu_load: kvmMmuLoad,
    kvm_mmu_zap_all_fast: kvmMmuZapAllFast,
    kvm_mmu_notifier_invalidate_range_start: kvmMmuNotifierInvalidateRangeStart,
    kvm_mmu_notifier_invalidate_range_end: kvmMmuNotifierInvalidateRangeEnd,
    kvm_mmu_notifier_release: kvmMmuNotifierRelease,
    kvm_create_vm: kvmCreateVm,
    kvm_set_memory_region: kvmSetMemslotDelete,
    // guest_memfd (paths/kvm_gmem.ts): reached only when the setup binds one
    kvm_gmem_punch_hole: kvmGmemPunchHole,
    __kvm_gmem_invalidate_begin: kvmGmemInvalidateBegin,
    __kvm_gmem_invalidate_end: kvmGmemInvalidateEnd,
    mmu_notifier_register: mmuNotifierRegister,
    mm_take_all_locks: mmTakeAllLocks,
  },
};
