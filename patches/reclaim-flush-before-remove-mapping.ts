// Fix candidate, not a posted patch: shrink_folio_list() flushes the batch
// (try_to_unmap_flush()) before __remove_mapping() takes a folio that
// try_to_unmap() just unmapped out of the page cache, instead of only
// before free_unref_folios(). It closes the window of
// docs/findings/reclaim-refault-stale-read.md: once the folio has left the
// page cache a refault installs a new folio for the same file index, so a
// CPU still translating to the old one through the pending batch reads data
// that is no longer the file's. It gives up the batching 72b252aed506 added
// for clean file folios that were mapped (the IPI per folio comes back);
// unmapped folios and the free still batch as today.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'reclaim-flush-before-remove-mapping',
  description: 'shrink_folio_list flushes the batch before __remove_mapping (fix candidate for the refault stale read)',
  edit: (v) => v.move('shrink_folio_list.try_to_unmap_flush', { before: '__remove_mapping' }),
});
