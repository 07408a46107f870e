// Ghost bookkeeping read only by the properties: which processes see an
// operation's range (for a host range: every sharer, through its window),
// and what the range mapped when the operation was invoked, by a present
// PTE or by a usable TLB entry. The zap records what it clears itself
// (GhostOp.zapped).

import { mshareOfHost } from './mshare/msharefs.js';
import { LEVELS } from './config.js';
import { hugeSubpage, tableIndex } from './pagetable.js';
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

/**
 * The present PTE for `v` under the table `pgd`, walking live tables only:
 * an upper entry into a freed table (no-freed-table-reachable's finding,
 * reported by that property) maps nothing for the ghost, which must not
 * crash on it when that property is not checked.
 */
function livePte(s: KernelState, pgd: number, v: number) {
  let t = s.frames[pgd]!;
  for (let l = LEVELS; l >= 1; l--) {
    if (t.state !== 'pagetable') return null;
    const e = t.entries![tableIndex(s.config, v, l)];
    if (e?.huge) return hugeSubpage(s, e, v); // a hugetlb PMD leaf: the page's own translation
    if (!e || l === 1) return e && e.swap === undefined ? e : null; // a swap entry maps no frame
    t = s.frames[e.pfn]!;
  }
  return null;
}

export function mappedAtInvoke(s: KernelState, mm: MmId, start: number, end: number): GhostMapping[] {
  const at = ++s.ghost.clock;
  const out = new Map<string, GhostMapping>();
  const m = s.mms[mm]!;
  for (let v = start; v < end; v++) {
    const e = livePte(s, m.pgd, v);
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
