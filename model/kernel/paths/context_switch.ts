// context_switch() (kernel/sched/core.c), IRQs off from __schedule() to
// finish_task_switch(), so a flush IPI sent meanwhile runs after
// finish_task_switch() turns them back on:
//
//   1. local_irq_disable() (__schedule(), before rq_lock()).
//   2. To a kernel thread (next->mm == NULL: kswapd, model/run/actors.ts
//      kswapdActor): enter_lazy_tlb(prev->active_mm, next), then
//      next->active_mm = prev->active_mm and mmgrab_lazy_tlb() (the
//      reference is not modelled). x86 enter_lazy_tlb() (arch/x86/mm/tlb.c)
//      does nothing if loaded_mm is init_mm, else
//      this_cpu_write(cpu_tlbstate_shared.is_lazy, true): a plain store,
//      in this CPU's store buffer (store_buffer.ts) until a fence or a
//      drain. CR3, loaded_mm and this CPU's bit in mm_cpumask stay: the
//      CPU is lazy in the user mm, and should_flush_tlb() skips it.
//   3. To a user task: switch_mm_irqs_off(prev->active_mm, next->mm)
//      (switch_mm.ts), which also leaves lazy mode (its step 1) when the
//      previous task was a kernel thread.
//   4. finish_task_switch(): IRQs on again (finish_lock_switch()).
//
// Guarded by no-freed-frame-reachable and unmap-complete through the usable
// rule (tlb.ts): after step 2 the CPU's entries count only while its slot's
// tlb_gen matches the mm's, so a flush that skips the lazy CPU must bump
// tlb_gen (arch_tlbbatch_add_pending(), variants/tlbbatch-no-tlb-gen.ts)
// and the next user task's switch_mm_irqs_off() must compare it.

import { step, type StepDef } from '../step.js';
import { storeIsLazy } from '../store_buffer.js';
import type { MmId } from '../types.js';

export interface ContextSwitchCtx {
  /** next->mm: the user task's mm, or null for a kernel thread (kswapd). */
  next: MmId | null;
}

export const contextSwitch: StepDef<ContextSwitchCtx>[] = [
  step('context_switch.local_irq_disable', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = true;
    cpu.irqOffSeq = k.s.rcu.seq;
    yield { id: 'context_switch.local_irq_disable' };
  }),
  // step 2: `if (!next->mm)`; a user task takes no step here
  step('context_switch.enter_lazy_tlb', function* (k, c) {
    if (c.next !== null) return;
    const cpu = k.s.cpus[k.cpu]!;
    if (cpu.loadedMm !== null) storeIsLazy(cpu, true); // loaded_mm == &init_mm: return
    yield { id: 'context_switch.enter_lazy_tlb' };
  }),
  step('context_switch.switch_mm_irqs_off', function* (k, c) {
    if (c.next === null) return;
    yield* k.run('switch_mm_irqs_off', { next: c.next });
  }),
  step('finish_task_switch.local_irq_enable', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = false;
    cpu.curr = k.self;
    yield { id: 'finish_task_switch.local_irq_enable' };
  }),
];
