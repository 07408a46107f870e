import { aliasesOf } from '../model/kernel/ghost.js';
import { tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import { findVma } from '../model/kernel/vma.js';
import type { GhostMapping, GhostOp, KernelState } from '../model/kernel/state.js';
import type { Property } from './property.js';

const UNMAPS = ['munmap', 'madvise', 'mshare_unmap', 'mshare_map'];

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

export const unmapComplete: Property = {
  id: 'unmap-complete',
  statement: 'when munmap, MADV_DONTNEED, an mshare unmap or a detach returns, no usable TLB entry of an affected process still holds a translation it removed',
  rule: 'tlb_finish_mmu flushes before the syscall returns, nested gathers flush the whole mm (commit 99baac21e458); a host-side change must reach every sharer (research/mshare.md hazard 1); research/tlb-kvm.md I3',
  check({ s, event }) {
    const o = event.obs;
    if (o?.kind !== 'return' || o.result === 'EINVAL') return null; // a call that failed its checks removed nothing
    const op = s.ghost.ops[o.opId];
    if (!op || !UNMAPS.includes(op.kind)) return null;
    const removed = removedBy(s, op);
    // every process that saw the range when the call began or sees it now
    const aliases = [...op.aliases, ...aliasesOf(s, op.mm, op.start, op.end)];
    for (const a of aliases) {
      for (const cpu of s.cpus) {
        for (const e of cpu.tlb) {
          if (e.vpn < a.start || e.vpn >= a.end || tlbUsableFor(s, cpu, e.slot) !== a.mm) continue;
          const v = e.vpn + a.toOp;
          if (!removed.some((m) => m.vpn === v && m.ghost === e.ghost && e.filled < m.at)) continue;
          const who = a.mm === op.mm ? '' : ` (sharer ${a.mm})`;
          return { holder: 'TLB', message: `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm} returned while CPU${cpu.id} PCID slot ${e.slot}${who} still maps ${vaHex(e.vpn)} -> frame ${e.pfn}` };
        }
      }
    }
    return null;
  },
};
