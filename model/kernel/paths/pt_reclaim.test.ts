// The ordering contract of pt_reclaim.ts (CONFIG_PT_RECLAIM in the zap
// path), one test per numbered step of its header, plus the PMD recheck
// every other PTL taker now needs (pte_offset_map.ts).

import { describe, expect, it } from 'vitest';
import { policyByName } from '../../policies/registry.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { propertyById } from '../../../properties/registry.js';
import { anon, idle, madvise, munmap, proc, read, run, scenario, scenarioFile, thread, until, va as vpn, write } from '../../../test/build.js';
import { expectOrder, go, ids, observe, Q, X, Y } from '../../../test/trace.js';
import type { Scenario } from '../../run/scenario.js';
import { findTable } from '../pagetable.js';
import type { KernelState } from '../state.js';

const Z = X + 0x2000; // the third page of X's PTE table
/** T0 faults X and Y in, then MADV_DONTNEEDs `pages` from X (4: the whole PTE table 16..19). */
const dontneed = (pages: number, extra: Partial<Scenario> = {}) =>
  scenario({ setup: [proc('P0'), anon('P0', X, 4)], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X, pages))], ...extra });
const pteTable = (s: KernelState) => findTable(s, s.mms.P0!, vpn(X), 1)?.pfn ?? null;
const reclaimIds = (id: string) => /^(zap_empty_pte_table|zap_pte_table_if_empty|pte_free_tlb)/.test(id);

describe('pt_reclaim.ts: MADV_DONTNEED frees the PTE tables it empties', () => {
  it('reclaims only for a DONTNEED covering the whole table with CONFIG_PT_RECLAIM on; munmap leaves it to free_pgtables (step 1)', () => {
    const whole = go(dontneed(4));
    expect(whole.verdict).toBe('pass');
    expect(ids(whole, 'T0').filter(reclaimIds)).toEqual(['zap_empty_pte_table.pmd_clear', 'pte_free_tlb']);
    expect(pteTable(whole.state)).toBeNull();
    expect(whole.coverage.pt_reclaim_free).toBe(1);

    for (const r of [go(dontneed(2)), go(dontneed(4, { config: { ptReclaim: 0 } }))]) {
      expect(r.verdict).toBe('pass');
      expect(ids(r, 'T0').filter(reclaimIds)).toEqual([]);
      expect(pteTable(r.state)).not.toBeNull(); // empty, still linked
    }
    const unmapped = go(scenario({ setup: [proc('P0'), anon('P0', X, 4)], threads: [thread('T0', 'P0', 0, write(X), munmap(X, 4))] }));
    expect(ids(unmapped, 'T0').filter(reclaimIds)).toEqual([]);
    expect(ids(unmapped, 'T0')).toContain('free_pte_range.pmd_clear');
  });

  it('clears the PMD entry under the PTL and the PMD lock, in the hold that zapped the whole table (step 2)', () => {
    const { r, seen } = observe(dontneed(4), (e) => e.id === 'zap_empty_pte_table.pmd_clear', (s, e) => ({ pmd: pteTable(s), locks: e.locks, notes: e.notes.map((n) => [n.kind, n.held]) }));
    expect(r.verdict).toBe('pass');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.pmd).toBeNull();
    // MADV_DONTNEED of one VMA runs under its per-VMA lock (v6.17+); the trylocked split PMD lock is dropped within the step
    expect(seen[0]!.locks).toEqual([expect.stringMatching(/^ptl:/), 'vma_lock:P0:0x10000']);
    expect(seen[0]!.notes).toEqual([['upper-clear', [expect.stringMatching(/^pmd_lock:/), expect.stringMatching(/^ptl:/), 'vma_lock:P0:0x10000']]]);
    expectOrder(r, ['T0', 'zap_pte_range.clear'], ['T0', 'zap_empty_pte_table.pmd_clear'], ['T0', 'zap_pte_range.pte_unmap_unlock'], ['T0', 'pte_free_tlb']);
  });

  it('after a need_resched() break, or a failed trylock, rechecks the table under the PMD lock and the PTL (step 3)', () => {
    const resched = go(dontneed(4, { choices: [{ actor: 'T0', point: 'zap_pte_range.need_resched', nth: 1 }] }));
    expect(resched.verdict).toBe('pass');
    expect(ids(resched, 'T0').filter((id) => id.startsWith('zap_') || id === 'pte_free_tlb')).toEqual([
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.need_resched', 'zap_pte_range.pte_unmap_unlock',
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.pte_unmap_unlock',
      'zap_pte_table_if_empty.pmd_lock', 'zap_pte_table_if_empty.spin_lock_nested', 'zap_pte_table_if_empty.pmd_clear',
      'zap_pte_table_if_empty.spin_unlock', 'zap_pte_table_if_empty.pmd_unlock', 'pte_free_tlb',
    ]);
    expect(pteTable(resched.state)).toBeNull();

    // T1 holds the split PMD lock of X's PMD table, installing the PTE table of page 20 (0x14000) beside X's, when T0 tries it
    const busy = go(scenario({
      setup: [proc('P0'), anon('P0', X, 4), anon('P0', 0x14000, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, write(0x14000))],
      schedule: [until('T0', 'zap_pte_range.clear'), until('T1', 'pmd_install.pmd_lock'), run('T0'), run('T1'), run('T0')],
    }));
    expect(busy.verdict).toBe('pass');
    expect(ids(busy, 'T0')).not.toContain('zap_empty_pte_table.pmd_clear');
    expectOrder(busy, ['T0', 'zap_pte_range.pte_unmap_unlock'], ['T1', 'pmd_install.spin_unlock'], ['T0', 'zap_pte_table_if_empty.pmd_lock'], ['T0', 'zap_pte_table_if_empty.pmd_clear'], ['T0', 'pte_free_tlb']);
    // a PMD lock of another PMD table (Q's) does not stand in T0's way
    const other = go(scenario({
      setup: [proc('P0'), anon('P0', X, 4), anon('P0', Q, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, write(Q))],
      schedule: [until('T0', 'zap_pte_range.clear'), until('T1', 'pmd_install.pmd_lock'), run('T0'), run('T1')],
    }));
    expect(other.verdict).toBe('pass');
    expect(ids(other, 'T0')).toContain('zap_empty_pte_table.pmd_clear');
  });

  it('keeps the table when a fault refilled it between the last PTL hold and the recheck (step 3)', () => {
    const r = go(scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4), read(Z)), thread('T1', 'P0', 1, write(Z))],
      schedule: [until('T0', 'zap_pte_range.need_resched'), until('T0', 'zap_pte_range.pte_unmap_unlock'), until('T0', 'zap_pte_range.pte_unmap_unlock'), run('T1'), run('T0')],
      choices: [{ actor: 'T0', point: 'zap_pte_range.need_resched', nth: 0 }],
    }));
    expect(r.verdict).toBe('pass'); // T0 reads T1's value at Z: the PTE was not freed with the table
    expect(ids(r, 'T0').filter(reclaimIds)).toEqual(['zap_pte_table_if_empty.pmd_lock', 'zap_pte_table_if_empty.spin_lock_nested', 'zap_pte_table_if_empty.spin_unlock', 'zap_pte_table_if_empty.pmd_unlock']);
    expect(pteTable(r.state)).not.toBeNull();
  });

  it('frees through the gather: freed_tables and the table start in the flush, then RCU after it (step 4)', () => {
    const { r, seen } = observe(dontneed(4), (e) => e.id === 'pte_free_tlb', (s) => {
      const g = s.tasks.T0!.gather!;
      return { start: g.start, end: g.end, freedTables: g.freedTables, queued: g.tables.length, locks: s.locks['page_table_lock:P0']?.holders.length ?? 0 };
    });
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ start: vpn(X), end: vpn(X) + 2, freedTables: true, queued: 1, locks: 0 }]);
    expectOrder(r, ['T0', 'pte_free_tlb'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T0', 'tlb_table_flush.call_rcu'], ['rcu', 'rcu_do_batch.__tlb_remove_table']);

    // a lazy CPU whose PSC may hold the table is sent to init_mm by the freed_tables flush
    const lazy = go(scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, read(X), idle)],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    }));
    expect(lazy.verdict).toBe('pass');
    expect(lazy.coverage.lazy_cpu_to_init_mm).toBeGreaterThan(0);
    expect(lazy.coverage.pt_reclaim_free).toBe(1);
  });
});

describe('pte_offset_map.ts: a PTL taker rechecks the PMD entry once it holds the lock', () => {
  it('sends a fault that waited for the PTL of a reclaimed table round again, into a new table', () => {
    const r = go(scenario({
      setup: [proc('P0'), anon('P0', X, 4)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X, 4)), thread('T1', 'P0', 1, write(Y), read(Y))],
      schedule: [until('T0', 'zap_pte_range.pte_offset_map_lock'), until('T1', 'do_anonymous_page.alloc'), run('T1'), run('T0'), run('T1')],
    }));
    expect(r.verdict).toBe('pass');
    const t1 = ids(r, 'T1');
    expect(t1).toContain('do_anonymous_page.pte_offset_map_lock.pmd_changed');
    expect(t1.filter((id) => id === 'pmd_populate')).toHaveLength(1); // the retried fault installs a fresh PTE table
    expectOrder(r, ['T0', 'zap_empty_pte_table.pmd_clear'], ['T1', 'do_anonymous_page.pte_offset_map_lock'], ['T1', 'do_anonymous_page.pte_offset_map_lock.pmd_changed'], ['T1', 'pmd_populate'], ['T1', 'do_anonymous_page.set_pte_at']);
  });
});

describe('pt_reclaim.ts under the mshare designs (research B8)', () => {
  const sc = scenarioFile('b8-reclaim-through-sharer');
  const tables = [propertyById('no-freed-table-reachable')!];
  const verdict = (name: string, ptReclaim: number) => runScenario({ ...sc, config: { ...sc.config, ptReclaim } }, { policy: policyByName(name)!, properties: tables });

  it("frees no host PTE table under any posted design: DONTNEED on a window zaps nothing (v2) or unlinks (v3) (issue 10)", () => {
    for (const name of ['mshare-v2', 'mshare-v3', 'mshare-v3-cpumask-union', 'mshare-v3-per-sharer-flush', 'mshare-v3-proposed']) expect(verdict(name, 1).verdict, name).toBe('pass');
  });

  it("frees a host PTE table through a sharer's DONTNEED with only that sharer flushed, where madvise through the window zaps the host's tables ('allowed')", () => {
    const allowed = (name: string) => applyVariant(policyByName(name)!, defineVariant({ name: 'madvise-zaps-through-link', description: "madvise: 'allowed'", edit: (v) => v.knobs({ madvise: 'allowed' }) }));
    const verdictOf = (name: string, ptReclaim: number) => runScenario({ ...sc, config: { ...sc.config, ptReclaim } }, { policy: allowed(name), properties: tables });
    for (const name of ['mshare-v2', 'mshare-v3', 'mshare-v3-cpumask-union', 'mshare-v3-per-sharer-flush']) {
      const r = verdictOf(name, 1);
      expect(r.violation, name).toMatchObject({ property: 'no-freed-table-reachable', holder: 'PSC', actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table' });
      expect(r.violation!.message, name).toMatch(/^CPU1 PCID slot \d+ \(P1\) caches a pte table/);
      expect(verdictOf(name, 0).verdict, `${name} without PT_RECLAIM`).toBe('pass');
    }
  });
});
