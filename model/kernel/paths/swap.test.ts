// The ordering contract of swap.ts (do_swap_page() on a swap entry) and of
// reclaim's swap-backed anonymous branch (reclaim.ts steps 1'-5',
// try_to_unmap_one.ts step 3'').

import { describe, expect, it } from 'vitest';
import { anon, munmap, proc, read, reclaim, scenario, scenarioFile, thread, write } from '../../../test/build.js';
import { accesses, count, expectOrder, go, ids, pos, X } from '../../../test/trace.js';
import { PROPERTIES } from '../../../properties/registry.js';
import { linux } from '../../policies/linux.js';
import { applyVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import type { SetupItem } from '../../run/scenario.js';
import pageoutBeforeFlushDirty from '../../../variants/swap-pageout-before-flush-dirty.js';

const SWAP: SetupItem = { kind: 'swap' };
const values = (r: ReturnType<typeof go>, actor: string) => accesses(r, actor).map((e) => (e.obs as { value: number }).value);

describe('reclaim of a swap-backed anonymous folio (reclaim.ts, try_to_unmap_one.ts)', () => {
  it('does nothing without a swap device: folio_alloc_swap() has no swap to give (as before swap was modelled)', () => {
    const r = go(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), reclaim(X), read(X))] }));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('shrink_folio_list.nothing_to_reclaim');
    expect(ids(r, 'T0')).not.toContain('folio_alloc_swap');
  });

  it('adds the folio to the swap cache, installs a swap entry, writes it after the dirty flush, frees it after the batch flush; the refault reads it back', () => {
    const r = go(scenario({ setup: [SWAP, proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), write(X), reclaim(X), read(X))] }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'shrink_folio_list.isolate'], ['T0', 'folio_alloc_swap'], ['T0', 'try_to_unmap_one.get_and_clear_ptes'], ['T0', 'try_to_unmap_one.set_swp_pte'], ['T0', 'swap_writeout'], ['T0', '__remove_mapping.swapcache'], ['T0', 'free_unref_folios'], ['T0', 'swap_read_folio'], ['T0', 'do_swap_page.set_pte_at']);
    expect(values(r, 'T0')).toEqual([1, 2, 2]); // swap is transparent
    expect(r.state.swap!.slots[0]).toMatchObject({ content: 2, count: 0 });
    // the read fault on an exclusive entry maps it writable, and the folio stays in the swap cache (a read fault does not free it)
    expect(r.state.swap!.slots[0]!.cache).not.toBeNull();
  });

  it('pins the batched-flush window: a stale read after swap_writeout() is allowed; a store faults, waits for the folio lock with its reference, and reclaim keeps the folio', () => {
    const r = go(scenarioFile('swap-batched-flush-window.txt'));
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    // the PTE was clean: the deferred flush is not writable, try_to_unmap_flush_dirty() flushes nothing
    expect(ids(r, 'T0')).toContain('swap_writeout');
    expect(ids(r, 'T0')).not.toContain('swap_writeout.after_flush_dirty');
    const hit = pos(r, 'T1', 'user_access.tlb_hit');
    expect(hit).toBeGreaterThan(pos(r, 'T0', 'swap_writeout'));
    expect(hit).toBeLessThan(pos(r, 'T0', 'try_to_unmap_flush.done'));
    expect(pos(r, 'T1', 'do_swap_page.swap_cache_hit')).toBeLessThan(pos(r, 'T0', '__remove_mapping.ref_freeze_failed'));
    expect(count(r, 'T1', 'do_swap_page.retry')).toBe(1);
    expect(ids(r, 'T0')).toContain('__remove_mapping.ref_freeze_failed'); // the waiting fault's reference
    expect(ids(r, 'T0')).not.toContain('free_unref_folios');
    expect(count(r, 'T1', 'do_swap_page.swap_cache_hit')).toBe(2);
    expect(count(r, 'T1', 'swap_read_folio')).toBe(0);
    expect(values(r, 'T0')).toEqual([1]);
    expect(r.coverage.swap_batched_flush_window).toBeGreaterThanOrEqual(1);
    expect(r.coverage.swap_cache_hit).toBe(2);
  });

  it('flushes a deferred dirty entry before the write (try_to_unmap_flush_dirty(), d950c9477d51): no store is lost', () => {
    const r = go(scenarioFile('swap-stale-write-after-pageout.txt'));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('swap_writeout.after_flush_dirty');
    expect(pos(r, 'T0', 'try_to_unmap_flush.done')).toBeLessThan(pos(r, 'T0', 'swap_writeout.after_flush_dirty'));
    expect(r.coverage.swap_writeout_after_flush_dirty).toBe(1);
    expect(r.coverage.swap_in_read).toBe(1); // T0's read after the free
    expect(values(r, 'T0')).toEqual([2]);
  });

  it('swap-pageout-before-flush-dirty: a store through the stale dirty entry after the write is lost, and the read after swap-in sees the old value', () => {
    const sc = scenarioFile('swap-stale-write-after-pageout.txt');
    const bad = runScenario(sc, { policy: applyVariant(linux, pageoutBeforeFlushDirty), properties: PROPERTIES });
    expect(bad.violation).toMatchObject({ property: 'read-value', actor: 'T0' });
    expect(bad.violation!.message).toContain('gave value 1');
  });

  it('unmaps every mm of the anon_vma: a folio shared by fork gets two swap entries; the second fault finds it in the swap cache', () => {
    const r = go(scenarioFile('swap-cache-hit-after-fork.txt'));
    expect(r.verdict).toBe('pass');
    expect(count(r, 'T0', 'try_to_unmap_one.set_swp_pte')).toBe(2);
    expect(count(r, 'T0', 'swap_read_folio')).toBe(1);
    expect(count(r, 'T1', 'do_swap_page.swap_cache_hit')).toBe(1);
    expect(ids(r, 'T0')).toContain('wp_page_copy.copy_user'); // the swap-cache folio is mapped twice: the write copies
    expect(values(r, 'T1')).toEqual([1, 1]);
    expect(r.coverage.swap_cache_hit).toBe(1);
  });

  it('copies a swap entry at fork (swap_duplicate()) and drops it at munmap (free_swap_and_cache())', () => {
    const r = go(
      scenario({
        setup: [SWAP, proc('P0'), anon('P0', X, 1)],
        threads: [thread('T0', 'P0', 0, write(X), reclaim(X), { kind: 'fork', child: 'C' }, munmap(X)), thread('T1', 'C', 1, read(X))],
      }),
    );
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0')).toContain('copy_nonpresent_pte.swap_entry');
    expect(ids(r, 'T0')).toContain('zap_nonpresent_ptes.swap_entry');
    expect(values(r, 'T1')).toEqual([1]);
    expect(r.state.swap!.slots[0]!.count).toBe(0);
  });
});

describe('the swap counterpart of the open reclaim finding (docs/findings/reclaim-refault-stale-read.md)', () => {
  it('a clean PTE defers a non-writable flush: the folio leaves the swap cache before try_to_unmap_flush(), a swap-in is written, and a stale entry still reads the old folio', () => {
    const r = go(scenarioFile('swap-refault-stale-read.txt'));
    expect(r.violation).toMatchObject({ property: 'read-value', actor: 'T0' });
    expect(r.violation!.message).toContain('gave value 0');
    expect(ids(r, 'T1')).toContain('swap_writeout'); // no dirty flush: the batch was not writable
    expect(ids(r, 'T1')).not.toContain('try_to_unmap_flush.done');
    expect(ids(r, 'T2')).toContain('swap_read_folio');
  });
});
