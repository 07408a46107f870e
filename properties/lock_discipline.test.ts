// lock-discipline fires on every rule of its table, each through a linux
// path broken the one way the rule forbids, at the step that breaks it, and
// holds on linux for the same scenario.

import { describe, expect, it } from 'vitest';
import { lock, mmapLock, pageTableLock, ptlOf, unlock } from '../model/kernel/locks.js';
import type { KernelState } from '../model/kernel/state.js';
import type { StepNote } from '../model/kernel/step.js';
import { mmId } from '../model/kernel/types.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import type { GupCtx } from '../model/kernel/paths/gup_fast.js';
import type { MunmapCtx } from '../model/kernel/paths/munmap.js';
import type { ZapCtx } from '../model/kernel/paths/zap.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant, defineVariant, type VariantSpec } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, gup, munmap, proc, scenario, scenarioFile, thread, write } from '../test/build.js';
import { X, zapWhileCached, zapWithoutPtl } from '../test/mutant_cases.js';
import { lockDiscipline, missing } from './lock_discipline.js';
import type { CheckContext } from './property.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [lockDiscipline] });
const broken = (spec: VariantSpec) => applyVariant(linux, spec);

/** A step that does nothing: the lock or unlock a variant leaves out. */
function* skip() {}

describe('lock-discipline: PTE writes', () => {
  it('fires when zap_pte_range clears a PTE without the PTE lock', () => {
    expect(check(zapWhileCached(), linux).verdict).toBe('pass');
    expect(check(zapWhileCached(), broken(zapWithoutPtl)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 40, actor: 'T0', stepId: 'zap_pte_range.clear',
      message: 'T0: pte-write (pte 16) without ptl:3',
    });
  });

  it('fires when madvise zaps without mmap_lock', () => {
    const noMmapLock = defineVariant({
      name: 'madvise-without-mmap-lock',
      description: 'madvise(MADV_DONTNEED) zaps without mmap_read_lock',
      edit: (v) => v.replace('madvise.mmap_read_lock', skip).replace('madvise.mmap_read_unlock', skip),
    });
    expect(check(zapWhileCached(), broken(noMmapLock)).violation).toMatchObject({
      actor: 'T0', stepId: 'zap_pte_range.clear', message: 'T0: pte-write (pte 16) without mmap_lock:P0',
    });
  });

  it('names every lock a PTE write lacks', () => {
    const neither = applyVariant(
      applyVariant(linux, zapWithoutPtl),
      defineVariant({ name: 'madvise-without-mmap-lock', description: 'madvise zaps without mmap_read_lock', edit: (v) => v.replace('madvise.mmap_read_lock', skip).replace('madvise.mmap_read_unlock', skip) }),
    );
    expect(check(zapWhileCached(), neither).violation).toMatchObject({ actor: 'T0', stepId: 'zap_pte_range.clear', message: 'T0: pte-write (pte 16) without ptl:3 and mmap_lock:P0' });
  });

  it("needs the host's mmap_lock, not the sharer's, for a PTE of a table shared through mshare", () => {
    // research/mshare.md S3: the table belongs to the host mm; a madvise
    // through a sharer VMA that takes only the sharer's lock races the host.
    const sc = scenarioFile('hazard15-madvise-through-sharer');
    // madvise 'allowed': a zap through the sharer's link (no posted version does this; issue 10)
    const r = check(sc, applyVariant(policyByName('mshare-v3')!, defineVariant({ name: 'madvise-zaps-through-link', description: "madvise: 'allowed'", edit: (v) => v.knobs({ madvise: 'allowed' }) })));
    expect(r.violation).toMatchObject({ property: 'lock-discipline', stepId: 'zap_pte_range.clear' });
    expect(r.violation!.message).toMatch(/^T\d: pte-write \(pte \d+\) without mmap_lock:M\.host$/);
  });
});

describe('lock-discipline: upper-level entries', () => {
  it('fires when __pte_alloc populates an upper entry without page_table_lock', () => {
    const noPageTableLock = defineVariant({
      name: 'pte-alloc-without-page-table-lock',
      description: '__pte_alloc populates the upper entry without mm->page_table_lock',
      edit: (v) => v.replace('__pte_alloc.page_table_lock', skip).replace('__pte_alloc.spin_unlock', skip),
    });
    expect(check(zapWhileCached(), broken(noPageTableLock)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 10, actor: 'T0', stepId: 'pgd_populate',
      message: 'T0: upper-populate (pgd entry for pud table 1) without page_table_lock:P0',
    });
  });

  it("fires when pmd_install populates a PMD entry under page_table_lock instead of the PMD table's split lock", () => {
    const pmdUnderPageTableLock = defineVariant({
      name: 'pmd-install-under-page-table-lock',
      description: 'pmd_install takes mm->page_table_lock, as __pud_alloc does, not pmd_lock()',
      edit: (v) =>
        v.replace('__pte_alloc.page_table_lock', function* (k, c: FaultCtx) {
          c.ptl = pageTableLock(c.mm);
          yield* lock(k, c.ptl, 'w', 'pmd_install.spin_lock');
        }),
    });
    expect(check(zapWhileCached(), linux).verdict).toBe('pass');
    const v = check(zapWhileCached(), broken(pmdUnderPageTableLock)).violation;
    expect(v).toMatchObject({ property: 'lock-discipline', actor: 'T0', stepId: 'pmd_populate' });
    expect(v!.message).toMatch(/^T0: upper-populate \(pmd entry for pte table \d+\) without pmd_lock:\d+$/);
  });

  it('fires when free_pgtables clears an upper entry after mmap_lock was dropped', () => {
    // free_pgtables() runs under mmap_lock (read after the downgrade in
    // do_vmi_munmap): a lockless walker (GUP-fast) is then the only other
    // reader, and it holds off the free with IRQs off.
    const unlockedFree = defineVariant({
      name: 'munmap-frees-tables-unlocked',
      description: 'munmap drops mmap_lock before free_pgtables',
      edit: (v) =>
        v
          .insertBefore('vms_clear_ptes.free_pgtables', {
            id: 'do_vmi_munmap.early_unlock',
            *fn(k, c: MunmapCtx) {
              yield* unlock(k, mmapLock(c.mm), 'do_vmi_munmap.early_unlock');
            },
          })
          .replace('do_vmi_munmap.mmap_read_unlock', skip),
    });
    const sc = zapWhileCached(munmap(X));
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, broken(unlockedFree)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 47, actor: 'T0', stepId: 'free_pte_range.pmd_clear',
      message: 'T0: upper-clear (pmd entry for pte table 3) without mmap_lock:P0',
    });
  });
});

describe('lock-discipline: atomic context', () => {
  it('fires when a sleeping lock is taken under a PTE lock', () => {
    const sleepsUnderPtl = defineVariant({
      name: 'zap-sleeps-under-ptl',
      description: 'zap_pte_range takes mmap_lock while holding the PTE lock',
      edit: (v) =>
        v.insertAfter('zap_pte_range.pte_offset_map_lock', {
          id: 'zap_pte_range.mmap_read_lock',
          *fn(k, c: ZapCtx) {
            yield* lock(k, mmapLock(c.mm), 'r', 'zap_pte_range.mmap_read_lock');
            yield* unlock(k, mmapLock(c.mm), 'zap_pte_range.mmap_read_unlock');
          },
        }),
    });
    expect(check(zapWhileCached(), broken(sleepsUnderPtl)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 41, actor: 'T0', stepId: 'zap-sleeps-under-ptl:zap_pte_range.mmap_read_lock', // named under the variant that inserted it
      message: 'T0: might_sleep (mmap_lock:P0) in atomic context holding ptl:3',
    });
  });

  it('fires when a sleeping lock is taken with IRQs off and no spinlock held', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), gup(X))] });
    const gupSleeps = defineVariant({
      name: 'gup-fast-sleeps',
      description: 'gup_fast takes mmap_lock after local_irq_save',
      edit: (v) =>
        v.insertAfter('gup_fast.local_irq_save', {
          id: 'gup_fast.mmap_read_lock',
          *fn(k, c: GupCtx) {
            yield* lock(k, mmapLock(c.mm), 'r', 'gup_fast.mmap_read_lock');
            yield* unlock(k, mmapLock(c.mm), 'gup_fast.mmap_read_unlock');
          },
        }),
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, broken(gupSleeps)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 31, actor: 'T0', stepId: 'gup-fast-sleeps:gup_fast.mmap_read_lock',
      message: 'T0: might_sleep (mmap_lock:P0) in atomic context with IRQs off',
    });
  });

  it('fires when a flush waits for its IPIs with IRQs off', () => {
    // smp_call_function_many_cond() warns on irqs_disabled(): the target
    // may itself be spinning with IRQs off, waiting for us (csd_lock_wait).
    const flushIrqsOff = defineVariant({
      name: 'flush-with-irqs-off',
      description: 'native_flush_tlb_multi waits for the IPIs with IRQs disabled',
      edit: (v) =>
        v
          .insertBefore('native_flush_tlb_multi.wait', {
            id: 'native_flush_tlb_multi.local_irq_disable',
            *fn(k) {
              k.s.cpus[k.cpu]!.irqsOff = true;
              yield { id: 'native_flush_tlb_multi.local_irq_disable' };
            },
          })
          .insertAfter('native_flush_tlb_multi.wait', {
            id: 'native_flush_tlb_multi.local_irq_enable',
            *fn(k) {
              k.s.cpus[k.cpu]!.irqsOff = false;
              yield { id: 'native_flush_tlb_multi.local_irq_enable' };
            },
          }),
    });
    expect(check(zapWhileCached(), broken(flushIrqsOff)).violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 54, actor: 'T0', stepId: 'native_flush_tlb_multi.wait',
      message: 'T0: synchronous IPI (native_flush_tlb_multi.wait) with IRQs off',
    });
  });
});

describe('lock-discipline: the rule table on single notes', () => {
  // Direct calls of missing(): no linux path sleeps under two spinlocks,
  // or writes a PTE with IRQs off, even when broken one step at a time.
  const s = { frames: { 3: { owner: null } } } as unknown as KernelState;
  const n = (kind: StepNote['kind'], held: string[], irqsOff: boolean): StepNote => ({ kind, mm: mmId('P0'), what: 'x', table: 3, held, irqsOff });

  it('lists every spinlock held where something may sleep', () => {
    expect(missing(n('might-sleep', ['mmap_lock:P0', 'page_table_lock:P0', 'ptl:3'], false), s)).toBe('might_sleep (x) in atomic context holding page_table_lock:P0, ptl:3');
  });

  it('allows a PTE write with its locks held and IRQs off: only a synchronous IPI may not wait with IRQs off', () => {
    expect(missing(n('pte-write', ['mmap_lock:P0', 'ptl:3'], true), s)).toBeNull();
    expect(missing(n('ipi-wait', [], false), s)).toBeNull();
  });
});

describe('lock-discipline: lock-class order', () => {
  it('fires on the step that closes a cycle in the lock-class order', () => {
    // __pte_alloc takes a PTE lock under page_table_lock, zap_pte_range
    // takes page_table_lock under a PTE lock: each order alone is fine,
    // both together can deadlock two CPUs (lockdep's "possible circular
    // locking dependency").
    const inverted = defineVariant({
      name: 'ptl-page-table-lock-inversion',
      description: 'zap_pte_range takes page_table_lock under the PTL; __pte_alloc takes the new PTL under page_table_lock',
      edit: (v) =>
        v
          .insertAfter('__pte_alloc.page_table_lock', {
            id: '__pte_alloc.ptl',
            *fn(k, c: FaultCtx) {
              yield* lock(k, ptlOf(c.newTable!), 'w', '__pte_alloc.ptl');
              yield* unlock(k, ptlOf(c.newTable!), '__pte_alloc.ptl_unlock');
            },
          })
          .insertAfter('zap_pte_range.pte_offset_map_lock', {
            id: 'zap_pte_range.page_table_lock',
            *fn(k, c: ZapCtx) {
              yield* lock(k, pageTableLock(c.mm), 'w', 'zap_pte_range.page_table_lock');
              yield* unlock(k, pageTableLock(c.mm), 'zap_pte_range.page_table_unlock');
            },
          }),
    });
    const r = check(zapWhileCached(), broken(inverted));
    expect(r.violation).toEqual({
      property: 'lock-discipline', holder: 'locks', step: 47, actor: 'T0', stepId: 'ptl-page-table-lock-inversion:zap_pte_range.page_table_lock',
      message: 'lock-class inversion page_table_lock -> ptl -> page_table_lock',
    });
    // the order recorded before that step had no cycle: the first edge alone is fine
    expect(r.state.ghost.lockOrder).toMatchObject({ page_table_lock: ['ptl'], ptl: ['page_table_lock'] });
  });

  // The cases below are direct calls on a hand-built order: which orders a
  // scenario records depends on the paths, and no linux path makes a
  // diamond or a cycle away from the first class, so no scenario pins
  // how the search walks them.
  const order = (lockOrder: Record<string, string[]>) =>
    lockDiscipline.check({ s: { ghost: { lockOrder } } as unknown as KernelState, event: { notes: [] }, mem: {} } as unknown as CheckContext);

  it('does not call a diamond an inversion (two paths to one class)', () => {
    expect(order({ mmap_lock: ['page_table_lock', 'ptl'], page_table_lock: ['ptl'], i_mmap_rwsem: ['ptl'] })).toBeNull();
    expect(order({ i_mmap_rwsem: ['mmap_lock', 'ptl'], mmap_lock: ['ptl'] })).toBeNull();
    // the search of mmap_lock must finish (both children) before page_table_lock reaches it
    expect(order({ mmap_lock: ['i_mmap_rwsem', 'ptl'], page_table_lock: ['mmap_lock'] })).toBeNull();
  });

  it('names only the classes on the cycle, from where it closes', () => {
    expect(order({ i_mmap_rwsem: ['mmap_lock'], mmap_lock: ['ptl'], ptl: ['page_table_lock'], page_table_lock: ['ptl'] })).toEqual({
      holder: 'locks', message: 'lock-class inversion ptl -> page_table_lock -> ptl',
    });
  });

  it('leaves out classes whose search finished before the cycle closed', () => {
    expect(order({ mmap_lock: ['i_mmap_rwsem', 'page_table_lock'], page_table_lock: ['mmap_lock'] })).toEqual({
      holder: 'locks', message: 'lock-class inversion mmap_lock -> page_table_lock -> mmap_lock',
    });
  });

  it('finds a cycle the first search did not reach, starting from the first class by name', () => {
    // Sorted, so the message (and the finding's signature) does not depend
    // on the order in which the run happened to record the classes.
    expect(order({ page_table_lock: ['mmap_lock'], i_mmap_rwsem: ['ptl'], mmap_lock: ['page_table_lock'] })).toEqual({
      holder: 'locks', message: 'lock-class inversion mmap_lock -> page_table_lock -> mmap_lock',
    });
  });
});
