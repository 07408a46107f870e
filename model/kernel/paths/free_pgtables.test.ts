// The ordering contract of free_pgtables.ts (free_pgd_range after the
// zap), one test per numbered step of its header.

import { describe, expect, it } from 'vitest';
import { anon, idle, munmap, proc, read, run, scenario, thread, until, va as vpn, write } from '../../../test/build.js';
import { at, go, ids, observe, pos, X } from '../../../test/trace.js';
import type { RunResult } from '../../run/runner.js';
import { findTable } from '../pagetable.js';
import type { KernelState } from '../state.js';

const freeSteps = (r: RunResult) => ids(r, 'T0').filter((id) => /^free_.*_clear$/.test(id));
/** The PTE, PMD and PUD tables covering X (level 1, 2, 3). */
const tablesOfX = (s: KernelState) => [1, 2, 3].map((l) => findTable(s, s.mms.P0!, vpn(X), l)?.pfn ?? null);

/** T0 maps X (and `neighbour` pages elsewhere), then munmaps X; T1 on CPU1 runs P0 with X cached, idle if `lazy`. */
const unmapX = (neighbour: number | null, lazy = false) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1), ...(neighbour === null ? [] : [anon('P0', neighbour, 1)])],
    threads: [thread('T0', 'P0', 0, write(X), ...(neighbour === null ? [] : [write(neighbour)]), munmap(X)), thread('T1', 'P0', 1, read(X), ...(lazy ? [idle] : []))],
    schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
  });

describe('free_pgtables.ts: freeing the page tables of an unmapped range', () => {
  it('frees a table only if no remaining VMA overlaps what it covers, lower levels first (step 2)', () => {
    const sameTable = go(unmapX(0x11000)); // vpn 17 shares X's PTE table
    expect(sameTable.verdict).toBe('pass');
    expect(freeSteps(sameTable)).toEqual([]);
    expect(tablesOfX(sameTable.state).every((t) => t !== null)).toBe(true);

    const samePmd = go(unmapX(0x14000)); // vpn 20: its own PTE table, X's PMD table
    expect(samePmd.verdict).toBe('pass');
    expect(freeSteps(samePmd)).toEqual(['free_pte_range.pmd_clear']);
    expect(tablesOfX(samePmd.state).map((t) => t !== null)).toEqual([false, true, true]);

    const alone = go(unmapX(null));
    expect(alone.verdict).toBe('pass');
    expect(freeSteps(alone)).toEqual(['free_pte_range.pmd_clear', 'free_pmd_range.pud_clear', 'free_pud_range.pgd_clear']);
    expect(tablesOfX(alone.state)).toEqual([null, null, null]);
    expect(pos(alone, 'T0', 'free_pte_range.pmd_clear')).toBeGreaterThan(pos(alone, 'T0', 'zap_pte_range.pte_unmap_unlock'));
  });

  it('clears the upper entry, then sets freed_tables, cleared_pmds and one page of range so INVLPG drops the PSC entries (step 3)', () => {
    const { r, seen } = observe(unmapX(null), at('T0', 'free_pte_range.pmd_clear'), (s, e) => {
      const g = s.tasks.T0!.gather!;
      const pmd = findTable(s, s.mms.P0!, vpn(X), 2)!;
      return {
        pmdEntry: pmd.entries![Math.floor(vpn(X) / 4) % 4],
        freedTables: g.freedTables,
        levels: [g.clearedPtes, g.clearedPmds, g.clearedPuds, g.clearedP4ds],
        range: [g.start, g.end],
        queued: g.tables.map((p) => s.frames[p]!.state),
        notes: e.notes.map((n) => [n.kind, n.held.includes('mmap_lock:P0')]),
      };
    });
    expect(r.verdict).toBe('pass');
    // the zap of X set cleared_ptes; pte_free_tlb() adds cleared_pmds; tlb_remove_table() comes next
    expect(seen).toEqual([{ pmdEntry: null, freedTables: true, levels: [true, true, false, false], range: [vpn(X), vpn(X) + 1], queued: [], notes: [['upper-clear', true]] }]);
    // CPU1 runs P0 and cached the walk to X; a ranged INVLPG, not a full flush, left no PSC entry to the freed tables
    expect(ids(r, 'ipi@cpu1')).toContain('flush_tlb_func.flush_tlb_one_user');
    const cpu = r.state.cpus[1]!;
    expect(cpu.loadedMm).toBe('P0');
    expect(cpu.psc.filter((p) => p.slot === cpu.loadedSlot)).toEqual([]);
  });

  it('queues the tables with tlb_remove_table and frees them only through RCU after the flush (step 4)', () => {
    const ptFrames = (s: KernelState) => s.frames.filter((f) => /^pt:P0:L[123]$/.test(f.lp)).map((f) => `${f.pfn}:${f.state}`);
    const { r, seen } = observe(
      unmapX(null, true),
      (e) => (e.actor === 'T0' && ['user_access.walk', 'tlb_table_flush.call_rcu', 'sys_munmap.return'].includes(e.id)) || e.actor === 'rcu',
      (s, e) => [e.id, ptFrames(s), s.rcu.callbacks.length] as const,
    );
    expect(r.verdict).toBe('pass'); // no-freed-table-reachable held throughout, with CPU1 lazy in P0
    const pfns = seen[0]![1].map((x) => x.split(':')[0]);
    expect(pfns).toHaveLength(3); // PUD, PMD and PTE tables of X
    const as = (state: string) => pfns.map((p) => `${p}:${state}`).sort();
    expect(seen.map(([id, frames, cbs]) => [id, [...frames].sort(), cbs])).toEqual([
      ['user_access.walk', as('pagetable'), 0],
      ['tlb_table_flush.call_rcu', as('pagetable'), 1], // queued, not freed
      ['sys_munmap.return', as('pagetable'), 1], // munmap returns with the tables still allocated
      ['rcu_do_batch.__tlb_remove_table', as('free'), 0],
    ]);
    expect(pos(r, 'T0', 'tlb_table_flush.call_rcu')).toBeGreaterThan(pos(r, 'T0', 'native_flush_tlb_multi.wait'));
    expect(ids(r, 'ipi@cpu1')).toEqual(['flush_tlb_func.switch_to_init_mm', 'csd_unlock']);
    expect(r.state.cpus[1]!.loadedMm).toBeNull(); // the lazy CPU can no longer walk into them
  });
});
