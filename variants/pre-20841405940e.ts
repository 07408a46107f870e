// Mutant: pte_accessible() without its mm_tlb_flush_pending() test, as
// try_to_migrate_one() asks it for a PROT_NONE PTE: undoes 20841405940e
// ("mm: fix TLB flush race between migration, and
// change_protection_range", Rik van Riel, 2013-12-18). A NUMA hinting scan
// (change_prot_numa) made the PTE PROT_NONE and has not flushed yet, so
// another CPU may still hold the writable entry it had before; migration
// takes the PROT_NONE PTE for one no TLB can hold, defers no flush, copies
// the page and frees it while that CPU still writes into it ("CPU C keeps
// reading/writing the old page through its TLB ... loses data", the
// commit's diagram). Scenario: test/scenarios/migrate-vs-numa-20841405940e.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-20841405940e',
  description: 'try_to_migrate_one takes a PROT_NONE PTE as inaccessible while a NUMA-scan flush is pending (pte_accessible without mm_tlb_flush_pending)',
  edit: (v) => v.decide('pte_accessible.mm_tlb_flush_pending', () => false),
});
