// mmu_notifier_invalidate_range_start() / _end() (include/linux/mmu_notifier.h)
// at the points the kernel calls them. Start runs while the pages are
// still mapped, before any PTE in the range changes; end runs after the
// PTE changes and may run after pages were already freed by a forced
// flush. Each subscription is called in turn; with no secondary MMU
// registered (until KVM is modelled) they do nothing and take no step.

import { step, type StepDef } from '../../policies/policy.js';
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

export const mmuNotifierInvalidateRangeStart: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_start', function* (k, c) {
    yield* callSubscriptions(k.s.mms[c.mm]!, 'invalidate_range_start');
  }),
];

export const mmuNotifierInvalidateRangeEnd: StepDef<NotifierCtx>[] = [
  step('mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* callSubscriptions(k.s.mms[c.mm]!, 'invalidate_range_end');
  }),
];
