// Named decision points (issue 14 item 3): a condition inside a step that
// a variant can override without copying the step (VariantBuilder.decide).
// The step computes the kernel's value and asks k.decide(id, value, args);
// under a policy without an override the value is used as is, so a
// decision point changes no trace. Each point is a condition the kernel
// source has, named "kernel_function.what" like a step id; a variant that
// wants a condition the kernel does not have still replaces the step.
//
// Where each is asked:
//   should_flush_tlb.loaded_mm_switching   paths/flush_tlb_mm_range.ts, shouldFlushTlb()
//   native_flush_tlb_multi.freed_tables    paths/flush_tlb_mm_range.ts, nativeFlushTlbMultiSend()
//   flush_tlb_func.next_stride             paths/flush_tlb_func.ts, step flush_tlb_func.flush
//   can_change_pte_writable.anon_exclusive paths/mprotect.ts, step change_pte_range.modify_prot
//   pte_accessible.mm_tlb_flush_pending    paths/try_to_migrate_one.ts, step try_to_migrate_one.ptep_get_and_clear
//   change_pte_range.is_writable_migration_entry  paths/mprotect.ts, step change_pte_range.modify_prot
//   copy_nonpresent_pte.is_cow_mapping     paths/copy_page_range.ts, step copy_present_ptes
//   folio_try_dup_anon_rmap.needs_cow_for_dma  paths/copy_page_range.ts, step copy_present_ptes
//   try_to_unmap_one.lazyfree_dirty        paths/try_to_unmap_one.ts, step try_to_unmap_one.lazyfree
//   try_to_unmap_one.lazyfree_extra_ref    paths/try_to_unmap_one.ts, step try_to_unmap_one.lazyfree
//   move_ptes.force_flush                  paths/mremap_tables.ts, step move_ptes.move_pte
//   cache_tag_flush_range.ih               paths/sva.ts, svaArchInvalidateSecondaryTlbs()
//   kvm_swap_active_memslots.mn_active_invalidate_count  paths/kvm_set_memslot.ts, kvmSwapActiveMemslots()
//   kvm_mmu_load.flush_tlb_current         paths/kvm_tdp_root.ts, step kvm_mmu_load.flush_tlb_current

import type { K } from './step.js';

export interface DecisionPoint {
  id: string;
  /** The condition as the kernel writes it, and where. */
  condition: string;
  source: string;
  /** What the override's `args` hold. */
  args: string;
}

export const DECISION_POINTS: readonly DecisionPoint[] = [
  {
    id: 'should_flush_tlb.loaded_mm_switching',
    condition: 'if (loaded_mm == LOADED_MM_SWITCHING) return true;',
    source: 'arch/x86/mm/tlb.c should_flush_tlb(), added by fea4e317f9e7',
    args: '{ cpu: the target CPU id }',
  },
  {
    id: 'native_flush_tlb_multi.freed_tables',
    condition: 'if (info->freed_tables || mm_in_asid_transition(info->mm)) on_each_cpu_mask(...) (lazy CPUs included; otherwise on_each_cpu_cond_mask(should_flush_tlb, ...))',
    source: 'arch/x86/mm/tlb.c native_flush_tlb_multi(), since 2ff6ddf19c0e',
    args: '{}',
  },
  {
    id: 'flush_tlb_func.next_stride',
    condition: 'while (addr < f->end) { flush_tlb_one_user(addr); addr += 1UL << f->stride_shift; }',
    source: 'arch/x86/mm/tlb.c flush_tlb_func(), the partial flush loop',
    args: '{ addr: the next page to flush, start, end, stride }',
  },
  {
    id: 'can_change_pte_writable.anon_exclusive',
    condition: 'if (!(vma->vm_flags & VM_SHARED)) { page = vm_normal_page(vma, addr, pte); return page && PageAnon(page) && PageAnonExclusive(page); }',
    source: 'mm/mprotect.c can_change_pte_writable(), asked by change_pte_range() for an mprotect write upgrade',
    args: '{ vpn: the page }',
  },
  {
    id: 'pte_accessible.mm_tlb_flush_pending',
    condition: 'if ((pte_flags(a) & _PAGE_PROTNONE) && mm_tlb_flush_pending(mm)) return true;',
    source: 'arch/x86/include/asm/pgtable.h pte_accessible(), added by 20841405940e; asked by try_to_migrate_one() for a PROT_NONE PTE it clears',
    args: '{ mm, vpn }',
  },
  {
    id: 'change_pte_range.is_writable_migration_entry',
    condition: 'if (is_writable_migration_entry(entry)) { ... entry = make_readable_migration_entry(swp_offset(entry)); ... }',
    source: 'mm/mprotect.c change_pte_range(), the swap-entry branch ("A protection check is difficult so just be safe and disable write")',
    args: '{ vpn }',
  },
  {
    id: 'copy_nonpresent_pte.is_cow_mapping',
    condition: 'if (!is_readable_migration_entry(entry) && is_cow_mapping(vm_flags)) { entry = make_readable_migration_entry(...); ... set_pte_at(src_mm, addr, src_pte, pte); }',
    source: 'mm/memory.c copy_nonpresent_pte() ("COW mappings require pages in both parent and child to be set to read")',
    args: '{ vpn }',
  },
  {
    id: 'try_to_unmap_one.lazyfree_dirty',
    condition: 'if (folio_test_dirty(folio) && !(vma->vm_flags & VM_DROPPABLE)) { set_ptes(...pteval...); folio_set_swapbacked(folio); goto walk_abort; }',
    source: 'mm/rmap.c try_to_unmap_one(), the MADV_FREE page check of a lazyfree anonymous folio',
    args: '{}',
  },
  {
    id: 'folio_try_dup_anon_rmap.needs_cow_for_dma',
    condition: 'if (PageAnonExclusive(page) && unlikely(folio_needs_cow_for_dma(src_vma, folio))) return -EBUSY;',
    source: 'include/linux/rmap.h __folio_try_dup_anon_rmap(), asked by copy_present_ptes() at fork: -EBUSY makes copy_present_page() copy the page now; added as page_needs_cow_for_dma() in copy_present_pte() by 70e806e4e645',
    args: '{ vpn: the page }',
  },
  {
    id: 'try_to_unmap_one.lazyfree_extra_ref',
    condition: 'else if (ref_count != 1 + map_count) { set_ptes(...pteval...); goto walk_abort; }',
    source: 'mm/rmap.c try_to_unmap_one(), added by 6c8e2a256915 (a GUP or speculative reference keeps a lazyfree folio)',
    args: '{}',
  },
  {
    id: 'move_ptes.force_flush',
    condition: 'if (pte_present(pte)) force_flush = true;',
    source: 'mm/mremap.c move_ptes(), since eb66ae030829 (before it: pte_present(pte) && pte_dirty(pte), 5d1904204c99)',
    args: '{ vpn: the old address, dirty: pte_dirty() of the entry moved }',
  },
  {
    id: 'cache_tag_flush_range.ih',
    condition: 'cache_tag_flush_range(domain, start, end - 1, 0): ih = 0, the PASID-based invalidation also drops paging-structure-cache entries',
    source: 'drivers/iommu/intel/svm.c intel_arch_invalidate_secondary_tlbs() (the invalidation hint; VT-d spec 6.5.2.4)',
    args: '{ dev: the device, start, end }',
  },
  {
    id: 'kvm_swap_active_memslots.mn_active_invalidate_count',
    condition: 'while (kvm->mn_active_invalidate_count) { ... schedule(); ... } before rcu_assign_pointer(kvm->memslots[as_id], slots)',
    source: 'virt/kvm/kvm_main.c kvm_swap_active_memslots(), since 52ac8b358b0c ("KVM: Block memslot updates across range_start() and range_end()")',
    args: '{ vm: the VM, count: mn_active_invalidate_count }',
  },
  {
    id: 'kvm_mmu_load.flush_tlb_current',
    condition: 'kvm_x86_call(flush_tlb_current)(vcpu) after kvm_mmu_load_pgd(): always',
    source: 'arch/x86/kvm/mmu/mmu.c kvm_mmu_load(); its comment from "KVM: x86/mmu: Formalize TDP MMU\'s (unintended?) deferred TLB flush logic" (Sean Christopherson, 2022-02-26)',
    args: '{ vcpu: the vCPU thread, root: the frame of the root it loaded }',
  },
];

export const DECISION_IDS: ReadonlySet<string> = new Set(DECISION_POINTS.map((d) => d.id));

/** A variant's override: the kernel's value in, the variant's out. */
export type Decision = (k: K, value: boolean, args: Readonly<Record<string, unknown>>) => boolean;
