// A fix candidate for the two notifier-balance findings of
// mshare-v3-proposed (docs/policies/mshare-v3-proposed.md): a sharer that
// detaches, or registers KVM (hazard 19 (b)), between the host's
// pass-through start and end. Not a posted patch: the pass-through itself
// is an unposted sketch (Jann Horn, 2025), and this is one reading of how
// it could pair its calls. The host's invalidate_range_start() takes the
// msharefs file's i_mmap_rwsem for read, calls every sharer's
// subscriptions, and keeps the rwsem until its invalidate_range_end() has
// called them again, as mainline's rmap walkers hold the rmap lock across
// try_to_unmap_one()'s start and end. A detach (unlink_file_vma() takes it
// for write) and a sharer's mm_take_all_locks() (for write too) then wait
// for the end. Start and end run where sleeping is allowed, so the
// rwsem's sleep is legal; the host change holds it across its page-table
// locks, which only rmap-lock -> PTL ordering allows.
import { defineVariant } from '../model/policies/variant.js';
import { iMmapRwsem, lock, unlock } from '../model/kernel/locks.js';
import { mshareOfHost } from '../model/kernel/mshare/msharefs.js';
import { callSubscriptions, type NotifierCtx } from '../model/kernel/paths/notifier.js';

export default defineVariant({
  name: 'passthrough-hold-i-mmap',
  policy: 'mshare-v3-proposed',
  description: "the host's pass-through holds the msharefs i_mmap_rwsem (read) from invalidate_range_start to invalidate_range_end",
  edit: (v) =>
    v
      .replace('mmu_notifier_invalidate_range_start', function* (k, c: NotifierCtx) {
        yield* callSubscriptions(k, c.mm, 'invalidate_range_start', c.start, c.end);
        const f = mshareOfHost(k.s, c.mm);
        if (!f || !k.knob('notifierPassThrough')) return;
        yield* lock(k, iMmapRwsem(f.name), 'r', 'mshare_invalidate_range_start.i_mmap_lock_read');
        for (const sh of [...f.sharers]) yield* callSubscriptions(k, sh.mm, 'invalidate_range_start', sh.start + (c.start - f.start), sh.start + (c.end - f.start));
        // held until the end below
      })
      .replace('mmu_notifier_invalidate_range_end', function* (k, c: NotifierCtx) {
        yield* callSubscriptions(k, c.mm, 'invalidate_range_end', c.start, c.end);
        const f = mshareOfHost(k.s, c.mm);
        if (!f || !k.knob('notifierPassThrough')) return;
        for (const sh of [...f.sharers]) yield* callSubscriptions(k, sh.mm, 'invalidate_range_end', sh.start + (c.start - f.start), sh.start + (c.end - f.start));
        yield* unlock(k, iMmapRwsem(f.name), 'mshare_invalidate_range_end.i_mmap_unlock_read');
      }),
});
