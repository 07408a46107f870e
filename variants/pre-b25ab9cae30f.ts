// Mutant: guest_memfd's invalidation bookkeeping as the guest_memfd series
// had it before b25ab9cae30f ("KVM: Fix MMU invalidation bookkeeping in
// guest_memfd", Sean Christopherson, 2023-09-21, kvm-x86/linux, "Reported-by:
// Binbin Wu", "Fixes: 1d46f95 ("KVM: Add KVM_CREATE_GUEST_MEMFD ioctl() for
// guest-specific backing memory")",
// https://lore.kernel.org/r/20230921203331.3746712-6-seanjc@google.com; read
// through the search tool). kvm_gmem_invalidate_begin() took KVM_MMU_LOCK
// and called kvm_mmu_invalidate_begin() before its walk of the bindings, so
// for every punch hole, while kvm_gmem_invalidate_end() called
// kvm_mmu_invalidate_end() only if xa_find() found a binding in the range:
// a hole over pages no memslot binds left mmu_invalidate_in_progress raised
// for good, with no range. The fix made the begin conditional on the first
// binding found, as __kvm_gmem_invalidate_begin() still does. The bug lived
// in the series' development branch; the code merged for v6.8
// (a7800aa80ea4) has the fix, so no released kernel had it.
// Expected: notifier-balance at the punch hole's return (a begin with no
// end); without that property, a vCPU that faults afterwards retries for
// ever (mmu_invalidate_retry_gfn()'s WARN on a missing range,
// model/kernel/kvm/state.ts faultMustRetry()) and no-deadlock reports the
// stall (test/scenarios/gmem-punch-unbound-hole.txt, test/kvm_gmem.test.ts).
import { kvmMmuLock, lock } from '../model/kernel/locks.js';
import { gmemToGfnRanges } from '../model/kernel/kvm/state.js';
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-b25ab9cae30f',
  description: 'kvm_gmem_invalidate_begin() takes mmu_lock and begins the invalidation before it looks for a binding (begin unconditional, end only with a binding)',
  edit: (v) =>
    v.replace('__kvm_gmem_invalidate_begin.kvm_mmu_lock', function* (k, c: { vm: string; file: string; start: number; end: number; ranges?: { start: number; end: number }[] }) {
      c.ranges = gmemToGfnRanges(k.s.kvm!.vms[c.vm]!, c.file, c.start, c.end); // the xa_for_each_range() walk comes after the begin
      yield* lock(k, kvmMmuLock(c.vm), 'w', '__kvm_gmem_invalidate_begin.kvm_mmu_lock');
    }),
});
