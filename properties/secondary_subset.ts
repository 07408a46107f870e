// secondary-subset (research/tlb-kvm.md I6, and I5 for the guest TLB): a
// secondary MMU maps only what the primary MMU maps, with no more
// permission. KVM zaps at invalidate_range_start(), before the primary
// PTE changes, so every SPTE is checked at every step. A guest-TLB entry
// that the CPU may use is checked too, except for a gfn inside an open
// invalidation: between the zap and the end of kvm_flush_remote_tlbs()
// the vCPU may still run on it (R1), and the primary PTE has not changed.
// For a gfn of a guest_memfd-backed memslot the primary is the file's page
// cache, not the VMM's page tables: kvm_gmem_get_pfn() resolves the pfn
// from it, and kvm_gmem_punch_hole() zaps before truncating it
// (paths/kvm_gmem.ts).

import { findLeaf } from '../model/kernel/pagetable.js';
import { allSptes, gfnToGmem, gfnToHva, guestTlbUsable, inInvalidation, type Vm } from '../model/kernel/kvm/state.js';
import type { KernelState } from '../model/kernel/state.js';
import { vaHex } from '../model/kernel/types.js';
import type { Property } from './property.js';

/** Why `pfn` (allocation `ghost`, writable or not) at `gfn` of `vm` is not what the primary PTE allows, or null. */
export function beyondPrimary(s: KernelState, vm: Vm, gfn: number, pfn: number, ghost: number, writable: boolean): string | null {
  const gmem = gfnToGmem(vm, gfn);
  if (gmem) {
    const p = s.files[gmem.file]!.cache[gmem.index];
    if (p === null || p === undefined) return `page ${gmem.index} of guest_memfd ${gmem.file} is not in its page cache`;
    if (p !== pfn || s.frames[p]!.allocId !== ghost) return `page ${gmem.index} of guest_memfd ${gmem.file} is frame ${p}`;
    return null;
  }
  const hva = gfnToHva(vm, gfn);
  if (hva === null) return 'outside every memslot';
  const leaf = findLeaf(s, s.mms[vm.mm]!, hva)?.pte;
  if (!leaf || leaf.protNone) return `the primary PTE of ${vaHex(hva)} in ${vm.mm} is not present`;
  if (leaf.pfn !== pfn || leaf.ghost !== ghost) return `the primary PTE of ${vaHex(hva)} in ${vm.mm} maps frame ${leaf.pfn}`;
  if (writable && !leaf.writable) return `the primary PTE of ${vaHex(hva)} in ${vm.mm} is read-only`;
  return null;
}

export const secondarySubset: Property = {
  id: 'secondary-subset',
  statement: "every SPTE, and every usable guest-TLB entry outside an open invalidation, maps the frame the VMM's primary PTE maps, with no more permission",
  rule: 'mmu_notifier: a secondary MMU mirrors the primary and drops what mmu_notifier_invalidate_range_start() names (include/linux/mmu_notifier.h); docs/kvm.md',
  check({ s }) {
    const kvm = s.kvm;
    if (!kvm) return null;
    for (const vm of Object.values(kvm.vms)) {
      for (const [g, e, root] of allSptes(vm)) {
        const why = beyondPrimary(s, vm, g, e.pfn, e.ghost, e.writable);
        if (why) return { holder: 'SPTE', message: `${vm.name}'s SPTE for gfn ${g}${root ? ` (invalidated root at frame ${root.pfn})` : ''} maps frame ${e.pfn}${e.writable ? ' writable' : ''}, but ${why}` };
      }
    }
    for (const [cpu, entries] of Object.entries(kvm.guestTlb)) {
      for (const e of entries) {
        const vm = kvm.vms[kvm.vcpus[e.vcpu]!.vm]!;
        if (!guestTlbUsable(s, e) || inInvalidation(vm, e.gfn)) continue;
        const why = beyondPrimary(s, vm, e.gfn, e.pfn, e.ghost, e.writable);
        if (why) return { holder: 'guest TLB', message: `CPU${cpu}'s guest TLB (${e.vcpu}, ${vm.name}) maps gfn ${e.gfn} -> frame ${e.pfn}${e.writable ? ' writable' : ''}, but ${why}` };
      }
    }
    return null;
  },
};
