// The ordering contract of gup_fast.ts (the lockless GUP-fast walk), one
// test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, gup, madvise, munmap, proc, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, expectOrder, ids, observe, X, Y } from '../../../test/trace.js';
import { linux } from '../../policies/linux.js';
import { runScenario } from '../../run/runner.js';
import type { Scenario } from '../../run/scenario.js';
import { findTable } from '../pagetable.js';
import { pteValSame } from './gup_fast.js';
import type { KernelState, Pte } from '../state.js';
import type { Pfn } from '../types.js';
import { PROPERTIES } from '../../../properties/registry.js';

/** State and references of the anonymous page first faulted in at X. */
const xPage = (s: KernelState) => {
  const f = s.frames.find((x) => x.lp.startsWith('anon:P0:0x10000'))!;
  return `${f.state}/${f.refcount}`;
};
/** T0 faults X in, then runs `op`; T1 on CPU1 pins X with GUP-fast; `schedule` interleaves them. */
const pinWhile = (op: ReturnType<typeof munmap>, schedule: Scenario['schedule']) =>
  scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), op), thread('T1', 'P0', 1, gup(X))], schedule });

describe('gup_fast.ts: the lockless GUP-fast walk', () => {
  it('disables IRQs first, so neither the flush nor the table free can complete under the walk (step 1)', () => {
    const sc = pinWhile(munmap(X, 2), [until('T0', 'user_access.walk'), until('T1', 'gup_fast_pmd_range'), run('T0'), run('T1'), run('T0')]);
    const { r, seen } = observe(sc, at('T0', 'native_flush_tlb_multi.send'), (s) => ({ irqsOff: s.cpus[1]!.irqsOff, walking: s.tasks.T1!.walker!.length, upper: findTable(s, s.mms.P0!, vpn(X), 1) }));
    expect(r.verdict).toBe('pass'); // no-freed-table-reachable held with T1 inside the unhooked tables
    expect(seen).toEqual([{ irqsOff: true, walking: 3, upper: null }]); // tables unhooked, T1 still in them
    expectOrder(r, ['T1', 'gup_fast.local_irq_save'], ['T0', 'free_pte_range.pmd_clear'], ['T0', 'native_flush_tlb_multi.send'], ['T1', 'gup_fast_pte_range'], ['T1', 'gup_fast.local_irq_restore'], ['ipi@cpu1', 'flush_tlb_func.check'], ['T0', 'native_flush_tlb_multi.wait'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);
    expect(r.coverage.ipi_held_off_by_irqs_off).toBeGreaterThan(0);
    expect(ids(r, 'T1')).not.toContain('try_grab_folio_fast'); // the PTE it finally read was already none
  });

  it('reads the PGD, PUD, PMD and PTE entries one step each, taking no lock (step 2)', () => {
    const sc = pinWhile(madvise(X), [until('T0', 'user_access.walk'), until('T0', 'zap_pte_range.pte_offset_map_lock'), run('T1'), run('T0')]);
    const { r, seen } = observe(sc, at('T1', 'gup_fast_pte_range'), (s) => {
      const mm = s.mms.P0!;
      return { walker: s.tasks.T1!.walker!.map((w) => w.pfn), tables: [mm.pgd, ...[3, 2, 1].map((l) => findTable(s, mm, vpn(X), l)!.pfn)] };
    });
    expect(r.verdict).toBe('pass');
    expect(seen[0]!.walker).toEqual(seen[0]!.tables);
    const walk = r.trace.filter((e) => e.actor === 'T1' && /^gup_fast_p.._range$/.test(e.id));
    expect(walk.map((e) => [e.id, e.locks])).toEqual(['pgd', 'pud', 'pmd', 'pte'].map((l) => [`gup_fast_${l}_range`, []]));
    // the whole pin ran while T0 held the PTL of that very table
    expectOrder(r, ['T0', 'zap_pte_range.pte_offset_map_lock'], ['T1', 'gup_fast_pte_range'], ['T1', 'unpin_user_page'], ['T0', 'zap_pte_range.clear']);
  });

  it('takes a speculative reference on the page the PTE maps, and none when the PTE is none (step 3)', () => {
    const sc = pinWhile(madvise(Y), [until('T0', 'user_access.walk'), run('T1'), run('T0')]);
    const { r, seen } = observe(sc, (e) => e.actor === 'T1' && (e.id === 'try_grab_folio_fast' || e.id === 'unpin_user_page'), (s, e) => [e.id, xPage(s)]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([['try_grab_folio_fast', 'data/2'], ['unpin_user_page', 'data/1']]);

    // Y was never faulted in: the walk ends at a none PTE, nothing is grabbed or dropped
    const none = runScenario(scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), gup(Y))] }), { policy: linux, properties: PROPERTIES });
    const t0 = ids(none, 'T0');
    expect(t0.slice(t0.indexOf('gup_fast.local_irq_save'))).toEqual(['gup_fast.local_irq_save', 'gup_fast_pgd_range', 'gup_fast_pud_range', 'gup_fast_pmd_range', 'gup_fast_pte_range', 'gup_fast.local_irq_restore', 'exit_to_user_mode']);
  });

  it('re-reads the PTE after grabbing and drops the reference if it changed (step 4)', () => {
    const sc = pinWhile(madvise(X), [until('T0', 'user_access.walk'), until('T1', 'gup_fast_pte_range'), until('T0', 'zap_pte_range.clear'), run('T1'), run('T0')]);
    const { r, seen } = observe(sc, (e) => e.actor === 'T1' && (e.id === 'try_grab_folio_fast' || e.id === 'gup_fast.pte_changed'), (s, e) => [e.id, xPage(s)]);
    expect(r.verdict).toBe('pass');
    // the zap's batch holds one reference, GUP-fast briefly a second, then gives it back
    expect(seen).toEqual([['try_grab_folio_fast', 'data/2'], ['gup_fast.pte_changed', 'data/1']]);
    expect(ids(r, 'T1')).not.toContain('unpin_user_page');
    expect(xPage(r.state)).toBe('free/0'); // freed by the zap after its flush, not leaked
  });

  it('re-reads the PMD entry too: a PTE table PT_RECLAIM unlinked under the walk fails the pin, and is freed only after IRQs are back on (step 4)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, gup(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'gup_fast_pte_range'), run('T0'), run('T1'), run('T0')],
    });
    const { r, seen } = observe(sc, (e) => e.actor === 'T1' && (e.id === 'try_grab_folio_fast' || e.id === 'gup_fast.pmd_changed'), (s, e) => [e.id, xPage(s), findTable(s, s.mms.P0!, vpn(X), 1)]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([['try_grab_folio_fast', 'data/2', null], ['gup_fast.pmd_changed', 'data/1', null]]); // the PMD entry is gone, the reference dropped
    expect(ids(r, 'T1')).not.toContain('unpin_user_page');
    expectOrder(r, ['T0', 'zap_empty_pte_table.pmd_clear'], ['T1', 'try_grab_folio_fast'], ['T1', 'gup_fast.pmd_changed'], ['T1', 'gup_fast.local_irq_restore'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);
  });

  it('compares entries by value, as pmd_val/pte_val do: frame and bits, not the object or the ghost id (step 4)', () => {
    const e: Pte = { pfn: 7 as Pfn, writable: true, accessed: true, dirty: false, protNone: false, ghost: 3 };
    expect(pteValSame({ ...e }, e)).toBe(true);
    expect(pteValSame({ ...e, ghost: 9 }, e)).toBe(true); // a reused frame with the same bits reads the same
    expect(pteValSame({ ...e, dirty: true }, e)).toBe(false); // the hardware set D meanwhile: the kernel fails too
    expect(pteValSame(null, e)).toBe(false);
    expect(pteValSame(null, null)).toBe(true);
  });

  it('turns IRQs back on, and only later does the caller drop the pin, which keeps the page across an munmap (step 5)', () => {
    const sc = pinWhile(munmap(X, 2), [until('T0', 'user_access.walk'), until('T1', 'gup_fast.local_irq_restore'), run('T0'), run('ipi@cpu1'), run('T0'), run('T1')]);
    const { r, seen } = observe(sc, (e) => (e.actor === 'T1' && e.id === 'gup_fast.local_irq_restore') || (e.actor === 'T0' && e.id === 'sys_munmap.return'), (s, e) => [e.id, xPage(s), s.cpus[1]!.irqsOff, s.tasks.T1!.walker]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      ['gup_fast.local_irq_restore', 'data/2', false, null],
      ['sys_munmap.return', 'data/1', false, null], // unmapped and flushed, but pinned
    ]);
    expectOrder(r, ['T1', 'gup_fast.local_irq_restore'], ['T0', 'sys_munmap.return'], ['T1', 'unpin_user_page']);
    expect(xPage(r.state)).toBe('free/0'); // the unpin freed it
  });
});
