import { firstEntry } from '../model/kernel/pagetable.js';
import type { KernelState } from '../model/kernel/state.js';
import { tlbLookup, tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import { allSptes, guestTlbUsable } from '../model/kernel/kvm/state.js';
import { liveAtc } from '../model/kernel/paths/sva.js';
import type { Finding, Property } from './property.js';
import { type Reach, reachAt } from './reach_cache.js';

/** A frame that is free, or was freed and handed out again since `ghost` was taken. */
export function staleFrame(s: KernelState, pfn: number, ghost: number): string | null {
  const f = s.frames[pfn]!;
  if (f.state === 'free') return 'free';
  if (f.allocId !== ghost) return `reallocated as ${f.lp}`;
  return null;
}

// With a VM (issue 11) the same holds for KVM's SPTEs, its usable
// guest-TLB entries and guest stores (secondaryReach below); the
// statement keeps its wording, which the golden reports pin.
/** The property over `reach` (reach_cache.ts): the registry's skips the entry scan while the frames are as at its last clean scan; tests also run it over the full reference. */
export const noFreedFrameReachableWith = (reach: Reach): Property => ({
  id: 'no-freed-frame-reachable',
  statement: 'no free or reallocated data frame is reachable through a present PTE or a usable TLB entry, and no user store lands in one',
  rule: 'mmu_gather: unhook, invalidate, then free (include/asm-generic/tlb.h, tlb_finish_mmu()); docs/kernel-facts.md F1',
  check({ s, event, mem, stepCache }) {
    // The store itself: whatever entry the CPU used, usable by SPEC 5.2 or
    // not, the frame that took the value must be the allocation the
    // translation was made for. A store has no later read to give it away.
    const o = event?.obs;
    if (o?.kind === 'access' && o.write && o.ok && o.guest) {
      // a guest store went through the vCPU's guest-TLB entry (filled from the SPTE if it missed)
      const root = s.kvm?.vcpus[event.actor]?.root?.pfn;
      const e = s.kvm?.guestTlb[event.cpu]?.find((x) => x.vcpu === event.actor && x.root === root && x.gfn === o.guest!.gfn);
      const why = e && s.frames[e.pfn]!.content === o.value ? staleFrame(s, e.pfn, e.ghost) : null;
      if (why) return { holder: 'guest TLB', message: `guest write of ${o.value} to gfn ${o.guest.gfn} of ${o.guest.vm} landed in frame ${e!.pfn} through CPU${event.cpu}'s guest TLB, which is ${why}` };
    } else if (o?.kind === 'access' && o.write && o.ok && o.device) {
      // a DMA store went through the device's ATC entry (filled by the IOMMU's walk if it missed)
      const e = s.sva?.devices[o.device]?.atc.find((x) => x.vpn === o.vpn);
      const why = e && s.frames[e.pfn]!.content === o.value ? staleFrame(s, e.pfn, e.ghost) : null;
      if (why) return { holder: 'device TLB', message: `DMA write of ${o.value} by ${o.device} to ${vaHex(o.vpn)} in ${o.mm} landed in frame ${e!.pfn} through its ATC, which is ${why}` };
    } else if (o?.kind === 'access' && o.write && o.ok) {
      const cpu = s.cpus[event.cpu]!;
      const e = tlbLookup(cpu, o.vpn);
      const why = e && s.frames[e.pfn]!.content === o.value ? staleFrame(s, e.pfn, e.ghost) : null;
      if (why) return { holder: 'TLB', message: `write of ${o.value} to ${vaHex(o.vpn)} in ${o.mm} landed in frame ${e!.pfn} through CPU${cpu.id} PCID slot ${e!.slot}, which is ${why}` };
    }
    // the frames and entries as at the last scan, which found nothing: nothing now
    const { contents } = reach({ s, stepCache });
    const pte = mem.clean === contents ? null : firstEntry(s, (table, index, e) => {
      if (table.level !== 1 && !e.huge) return null; // PTEs and hugetlb PMD leaves (their head frame)
      if (e.swap !== undefined) return null; // a swap entry names a slot, not a frame
      const why = staleFrame(s, e.pfn, e.ghost);
      return why ? { holder: 'PTE' as const, message: `PTE ${index} of ${table.owner}'s table ${table.pfn} maps frame ${e.pfn}, which is ${why}` } : null;
    });
    if (pte) return pte;
    mem.clean = contents;
    for (const cpu of s.cpus) {
      for (const e of cpu.tlb) {
        // the first entry both stale and usable; the cheap test first (both read the state only)
        const why = staleFrame(s, e.pfn, e.ghost);
        if (!why) continue;
        const mm = tlbUsableFor(s, cpu, e.slot);
        if (mm) return { holder: 'TLB', message: `CPU${cpu.id} PCID slot ${e.slot} (${mm}) maps ${vaHex(e.vpn)} -> frame ${e.pfn}, which is ${why}` };
      }
    }
    return (s.kvm ? secondaryReach(s) : null) ?? (s.sva ? deviceReach(s) : null);
  },
});

export const noFreedFrameReachable: Property = noFreedFrameReachableWith(reachAt);

/**
 * IOMMU SVA (paths/sva.ts): an ATC entry of a bound device into a freed
 * frame. The device TLB is treated as a CPU TLB of the bound mm whose
 * flush arrives through arch_invalidate_secondary_tlbs(): it may hold a
 * translation the PTE no longer has (the CPU flush has not run yet), but
 * never past the free that the flush must precede.
 */
function deviceReach(s: KernelState): Finding | null {
  for (const { dev, e } of liveAtc(s)) {
    const why = staleFrame(s, e.pfn, e.ghost);
    if (why) return { holder: 'device TLB', message: `${dev.name}'s ATC (bound to ${dev.mm}) maps ${vaHex(e.vpn)} -> frame ${e.pfn}, which is ${why}` };
  }
  return null;
}

/** KVM (docs/kvm.md): an SPTE, or a guest-TLB entry the CPU may use, into a freed frame. */
function secondaryReach(s: KernelState): Finding | null {
  const kvm = s.kvm!;
  for (const vm of Object.values(kvm.vms)) {
    for (const [g, e, root] of allSptes(vm)) {
      const why = staleFrame(s, e.pfn, e.ghost);
      if (why) return { holder: 'SPTE', message: `${vm.name}'s SPTE for gfn ${g}${root ? ` (invalidated root at frame ${root.pfn})` : ''} maps frame ${e.pfn}, which is ${why}` };
    }
  }
  for (const [cpu, entries] of Object.entries(kvm.guestTlb)) {
    for (const e of entries) {
      if (!guestTlbUsable(s, e)) continue;
      const why = staleFrame(s, e.pfn, e.ghost);
      if (why) return { holder: 'guest TLB', message: `CPU${cpu}'s guest TLB (${e.vcpu}) maps gfn ${e.gfn} -> frame ${e.pfn}, which is ${why}` };
    }
  }
  return null;
}

