import { LEVEL_NAME } from '../model/kernel/pagetable.js';
import { pscUsableFor } from '../model/kernel/tlb.js';
import { liveDevices } from '../model/kernel/paths/sva.js';
import { vaHex } from '../model/kernel/types.js';
import { span } from '../model/kernel/config.js';
import type { KernelState } from '../model/kernel/state.js';
import type { Pfn } from '../model/kernel/types.js';
import type { Property } from './property.js';
import { type Link, linkKey, openOpsOf } from './reach.js';
import { type Reach, reachAt } from './reach_cache.js';

/** The table `l` lost is linked in the same mm at another address (mremap's move_normal_pmd / move_normal_pud). */
function movedWithin(now: Map<string, Link>, l: Link): boolean {
  for (const x of now.values()) if (x.mm === l.mm && x.level === l.level && x.pfn === l.pfn && x.ghost === l.ghost) return true;
  return false;
}

/** A table on its way to the allocator: in an mmu_gather's batch or an RCU callback (tlb_remove_table()). */
function queuedForFree(s: KernelState, pfn: Pfn): boolean {
  return Object.values(s.tasks).some((t) => t.gather?.tables.includes(pfn)) || s.rcu.callbacks.some((cb) => cb.tables.includes(pfn));
}

/**
 * A link an mm loses (its upper entry onto a table goes, or an entry above
 * it does) is charged to the operation of the actor whose step removed it:
 * a detach (an mshare sharer's unlink), an unshare (huge_pmd_unshare()),
 * free_pgtables(). When that operation returns, no usable
 * paging-structure-cache entry of the mm may still cache the table at the
 * address it lost, unless the mm links it there again. Inside the
 * operation the entry is allowed (research/tlb-kvm.md R1: the window); a
 * table freed, or queued to be freed (free_pgtables(), PT_RECLAIM), is
 * no-freed-table-reachable's to report when it is freed: this property is
 * about tables that live on elsewhere (a host's, another sharer's).
 */
/** The property over `reach` (reach_cache.ts): the registry's is incremental, tests also run it over the full reference. */
export const noStalePscAfterUnlinkWith = (reach: Reach): Property => ({
  id: 'no-stale-psc-after-unlink',
  statement: 'when a call that unlinked a page table that lives on from an mm (a detach, an unshare) returns, no usable PSC entry of that mm (a CPU\'s, or the IOMMU\'s of an SVA device bound to it) still caches the table where the mm no longer links it',
  rule: "an unlink flushes the paging-structure caches of the mm that lost the link, lazy CPUs included, before the call returns: arm64 flushes the walk cache when freed_tables || unshared_tables (c2ff4764e03e), x86 tlb_flush() passes freed_tables || unshared_tables so lazy CPUs get the IPI on unsharing (tlb_flush(), Lance Yang's sync-IPI series; docs/kernel-facts.md F5); mshare's unlink flushes with neither flag (safe only while the table cannot be reused before a full flush)",
  check({ s, event, mem, stepCache }) {
    const now = reach({ s, stepCache }).links();
    const prev = mem.links as Map<string, Link> | undefined;
    mem.links = now;
    const lost = ((mem.lost as Record<string, Link[]> | undefined) ??= {});
    if (prev && prev !== now) { // the same map: no link changed since the last step
      const gone: Link[] = [];
      for (const [k, l] of prev) if (!now.has(k)) gone.push(l);
      if (gone.length) for (const id of openOpsOf(s, event.actor)) (lost[id] ??= []).push(...gone);
    }
    const o = event.obs;
    if (o?.kind !== 'return') return null;
    const links = lost[o.opId] ?? [];
    delete lost[o.opId];
    const op = s.ghost.ops[o.opId];
    const call = op ? `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm}` : o.opId;
    for (const l of links) {
      if (now.has(linkKey(l))) continue; // linked there again
      const f = s.frames[l.pfn]!;
      if (f.state !== 'pagetable' || f.allocId !== l.ghost || queuedForFree(s, l.pfn)) continue; // freed or on its way: no-freed-table-reachable's
      const at = vaHex(l.prefix * span(s.config, l.level + 1));
      for (const cpu of s.cpus) {
        for (const p of cpu.psc) {
          if (p.level !== l.level || p.prefix !== l.prefix || p.pfn !== l.pfn || p.ghost !== l.ghost) continue;
          if (pscUsableFor(s, cpu, p.slot) !== l.mm) continue;
          // mremap moved the table within its own mm (paths/mremap_tables.ts): its flush of the old range
          // skips lazy CPUs (freed_tables = false), which catch up by tlb_gen before any user access, and
          // whatever frees the table later flushes this same mm, lazy CPUs included
          if (cpu.isLazy && op?.kind === 'mremap' && movedWithin(now, l)) continue;
          const lazy = cpu.isLazy && p.slot === cpu.loadedSlot ? ', lazy' : '';
          return { holder: 'PSC', message: `${call} returned while CPU${cpu.id} PCID slot ${p.slot} (${l.mm}${lazy}) still caches the ${LEVEL_NAME[l.level]} table at frame ${l.pfn} for ${at}, which ${l.mm} no longer links there (${f.lp || 'live table'})` };
        }
      }
      // the IOMMU of an SVA device bound to the mm (paths/sva.ts): reached only through arch_invalidate_secondary_tlbs()
      for (const dev of liveDevices(s)) {
        if (dev.mm !== l.mm || !dev.psc.some((p) => p.level === l.level && p.prefix === l.prefix && p.pfn === l.pfn && p.ghost === l.ghost)) continue;
        return { holder: 'device PSC', message: `${call} returned while ${dev.name}'s IOMMU PSC (bound to ${l.mm}) still caches the ${LEVEL_NAME[l.level]} table at frame ${l.pfn} for ${at}, which ${l.mm} no longer links there (${f.lp || 'live table'})` };
      }
    }
    return null;
  },
});

export const noStalePscAfterUnlink: Property = noStalePscAfterUnlinkWith(reachAt);
