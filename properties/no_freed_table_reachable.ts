import { firstEntry, LEVEL_NAME } from '../model/kernel/pagetable.js';
import type { KernelState } from '../model/kernel/state.js';
import { pscUsableFor } from '../model/kernel/tlb.js';
import { liveDevices } from '../model/kernel/paths/sva.js';
import { guestTlbUsable } from '../model/kernel/kvm/state.js';
import type { Property } from './property.js';
import { type Reach, reachAt } from './reach_cache.js';

function staleTable(s: KernelState, pfn: number, ghost: number): string | null {
  const f = s.frames[pfn]!;
  if (f.state === 'free') return 'free';
  if (f.state !== 'pagetable' || f.allocId !== ghost) return `reallocated as ${f.lp}`;
  return null;
}

/** The property over `reach` (reach_cache.ts): the registry's skips the entry scan while the frames are as at its last clean scan; tests also run it over the full reference. */
export const noFreedTableReachableWith = (reach: Reach): Property => ({
  id: 'no-freed-table-reachable',
  statement: 'no freed page-table frame is referenced by a live upper-level entry, a usable PSC entry (a CPU\'s, a vCPU\'s guest PSC, or the IOMMU\'s of a bound SVA device), a vCPU\'s loaded TDP root, or a walker in progress',
  rule: 'pte_free_tlb() + tlb_remove_table(): flush with freed_tables (lazy CPUs too, and through arch_invalidate_secondary_tlbs() an SVA device\'s IOMMU), free after an RCU grace period; commit 2ff6ddf19c0e; docs/kernel-facts.md F2',
  check({ s, mem, stepCache }) {
    // the frames and entries as at the last scan, which found nothing: nothing now
    const { contents } = reach({ s, stepCache });
    const upper = mem.clean === contents ? null : firstEntry(s, (table, index, e) => {
      if (table.level === 1 || e.huge) return null; // PTEs and PMD leaves map data, not tables
      const why = staleTable(s, e.pfn, e.ghost);
      return why ? { holder: 'upper entry' as const, message: `${LEVEL_NAME[table.level]} entry ${index} of ${table.owner} points to table ${e.pfn}, which is ${why}` } : null;
    });
    if (upper) return upper;
    mem.clean = contents;
    for (const cpu of s.cpus) {
      for (const p of cpu.psc) {
        // the first entry both stale and usable; the cheap test first (both read the state only)
        const why = staleTable(s, p.pfn, p.ghost);
        if (!why) continue;
        const mm = pscUsableFor(s, cpu, p.slot);
        if (mm) {
          const lazy = cpu.isLazy && p.slot === cpu.loadedSlot ? ', lazy' : '';
          return { holder: 'PSC', message: `CPU${cpu.id} PCID slot ${p.slot} (${mm}${lazy}) caches a ${LEVEL_NAME[p.level]} table at frame ${p.pfn}, which is ${why}` };
        }
      }
    }
    // an IOMMU's paging-structure cache (paths/sva.ts): the IOMMU may walk from it whenever the device
    // issues a request, so every entry of a live binding counts, as a lazy CPU's loaded PCID does
    for (const dev of liveDevices(s)) {
      for (const p of dev.psc) {
        const why = staleTable(s, p.pfn, p.ghost);
        if (why) return { holder: 'device PSC', message: `${dev.name}'s IOMMU PSC (bound to ${dev.mm}) caches a ${LEVEL_NAME[p.level]} table at frame ${p.pfn}, which is ${why}` };
      }
    }
    // a vCPU's guest PSC and its loaded root (EPTP), while the vCPU may walk from them (kvm/state.ts guestTlbUsable)
    const kvm = s.kvm;
    if (kvm) {
      for (const cpu in kvm.guestPsc ?? {}) {
        for (const p of kvm.guestPsc![cpu]!) {
          const why = staleTable(s, p.pfn, p.ghost);
          if (why && guestTlbUsable(s, p)) return { holder: 'guest PSC', message: `CPU${cpu}'s guest PSC (${p.vcpu}, root at frame ${p.root}) caches the TDP page table at frame ${p.pfn}, which is ${why}` };
        }
      }
      for (const n in kvm.vcpus) {
        const v = kvm.vcpus[n]!;
        const why = v.root ? staleTable(s, v.root.pfn, v.root.ghost) : null;
        if (why && guestTlbUsable(s, { vcpu: n, root: v.root!.pfn })) return { holder: 'EPTP', message: `${n} runs on the TDP root at frame ${v.root!.pfn}, which is ${why}` };
      }
    }
    for (const actor in s.tasks) {
      const walker = s.tasks[actor]!.walker; // for-in: the order of Object.entries, without its arrays
      if (!walker) continue;
      for (const w of walker) {
        const why = staleTable(s, w.pfn, w.ghost);
        if (why) return { holder: 'walker', message: `${actor} is walking table ${w.pfn} locklessly, which is ${why}` };
      }
    }
    return null;
  },
});

export const noFreedTableReachable: Property = noFreedTableReachableWith(reachAt);
