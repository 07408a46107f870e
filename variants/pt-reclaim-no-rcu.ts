// Mutant: the PTE table PT_RECLAIM unlinked is freed at once (pte_free())
// instead of through tlb_remove_table() and RCU after the gather's flush.
// Until that flush a PSC entry of a CPU on the mm (lazy ones included) may
// still point at the table, and an IRQs-off GUP-fast walker may be reading
// it: the grace period is what mainline waits for (CONFIG_PT_RECLAIM
// depends on MMU_GATHER_RCU_TABLE_FREE, Qi Zheng, 2025-12).
import { freeFrame } from '../model/kernel/frames.js';
import { gatherOf, widen } from '../model/kernel/paths/mmu_gather.js';
import type { ZapCtx } from '../model/kernel/paths/zap.js';
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pt-reclaim-no-rcu',
  description: 'zap_pte_range frees a reclaimed PTE table directly, without tlb_remove_table and the RCU grace period',
  edit: (v) =>
    v.replace('pte_free_tlb', function* (k, c: ZapCtx) {
      if (c.addr !== c.end || !c.canReclaimPt || c.reclaimed == null) return;
      const g = gatherOf(k);
      widen(g, c.start!, c.start! + 1); // the flush itself still happens, later
      g.freedTables = true;
      freeFrame(k.s, k.s.frames[c.reclaimed]!); // pte_free(): no grace period, no flush first
      yield { id: 'pte_free_tlb' };
    }),
});
