// Context switch of the user address space (arch/x86/mm/tlb.c,
// switch_mm_irqs_off() as mainline has it after fea4e317f9e7 and
// 83b0177a6c48), IRQs off throughout, so a flush IPI to this CPU waits
// until it is done. loaded_mm and is_lazy are x86-TSO variables
// (store_buffer.ts): their stores sit in this CPU's store buffer until a
// fence or a hardware drain.
//
//   1. If was lazy, store is_lazy = false. Same mm: if it was not lazy,
//      nothing to do; if it was, smp_mb(), read next->context.tlb_gen and
//      flush the slot if it is behind.
//   2. Store loaded_mm = LOADED_MM_SWITCHING (should_flush_tlb() then IPIs
//      us, once the store is visible).
//   3. If our bit in mm_cpumask(next) is clear, cpumask_set_cpu() (a LOCK
//      RMW, a full barrier): start receiving IPIs ...
//   4. ... else smp_mb(): the bit is already set when this CPU ran next
//      before (209954cbc7d0 clears it lazily), and only this fence orders
//      the store of step 2 before the load of step 5 (83b0177a6c48).
//   5. Read next->context.tlb_gen (inc_mm_tlb_gen pairs with it): either
//      this read sees the new tlb_gen or should_flush_tlb() sees step 2.
//   6. choose_new_asid(): the slot holding next's ctx_id, flushed iff its
//      tlb_gen is behind; else the next slot round-robin, always flushed.
//   7. load_new_mm_cr3(): write CR3 (serializing: drains the buffer) with
//      or without NOFLUSH, record {ctx_id, tlb_gen} in the slot, then
//      store loaded_mm = next.
//
// The previous mm's cpumask bit is left set (cleared lazily by
// flush_tlb_func step 1). Guarded by no-freed-frame-reachable and
// unmap-complete: a slot reused without the compare in step 6, or a
// tlb_gen read that neither sees the increment nor is seen by the flusher
// (step 4 or should_flush_tlb's SWITCHING check missing), revives entries
// a finished flush was meant to remove (usable rule, SPEC 5.2).

import { step, STOP_STEP, type StepDef } from '../step.js';
import type { Cpu } from '../state.js';
import { fence, LOADED_MM_SWITCHING, storeIsLazy, storeLoadedMm } from '../store_buffer.js';
import { flushSlot } from '../tlb.js';
import type { MmId } from '../types.js';

export interface SwitchMmCtx {
  next: MmId;
  tlbGen?: number;
  asid?: number;
  needFlush?: boolean;
  /** Our bit in mm_cpumask(next) was already set: the smp_mb() branch of step 4. */
  bitWasSet?: boolean;
}

/**
 * switch_mm_irqs_off(NULL, &init_mm, NULL): leave the user tables entirely,
 * in one step: is_lazy = false, loaded_mm = SWITCHING, smp_mb() (next is
 * init_mm, so no cpumask_set_cpu), the CR3 write, loaded_mm = init_mm (left
 * in the store buffer).
 */
export function switchToInitMm(cpu: Cpu): void {
  if (cpu.isLazy) storeIsLazy(cpu, false);
  storeLoadedMm(cpu, LOADED_MM_SWITCHING);
  fence(cpu);
  cpu.loadedSlot = -1;
  storeLoadedMm(cpu, null);
}

export const switchMmIrqsOff: StepDef<SwitchMmCtx>[] = [
  step('switch_mm_irqs_off.clear_lazy', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    const wasLazy = cpu.isLazy;
    if (wasLazy) storeIsLazy(cpu, false);
    if (cpu.loadedMm !== c.next) return; // a real switch: go on with step 2
    if (!wasLazy) {
      yield { id: 'switch_mm_irqs_off.same_mm' };
      return STOP_STEP;
    }
    cpu.switching = true; // own view only (loaded_mm stays next): no user access until the compare below is done
    yield { id: 'switch_mm_irqs_off.clear_lazy' };
    fence(cpu); // smp_mb(): the is_lazy store before the tlb_gen load
    yield { id: 'switch_mm_irqs_off.lazy_smp_mb' };
    const gen = k.s.mms[c.next]!.tlbGen; // atomic64_read(&next->context.tlb_gen)
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
    storeLoadedMm(k.s.cpus[k.cpu]!, LOADED_MM_SWITCHING);
    yield { id: 'switch_mm_irqs_off.loaded_mm_switching' };
  }),
  // cpumask_test_cpu() is a plain read; only a clear bit is set, with a LOCK RMW (step 3).
  step('switch_mm_irqs_off.cpumask_set_cpu', function* (k, c) {
    const mm = k.s.mms[c.next]!;
    c.bitWasSet = mm.cpumask.includes(k.cpu);
    if (c.bitWasSet) return;
    mm.cpumask = [...mm.cpumask, k.cpu].sort((a, b) => a - b);
    fence(k.s.cpus[k.cpu]!);
    yield { id: 'switch_mm_irqs_off.cpumask_set_cpu' };
  }),
  // The else branch of step 4 (83b0177a6c48).
  step('switch_mm_irqs_off.smp_mb', function* (k, c) {
    if (!c.bitWasSet) return;
    fence(k.s.cpus[k.cpu]!);
    yield { id: 'switch_mm_irqs_off.smp_mb' };
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
    fence(cpu); // the CR3 write serializes
    if (c.needFlush) {
      slot.ctxId = k.s.mms[c.next]!.ctxId;
      slot.tlbGen = c.tlbGen!;
      flushSlot(cpu, c.asid!); // invalidate_user_asid() + CR3 without NOFLUSH
    }
    cpu.loadedSlot = c.asid!;
    storeLoadedMm(cpu, c.next); // smp_store_release(): after the CR3 write, buffered
    yield { id: !c.needFlush ? 'load_new_mm_cr3.noflush' : reused ? 'load_new_mm_cr3.flush_stale_slot' : 'load_new_mm_cr3.flush' };
  }),
];

/**
 * enter_lazy_tlb(): keep CR3 loaded, only mark the CPU lazy (a plain
 * store). The idle task then enters do_idle(), whose
 * __current_set_polling() is arch_set_bit(), a LOCK RMW: the store is
 * visible to other CPUs from that step on, or earlier if the hardware
 * drains it.
 */
export const enterLazyTlb: StepDef<unknown>[] = [
  step('enter_lazy_tlb', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    if (cpu.loadedMm !== null) storeIsLazy(cpu, true);
    cpu.curr = null;
    yield { id: 'enter_lazy_tlb' };
  }),
  step('do_idle.__current_set_polling', function* (k) {
    fence(k.s.cpus[k.cpu]!);
    yield { id: 'do_idle.__current_set_polling' };
  }),
];
