// Mutant: shrink_folio_list() frees the reclaimed folios before
// try_to_unmap_flush(), breaking the contract the deferred flush was
// introduced with (72b252aed506, "mm: send one IPI per CPU to TLB flush all
// entries after unmapping pages", Mel Gorman, 2015: the batch is flushed
// before the pages are freed, free_unref_folios() after
// try_to_unmap_flush() in today's mm/vmscan.c). Not a fix commit: the
// contract a regression would break.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'reclaim-free-before-batch-flush',
  description: 'shrink_folio_list frees the folio before try_to_unmap_flush',
  edit: (v) => v.move('free_unref_folios', { before: 'shrink_folio_list.try_to_unmap_flush' }),
});
