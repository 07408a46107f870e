// do_exit() as far as memory goes: exit_mshare() first for a region
// owner (v3), then exit_mmap(), modelled as an munmap of the whole address
// space (the mm itself is not torn down; its threads stop).

import { step, type StepDef } from '../step.js';
import type { MmId } from '../types.js';

export const doExit: StepDef<{ mm: MmId; opId: string; start: number; end: number }>[] = [
  step('do_exit.exit_mshare', function* (k, c) {
    if (k.policy.mshare?.owner) yield* k.run('exit_mshare', { mm: c.mm, opId: c.opId });
  }),
  step('do_exit.exit_mmap', function* (k, c) {
    yield* k.run('munmap', { mm: c.mm, opId: c.opId, start: c.start, end: c.end });
  }),
];
