// notifier-balance (research/tlb-kvm.md I14): mmu_notifier start and end
// calls pair up within one operation, and KVM's mmu_invalidate_in_progress
// never goes below zero nor above the starts still open on its mm, so it
// is back to zero once they have ended. The pairing is read from the ghost
// record of paths/notifier.ts, which the kernel paths do not touch. A
// guest_memfd invalidation (paths/kvm_gmem.ts) raises in_progress without
// any start on the mm: its begins are counted from their own ghost record.

import type { Property } from './property.js';

export const notifierBalance: Property = {
  id: 'notifier-balance',
  statement: 'invalidate_range_start and _end pair up within each operation, and mmu_invalidate_in_progress stays between zero and the starts open on the VM\'s mm',
  rule: 'mmu_notifier_invalidate_range_start() and mmu_notifier_invalidate_range_end() are paired (include/linux/mmu_notifier.h), as are kvm_mmu_invalidate_begin() and kvm_mmu_invalidate_end(); docs/kvm.md',
  check({ s, event }) {
    const kvm = s.kvm;
    if (!kvm) return null;
    if (kvm.unmatchedEnds > 0) return { holder: 'notifier', message: `${event.actor} called invalidate_range_end without a matching start` };
    for (const vm of Object.values(kvm.vms)) {
      const open = kvm.openStarts.filter((o) => o.mm === vm.mm).length + (kvm.openGmem ?? []).filter((o) => o.vm === vm.name).length;
      if (vm.mmuInvalidateInProgress < 0) return { holder: 'notifier', message: `${vm.name}'s mmu_invalidate_in_progress is ${vm.mmuInvalidateInProgress}` };
      if (vm.mmuInvalidateInProgress > open) return { holder: 'notifier', message: `${vm.name}'s mmu_invalidate_in_progress is ${vm.mmuInvalidateInProgress} with ${open} invalidate_range_start call(s) and guest_memfd invalidation(s) open on ${vm.mm}` };
    }
    // an operation that returned to user mode with a start still open never ends it
    const o = event.obs;
    if (o?.kind === 'return' || event.id === 'do_exit') {
      const left = kvm.openStarts.find((x) => x.actor === event.actor);
      if (left) return { holder: 'notifier', message: `${event.actor} returned from its operation with an invalidate_range_start on ${left.mm} never ended` };
      const gm = kvm.openGmem?.find((x) => x.actor === event.actor);
      if (gm) return { holder: 'notifier', message: `${event.actor} returned from its operation with a guest_memfd invalidation of ${gm.vm} (kvm_gmem_invalidate_begin) never ended` };
    }
    return null;
  },
};
