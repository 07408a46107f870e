import { span } from '../model/kernel/config.js';
import { aliasesOf } from '../model/kernel/ghost.js';
import { findLeaf } from '../model/kernel/pagetable.js';
import { tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import { findVma } from '../model/kernel/vma.js';
import type { GhostAlias, GhostMapping, GhostOp, KernelState } from '../model/kernel/state.js';
import type { Property } from './property.js';
import { reachedTables } from './reach.js';
import { liveAtc } from '../model/kernel/paths/sva.js';

// mremap: its source range (paths/mremap.ts step 9): every translation moved away, or zapped, is gone
const UNMAPS = ['munmap', 'madvise', 'mshare_unmap', 'mshare_map', 'mremap'];

/**
 * What the call took away: every translation it cleared itself, and what
 * the range mapped when it was invoked. For madvise only pages still
 * covered by a VMA when it returns: a page whose VMA a concurrent munmap
 * detached is that munmap's to flush, inside its own window (madvise then
 * fails with ENOMEM and promises nothing for it).
 */
export function removedBy(s: KernelState, op: GhostOp): GhostMapping[] {
  const mm = s.mms[op.mm]!;
  const atInvoke = op.kind === 'madvise' ? op.mappedAtInvoke.filter((m) => findVma(mm, m.vpn)) : op.mappedAtInvoke;
  return [...op.zapped, ...(op.kind === 'mshare_map' ? [] : atInvoke)];
}

/**
 * The processes whose own page tables reach the op's range, whatever
 * i_mmap says: every other mm that reaches one of the op mm's tables over
 * the range (a sharer's PGD entry onto the host's PUD table, a PUD entry
 * onto a hugetlb-shared PMD table), through any chain of links, at the
 * address it sees the table at.
 */
export function tableAliases(s: KernelState, mm: string, start: number, end: number): GhostAlias[] {
  const out = new Map<string, GhostAlias>();
  for (const t of reachedTables(s).values()) {
    const cover = span(s.config, t.level + 1);
    for (const own of t.by) {
      if (own.mm !== mm) continue;
      const lo = Math.max(start, own.base);
      const hi = Math.min(end, own.base + cover);
      if (lo >= hi) continue;
      for (const r of t.by) {
        if (r.mm === mm) continue;
        const toOp = own.base - r.base;
        const a = { mm: r.mm, start: lo - toOp, end: hi - toOp, toOp };
        out.set(`${a.mm}:${a.start}:${a.end}:${toOp}`, a);
      }
    }
  }
  return [...out.values()];
}

/**
 * A call of `mm` itself, other than `opId` and still open, cleared the
 * PTE behind the entry. Then the entry is that call's to flush before it
 * returns (checked when it does), not the concern of a call in another mm
 * whose tables merely reached the range: when P0 unshares a hugetlb PMD
 * table (huge_pmd_unshare()) while P1's own munmap clears P1's PTE in it,
 * P0's munmap removed nothing from P1, and the kernel's nested-flush rule
 * (mm_tlb_flush_nested()) is per mm.
 */
function clearedByOwnOpenOp(s: KernelState, mm: string, opId: string, e: { vpn: number; ghost: number }): boolean {
  for (const [id, op] of Object.entries(s.ghost.ops)) {
    if (id === opId || !op.open || op.mm !== mm) continue;
    if (op.zapped.some((m) => m.vpn === e.vpn && m.ghost === e.ghost)) return true;
  }
  return false;
}

export const unmapComplete: Property = {
  id: 'unmap-complete',
  statement: 'when munmap, MADV_DONTNEED, an mshare unmap or a detach returns, no usable TLB entry of an affected process still holds a translation it removed; the affected processes include every mm whose page tables reached the range, in i_mmap or not',
  rule: 'tlb_finish_mmu() flushes before the syscall returns, nested gathers flush the whole mm (commit 99baac21e458); a host-side change must reach every sharer, also one still linked but gone from i_mmap (docs/mshare-hazards.md 1, 6); docs/kernel-facts.md F3',
  check({ s, event, mem }) {
    const o = event.obs;
    // The mms the page tables link to the range when the call begins: kept until it returns.
    const atInvoke = ((mem.atInvoke as Record<string, GhostAlias[]> | undefined) ??= {});
    if (o?.kind === 'invoke') {
      const op = s.ghost.ops[o.op.id];
      if (op && UNMAPS.includes(op.kind)) atInvoke[o.op.id] = tableAliases(s, op.mm, op.start, op.end);
      return null;
    }
    if (o?.kind !== 'return' || o.result === 'EINVAL') return null; // a call that failed its checks removed nothing
    const op = s.ghost.ops[o.opId];
    if (!op || !UNMAPS.includes(op.kind)) return null;
    if (op.kind === 'mremap' && o.result !== 'ok') return null; // -EFAULT (no VMA at the first page) before anything moved
    const removed = removedBy(s, op);
    // every process that saw the range when the call began or sees it now
    const aliases = [...op.aliases, ...aliasesOf(s, op.mm, op.start, op.end)];
    // every process whose page tables reached it then or reach it now: it
    // lost the translation only if its own tables no longer give it
    const linked = [...(atInvoke[o.opId] ?? []), ...tableAliases(s, op.mm, op.start, op.end)];
    delete atInvoke[o.opId];
    const stale = (a: GhostAlias, byTables: boolean) => {
      for (const cpu of s.cpus) {
        for (const e of cpu.tlb) {
          if (e.vpn < a.start || e.vpn >= a.end || tlbUsableFor(s, cpu, e.slot) !== a.mm) continue;
          const v = e.vpn + a.toOp;
          if (!removed.some((m) => m.vpn === v && m.ghost === e.ghost && e.filled < m.at)) continue;
          if (byTables && findLeaf(s, s.mms[a.mm]!, e.vpn)?.pte.ghost === e.ghost) continue; // its tables still map it: not removed from this mm
          if (byTables && clearedByOwnOpenOp(s, a.mm, o.opId, e)) continue; // that mm's own call cleared it and has not returned: its window
          const who = a.mm === op.mm ? '' : byTables ? ` (${a.mm}, whose page tables reach the range)` : ` (sharer ${a.mm})`;
          return { holder: 'TLB' as const, message: `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm} returned while CPU${cpu.id} PCID slot ${e.slot}${who} still maps ${vaHex(e.vpn)} -> frame ${e.pfn}` };
        }
      }
      // an SVA device's ATC is a TLB of the mm it is bound to (paths/sva.ts): the same test
      for (const { dev, e } of liveAtc(s)) {
        if (dev.mm !== a.mm || e.vpn < a.start || e.vpn >= a.end) continue;
        const v = e.vpn + a.toOp;
        if (!removed.some((m) => m.vpn === v && m.ghost === e.ghost && e.filled < m.at)) continue;
        if (byTables && findLeaf(s, s.mms[a.mm]!, e.vpn)?.pte.ghost === e.ghost) continue;
        const who = a.mm === op.mm ? '' : byTables ? ` (bound to ${a.mm}, whose page tables reach the range)` : ` (bound to sharer ${a.mm})`;
        return { holder: 'device TLB' as const, message: `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm} returned while ${dev.name}'s ATC${who} still maps ${vaHex(e.vpn)} -> frame ${e.pfn}` };
      }
      return null;
    };
    for (const a of aliases) {
      const f = stale(a, false);
      if (f) return f;
    }
    for (const a of linked) {
      const f = stale(a, true);
      if (f) return f;
    }
    return null;
  },
};
