// RCU-sched freeing of page-table pages (mm/mmu_gather.c
// tlb_remove_table_rcu() -> __tlb_remove_table()):
//
//   1. call_rcu() queued the tables after the TLB flush (tlb_table_flush).
//   2. The grace period ends only once every CPU that had interrupts off
//      when the callback was queued has turned them back on (an IRQs-off
//      walker, GUP-fast, is a read-side critical section), and every
//      actor that then held a spinlock or rwlock has dropped them all
//      (locks.ts: rcuReaders(), the callback's readers).
//   3. Then the tables are freed.
//
// When a grace period ends is a schedule choice: the `rcu` actor runs
// rcu_do_batch whenever the schedule picks it and a callback is ready.

import { step, type StepDef } from '../step.js';
import { freeFrame } from '../frames.js';
import { rcuReaders } from '../locks.js';
import type { KernelState, RcuCallback } from '../state.js';
import type { Pfn } from '../types.js';

/** Step 1, call_rcu(): queue `tables` behind the readers of this moment. */
export function callRcu(s: KernelState, tables: Pfn[]): void {
  const readers = rcuReaders(s);
  s.rcu.callbacks.push({ seq: ++s.rcu.seq, tables, ...(readers.length > 0 ? { readers } : {}) });
}

/** Step 2, the interrupts-off half: every CPU that had interrupts off at call_rcu() has turned them on since. */
export function irqsOffOver(s: KernelState, cb: RcuCallback): boolean {
  return s.cpus.every((cpu) => !cpu.irqsOff || cpu.irqOffSeq >= cb.seq);
}

/** Step 2: may the grace period covering `cb` end now? */
export function gracePeriodOver(s: KernelState, cb: RcuCallback): boolean {
  return cb.readers === undefined && irqsOffOver(s, cb);
}

export const readyCallback = (s: KernelState) => s.rcu.callbacks.find((cb) => gracePeriodOver(s, cb));

export const rcuDoBatch: StepDef<unknown>[] = [
  step('rcu_do_batch', function* (k) {
    const s = k.s;
    const cb = readyCallback(s);
    if (!cb) return;
    s.rcu.callbacks = s.rcu.callbacks.filter((x) => x !== cb);
    for (const p of cb.tables) freeFrame(s, s.frames[p]!); // __tlb_remove_table()
    yield { id: 'rcu_do_batch.__tlb_remove_table' };
  }),
];
