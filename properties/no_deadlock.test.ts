// no-deadlock fires on a cycle in the wait-for graph (lock waits, IPI
// waits against a CPU spinning with IRQs off, waits for a CPU) and on a
// stall, each at the step after which it appears, and holds on linux for
// the same scenario.

import { describe, expect, it } from 'vitest';
import type { KernelState } from '../model/kernel/state.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, madvise, munmap, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import { gupFastTakesPtl, gupPtlDeadlock, X } from '../test/mutant_cases.js';
import type { CheckContext } from './property.js';
import { noDeadlock, waitsOn } from './no_deadlock.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [noDeadlock] });

/** madvise returns still holding its lock (a missing madvise_unlock() on an error path): here the VMA lock of X. */
const keepsMmapLock = applyVariant(
  linux,
  defineVariant({ name: 'madvise-keeps-its-lock', description: 'madvise returns without madvise_unlock', edit: (v) => v.replace('madvise.mmap_read_unlock', function* () {}) }),
);

describe('no-deadlock', () => {
  it('fires when a zap flushing under the PTL waits on a CPU spinning on that PTL with IRQs off', () => {
    // csd_lock_wait() against spin_lock() with IRQs off: the IPI is never
    // taken, the lock never released (why GUP-fast takes no locks).
    expect(check(gupPtlDeadlock(), linux).verdict).toBe('pass');
    expect(check(gupPtlDeadlock(), applyVariant(linux, gupFastTakesPtl)).violation).toEqual({
      property: 'no-deadlock', holder: 'scheduler', step: 47, actor: 'T0', stepId: 'smp_call_function_many_cond.local_irq_restore',
      message: 'deadlock: T0 waits for IPI completion on CPU1; T1 waits for ptl:3',
    });
  });

  it('fires on a lock held by a thread that waits for the CPU its waiter occupies', () => {
    // T1 returns from madvise still holding X's VMA lock and gives CPU0 up;
    // T0's munmap blocks in vma_start_write() while it owns CPU0 (in the model a
    // thread keeps its CPU from a call's entry to its return), and T1
    // waits for CPU0 to run its next access.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      // T1 first: the report starts from the first blocked actor by name, not by scenario order
      threads: [thread('T1', 'P0', 0, write(X), madvise(X), read(X)), thread('T0', 'P0', 0, munmap(X))],
      schedule: [until('T1', 'sys_madvise.return'), run('T0'), run('T1')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, keepsMmapLock).violation).toEqual({
      property: 'no-deadlock', holder: 'scheduler', step: 48, actor: 'T0', stepId: 'do_vmi_munmap.mmap_write_lock',
      message: 'deadlock: T0 waits for vma_lock:P0:0x10000; T1 waits for CPU0',
    });
  });

  it('fires on a stall: a waiter for a lock whose holder has finished', () => {
    // No cycle (T0 is gone), yet T1 can never run: reported on the last
    // step taken, by whoever took it.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, munmap(X))],
      schedule: [run('T0')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, keepsMmapLock).violation).toEqual({
      property: 'no-deadlock', holder: 'scheduler', step: 51, actor: 'T1', stepId: 'do_vmi_munmap.mmap_write_lock',
      message: 'stall: no actor can run; T1 waits for vma_lock:P0:0x10000',
    });
  });
});

describe('waitsOn: the edges of the wait-for graph', () => {
  // Direct calls on a hand-built state: which CPUs a real IPI wait names
  // depends on the whole flush path, and the rwsem upgrade case below
  // (waiting for a lock one holds) never arises in a correct path.
  const cpu = (id: number, owner: string | null, irqsOff: boolean, inIrq: number | null = null) => ({ id, owner, irqsOff, inIrq });
  const s = {
    locks: { 'mmap_lock:P0': { holders: ['T0', 'T1'] } },
    cpus: [cpu(0, 'T0', false), cpu(1, 'T1', true), cpu(2, 'T2', true, 7), cpu(3, null, true)],
  } as unknown as KernelState;

  it('waits on every other holder of a lock, never on itself', () => {
    expect(waitsOn(s, 'T0', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T1']);
    expect(waitsOn(s, 'T2', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T0', 'T1']);
    expect(waitsOn(s, 'T2', { kind: 'lock', lock: 'ptl:9' })).toEqual([]);
  });

  it('waits for an IPI only on the task that keeps IRQs off outside an interrupt', () => {
    // CPU0 takes the IPI (IRQs on); CPU2 is already in an interrupt handler
    // and will take it on return; CPU3 spins for nobody.
    expect(waitsOn(s, 'T9', { kind: 'ipi', cpus: [0, 1, 2, 3] })).toEqual(['T1']);
  });

  it('an actor that is not on the wait list (a spinlock waiter, a newcomer about to queue) waits only on the holders', () => {
    const q = { locks: { 'mmap_lock:P0': { holders: ['T0'], mode: 'r', waiters: [{ actor: 'T1', mode: 'w' }, { actor: 'T2', mode: 'r' }] } }, cpus: [] } as unknown as KernelState;
    expect(waitsOn(q, 'T9', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T0']);
  });

  it('reports no cycle where a search left a dead end: T0 waits on T1 (who waits on a runnable T3), T2 waits on T0', () => {
    // T0 -> T1 -> (T3, not blocked): a dead end; T2 -> T0: no cycle anywhere, only a chain
    const q = { locks: { L1: { holders: ['T1'] }, L2: { holders: ['T3'] }, L3: { holders: ['T0'] } }, cpus: [] } as unknown as KernelState;
    const blocked = new Map([['T0', { kind: 'lock', lock: 'L1' }], ['T1', { kind: 'lock', lock: 'L2' }], ['T2', { kind: 'lock', lock: 'L3' }]]);
    expect(noDeadlock.check({ s: q, blocked, stalled: false } as unknown as CheckContext)).toBeNull();
    // close the chain (T1 now waits on T2) and the cycle T0 -> T1 -> T2 -> T0 is found
    const closed = new Map([...blocked, ['T1', { kind: 'lock', lock: 'L4' }]]);
    const q2 = { locks: { ...(q as unknown as { locks: object }).locks, L4: { holders: ['T2'] } }, cpus: [] } as unknown as KernelState;
    expect(noDeadlock.check({ s: q2, blocked: closed, stalled: false } as unknown as CheckContext)?.message).toBe('deadlock: T0 waits for L1; T1 waits for L4; T2 waits for L3');
  });

  it('waits, on an rwsem wait list, for the waiters queued before it too', () => {
    // T0 reads; T1 queued for write; T0 asks again for read (a recursive down_read): T0 -> T1 -> T0
    const q = { locks: { 'mmap_lock:P0': { holders: ['T0'], mode: 'r', waiters: [{ actor: 'T1', mode: 'w' }, { actor: 'T0', mode: 'r' }, { actor: 'T2', mode: 'r' }] } }, cpus: [] } as unknown as KernelState;
    expect(waitsOn(q, 'T0', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T1']);
    expect(waitsOn(q, 'T1', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T0']);
    expect(waitsOn(q, 'T2', { kind: 'lock', lock: 'mmap_lock:P0' })).toEqual(['T0', 'T1']);
    const blocked = new Map([['T0', { kind: 'lock', lock: 'mmap_lock:P0' }], ['T1', { kind: 'lock', lock: 'mmap_lock:P0' }]]);
    expect(noDeadlock.check({ s: q, blocked, stalled: false } as unknown as CheckContext)?.message).toBe('deadlock: T0 waits for mmap_lock:P0; T1 waits for mmap_lock:P0');
  });

  it("waits for a CPU on its owner, unless that is the waiter", () => {
    expect(waitsOn(s, 'T9', { kind: 'cpu', cpu: 1 })).toEqual(['T1']);
    expect(waitsOn(s, 'T1', { kind: 'cpu', cpu: 1 })).toEqual([]);
    expect(waitsOn(s, 'T9', { kind: 'cpu', cpu: 3 })).toEqual([]);
  });
});

describe('no-deadlock on a hand-built wait-for graph', () => {
  // Direct calls: three blocked actors whose chains merge, and an IPI wait
  // on two CPUs, take more threads and CPUs than any scenario here runs.
  const lockOf = (holder: string) => ({ holders: [holder] });
  const s = {
    locks: { A: lockOf('T1'), B: lockOf('T2'), C: lockOf('T0'), R: { holders: ['T2', 'T1'] } },
    cpus: [{ id: 0, owner: 'T0', irqsOff: false, inIrq: null }, { id: 1, owner: 'T1', irqsOff: true, inIrq: null }, { id: 2, owner: 'T4', irqsOff: true, inIrq: null }],
  } as unknown as KernelState;
  const check = (blocked: [string, { kind: 'lock'; lock: string } | { kind: 'ipi'; cpus: number[] }][], stalled = false) =>
    noDeadlock.check({ s, blocked: new Map(blocked), stalled } as unknown as CheckContext);

  it('finds no cycle where chains of waiters merge into one that ends at a running actor', () => {
    // T0 -> T1 -> T2 (running); T3 -> T1 joins the explored chain
    expect(check([['T0', { kind: 'lock', lock: 'A' }], ['T1', { kind: 'lock', lock: 'B' }], ['T3', { kind: 'lock', lock: 'A' }]])).toBeNull();
  });

  it('follows the holder that is blocked, not the first one (readers of an rwsem)', () => {
    expect(check([['T0', { kind: 'lock', lock: 'R' }], ['T1', { kind: 'lock', lock: 'C' }]])?.message).toBe('deadlock: T0 waits for R; T1 waits for C');
  });

  it('names only the actors on the cycle, not the one whose wait led into it', () => {
    // T0 -> T1 -> T2 -> T1
    expect(check([['T0', { kind: 'lock', lock: 'A' }], ['T1', { kind: 'lock', lock: 'B' }], ['T2', { kind: 'lock', lock: 'A' }]])?.message).toBe(
      'deadlock: T1 waits for B; T2 waits for A',
    );
  });

  it('lists every blocked actor in a stall', () => {
    expect(check([['T0', { kind: 'lock', lock: 'A' }], ['T3', { kind: 'lock', lock: 'A' }]], true)?.message).toBe('stall: no actor can run; T0 waits for A; T3 waits for A');
  });

  it('names every CPU an IPI wait is stuck on', () => {
    expect(check([['T0', { kind: 'ipi', cpus: [1, 2] }], ['T1', { kind: 'lock', lock: 'C' }]])).toEqual({
      holder: 'scheduler',
      message: 'deadlock: T0 waits for IPI completion on CPU1,CPU2; T1 waits for C',
    });
  });
});
