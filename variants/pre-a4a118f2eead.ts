// Mutant: __unmap_hugepage_range() before a4a118f2eead ("hugetlbfs: flush
// TLBs correctly after huge_pmd_unshare", Nadav Amit, 2021): a successful
// huge_pmd_unshare() cleared this mm's PUD entry without recording
// anything in the mmu_gather (no tlb_flush_pmd_range() over PUD_SIZE, and
// of course no unshared_tables, which came in 8ce720d5bd91), so when no
// other entry of the range was cleared nothing was flushed: the unsharer's
// TLB keeps the huge entries after munmap()/MADV_DONTNEED returned.
import { defineVariant } from '../model/policies/variant.js';
import { nextPud, pmdIsShared, pudClearShared, type UnmapHugeCtx } from '../model/kernel/paths/hugetlb.js';
import { pmdLock, unlock } from '../model/kernel/locks.js';
import { STOP_STEP } from '../model/kernel/step.js';

export default defineVariant({
  name: 'pre-a4a118f2eead',
  description: 'huge_pmd_unshare clears the PUD entry and drops pt_share_count but records no flush range (before a4a118f2eead)',
  edit: (v) =>
    v.replace('huge_pmd_unshare', function* (k, c: UnmapHugeCtx) {
      const t = k.s.frames[c.table!]!;
      if (!pmdIsShared(t)) return;
      pudClearShared(k, c, t);
      t.shareCount--; // no tlb_flush_pmd_range(), no unshared_tables
      yield { id: 'huge_pmd_unshare.pud_clear' };
      yield* unlock(k, pmdLock(t.pfn), 'huge_pmd_unshare.spin_unlock');
      c.addr = nextPud(k.s, c.addr!);
      return STOP_STEP;
    }),
});
