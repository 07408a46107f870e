import { tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import { findVma } from '../model/kernel/vma.js';
import type { GhostMapping, GhostOp, KernelState, TlbEntry } from '../model/kernel/state.js';
import type { Property } from './property.js';

/**
 * What the call took away: every translation it cleared itself, and what
 * the range mapped when it was invoked, for pages still covered by a VMA
 * when it returns. A page whose VMA a concurrent munmap detached is that
 * munmap's to flush, inside its own window (madvise then fails with
 * ENOMEM and promises nothing for it).
 */
export function removedBy(s: KernelState, op: GhostOp): GhostMapping[] {
  const mm = s.mms[op.mm]!;
  return [...op.zapped, ...op.mappedAtInvoke.filter((m) => findVma(mm, m.vpn))];
}

/** An entry filled before the translation was taken away (a shared file page may be mapped again later, legitimately). */
const staleFor = (e: TlbEntry, removed: GhostMapping[]) => removed.some((m) => m.vpn === e.vpn && m.ghost === e.ghost && e.filled < m.at);

export const unmapComplete: Property = {
  id: 'unmap-complete',
  statement: 'when munmap or madvise(MADV_DONTNEED) returns, no usable TLB entry of the process still holds a translation the call removed',
  rule: 'tlb_finish_mmu flushes before the syscall returns, nested gathers flush the whole mm (commit 99baac21e458); research/tlb-kvm.md I3',
  check({ s, event }) {
    const o = event.obs;
    if (o?.kind !== 'return') return null;
    const op = s.ghost.ops[o.opId];
    if (!op || (op.kind !== 'munmap' && op.kind !== 'madvise')) return null;
    const removed = removedBy(s, op);
    for (const cpu of s.cpus) {
      for (const e of cpu.tlb) {
        if (e.vpn < op.start || e.vpn >= op.end || !staleFor(e, removed)) continue;
        if (tlbUsableFor(s, cpu, e.slot) !== op.mm) continue;
        return { holder: 'TLB', message: `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm} returned while CPU${cpu.id} PCID slot ${e.slot} still maps ${vaHex(e.vpn)} -> frame ${e.pfn}` };
      }
    }
    return null;
  },
};
