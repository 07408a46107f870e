// Mutant: fork copies a writable migration entry as it is. Undoes
// "Read/Write migration entries: Implement correct behavior in
// copy_one_pte" (KAMEZAWA Hiroyuki, Christoph Lameter, 2006-04-18,
// <Pine.LNX.4.64.0604181119480.7814@schroedinger.engr.sgi.com>: "Migration
// entries with write permission must become SWP_MIGRATION_READ entries if
// a COW mapping is processed. The migration entries from which the copy is
// being made must also become SWP_MIGRATION_READ"), today
// copy_nonpresent_pte(). remove_migration_ptes() then maps the new page
// writable in parent and child, and a write by one is read by the other:
// the COW is lost. The upstream sha of the 2006 -mm patch is not recorded
// here (not verified). Scenario: test/scenarios/migrate-vs-fork.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'fork-writable-migration-entry',
  description: 'copy_nonpresent_pte copies a writable migration entry of a COW mapping without making it readable',
  edit: (v) => v.decide('copy_nonpresent_pte.is_cow_mapping', () => false),
});
