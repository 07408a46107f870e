// Ghost bookkeeping read only by the properties: which frames (by
// allocation id) an operation takes away from a process. At invocation
// that is everything mapped in the range, by a present PTE or by a usable
// TLB entry; the zap adds whatever it clears later.

import { findPte } from './pagetable.js';
import type { KernelState } from './state.js';
import { tlbUsableFor } from './tlb.js';
import type { MmId } from './types.js';

export function mappedAllocIds(s: KernelState, mm: MmId, start: number, end: number): number[] {
  const ids = new Set<number>();
  const m = s.mms[mm]!;
  for (let v = start; v < end; v++) {
    const e = findPte(s, m, v)?.pte;
    if (e) ids.add(e.ghost);
  }
  for (const cpu of s.cpus) {
    for (const e of cpu.tlb) if (e.vpn >= start && e.vpn < end && tlbUsableFor(s, cpu, e.slot) === mm) ids.add(e.ghost);
  }
  return [...ids].sort((a, b) => a - b);
}
