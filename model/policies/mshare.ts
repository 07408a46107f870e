// The mshare designs of the review record (SPEC 6; research/mshare.md 1,
// 3-5, 8): mainline's paths plus the knobs each posting chose. Where the
// brief does not say what a version did, the choice is marked and argued.

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
