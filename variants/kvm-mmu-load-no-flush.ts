// Mutant: kvm_mmu_load() without its flush of the new root. The TDP MMU
// frees a root, and the page table under it, without flushing the guest
// TLB: "Flushing on alloc also allows KVM to skip the TLB flush when
// freeing a root (see kvm_tdp_mmu_put_root())" (arch/x86/kvm/mmu/mmu.c
// kvm_mmu_load(); the comment and the contract come from "KVM: x86/mmu:
// Formalize TDP MMU's (unintended?) deferred TLB flush logic", Sean
// Christopherson, 2022-02-26, read through the search tool). Entries the
// CPU tagged with a freed root's frame (EP4TA) stay in its TLB and
// paging-structure caches; a root that gets the frame again would hit
// them. A rule mutant: the flush on load is older than that patch, and no
// kernel is known to have run without it; the patch makes it the only
// flush a retired root gets. Decision point kvm_mmu_load.flush_tlb_current.
// Expected: after a memslot deletion retires the root and the vCPU's next
// kvm_mmu_load() gets the root's frame back, the guest TLB maps a gfn of
// the deleted slot (secondary-subset) or the guest PSC caches the freed
// page table (no-freed-table-reachable)
// (test/scenarios/kvm-root-reused-after-memslot-delete.txt,
// test/kvm_tdp_root.test.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'kvm-mmu-load-no-flush',
  description: 'kvm_mmu_load() loads a root without kvm_x86_call(flush_tlb_current) (rule mutant)',
  edit: (v) => v.decide('kvm_mmu_load.flush_tlb_current', () => false),
});
