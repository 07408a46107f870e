import { describe, expect, it } from 'vitest';
import { linux } from '../../policies/linux.js';
import { runScenario } from '../../run/runner.js';
import { parseScenario } from '../../../reports/scenario_text.js';
import { PROPERTIES } from '../../../properties/registry.js';
import { scenarioFile as load } from '../../../test/build.js';

const txt = (s: string) => parseScenario(s);

describe('reclaim of a file folio (shrink_folio_list)', () => {
  it('lets another CPU read through its stale entry in the batched-flush window, and frees only after try_to_unmap_flush', () => {
    const r = runScenario(load('reclaim-batched-flush-window.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.verdict).toBe('pass');
    expect(r.coverage.reclaim_deferred_flush).toBe(1);
    expect(r.coverage.reclaim_batched_flush_window).toBeGreaterThanOrEqual(1);
    expect(r.coverage.reclaim_folio_freed).toBe(1);
    const ids = r.trace.filter((e) => e.actor === 'T0').map((e) => e.id);
    expect(ids.indexOf('try_to_unmap_flush.done')).toBeLessThan(ids.indexOf('free_unref_folios'));
    expect(ids.indexOf('set_tlb_ubc_flush_pending')).toBeLessThan(ids.indexOf('try_to_unmap_flush.done'));
    // the stale hit came between the deferral and the flush
    const hit = r.trace.findIndex((e) => e.actor === 'T1' && e.id === 'user_access.tlb_hit');
    expect(hit).toBeGreaterThan(r.trace.findIndex((e) => e.id === 'set_tlb_ubc_flush_pending'));
    expect(hit).toBeLessThan(r.trace.findIndex((e) => e.id === 'try_to_unmap_flush.done'));
    // T0's refault after the reclaim found the page cache empty and read the file's data
    expect(r.trace.filter((e) => e.actor === 'T0' && e.id === 'filemap_fault')).toHaveLength(2);
  });

  it('catches up with a pending batch in change_pte_range (flush_tlb_batched_pending, 3ea277194daa)', () => {
    const r = runScenario(load('reclaim-vs-mprotect-3ea277194daa.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.flush_batched_pending_catch_up).toBe(1);
    const w = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').at(-1)!;
    expect(w.obs).toMatchObject({ write: true, ok: false }); // read-only after mprotect returned
  });

  it('keeps a folio written through a stale dirty entry: dirty file folios are activated, not written back (6b0dfabb3555)', () => {
    const r = runScenario(
      txt(`config cpus=2
process P0
file F pages=1
mmap P0 0x10000 pages=1 prot=rw file=F
thread T0 P0 cpu=0
  reclaim 0x10000
  read 0x10000
thread T1 P0 cpu=1
  write 0x10000
  write 0x10000
schedule
  T1 until=user_access.walk
  T0 until=rmap_walk_file.i_mmap_unlock_read
  T1
  T0
`),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    expect(r.trace.some((e) => e.id === 'shrink_folio_list.activate_locked')).toBe(true);
    expect(r.trace.some((e) => e.id === 'free_unref_folios')).toBe(false);
    const last = r.trace.filter((e) => e.actor === 'T0' && e.obs?.kind === 'access').at(-1)!;
    expect(last.obs).toMatchObject({ value: 2, ok: true }); // the second write, kept in the page cache
  });

  it('does not free a folio someone still holds a reference on (__remove_mapping: folio_ref_freeze fails)', () => {
    const r = runScenario(
      txt(`config cpus=2
process P0
file F pages=1
mmap P0 0x10000 pages=1 prot=rw file=F
thread T0 P0 cpu=0
  read 0x10000
  reclaim 0x10000
thread T1 P0 cpu=1
  read 0x10000
schedule
  T0 until=user_access.walk
  T0 until=rmap_walk_file.i_mmap_unlock_read
  T1
  T0
`),
      { policy: linux, properties: PROPERTIES },
    );
    expect(r.violation).toBeNull();
    // T1 refaulted the page back from the page cache before __remove_mapping: mapped again, kept
    expect(r.trace.some((e) => e.id === 'shrink_folio_list.activate_locked')).toBe(true);
    expect(r.trace.some((e) => e.id === 'free_unref_folios')).toBe(false);
  });

  it('does nothing for anonymous memory (no swap in the model)', () => {
    const r = runScenario(txt('process P0\nmmap P0 0x10000 pages=1 prot=rw\nthread T0 P0 cpu=0\n  write 0x10000\n  reclaim 0x10000\n  read 0x10000\n'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.trace.some((e) => e.id === 'shrink_folio_list.nothing_to_reclaim')).toBe(true);
  });

  it('flushes at once when no other CPU is in the mm_cpumask (should_defer_flush false)', () => {
    const r = runScenario(txt('process P0\nfile F pages=1\nmmap P0 0x10000 pages=1 prot=rw file=F\nthread T0 P0 cpu=0\n  read 0x10000\n  reclaim 0x10000\n  read 0x10000\n'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.coverage.reclaim_deferred_flush).toBe(0);
    expect(r.trace.some((e) => e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toBe(true);
    expect(r.coverage.reclaim_folio_freed).toBe(1);
  });

  it('skips a lazy CPU in the batch flush and lets it catch up by tlb_gen at switch-in', () => {
    const r = runScenario(load('reclaim-lazy-cpu-catch-up.txt'), { policy: linux, properties: PROPERTIES });
    expect(r.violation).toBeNull();
    expect(r.trace.some((e) => e.actor === 'ipi@cpu1')).toBe(false); // no IPI to the lazy CPU
    expect(r.coverage.lazy_return_catch_up).toBe(1);
    expect(r.coverage.reclaim_folio_freed).toBe(1);
    const last = r.trace.filter((e) => e.actor === 'T1' && e.obs?.kind === 'access').at(-1)!;
    expect(last.obs).toMatchObject({ value: 0, ok: true });
  });
});
