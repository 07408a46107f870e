// Mutant: an mprotect write upgrade makes every present PTE writable,
// COW-shared anonymous pages included: can_change_pte_writable() is taken
// to be true. After a fork, mprotect(PROT_READ|PROT_WRITE) on the parent
// would then let it write into the page the child still maps. The kernel
// upgrades a private mapping's PTE only for an exclusive anonymous page
// (mm/mprotect.c can_change_pte_writable(), PageAnonExclusive()); here the
// condition is the decision point can_change_pte_writable.anon_exclusive.
// Not a fix commit: the condition the mechanism needs, taken away (the
// model itself did this before fork was modelled, and the first fork
// campaign found it: test/scenarios/fork-then-mprotect-upgrade.txt).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'mprotect-upgrade-ignores-cow',
  description: 'mprotect makes a COW-shared anonymous PTE writable (can_change_pte_writable always true)',
  edit: (v) => v.decide('can_change_pte_writable.anon_exclusive', () => true),
});
