// Mutant: migrate_pages_batch() moves (copies) the folio before the batched
// flush of its unmap: try_to_unmap_flush() after migrate_folio_move()'s
// folio_unlock() instead of between the unmap and the move phases. The
// contract 7e12beb8ca2a ("migrate_pages: batch flushing TLB", Huang Ying,
// 2023-02-13) kept when it replaced try_to_migrate_one()'s
// ptep_clear_flush() by set_tlb_ubc_flush_pending(): "Flush TLBs for all
// unmapped folios" before the first migrate_folio_move(). Without it a CPU
// still writing through its TLB entry writes into the old folio after the
// copy, and the write is lost when the new PTE is installed
// (research/tlb-kvm.md 6.3, I8 "no lost writes in migration"). Not a fix
// commit: the order the batching has to keep.
// Scenario: test/scenarios/migrate-write-in-flush-window.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'migrate-copy-before-flush',
  description: 'migrate_pages_batch copies the folio before try_to_unmap_flush (the batched flush after the move)',
  edit: (v) => v.move('migrate_pages_batch.try_to_unmap_flush', { after: 'migrate_folio_move.folio_unlock' }),
});
