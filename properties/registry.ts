// The one registry of properties (STYLE.md rule 5). Ids are stable: the
// reports, the tests and the matrix use them.

import { lockDiscipline } from './lock_discipline.js';
import { noDeadlock } from './no_deadlock.js';
import { noFreedFrameReachable } from './no_freed_frame_reachable.js';
import { noFreedTableReachable } from './no_freed_table_reachable.js';
import { noStalePscAfterUnlink } from './no_stale_psc_after_unlink.js';
import { progress } from './progress.js';
import { protectComplete } from './protect_complete.js';
import type { Property } from './property.js';
import { readValue } from './read_value.js';
import { shareCount } from './share_count.js';
import { sharedTableFlush } from './shared_table_flush.js';
import { unmapComplete } from './unmap_complete.js';
import { secondarySubset } from './secondary_subset.js';
import { noSpteInWindow } from './no_spte_in_window.js';
import { notifierBalance } from './notifier_balance.js';

export const PROPERTIES: readonly Property[] = [
  noFreedFrameReachable,
  noFreedTableReachable,
  unmapComplete,
  protectComplete,
  readValue,
  shareCount,
  lockDiscipline,
  noDeadlock,
  // issue 10's: after the older ones, so a saved counterexample keeps its signature
  noStalePscAfterUnlink,
  sharedTableFlush,
  // issue 11's (KVM): they look only at KVM state, absent from runs without a VM
  secondarySubset,
  noSpteInWindow,
  notifierBalance,
  progress,
];

export const propertyIds = PROPERTIES.map((p) => p.id);

/**
 * The properties that look only at KVM state: vacuous in a run without a
 * VM. The matrix leaves them out while its campaigns generate no VM
 * (VMs are opt-in, `--ops ...,vm`: docs/kvm.md), rather than print a
 * "holds" that nothing was checked for.
 */
export const SECONDARY_MMU_PROPERTIES: readonly string[] = [secondarySubset.id, noSpteInWindow.id, notifierBalance.id];

export function propertyById(id: string): Property | undefined {
  return PROPERTIES.find((p) => p.id === id);
}
