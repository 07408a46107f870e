// context_switch() for a user task (kernel/sched/core.c): IRQs are off
// across switch_mm_irqs_off(), and a flush IPI sent meanwhile runs after
// finish_task_switch() turns them back on.

import { step, type StepDef } from '../step.js';
import type { MmId } from '../types.js';

export interface ContextSwitchCtx {
  next: MmId;
}

export const contextSwitch: StepDef<ContextSwitchCtx>[] = [
  step('context_switch.local_irq_disable', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = true;
    cpu.irqOffSeq = k.s.rcu.seq;
    yield { id: 'context_switch.local_irq_disable' };
  }),
  step('context_switch.switch_mm_irqs_off', function* (k, c) {
    yield* k.run('switch_mm_irqs_off', { next: c.next });
  }),
  step('finish_task_switch.local_irq_enable', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = false;
    cpu.curr = k.self;
    yield { id: 'finish_task_switch.local_irq_enable' };
  }),
];
