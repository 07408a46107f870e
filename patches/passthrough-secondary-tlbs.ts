// Hazard 19 (a), computed (docs/mshare-hazards.md 19; Jann Horn's
// pass-through and Anthony Yznaga's answer, linked there): a design that
// passes the host's arch_invalidate_secondary_tlbs() through to the
// sharers, as an IOMMU SVA device TLB on a sharer would need, must find the
// sharers in the msharefs inode's i_mmap under i_mmap_rwsem, a sleeping
// lock. flush_tlb_mm_range() calls arch_invalidate_secondary_tlbs() from
// wherever it is called, the page-table lock held included. Not a posted
// patch: mshare-v3-proposed passes through only invalidate_range_start/end
// (paths/notifier.ts), which run where sleeping is allowed. Each sharer's
// call reaches an SVA device bound to it (paths/sva.ts; test/sva.test.ts:
// the device on a sharer is then invalidated before the page is freed).
import { defineVariant } from '../model/policies/variant.js';
import { iMmapRwsem, lock, unlock } from '../model/kernel/locks.js';
import { mshareOfHost } from '../model/kernel/mshare/msharefs.js';
import type { FlushCtx } from '../model/kernel/paths/flush_tlb_mm_range.js';
import { svaArchInvalidateSecondaryTlbs } from '../model/kernel/paths/sva.js';
import { TLB_FLUSH_ALL } from '../model/kernel/state.js';

export default defineVariant({
  name: 'passthrough-secondary-tlbs',
  policy: 'mshare-v3-proposed',
  description: 'arch_invalidate_secondary_tlbs of the host is passed through to the sharers found in i_mmap (hazard 19 a)',
  edit: (v) =>
    v.insertAfter('mmu_notifier_arch_invalidate_secondary_tlbs', {
      id: 'mshare_arch_invalidate_secondary_tlbs',
      fn: function* (k, c: FlushCtx) {
        const f = mshareOfHost(k.s, c.mm);
        if (!f) return;
        yield* lock(k, iMmapRwsem(f.name), 'r', 'i_mmap_lock_read');
        // each sharer's own arch_invalidate_secondary_tlbs(), over the host range as its window shows it:
        // an SVA device bound to the sharer drops its ATC entries (paths/sva.ts)
        for (const sh of [...f.sharers]) {
          const all = c.end === TLB_FLUSH_ALL;
          yield* svaArchInvalidateSecondaryTlbs(k, sh.mm, all ? 0 : sh.start + (c.start - f.start), all ? TLB_FLUSH_ALL : sh.start + (c.end - f.start));
        }
        yield* unlock(k, iMmapRwsem(f.name), 'i_mmap_unlock_read');
      },
    }),
});
