// The ordering contract of flush_tlb_mm_range.ts (flush_tlb_mm_range and
// native_flush_tlb_multi), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, gup, idle, madvise, munmap, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { expectOrder, go, ids, Q, withVisibleSteps, X, Y } from '../../../test/trace.js';
import { linux } from '../../policies/linux.js';
import { runScenario, type RunResult } from '../../run/runner.js';
import type { Scenario } from '../../run/scenario.js';
import { PROPERTIES } from '../../../properties/registry.js';
import { globalAsidUnmap } from '../../../test/mutant_cases.js';

/** T0 populates and zaps `pages` pages at X (madvise) while T1 on CPU1 runs P0 with X cached. */
const zap = (pages: number, extra: Partial<Scenario> = {}) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 4)],
    threads: [thread('T0', 'P0', 0, ...Array.from({ length: pages }, (_, i) => write(X + i * 0x1000)), madvise(X, pages)), thread('T1', 'P0', 1, read(X))],
    schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    ...extra,
  });

describe('flush_tlb_mm_range.ts: the flush initiator', () => {
  it('increments mm->context.tlb_gen once per flush, after the PTE writes are done under the PTL (step 1)', () => {
    const r = go(zap(1));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'zap_pte_range.clear'], ['T0', 'zap_pte_range.pte_unmap_unlock'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T0', 'native_flush_tlb_multi.send']);
    expect(r.trace.find((e) => e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen')!.locks).not.toContainEqual(expect.stringMatching(/^ptl:/));
    expect(r.state.mms.P0!.tlbGen).toBe(1);
    // the request carries the new generation: CPU1 catches up to exactly it
    expect(r.state.cpus[1]!.slots[r.state.cpus[1]!.loadedSlot]!.tlbGen).toBe(1);
    const twice = go(scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X), madvise(Y))] }));
    expect(ids(twice, 'T0').filter((id) => id === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toHaveLength(2);
    expect(twice.state.mms.P0!.tlbGen).toBe(2);
  });

  it('widens a range above the ceiling, or when chosen, to a full flush, and trims the cpumask when chosen (step 2)', () => {
    const handler = (r: RunResult) => ids(r, 'ipi@cpu1').find((id) => id.startsWith('flush_tlb_func.flush'));
    expect(handler(go(zap(3, { config: { flushCeiling: 3 } })))).toBe('flush_tlb_func.flush_tlb_one_user'); // 3 pages, ceiling 3
    expect(handler(go(zap(3, { config: { flushCeiling: 2 } })))).toBe('flush_tlb_func.flush_tlb_local'); // 3 > 2
    expect(handler(go(zap(1, { choices: [{ actor: 'T0', point: 'flush_tlb_mm_range.flush_all', nth: 0 }] })))).toBe('flush_tlb_func.flush_tlb_local');

    // CPU1 moved on to P1 but is still in P0's cpumask: only a trimming flush IPIs it, and it leaves the mask
    const leftInMask = (trim: boolean) =>
      go(
        scenario({
          setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Q, 1)],
          threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X)), thread('T2', 'P1', 1, read(Q))],
          schedule: [until('T0', 'user_access.walk'), run('T1'), run('T2'), run('sb@cpu1'), run('T0')],
          choices: trim ? [{ actor: 'T0', point: 'should_trim_cpumask', nth: 0 }] : [],
        }),
      );
    const kept = leftInMask(false);
    expect(ids(kept, 'ipi@cpu1')).toEqual([]);
    expect(kept.state.mms.P0!.cpumask).toEqual([0, 1]);
    const trimmed = leftInMask(true);
    expect(trimmed.verdict).toBe('pass');
    expect(ids(trimmed, 'ipi@cpu1')).toEqual(['flush_tlb_func.cpumask_clear_cpu', 'csd_unlock']);
    expect(trimmed.state.mms.P0!.cpumask).toEqual([0]);
  });

  it('IPIs lazy CPUs only when tables are freed, and running CPUs always (step 3)', () => {
    // CPU1 is lazy in P0, CPU2 runs P0
    const withLazy = (op = madvise(X)) =>
      go(
        scenario({
          config: { cpus: 3 },
          setup: [proc('P0'), anon('P0', X, 1)],
          threads: [thread('T0', 'P0', 0, write(X), op), thread('T1', 'P0', 1, read(X), idle), thread('T2', 'P0', 2, read(X))],
          schedule: [until('T0', 'user_access.walk'), run('T1'), run('T2'), run('T0')],
        }),
      );
    const noTables = withLazy();
    expect(noTables.verdict).toBe('pass');
    expect(ids(noTables, 'ipi@cpu1')).toEqual([]);
    expect(ids(noTables, 'ipi@cpu2')).toContain('flush_tlb_func.flush_tlb_one_user');
    expect(noTables.state.cpus[1]!.isLazy).toBe(true);

    const tables = withLazy(munmap(X));
    expect(tables.verdict).toBe('pass');
    expect(ids(tables, 'ipi@cpu1')).toEqual(['flush_tlb_func.switch_to_init_mm', 'csd_unlock']);
    expect(ids(tables, 'ipi@cpu2')).toContain('flush_tlb_func.flush_tlb_one_user');
    expect(tables.state.cpus[1]!.loadedMm).toBeNull();
  });

  it('runs flush_tlb_func on the initiating CPU itself, with IRQs off (step 4)', () => {
    const alone = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] }));
    expect(ids(alone, 'T0')).toContain('flush_tlb_func.flush_tlb_one_user');
    expect(ids(alone, 'T0')).not.toContain('native_flush_tlb_multi.send'); // no other CPU in the mask: local only
    expect(alone.trace.some((e) => e.actor.startsWith('ipi@'))).toBe(false);

    // T1 flushes while T0 is inside its local flush: T1's IPI to CPU0 waits until T0's IRQs are back on
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 2)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, write(Y), madvise(Y))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T0', 'flush_tlb_func.check'), run('T1')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'native_flush_tlb_multi.send'], ['T0', 'flush_tlb_func.check'], ['T1', 'native_flush_tlb_multi.send'], ['T0', 'flush_tlb_func.catch_up'], ['ipi@cpu0', 'flush_tlb_func.check'], ['T0', 'native_flush_tlb_multi.wait']);
    expect(r.coverage.ipi_held_off_by_irqs_off).toBeGreaterThan(0);
  });

  it('waits until every target ran the handler, even one holding IRQs off (step 5)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, gup(X))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'gup_fast.local_irq_save'), run('T0'), run('T1'), run('T0')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'native_flush_tlb_multi.send'], ['T1', 'gup_fast.local_irq_restore'], ['ipi@cpu1', 'csd_unlock'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'tlb_batch_pages_flush']);
    // T0 took no step between its local flush (IRQs restored) and the end of the wait: it was blocked
    const t0 = ids(r, 'T0');
    expect(t0.slice(t0.indexOf('native_flush_tlb_multi.wait') - 2, t0.indexOf('native_flush_tlb_multi.wait'))).toEqual(['flush_tlb_func.catch_up', 'smp_call_function_many_cond.local_irq_restore']);
    expect(r.coverage.ipi_held_off_by_irqs_off).toBeGreaterThan(0);
  });

  it('calls mmu_notifier_arch_invalidate_secondary_tlbs last, after the wait, as a no-op here (step 6)', () => {
    const path = linux.paths.flush_tlb_mm_range!.map((s) => s.id);
    expect(path.at(-1)).toBe('mmu_notifier_arch_invalidate_secondary_tlbs');
    expect(path.indexOf('native_flush_tlb_multi.wait')).toBe(path.length - 3);
    expect(path.indexOf('consider_global_asid')).toBe(path.length - 2); // INVLPGB only: after flush_tlb_multi()
    const plain = go(zap(1));
    expect(plain.trace.some((e) => e.id === 'mmu_notifier_arch_invalidate_secondary_tlbs')).toBe(false); // takes no step
    // made visible, it runs once per flush after the wait and before the pages are freed, local-only flushes too
    const visible = withVisibleSteps('visible-secondary-tlbs', 'the secondary-TLB hook takes a step', 'mmu_notifier_arch_invalidate_secondary_tlbs');
    const r = runScenario(zap(1), { policy: visible, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'mmu_notifier_arch_invalidate_secondary_tlbs'], ['T0', 'tlb_batch_pages_flush']);
    const alone = runScenario(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] }), { policy: visible, properties: PROPERTIES });
    expect(ids(alone, 'T0').filter((id) => id === 'mmu_notifier_arch_invalidate_secondary_tlbs')).toHaveLength(1);
  });
});

describe('INVLPGB (config invlpgb): broadcast flushes without IPIs', () => {
  it('flush_tlb_all() is invlpgb_flush_all(): every CPU flushed at once, none interrupted, a CPU with IRQs off not waited for', () => {
    // T1 on CPU1 is inside GUP-fast with IRQs off when T0 calls flush_tlb_all()
    const sc = (invlpgb: number) =>
      scenario({
        config: { invlpgb },
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), { kind: 'flush_tlb_all' }), thread('T1', 'P0', 1, read(X), gup(X))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T1', 'gup_fast_pte_range'), run('T0'), run('T1')],
      });
    const b = go(sc(1));
    expect(b.verdict).toBe('pass');
    expect(ids(b, 'T0')).toContain('flush_tlb_all.invlpgb_flush_all');
    expect(ids(b, 'ipi@cpu1')).toEqual([]);
    expect(b.trace.findIndex((e) => e.id === 'flush_tlb_all.invlpgb_flush_all')).toBeLessThan(b.trace.findIndex((e) => e.id === 'gup_fast.local_irq_restore'));
    expect(b.state.cpus.map((c) => c.tlb.length)).toEqual([0, 0]);
    expect(b.coverage.ipi_held_off_by_irqs_off).toBe(0);
    // with IPIs the same flush waits for CPU1 to turn interrupts back on
    const i = go(sc(0));
    expect(i.verdict).toBe('pass');
    expect(ids(i, 'ipi@cpu1')).toContain('do_flush_tlb_all');
    expect(i.trace.findIndex((e) => e.id === 'flush_tlb_all.wait')).toBeGreaterThan(i.trace.findIndex((e) => e.id === 'gup_fast.local_irq_restore'));
  });

  it('an mm on more than 3 CPUs gets a global ASID after a flush_tlb_multi(), and its next flush is broadcast_tlb_flush(): no IPI, no wait for the IRQs-off walker', () => {
    const b = go(globalAsidUnmap(1));
    expect(b.verdict).toBe('pass'); // the tables go to RCU, which waits for CPU1
    const t0 = ids(b, 'T0');
    expect(t0.filter((id) => id === 'consider_global_asid.use_global_asid')).toHaveLength(1);
    expect(t0.filter((id) => id === 'broadcast_tlb_flush.tlbsync')).toHaveLength(1);
    expect(b.state.mms.P0!.globalAsid).toBe(true);
    const munmapAt = t0.indexOf('sys_munmap');
    expect(t0.slice(munmapAt)).not.toContain('native_flush_tlb_multi.send');
    expect(b.trace.findIndex((e) => e.id === 'sys_munmap.return')).toBeLessThan(b.trace.findIndex((e) => e.id === 'gup_fast.local_irq_restore'));
    expect(b.trace.findIndex((e) => e.id === 'rcu_do_batch.__tlb_remove_table')).toBeGreaterThan(b.trace.findIndex((e) => e.id === 'gup_fast.local_irq_restore'));
    // without INVLPGB nothing changes: no global ASID, IPIs, and munmap waits for the walker
    const i = go(globalAsidUnmap(0));
    expect(i.verdict).toBe('pass');
    expect(ids(i, 'T0')).not.toContain('consider_global_asid.use_global_asid');
    expect(i.trace.findIndex((e) => e.id === 'sys_munmap.return')).toBeGreaterThan(i.trace.findIndex((e) => e.id === 'gup_fast.local_irq_restore'));
  });
});
