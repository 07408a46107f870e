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
// and pte_unmap() drops it, so a table freed through RCU (PT_RECLAIM,
// free_pgtables()) stays a page table while a walker waits for its PTL:
// the pmd_same() recheck sees the entry changed, never a reused frame.
// The model holds rcu_read_lock() from the read until the PTL is taken;
// from then on the PTL, a spinlock, holds the grace period off as well
// (locks.ts), so the model drops it there rather than at pte_unmap().

import { findTable } from './pagetable.js';
import { lock, ptlOf, rcuReadLock, rcuReadUnlock, unlock } from './locks.js';
import type { Gen, K } from './step.js';
import type { MmId, Pfn } from './types.js';

/** The PTE table mapping `v` in `mm`, locked; null where the PMD entry is none. `id` names the lock step. */
export function* pteOffsetMapLock(k: K, mm: MmId, v: number, id: string): Gen<Pfn | null> {
  rcuReadLock(k.s, k.self); // __pte_offset_map(): rcu_read_lock()
  for (;;) {
    const t = findTable(k.s, k.s.mms[mm]!, v, 1); // pmdval = pmdp_get_lockless()
    if (!t) {
      rcuReadUnlock(k.s, k.self); // pte_offset_map() returned NULL, after rcu_read_unlock()
      return null;
    }
    yield* lock(k, ptlOf(t.pfn), 'w', id);
    if (findTable(k.s, k.s.mms[mm]!, v, 1)?.pfn === t.pfn) {
      rcuReadUnlock(k.s, k.self); // the PTL holds the grace period off from here (the kernel's is at pte_unmap())
      return t.pfn; // pmd_same(pmdval, pmdp_get_lockless(pmd))
    }
    yield* unlock(k, ptlOf(t.pfn), `${id}.pmd_changed`); // spin_unlock(); goto again, still under rcu_read_lock()
  }
}
