// The ordering contract of mmap.ts (mm/mmap.c do_mmap -> mmap_region,
// MAP_FIXED_NOREPLACE): under mmap_write_lock only the VMA tree changes;
// pages come at the first fault; an overlap fails with EEXIST and changes
// nothing.

import { describe, expect, it } from 'vitest';
import { anon, proc, read, run, scenario, thread, until, write } from '../../../test/build.js';
import { accesses, at, expectOrder, go, ids, observe, X, Y } from '../../../test/trace.js';
import type { Op } from '../../run/scenario.js';
import { findTable } from '../pagetable.js';

const RW = { r: true, w: true };
const mmapAnon = (addr: number, pages = 1): Op => ({ kind: 'mmap', va: addr >> 12, pages, prot: RW, file: null, pgoff: 0 });

describe('mmap.ts: do_mmap under mmap_write_lock', () => {
  it('takes the write lock, inserts the VMA, unlocks, then returns', () => {
    const r = go(scenario({ setup: [proc('P0')], threads: [thread('T0', 'P0', 0, mmapAnon(X), write(X))] }));
    expect(r.verdict).toBe('pass');
    const t0 = ids(r, 'T0');
    expect(t0.slice(t0.indexOf('sys_mmap'), t0.indexOf('sys_mmap.return') + 1)).toEqual(['sys_mmap', 'do_mmap.mmap_write_lock', 'mmap_region', 'do_mmap.mmap_write_unlock', 'sys_mmap.return']);
    expect(r.trace.find((e) => e.id === 'mmap_region')!.locks).toEqual(['mmap_lock:P0']);
    expect(r.trace.find((e) => e.id === 'sys_mmap.return')!.obs).toMatchObject({ result: 'ok' });
  });

  it('changes only the VMA tree: no table and no PTE until the first access faults the page in', () => {
    const sc = scenario({ setup: [proc('P0')], threads: [thread('T0', 'P0', 0, mmapAnon(X), write(X))] });
    const { r, seen } = observe(sc, at('T0', 'sys_mmap.return'), (s) => ({ vmas: s.mms.P0!.vmas.map((v) => [v.start, v.end, v.kind]), table: findTable(s, s.mms.P0!, X >> 12, 1) ?? null, data: s.frames.filter((f) => f.state === 'data').length }));
    expect(r.verdict).toBe('pass');
    expect(seen).toEqual([{ vmas: [[X >> 12, (X >> 12) + 1, 'anon']], table: null, data: 0 }]);
    expectOrder(r, ['T0', 'sys_mmap.return'], ['T0', 'user_access.page_fault'], ['T0', 'do_anonymous_page.set_pte_at']);
  });

  it('keeps a fault of the same mm out until the VMA is in: the fault then finds it', () => {
    const r = go(scenario({
      setup: [proc('P0'), anon('P0', Y, 1)],
      threads: [thread('T0', 'P0', 0, read(Y), mmapAnon(X)), thread('T1', 'P0', 1, write(X))],
      schedule: [until('T0', 'do_mmap.mmap_write_lock'), run('T1'), run('T0'), run('T1')],
    }));
    expect(r.verdict).toBe('pass');
    expectOrder(r, ['T0', 'do_mmap.mmap_write_lock'], ['T1', 'user_access.page_fault'], ['T0', 'mmap_region'], ['T0', 'do_mmap.mmap_write_unlock'], ['T1', 'lock_mm_and_find_vma.mmap_read_lock']);
    expect(accesses(r, 'T1').map((e) => e.obs)).toEqual([expect.objectContaining({ write: true, ok: true })]); // no SIGSEGV
    expect(ids(r, 'T1')).not.toContain('lock_mm_and_find_vma.bad_area');
  });

  it('fails an overlapping mapping with EEXIST and leaves the VMA and its page alone', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), mmapAnon(X, 2), read(X))] });
    const { r, seen } = observe(sc, at('T0', 'sys_mmap.return'), (s) => s.mms.P0!.vmas.map((v) => [v.start, v.end]));
    expect(r.verdict).toBe('pass'); // read-value: the read still sees the write
    expect(seen).toEqual([[[X >> 12, (X >> 12) + 1]]]);
    expect(r.trace.find((e) => e.id === 'sys_mmap.return')!.obs).toMatchObject({ result: 'EEXIST' });
    expect(accesses(r, 'T0').at(-1)!.id).toBe('user_access.tlb_hit'); // nothing was zapped or flushed
  });

  it('inserts the VMA write-locked: a per-VMA fault on it falls back to mmap_read_lock until mmap_write_unlock', () => {
    const r = go(
      scenario({
        setup: [proc('P0')],
        threads: [thread('T0', 'P0', 0, mmapAnon(X)), thread('T1', 'P0', 1, write(X))],
        schedule: [until('T0', 'mmap_region'), run('T1'), run('T0'), run('T1')],
      }),
    );
    expect(r.verdict).toBe('pass');
    const t1 = ids(r, 'T1');
    expect(t1.slice(t1.indexOf('user_access.page_fault'), t1.indexOf('user_access.page_fault') + 3)).toEqual(['user_access.page_fault', 'lock_vma_under_rcu.inval', 'rwsem_down_read_slowpath.queue']);
    expectOrder(r, ['T0', 'mmap_region'], ['T1', 'lock_vma_under_rcu.inval'], ['T0', 'do_mmap.mmap_write_unlock'], ['T1', 'lock_mm_and_find_vma.mmap_read_lock']);
    expect(accesses(r, 'T1').at(-1)!.obs).toMatchObject({ ok: true });
  });
});
