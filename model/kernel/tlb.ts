// The CPU's TLB and paging-structure caches, tagged by PCID slot, and the
// usable-translation rule of SPEC 5.2.
//
// An entry in slot s on CPU c for mm m is usable if
//   (a) s is the loaded slot and c is neither lazy nor switching, or
//   (b) slot s still belongs to m and its tlb_gen equals m's, because a
//       switch-in or a return from lazy mode would then not flush it
//       (choose_new_asid, switch_mm_irqs_off).
// PSC entries follow the same rule and, in addition, every PSC entry of a
// lazy CPU's loaded slot is usable: the CPU may walk speculatively through
// them (commit 2ff6ddf19c0e).

import { tablePrefix } from './pagetable.js';
import type { Cpu, KernelState, Mm, TlbEntry } from './state.js';
import type { MmId } from './types.js';

export function mmOfCtx(s: KernelState, ctxId: number): Mm | null {
  for (const id in s.mms) if (s.mms[id]!.ctxId === ctxId) return s.mms[id]!;
  return null;
}

/** The mm whose TLB entries in `slot` of `cpu` are usable, or null. */
export function tlbUsableFor(s: KernelState, cpu: Cpu, slot: number): MmId | null {
  const sl = cpu.slots[slot]!;
  const mm = mmOfCtx(s, sl.ctxId);
  if (!mm) return null;
  const active = slot === cpu.loadedSlot && cpu.loadedMm === mm.id && !cpu.isLazy && !cpu.switching;
  if (active || sl.tlbGen === mm.tlbGen) return mm.id;
  return null;
}

/** The mm whose PSC entries in `slot` of `cpu` are usable, or null. */
export function pscUsableFor(s: KernelState, cpu: Cpu, slot: number): MmId | null {
  const m = tlbUsableFor(s, cpu, slot);
  if (m) return m;
  if (slot !== cpu.loadedSlot) return null;
  return mmOfCtx(s, cpu.slots[slot]!.ctxId)?.id ?? null;
}

export function tlbLookup(cpu: Cpu, v: number): TlbEntry | undefined {
  return cpu.tlb.find((e) => e.slot === cpu.loadedSlot && e.vpn === v);
}

/** INVLPG: the TLB entry for `v` and the PSC entries used to translate it, in `slot`. */
export function flushTlbOne(s: KernelState, cpu: Cpu, slot: number, v: number): void {
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === slot && e.vpn === v));
  cpu.psc = cpu.psc.filter((p) => !(p.slot === slot && p.prefix === tablePrefix(s.config, v, p.level)));
}

/** Drop only the TLB entry for `v` (what a #PF does for the faulting address). */
export function dropTlbEntry(cpu: Cpu, v: number): void {
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === cpu.loadedSlot && e.vpn === v));
}

/** A CR3 write without NOFLUSH, or INVPCID single-context: everything in `slot`. */
export function flushSlot(cpu: Cpu, slot: number): void {
  cpu.tlb = cpu.tlb.filter((e) => e.slot !== slot);
  cpu.psc = cpu.psc.filter((p) => p.slot !== slot);
}

/** __flush_tlb_all(): every slot, every PSC entry. */
export function flushEverything(cpu: Cpu): void {
  cpu.tlb = [];
  cpu.psc = [];
}
