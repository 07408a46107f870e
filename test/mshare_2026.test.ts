// mshare 2026 (policy mshare-2026, model/kernel/paths/mshare_2026.ts): the
// hazards of the sharer list as hand-written scenarios in test/scenarios/,
// each run on the policy's (safe) reading and on the unsafe reading of the
// knob the talk leaves open. Property by property, so one finding does not
// hide another.

import { describe, expect, it } from 'vitest';
import type { MshareKnobs } from '../model/kernel/mshare/knobs.js';
import { MSHARE_2026_SOURCES } from '../model/policies/mshare.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import joinAfterLinkVariant from '../variants/m2026-join-after-link.js';
import leaveAtUnlinkVariant from '../variants/m2026-leave-at-unlink.js';
import noFreedTablesVariant from '../variants/m2026-list-no-freed-tables.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { scenarioFile as load } from './build.js';

const m2026 = policyByName('mshare-2026')!;
const joinAfterLink = applyVariant(m2026, joinAfterLinkVariant);
const leaveAtUnlink = applyVariant(m2026, leaveAtUnlinkVariant);
const noFreedTables = applyVariant(m2026, noFreedTablesVariant);
const check = (scenario: string, policy: Policy, property: string) => runScenario(load(scenario), { policy, properties: [propertyById(property)!] });
const all = (scenario: string, policy: Policy) => runScenario(load(scenario), { policy, properties: PROPERTIES });

describe('mshare-2026: the policy', () => {
  it('is registered, dated 2026-05, and every knob it sets has a source', () => {
    expect(m2026.date).toBe('2026-05');
    const knobs = m2026.mshare!;
    expect(knobs).toMatchObject({ api: 'syscalls', hostFlush: 'sharer-list', listJoin: 'at-attach', listLeave: 'after-unlink-flush', listFreedTables: 'host-gather', listNotifiers: 'secondary-tlbs-only', owner: true });
    for (const k of Object.keys(knobs)) {
      const src = MSHARE_2026_SOURCES[k as keyof MshareKnobs];
      expect(src, k).toBeDefined();
      expect(src!.cite).toContain('https://lwn.net/Articles/1072333/');
      expect(['talk', 'unknown']).toContain(src!.status);
    }
  });

  it('runs the whole API (create, ftruncate, attach, map, advise, protect, close) with every property holding', () => {
    const r = all('m2026-lifecycle', m2026);
    expect(r.verdict).toBe('pass');
    const ids = r.trace.map((e) => e.id);
    for (const id of ['mshare_create', 'do_ftruncate.mshare_setattr', 'mshare_attach.window_vma', 'mshare_sharer_add.list_add', 'mshare_map.mmap_region', 'sys_mshare_advise.return', 'sys_mshare_protect.return', 'filp_flush.mshare_clear_owner']) expect(ids, id).toContain(id);
    // each host-side change walks the list and flushes the sharers one at a time, each with its own flush_tlb_mm_range()
    const walk = ids.indexOf('mshare_flush_sharers.spin_lock');
    expect(ids.slice(walk, ids.indexOf('mshare_flush_sharers.spin_unlock', walk)).filter((x) => x === 'mshare_flush_sharers.next')).toHaveLength(2);
  });
});

describe('mshare-2026: list hazard 1, a sharer that links after the traversal passed it', () => {
  it('joining after the link (listJoin after-link) misses a sharer that cached the old PTE before the change: unmap-complete', () => {
    const r = check('m2026-join-after-link', joinAfterLink, 'unmap-complete');
    expect(r.violation).toMatchObject({ property: 'unmap-complete', holder: 'TLB', stepId: 'sys_mshare_advise.return' });
    expect(r.violation!.message).toMatch(/madvise of 0x40000\+1 in M\.host returned while CPU1 PCID slot \d+ \(sharer P1\) still maps 0x80000/);
  });

  it('joining at mshare_attach (the policy) holds on every property', () => {
    expect(all('m2026-join-after-link', m2026).verdict).toBe('pass');
  });

  it('a sharer that links only after the change holds under both readings: it never saw the old PTE', () => {
    for (const p of [m2026, joinAfterLink]) {
      const r = all('m2026-link-after-traversal', p);
      expect(r.verdict).toBe('pass');
      const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
      // the interleaving is the one the scenario claims: the link comes after the host PTE was cleared
      expect(ids.indexOf('T1:find_shared_vma.set_p4d')).toBeGreaterThan(ids.indexOf('T0:zap_pte_range.clear'));
    }
  });
});

describe('mshare-2026: list hazard 2, a sharer that leaves the list before its own unlink flush completes', () => {
  it('leaving in the unlink hook (listLeave at-unlink) lets the owner free a page the leaving sharer still caches', () => {
    const r = check('m2026-leave-before-flush', leaveAtUnlink, 'no-freed-frame-reachable');
    expect(r.violation).toMatchObject({ property: 'no-freed-frame-reachable', holder: 'TLB', stepId: 'remove_vma.fput' });
    expect(r.violation!.message).toMatch(/CPU1 PCID slot \d+ \(P1\) maps 0x80000 -> frame \d+, which is free/);
  });

  it('leaving in remove_vma, after tlb_finish_mmu (the policy), holds on every property', () => {
    const r = all('m2026-leave-before-flush', m2026);
    expect(r.verdict).toBe('pass');
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    expect(ids.indexOf('T1:mshare_sharer_del.list_del')).toBeGreaterThan(ids.lastIndexOf('T1:tlb_finish_mmu.dec_tlb_flush_pending'));
  });
});

describe('mshare-2026: freed tables through the list', () => {
  it("the owner's close frees the region's tables; a per-sharer flush without freed_tables skips the lazy sharer CPU (PSC)", () => {
    const r = check('m2026-lazy-sharer-close', noFreedTables, 'no-freed-table-reachable');
    expect(r.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'PSC' });
    expect(r.violation!.message).toContain('(P1, lazy)');
  });

  it("with the host gather's freed_tables (the policy) the lazy CPU is sent to init_mm", () => {
    const r = all('m2026-lazy-sharer-close', m2026);
    expect(r.verdict).toBe('pass');
    expect(r.trace.some((e) => e.id === 'flush_tlb_func.switch_to_init_mm')).toBe(true);
  });
});

describe("mshare-2026: a detached sharer's lazy CPU (v3's unlink flush carries no freed_tables)", () => {
  it('leaving the list after the unlink flush is not enough: that flush skips the lazy CPU, whose PSC outlives the owner freeing the tables', () => {
    const r = check('m2026-lazy-psc-detached-sharer', m2026, 'no-freed-table-reachable');
    expect(r.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'PSC', stepId: 'rcu_do_batch.__tlb_remove_table' });
    expect(r.violation!.message).toMatch(/CPU0 PCID slot \d+ \(P0, lazy\) caches a pud table at frame \d+, which is free/);
    // the sharer left the list before the owner's walk, which therefore flushed no sharer at all
    const ids = r.trace.map((e) => `${e.actor}:${e.id}`);
    expect(ids.indexOf('T4:mshare_sharer_del.list_del')).toBeLessThan(ids.indexOf('T1:sys_close'));
  });
});
