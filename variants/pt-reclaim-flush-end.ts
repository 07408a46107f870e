// Mutant from history: zap_pte_range() passed its loop variable to
// pte_free_tlb() after the loop, when it always points one past the PTE
// table ("mm: move pte table reclaim code to memory.c", 2026-01, until
// commit 478a1c3abebf "mm: fix incorrect flush address in direct page
// table reclaim", CVE-2026-74674, affected 7.0 to 7.1.8). When nothing
// else in the gather covers the table (it was already empty), the flush
// misses it on hardware whose INVLPG drops only the paging-structure-cache
// entries of its own address (AMD with EFER.TCE; INVPCID), and the table
// is freed and reused under a CPU's stale PSC entry.
import { pteFreeTlb } from '../model/kernel/paths/pt_reclaim.js';
import { reclaimedTable, type ZapCtx } from '../model/kernel/paths/zap.js';
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pt-reclaim-flush-end',
  description: 'pte_free_tlb of a reclaimed PTE table widens the flush at the end address, one past the table (pre-478a1c3abebf)',
  edit: (v) =>
    v.replace('pte_free_tlb', function* (k, c: ZapCtx) {
      const t = reclaimedTable(c);
      if (t !== null) yield* pteFreeTlb(k, t, c.addr); // addr == end here
    }),
});
