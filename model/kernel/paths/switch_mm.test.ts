// The ordering contract of switch_mm.ts (switch_mm_irqs_off, choose_new_asid,
// load_new_mm_cr3), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, idle, madvise, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { expectOrder, go, ids, lastAccess, pos, X } from '../../../test/trace.js';
import type { RunResult } from '../../run/runner.js';

const Y = 0x20000;
const Z = 0x30000;

const ipiSteps = (r: RunResult, cpu: number) => ids(r, `ipi@cpu${cpu}`);

/** T1 caches X on CPU1, goes idle (lazy), and comes back; T0 zaps X meanwhile if `zap`. */
const lazyReturn = (zap: boolean) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), ...(zap ? [madvise(X)] : [])), thread('T1', 'P0', 1, read(X), idle, read(X))],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'do_idle.__current_set_polling'), run('T0'), run('T1')],
  });

/**
 * CPU1 ran P0 (T1) and then P1 (T2), so it is still in P0's cpumask with a dormant slot;
 * its store buffer drains (memory holds loaded_mm = P1); T3 (P0) starts switching back
 * and stops after `stop`; then T0 zaps X with madvise.
 */
const switchBack = (stop: string) =>
  scenario({
    setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Y, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X)), thread('T2', 'P1', 1, read(Y)), thread('T3', 'P0', 1, read(X))],
    schedule: [until('T0', 'user_access.walk'), run('T1'), run('T2'), run('sb@cpu1'), until('T3', stop), run('T0')],
  });

/** T1 switches to P0 for the first time on CPU1, stopping after `stop`, while T0 zaps X. */
const firstSwitch = (stop: string) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X))],
    schedule: [until('T0', 'user_access.walk'), until('T1', stop), run('T0')],
  });

describe('switch_mm.ts: switch_mm_irqs_off with PCID and lazy TLB', () => {
  it('clears is_lazy and, back on the same mm, flushes the slot only if its tlb_gen fell behind (step 1)', () => {
    const zapped = go(lazyReturn(true));
    expect(zapped.verdict).toBe('pass');
    expect(ids(zapped, 'T1')).toContain('switch_mm_irqs_off.lazy_catch_up');
    expect(ids(zapped, 'T1').filter((id) => id.startsWith('load_new_mm_cr3'))).toEqual(['load_new_mm_cr3.flush']); // only the first switch-in
    expect(ipiSteps(zapped, 1)).toEqual([]); // the lazy CPU was skipped by the flush ...
    expect(zapped.coverage.lazy_return_catch_up).toBe(1);
    expect(lastAccess(zapped, 'T1').id).toBe('user_access.walk'); // ... and its stale entry is gone on return
    const cpu = zapped.state.cpus[1]!;
    expect(cpu.isLazy).toBe(false);
    expect(cpu.slots[cpu.loadedSlot]!.tlbGen).toBe(zapped.state.mms.P0!.tlbGen);

    const clean = go(lazyReturn(false));
    expect(ids(clean, 'T1')).toContain('switch_mm_irqs_off.lazy_catch_up');
    expect(lastAccess(clean, 'T1').id).toBe('user_access.tlb_hit'); // nothing fell behind: the entry survived

    // a thread switch within the mm while not lazy does nothing at all
    const same = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X)), thread('T2', 'P0', 0, read(X))] }));
    expect(ids(same, 'T2').slice(0, 3)).toEqual(['context_switch.local_irq_disable', 'switch_mm_irqs_off.same_mm', 'finish_task_switch.local_irq_enable']);
    expect(lastAccess(same, 'T2').id).toBe('user_access.tlb_hit');
  });

  it('on a return from lazy mode, the smp_mb() after the is_lazy store makes the tlb_gen read see a flush that missed the store (step 1)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), idle, read(X))],
        // T1 stores is_lazy = false and stops before its smp_mb(): T0's should_flush_tlb() still reads is_lazy = true
        schedule: [until('T0', 'user_access.walk'), until('T1', 'do_idle.__current_set_polling'), until('T1', 'switch_mm_irqs_off.clear_lazy'), run('T0'), run('T1')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expect(r.coverage.store_buffer_reordering).toBe(1);
    expect(ipiSteps(r, 1)).toEqual([]);
    expectOrder(r, ['T1', 'switch_mm_irqs_off.clear_lazy'], ['T0', 'native_flush_tlb_multi.send'], ['T0', 'sys_madvise.return'], ['T1', 'switch_mm_irqs_off.lazy_smp_mb'], ['T1', 'switch_mm_irqs_off.lazy_catch_up']);
    expect(lastAccess(r, 'T1').id).toBe('user_access.walk'); // the catch-up flushed the stale entry
  });

  it('marks loaded_mm as switching, so a flush that sees the mark IPIs the CPU (step 2)', () => {
    // the bit was already set (CPU1 ran P0 before), so the fence is the smp_mb() of step 4
    const switching = go(switchBack('switch_mm_irqs_off.smp_mb'));
    expect(switching.verdict).toBe('pass');
    // CPU1 still has P1 loaded and is not trimming: only the switching mark makes should_flush_tlb() true
    expect(pos(switching, 'T0', 'native_flush_tlb_multi.send')).toBeGreaterThan(pos(switching, 'T3', 'switch_mm_irqs_off.smp_mb'));
    expect(pos(switching, 'T0', 'native_flush_tlb_multi.send')).toBeLessThan(pos(switching, 'T3', 'switch_mm_irqs_off.read_tlb_gen'));
    expect(ipiSteps(switching, 1)).toContain('flush_tlb_func.check');
    expect(ids(switching, 'T3')).not.toContain('switch_mm_irqs_off.cpumask_set_cpu');

    const before = go(switchBack('context_switch.local_irq_disable'));
    expect(before.verdict).toBe('pass');
    expect(ipiSteps(before, 1)).toEqual([]); // not switching yet: skipped, caught up by tlb_gen instead
    expect(ids(before, 'T3')).toContain('load_new_mm_cr3.flush_stale_slot');
  });

  it('a SWITCHING store still in the store buffer is not seen by the flush, but then the fence makes the tlb_gen read see the flush (steps 2, 4, 5)', () => {
    const buffered = go(switchBack('switch_mm_irqs_off.loaded_mm_switching'));
    expect(buffered.verdict).toBe('pass');
    expect(buffered.coverage.store_buffer_reordering).toBe(1);
    expect(ipiSteps(buffered, 1)).toEqual([]); // should_flush_tlb() read loaded_mm = P1 from memory
    expectOrder(buffered, ['T3', 'switch_mm_irqs_off.loaded_mm_switching'], ['T0', 'native_flush_tlb_multi.send'], ['T0', 'sys_madvise.return'], ['T3', 'switch_mm_irqs_off.smp_mb'], ['T3', 'switch_mm_irqs_off.read_tlb_gen'], ['T3', 'load_new_mm_cr3.flush_stale_slot']);
    expect(lastAccess(buffered, 'T3').id).toBe('user_access.walk');
  });

  it('sets its bit in mm_cpumask(next) before reading tlb_gen, and leaves the previous mm bit set (step 3)', () => {
    const afterSet = go(firstSwitch('switch_mm_irqs_off.cpumask_set_cpu'));
    expect(afterSet.verdict).toBe('pass');
    expect(ipiSteps(afterSet, 1)).toContain('flush_tlb_func.check'); // the bit is set: the flush reaches CPU1
    expect(pos(afterSet, 'ipi@cpu1', 'flush_tlb_func.check')).toBeGreaterThan(pos(afterSet, 'T1', 'finish_task_switch.local_irq_enable'));

    const beforeSet = go(firstSwitch('switch_mm_irqs_off.loaded_mm_switching'));
    expect(beforeSet.verdict).toBe('pass');
    expect(ipiSteps(beforeSet, 1)).toEqual([]); // not in the cpumask yet: no IPI
    expect(ids(beforeSet, 'T0')).not.toContain('native_flush_tlb_multi.send');

    const t1 = ids(afterSet, 'T1');
    expect(t1.indexOf('switch_mm_irqs_off.cpumask_set_cpu')).toBeLessThan(t1.indexOf('switch_mm_irqs_off.read_tlb_gen'));
    // CPU1 ran P0 then P1: it is in both cpumasks
    const both = go(scenario({ setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Y, 1)], threads: [thread('T1', 'P0', 1, read(X)), thread('T2', 'P1', 1, read(Y))], schedule: [run('T1'), run('T2')] }));
    expect(both.state.mms.P0!.cpumask).toEqual([1]);
    expect(both.state.mms.P1!.cpumask).toEqual([1]);
    expect(both.state.cpus[1]!.loadedMm).toBe('P1');
  });

  it('reads tlb_gen after setting the bit: a flush either IPIs the CPU or is seen by the read (step 5)', () => {
    // flush between the bit and the read: the read sees the new tlb_gen, the IPI finds nothing left to do
    const seen = go(firstSwitch('switch_mm_irqs_off.cpumask_set_cpu'));
    expect(pos(seen, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBeLessThan(pos(seen, 'T1', 'switch_mm_irqs_off.read_tlb_gen'));
    expect(ipiSteps(seen, 1)).toEqual(['flush_tlb_func.check', 'csd_unlock']);
    // flush after the read: the slot records the old tlb_gen and the IPI flushes and catches it up
    const missed = go(firstSwitch('switch_mm_irqs_off.read_tlb_gen'));
    expect(missed.verdict).toBe('pass');
    expect(ipiSteps(missed, 1)).toEqual(['flush_tlb_func.check', 'flush_tlb_func.flush_tlb_one_user', 'flush_tlb_func.catch_up', 'csd_unlock']);
    for (const r of [seen, missed]) {
      const cpu = r.state.cpus[1]!;
      expect(cpu.slots[cpu.loadedSlot]!.tlbGen).toBe(1);
      expect(r.state.mms.P0!.tlbGen).toBe(1);
    }
  });

  it('reuses the slot holding next (flushed only if behind), else takes the next slot round-robin and flushes (step 6)', () => {
    const three = (zap: boolean) =>
      scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Y, 1)],
        threads: [thread('T0', 'P0', 0, write(X), ...(zap ? [madvise(X)] : [])), thread('T1', 'P0', 1, read(X), read(X)), thread('T2', 'P1', 1, read(Y))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T2'), run('T0'), run('T1')],
      });
    const behind = go(three(true));
    expect(behind.verdict).toBe('pass');
    expect(ids(behind, 'T1').filter((id) => id.startsWith('load_new_mm_cr3'))).toEqual(['load_new_mm_cr3.flush', 'load_new_mm_cr3.flush_stale_slot']);
    expect(behind.coverage.dormant_slot_reactivated).toBe(1);
    expect(lastAccess(behind, 'T1').id).not.toBe('user_access.tlb_hit');

    const current = go(three(false));
    expect(ids(current, 'T1').filter((id) => id.startsWith('load_new_mm_cr3'))).toEqual(['load_new_mm_cr3.flush', 'load_new_mm_cr3.noflush']);
    expect(current.coverage.dormant_slot_reused_clean).toBe(1);
    expect(lastAccess(current, 'T1').id).toBe('user_access.tlb_hit'); // the dormant entry is reused as is

    // three mms through two slots: P2 evicts P0 from slot 0, so P0 coming back takes slot 1 and flushes
    const rr = go(
      scenario({
        setup: [proc('P0'), proc('P1'), proc('P2'), anon('P0', X, 1), anon('P1', Y, 1), anon('P2', Z, 1)],
        threads: [thread('A', 'P0', 0, read(X)), thread('B', 'P1', 0, read(Y)), thread('C', 'P2', 0, read(Z)), thread('D', 'P0', 0, read(X))],
        schedule: [run('A'), run('B'), run('C'), run('D')],
      }),
    );
    expect(rr.verdict).toBe('pass');
    const cr3 = ['A', 'B', 'C', 'D'].map((t) => ids(rr, t).find((id) => id.startsWith('load_new_mm_cr3')));
    expect(cr3).toEqual(['load_new_mm_cr3.flush', 'load_new_mm_cr3.flush', 'load_new_mm_cr3.flush', 'load_new_mm_cr3.flush']);
    const cpu = rr.state.cpus[0]!;
    expect(cpu.slots.map((s) => s.ctxId)).toEqual([rr.state.mms.P2!.ctxId, rr.state.mms.P0!.ctxId]);
    expect(cpu.loadedSlot).toBe(1);
    expect(cpu.nextAsid).toBe(0);
  });

  it('writes CR3 and records {ctx_id, tlb_gen} in the slot, then loaded_mm = next (step 7)', () => {
    // one PCID: P1 takes P0's slot and must not see P0's entries
    const r = go(
      scenario({
        config: { pcids: 1 },
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Y, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X)), thread('T2', 'P1', 1, read(Y))],
        schedule: [run('T0'), run('T1'), run('T2')],
      }),
    );
    expect(r.verdict).toBe('pass');
    const s = r.state;
    const cpu = s.cpus[1]!;
    expect(cpu.loadedMm).toBe('P1');
    expect(cpu.loadedSlot).toBe(0);
    expect(cpu.switching).toBe(false);
    expect(cpu.slots[0]).toEqual({ ctxId: s.mms.P1!.ctxId, tlbGen: s.mms.P1!.tlbGen });
    expect(cpu.tlb.map((e) => e.vpn)).toEqual([Y >> 12]); // P0's entry for X went with the flushing CR3 write
    expect(ids(r, 'T2').find((id) => id.startsWith('load_new_mm_cr3'))).toBe('load_new_mm_cr3.flush');
    // T1 switched in after T0's madvise: the slot recorded the tlb_gen it read then
    expect(s.mms.P0!.tlbGen).toBe(1);
    expect(pos(r, 'T1', 'load_new_mm_cr3.flush')).toBeGreaterThan(pos(r, 'T0', 'sys_madvise.return'));
    expect(s.cpus[0]!.slots[s.cpus[0]!.loadedSlot]).toEqual({ ctxId: s.mms.P0!.ctxId, tlbGen: 1 });
  });
});
