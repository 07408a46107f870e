// Mutant: arch_tlbbatch_add_pending() without inc_mm_tlb_gen(). The
// increment came with tlb_gen itself (Andy Lutomirski, "x86/mm: Give each
// mm TLB flush generation a unique ID", 2017: bump_mm_tlb_gen() in
// arch_tlbbatch_add_mm()); arch_tlbbatch_flush() sends its full flush with
// mm = NULL, which should_flush_tlb() does not send to lazy CPUs ("x86/mm:
// Rework lazy TLB mode and TLB freshness tracking", 94b1b03b519b), so a
// lazy CPU only drops its entries at the next switch-in by comparing
// tlb_gen. Without the increment that catch-up never flushes, and neither
// does the batch flush itself: flush_tlb_func() finds local_tlb_gen ==
// mm_tlb_gen and returns, so every CPU of the batch keeps the reclaimed
// page after it is freed. Not a fix commit: the rule the batch flush and
// the lazy skip rely on.
import { defineVariant } from '../model/policies/variant.js';
import { setTlbUbcFlushPending } from '../model/kernel/paths/tlbbatch.js';
import type { TryToUnmapOneCtx } from '../model/kernel/paths/try_to_unmap_one.js';

export default defineVariant({
  name: 'tlbbatch-no-tlb-gen',
  description: 'arch_tlbbatch_add_pending does not inc_mm_tlb_gen: a lazy CPU skipped by the batch flush never catches up',
  edit: (v) =>
    v.replace('try_to_unmap_one.set_tlb_ubc_flush_pending', function* (k, c: TryToUnmapOneCtx) {
      if (c.pteval && !c.flushNow) yield* setTlbUbcFlushPending(k, c.mm, c.pteval, false);
    }),
});
