// mmu_notifier_invalidate_range_start() / _end() (include/linux/mmu_notifier.h)
// at the points the kernel calls them. Start runs while the pages are
// still mapped, before any PTE in the range changes; end runs after the
// PTE changes and may run after pages were already freed by a forced
// flush. Each subscription is called in turn; with no secondary MMU
// registered (until KVM is modelled) they do nothing and take no step.
//
// mshare pass-through (Jann Horn's design, research/mshare.md 5): a call on
// a host mm is passed to every sharer mm found in the msharefs inode's
// i_mmap, walked under i_mmap_rwsem (read), as unmap_mapping_range_tree()
// does. Only its calls and locking are modelled: no sharer has a
// subscription to reach until KVM is.

import { step, type StepDef } from '../step.js';
import { iMmapRwsem, lock, unlock } from '../locks.js';
import { mshareOfHost } from '../mshare/msharefs.js';
import type { K } from '../step.js';
import { ModelError, type MmId } from '../types.js';

export interface NotifierCtx {
  mm: MmId;
  start: number;
  end: number;
  event: 'UNMAP' | 'CLEAR' | 'PROTECTION_VMA';
}

function* callSubscriptions(mm: { notifiers: string[] }, op: string) {
  for (const n of mm.notifiers) throw new ModelError(`notifier ${n}.${op} is not modelled yet`);
}

function* passThrough(k: K, c: NotifierCtx, op: string) {
  const f = mshareOfHost(k.s, c.mm);
  if (!f || !k.knob('notifierPassThrough')) return;
  yield* lock(k, iMmapRwsem(f.name), 'r', `mshare_${op}.i_mmap_lock_read`);
  for (const sh of [...f.sharers]) yield* callSubscriptions(k.s.mms[sh.mm]!, op);
  yield* unlock(k, iMmapRwsem(f.name), `mshare_${op}.i_mmap_unlock_read`);
}

export const mmuNotifierInvalidateRangeStart: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_start', function* (k, c) {
    yield* callSubscriptions(k.s.mms[c.mm]!, 'invalidate_range_start');
    yield* passThrough(k, c, 'invalidate_range_start');
  }),
];

export const mmuNotifierInvalidateRangeEnd: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* callSubscriptions(k.s.mms[c.mm]!, 'invalidate_range_end');
    yield* passThrough(k, c, 'invalidate_range_end');
  }),
];

/**
 * mmu_notifier_release() (mm/mmu_notifier.c), from exit_mmap() before any
 * table is freed: every subscription's ->release(), under SRCU.
 */
export const mmuNotifierRelease: StepDef<{ mm: MmId }>[] = [
  step('mmu_notifier_release', function* (k, c) {
    yield* callSubscriptions(k.s.mms[c.mm]!, 'release');
  }),
];
