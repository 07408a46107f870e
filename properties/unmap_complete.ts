import { tlbUsableFor } from '../model/kernel/tlb.js';
import { vaHex } from '../model/kernel/types.js';
import type { Property } from './property.js';

export const unmapComplete: Property = {
  id: 'unmap-complete',
  statement: 'when munmap or madvise(MADV_DONTNEED) returns, no usable TLB entry of the process maps a frame the call removed',
  rule: 'tlb_finish_mmu flushes before the syscall returns, nested gathers flush the whole mm (commit 99baac21e458); research/tlb-kvm.md I3',
  check({ s, event }) {
    const o = event.obs;
    if (o?.kind !== 'return') return null;
    const op = s.ghost.ops[o.opId];
    if (!op || (op.kind !== 'munmap' && op.kind !== 'madvise')) return null;
    for (const cpu of s.cpus) {
      for (const e of cpu.tlb) {
        if (e.vpn < op.start || e.vpn >= op.end || !op.removed.includes(e.ghost)) continue;
        if (tlbUsableFor(s, cpu, e.slot) !== op.mm) continue;
        return { holder: 'TLB', message: `${op.kind} of ${vaHex(op.start)}+${op.end - op.start} in ${op.mm} returned while CPU${cpu.id} PCID slot ${e.slot} still maps ${vaHex(e.vpn)} -> frame ${e.pfn}` };
      }
    }
    return null;
  },
};
