// Mutant: hugetlb PMD unsharing as mainline had it before the December
// 2025 rework 8ce720d5bd91 ("mm/hugetlb: fix excessive IPI broadcasts when
// unsharing PMD tables using mmu_gather"), read in its 6.1 backport's diff:
// huge_pmd_unshare(mm, vma, addr, ptep) did pud_clear(), then
// tlb_remove_table_sync_one() for EVERY unsharer (1013af4f585f, the
// IPI storm that "broke Oracle DBs"), then pt_share_count--; its caller
// __unmap_hugepage_range() added tlb_flush_pmd_range(PUD range) and set
// force_flush, and flushed with tlb_flush_mmu_tlbonly() at its end, still
// under i_mmap_rwsem. No unshared_tables existed, so x86's flush passed
// freed_tables = false: lazy CPUs of the unsharer were not IPIed. The extra
// IPIs are a performance matter; the lazy CPUs are what the model can see.
import { defineVariant } from '../model/policies/variant.js';
import { nextPud, pmdIsShared, pudClearShared, type UnmapHugeCtx } from '../model/kernel/paths/hugetlb.js';
import { sendIpis, waitForIpis } from '../model/kernel/paths/flush_tlb_mm_range.js';
import { gatherOf, widen } from '../model/kernel/paths/mmu_gather.js';
import { pmdLock, unlock } from '../model/kernel/locks.js';
import { span } from '../model/kernel/config.js';
import { TLB_FLUSH_ALL, type FlushInfo } from '../model/kernel/state.js';
import { STOP_STEP } from '../model/kernel/step.js';

type Ctx = UnmapHugeCtx & { forceFlush?: boolean };

export default defineVariant({
  name: 'pre-8ce720d5bd91',
  description: 'huge_pmd_unshare sends tlb_remove_table_sync_one for every unsharer and records no unshared_tables; force_flush at the end of __unmap_hugepage_range (before 8ce720d5bd91)',
  edit: (v) =>
    v
      .replace('huge_pmd_unshare', function* (k, c: Ctx) {
        const s = k.s;
        const t = s.frames[c.table!]!;
        if (!pmdIsShared(t)) return;
        pudClearShared(k, c, t);
        yield { id: 'huge_pmd_unshare.pud_clear' };
        // tlb_remove_table_sync_one(), with the PMD lock held (IRQs on)
        const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: false, newTlbGen: 0, trimCpumask: false };
        const sent = sendIpis(k, s.cpus.filter((x) => x.id !== k.cpu).map((x) => x.id), 'tlb_remove_table_smp_sync', info);
        yield { id: 'huge_pmd_unshare.tlb_remove_table_sync_one' };
        yield* waitForIpis(k, sent, 'huge_pmd_unshare.wait');
        t.shareCount--; // atomic_dec(&pt_share_count)
        yield* unlock(k, pmdLock(t.pfn), 'huge_pmd_unshare.spin_unlock');
        const g = gatherOf(k);
        const b = c.addr! - (c.addr! % span(s.config, 3));
        widen(g, b, b + span(s.config, 3)); // tlb_flush_pmd_range(tlb, address & PUD_MASK, PUD_SIZE)
        g.clearedPmds = true;
        c.forceFlush = true;
        c.addr = nextPud(s, c.addr!);
        return STOP_STEP;
      })
      // if (force_flush) tlb_flush_mmu_tlbonly(tlb): before __hugetlb_zap_end() drops i_mmap_rwsem
      .replace('huge_pmd_unshare_flush', function* (k, c: Ctx) {
        if (c.forceFlush) yield* k.run('tlb_flush_mmu_tlbonly', {});
      }),
});
