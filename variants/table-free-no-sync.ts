// Mutant: tlb_remove_table_one() without tlb_remove_table_sync_one(): when
// the batch page cannot be had and CONFIG_PT_RECLAIM is off, the table is
// freed right after tlb_table_invalidate(), with no synchronous IPI. While
// that flush is an IPI to every CPU of the mm it already waits for an
// IRQs-off walker, so the missing IPI goes unnoticed (the overlap Lance
// Yang's 2026 series exploits, update-2026 B3); under INVLPGB with a global
// ASID the flush is a broadcast and a GUP-fast walker reads the freed
// table (no-freed-table-reachable).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'table-free-no-sync',
  description: 'tlb_remove_table_one frees the table without tlb_remove_table_sync_one (no PT_RECLAIM)',
  edit: (v) => v.drop('tlb_remove_table_sync_one'),
});
