// The ordering contract of madvise_free.ts (madvise(MADV_FREE)) and of
// reclaim's lazyfree branch (reclaim.ts, try_to_unmap_one.ts step 3').

import { describe, expect, it } from 'vitest';
import { anon, file, madvFree, proc, read, reclaim, run, scenario, scenarioFile, shared, thread, until, write } from '../../../test/build.js';
import { accesses, count, expectOrder, go, ids, observe, pteOf, X, Y } from '../../../test/trace.js';
import { PROPERTIES } from '../../../properties/registry.js';
import { linux } from '../../policies/linux.js';
import { applyVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import noTlbRemove from '../../../variants/madv-free-no-tlb-remove.js';
import noRedirtyCheck from '../../../variants/lazyfree-no-redirty-check.js';
import flushUnderPtl from '../../../patches/lazyfree-discard-flush-under-ptl.js';

const returnOf = (r: ReturnType<typeof go>, actor: string) => r.trace.find((e) => e.actor === actor && e.id === 'sys_madv_free.return')!.obs;
const written = (r: ReturnType<typeof go>, actor: string) => accesses(r, actor).map((e) => (e.obs as { value: number }).value);

describe('madvise_free.ts: madvise(MADV_FREE)', () => {
  it('takes the per-VMA read lock for a range inside one VMA and gathers once (steps 1, 2, 5)', () => {
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 2)], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvFree(X, 2))] }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'madvise_lock.lock_vma_under_rcu'], ['T0', 'tlb_gather_mmu.inc_tlb_flush_pending'], ['T0', 'madvise_free_pte_range.folio_mark_lazyfree'], ['T0', 'flush_tlb_mm_range.inc_mm_tlb_gen'], ['T0', 'tlb_finish_mmu.dec_tlb_flush_pending'], ['T0', 'madvise_unlock.vma_end_read']);
    expect(count(r, 'T0', 'madvise_free_pte_range.folio_mark_lazyfree')).toBe(2);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);
    expect(ids(r, 'T0')).not.toContain('madvise.mmap_read_lock');
    expect(returnOf(r, 'T0')).toMatchObject({ result: 'ok' });
  });

  it('clears young and dirty in the PTE, which stays present and writable, and marks the folio lazyfree (step 4)', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvFree(X))] });
    const before = observe(sc, (e) => e.actor === 'T0' && e.id === 'user_access.walk', (s) => pteOf(s, X)).seen[0];
    expect(before).toMatchObject({ accessed: true, dirty: true, writable: true });
    const r = go(sc);
    const pte = pteOf(r.state, X);
    expect(pte).toMatchObject({ accessed: false, dirty: false, writable: true });
    expect(r.state.frames[pte.pfn]!.lazyfree).toBe(true);
    // tlb_remove_tlb_entries() recorded the page: the gather's flush dropped CPU0's dirty entry
    expect(r.state.cpus[0]!.tlb.some((t) => t.pfn === pte.pfn)).toBe(false);
  });

  it('records nothing to flush for a PTE already old and clean, and still marks the folio lazyfree (step 4b)', () => {
    // the second MADV_FREE finds A and D clear: no tlb_remove_tlb_entries(), no flush
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvFree(X), madvFree(X))] }));
    expect(r.verdict).toBe('pass');
    expect(count(r, 'T0', 'madvise_free_pte_range.folio_mark_lazyfree')).toBe(2);
    expect(count(r, 'T0', 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(1);
  });

  it('fails with EINVAL on a shared file VMA and ENOMEM on a hole, advising what came before (step 3)', () => {
    const einval = go(scenario({ setup: [proc('P0'), file('F', 1), anon('P0', X, 1), shared('P0', Y, 1, 'F')], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvFree(X, 2))] }));
    expect(einval.verdict).toBe('pass');
    expect(returnOf(einval, 'T0')).toMatchObject({ result: 'EINVAL' });
    expect(count(einval, 'T0', 'madvise_free_pte_range.folio_mark_lazyfree')).toBe(1);
    expect(ids(einval, 'T0')).toContain('madvise_free_single_vma.einval');
    const hole = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvFree(X, 2))] }));
    expect(returnOf(hole, 'T0')).toMatchObject({ result: 'ENOMEM' });
    expect(ids(hole, 'T0')).toContain('madvise.mmap_read_lock'); // a range past the VMA: mmap_read_lock
    expect(count(hole, 'T0', 'madvise_free_pte_range.folio_mark_lazyfree')).toBe(1);
  });
});

describe('reclaim of a lazyfree folio (reclaim.ts, try_to_unmap_one.ts step 3\')', () => {
  it('discards a clean lazyfree folio, frees it after the batch flush, and a read faults in zero', () => {
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvFree(X), reclaim(X), read(X))] }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'rmap_walk_anon.anon_vma_lock_read'], ['T0', 'try_to_unmap_one.lazyfree_discard'], ['T0', 'shrink_folio_list.lazyfree_freed'], ['T0', 'free_unref_folios']);
    expect(written(r, 'T0')).toEqual([1, 0]);
    expect(r.coverage.lazyfree_folio_discarded).toBe(1);
  });

  it('keeps a folio written after MADV_FREE: the PTE is restored and the folio is swap-backed again', () => {
    const r = go(scenarioFile('lazyfree-redirtied-kept.txt'));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('try_to_unmap_one.lazyfree_redirtied');
    expect(ids(r, 'T0')).not.toContain('free_unref_folios');
    const pte = pteOf(r.state, X);
    expect(pte.dirty).toBe(true);
    expect(r.state.frames[pte.pfn]!.lazyfree).toBeUndefined();
    expect(written(r, 'T0')).toEqual([1, 2, 2]);
    expect(r.coverage.lazyfree_folio_redirtied).toBe(1);
  });

  it('does nothing to an anonymous folio that is not lazyfree (no swap in the model)', () => {
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), reclaim(X), read(X))] }));
    expect(ids(r, 'T0')).toContain('shrink_folio_list.nothing_to_reclaim');
    expect(written(r, 'T0')).toEqual([1, 1]);
  });

  it('lets a CPU read the old value through its stale entry in the batched-flush window, then zero (R3, holds on linux)', () => {
    const r = go(scenarioFile('lazyfree-discarded-reads-zero.txt'));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('try_to_unmap_one.lazyfree_discard');
    expect(written(r, 'T1')).toEqual([1, 1, 0]);
  });
});

describe('the hardware D bit after MADV_FREE (access.ts, the mutants)', () => {
  it('madv-free-no-tlb-remove: a store through the entry filled dirty leaves the PTE clean and reclaim discards it', () => {
    const sc = scenarioFile('madv-free-stale-dirty-write.txt');
    const good = go(sc);
    expect(good.verdict).toBe('pass');
    expect(ids(good, 'T1')).toContain('try_to_unmap_one.lazyfree_redirtied');
    expect(good.coverage.madv_free_stale_dirty_write).toBe(0);
    const bad = runScenario(sc, { policy: applyVariant(linux, noTlbRemove), properties: PROPERTIES });
    expect(bad.coverage.madv_free_stale_dirty_write).toBe(1);
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
  });

  it('lazyfree-no-redirty-check: a folio written after MADV_FREE is discarded', () => {
    const bad = runScenario(scenarioFile('lazyfree-redirtied-kept.txt'), { policy: applyVariant(linux, noRedirtyCheck), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0', stepId: 'user_access.walk' });
  });

  it('a store through a TLB entry filled clean walks again and sets D in the PTE', () => {
    // T1 on CPU1 read X after MADV_FREE: its entry is clean; its store must re-walk (Intel SDM 4.8)
    const r = go(scenario({
      config: { cpus: 2 },
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvFree(X)), thread('T1', 'P0', 1, read(X), write(X))],
      schedule: [run('T0'), until('T1', 'user_access.walk'), run('T1')],
    }));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T1').filter((id) => id.startsWith('user_access.'))).toEqual(['user_access.walk', 'user_access.walk']);
    expect(pteOf(r.state, X).dirty).toBe(true);
  });
});

describe('docs/findings/lazyfree-refault-stale-read.md', () => {
  const sc = () => scenarioFile('lazyfree-refault-stale-read.txt');

  it('linux reads the discarded folio through the pending batch after the refault was written', () => {
    const r = go(sc());
    expect(r.violation).toMatchObject({ property: 'read-value', actor: 'T1', stepId: 'user_access.tlb_hit' });
    const order = r.trace.map((e) => e.id);
    expect(order.indexOf('hw.speculative_walk')).toBeGreaterThan(order.indexOf('sys_madv_free.return'));
    expect(order.indexOf('try_to_unmap_one.lazyfree_discard')).toBeGreaterThan(order.indexOf('set_tlb_ubc_flush_pending'));
    expect(written(r, 'T2')).toEqual([2]);
  });

  it('the fix candidate (flush a lazyfree PTE under the PTL) holds on the same schedule', () => {
    const r = runScenario(sc(), { policy: applyVariant(linux, flushUnderPtl), properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('try_to_unmap_one.lazyfree_discard');
    expect(ids(r, 'T0')).not.toContain('set_tlb_ubc_flush_pending');
  });
});
