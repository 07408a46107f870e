// Mutant: the TDP fault samples mmu_invalidate_seq after hva_to_pfn()
// instead of before it (the smp_rmb() ordering kvm_mmu_faultin_pfn()
// documents: "the snapshot must be taken before the pfn is resolved",
// research/tlb-kvm.md 5.1). An invalidation that starts and ends while
// GUP holds the old pfn leaves the seq unchanged relative to the late
// sample: the stale pfn is mapped. The order has been in KVM since
// e930bffe95e1; no historical commit is named for breaking it (label:
// rule mutant).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'kvm-mmu-seq-after-gup',
  description: 'kvm_mmu_faultin_pfn() reads mmu_invalidate_seq after hva_to_pfn()',
  edit: (v) =>
    v.move('kvm_mmu_faultin_pfn.mmu_invalidate_seq', { after: 'hva_to_pfn' }),
});
