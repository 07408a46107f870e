// The hand scenario of every kept mutant (variants/F.ts) and the violation
// its schedule gives on the variant; the base policy holds on it. Most are
// the scenarios the mutants' own tests run: the files of test/scenarios/
// where a test loads one, and test/scenarios/mutants/F.txt where the test
// builds it in code. test/mutant_scenarios.test.ts recomputes every row;
// bench/explore.ts --part mutants explores each file's operations
// (docs/bench.md), so a row that stopped exposing its mutant would turn
// that table into noise.

export interface MutantScenario {
  /** The scenario file, from the repository root. */
  scenario: string;
  property: string;
  actor: string;
  stepId: string;
}

export const MUTANT_SCENARIOS: Record<string, MutantScenario> = {
  'cve-2025-37964-no-fence': { scenario: 'test/scenarios/cve-2025-37964-switch-back.txt', property: 'no-freed-frame-reachable', actor: 'T3', stepId: 'load_new_mm_cr3.noflush' },
  'first-stride-only': { scenario: 'test/scenarios/mutants/first-stride-only.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_munmap.return' },
  'sva-ih-leaf-only': { scenario: 'test/scenarios/sva-psc-table-freed.txt', property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' },
  'flush-tlb-mm-range-no-secondary-tlbs': { scenario: 'test/scenarios/mutants/flush-tlb-mm-range-no-secondary-tlbs.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'tlb_batch_pages_flush' },
  'fork-no-flush-tlb-mm': { scenario: 'test/scenarios/fork-stale-writable-parent.txt', property: 'read-value', actor: 'T2', stepId: 'user_access.walk' },
  'fork-writable-migration-entry': { scenario: 'test/scenarios/migrate-vs-fork.txt', property: 'read-value', actor: 'T1', stepId: 'user_access.walk' },
  'free-before-flush': { scenario: 'test/scenarios/mutants/free-before-flush.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'tlb_batch_pages_flush' },
  'gmem-end-before-truncate': { scenario: 'test/scenarios/gmem-fault-after-invalidate-end.txt', property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' },
  'gmem-truncate-before-invalidate': { scenario: 'test/scenarios/gmem-punch-hole-racing-guest.txt', property: 'no-freed-frame-reachable', actor: 'T1', stepId: 'truncate_inode_pages_range.filemap_remove_folio' },
  'kvm-enter-no-request-recheck': { scenario: 'test/scenarios/mutants/kvm-enter-no-request-recheck.txt', property: 'secondary-subset', actor: 'T0', stepId: 'vcpu_enter_guest.vmenter' },
  'kvm-mmu-load-no-flush': { scenario: 'test/scenarios/kvm-root-reused-after-memslot-delete.txt', property: 'no-freed-table-reachable', actor: 'T0', stepId: 'vcpu_enter_guest.in_guest_mode' },
  'kvm-mmu-seq-after-gup': { scenario: 'test/scenarios/mutants/kvm-mmu-seq-after-gup.txt', property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' },
  'kvm-tlb-flush-no-wait': { scenario: 'test/scenarios/mutants/kvm-tlb-flush-no-wait.txt', property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end' },
  'lazyfree-no-redirty-check': { scenario: 'test/scenarios/lazyfree-redirtied-kept.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'm2026-join-after-link': { scenario: 'test/scenarios/m2026-join-after-link.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_mshare_advise.return' },
  'm2026-leave-at-unlink': { scenario: 'test/scenarios/m2026-leave-before-flush.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'remove_vma.fput' },
  'm2026-list-no-freed-tables': { scenario: 'test/scenarios/m2026-lazy-sharer-close.txt', property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' },
  'madv-free-no-tlb-remove': { scenario: 'test/scenarios/madv-free-stale-dirty-write.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'migrate-copy-before-flush': { scenario: 'test/scenarios/migrate-write-in-flush-window.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'move-normal-pmd-no-flush': { scenario: 'test/scenarios/move-normal-pmd-no-flush.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_mremap.return' },
  'move-ptes-no-flush': { scenario: 'test/scenarios/move-ptes-no-flush.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_mremap.return' },
  'mprotect-no-vma-start-write': { scenario: 'test/scenarios/mutants/mprotect-no-vma-start-write.txt', property: 'protect-complete', actor: 'T1', stepId: 'sys_mprotect.return' },
  'mprotect-upgrade-ignores-cow': { scenario: 'test/scenarios/fork-then-mprotect-upgrade.txt', property: 'read-value', actor: 'T4', stepId: 'user_access.walk' },
  'mprotect-writable-migration-entry': { scenario: 'test/scenarios/migrate-vs-mprotect.txt', property: 'read-value', actor: 'T1', stepId: 'user_access.walk' },
  'mremap-no-vma-start-write': { scenario: 'test/scenarios/mremap-fault-racing-move.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'munmap-no-vma-start-write': { scenario: 'test/scenarios/mutants/munmap-no-vma-start-write.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'no-ipi': { scenario: 'test/scenarios/mutants/no-ipi.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_madvise.return' },
  'no-nested-flush': { scenario: 'test/scenarios/mutants/no-nested-flush.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_madvise.return' },
  'pcid-no-gen-check': { scenario: 'test/scenarios/mutants/pcid-no-gen-check.txt', property: 'no-freed-frame-reachable', actor: 'T1', stepId: 'load_new_mm_cr3.noflush' },
  'pre-6c8e2a256915': { scenario: 'test/scenarios/gup-dma-into-lazyfree.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'pre-70e806e4e645': { scenario: 'test/scenarios/gup-dma-across-fork.txt', property: 'read-value', actor: 'T2', stepId: 'user_access.walk' },
  'pre-20841405940e': { scenario: 'test/scenarios/migrate-vs-numa-20841405940e.txt', property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'migrate_folio_done' },
  'pre-3ea277194daa': { scenario: 'test/scenarios/mutants/pre-3ea277194daa.txt', property: 'protect-complete', actor: 'T2', stepId: 'sys_mprotect.return' },
  'pre-52ac8b358b0c': { scenario: 'test/scenarios/kvm-delete-memslot-during-invalidation.txt', property: 'notifier-balance', actor: 'T1', stepId: 'flush_tlb_mm_range.inc_mm_tlb_gen' },
  'pre-565f3be21746-flush-after-unlock': { scenario: 'test/scenarios/mutants/pre-565f3be21746-flush-after-unlock.txt', property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'tlb_batch_pages_flush' },
  'pre-5ee2fa2f0636': { scenario: 'test/scenarios/mutants/pre-5ee2fa2f0636.txt', property: 'protect-complete', actor: 'T2', stepId: 'sys_mprotect.return' },
  'pre-84261923d3dd-request-skip': { scenario: 'test/scenarios/mutants/pre-84261923d3dd-request-skip.txt', property: 'no-freed-frame-reachable', actor: 'T2', stepId: 'tlb_batch_pages_flush' },
  'pre-8ce720d5bd91': { scenario: 'test/scenarios/mutants/pre-8ce720d5bd91.txt', property: 'no-stale-psc-after-unlink', actor: 'T2', stepId: 'sys_madvise.return' },
  'pre-97113eb39fa7': { scenario: 'test/scenarios/mutants/pre-97113eb39fa7.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done' },
  'pre-a4a118f2eead': { scenario: 'test/scenarios/mutants/pre-a4a118f2eead.txt', property: 'unmap-complete', actor: 'T1', stepId: 'sys_munmap.return' },
  'pre-a835429cda91-zap-no-flush': { scenario: 'test/scenarios/mutants/pre-a835429cda91-zap-no-flush.txt', property: 'secondary-subset', actor: 'T1', stepId: 'kvm_mmu_invalidate_end' },
  'pre-b25ab9cae30f': { scenario: 'test/scenarios/gmem-punch-unbound-hole.txt', property: 'notifier-balance', actor: 'T1', stepId: 'sys_fallocate.return' },
  'pre-b3-unshare-no-lazy-ipi': { scenario: 'test/scenarios/mutants/pre-b3-unshare-no-lazy-ipi.txt', property: 'no-stale-psc-after-unlink', actor: 'T2', stepId: 'sys_madvise.return' },
  'pre-e930bffe95e1-no-retry': { scenario: 'test/scenarios/mutants/pre-e930bffe95e1-no-retry.txt', property: 'secondary-subset', actor: 'T0', stepId: 'tdp_mmu_map_handle_target_level' },
  'pre-eb66ae030829': { scenario: 'test/scenarios/mutants/pre-eb66ae030829.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'migrate_folio_done' },
  'pre-eeff9a5d47f8': { scenario: 'test/scenarios/mutants/pre-eeff9a5d47f8.txt', property: 'notifier-balance', actor: 'T0', stepId: 'kvm_mmu_invalidate_end' },
  'pre-fb49c455323f': { scenario: 'test/scenarios/fork-vs-per-vma-fault-fb49c455323f.txt', property: 'read-value', actor: 'T2', stepId: 'user_access.walk' },
  'pre-fea4e317f9e7': { scenario: 'test/scenarios/cve-2025-37964-switch-back.txt', property: 'no-freed-frame-reachable', actor: 'T3', stepId: 'load_new_mm_cr3.noflush' },
  'pt-reclaim-flush-end': { scenario: 'test/scenarios/pt-reclaim-flush-end.txt', property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' },
  'pt-reclaim-no-rcu': { scenario: 'test/scenarios/mutants/pt-reclaim-no-rcu.txt', property: 'no-freed-table-reachable', actor: 'T0', stepId: 'pte_free_tlb' },
  'reclaim-free-before-batch-flush': { scenario: 'test/scenarios/mutants/reclaim-free-before-batch-flush.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'free_unref_folios' },
  'relock-no-batched-flush': { scenario: 'test/scenarios/mutants/relock-no-batched-flush.txt', property: 'unmap-complete', actor: 'T2', stepId: 'sys_madvise.return' },
  'skip-lazy-on-table-free': { scenario: 'test/scenarios/mutants/skip-lazy-on-table-free.txt', property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' },
  'swap-pageout-before-flush-dirty': { scenario: 'test/scenarios/swap-stale-write-after-pageout.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'table-free-no-sync': { scenario: 'test/scenarios/mutants/table-free-no-sync.txt', property: 'no-freed-table-reachable', actor: 'T0', stepId: 'tlb_remove_table_one.__tlb_remove_table' },
  'tables-freed-after-flush': { scenario: 'test/scenarios/invlpgb-global-asid-unmap.txt', property: 'no-freed-table-reachable', actor: 'T0', stepId: 'tlb_batch_pages_flush' },
  'tlbbatch-no-tlb-gen': { scenario: 'test/scenarios/mutants/tlbbatch-no-tlb-gen.txt', property: 'no-freed-frame-reachable', actor: 'T0', stepId: 'free_unref_folios' },
  'unmap-shift-highest': { scenario: 'test/scenarios/mutants/unmap-shift-highest.txt', property: 'unmap-complete', actor: 'T0', stepId: 'sys_munmap.return' },
  'unshare-flush-after-i-mmap': { scenario: 'test/scenarios/hugetlb-unshare-then-owner-frees.txt', property: 'no-freed-table-reachable', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' },
  'unshare-leaf-only-flush': { scenario: 'test/scenarios/mutants/unshare-leaf-only-flush.txt', property: 'no-stale-psc-after-unlink', actor: 'T1', stepId: 'sys_munmap.return' },
  'vma-link-no-vma-start-write': { scenario: 'test/scenarios/mremap-fault-on-new-vma.txt', property: 'read-value', actor: 'T0', stepId: 'user_access.walk' },
  'wp-page-copy-no-anon-prepare': { scenario: 'test/scenarios/zero-page-cow-before-fork.txt', property: 'read-value', actor: 'T3', stepId: 'user_access.walk' },
  'wp-page-copy-no-flush': { scenario: 'test/scenarios/cow-flush-before-set-pte.txt', property: 'read-value', actor: 'T1', stepId: 'user_access.tlb_hit' },
};
