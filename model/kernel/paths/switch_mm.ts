// Context switch of the user address space (arch/x86/mm/tlb.c), IRQs off
// throughout, so a flush IPI to this CPU waits until it is done:
//
//   1. is_lazy = false. Same mm: if it was not lazy, nothing to do; if it
//      was, read next->context.tlb_gen and flush the slot if it is behind.
//   2. loaded_mm = LOADED_MM_SWITCHING (should_flush_tlb() then IPIs us).
//   3. Set our bit in mm_cpumask(next): start receiving IPIs ...
//   4. ... then read next->context.tlb_gen (inc_mm_tlb_gen pairs with it).
//   5. choose_new_asid(): the slot holding next's ctx_id, flushed iff its
//      tlb_gen is behind; else the next slot round-robin, always flushed.
//   6. load_new_mm_cr3(): write CR3 with or without NOFLUSH, record
//      {ctx_id, tlb_gen} in the slot, loaded_mm = next.
//
// The previous mm's cpumask bit is left set (cleared lazily by
// flush_tlb_func step 1). Guarded by no-freed-frame-reachable and
// unmap-complete: a slot reused without the compare in step 5 revives
// entries a finished flush was meant to remove (usable rule, SPEC 5.2).

import { step, STOP_STEP, type StepDef } from '../step.js';
import type { Cpu } from '../state.js';
import { flushSlot } from '../tlb.js';
import type { MmId } from '../types.js';

export interface SwitchMmCtx {
  next: MmId;
  tlbGen?: number;
  asid?: number;
  needFlush?: boolean;
}

/** switch_mm_irqs_off(NULL, &init_mm, NULL): leave the user tables entirely. */
export function switchToInitMm(cpu: Cpu): void {
  cpu.isLazy = false;
  cpu.loadedMm = null;
  cpu.loadedSlot = -1;
  cpu.switching = false;
}

export const switchMmIrqsOff: StepDef<SwitchMmCtx>[] = [
  step('switch_mm_irqs_off.clear_lazy', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    const wasLazy = cpu.isLazy;
    cpu.isLazy = false;
    if (cpu.loadedMm !== c.next) return; // a real switch: go on with step 2
    if (!wasLazy) {
      yield { id: 'switch_mm_irqs_off.same_mm' };
      return STOP_STEP;
    }
    cpu.switching = true; // IRQs off, no user access until the compare below is done
    yield { id: 'switch_mm_irqs_off.clear_lazy' };
    const gen = k.s.mms[c.next]!.tlbGen; // smp_mb(); atomic64_read(&next->context.tlb_gen)
    const slot = cpu.slots[cpu.loadedSlot]!;
    if (slot.tlbGen !== gen) {
      slot.tlbGen = gen;
      flushSlot(cpu, cpu.loadedSlot);
    }
    cpu.switching = false;
    yield { id: 'switch_mm_irqs_off.lazy_catch_up' };
    return STOP_STEP;
  }),
  step('switch_mm_irqs_off.loaded_mm_switching', function* (k) {
    k.s.cpus[k.cpu]!.switching = true;
    yield { id: 'switch_mm_irqs_off.loaded_mm_switching' };
  }),
  step('switch_mm_irqs_off.cpumask_set_cpu', function* (k, c) {
    const mm = k.s.mms[c.next]!;
    if (!mm.cpumask.includes(k.cpu)) mm.cpumask = [...mm.cpumask, k.cpu].sort((a, b) => a - b);
    yield { id: 'switch_mm_irqs_off.cpumask_set_cpu' };
  }),
  step('switch_mm_irqs_off.read_tlb_gen', function* (k, c) {
    c.tlbGen = k.s.mms[c.next]!.tlbGen;
    yield { id: 'switch_mm_irqs_off.read_tlb_gen' };
  }),
  // choose_new_asid() only decides; load_new_mm_cr3() acts on it.
  step('choose_new_asid', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    const ctxId = k.s.mms[c.next]!.ctxId;
    const found = cpu.slots.findIndex((sl) => sl.ctxId === ctxId);
    if (found >= 0) {
      c.asid = found;
      c.needFlush = cpu.slots[found]!.tlbGen < c.tlbGen!;
    } else {
      c.asid = cpu.nextAsid;
      cpu.nextAsid = (cpu.nextAsid + 1) % cpu.slots.length;
      c.needFlush = true;
    }
  }),
  step('load_new_mm_cr3', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    const slot = cpu.slots[c.asid!]!;
    const reused = slot.ctxId === k.s.mms[c.next]!.ctxId; // a dormant slot of next, behind on tlb_gen
    if (c.needFlush) {
      slot.ctxId = k.s.mms[c.next]!.ctxId;
      slot.tlbGen = c.tlbGen!;
      flushSlot(cpu, c.asid!); // invalidate_user_asid() + CR3 without NOFLUSH
    }
    cpu.loadedSlot = c.asid!;
    cpu.loadedMm = c.next;
    cpu.switching = false;
    yield { id: !c.needFlush ? 'load_new_mm_cr3.noflush' : reused ? 'load_new_mm_cr3.flush_stale_slot' : 'load_new_mm_cr3.flush' };
  }),
];

/** enter_lazy_tlb(): keep CR3 loaded, only mark the CPU lazy. */
export const enterLazyTlb: StepDef<unknown>[] = [
  step('enter_lazy_tlb', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    if (cpu.loadedMm !== null) cpu.isLazy = true;
    cpu.curr = null;
    yield { id: 'enter_lazy_tlb' };
  }),
];
