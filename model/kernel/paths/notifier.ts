// mmu_notifier_invalidate_range_start() / _end() (include/linux/mmu_notifier.h)
// at the points the kernel calls them. Start runs while the pages are
// still mapped, before any PTE in the range changes; end runs after the
// PTE changes and may run after pages were already freed by a forced
// flush. Each subscription of the mm is called in turn (mn_hlist_*()):
// KVM's (paths/kvm_notifier.ts, one per VM whose memslots point into the
// mm), and an IOMMU SVA domain's (paths/sva.ts: only its release; its
// arch_invalidate_secondary_tlbs is called by the CPU flush functions).
// With no subscription they do nothing and take no step.
//
// mshare pass-through (Jann Horn's design, research/mshare.md 5): a call on
// a host mm is passed to every sharer mm found in the msharefs inode's
// i_mmap, walked under i_mmap_rwsem (read), as unmap_mapping_range_tree()
// does, with the host range translated into the sharer's window.
//
// Ghost (notifier-balance): every start delivered to a subscription is
// recorded against its caller until the matching end.

import { step, type StepDef } from '../step.js';
import { iMmapRwsem, lock, unlock } from '../locks.js';
import { mshareOfHost } from '../mshare/msharefs.js';
import type { K } from '../step.js';
import { ModelError, type MmId } from '../types.js';

export interface NotifierCtx {
  mm: MmId;
  start: number;
  end: number;
  event: 'UNMAP' | 'CLEAR' | 'PROTECTION_VMA' | 'PROTECTION_PAGE' | 'MIGRATE';
}

type Op = 'invalidate_range_start' | 'invalidate_range_end' | 'release';

/** Each subscription of `mm` in turn (mn_hlist_*()); a patch of the pass-through (patches/) reuses it. */
export function* callSubscriptions(k: K, mm: MmId, op: Op, start: number, end: number) {
  const m = k.s.mms[mm]!;
  if (m.notifiers.length === 0) return;
  const kvm = k.s.kvm;
  if (kvm && op === 'invalidate_range_start') kvm.openStarts.push({ actor: k.self, mm });
  for (const n of [...m.notifiers]) {
    if (n.startsWith('sva:')) {
      // intel_mmuops has no invalidate_range_start/end: only .release (and .arch_invalidate_secondary_tlbs, paths/sva.ts)
      if (op === 'release') yield* k.run('intel_mm_release', { dev: n.slice(4), mm });
      continue;
    }
    if (!n.startsWith('kvm:')) throw new ModelError(`notifier ${n}.${op} is not modelled`);
    const vm = n.slice(4);
    if (op === 'release') yield* k.run('kvm_mmu_notifier_release', { vm, mm });
    else yield* k.run(`kvm_mmu_notifier_${op}`, { vm, start, end });
  }
  if (kvm && op === 'invalidate_range_end') {
    // the start is closed once every subscription's end has run
    const i = kvm.openStarts.findIndex((o) => o.actor === k.self && o.mm === mm);
    if (i < 0) kvm.unmatchedEnds++;
    else kvm.openStarts.splice(i, 1);
  }
}

function* passThrough(k: K, c: NotifierCtx, op: Op) {
  const f = mshareOfHost(k.s, c.mm);
  if (!f || !k.knob('notifierPassThrough')) return;
  yield* lock(k, iMmapRwsem(f.name), 'r', `mshare_${op}.i_mmap_lock_read`);
  for (const sh of [...f.sharers]) yield* callSubscriptions(k, sh.mm, op, sh.start + (c.start - f.start), sh.start + (c.end - f.start));
  yield* unlock(k, iMmapRwsem(f.name), `mshare_${op}.i_mmap_unlock_read`);
}

export const mmuNotifierInvalidateRangeStart: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_start', function* (k, c) {
    yield* callSubscriptions(k, c.mm, 'invalidate_range_start', c.start, c.end);
    yield* passThrough(k, c, 'invalidate_range_start');
  }),
];

export const mmuNotifierInvalidateRangeEnd: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* callSubscriptions(k, c.mm, 'invalidate_range_end', c.start, c.end);
    yield* passThrough(k, c, 'invalidate_range_end');
  }),
];

/**
 * mmu_notifier_release() (mm/mmu_notifier.c), from exit_mmap() before any
 * table is freed: every subscription's ->release(), under SRCU.
 */
export const mmuNotifierRelease: StepDef<{ mm: MmId }>[] = [
  step('mmu_notifier_release', function* (k, c) {
    yield* callSubscriptions(k, c.mm, 'release', 0, 0);
  }),
];
