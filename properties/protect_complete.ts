import type { KernelState } from '../model/kernel/state.js';
import { tableIndex } from '../model/kernel/pagetable.js';
import { tlbUsableFor } from '../model/kernel/tlb.js';
import { findVma } from '../model/kernel/vma.js';
import { protString, vaHex } from '../model/kernel/types.js';
import type { Finding, Property, StepEvent } from './property.js';
import { reachedTables } from './reach.js';

/** A PTE a NUMA pass made PROT_NONE: its table, index, the page, and the ghost clock then. */
interface NumaMark {
  table: number;
  index: number;
  vpn: number;
  mm: string;
  ghost: number;
  at: number;
}

/**
 * task_numa_work() -> change_prot_numa() makes present PTEs PROT_NONE and
 * flushes them (x86 pte_needs_flush(): present -> not present) in
 * tlb_finish_mmu() before mmap_read_unlock(). The PTEs each pass marked
 * are taken from its own PTE writes; when the pass drops mmap_lock, no
 * usable TLB entry filled before the mark may still translate a marked PTE
 * that is still PROT_NONE, in any mm whose page tables reach it (a sharer
 * whose scan changes the host's PTEs, research/mshare.md hazard 14).
 */
function numaComplete(s: KernelState, event: StepEvent, mem: Record<string, unknown>): Finding | null {
  const passes = ((mem.numa as Record<string, NumaMark[]> | undefined) ??= {});
  if (event.id === 'task_numa_work.mmap_read_lock') passes[event.actor] = [];
  const marks = passes[event.actor];
  if (!marks) return null;
  for (const n of event.notes) {
    if (n.kind !== 'pte-write' || n.table === null || n.mm === null) continue;
    const vpn = Number(n.what.replace(/^pte /, ''));
    const index = tableIndex(s.config, vpn, 1);
    const e = s.frames[n.table]!.entries?.[index];
    if (e?.protNone && !e.migration && e.swap === undefined) marks.push({ table: n.table, index, vpn, mm: n.mm, ghost: e.ghost, at: s.ghost.clock });
  }
  if (event.id !== 'task_numa_work.mmap_read_unlock') return null;
  delete passes[event.actor];
  const tables = reachedTables(s);
  for (const m of marks) {
    const t = tables.get(m.table);
    const e = t && s.frames[m.table]!.entries![m.index];
    if (!t || !e?.protNone || e.ghost !== m.ghost) continue; // restored (do_numa_page) or changed since: not this pass's to answer for
    for (const r of t.by) {
      const vpn = r.base + m.index;
      for (const cpu of s.cpus) {
        for (const x of cpu.tlb) {
          if (x.vpn !== vpn || x.ghost !== m.ghost || x.filled > m.at || tlbUsableFor(s, cpu, x.slot) !== r.mm) continue;
          const who = r.mm === m.mm ? r.mm : `${r.mm}, whose page tables reach ${m.mm}'s PTE`;
          return { holder: 'TLB', message: `task_numa_work in ${m.mm} dropped mmap_lock after making ${vaHex(m.vpn)} PROT_NONE while CPU${cpu.id} PCID slot ${x.slot} (${who}) still grants ${x.writable ? 'rw' : 'r'} on ${vaHex(vpn)}` };
        }
      }
    }
  }
  return null;
}

export const protectComplete: Property = {
  id: 'protect-complete',
  statement: 'when mprotect returns, every usable TLB entry for the range grants no more than the new protection; when a NUMA scan drops mmap_lock, no usable TLB entry of any mm reaching a PTE it made PROT_NONE still translates it',
  rule: 'change_pte_range() records downgrades and present -> PROT_NONE (pte_needs_flush()), tlb_finish_mmu() flushes them before mprotect returns and before task_numa_work() drops mmap_lock; docs/kernel-facts.md F4',
  check({ s, event, mem }) {
    const numa = numaComplete(s, event, mem);
    if (numa) return numa;
    const o = event.obs;
    if (o?.kind !== 'return') return null;
    const op = s.ghost.ops[o.opId];
    if (!op || op.kind !== 'mprotect' || !op.prot) return null;
    for (const cpu of s.cpus) {
      for (const e of cpu.tlb) {
        if (e.vpn < op.start || e.vpn >= op.end) continue;
        if (tlbUsableFor(s, cpu, e.slot) !== op.mm) continue;
        // Only pages this call protected and nobody changed since it dropped mmap_lock.
        const vma = findVma(s.mms[op.mm]!, e.vpn);
        if (!vma || vma.prot.r !== op.prot.r || vma.prot.w !== op.prot.w) continue;
        if ((e.writable && !op.prot.w) || !op.prot.r) {
          return { holder: 'TLB', message: `mprotect(${vaHex(op.start)}, ${op.end - op.start}, ${protString(op.prot)}) in ${op.mm} returned while CPU${cpu.id} PCID slot ${e.slot} still grants ${e.writable ? 'rw' : 'r'} on ${vaHex(e.vpn)}` };
        }
      }
    }
    return null;
  },
};
