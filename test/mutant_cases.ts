// Test-only broken variants of `linux` and the scenarios that expose them,
// shared by test/mutants.test.ts (each property fails on a broken path) and
// reports/report.test.ts (each kind of finding renders).

import { putPage } from '../model/kernel/frames.js';
import { kvmMmuLock, lock, ptlOf, unlock } from '../model/kernel/locks.js';
import type { MmId } from '../model/kernel/types.js';
import { unmapPageRange } from '../model/kernel/paths/zap.js';
import { findTable } from '../model/kernel/pagetable.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import type { GupCtx } from '../model/kernel/paths/gup_fast.js';
import { linux } from '../model/policies/linux.js';
import { defineVariant } from '../model/policies/variant.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, gup, guestRead, guestWrite, madvise, munmap, proc, read, run, scenario, thread, until, vm, write } from './build.js';

/** The address every scenario here maps, faults in and zaps. */
export const X = 0x10000;

/** Scenario, breaks nothing on linux: T0 faults X in, T1 on CPU1 caches it, T0 zaps it (or runs `op`); zapWithoutPtl breaks lock-discipline and doubleUnlock the model here. */
export const zapWhileCached = (op = madvise(X)): Scenario =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), op), thread('T1', 'P0', 1, read(X))],
    schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
  });

/**
 * Scenario on three CPUs, clean on linux: T0 zaps X, T2 faults in Y (reusing
 * the most recently freed frame), T1 reads X through its cached entry. With
 * pages freed before the flush (variants/free-before-flush.ts) T1 reads T2's
 * value: read-value.
 */
export const reusedFrameRead = (): Scenario =>
  scenario({
    config: { cpus: 3 },
    setup: [proc('P0'), anon('P0', X, 2)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), read(X)), thread('T2', 'P0', 2, write(X + 0x1000))],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), until('T0', 'tlb_batch_pages_flush'), run('T2'), run('T1')],
  });

/** Scenario, clean on linux: T0, a vCPU of V0 (gfn 0 -> X), writes then reads gfn 0; T1 on CPU1 zaps X with MADV_DONTNEED, placed by `schedule` (test/kvm.test.ts, and the KVM findings' reports in reports/report.test.ts). */
export const guestAndZap = (schedule: Scenario['schedule']): Scenario =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
    threads: [thread('T0', 'P0', 0, guestWrite('V0', 0), guestRead('V0', 0)), thread('T1', 'P0', 1, write(X), madvise(X))],
    schedule: [until('T1', 'user_access.walk'), ...schedule],
  });

/** Breaks lock-discipline: zap_pte_range maps the PTE table without the PTL, so the PTE clear runs without it. */
export const zapWithoutPtl = defineVariant({
  name: 'zap-without-ptl',
  description: 'zap_pte_range clears PTEs without taking the PTE lock',
  edit: (v) => v.drop('zap_pte_range.pte_offset_map_lock').drop('zap_pte_range.pte_unmap_unlock').insertBefore('zap_pte_range.clear', {
    id: 'zap_pte_range.pte_offset_map',
    *fn(k, c) {
      c.table = findTable(k.s, k.s.mms[c.mm]!, c.addr, 1)?.pfn;
      if (c.table === undefined) {
        c.addr = c.end;
        return 'stop';
      }
    },
  }),
});

/** Breaks no-deadlock (with gupPtlDeadlock): gup_fast spins on the PTL with IRQs off, so it never answers the flush IPI of a zap that holds the PTL. */
export const gupFastTakesPtl = defineVariant({
  name: 'gup-fast-takes-ptl',
  description: 'gup_fast spins on the PTE lock with interrupts disabled',
  edit: (v) =>
    v.insertAfter('gup_fast.local_irq_save', {
      id: 'gup_fast.pte_lock',
      *fn(k, c: GupCtx) {
        yield* lock(k, ptlOf(findTable(k.s, k.s.mms[c.mm]!, c.vpn, 1)!.pfn), 'w', 'gup_fast.pte_lock');
      },
    }),
});

/** Breaks no-deadlock under gupFastTakesPtl: T1 enters gup_fast with IRQs off while T0's madvise holds the PTL and flushes early (batch full), waiting on T1's CPU. */
export const gupPtlDeadlock = (): Scenario =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, gup(X))],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'gup_fast.local_irq_save'), until('T0', 'zap_pte_range.pte_offset_map_lock'), run('T1'), run('T0')],
    choices: [{ actor: 'T0', point: 'zap_pte_range.batch_full', nth: 0 }],
  });

/** Breaks progress (with neverMapsLivelock): do_anonymous_page frees the new page instead of installing the PTE, so the access faults forever. */
export const faultNeverMaps = defineVariant({
  name: 'fault-never-maps',
  description: 'do_anonymous_page drops the page instead of setting the PTE',
  edit: (v) =>
    v.replace('do_anonymous_page.set_pte_at', function* (k, c: FaultCtx) {
      putPage(k.s, c.page!);
      yield { id: 'do_anonymous_page.set_pte_at' };
    }),
});

/** Breaks progress under faultNeverMaps: one read of X, capped at 300 steps, livelocks refaulting. */
export const neverMapsLivelock = (): Scenario =>
  scenario({ config: { maxSteps: 300 }, setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, read(X))] });

/** Breaks the model, not a property: zap_pte_range releases the PTL a second time, a model error rather than a kernel violation. */
export const doubleUnlock = defineVariant({
  name: 'double-unlock',
  description: 'zap_pte_range unlocks the PTL twice',
  edit: (v) => v.insertAfter('zap_pte_range.pte_unmap_unlock', { id: 'zap_pte_range.unlock_again', fn: linux.paths.zap_pte_range!.find((s) => s.id === 'zap_pte_range.pte_unmap_unlock')!.fn }),
});

/**
 * P0 runs on four CPUs (T0..T3 each touch X), so its cpumask has four bits; T0's madvise flushes by IPI and,
 * with INVLPGB, consider_global_asid() gives P0 a global ASID (the sampling forced by the choice). T0 then
 * faults X back in and munmaps it while T4 on CPU1 is inside GUP-fast with IRQs off.
 */
export const globalAsidUnmap = (invlpgb: number) =>
  scenario({
    config: { cpus: 4, invlpgb },
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X), write(X), munmap(X)), thread('T1', 'P0', 1, read(X)), thread('T4', 'P0', 1, gup(X)), thread('T2', 'P0', 2, read(X)), thread('T3', 'P0', 3, read(X))],
    schedule: [
      until('T0', 'user_access.walk'), run('T1'), run('T2'), run('T3'), until('T0', 'native_flush_tlb_multi.send'), run('ipi@cpu1'), run('ipi@cpu2'), run('ipi@cpu3'),
      until('T0', 'sys_madvise.return'), until('T0', 'user_access.walk'), until('T4', 'gup_fast_pte_range'), run('T0'), run('T4'),
    ],
    choices: [{ actor: 'T0', point: 'consider_global_asid', nth: 0 }],
  });

/** Breaks notifier-balance: kvm_mmu_invalidate_end() bumps the seq but leaves mmu_invalidate_in_progress up. */
export const invalidateEndNoDec = defineVariant({
  name: 'kvm-invalidate-end-no-dec',
  description: 'kvm_mmu_invalidate_end() forgets mmu_invalidate_in_progress--',
  edit: (v) =>
    v.replace('kvm_mmu_invalidate_end', function* (k, c: { vm: string; ranges?: unknown[] }) {
      if (c.ranges!.length === 0) return;
      k.s.kvm!.vms[c.vm]!.mmuInvalidateSeq++;
      yield { id: 'kvm_mmu_invalidate_end' };
      yield* unlock(k, kvmMmuLock(c.vm), 'kvm_mmu_notifier_invalidate_range_end.kvm_mmu_unlock');
    }),
});

/** Breaks notifier-balance: unmap_vmas() calls invalidate_range_start and zaps, but never _end. */
export const munmapNoNotifierEnd = defineVariant({
  name: 'munmap-no-notifier-end',
  description: 'unmap_vmas() never calls mmu_notifier_invalidate_range_end',
  edit: (v) =>
    v.replace('unmap_vmas', function* (k, c: { mm: MmId; start: number; end: number; opId: string; detached: { start: number; end: number }[] }) {
      yield* k.run('mmu_notifier_invalidate_range_start', { mm: c.mm, start: c.start, end: c.end, event: 'UNMAP' });
      for (const vma of c.detached) yield* unmapPageRange(k, c.mm, c.opId, vma.start, vma.end);
    }),
});

/** Clean on linux: a vCPU reads gfn 0 of a memslot over X before anything faulted X in. */
export const guestMmFault = (): Scenario =>
  scenario({ setup: [proc('P0'), anon('P0', X, 1), { kind: 'vm', name: 'V0', proc: 'P0', memslots: [{ gfn: 0, hva: X >> 12, pages: 1 }] }], threads: [thread('T0', 'P0', 0, { kind: 'guest_read', vm: 'V0', gfn: 0 })] });
