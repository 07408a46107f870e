// no-spte-in-window (research/tlb-kvm.md I5, I7): while an invalidation
// of a gfn is in progress (invalidate_range_start() added it to the range
// and the matching end has not run), no SPTE for it is installed. A fault
// that resolved its pfn before the start must see the range or the seq
// under mmu_lock and retry (mmu_invalidate_retry_gfn()).

import type { Property } from './property.js';

export const noSpteInWindow: Property = {
  id: 'no-spte-in-window',
  statement: 'no SPTE is installed for a gfn while an invalidation covering it is in progress',
  rule: 'kvm_mmu_invalidate_begin() .. kvm_mmu_invalidate_end() (virt/kvm/kvm_main.c) and mmu_invalidate_retry_gfn() (include/linux/kvm_host.h); docs/kvm.md',
  check({ s }) {
    if (!s.kvm) return null;
    for (const vm of Object.values(s.kvm.vms)) {
      if (vm.mmuInvalidateInProgress <= 0) continue;
      for (const [g, e] of Object.entries(vm.sptes)) {
        const since = vm.rangeAt[Number(g)];
        if (since !== undefined && e.at > since) return { holder: 'SPTE', message: `${vm.name}'s SPTE for gfn ${g} (frame ${e.pfn}) was installed while an invalidation of it was in progress (mmu_invalidate_in_progress ${vm.mmuInvalidateInProgress})` };
      }
    }
    return null;
  },
};
