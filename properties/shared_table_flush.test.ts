// shared-table-flush fires when a host-side change frees the old page
// while an mm that reached the shared table still holds it (RFC v3: the
// host cpumask only; v3 with that flush; option (c)'s union that skips a
// dormant slot), and holds on v3's flush_tlb_all for the same scenarios;
// the mms come from the page tables: a table reached from several
// ordinary mms (hugetlb PMD sharing) counts, an mm that no longer reaches
// the table does not.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import type { CheckContext } from '../model/run/check.js';
import type { KernelState } from '../model/kernel/state.js';
import { anon, proc, scenario, scenarioFile as load, thread, write } from '../test/build.js';
import { X } from '../test/mutant_cases.js';
import { sharedTableFlush } from './shared_table_flush.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [sharedTableFlush] });
const pol = (name: string) => policyByName(name)!;
/** v3 whose host-side flush reaches the host's cpumask only, as RFC v3's. */
const v3HostCpumask: Policy = { ...pol('mshare-v3'), name: 'mshare-v3-host-cpumask', mshare: { ...pol('mshare-v3').mshare!, hostFlush: 'host-cpumask' } };

describe('shared-table-flush', () => {
  it("fires when the host's replace frees the page a sharer still maps (RFC v3: the host cpumask only)", () => {
    const sc = load('hazard7-pud-freed-while-linked');
    expect(check(sc, pol('mshare-v3')).verdict).toBe('pass');
    expect(check(sc, pol('mshare-rfc-v3')).violation).toEqual({
      property: 'shared-table-flush', holder: 'TLB', step: 66, actor: 'T1', stepId: 'remove_vma.fput',
      message: 'zap_pte_range.clear (step 57) changed entry 0 of the shared pte table 5; frame 6 is free while CPU0 PCID slot 0 (P0, which reached it at 0x40000) still maps 0x40000 -> frame 6',
    });
  });

  it("fires on v3 whose host-side flush is the host cpumask's, holds on v3's flush_tlb_all", () => {
    const sc = load('hazard7-pud-freed-while-linked');
    expect(check(sc, v3HostCpumask).violation).toMatchObject({ property: 'shared-table-flush', holder: 'TLB', message: expect.stringContaining('(P0, which reached it at 0x40000) still maps 0x40000') });
  });

  it("fires on a sharer's dormant slot at its own address (option (c): a cpumask union with no tlb_gen bump)", () => {
    const sc = load('hazard3-dormant-sharer-slot');
    expect(check(sc, pol('mshare-v3')).verdict).toBe('pass');
    expect(check(sc, pol('mshare-v3-cpumask-union')).violation).toMatchObject({
      holder: 'TLB', message: expect.stringMatching(/^zap_pte_range\.clear \(step \d+\) changed entry 0 of the shared pte table \d+; frame \d+ is free while CPU0 PCID slot 0 \(P0, which reached it at 0x80000\) still maps 0x80000 -> frame \d+$/),
    });
  });

  it('holds for a sharer that had unlinked before the change: it no longer reached the table', () => {
    // per-sharer flush misses the detached sharer's lazy PSC entry when the
    // host frees the table; that is no-freed-table-reachable's finding
    // (test/mshare.test.ts), not a sharer this change owed a flush
    const r = check(load('lazy-psc-detached-sharer'), pol('mshare-v3-per-sharer-flush'));
    expect(r.verdict).toBe('pass');
    expect(r.trace.some((e) => e.id === 'zap_pte_range.clear')).toBe(true);
  });

  describe('a PTE table reached from two ordinary mms (hugetlb PMD sharing\'s shape, linked by hand)', () => {
    /** P0 and P1 each wrote their page; P1's PMD entry is pointed at P0's PTE table, and CPU1 (P1) caches P0's page through it. */
    const shared = () => {
      const r = runScenario(scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P1', 1, write(X))],
      }), { policy: linux, properties: [] });
      const s = r.state;
      const pmd = (mm: string) => {
        let t = s.frames[s.mms[mm]!.pgd]!;
        for (let l = 4; l > 2; l--) t = s.frames[t.entries!.find((e) => e)!.pfn]!;
        return t;
      };
      const i = pmd('P0').entries!.findIndex((e) => e);
      pmd('P1').entries![i] = { ...pmd('P0').entries![i]! };
      const pte = s.frames[pmd('P0').entries![i]!.pfn]!;
      const j = pte.entries!.findIndex((e) => e);
      const page = pte.entries![j]!;
      const e1 = s.cpus[1]!.tlb.find((e) => e.vpn === X >> 12)!;
      Object.assign(e1, { pfn: page.pfn, ghost: page.ghost });
      return { s, pte, j, page };
    };
    const at = (s: KernelState, mem: Record<string, unknown>, n: number) => sharedTableFlush.check({ s, mem, stepCache: new Map(), event: { n, actor: 'T0', cpu: 0, id: `hand.${n}`, notes: [], locks: [] } } as unknown as CheckContext);
    /** P0 clears the PTE, flushes its own CPU only, and frees the page. */
    const clearAndFree = (s: KernelState, pte: ReturnType<typeof shared>['pte'], j: number, pfn: number) => {
      pte.entries![j] = null;
      s.cpus[0]!.tlb = [];
      Object.assign(s.frames[pfn]!, { state: 'free', refcount: 0, mapcount: 0 });
    };

    it("fires when P0 clears and frees the page while P1's CPU still maps it", () => {
      const { s, pte, j, page } = shared();
      const mem = {};
      expect(at(s, mem, 1)).toBeNull();
      clearAndFree(s, pte, j, page.pfn);
      expect(at(s, mem, 2)).toEqual({ holder: 'TLB', message: `hand.2 (step 2) changed entry ${j} of the shared pte table ${pte.pfn}; frame ${page.pfn} is free while CPU1 PCID slot 0 (P1, which reached it at 0x10000) still maps 0x10000 -> frame ${page.pfn}` });
    });

    it("holds when P1's CPU was flushed before the free", () => {
      const { s, pte, j, page } = shared();
      const mem = {};
      expect(at(s, mem, 1)).toBeNull();
      pte.entries![j] = null;
      expect(at(s, mem, 2)).toBeNull(); // cleared, not yet freed: inside the window
      s.cpus[0]!.tlb = [];
      s.cpus[1]!.tlb = [];
      Object.assign(s.frames[page.pfn]!, { state: 'free' });
      expect(at(s, mem, 3)).toBeNull();
      expect((mem as { owed: unknown[] }).owed).toEqual([]); // settled at the free
    });

    it('holds for the same entry when the table is not shared: the other mm never reached it', () => {
      const { s, pte, j, page } = shared();
      const p1Pmd = Object.values(s.frames).find((f) => f.state === 'pagetable' && f.level === 2 && f.owner === 'P1')!;
      const mem = {};
      const i = p1Pmd.entries!.findIndex((e) => e);
      const saved = p1Pmd.entries![i];
      p1Pmd.entries![i] = null; // P1 does not reach P0's PTE table: nothing shared
      expect(at(s, mem, 1)).toBeNull();
      p1Pmd.entries![i] = saved ?? null;
      clearAndFree(s, pte, j, page.pfn);
      expect(at(s, mem, 2)).toBeNull();
    });
  
    it("fires on a PSC entry: P0 unlinks and frees a PTE table under the shared PMD table while P1's CPU still caches it", () => {
      const r = runScenario(scenario({
        setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P1', 1, write(X))],
      }), { policy: linux, properties: [] });
      const s = r.state;
      const down = (mm: string, to: number) => {
        let t = s.frames[s.mms[mm]!.pgd]!;
        for (let l = 4; l > to; l--) t = s.frames[t.entries!.find((e) => e)!.pfn]!;
        return t;
      };
      const pud1 = down('P1', 3);
      const i = pud1.entries!.findIndex((e) => e);
      const pmd0 = down('P0', 2);
      pud1.entries![i] = { pfn: pmd0.pfn, ghost: pmd0.allocId, writable: true, accessed: false, dirty: false, protNone: false }; // P1 links P0's PMD table
      const pte0 = down('P0', 1);
      const psc = s.cpus[1]!.psc.find((p) => p.level === 1)!;
      Object.assign(psc, { pfn: pte0.pfn, ghost: pte0.allocId }); // CPU1 walked P1's range through it
      const mem = {};
      expect(at(s, mem, 1)).toBeNull();
      const j = pmd0.entries!.findIndex((e) => e);
      pmd0.entries![j] = null; // P0's free_pgtables: pmd_clear, then the table is freed
      s.cpus[0]!.psc = [];
      s.cpus[0]!.tlb = [];
      s.cpus[1]!.tlb = [];
      expect(at(s, mem, 2)).toBeNull();
      Object.assign(pte0, { state: 'free' });
      expect(at(s, mem, 3)).toEqual({ holder: 'PSC', message: `hand.2 (step 2) changed entry ${j} of the shared pmd table ${pmd0.pfn}; the pte table at frame ${pte0.pfn} is free while CPU1 PCID slot 0 (P1, which reached it at 0x10000) still caches it` });
    });
  });
});
