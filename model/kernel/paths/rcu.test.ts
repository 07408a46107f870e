// The ordering contract of rcu.ts (RCU freeing of page-table pages), one
// test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, gup, madvise, munmap, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { at, expectOrder, ids, observe, Q, X } from '../../../test/trace.js';
import { linux } from '../../policies/linux.js';
import { runScenario } from '../../run/runner.js';
import type { Scenario } from '../../run/scenario.js';
import type { KernelState } from '../state.js';
import { PROPERTIES } from '../../../properties/registry.js';

const FREE = 'rcu_do_batch.__tlb_remove_table';

/** T0 munmaps X in P0; T1, a thread of P1 on CPU1 (outside P0's cpumask), runs GUP-fast on its own page. */
const walkerElsewhere = (schedule: Scenario['schedule']) =>
  scenario({
    setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Q, 1)],
    threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P1', 1, write(Q), gup(Q))],
    schedule,
  });

describe('rcu.ts: page tables freed after a grace period', () => {
  it('queues the unhooked tables with call_rcu() only after the TLB flush (step 1)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const { r, seen } = observe(
      sc,
      (e) => at('T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')(e) || at('T0', 'tlb_table_flush.call_rcu')(e),
      (s) => ({ seq: s.rcu.seq, callbacks: s.rcu.callbacks.map((cb) => ({ seq: cb.seq, tables: [...cb.tables] })), queued: [...(s.tasks.T0!.gather?.tables ?? [])] }),
    );
    expect(r.verdict).toBe('pass');
    const [atFlush, atCallRcu] = seen;
    expect(atFlush!.callbacks).toEqual([]); // nothing queued to RCU while the flush is on its way
    expect(atFlush!.queued).toHaveLength(3);
    expect(atCallRcu).toEqual({ seq: 1, callbacks: [{ seq: 1, tables: atFlush!.queued }], queued: [] });
    expectOrder(r, ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['ipi@cpu1', 'csd_unlock'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'tlb_table_flush.call_rcu'], ['rcu', FREE]);

    // a zap that frees no table queues nothing
    const noTables = runScenario(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] }), { policy: linux, properties: PROPERTIES });
    expect(noTables.state.rcu.seq).toBe(0);
    expect(noTables.trace.some((e) => e.actor === 'rcu')).toBe(false);
  });

  it('ends the grace period only when every CPU that had IRQs off at call_rcu() turned them on (step 2)', () => {
    // T1 turns IRQs off before the tables are queued: the grace period waits for it, whatever the schedule asks
    const before = walkerElsewhere([until('T0', 'user_access.walk'), until('T1', 'gup_fast.local_irq_save'), run('T0'), run('rcu'), run('T1')]);
    const { r, seen } = observe(before, at('T0', 'sys_munmap.return'), (s) => [s.rcu.callbacks.length, s.cpus[1]!.irqsOff]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([[1, true]]);
    expect(ids(r, 'T0')).not.toContain('native_flush_tlb_multi.wait'); // CPU1 was never in P0's cpumask: no IPI to wait for
    expectOrder(r, ['T1', 'gup_fast.local_irq_save'], ['T0', 'tlb_table_flush.call_rcu'], ['T1', 'gup_fast.local_irq_restore'], ['rcu', FREE]);
    expect(r.coverage.rcu_gp_held_off_by_walker).toBeGreaterThan(0);

    // T1 turns IRQs off after the tables are queued: it does not hold this grace period
    const after = runScenario(walkerElsewhere([until('T0', 'user_access.walk'), until('T0', 'tlb_table_flush.call_rcu'), until('T1', 'gup_fast.local_irq_save'), run('rcu'), run('T1'), run('T0')]), { policy: linux, properties: PROPERTIES });
    expect(after.verdict).toBe('pass');
    expectOrder(after, ['T0', 'tlb_table_flush.call_rcu'], ['T1', 'gup_fast.local_irq_save'], ['rcu', FREE], ['T1', 'gup_fast.local_irq_restore']);
  });

  it('also waits for every actor that held a spinlock at call_rcu(), until it drops it (step 2, locks.ts)', () => {
    // T1 faults in P1 and holds its PTE table's PTL while T0's munmap queues P0's tables: in Linux preemption
    // is off under spin_lock() (PREEMPT_RT: rt_spin_lock() takes rcu_read_lock()), so no grace period ends
    const sc = (schedule: Scenario['schedule']) =>
      scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', Q, 1)],
        threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P1', 1, write(Q))],
        schedule,
      });
    const held = runScenario(sc([until('T0', 'user_access.walk'), until('T1', 'do_anonymous_page.set_pte_at'), run('T0'), run('rcu'), run('T1')]), { policy: linux, properties: PROPERTIES });
    expect(held.verdict).toBe('pass');
    const callRcu = held.trace.find((e) => e.actor === 'T0' && e.id === 'tlb_table_flush.call_rcu')!;
    expect(callRcu.locks).toEqual(['mmap_lock:P0']); // T0 holds no spinlock itself, only the mmap_lock rwsem
    expect(held.trace.find((e) => e.actor === 'T1' && e.id === 'do_anonymous_page.set_pte_at')!.locks.some((l) => l.startsWith('ptl:'))).toBe(true);
    expectOrder(held, ['T1', 'do_anonymous_page.set_pte_at'], ['T0', 'tlb_table_flush.call_rcu'], ['T1', 'do_anonymous_page.pte_unmap_unlock'], ['rcu', FREE]);
    expect(held.coverage.rcu_gp_held_off_by_reader).toBeGreaterThan(0);

    // T1 takes the PTL only after call_rcu(): it does not hold this grace period
    const later = runScenario(sc([until('T0', 'user_access.walk'), until('T1', 'do_anonymous_page.alloc'), until('T0', 'tlb_table_flush.call_rcu'), until('T1', 'do_anonymous_page.pte_offset_map_lock'), run('rcu'), run('T1'), run('T0')]), { policy: linux, properties: PROPERTIES });
    expect(later.verdict).toBe('pass');
    expectOrder(later, ['T0', 'tlb_table_flush.call_rcu'], ['T1', 'do_anonymous_page.pte_offset_map_lock'], ['rcu', FREE], ['T1', 'do_anonymous_page.pte_unmap_unlock']);
    expect(later.coverage.rcu_gp_held_off_by_reader).toBe(0);
  });

  it("does not wait for a walker that read the PMD entry and waits for the PTL: pmd_same() sends it round (pte_offset_map.ts)", () => {
    // T0's MADV_DONTNEED of the whole table holds its PTL; T1's fault read the PMD entry and waits for that
    // PTL; T0 clears the PMD entry and queues the table. The kernel's rcu_read_lock() in __pte_offset_map()
    // would hold this grace period off; the model's walker is no reader until it holds the PTL, so the table
    // may go first, and the recheck under the PTL sees the PMD entry changed
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, write(X))],
      schedule: [
        until('T0', 'user_access.walk'),
        until('T0', 'zap_pte_range.clear'),
        until('T1', 'do_anonymous_page.alloc'),
        run('T1', 1), // blocks on the PTL
        until('T0', 'smp_call_function_many_cond.local_irq_restore'),
        run('ipi@cpu1'),
        until('T0', 'tlb_table_flush.call_rcu'),
        run('rcu'),
        run('T1'),
        run('T0'),
      ],
    });
    const { r, seen } = observe(sc, at('T0', 'tlb_table_flush.call_rcu'), (s) => s.rcu.callbacks.map((cb) => cb.readers));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([[undefined]]);
    expectOrder(r, ['T0', 'zap_empty_pte_table.pmd_clear'], ['T0', 'tlb_table_flush.call_rcu'], ['rcu', FREE], ['T1', 'do_anonymous_page.pte_offset_map_lock.pmd_changed']);
  });

  it('then frees the queued tables back to the allocator (step 3)', () => {
    const sc = walkerElsewhere([until('T0', 'user_access.walk'), run('T0'), run('T1')]);
    const p0Tables = (s: KernelState) => s.frames.filter((f) => /^pt:P0:L[123]$/.test(f.lp));
    const { r, seen } = observe(
      sc,
      (e) => at('T0', 'tlb_table_flush.call_rcu')(e) || at('rcu', FREE)(e),
      (s, e) => ({
        id: e.id,
        queued: s.rcu.callbacks.flatMap((cb) => cb.tables).sort(),
        tables: p0Tables(s).map((f) => `${f.pfn}:${f.state}:${s.freeList.includes(f.pfn) ? 'on free list' : 'held'}`),
      }),
    );
    expect(r.verdict).toBe('pass');
    const pfns = p0Tables(r.state).map((f) => f.pfn);
    expect(pfns).toHaveLength(3);
    expect(seen).toEqual([
      { id: 'tlb_table_flush.call_rcu', queued: [...pfns].sort(), tables: pfns.map((p) => `${p}:pagetable:held`) },
      { id: FREE, queued: [], tables: pfns.map((p) => `${p}:free:on free list`) },
    ]);
    expect(r.trace.filter((e) => e.actor === 'rcu').map((e) => e.id)).toEqual([FREE]);
  });
});
