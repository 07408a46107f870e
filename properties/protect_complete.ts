import { tlbUsableFor } from '../model/kernel/tlb.js';
import { findVma } from '../model/kernel/vma.js';
import { protString, vaHex } from '../model/kernel/types.js';
import type { Property } from './property.js';

export const protectComplete: Property = {
  id: 'protect-complete',
  statement: 'when mprotect returns, every usable TLB entry for the range grants no more than the new protection',
  rule: 'change_pte_range records downgrades (pte_needs_flush), tlb_finish_mmu flushes them before return; research/tlb-kvm.md I4',
  check({ s, event }) {
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
