// no-stale-psc-after-unlink fires when a detach returns while a usable
// paging-structure-cache entry of the detached sharer still caches the
// host's table (a v3 unlink that does not flush; a lazy CPU the unlink
// flush skips), and holds on v3's own unlink, inside the window, and
// where the link stays (RFC v3's detach, which unmap-complete reports).

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { CheckContext } from '../model/run/check.js';
import type { Scenario } from '../model/run/scenario.js';
import { parseScenario } from '../reports/scenario_text.js';
import { anon, munmap, proc, read, scenario, scenarioFile, thread, until, write } from '../test/build.js';
import { X } from '../test/mutant_cases.js';
import noIpi from '../variants/no-ipi.js';
import { noStalePscAfterUnlink } from './no_stale_psc_after_unlink.js';
import { propertyById } from './registry.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [noStalePscAfterUnlink] });
const pol = (name: string) => policyByName(name)!;
const text = (...lines: string[]) => parseScenario([...lines, ''].join('\n'), 'inline');
/** v3's mshare_vm_op_unshare_page_range() without its tlb_flush_p4d_range(). */
const unlinkNoFlush = applyVariant(pol('mshare-v3'), defineVariant({
  name: 'v3-unlink-no-flush',
  description: "v3's unlink clears the sharer's PGD entry and flushes nothing",
  edit: (v) => v.drop('mshare_vm_op_unshare_page_range.tlb_flush_p4d_range'),
}));
const header = ['config cpus=2', 'process P0', 'process P1', 'msharefs M owner=P1', 'mshare_map M offset=0 pages=1 prot=rw'];
/** P0 attaches, walks the host's tables (its PSC caches them) and detaches. */
const detach = text(...header, 'thread T0 P0 cpu=0', '  attach M 0x40000', '  read 0x40000', '  munmap 0x40000 pages=64');

describe('no-stale-psc-after-unlink', () => {
  it("fires when a detach returns while the sharer's PSC still caches the host's PUD table (v3 unlink without its flush)", () => {
    expect(check(detach, pol('mshare-v3')).verdict).toBe('pass');
    const r = check(detach, unlinkNoFlush);
    expect(r.violation).toEqual({
      property: 'no-stale-psc-after-unlink', holder: 'PSC', step: 60, actor: 'T0', stepId: 'sys_munmap.return',
      message: 'munmap of 0x40000+64 in P0 returned while CPU0 PCID slot 0 (P0) still caches the pud table at frame 3 for 0x40000, which P0 no longer links there (pt:M.host:L3)',
    });
    // the table is live: the host still links it, nothing was freed
    expect(r.state.frames[3]).toMatchObject({ state: 'pagetable', owner: 'M.host' });
  });

  it('holds inside the window: the unlink is done, the call has not returned', () => {
    const r = check(detach, unlinkNoFlush);
    const cleared = r.trace.find((e) => e.id === 'mshare_vm_op_unshare_page_range.p4d_clear')!;
    expect(r.violation?.step).toBeGreaterThan(cleared.n + 1); // the entry is stale from p4d_clear on, reported only at the return
    expect(r.violation?.stepId).toBe('sys_munmap.return');
  });

  it("fires on a lazy CPU's PSC entry: v3's unlink flush (no freed_tables) skips lazy CPUs", () => {
    // P0 idles on CPU0 (lazy), T4 detaches from CPU1. The entry is harmless
    // while every host-side table free is flush_tlb_all (v3); where the host
    // flush reaches i_mmap only it becomes a freed-table walk (test/mshare.test.ts).
    const sc = scenarioFile('lazy-psc-detached-sharer');
    expect(check(sc, pol('mshare-v3')).violation).toMatchObject({
      actor: 'T4', stepId: 'sys_munmap.return',
      message: 'munmap of 0x80000+64 in P0 returned while CPU0 PCID slot 0 (P0, lazy) still caches the pud table at frame 3 for 0x80000, which P0 no longer links there (pt:M.host:L3)',
    });
  });

  it('holds where the detach keeps the link (RFC v3): the PSC entry matches the tables', () => {
    const r = check(detach, pol('mshare-rfc-v3'));
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[0]!.psc.some((p) => p.pfn === 3)).toBe(true);
  });

  it('leaves tables munmap frees to no-freed-table-reachable: silent while they wait for RCU', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), read(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T0', 'sys_munmap.return')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    // without the IPI CPU1 keeps PSC entries into the unlinked PMD/PTE
    // tables, which sit in an RCU callback when munmap returns
    let atReturn = -1; // CPU1's PSC entries into queued tables when munmap returns
    const probe = { id: 'probe', check: ({ s, event }: CheckContext) => {
      if (event.id !== 'sys_munmap.return') return null;
      const queued = [...s.rcu.callbacks.flatMap((cb) => cb.tables), ...Object.values(s.tasks).flatMap((x) => x.gather?.tables ?? [])];
      atReturn = s.cpus[1]!.psc.filter((p) => queued.includes(p.pfn)).length;
      return null;
    } };
    expect(runScenario(sc, { policy: applyVariant(linux, noIpi), properties: [noStalePscAfterUnlink, probe] }).verdict).toBe('pass');
    expect(atReturn).toBeGreaterThan(0);
    // once RCU frees them, no-freed-table-reachable reports them
    expect(runScenario(sc, { policy: applyVariant(linux, noIpi), properties: [propertyById('no-freed-table-reachable')!] }).violation).toMatchObject({ holder: 'PSC', stepId: 'rcu_do_batch.__tlb_remove_table' });
  });

  it("holds for a dormant PCID slot the unlink's tlb_gen bump made unusable", () => {
    // T0 leaves P0's PSC entries in CPU0's slot 0 and P2's thread takes the
    // CPU (P0's slot goes dormant, CPU0 leaves P0's cpumask); T4 detaches
    // P0 from CPU1. The flush bumps P0's tlb_gen: a switch back to P0
    // would flush the slot, so its entries are no longer usable.
    const sc = text(...header, 'process P2',
      'thread T0 P0 cpu=0', '  attach M 0x40000', '  read 0x40000',
      'thread T2 P2 cpu=0', '  munmap 0x10000 pages=1',
      'thread T4 P0 cpu=1', '  munmap 0x40000 pages=64',
      'schedule', '  T0', '  T2', '  T4');
    const r = check(sc, pol('mshare-v3'));
    expect(r.verdict).toBe('pass');
    const cpu0 = r.state.cpus[0]!;
    const stale = cpu0.psc.filter((p) => r.state.frames[p.pfn]!.lp === 'pt:M.host:L3');
    expect(stale).toHaveLength(1);
    expect(cpu0.slots[stale[0]!.slot]!.tlbGen).toBeLessThan(r.state.mms.P0!.tlbGen);
  });
});
