// Mutant: move_ptes() and move_page_tables() as they were before
// eb66ae030829 ("mremap: properly flush TLB before releasing the page",
// Linus Torvalds, 2018, CVE-2018-18281, reported by Jann Horn), that
// is as 5d1904204c99 ("mremap: fix race between mremap() and page
// cleanning", Aaron Lu, 2016) left them: move_ptes() flushes the old range
// under the old PTL only if it moved a present dirty PTE ("force_flush"),
// after spin_unlock(new_ptl); otherwise it sets *need_flush and
// move_page_tables() flushes the whole old range once, after the loop,
// with no PTL held. "mremap() thus doesn't directly control the lifetime
// of the moved page with a freelist: instead, the lifetime of the page is
// controlled by the page table locking" (the fix's message): once the PTLs
// go, an rmap walker that finds the PTE at its new address can clear it,
// flush only that address and free the page while another CPU still holds
// a TLB entry for the old one. The model's such walker is migration's
// synchronous pass (try_to_migrate_one() without TTU_BATCH_FLUSH:
// ptep_clear_flush(), flush_tlb_page() of the new address); the fix's
// report named truncate, which the model does not have.
// Scenario: test/scenarios/mremap-vs-migrate-eb66ae030829.txt.
import { defineVariant } from '../model/policies/variant.js';
import { step } from '../model/kernel/step.js';
import { unlock } from '../model/kernel/locks.js';
import type { K } from '../model/kernel/step.js';
import type { FlushCtx } from '../model/kernel/paths/flush_tlb_mm_range.js';
import type { MoveEntryCtx, MovePageTablesCtx } from '../model/kernel/paths/mremap_tables.js';

const NS = 'pre-eb66ae030829';

/** move_page_tables()'s local need_flush, per task (one mremap at a time per task). */
function needFlush(k: K): Record<string, boolean> {
  return ((k.s.ext[NS] as Record<string, boolean> | undefined) ??= {});
}

export default defineVariant({
  name: NS,
  description: 'move_ptes flushes under the PTL only for a dirty PTE, else move_page_tables flushes after the PTLs are dropped (before eb66ae030829)',
  edit: (v) =>
    v
      // 5d1904204c99's check in the move loop: force_flush for a present dirty PTE; a clean one sets *need_flush
      .decide('move_ptes.force_flush', (k, present, at) => {
        if (present && !at.dirty) needFlush(k)[k.self] = true;
        return present && at.dirty === true;
      })
      // spin_unlock(new_ptl); if (force_flush) flush_tlb_range(old range) (x86's of 2018: freed_tables false)
      .replace('move_ptes.flush_tlb_range', function* (k, c: MoveEntryCtx) {
        if (c.newLock !== c.oldLock) yield* unlock(k, c.newLock!, 'move_ptes.spin_unlock');
        if (!c.forceFlush) return;
        const f: FlushCtx = { mm: c.mm, start: c.oldAddr, end: c.oldAddr + c.extent, stride: 1, freedTables: false };
        yield* k.run('flush_tlb_mm_range', f);
      })
      // pte_unmap_unlock(old_pte - 1, old_ptl): new_ptl went above
      .replace('move_ptes.pte_unmap_unlock', function* (k, c: MoveEntryCtx) {
        yield* unlock(k, c.oldLock!, 'move_ptes.pte_unmap_unlock');
      })
      // after the loop, no PTL held: if (need_flush) flush_tlb_range(vma, old_end - len, old_addr)
      .insertBefore(
        'move_page_tables.mmu_notifier_invalidate_range_end',
        step('move_page_tables.flush_tlb_range', function* (k, c: MovePageTablesCtx) {
          const m = needFlush(k);
          if (!m[k.self]) return;
          delete m[k.self];
          const f: FlushCtx = { mm: c.mm, start: c.range!.start, end: c.range!.end, stride: 1, freedTables: false };
          yield* k.run('flush_tlb_mm_range', f);
        }),
      ),
});
