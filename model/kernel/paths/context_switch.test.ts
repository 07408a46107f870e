// The ordering contract of context_switch.ts (kernel/sched/core.c
// context_switch): IRQs go off before switch_mm_irqs_off() and come back
// on in finish_task_switch(), so a flush IPI sent meanwhile is handled
// only after the switch, against the mm the CPU switched to.

import { describe, expect, it } from 'vitest';
import { anon, madvise, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { at, expectOrder, go, ids, observe, Q, X } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';

/** CPU1 runs P0 (T1, X cached); T2 of P1 starts switching in on CPU1 and stops after `stop` while T0 zaps X and sends CPU1 an IPI. */
const switchDuringFlush = (stop: string) =>
  scenario({
    setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Q, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X)), thread('T2', 'P1', 1, read(Q))],
    // ipi@cpu1 is offered the CPU right after the send; it cannot run while IRQs are off, so the entry is skipped
    schedule: [until('T0', 'user_access.walk'), run('T1'), until('T2', stop), until('T0', 'native_flush_tlb_multi.send'), run('ipi@cpu1'), run('T2', 1), run('ipi@cpu1'), until('T2', 'finish_task_switch.local_irq_enable'), run('ipi@cpu1'), run('T2'), run('T0')],
  });

describe('context_switch.ts: IRQs off across switch_mm_irqs_off', () => {
  it('disables IRQs, switches the mm, then enables them, in that order, on every switch', () => {
    const r = go(switchDuringFlush('context_switch.local_irq_disable'));
    expect(r.verdict).toBe('pass');
    const t2 = ids(r, 'T2');
    expect(t2.slice(0, 5)).toEqual(['context_switch.local_irq_disable', 'switch_mm_irqs_off.loaded_mm_switching', 'switch_mm_irqs_off.cpumask_set_cpu', 'switch_mm_irqs_off.read_tlb_gen', 'load_new_mm_cr3.flush']);
    expect(t2[5]).toBe('finish_task_switch.local_irq_enable');
    // IRQs are off at every step of switch_mm_irqs_off() and on again after finish_task_switch()
    const onCpu1 = (e: StepEvent) => e.actor === 'T2' && t2.slice(0, 6).includes(e.id);
    const { seen } = observe(switchDuringFlush('context_switch.local_irq_disable'), onCpu1, (s, e) => [e.id, s.cpus[1]!.irqsOff, s.cpus[1]!.curr]);
    expect(seen.map(([, off]) => off)).toEqual([true, true, true, true, true, false]);
    expect(seen.at(-1)).toEqual(['finish_task_switch.local_irq_enable', false, 'T2']); // current only once the switch is finished
  });

  it('holds a flush IPI sent during the switch until finish_task_switch turns IRQs back on', () => {
    const r = go(switchDuringFlush('switch_mm_irqs_off.loaded_mm_switching'));
    expect(r.verdict).toBe('pass');
    expectOrder(r,
      ['T2', 'context_switch.local_irq_disable'], ['T0', 'native_flush_tlb_multi.send'], ['T2', 'switch_mm_irqs_off.cpumask_set_cpu'],
      ['T2', 'finish_task_switch.local_irq_enable'], ['ipi@cpu1', 'flush_tlb_func.cpumask_clear_cpu'], ['T0', 'native_flush_tlb_multi.wait']);
    // the ipi@cpu1 entries inside the switch were skipped: the first handler step is the one offered after the IRQ enable
    const enable = r.trace.findIndex((e) => e.actor === 'T2' && e.id === 'finish_task_switch.local_irq_enable');
    expect(r.trace[enable + 1]).toMatchObject({ actor: 'ipi@cpu1', id: 'flush_tlb_func.cpumask_clear_cpu' });
    expect(r.coverage.ipi_held_off_by_irqs_off).toBeGreaterThan(0);
    // the handler sees CPU1 already on P1, so it only leaves P0's cpumask (flush_tlb_func: loaded_mm != info->mm)
    expect(r.state.mms.P0!.cpumask).toEqual([0]);
  });

  it('has the IPI pending on the switching CPU with IRQs off at the moment it is sent', () => {
    const { r, seen } = observe(switchDuringFlush('switch_mm_irqs_off.loaded_mm_switching'), at('T0', 'native_flush_tlb_multi.send'), (s) => ({ ipis: s.cpus[1]!.ipis.length, irqsOff: s.cpus[1]!.irqsOff, inIrq: s.cpus[1]!.inIrq }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ ipis: 1, irqsOff: true, inIrq: null }]);
  });
});
