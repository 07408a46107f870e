// The lock rules of locks.ts: the rwsem wait list (rules 1-4 of its
// header), the spinlocks, and the per-VMA locks with the mm_lock_seq
// scheme. Driven directly on a state, one actor per generator.

import { describe, expect, it } from 'vitest';
import { linux } from '../policies/linux.js';
import { resolveConfig } from './config.js';
import { initState } from './init.js';
import { downgrade, lock, mmapLock, mmLockSeq, release, tryLockRead, vmaLock, vmaStartRead, vmaStartWrite, vmaWriteLocked } from './locks.js';
import type { KernelState } from './state.js';
import type { Gen, K } from './step.js';
import { mmId, type Vpn } from './types.js';

const P0 = mmId('P0');
const M = mmapLock(P0);
const fresh = (): KernelState =>
  initState(resolveConfig({}), [{ kind: 'process', name: 'P0' }, { kind: 'mmap', proc: 'P0', start: 16, pages: 2, prot: { r: true, w: true }, file: null, pgoff: 0 }]);
const kOf = (s: KernelState, self: string): K => ({ s, self, cpu: 0, policy: linux, notes: [], *run() {}, knob: () => undefined, choose: () => false, decide: (_p, v) => v, nextValue: () => 0, within: () => false, depth: () => 0, noteEdit: () => {} });

/** One actor's generator, run until it blocks or ends; `ids` are the steps it took. */
class Actor {
  ids: string[] = [];
  done = false;
  private waiting: (() => boolean) | null = null;
  constructor(private g: Gen) {}
  /** Run on while it can; true if it finished. */
  go(): boolean {
    if (this.waiting && !this.waiting()) return false;
    this.waiting = null;
    for (let y = this.g.next(); !y.done; y = this.g.next()) {
      if (y.value.wait) {
        if (!y.value.wait()) {
          this.waiting = y.value.wait;
          return false;
        }
        continue;
      }
      this.ids.push(y.value.id);
    }
    return (this.done = true);
  }
}
const take = (s: KernelState, self: string, mode: 'r' | 'w', name = M) => new Actor(lock(kOf(s, self), name, mode, `take.${mode}`));

describe('rwsem: the wait list', () => {
  it('lets readers share a lock no one waits for (rule 1)', () => {
    const s = fresh();
    expect(take(s, 'T0', 'r').go()).toBe(true);
    expect(take(s, 'T1', 'r').go()).toBe(true);
    expect(s.locks[M]!.holders).toEqual(['T0', 'T1']);
  });

  it('queues a new reader behind a waiting writer though only readers hold the lock (rule 1)', () => {
    const s = fresh();
    take(s, 'T0', 'r').go();
    const w = take(s, 'T1', 'w');
    expect(w.go()).toBe(false);
    const r = take(s, 'T2', 'r');
    expect(r.go()).toBe(false);
    expect(r.ids).toEqual(['rwsem_down_read_slowpath.queue']);
    expect(s.locks[M]!.waiters).toEqual([{ actor: 'T1', mode: 'w' }, { actor: 'T2', mode: 'r' }]);
    // the reader leaves: the writer, first in line, gets the lock; the queued reader still waits
    release(s, 'T0', M);
    expect(r.go()).toBe(false);
    expect(w.go()).toBe(true);
    expect(w.ids).toEqual(['rwsem_down_write_slowpath.queue', 'take.w']);
    // the writer leaves: the reader is granted the lock by the release itself
    release(s, 'T1', M);
    expect(s.locks[M]!.holders).toEqual(['T2']);
    expect(r.go()).toBe(true);
    expect(s.locks[M]!.waiters).toEqual([]);
  });

  it('grants every queued reader at once when a reader heads the list, readers behind a writer too (rule 3)', () => {
    const s = fresh();
    take(s, 'T0', 'w').go();
    const r1 = take(s, 'T1', 'r');
    const w2 = take(s, 'T2', 'w');
    const r3 = take(s, 'T3', 'r');
    [r1, w2, r3].forEach((a) => expect(a.go()).toBe(false));
    release(s, 'T0', M);
    expect(s.locks[M]!.holders).toEqual(['T1', 'T3']);
    expect(s.locks[M]!.waiters).toEqual([{ actor: 'T2', mode: 'w' }]);
    expect([r1.go(), w2.go(), r3.go()]).toEqual([true, false, true]);
  });

  it('lets a newcomer steal a free lock from a woken writer (rule 2: no handoff modelled)', () => {
    const s = fresh();
    take(s, 'T0', 'r').go();
    const w = take(s, 'T1', 'w');
    w.go();
    release(s, 'T0', M); // the writer is woken, but has not run
    expect(take(s, 'T2', 'r').go()).toBe(true);
    expect(w.go()).toBe(false); // back to sleep
    release(s, 'T2', M);
    expect(w.go()).toBe(true);
  });

  it('lets the queued readers in at a downgrade (rule 4), and mmap_read_trylock fails while anyone waits', () => {
    const s = fresh();
    take(s, 'T0', 'w').go();
    const r = take(s, 'T1', 'r');
    r.go();
    const k2 = kOf(s, 'T2');
    expect(tryLockRead(k2, M)).toBe(false);
    downgrade(s, 'T0', M);
    expect(r.go()).toBe(true);
    expect(tryLockRead(k2, M)).toBe(true);
    expect(s.locks[M]!.holders).toEqual(['T0', 'T1', 'T2']);
    const w = take(s, 'T3', 'w');
    w.go();
    expect(tryLockRead(kOf(s, 'T4'), M)).toBe(false); // RWSEM_FLAG_WAITERS
  });

  it('keeps spinlocks unqueued: any waiter takes a free one', () => {
    const s = fresh();
    take(s, 'T0', 'w', 'ptl:3').go();
    const a = take(s, 'T1', 'w', 'ptl:3');
    const b = take(s, 'T2', 'w', 'ptl:3');
    expect([a.go(), b.go()]).toEqual([false, false]);
    expect(s.locks['ptl:3']!.waiters).toBeUndefined();
    release(s, 'T0', 'ptl:3');
    expect(b.go()).toBe(true); // the later waiter first
    expect(a.go()).toBe(false);
  });
});

describe('per-VMA locks: vm_lock_seq against mm_lock_seq', () => {
  it('makes vma_start_write wait for the readers, then fails new readers until mmap_write_unlock', () => {
    const s = fresh();
    const vma = s.mms[P0]!.vmas[0]!;
    expect(vmaStartRead(kOf(s, 'T1'), P0, vma)).toBe(true);
    const kw = kOf(s, 'T0');
    take(s, 'T0', 'w').go();
    expect(mmLockSeq(s, P0) % 2).toBe(1); // mm_lock_seqcount_begin()
    const w = new Actor(vmaStartWrite(kw, P0, vma, 'vma_start_write'));
    expect(w.go()).toBe(false);
    release(s, 'T1', vmaLock(P0, 16));
    expect(w.go()).toBe(true);
    expect(vmaWriteLocked(s, P0, vma)).toBe(true);
    expect(vmaStartRead(kOf(s, 'T2'), P0, vma)).toBe(false);
    // a second vma_start_write in the same section is a no-op
    expect(new Actor(vmaStartWrite(kw, P0, vma, 'again')).go()).toBe(true);
    release(s, 'T0', M); // vma_end_write_all()
    expect(vmaWriteLocked(s, P0, vma)).toBe(false);
    expect(vmaStartRead(kOf(s, 'T2'), P0, vma)).toBe(true);
    // the next write section does not inherit the old vm_lock_seq
    take(s, 'T0', 'w').go();
    expect(vmaWriteLocked(s, P0, { ...vma, start: 16 as Vpn })).toBe(false);
  });

  it('ends the VMA write locks at mmap_write_downgrade', () => {
    const s = fresh();
    const vma = s.mms[P0]!.vmas[0]!;
    take(s, 'T0', 'w').go();
    new Actor(vmaStartWrite(kOf(s, 'T0'), P0, vma, 'vma_start_write')).go();
    downgrade(s, 'T0', M);
    expect(vmaWriteLocked(s, P0, vma)).toBe(false);
  });

  it('refuses vma_start_write without mmap_lock held for write', () => {
    const s = fresh();
    expect(() => new Actor(vmaStartWrite(kOf(s, 'T0'), P0, s.mms[P0]!.vmas[0]!, 'x')).go()).toThrow(/without mmap_lock held for write/);
  });

  it('orders mmap_lock before vma_lock for lockdep, and nothing before a trylocked VMA read lock', () => {
    const s = fresh();
    const vma = s.mms[P0]!.vmas[0]!;
    take(s, 'T0', 'w').go();
    new Actor(vmaStartWrite(kOf(s, 'T0'), P0, vma, 'vma_start_write')).go();
    release(s, 'T0', M);
    vmaStartRead(kOf(s, 'T1'), P0, vma);
    expect(tryLockRead(kOf(s, 'T1'), M)).toBe(true); // vmf_anon_prepare() under the VMA lock
    expect(s.ghost.lockOrder).toEqual({ mmap_lock: ['vma_lock'] });
  });
});
