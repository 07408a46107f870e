// The mshare designs of the review record (SPEC 6; research/mshare.md 1,
// 3-5, 8): mainline's paths plus the knobs each posting chose. Where the
// brief does not say what a version did, the choice is marked and argued.

import type { KnobSources } from '../kernel/mshare/knob_source.js';
import type { MshareKnobs } from '../kernel/mshare/knobs.js';
import { linux } from './linux.js';
import type { Policy } from './policy.js';

const withKnobs = (name: string, date: string, description: string, mshare: MshareKnobs): Policy => ({ name, date, description, paths: linux.paths, mshare });

/** RFC v3 = {PGD, no link lock, no count, no unlink, host cpumask only} (research/mshare.md 8). */
const RFC_V3: MshareKnobs = {
  attach: 'same-address', // absolute addresses (2.3)
  linkLocking: 'none', // set_pgd with no guest lock or recheck (3.3)
  shareCount: false,
  unlinkPoint: 'none', // "not unlinked ... when explicitly unmapped" (3.4)
  hostFlush: 'host-cpumask', // no cross-process flushing (4.1)
  notifierPassThrough: false,
  madvise: 'allowed',
  gup: 'allowed',
  numa: 'allowed', // the vma_is_mshare() skip came in 2025 (3.5); assumed absent here
  unmapIoctl: false, // MSHAREFS_UNMAP arrived in Jan 2025 (2.4)
  owner: false,
};

/** Jan/Apr 2025 = {P4D, no link lock, no count, unlink in free_pgtables, flush_tlb_all}. */
const V2: MshareKnobs = {
  ...RFC_V3,
  attach: 'any-address', // "any aligned VA" since v2 (2.5); v1 shares these knobs otherwise
  unlinkPoint: 'free_pgtables',
  hostFlush: 'flush_tlb_all', // the host-mm notifier (4.4)
  numa: 'skipped', // assumed: the skip is listed as a 2025 fix (3.5)
  unmapIoctl: true,
};

/** Aug 2025 v3 = {ptl+recheck, pt_share_count, unmap_page_range hook, flush_tlb_all, owner}. */
const V3: MshareKnobs = { ...V2, linkLocking: 'ptl-recheck', shareCount: true, unlinkPoint: 'unmap_page_range', owner: true };

export const MSHARE_POLICIES: readonly Policy[] = [
  withKnobs('mshare-rfc-v3', '2024-09-03', 'RFC v3 (Yznaga): ioctls, PGD-level sharing, no cross-process TLB flush, no unlink on munmap', RFC_V3),
  withKnobs('mshare-v2', '2025-04-03', 'v1/v2 (Jan/Apr 2025): P4D sharing, host notifier -> flush_tlb_all, MSHAREFS_UNMAP, unlink in free_pgtables, no share count', V2),
  withKnobs('mshare-v3', '2025-08-19', 'v3 (Aug 2025): link under ptl with recheck, pt_share_count, unlink in the unmap_page_range hook, owner', V3),
  withKnobs('mshare-v3-cpumask-union', '2024-10-02', "v3 with Dave Hansen's option (c): one flush to the union of the sharers' cpumasks, no tlb_gen bump", { ...V3, hostFlush: 'cpumask-union' }),
  withKnobs('mshare-v3-per-sharer-flush', '2024-10-02', "v3 with option (b): flush_tlb_mm_range() per sharer found in i_mmap", { ...V3, hostFlush: 'per-sharer' }),
  withKnobs('mshare-v3-proposed', '2025-09', 'v3 + notifier pass-through (start/end over i_mmap), madvise refused, GUP under the host lock', { ...V3, notifierPassThrough: true, madvise: 'refused', gup: 'host-lock' }),
];

// mshare 2026 (LSFMM+BPF 2026; research/update-2026.md A1, D;
// paths/mshare_2026.ts). Unposted: every value comes from the talk as LWN
// reported it, or is marked unknown. Where the talk leaves the ordering of
// the sharer list open, the policy takes the safe reading and the unsafe
// one is a knob value (test/mshare_2026.test.ts shows both).
const LWN_2026 = 'LWN "Revisiting mshare" (Jonathan Corbet, LSFMM+BPF 2026), 2026-05-13, https://lwn.net/Articles/1072333/';

/** v3's kernel side ("substantially the same") behind system calls, flushed through a list of sharer mms. */
const M2026: MshareKnobs = {
  ...V3,
  hostFlush: 'sharer-list',
  unmapIoctl: false,
  api: 'syscalls',
  listJoin: 'at-attach',
  listLeave: 'after-unlink-flush',
  listFreedTables: 'host-gather',
  listNotifiers: 'secondary-tlbs-only',
};

/** Where each mshare-2026 knob value comes from (model/kernel/mshare/knob_source.ts). */
export const MSHARE_2026_SOURCES: KnobSources = {
  attach: { status: 'talk', cite: LWN_2026, fn: 'mshare_attach', note: "mshare_attach(fd, offset, size, addr) at a per-process address; Wilcox's same-VA proposal was rejected" },
  linkLocking: { status: 'talk', cite: LWN_2026, fn: 'find_shared_vma', note: 'the kernel implementation is "substantially the same" as v3: v3\'s value' },
  shareCount: { status: 'talk', cite: LWN_2026, note: 'as v3 ("substantially the same")' },
  unlinkPoint: { status: 'talk', cite: LWN_2026, fn: 'mshare_vm_op_unshare_page_range', note: 'as v3 ("substantially the same")' },
  hostFlush: { status: 'talk', cite: LWN_2026, fn: 'mshare_flush_sharers (unposted)', note: '"a linked list of all processes sharing the region ... each process is flushed individually"' },
  notifierPassThrough: { status: 'talk', cite: LWN_2026, note: 'Yznaga "had tried using notifiers, but they did not work in that case"' },
  madvise: { status: 'unknown', cite: LWN_2026, note: "the talk names mshare_advise() but not what madvise() on a window VMA does; v3's value kept" },
  gup: { status: 'unknown', cite: LWN_2026, note: 'page-table walking is listed as an open problem; v3\'s value kept' },
  numa: { status: 'unknown', cite: LWN_2026, note: "not mentioned; v3's value kept" },
  unmapIoctl: { status: 'unknown', cite: LWN_2026, note: 'the talk lists mshare_map/advise/protect and no unmap call; unmapping is mshare_map over a range or the owner\'s teardown' },
  owner: { status: 'talk', cite: LWN_2026, fn: 'exit_mshare / filp_flush (unposted)', note: 'the creator owns the region; when it exits or closes the fd the region disappears and the mappings in other processes are removed' },
  api: { status: 'talk', cite: LWN_2026, note: 'mshare_create (O_CLOEXEC only), ftruncate, mshare_attach, mshare_map, mshare_advise, mshare_protect; how other processes get the fd was not described: modelled as inherited/passed' },
  listJoin: { status: 'unknown', cite: LWN_2026, fn: 'mshare_attach / mshare_sharer_add (unposted)', note: "safe reading: join at mshare_attach, before any fault can link the shared table. 'after-link' (join after set_p4d) is the unsafe reading" },
  listLeave: { status: 'unknown', cite: LWN_2026, fn: 'remove_vma -> vm_ops->close / mshare_sharer_del (unposted)', note: "safe reading: leave after the sharer's own unlink flush (tlb_finish_mmu). 'at-unlink' (leave in the unlink hook, before that flush) is the unsafe reading" },
  listFreedTables: { status: 'unknown', cite: LWN_2026, fn: 'flush_tlb_mm_range', note: "safe reading: pass the host gather's freed_tables to each sharer's flush, so lazy CPUs get the IPI (update-2026 A1 (ii), B8). 'never' is the unsafe reading" },
  listNotifiers: { status: 'talk', cite: LWN_2026, fn: 'mmu_notifier_arch_invalidate_secondary_tlbs', note: "notifiers were abandoned: flush_tlb_mm_range() reaches arch_invalidate_secondary_tlbs only (IOMMU SVA, not KVM's invalidate_range_start/end). No secondary MMU is modelled, so no verdict depends on it here" },
};

export const MSHARE_2026: Policy = withKnobs(
  'mshare-2026',
  '2026-05',
  'LSFMM+BPF 2026 (LWN 2026-05-13, unposted): mshare_create/attach/map/advise/protect system calls on v3\'s kernel side, window VMAs, per-sharer flushes over a sharer list, owner close or exit tears down',
  M2026,
);
