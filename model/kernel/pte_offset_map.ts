// pte_offset_map_lock() -> __pte_offset_map_lock() (mm/pgtable-generic.c):
// map the PTE table the PMD entry points to, take its PTL, and only then
// trust it: if the PMD entry changed meanwhile (pmd_same() fails), unlock
// and start again; if it is none, there is no table (the caller bails out,
// a fault is retried). Since CONFIG_PT_RECLAIM a MADV_DONTNEED on another
// thread can clear the PMD entry and free the table between the lockless
// read and the lock, so every PTE-level walker that takes the PTL goes
// through here. Once the PTL is held the table stays: reclaiming it needs
// the same PTL (pt_reclaim.ts).
//
// __pte_offset_map() takes rcu_read_lock() before it reads the PMD entry
// and pte_unmap() drops it (0d940a9b270b), so a table freed through RCU
// (PT_RECLAIM) stays a page table while a walker waits for its PTL. In
// the model the grace period waits for the walker only once it holds the
// PTL (a spinlock, locks.ts): the read below runs in the code before the
// lock's wait, which no step records, and a read-side section opened
// there would be state the explorer's replays do not see (campaigns/
// explore/explore.ts, stepActor()). So a waiter may find the frame freed
// and reused, and the pmd_same() recheck (by pfn, as the kernel compares
// values) then sends it round again: more schedules than Linux has, never
// fewer.

import { findTable } from './pagetable.js';
import { lock, ptlOf, unlock } from './locks.js';
import type { Gen, K } from './step.js';
import type { MmId, Pfn } from './types.js';

/** The PTE table mapping `v` in `mm`, locked; null where the PMD entry is none. `id` names the lock step. */
export function* pteOffsetMapLock(k: K, mm: MmId, v: number, id: string): Gen<Pfn | null> {
  for (;;) {
    const t = findTable(k.s, k.s.mms[mm]!, v, 1); // __pte_offset_map(): pmdval = pmdp_get_lockless()
    if (!t) return null;
    yield* lock(k, ptlOf(t.pfn), 'w', id);
    if (findTable(k.s, k.s.mms[mm]!, v, 1)?.pfn === t.pfn) return t.pfn; // pmd_same(pmdval, pmdp_get_lockless(pmd))
    yield* unlock(k, ptlOf(t.pfn), `${id}.pmd_changed`); // pte_unmap_unlock(); goto again
  }
}
