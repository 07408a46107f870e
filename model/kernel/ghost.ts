// Ghost bookkeeping read only by the properties: which processes see an
// operation's range (for a host range: every sharer, through its window),
// and what the range mapped when the operation was invoked, by a present
// PTE or by a usable TLB entry. The zap records what it clears itself
// (GhostOp.zapped).

import { mshareOfHost } from './mshare/msharefs.js';
import { findLeaf } from './pagetable.js';
import type { GhostAlias, GhostMapping, KernelState } from './state.js';
import { tlbUsableFor } from './tlb.js';
import type { MmId } from './types.js';

export function aliasesOf(s: KernelState, mm: MmId, start: number, end: number): GhostAlias[] {
  const out: GhostAlias[] = [{ mm, start, end, toOp: 0 }];
  const f = mshareOfHost(s, mm);
  for (const sh of f?.sharers ?? []) {
    const toOp = f!.start - sh.start;
    out.push({ mm: sh.mm, start: start - toOp, end: end - toOp, toOp });
  }
  return out;
}

export function mappedAtInvoke(s: KernelState, mm: MmId, start: number, end: number): GhostMapping[] {
  const at = ++s.ghost.clock;
  const out = new Map<string, GhostMapping>();
  const m = s.mms[mm]!;
  for (let v = start; v < end; v++) {
    const e = findLeaf(s, m, v)?.pte;
    if (e) out.set(`${v}:${e.ghost}`, { vpn: v, ghost: e.ghost, at });
  }
  for (const a of aliasesOf(s, mm, start, end)) {
    for (const cpu of s.cpus) {
      for (const e of cpu.tlb) {
        if (e.vpn < a.start || e.vpn >= a.end || tlbUsableFor(s, cpu, e.slot) !== a.mm) continue;
        const v = e.vpn + a.toOp;
        out.set(`${v}:${e.ghost}`, { vpn: v, ghost: e.ghost, at });
      }
    }
  }
  return [...out.values()].sort((a, b) => a.vpn - b.vpn || a.ghost - b.ghost);
}
