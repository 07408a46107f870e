// A user load or store on the current CPU, as the hardware performs it
// (Intel SDM vol. 3, 4.10):
//
//   1. TLB hit in the loaded PCID with the needed permission: use it. A
//      store through an entry whose dirty bit is clear walks the tables
//      again to set D, and faults if the PTE no longer allows it.
//   2. Miss: walk from CR3 (through PSC entries), fill the TLB and PSC,
//      set A (and D on a store) in the PTE.
//   3. Not present or not permitted: #PF, which drops the TLB and PSC
//      entries for the address; do_user_addr_fault() runs and the access is retried,
//      or the task gets SIGSEGV.
//
// One hardware access is one step: a walk is not interruptible.
// read-value compares what it returns with the ideal memory.

import { step, type StepDef } from '../step.js';
import { span } from '../config.js';
import { hugeSubpage, hwWalk, type HwWalk } from '../pagetable.js';
import type { K } from '../step.js';
import type { Cpu, Frame, KernelState, Pte } from '../state.js';
import { dropTlbEntry, invalidateOnFault, tlbLookup } from '../tlb.js';
import type { MmId, Vpn } from '../types.js';
import type { FaultCtx } from './fault.js';

export interface AccessCtx {
  mm: MmId;
  opId: string;
  vpn: number;
  write: boolean;
}

function touch(k: K, c: AccessCtx, f: Frame): number {
  if (!c.write) return f.content;
  f.content = k.nextValue();
  return f.content;
}

/** Fill the TLB of `cpu` from the leaf entry `e` for `v` (replacing any entry for it). */
export function fillTlb(s: KernelState, cpu: Cpu, v: number, e: Pte): void {
  dropTlbEntry(s, cpu, v);
  cpu.tlb.push({ slot: cpu.loadedSlot, vpn: v as Vpn, pfn: e.pfn, writable: e.writable, dirty: e.dirty, ghost: e.ghost, filled: ++s.ghost.clock });
}

/**
 * Fill one huge TLB entry from the PMD leaf `e` (hwWalk's `sub` for `v`,
 * range starting at `base`): one TlbEntry per page of the range, tagged
 * `huge`, so every page the hardware would translate through it is seen.
 */
export function fillHugeTlb(s: KernelState, cpu: Cpu, base: number, e: Pte): void {
  dropTlbEntry(s, cpu, base);
  const filled = ++s.ghost.clock;
  for (let v = base; v < base + span(s.config, 2); v++) {
    const sub = hugeSubpage(s, e, v);
    cpu.tlb.push({ slot: cpu.loadedSlot, vpn: v as Vpn, pfn: sub.pfn, writable: e.writable, dirty: e.dirty, ghost: sub.ghost, filled, huge: base });
  }
}

/** Set A (and D) in the leaf the walk found and fill the TLB from it; returns the page's frame. */
function fillFromWalk(s: KernelState, cpu: Cpu, v: number, w: Extract<HwWalk, { kind: 'leaf' }>, write: boolean): Frame {
  w.pte.accessed = true;
  if (write) w.pte.dirty = true;
  if (w.huge === undefined) {
    fillTlb(s, cpu, v, w.pte);
    return s.frames[w.pte.pfn]!;
  }
  fillHugeTlb(s, cpu, w.huge, w.pte);
  return s.frames[w.sub!.pfn]!;
}

export const userAccess: StepDef<AccessCtx>[] = [
  step('user_access', function* (k, c) {
    for (;;) {
      const cpu = k.s.cpus[k.cpu]!;
      const hit = tlbLookup(cpu, c.vpn);
      if (hit && (!c.write || (hit.writable && hit.dirty))) {
        const value = touch(k, c, k.s.frames[hit.pfn]!);
        yield { id: 'user_access.tlb_hit', final: true, obs: { kind: 'access', opId: c.opId, mm: c.mm, vpn: c.vpn, write: c.write, value, ok: true } };
        return;
      }
      if (!(hit && c.write && !hit.writable)) {
        const w = hwWalk(k.s, cpu, c.vpn);
        if (w.kind === 'leaf' && !w.pte.protNone && (!c.write || w.pte.writable)) {
          const value = touch(k, c, fillFromWalk(k.s, cpu, c.vpn, w, c.write));
          yield { id: 'user_access.walk', final: true, obs: { kind: 'access', opId: c.opId, mm: c.mm, vpn: c.vpn, write: c.write, value, ok: true } };
          return;
        }
      }
      // #PF invalidates the TLB and paging-structure-cache entries for the faulting address (SDM 4.10.4.1)
      invalidateOnFault(k.s, cpu, cpu.loadedSlot, c.vpn);
      yield { id: 'user_access.page_fault' };
      const f: FaultCtx = { mm: c.mm, vpn: c.vpn, write: c.write, opId: c.opId };
      yield* k.run('do_user_addr_fault', f);
      if (f.segv) {
        yield { id: 'user_access.sigsegv', final: true }; // observed at lock_mm_and_find_vma.bad_area
        return;
      }
    }
  }),
];

/** A speculative walk by the hardware from the loaded CR3, lazy or not: fills the TLB and PSC, sets A. */
export function speculativeFill(k: K, vpn: number): void {
  const cpu = k.s.cpus[k.cpu]!;
  if (cpu.loadedMm === null) return;
  const w = hwWalk(k.s, cpu, vpn);
  if (w.kind !== 'leaf' || w.pte.protNone) return;
  fillFromWalk(k.s, cpu, vpn, w, false);
}
