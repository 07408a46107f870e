// The memory-model contract of store_buffer.ts, one test per numbered item
// of its header, and the store-buffer actor as the schedule names it.

import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { initState } from './init.js';
import { drainOldest, fence, LOADED_MM_SWITCHING, ownView, readTso, reorderVisible, storeIsLazy, storeLoadedMm } from './store_buffer.js';
import { mmId } from './types.js';
import { anon, idle, madvise, proc, read, run, scenario, thread, until, write } from '../../test/build.js';
import { go, ids, observe, X } from '../../test/trace.js';
import { parseScenario, printScenario } from '../../reports/scenario_text.js';
import { validateScenario } from '../run/validate.js';
import { switchToInitMm } from './paths/switch_mm.js';

const cpuOf = () => initState(resolveConfig({ cpus: 2 }), []).cpus[1]!;
const P0 = mmId('P0');
const P1 = mmId('P1');

describe('store_buffer.ts: x86-TSO for loaded_mm and is_lazy', () => {
  it('buffers stores: the writing CPU reads its own latest value, other CPUs read memory (items 1, 2)', () => {
    const cpu = cpuOf();
    storeLoadedMm(cpu, P0);
    storeLoadedMm(cpu, LOADED_MM_SWITCHING);
    storeIsLazy(cpu, true);
    expect(ownView(cpu)).toEqual({ loadedMm: LOADED_MM_SWITCHING, isLazy: true });
    expect(cpu.loadedMm).toBe(P0); // CR3's mm does not move on SWITCHING
    expect(readTso(1, cpu)).toEqual(ownView(cpu));
    expect(readTso(0, cpu)).toEqual({ loadedMm: null, isLazy: false });
    expect(reorderVisible(cpu)).toBe(true);
  });

  it('drains the oldest store first, so other CPUs see the stores in program order (item 3)', () => {
    const cpu = cpuOf();
    storeLoadedMm(cpu, LOADED_MM_SWITCHING);
    storeLoadedMm(cpu, P1);
    storeIsLazy(cpu, true);
    expect(drainOldest(cpu)).toEqual({ var: 'loaded_mm', value: LOADED_MM_SWITCHING });
    expect(readTso(0, cpu)).toEqual({ loadedMm: LOADED_MM_SWITCHING, isLazy: false });
    drainOldest(cpu);
    expect(readTso(0, cpu)).toEqual({ loadedMm: P1, isLazy: false });
    drainOldest(cpu);
    expect(readTso(0, cpu)).toEqual({ loadedMm: P1, isLazy: true });
    expect(drainOldest(cpu)).toBeUndefined();
    expect(reorderVisible(cpu)).toBe(false);
  });

  it('a fence empties the buffer (item 4)', () => {
    const cpu = cpuOf();
    storeIsLazy(cpu, true);
    storeLoadedMm(cpu, P0);
    fence(cpu);
    expect(cpu.storeBuffer).toEqual([]);
    expect(cpu.memory).toEqual({ loadedMm: P0, isLazy: true });
  });

  it('fences at the LOCK RMW and serializing steps of switch_mm_irqs_off and leaves loaded_mm = next buffered (item 4)', () => {
    // T0 faults X in on CPU0, so T1 on CPU1 reads it with a walk and takes no lock (a lock would fence)
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P0', 1, read(X))] });
    const { r, seen } = observe(sc, (e) => e.actor === 'T1' && (e.id.startsWith('switch_mm_irqs_off') || e.id.startsWith('load_new_mm_cr3')), (s, e) => [e.id, s.cpus[1]!.storeBuffer.map((b) => `${b.var}=${b.value}`), { ...s.cpus[1]!.memory }]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      ['switch_mm_irqs_off.loaded_mm_switching', ['loaded_mm=LOADED_MM_SWITCHING'], { loadedMm: null, isLazy: false }],
      // first switch-in: the bit was clear, so cpumask_set_cpu() is the fence and no smp_mb() step runs
      ['switch_mm_irqs_off.cpumask_set_cpu', [], { loadedMm: LOADED_MM_SWITCHING, isLazy: false }],
      ['switch_mm_irqs_off.read_tlb_gen', [], { loadedMm: LOADED_MM_SWITCHING, isLazy: false }],
      ['load_new_mm_cr3.flush', ['loaded_mm=P0'], { loadedMm: LOADED_MM_SWITCHING, isLazy: false }],
    ]);
    // nothing fences afterwards, and the schedule never names sb@cpu1: loaded_mm = P0 is still buffered at the end
    expect(ids(r, 'sb@cpu1')).toEqual([]);
    expect(r.state.cpus[1]!.storeBuffer).toEqual([{ var: 'loaded_mm', value: P0 }]);
    expect(r.state.cpus[1]!.memory).toEqual({ loadedMm: LOADED_MM_SWITCHING, isLazy: false });
    const drained = go({ ...sc, schedule: [run('T0'), run('T1'), run('sb@cpu1')] });
    expect(ids(drained, 'sb@cpu1')).toEqual(['hw.store_buffer_drain']);
    expect(drained.state.cpus[1]!.memory).toEqual({ loadedMm: P0, isLazy: false });
  });

  it('switch_mm_irqs_off(NULL, &init_mm): is_lazy and SWITCHING reach memory at its smp_mb(), loaded_mm = init_mm stays buffered', () => {
    const cpu = cpuOf();
    storeLoadedMm(cpu, P0);
    storeIsLazy(cpu, true);
    fence(cpu);
    switchToInitMm(cpu);
    expect(ownView(cpu)).toEqual({ loadedMm: null, isLazy: false });
    expect(cpu.memory).toEqual({ loadedMm: LOADED_MM_SWITCHING, isLazy: false });
    expect(cpu.storeBuffer).toEqual([{ var: 'loaded_mm', value: null }]);
  });

  it('enter_lazy_tlb buffers is_lazy, and the idle loop fences it (do_idle.__current_set_polling)', () => {
    const lazy = (stop: string) =>
      go(
        scenario({
          config: { cpus: 2 },
          setup: [proc('P0'), anon('P0', X, 1)],
          threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), idle)],
          schedule: [until('T0', 'user_access.walk'), until('T1', stop), run('T0')],
        }),
      );
    const buffered = lazy('enter_lazy_tlb');
    expect(buffered.verdict).toBe('pass');
    expect(ids(buffered, 'ipi@cpu1')[0]).toBe('flush_tlb_func.switch_to_init_mm'); // seen not lazy: IPI'd, and the handler finds it lazy
    expect(buffered.coverage.store_buffer_reordering).toBe(1);
    const fenced = lazy('do_idle.__current_set_polling');
    expect(fenced.verdict).toBe('pass');
    expect(ids(fenced, 'ipi@cpu1')).toEqual([]); // seen lazy: skipped
  });

  it('names the store buffer of each CPU in text scenarios, replays it deterministically, and refuses an unknown one (item 3)', () => {
    // T1 reads X with a walk (T0 faulted it in): its loaded_mm = P0 store is still buffered when T0 flushes, unless drained
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('sb@cpu1', 1), run('T0')],
    });
    const text = printScenario(sc);
    expect(text).toContain('  sb@cpu1 steps=1');
    const back = parseScenario(text);
    expect(back.schedule).toEqual(sc.schedule);
    const a = go(back);
    const b = go(JSON.parse(JSON.stringify(sc)));
    expect(a.trace).toEqual(b.trace);
    expect(ids(a, 'sb@cpu1')[0]).toBe('hw.store_buffer_drain');
    expect(validateScenario({ ...sc, schedule: [run('sb@cpu2')] })).toMatchObject({ near: 'sb@cpu2' });
  });
});
