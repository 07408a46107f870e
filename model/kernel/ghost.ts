// Ghost bookkeeping read only by the properties: what an operation's
// range mapped when it was invoked, by a present PTE or by a usable TLB
// entry. The zap records what it clears itself (GhostOp.zapped).

import { findPte } from './pagetable.js';
import type { GhostMapping, KernelState } from './state.js';
import { tlbUsableFor } from './tlb.js';
import type { MmId } from './types.js';

export function mappedAtInvoke(s: KernelState, mm: MmId, start: number, end: number): GhostMapping[] {
  const at = ++s.ghost.clock;
  const out = new Map<string, GhostMapping>();
  const m = s.mms[mm]!;
  for (let v = start; v < end; v++) {
    const e = findPte(s, m, v)?.pte;
    if (e) out.set(`${v}:${e.ghost}`, { vpn: v, ghost: e.ghost, at });
  }
  for (const cpu of s.cpus) {
    for (const e of cpu.tlb) {
      if (e.vpn >= start && e.vpn < end && tlbUsableFor(s, cpu, e.slot) === mm) out.set(`${e.vpn}:${e.ghost}`, { vpn: e.vpn, ghost: e.ghost, at });
    }
  }
  return [...out.values()].sort((a, b) => a.vpn - b.vpn || a.ghost - b.ghost);
}
