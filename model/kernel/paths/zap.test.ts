// The ordering contract of zap.ts (zap_pte_range), one test per numbered
// step of its header, plus one skipped test where the model departs from
// the kernel.

import { describe, expect, it } from 'vitest';
import { anon, file, madvise, proc, read, run, scenario, shared, thread, until, va as vpn, write } from '../../../test/build.js';
import { go, ids, observe, pos, X, Y } from '../../../test/trace.js';
import type { StepEvent } from '../../../properties/property.js';
import { linux } from '../../policies/linux.js';
import { findTable } from '../pagetable.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import type { ZapCtx } from './zap.js';
import type { KernelState } from '../state.js';

const FAR = 0x80000; // a VMA in a region no table covers

const zapSteps = (e: StepEvent) => e.actor === 'T0' && (e.id.startsWith('zap_pte_range.') || e.id === 'tlb_batch_pages_flush');
/** The frame of the page cache / anon page at X, its rmap count, and what the gather delays. */
const pageState = (s: KernelState) => {
  const f = s.frames.find((x) => x.state === 'data' && (x.lp.startsWith('file:') || x.lp.includes(':0x10000')))!;
  return { dirty: f.dirty, mapcount: f.mapcount, delayed: s.tasks.T0!.gather?.delayedRmap.length ?? null };
};

const dirtyFile = scenario({ setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F')], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] });
const dirtyAnon = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X))] });
const batchFull = scenario({
  setup: [proc('P0'), anon('P0', X, 2)],
  threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X, 2))],
  choices: [{ actor: 'T0', point: 'zap_pte_range.batch_full', nth: 0 }],
});

describe('zap.ts: zap_pte_range, one PTE table at a time', () => {
  it('takes the PTE table lock first, waiting for a fault that holds it, and takes none where no table exists (step 1)', () => {
    const r = go(
      scenario({
        setup: [proc('P0'), anon('P0', X, 2)],
        threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, write(Y))],
        schedule: [until('T0', 'user_access.walk'), until('T1', 'do_anonymous_page.pte_offset_map_lock'), run('T0'), run('T1'), run('T0')],
      }),
    );
    expect(r.verdict).toBe('pass');
    expect(pos(r, 'T0', 'zap_pte_range.pte_offset_map_lock')).toBeGreaterThan(pos(r, 'T1', 'do_anonymous_page.pte_unmap_unlock'));
    const t0 = ids(r, 'T0');
    expect(t0[t0.indexOf('zap_pte_range.pte_offset_map_lock') - 1]).toBe('tlb_gather_mmu.inc_tlb_flush_pending'); // blocked, no step
    const table = findTable(r.state, r.state.mms.P0!, vpn(X), 1)!.pfn;
    expect(r.trace.find((e) => e.id === 'zap_pte_range.clear')!.locks).toContain(`ptl:${table}`);

    const none = go(scenario({ setup: [proc('P0'), anon('P0', X, 1), anon('P0', FAR, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(FAR))] }));
    expect(none.verdict).toBe('pass');
    expect(ids(none, 'T0').filter((id) => id.startsWith('zap_pte_range'))).toEqual([]);
  });

  it('flushes a pending reclaim batch under the PTL before clearing, and nothing when none is pending (step 2)', () => {
    expect(linux.paths.zap_pte_range!.map((s) => s.id).slice(0, 3)).toEqual(['zap_pte_range.pte_offset_map_lock', 'zap_pte_range.flush_tlb_batched_pending', 'zap_pte_range.clear']);
    const { r, seen } = observe(dirtyAnon, (e) => e.actor === 'T0' && e.id === 'zap_pte_range.clear', (s) => s.mms.P0!.tlbGen);
    const t0 = ids(r, 'T0');
    expect(t0[t0.indexOf('zap_pte_range.pte_offset_map_lock') + 1]).toBe('zap_pte_range.clear');
    expect(seen).toEqual([0]);

    // Nothing in the model sets mm->tlb_flush_batched yet (reclaim's set_tlb_ubc_flush_pending()): set it by hand.
    const pending = applyVariant(linux, defineVariant({
      name: 'reclaim-batch-pending', description: 'reclaim left a batched flush pending on the mm',
      edit: (v) => v.insertBefore('zap_pte_range.flush_tlb_batched_pending', { id: 'set_tlb_ubc_flush_pending', *fn(k, c: ZapCtx) { k.s.mms[c.mm]!.tlbFlushBatched.pending++; } }),
    }));
    const b = observe(dirtyAnon, (e) => e.actor === 'T0' && (e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen' || e.id === 'zap_pte_range.clear'), (s, e) => ({ id: e.id, batched: { ...s.mms.P0!.tlbFlushBatched }, ptl: e.locks.some((l) => l.startsWith('ptl:')) }), pending);
    expect(b.r.verdict).toBe('pass');
    expect(b.seen).toEqual([
      { id: 'flush_tlb_mm_range.inc_mm_tlb_gen', batched: { pending: 1, flushed: 0 }, ptl: true }, // flush_tlb_mm() under the PTL
      { id: 'zap_pte_range.clear', batched: { pending: 1, flushed: 1 }, ptl: true }, // the halves equal again, then the clear
      { id: 'flush_tlb_mm_range.inc_mm_tlb_gen', batched: { pending: 1, flushed: 1 }, ptl: false }, // the zap's own flush, after the unlock
    ]);
  });

  it('clears each PTE, moves D to the folio, delays the rmap of a dirty file page, and stops early on a full batch (step 3)', () => {
    const clearOnly = (e: StepEvent) => e.actor === 'T0' && e.id === 'zap_pte_range.clear';
    const file = observe(dirtyFile, clearOnly, pageState);
    expect(file.r.verdict).toBe('pass');
    expect(file.seen).toEqual([{ dirty: true, mapcount: 1, delayed: 1 }]); // rmap kept until after the flush
    const anonPage = observe(dirtyAnon, clearOnly, pageState);
    expect(anonPage.seen).toEqual([{ dirty: true, mapcount: 0, delayed: 0 }]); // folio_remove_rmap_ptes() at once
    expect(ids(anonPage.r, 'T0').indexOf('flush_tlb_mm_range.inc_mm_tlb_gen')).toBeGreaterThan(ids(anonPage.r, 'T0').indexOf('zap_pte_range.pte_unmap_unlock'));

    // batch full after X: flush, unlock, free, then take the lock again for Y
    const r = go(batchFull);
    expect(r.verdict).toBe('pass');
    const zaps = ids(r, 'T0').filter((id) => id.startsWith('zap_pte_range') || id === 'flush_tlb_mm_range.inc_mm_tlb_gen');
    expect(zaps).toEqual([
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'flush_tlb_mm_range.inc_mm_tlb_gen', 'zap_pte_range.pte_unmap_unlock',
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.pte_unmap_unlock', 'flush_tlb_mm_range.inc_mm_tlb_gen',
    ]);
  });

  it('zaps on after a dirty file PTE, flushing once at the end of the table, not after that PTE (step 3)', () => {
    const r = go(scenario({ setup: [proc('P0'), file('F', 2), shared('P0', X, 2, 'F')], threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X, 2))] }));
    expect(r.verdict).toBe('pass');
    expect(ids(r, 'T0').filter((id) => id.startsWith('zap_pte_range') || id === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toEqual([
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.clear', 'flush_tlb_mm_range.inc_mm_tlb_gen', 'zap_pte_range.pte_unmap_unlock',
    ]); // force_flush without force_break: zap_present_folio_ptes() sets only the first
  });

  it('on need_resched(), drops the PTL with the cleared entries unflushed and comes back for the rest (steps 3 and 5)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 2)],
      threads: [thread('T0', 'P0', 0, write(X), write(Y), madvise(X, 2))],
      choices: [{ actor: 'T0', point: 'zap_pte_range.need_resched', nth: 1 }],
    });
    const { r, seen } = observe(sc, (e) => e.actor === 'T0' && e.id === 'zap_pte_range.pte_unmap_unlock', (s) => {
      const g = s.tasks.T0!.gather!;
      return { range: [g.start, g.end], tlbGen: s.mms.P0!.tlbGen, x: findTable(s, s.mms.P0!, vpn(X), 1)!.entries![0] !== null, y: findTable(s, s.mms.P0!, vpn(X), 1)!.entries![1] !== null };
    });
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([
      { range: [vpn(X), vpn(X) + 1], tlbGen: 0, x: false, y: true }, // X cleared, not flushed, the PTL dropped
      { range: [vpn(X), vpn(X) + 2], tlbGen: 0, x: false, y: false },
    ]);
    expect(ids(r, 'T0').filter((id) => id.startsWith('zap_pte_range'))).toEqual([
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.need_resched', 'zap_pte_range.pte_unmap_unlock',
      'zap_pte_range.pte_offset_map_lock', 'zap_pte_range.clear', 'zap_pte_range.pte_unmap_unlock',
    ]);
    expect(r.coverage.need_resched_break).toBe(1);
  });

  it('on a forced flush, flushes and does the delayed rmaps under the PTL, unlocks, then frees the batch (step 4)', () => {
    const file = observe(dirtyFile, (e) => e.actor === 'T0' && e.id === 'zap_pte_range.pte_unmap_unlock', pageState);
    expect(file.seen).toEqual([{ dirty: true, mapcount: 0, delayed: 0 }]); // tlb_flush_rmaps() ran before the unlock
    expect(file.r.coverage.forced_flush_under_ptl).toBe(1);
    expect(file.r.trace.find((e) => e.id === 'flush_tlb_mm_range.inc_mm_tlb_gen')!.locks).toContainEqual(expect.stringMatching(/^ptl:/));
    expect(ids(file.r, 'T0').filter((id) => id === 'flush_tlb_mm_range.inc_mm_tlb_gen')).toHaveLength(1); // nothing left for tlb_finish_mmu

    const { r, seen } = observe(batchFull, zapSteps, (s, e) => ({ id: e.id, xFrame: s.frames.filter((f) => f.lp.includes(':0x10000')).map((f) => f.state).join() }));
    expect(r.verdict).toBe('pass');
    expect(seen.slice(0, 5)).toEqual([
      { id: 'zap_pte_range.pte_offset_map_lock', xFrame: 'data' },
      { id: 'zap_pte_range.clear', xFrame: 'data' },
      { id: 'zap_pte_range.pte_unmap_unlock', xFrame: 'data' }, // flushed under the PTL, not yet freed
      { id: 'tlb_batch_pages_flush', xFrame: 'free' }, // freed after the unlock
      { id: 'zap_pte_range.pte_offset_map_lock', xFrame: 'free' },
    ]);
  });

  it('forces no flush for a clean PTE of a folio that is already dirty (kernel: zap_present_folio_ptes tests pte_dirty, not the folio)', () => {
    // Model departs (zap.ts, step zap_pte_range.clear): it delays the rmap and forces a flush whenever the *folio* is dirty,
    // so a clean PTE of a folio dirtied earlier is flushed under the PTL. mm/memory.c zap_present_folio_ptes():
    // `if (pte_dirty(ptent)) { folio_mark_dirty(folio); if (tlb_delay_rmap(tlb)) { delay_rmap = true; *force_flush = true; } }`.
    const r = go(scenario({ setup: [proc('P0'), file('F', 1), shared('P0', X, 1, 'F')], threads: [thread('T0', 'P0', 0, write(X), madvise(X), read(X), madvise(X))] }));
    expect(r.verdict).toBe('pass');
    const second = ids(r, 'T0').slice(ids(r, 'T0').lastIndexOf('sys_madvise'));
    expect(second.indexOf('flush_tlb_mm_range.inc_mm_tlb_gen')).toBeGreaterThan(second.indexOf('zap_pte_range.pte_unmap_unlock'));
    expect(r.coverage.forced_flush_under_ptl).toBe(1); // only the first, dirty, zap
  });
});
