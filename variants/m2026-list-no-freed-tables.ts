// mshare-2026 with the unsafe reading of listFreedTables: the per-sharer
// flush_tlb_mm_range() never passes freed_tables, so a lazy sharer CPU is
// not sent an IPI when the host frees tables under the region
// (test/scenarios/m2026-lazy-sharer-close.txt; update-2026 A1 (ii), B8).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'm2026-list-no-freed-tables',
  description: 'mshare-2026: the per-sharer flushes of the list walk never carry freed_tables',
  policy: 'mshare-2026',
  edit: (v) => v.knobs({ listFreedTables: 'never' }),
});
