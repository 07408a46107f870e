// flush_tlb_func(): the TLB-flush IPI handler, also run locally by the
// initiator (arch/x86/mm/tlb.c). A monotone catch-up protocol:
//
//   1. f->mm is not the loaded mm: the CPU was only left in mm_cpumask;
//      clear its bit and return without flushing (its entries are dormant,
//      flushed at the next switch-in by the tlb_gen compare).
//   2. loaded_mm is init_mm: nothing to do.
//   3. The CPU is lazy: switch_mm_irqs_off(NULL, &init_mm), which stops
//      speculative walks through freed tables; return.
//   4. f->new_tlb_gen <= local_tlb_gen, or mm_tlb_gen == local: done.
//   5. Partial flush only if f is a range and new_tlb_gen == local + 1 ==
//      mm_tlb_gen: flush_tlb_one_user() (INVLPG) on start, start + stride,
//      ... while below end, one stride apart (f->stride_shift); each drops
//      that page's leaf entry and the paging-structure-cache entries INVLPG
//      drops (tlb.ts flushTlbOne: those on the page's walk with AMD's TCE,
//      every one of the PCID on Intel), nothing else. Otherwise a full
//      flush of the loaded PCID (flush_tlb_local()).
//   6. local_tlb_gen = mm_tlb_gen (catch up completely).
//
// Guarded by no-freed-frame-reachable, no-freed-table-reachable,
// unmap-complete and protect-complete: a step done wrong leaves a usable
// stale entry behind once the initiator's wait returns.

import { step, STOP_STEP, type StepDef } from '../step.js';
import type { FlushInfo } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import { flushEverything, flushSlot, flushTlbOne } from '../tlb.js';
import { switchToInitMm } from './switch_mm.js';
import { fence } from '../store_buffer.js';

/** flush_tlb_info.new_tlb_gen of arch_tlbbatch_flush(): no generation to compare against (tlbbatch.ts). */
const TLB_GENERATION_INVALID = 0;

export interface FlushFuncCtx {
  info: FlushInfo;
  partial?: boolean;
  mmTlbGen?: number;
}

export const flushTlbFunc: StepDef<FlushFuncCtx>[] = [
  step('flush_tlb_func.check', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    const f = c.info;
    if (f.mm !== null && f.mm !== cpu.loadedMm) {
      const mm = k.s.mms[f.mm]!;
      mm.cpumask = mm.cpumask.filter((x) => x !== cpu.id); // step 1
      fence(cpu); // cpumask_clear_cpu() is a LOCK RMW
      yield { id: 'flush_tlb_func.cpumask_clear_cpu' };
      return STOP_STEP;
    }
    if (cpu.loadedMm === null) {
      yield { id: 'flush_tlb_func.check' }; // step 2
      return STOP_STEP;
    }
    if (cpu.isLazy) {
      switchToInitMm(cpu); // step 3
      yield { id: 'flush_tlb_func.switch_to_init_mm' };
      return STOP_STEP;
    }
    const local = cpu.slots[cpu.loadedSlot]!.tlbGen;
    const mmGen = k.s.mms[cpu.loadedMm]!.tlbGen;
    yield { id: 'flush_tlb_func.check' };
    if ((f.newTlbGen !== TLB_GENERATION_INVALID && f.newTlbGen <= local) || mmGen === local) return STOP_STEP; // step 4 (a reclaim batch flush carries TLB_GENERATION_INVALID)
    c.partial = f.end !== TLB_FLUSH_ALL && f.newTlbGen === local + 1 && f.newTlbGen === mmGen; // step 5
    c.mmTlbGen = mmGen;
  }),
  step('flush_tlb_func.flush', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    if (c.partial) {
      const { start, end, stride } = c.info;
      for (let v = start; k.decide('flush_tlb_func.next_stride', v < end, { addr: v, start, end, stride }); v += stride) flushTlbOne(k.s, cpu, cpu.loadedSlot, v); // flush_tlb_one_user()
    } else {
      flushSlot(cpu, cpu.loadedSlot); // flush_tlb_local()
    }
    yield { id: c.partial ? 'flush_tlb_func.flush_tlb_one_user' : 'flush_tlb_func.flush_tlb_local' };
  }),
  step('flush_tlb_func.catch_up', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.slots[cpu.loadedSlot]!.tlbGen = c.mmTlbGen!; // step 6
    yield { id: 'flush_tlb_func.catch_up' };
  }),
];

/** do_flush_tlb_all(): __flush_tlb_all() on this CPU, every PCID and PSC entry. */
export const doFlushTlbAll: StepDef<unknown>[] = [
  step('do_flush_tlb_all', function* (k) {
    flushEverything(k.s.cpus[k.cpu]!);
    yield { id: 'do_flush_tlb_all' };
  }),
];
