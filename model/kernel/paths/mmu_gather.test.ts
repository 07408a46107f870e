// The ordering contract of mmu_gather.ts (unhook, invalidate, free), one
// test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, madvise, munmap, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, expectOrder, go, ids, observe, pos, X, Y } from '../../../test/trace.js';
import { span } from '../config.js';
import { findPte, findTable } from '../pagetable.js';
import { TLB_FLUSH_ALL, type KernelState } from '../state.js';

/** T0 faults X in and munmaps it while T1 on CPU1 runs P0 with X cached. */
const unmapCached = scenario({
  setup: [proc('P0'), anon('P0', X, 1)],
  threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X))],
  schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
});

describe('mmu_gather.ts: unhook, invalidate, then free', () => {
  it('clears the PTE under its lock, widens the range and keeps the page reference in the batch (step 1)', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] });
    const { r, seen } = observe(sc, at('T0', 'zap_pte_range.clear'), (s, e) => {
      const g = s.tasks.T0!.gather!;
      const f = s.frames[g.pages[0]!]!;
      return { range: [g.start, g.end], cleared: g.clearedPtes, pages: g.pages.length, frame: [f.state, f.refcount, f.mapcount], pte: findPte(s, s.mms.P0!, vpn(X))!.pte, ptl: e.locks.some((l) => l.startsWith('ptl:')) };
    });
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ range: [vpn(X), vpn(X) + 1], cleared: true, pages: 1, frame: ['data', 1, 0], pte: null, ptl: true }]);
    expect(r.state.tasks.T0!.gather).toBeNull();
  });

  it('flushes only if something was cleared or a table freed, then resets the range (step 2)', () => {
    // Y is populated, so X's PTE table exists, but X itself was never touched: the zap clears nothing
    const nothing = go(scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(Y), madvise(X))] }));
    expect(nothing.verdict).toBe('pass');
    expect(ids(nothing, 'T0')).toContain('zap_pte_range.pte_offset_map_lock');
    expect(ids(nothing, 'T0')).not.toContain('flush_tlb_mm_range.inc_mm_tlb_gen');
    expect(nothing.state.mms.P0!.tlbGen).toBe(0);

    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(Y), madvise(Y))] });
    const { r, seen } = observe(sc, at('T0', 'tlb_batch_pages_flush'), (s) => {
      const g = s.tasks.T0!.gather!;
      return { start: g.start, end: g.end, cleared: g.clearedPtes || g.clearedPmds || g.clearedPuds || g.clearedP4ds, freedTables: g.freedTables };
    });
    expect(ids(r, 'T0').filter((id) => id === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toHaveLength(1);
    expect(seen).toEqual([{ start: Number.MAX_SAFE_INTEGER, end: 0, cleared: false, freedTables: false }]);
  });

  it('frees pages only after the flush, and queues tables to RCU after it (step 3)', () => {
    const { r, seen } = observe(unmapCached, (e) => e.actor === 'T0' && (e.id === 'tlb_table_flush.call_rcu' || e.id === 'tlb_batch_pages_flush'), (s, e) => ({
      id: e.id,
      callbacks: s.rcu.callbacks.map((cb) => ({ seq: cb.seq, tables: cb.tables.map((p) => s.frames[p]!.state) })),
      data: s.frames.filter((f) => f.lp.startsWith('anon:')).map((f) => f.state),
    }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['ipi@cpu1', 'csd_unlock'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'tlb_table_flush.call_rcu'], ['T0', 'tlb_batch_pages_flush'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);
    expect(seen).toEqual([
      // call_rcu: three unhooked tables (PTE, PMD, PUD) queued, still page tables; the data page still allocated
      { id: 'tlb_table_flush.call_rcu', callbacks: [{ seq: 1, tables: ['pagetable', 'pagetable', 'pagetable'] }], data: ['data'] },
      { id: 'tlb_batch_pages_flush', callbacks: [{ seq: 1, tables: ['pagetable', 'pagetable', 'pagetable'] }], data: ['free'] },
    ]);
    expect(r.state.rcu.callbacks).toEqual([]);
    expect(findTable(r.state, r.state.mms.P0!, vpn(X), 3)).toBeNull();
  });

  it('flushes the whole mm with freed_tables when another gather is open, then frees and drops tlb_flush_pending (step 4)', () => {
    // T1 clears X first; T0's zap of X then finds nothing to clear
    const nested = (overlap: boolean) =>
      scenario({
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
        schedule: overlap ? [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')] : [until('T0', 'user_access.walk'), run('T1'), run('ipi@cpu0'), run('T1'), run('T0')],
      });
    const { r, seen } = observe(nested(true), at('T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'), (s) => {
      const g = s.tasks.T0!.gather!;
      return { fullmm: g.fullmm, freedTables: g.freedTables, pending: s.mms.P0!.tlbFlushPending };
    });
    expect(r.verdict).toBe('pass');
    expect(r.coverage.nested_gathers).toBe(1);
    expect(ids(r, 'T0')).not.toContain('zap_pte_range.clear');
    expect(seen).toEqual([{ fullmm: true, freedTables: true, pending: 2 }]);
    const t0 = ids(r, 'T0');
    expect(t0[t0.indexOf('flush_tlb_func.check') + 1]).toBe('flush_tlb_func.flush_tlb_local');
    expectOrder(r, ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending']);
    expect(r.state.mms.P0!.tlbFlushPending).toBe(0);
    expect([r.state.tasks.T0!.gather, r.state.tasks.T1!.gather]).toEqual([null, null]);

    const alone = go(nested(false));
    expect(alone.verdict).toBe('pass');
    expect(alone.coverage.nested_gathers).toBe(0);
    expect(pos(alone, 'T1', 'sys_madvise.return')).toBeLessThan(pos(alone, 'T0', 'sys_madvise'));
    expect(ids(alone, 'T0').slice(ids(alone, 'T0').indexOf('sys_madvise'))).not.toContain('flush_tlb_mm_range.inc_mm_tlb_gen');
  });

  // munmap(X) with the zap's batch full: the forced flush under the PTL takes X's PTE (cleared_ptes), so the
  // flush at tlb_finish_mmu covers only the freed tables: cleared_pmds (PTE table), _puds, _p4ds
  const tablesOnly = (config: Record<string, number> = {}) =>
    scenario({
      config,
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
      choices: [{ actor: 'T0', point: 'zap_pte_range.batch_full', nth: 0 }],
    });
  const sentInfo = (s: KernelState) => s.cpus[1]!.ipis.map((i) => ({ start: i.info.start, end: i.info.end, stride: i.info.stride, freedTables: i.info.freedTables }));

  it('flushes with the stride of the lowest level cleared: a page after a PTE clear, a PMD after a table free alone (step 2, tlb_get_unmap_shift)', () => {
    const { r, seen } = observe(tablesOnly(), at('T0', 'native_flush_tlb_multi.send'), sentInfo);
    expect(r.verdict).toBe('pass');
    const pmd = span(r.state.config, 2);
    expect(seen).toEqual([
      [{ start: vpn(X), end: vpn(X) + 1, stride: 1, freedTables: false }], // the forced flush of X's PTE
      [{ start: 0, end: vpn(X) + 1, stride: pmd, freedTables: true }], // pud_free_tlb() widened down to the PUD table's base 0
    ]);
    // one INVLPG per PMD stride from 0: X (vpn 16) is one of them; every PSC entry of CPU1's PCID is gone
    expect(ids(r, 'ipi@cpu1').filter((id) => id.startsWith('flush_tlb_func.flush'))).toEqual(['flush_tlb_func.flush_tlb_one_user', 'flush_tlb_func.flush_tlb_one_user']);
    expect(r.state.cpus[1]!.psc).toEqual([]);
  });

  it('counts strides, not pages, against tlb_single_page_flush_ceiling (get_flush_tlb_info)', () => {
    // 17 pages but 4 PMD strides: a ceiling of 4 keeps the range, a ceiling of 3 makes it a full flush
    const at4 = observe(tablesOnly({ flushCeiling: 4 }), at('T0', 'native_flush_tlb_multi.send'), sentInfo);
    expect(at4.seen[1]).toEqual([{ start: 0, end: vpn(X) + 1, stride: span(at4.r.state.config, 2), freedTables: true }]);
    const at3 = observe(tablesOnly({ flushCeiling: 3 }), at('T0', 'native_flush_tlb_multi.send'), sentInfo);
    expect(at3.seen[1]).toMatchObject([{ start: 0, end: TLB_FLUSH_ALL, freedTables: true }]);
    expect(at3.r.verdict).toBe('pass');
  });

  it('without a batch page, invalidates at once and frees the table after a synchronous IPI, or through RCU with PT_RECLAIM (step 3, tlb_remove_table_one)', () => {
    const fallback = (ptReclaim: number) =>
      scenario({
        config: { ptReclaim },
        setup: [proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X))],
        schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
        choices: [{ actor: 'T0', point: 'tlb_remove_table.batch_alloc_fails', nth: 0 }],
      });
    const pteTable = (s: KernelState) => s.frames.find((f) => f.lp === 'pt:P0:L1');
    const { r, seen } = observe(fallback(0), (e) => e.actor === 'T0' && e.id.startsWith('tlb_remove_table'), (s, e) => [e.id, pteTable(s)?.state ?? 'gone', s.cpus[1]!.ipis.map((i) => i.func)]);
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      ['tlb_remove_table_sync_one.smp_call_function', 'pagetable', ['tlb_remove_table_smp_sync']],
      ['tlb_remove_table_sync_one.wait', 'pagetable', []],
      ['tlb_remove_table_one.__tlb_remove_table', 'free', []],
    ]);
    // tlb_table_invalidate() flushed first, with freed_tables, before the IPI
    expectOrder(r, ['T0', 'free_pte_range.pmd_clear'], ['T0', 'native_flush_tlb_multi.wait'], ['T0', 'tlb_remove_table_sync_one.smp_call_function']);
    expect(ids(r, 'ipi@cpu1')).toContain('tlb_remove_table_smp_sync');
    expect(r.coverage.tlb_remove_table_one).toBe(1);
    // only the first allocation failed: the PMD and PUD tables freed next went into a batch and to RCU
    expect(ids(r, 'T0').filter((id) => id === 'tlb_table_flush.call_rcu')).toHaveLength(1);

    const rcu = go(fallback(1));
    expect(rcu.verdict).toBe('pass');
    expect(ids(rcu, 'T0')).toContain('tlb_remove_table_one.call_rcu');
    expect(ids(rcu, 'T0')).not.toContain('tlb_remove_table_sync_one.smp_call_function');
    expect(ids(rcu, 'rcu').filter((id) => id === 'rcu_do_batch.__tlb_remove_table')).toHaveLength(2);
  });
});
