// Mutant: the PTE table PT_RECLAIM unlinked is freed at once (pte_free())
// instead of through tlb_remove_table() and RCU after the gather's flush.
// Until that flush a PSC entry of a CPU on the mm (lazy ones included) may
// still point at the table, and an IRQs-off GUP-fast walker may be reading
// it: the grace period is what mainline waits for (CONFIG_PT_RECLAIM
// depends on MMU_GATHER_RCU_TABLE_FREE, Qi Zheng, 2025-12).
import { freeFrame } from '../model/kernel/frames.js';
import { freeTlb, gatherOf } from '../model/kernel/paths/mmu_gather.js';
import { reclaimedTable, type ZapCtx } from '../model/kernel/paths/zap.js';
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pt-reclaim-no-rcu',
  description: 'zap_pte_range frees a reclaimed PTE table directly, without tlb_remove_table and the RCU grace period',
  edit: (v) =>
    v.replace('pte_free_tlb', function* (k, c: ZapCtx) {
      const t = reclaimedTable(c);
      if (t === null) return;
      freeTlb(gatherOf(k), 1, c.start!); // the flush itself still happens, later, as pte_free_tlb() records it
      freeFrame(k.s, k.s.frames[t]!); // pte_free(): no grace period, no flush first
      yield { id: 'pte_free_tlb' };
    }),
});
