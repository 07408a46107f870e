// Fix candidate, not a posted patch: try_to_unmap_one() does not defer the
// flush of a PTE it clears for a lazyfree anonymous folio; it flushes
// (flush_tlb_range(), as when should_defer_flush() is false) before the
// PTL goes. It closes the window of
// docs/findings/lazyfree-refault-stale-read.md: a discarded lazyfree folio
// leaves the PTE none, so a fault right after the PTL is dropped installs a
// new page while another CPU still translates to the old folio through the
// pending batch. The file-folio fix candidate
// (patches/reclaim-flush-before-remove-mapping.ts) does not help here: an
// anonymous refault never finds the old folio. Gives up the batching for
// lazyfree folios only (an IPI per mapped lazyfree folio).
import { defineVariant } from '../model/policies/variant.js';
import { setTlbUbcFlushPending } from '../model/kernel/paths/tlbbatch.js';
import type { TryToUnmapOneCtx } from '../model/kernel/paths/try_to_unmap_one.js';

export default defineVariant({
  name: 'lazyfree-discard-flush-under-ptl',
  description: 'try_to_unmap_one flushes a lazyfree folio\'s PTE under the PTL instead of batching it (fix candidate for the lazyfree refault stale read)',
  edit: (v) =>
    v.replace('try_to_unmap_one.set_tlb_ubc_flush_pending', function* (k, c0) {
      const c = c0 as TryToUnmapOneCtx;
      if (!c.pteval) return;
      if (c.anon) {
        c.flushNow = true; // try_to_unmap_one.flush_tlb_range flushes before page_vma_mapped_walk_done
        return;
      }
      if (!c.flushNow) yield* setTlbUbcFlushPending(k, c.mm, c.pteval);
    }),
});
