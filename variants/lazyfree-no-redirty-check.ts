// Mutant: try_to_unmap_one() discards a lazyfree folio without its
// redirty check: folio_test_dirty() (set from the cleared PTE's D bit by
// folio_mark_dirty() just before) no longer restores the PTE and makes the
// folio swap-backed again, so a page written after MADV_FREE is thrown away
// and reads back zero. The check is MADV_FREE's contract with the user
// ("if the page is written after MADV_FREE, the kernel keeps it"): since
// its first version (854e9ed09ded "mm: support madvise(MADV_FREE)", Minchan
// Kim, 2016-01-15: discard only `if (!PageDirty(page) && (flags &
// TTU_FREE))`), in the form "redirtied either using the page table or a
// previously obtained GUP reference" since "mm: Set folio swapbacked iff
// folios are dirty in try_to_unmap_one" (Barry Song, 2025-02-14, a fix of
// 6c8e2a256915). Not a fix commit: the mechanism taken away.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'lazyfree-no-redirty-check',
  description: 'try_to_unmap_one discards a redirtied lazyfree folio (no folio_test_dirty check)',
  edit: (v) => v.decide('try_to_unmap_one.lazyfree_dirty', () => false),
});
