// Mutant: the x86 analogue of arm64's c2ff4764e03e ("arm64: tlb: Flush
// walk cache when unsharing PMD tables", Fixes 8ce720d5bd91): arm64
// tlb_flush() chose its TLBI by freed_tables alone, so an unshare
// invalidated leaf entries only (VALE1IS) and the walk cache kept the PMD
// table's entry. x86 has no leaf-only INVLPG (INVLPGB's FINAL_ONLY is the
// nearest, when !freed_tables); the variant gives tlb_flush_unshared_tables()
// a leaf-only invalidation of the gather's range on every CPU holding the
// mm's PCID (as VALE1IS broadcasts it), with no PSC invalidation and, as
// arm64's broadcast TLBI has none, no tlb_gen bump (a dormant PCID slot of
// the mm keeps its walk-cache entries usable).
import { defineVariant } from '../model/policies/variant.js';
import { gatherOf, resetRange } from '../model/kernel/paths/mmu_gather.js';
import { mmOfCtx } from '../model/kernel/tlb.js';

export default defineVariant({
  name: 'unshare-leaf-only-flush',
  description: 'tlb_flush_unshared_tables invalidates leaf TLB entries of the range only; paging-structure caches keep the unshared PMD table (x86 analogue of c2ff4764e03e)',
  edit: (v) =>
    v.replace('tlb_flush_unshared_tables', function* (k) {
      const g = gatherOf(k);
      if (!g.unsharedTables) return;
      const s = k.s;
      for (const cpu of s.cpus) {
        cpu.tlb = cpu.tlb.filter((e) => !(mmOfCtx(s, cpu.slots[e.slot]!.ctxId)?.id === g.mm && e.vpn >= g.start && e.vpn < g.end));
      }
      resetRange(g);
      yield { id: 'tlb_flush_unshared_tables.leaf_only' };
    }),
});
