// Mutant: __pte_offset_map() without its rcu_read_lock(). Since
// 0d940a9b270b ("mm/pgtable: allow pte_offset_map[_lock]() to fail",
// Hugh Dickins, 2023-06-08) the PTE-level walkers read the PMD entry
// locklessly under rcu_read_lock() and recheck it under the PTL
// (pmd_same()), so that a PTE table can be freed by RCU without the
// mmap_lock: khugepaged's retract_page_tables() first, and CONFIG_PT_RECLAIM
// (MADV_DONTNEED of a whole table) since 6.14. Without the read lock a
// grace period may end while a walker waits for the PTL of a table it
// read: it spins on the lock of a freed page-table page. A rule mutant:
// no kernel ran PT_RECLAIM without it. Decision point
// __pte_offset_map.rcu_read_lock (pte_offset_map.ts).
// Expected: a fault on a table a MADV_DONTNEED reclaims waits for the
// table's PTL; the rcu actor frees the table while it waits
// (no-freed-table-reachable, holder walker; model/kernel/paths/rcu.test.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pte-offset-map-no-rcu',
  description: '__pte_offset_map() reads the PMD entry without rcu_read_lock() (rule mutant)',
  edit: (v) => v.decide('__pte_offset_map.rcu_read_lock', () => false),
});
