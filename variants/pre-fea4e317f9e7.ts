// Mutant: should_flush_tlb() without the LOADED_MM_SWITCHING check that
// fea4e317f9e7 ("x86/mm: Eliminate window where TLB flushes may be
// inadvertently skipped", CVE-2025-37964) added. A CPU that is switching
// to the mm, has already read the old tlb_gen and is about to load CR3
// without a flush, shows loaded_mm == LOADED_MM_SWITCHING; the flusher
// does not count that as "the target mm is loaded" and skips it. The
// kernel before fea4e317f9e7 also lacked the smp_mb() of 83b0177a6c48;
// this variant keeps that fence (variants/cve-2025-37964-no-fence.ts
// removes it), so the check alone is what it takes away: the decision
// point should_flush_tlb.loaded_mm_switching is always false.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-fea4e317f9e7',
  description: 'should_flush_tlb without the LOADED_MM_SWITCHING check (before fea4e317f9e7)',
  edit: (v) => v.decide('should_flush_tlb.loaded_mm_switching', () => false),
});
