// Mutant: move_pgt_entry() as it was before 97113eb39fa7 ("mm/mremap:
// hold the rmap lock in write mode when moving page table entries.",
// Aneesh Kumar K.V, 2021, in -mm 2021-06-16; CVE-2022-41222): move_page_tables()
// passed need_rmap_locks to move_pgt_entry(NORMAL_PMD / NORMAL_PUD), and
// need_rmap_locks is false when the new VMA is not merged (it comes after
// the old one in rmap order, so a walk that misses the entry at the old
// address finds it at the new one), so take_rmap_locks() was skipped.
// move_normal_pmd() takes only the PMD locks, not the PTL of the table it
// moves: an rmap walker that already holds that PTL, having found the PTE
// at the old address, clears it after the move and flushes only the old
// address (ptep_clear_flush()), while another CPU filled a TLB entry at
// the new address in between; the page is freed under that entry (the
// commit's diagram: "ptep_clear_flush() / old pfn is free. / Stale TLB
// entry"). The model's such walker is migration's synchronous pass
// (try_to_migrate_one() without TTU_BATCH_FLUSH); the report's was
// try_to_unmap_one() with ptep_clear_flush().
// Scenario: test/scenarios/mremap-pmd-vs-migrate-97113eb39fa7.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-97113eb39fa7',
  description: 'move_pgt_entry moves a whole PMD/PUD entry without take_rmap_locks (need_rmap_locks false: before 97113eb39fa7)',
  edit: (v) => v.drop('move_pgt_entry.take_rmap_locks').drop('move_pgt_entry.drop_rmap_locks'),
});
