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
//
// Invalidation keeps leaf (TLB) and paging-structure-cache entries apart,
// as the SDM does: INVLPG (flushTlbOne) drops one page's leaf entries but
// every PSC entry of the PCID (on AMD with EFER.TCE only those on the
// page's walk, config `tce`); a #PF (invalidateOnFault) only what the
// faulting address would use; a CR3 write or INVPCID single-context
// (flushSlot) the whole PCID; __flush_tlb_all() and INVLPGB's flush-all
// (flushEverything) every PCID.

import { span } from './config.js';
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

/**
 * INVLPG v in `slot`. Intel (SDM vol. 3, 4.10.4.1): invalidates the TLB
 * entries for the page of v in that PCID, and ALL paging-structure-cache
 * entries of that PCID, whatever linear address they map. AMD with
 * EFER.TCE, which init_amd() sets whenever the CPU has X86_FEATURE_TCE
 * (config `tce`, APM vol. 2 "Translation Cache Extension"): only the
 * paging-structure entries on the walk to v. Leaf entries of other pages
 * stay either way: a range flush has to issue one INVLPG per page it means
 * to drop (flush_tlb_func(), one per stride), and with TCE also one per
 * table it frees (pte_free_tlb() widens the range by the table's start).
 */
export function flushTlbOne(s: KernelState, cpu: Cpu, slot: number, v: number): void {
  if (s.config.tce) return invalidateOnFault(s, cpu, slot, v);
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === slot && covers(s, e, v)));
  cpu.psc = cpu.psc.filter((p) => p.slot !== slot);
}

/**
 * What a #PF invalidates (SDM 4.10.4.1, page-fault exceptions): the TLB
 * entries for the faulting address and only the paging-structure-cache
 * entries that would be used to translate it, in the current PCID.
 */
export function invalidateOnFault(s: KernelState, cpu: Cpu, slot: number, v: number): void {
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === slot && covers(s, e, v)));
  cpu.psc = cpu.psc.filter((p) => !(p.slot === slot && p.prefix === tablePrefix(s.config, v, p.level)));
}

/**
 * A TLB entry translates `v`: its page, or any page of the PMD range a
 * huge entry covers (the model keeps one TlbEntry per page of a huge
 * entry, tagged with the range's first page; every invalidation of one
 * page of the range drops all of them, as it drops the one 2M entry).
 */
export function covers(s: KernelState, e: TlbEntry, v: number): boolean {
  return e.vpn === v || (e.huge !== undefined && v >= e.huge && v < e.huge + span(s.config, 2));
}

/** Drop only the TLB entry for `v` (what a #PF does for the faulting address). */
export function dropTlbEntry(s: KernelState, cpu: Cpu, v: number): void {
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === cpu.loadedSlot && covers(s, e, v)));
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

/**
 * INVLPGB for one page of `slot` on one CPU (AMD APM INVLPGB; the kernel's
 * invlpgb_flush_user_nr_nosync()): the leaf entry, and, unless the kernel
 * asked for final translations only (INVLPGB_FLAG_FINAL_ONLY, set when
 * !freed_tables), the paging-structure-cache entries on v's walk. Whether
 * the hardware drops more PSC entries than v's is not modelled (the weaker
 * reading).
 */
export function invlpgbOne(s: KernelState, cpu: Cpu, slot: number, v: number, finalOnly: boolean): void {
  if (!finalOnly) return invalidateOnFault(s, cpu, slot, v); // the leaf and the walk's PSC entries, as a #PF drops them
  cpu.tlb = cpu.tlb.filter((e) => !(e.slot === slot && covers(s, e, v)));
}
