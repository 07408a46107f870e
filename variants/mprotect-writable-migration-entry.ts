// Mutant: mprotect() leaves a writable migration entry writable. Undoes the
// fix Christoph Lameter asked for on 2006-04-18 when R/W migration entries
// went in ("Read/Write migration entries: Implement correct behavior in
// copy_one_pte", <Pine.LNX.4.64.0604181119480.7814@schroedinger.engr.sgi.com>:
// "mprotect() also has the potential of changing the write status to
// read"), today change_pte_range()'s swap-entry branch ("A protection
// check is difficult so just be safe and disable write",
// make_readable_migration_entry()). remove_migration_pte() makes the new
// PTE writable for a writable entry whatever vm_page_prot says, so a page
// mprotect(PROT_READ) made read-only while it was under migration comes
// back writable after mprotect returned. The upstream sha of the 2006 -mm
// patch is not recorded here (not verified). Scenario:
// test/scenarios/migrate-vs-mprotect.txt.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'mprotect-writable-migration-entry',
  description: 'change_pte_range keeps a writable migration entry writable (no make_readable_migration_entry)',
  edit: (v) => v.decide('change_pte_range.is_writable_migration_entry', () => false),
});
