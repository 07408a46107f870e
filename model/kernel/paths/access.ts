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
import { hwWalk } from '../pagetable.js';
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
  dropTlbEntry(cpu, v);
  cpu.tlb.push({ slot: cpu.loadedSlot, vpn: v as Vpn, pfn: e.pfn, writable: e.writable, dirty: e.dirty, ghost: e.ghost, filled: ++s.ghost.clock });
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
          w.pte.accessed = true;
          if (c.write) w.pte.dirty = true;
          fillTlb(k.s, cpu, c.vpn, w.pte);
          const value = touch(k, c, k.s.frames[w.pte.pfn]!);
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
  w.pte.accessed = true;
  fillTlb(k.s, cpu, vpn, w.pte);
}
