// no-freed-table-reachable fires on each holder of a freed page table (a
// live upper-level entry, a usable PSC entry, lazy or not, a lockless
// walker), at the step that frees it, and holds on the correct design for
// the same scenario.

import { describe, expect, it } from 'vitest';
import { allocFrame, allocTable, freeFrame } from '../model/kernel/frames.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import { mmId } from '../model/kernel/types.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, idle, munmap, proc, read, run, scenario, scenarioFile as load, thread, until, write } from '../test/build.js';
import { X, zapWhileCached } from '../test/mutant_cases.js';
import noIpi from '../variants/no-ipi.js';
import skipLazy from '../variants/skip-lazy-on-table-free.js';
import { noFreedTableReachable } from './no_freed_table_reachable.js';
import type { CheckContext } from './property.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [noFreedTableReachable] });
const pol = (name: string) => policyByName(name)!;

/** T0 maps X and munmaps it (freeing its tables) while T1 on CPU1 has walked them: `then` is T1's op after its read. */
const munmapWhileWalked = (then: Scenario['threads'][number]['ops'][number]) =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), munmap(X)), thread('T1', 'P0', 1, read(X), then)],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T0')],
  });

/** __pte_alloc frees the table it just linked and, in the same step, the allocator hands the frame out again. */
const relinkedTable = (as: 'data' | 'table') =>
  applyVariant(
    linux,
    defineVariant({
      name: `pte-alloc-frees-linked-table-${as}`,
      description: '__pte_alloc frees the table it just populated',
      edit: (v) =>
        v.insertAfter('__pte_alloc.populate', {
          id: '__pte_alloc.free_linked',
          *fn(k, c: FaultCtx) {
            freeFrame(k.s, k.s.frames[c.newTable!]!);
            if (as === 'data') allocFrame(k.s, 'anon:P0:reused');
            else allocTable(k.s, mmId('P0'), 1);
            yield { id: '__pte_alloc.free_linked' };
          },
        }),
    }),
  );

describe('no-freed-table-reachable', () => {
  it('fires when an upper entry still links a freed table (mshare v2 frees the shared PUD table)', () => {
    expect(check(load('hazard7-pud-freed-while-linked'), pol('mshare-v3')).verdict).toBe('pass');
    expect(check(load('hazard7-pud-freed-while-linked'), pol('mshare-v2')).violation).toEqual({
      property: 'no-freed-table-reachable', holder: 'upper entry', step: 76, actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table',
      message: 'pgd entry 1 of P0 points to table 3, which is free',
    });
  });

  it('fires when an upper entry links a frame reallocated as data or as another table', () => {
    expect(check(zapWhileCached(), relinkedTable('data')).violation).toEqual({
      property: 'no-freed-table-reachable', holder: 'upper entry', step: 12, actor: 'T0', stepId: 'pte-alloc-frees-linked-table-data:__pte_alloc.free_linked', // named under the variant that inserted it
      message: 'pgd entry 0 of P0 points to table 1, which is reallocated as anon:P0:reused',
    });
    expect(check(zapWhileCached(), relinkedTable('table')).violation).toMatchObject({
      stepId: 'pte-alloc-frees-linked-table-table:__pte_alloc.free_linked', message: 'pgd entry 0 of P0 points to table 1, which is reallocated as pt:P0:L1',
    });
  });

  it("fires on a running CPU's paging-structure cache when the flush sends no IPI", () => {
    const sc = munmapWhileWalked(read(X));
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, applyVariant(linux, noIpi)).violation).toEqual({
      property: 'no-freed-table-reachable', holder: 'PSC', step: 60, actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table',
      message: 'CPU1 PCID slot 0 (P0) caches a pud table at frame 1, which is free',
    });
  });

  it("fires on a lazy CPU's paging-structure cache when lazy CPUs are skipped (before commit 2ff6ddf19c0e)", () => {
    const sc = scenario({ ...munmapWhileWalked(idle), schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')] });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, applyVariant(linux, skipLazy)).violation).toEqual({
      property: 'no-freed-table-reachable', holder: 'PSC', step: 62, actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table', // 62 since the mutant answers the freed_tables decision point: native_flush_tlb_multi.send is a step even with no IPI sent
      message: 'CPU1 PCID slot 0 (P0, lazy) caches a pud table at frame 1, which is free',
    });
  });

  it("calls a PSC entry lazy only under the lazy CPU's loaded slot", () => {
    // Direct call on the state of the run above, edited: the same stale
    // entry moved to a dormant slot that is usable because its tlb_gen is
    // current. No scenario here leaves a stale PSC entry in a dormant slot
    // of a lazy CPU.
    const sc = scenario({ ...munmapWhileWalked(idle), schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')] });
    const r = check(sc, applyVariant(linux, skipLazy));
    const cpu = r.state.cpus[1]!;
    const mm = r.state.mms[mmId('P0')]!;
    cpu.slots[1] = { ctxId: mm.ctxId, tlbGen: mm.tlbGen };
    for (const p of cpu.psc) p.slot = 1;
    expect(noFreedTableReachable.check({ s: r.state, mem: {}, stepCache: new Map() } as unknown as CheckContext)?.message).toBe('CPU1 PCID slot 1 (P0) caches a pud table at frame 1, which is free');
  });

  it('fires on a lockless walker in tables freed under it (get_user_pages through a sharer, hazard 16)', () => {
    expect(check(load('hazard16-gup-walker'), pol('mshare-v3-proposed')).verdict).toBe('pass');
    expect(check(load('hazard16-gup-walker'), pol('mshare-v3')).violation).toEqual({
      property: 'no-freed-table-reachable', holder: 'walker', step: 80, actor: 'rcu', stepId: 'rcu_do_batch.__tlb_remove_table',
      message: 'T0 is walking table 4 locklessly, which is free',
    });
  });
});
