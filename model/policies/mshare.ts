// The mshare designs of the review record (SPEC 6; research/mshare.md 1,
// 3-5, 8): mainline's paths plus the knobs each posting chose, each knob
// with its source (issue 10): the patch (subject, date) and the function
// that decides it, a talk, or `unknown` / `guess` where nothing posted
// says. A finding whose run consulted an uncited knob is reported as
// "depends on <knob>" (reports/depends_on.ts).
//
// Patch series (research/mshare.md 1): RFC v3 = "[RFC PATCH v3 00/10] Add
// support for shared PTEs across processes", 2024-09-03; v1 = "[PATCH
// 00/20]", 2025-01-24; v2 = "[PATCH v2 00/20]", 2025-04-03; v3 = "[PATCH v3
// 00/22]", 2025-08-19. v1's bodies were read only through its cover
// letter and patches 8 and 11; v1 shares v2's knobs here.

import type { KnobSource, KnobSources } from '../kernel/mshare/knob_source.js';
import type { MshareKnobs } from '../kernel/mshare/knobs.js';
import { linux } from './linux.js';
import type { Policy } from './policy.js';

const withKnobs = (name: string, date: string, description: string, mshare: MshareKnobs, knobSources: KnobSources): Policy => ({ name, date, description, paths: linux.paths, mshare, knobSources });

const patch = (cite: string, fn: string, note?: string): KnobSource => ({ status: 'patch', cite, fn, ...(note ? { note } : {}) });

const RFC = 'RFC PATCH v3';
/** Why move_pages() through a window migrates through the host: what mainline's code does with a window VMA. */
const MIGRATE_NOTE = "mm/migrate.c and mm/rmap.c untouched: folio_walk_start() walks the window's link; rmap_walk() visits the host's inner VMA only (the window maps the msharefs file), so try_to_migrate_one()'s flush is flush_tlb_range() on the host mm (3.1, 3.5)";
const V2P = 'PATCH v2';
const V3P = 'PATCH v3';

/** RFC v3 = {PGD, no link lock, no count, no unlink, host cpumask only} (research/mshare.md 8). */
const RFC_V3: MshareKnobs = {
  attach: 'same-address',
  linkLocking: 'none',
  shareCount: false,
  unlinkPoint: 'none',
  hostFlush: 'host-cpumask',
  notifierPassThrough: false,
  madvise: 'early-return',
  gup: 'allowed',
  numa: 'allowed',
  migrate: 'host-rmap',
  unmapIoctl: false,
  owner: false,
};

const RFC_V3_SOURCES: KnobSources = {
  attach: patch(`${RFC} 7/10 "mm/mshare: Add mmap support", 2024-09-03`, 'msharefs_mmap', 'vm_start must equal the start fixed by MSHAREFS_SET_SIZE: absolute addresses'),
  linkLocking: patch(`${RFC} 8/10 "mm/mshare: prepare for page table sharing support", 2024-09-03`, 'find_shared_vma', 'set_pgd(guest, *host) with no guest lock and no recheck'),
  shareCount: patch(`${RFC} 00/10 series, 2024-09-03`, 'free_pgd_range', 'no pt_share_count before v3 12/22'),
  unlinkPoint: patch(`${RFC} 8/10 "mm/mshare: prepare for page table sharing support", 2024-09-03`, 'free_pgtables', 'shared VMAs skipped; the cover letter: tables "not unlinked from a process when an mshare region is explicitly unmapped which is bug to be addressed" (3.4)'),
  unlinkFlush: patch(`${RFC} 8/10, 2024-09-03`, 'free_pgtables', 'no unlink, so no unlink flush'),
  hostFlush: patch(`${RFC} 00/10 cover letter, 2024-09-03`, 'tlb_flush_mmu_tlbonly', 'no cross-process flushing: a host-side flush reaches mm_cpumask(host) only (4.1)'),
  notifierPassThrough: patch(`${RFC} 00/10 series, 2024-09-03`, 'mmu_notifier_invalidate_range_start', 'no notifier on the host mm at all'),
  madvise: patch(`${RFC} 8/10 "mm/mshare: prepare for page table sharing support", 2024-09-03`, 'unmap_page_range', 'returns early for vma_is_shared(vma): MADV_DONTNEED on the window zaps nothing (3.4)'),
  gup: patch(`${RFC} 00/10 series, 2024-09-03`, 'follow_page_mask', 'mm/gup.c untouched: GUP walks the sharer link into the host tables under the sharer locks (hazard 16)'),
  migrate: patch(`${RFC} 00/10 series, 2024-09-03`, 'add_folio_for_migration', MIGRATE_NOTE),
  numa: { status: 'guess', cite: `${RFC} 00/10 series, 2024-09-03`, fn: 'task_numa_work', note: 'the vma_is_mshare() skip ("sched/numa: do not scan msharefs vmas") is first seen in the 2025 series; its absence from RFC v3 is not checked patch by patch' },
  unmapIoctl: patch(`${RFC} 5/10 (ioctls), 2024-09-03`, 'msharefs_ioctl', 'MSHAREFS_SET_SIZE/GET_SIZE/CREATE_MAPPING only; MSHAREFS_UNMAP arrives in v1 (2.3, 2.4)'),
  owner: patch(`${RFC} 00/10 series, 2024-09-03`, 'do_exit', 'no owner: ownership is v3 17/22'),
};

/** Jan/Apr 2025 = {P4D, no link lock, no count, unlink in free_pgtables, flush_tlb_all}. */
const V2: MshareKnobs = {
  ...RFC_V3,
  attach: 'any-address',
  unlinkPoint: 'free_pgtables',
  hostFlush: 'flush_tlb_all',
  madvise: 'empty-hook',
  numa: 'skipped',
  unmapIoctl: true,
};

const V2_SOURCES: KnobSources = {
  attach: patch(`${V2P} 00/20 cover letter, 2025-04-03`, 'msharefs_get_unmapped_area', '"region mappable at any aligned VA"; only MAP_FIXED needs P4D alignment (2.5)'),
  linkLocking: patch(`${V2P} 12/20 "mm/mshare: prepare for page table sharing support", 2025-04-03`, 'find_shared_vma', 'set_p4d(guest_p4d, *p4d) under mmap_read_lock_nested(host) only: no page_table_lock, no recheck'),
  shareCount: patch(`${V2P} 12/20, 2025-04-03`, 'free_pgd_range', 'no pt_share_count before v3 12/22 "mm: introduce PUD page table shared count"'),
  unlinkPoint: patch(`${V2P} 12/20 "mm/mshare: prepare for page table sharing support", 2025-04-03`, '__free_pgd_range', 'free_p4d_range(..., shared_pud) does p4d_clear() in free_pgtables'),
  unlinkFlush: patch(`${V2P} 12/20, 2025-04-03`, 'free_p4d_range', 'bare p4d_clear(): no tlb_flush_*_range, no freed_tables, so the gather flushes nothing for it'),
  hostFlush: patch(`${V2P} "mm/mshare: flush all TLBs when updating PTEs in an mshare range", 2025-04-03 (v1 8/20, 2025-01-24)`, 'mshare_invalidate_tlbs', '.arch_invalidate_secondary_tlbs on the host mm -> flush_tlb_all() (4.4)'),
  notifierPassThrough: patch(`${V2P} "mm/mshare: flush all TLBs when updating PTEs in an mshare range", 2025-04-03`, 'mshare_invalidate_tlbs', 'the host-mm notifier has only arch_invalidate_secondary_tlbs; sharer notifiers are never called (Jann Horn on v2, 5)'),
  madvise: patch(`${V2P} 11/20 "mm: add and use unmap_page_range vm_ops hook" and 12/20, 2025-04-03 (v1 11/20, 2025-01-24)`, 'mshare_vm_op_unmap_page_range', 'unmap_page_range() calls vm_ops->unmap_page_range, empty for msharefs ("Do not unmap pages in the mshare region itself"); __unmap_page_range() also returns for vma_is_mshare(): nothing zapped, no unlink'),
  gup: patch(`${V2P} 00/20 series, 2025-04-03`, 'follow_page_mask', 'mm/gup.c untouched; Jann Horn on v2: GUP walks the shared tables under the sharer locks (hazard 16)'),
  migrate: patch(`${V2P} 00/20 series, 2025-04-03`, 'add_folio_for_migration', MIGRATE_NOTE),
  numa: patch(`${V2P} "sched/numa: do not scan msharefs vmas", 2025-04-03`, 'task_numa_work', 'vma_is_mshare() VMAs skipped (3.5)'),
  unmapIoctl: patch(`${V2P} "mm/mshare: Add an ioctl for unmapping objects in an mshare region", 2025-04-03`, 'msharefs_unmap', 'do_munmap(host_mm) under mmap_write_lock_killable(host) (2.5)'),
  owner: patch(`${V2P} 00/20 series, 2025-04-03`, 'do_exit', 'no owner: ownership is v3 17/22 "sched/mshare: mshare ownership"'),
};

/** Aug 2025 v3 = {ptl+recheck, pt_share_count, unmap_page_range hook, flush_tlb_all, owner}. */
const V3: MshareKnobs = { ...V2, linkLocking: 'ptl-recheck', shareCount: true, unlinkPoint: 'unmap_page_range', madvise: 'unshare-hook', owner: true };

const V3_SOURCES: KnobSources = {
  attach: patch(`${V3P} 7/22 "mm/mshare: Add mmap support", 2025-08-19`, 'msharefs_get_unmapped_area', 'any P4D-aligned VA; rejects a region with no owner (2.5)'),
  linkLocking: patch(`${V3P} 13/22 "mm/mshare: prepare for page table sharing support", 2025-08-19`, 'find_shared_vma', 'spin_lock(&guest->vm_mm->page_table_lock), p4d_same() recheck, then set_p4d()'),
  shareCount: patch(`${V3P} 12/22 "mm: introduce PUD page table shared count", 2025-08-19`, 'free_pud_range', 'ptdesc_pud_pts_inc() on link; free_pud_range() returns while the count is nonzero (3.5)'),
  unlinkPoint: patch(`${V3P} 13/22 "mm/mshare: prepare for page table sharing support", 2025-08-19`, 'mshare_vm_op_unshare_page_range', 'vm_ops->unmap_page_range: under P->page_table_lock ptdesc_pud_pts_dec() and p4d_clear()'),
  unlinkFlush: patch(`${V3P} 13/22, 2025-08-19`, 'tlb_flush_p4d_range', 'tlb_flush_p4d_range(tlb, addr, P4D_SIZE) on P\'s gather: cleared_p4ds, no freed_tables; x86 flushes with a P4D stride (one INVLPG at addr). The hook\'s tlb_end_vma() flush is not modelled: the range is flushed at tlb_finish_mmu()'),
  hostFlush: patch(`${V3P} 8/22 "mm/mshare: flush all TLBs when updating PTEs in an mshare range", 2025-08-19`, 'mshare_invalidate_tlbs', 'flush_tlb_all() from arch_invalidate_secondary_tlbs (4.4)'),
  notifierPassThrough: patch(`${V3P} 00/22 cover letter, 2025-08-19`, 'mshare_invalidate_tlbs', '"(TBD) Support for mmu notifiers is not yet implemented" (5)'),
  madvise: patch(`${V3P} 11/22 "mm: add and use unmap_page_range vm_ops hook" and 13/22, 2025-08-19`, 'mshare_vm_op_unshare_page_range', 'MADV_DONTNEED -> zap_page_range_single() -> unmap_single_vma() -> unmap_page_range() -> the unlink hook: the sharer\'s whole top-level slot is unlinked (addr not aligned down) and flushed; the next fault relinks. Anthony\'s Sep 2025 remark that DONTNEED "will operate on the shared page table without taking the needed locks" is read as the pt_share_count decrement and unlink under the sharer\'s page_table_lock only (update-2026.md A6); the other reading is the variant value `allowed`'),
  gup: patch(`${V3P} 00/22 series, 2025-08-19`, 'follow_page_mask', 'mm/gup.c untouched; only faults check vma_is_mshare() (hazard 16 open)'),
  migrate: patch(`${V3P} 00/22 series, 2025-08-19`, 'add_folio_for_migration', `${MIGRATE_NOTE}; Anthony Yznaga on v3, 2025-09 (lore 46b59f85-bacb-4e60-97d3-cbcd3c7b77c2@oracle.com): rmap-based paths are fine, they find the real VMA`),
  numa: patch(`${V3P} 9/22 "sched/numa: do not scan msharefs vmas", 2025-08-19`, 'task_numa_work', 'vma_is_mshare() VMAs skipped (3.5)'),
  unmapIoctl: patch(`${V3P} 19/22 "mm/mshare: Add an ioctl for unmapping objects in an mshare region", 2025-08-19`, 'msharefs_unmap', 'do_munmap(host_mm) under mmap_write_lock_killable(host) (2.5)'),
  owner: patch(`${V3P} 17/22 "sched/mshare: mshare ownership", 2025-08-19`, 'exit_mshare', 'do_exit() clears MSHARE_HAS_OWNER, then do_munmap() of the whole region under the host mmap_lock (2.7)'),
};

const talk = (cite: string, fn: string, note: string): KnobSource => ({ status: 'talk', cite, fn, note });

export const MSHARE_POLICIES: readonly Policy[] = [
  withKnobs('mshare-rfc-v3', '2024-09-03', 'RFC v3 (Yznaga): ioctls, PGD-level sharing, no cross-process TLB flush, no unlink on munmap', RFC_V3, RFC_V3_SOURCES),
  withKnobs('mshare-v2', '2025-04-03', 'v1/v2 (Jan/Apr 2025): P4D sharing, host notifier -> flush_tlb_all, MSHAREFS_UNMAP, unlink in free_pgtables, no share count', V2, V2_SOURCES),
  withKnobs('mshare-v3', '2025-08-19', 'v3 (Aug 2025): link under ptl with recheck, pt_share_count, unlink in the unmap_page_range hook, owner', V3, V3_SOURCES),
  withKnobs('mshare-v3-cpumask-union', '2024-10-02', "v3 with Dave Hansen's option (c): one flush to the union of the sharers' cpumasks, no tlb_gen bump", { ...V3, hostFlush: 'cpumask-union' }, {
    ...V3_SOURCES,
    hostFlush: talk('Dave Hansen, "Re: [RFC PATCH v3 00/10]", 2024-10-02, option (c)', 'flush_tlb_multi', 'mask |= mm_cpumask(vma->vm_mm) over i_mmap, then flush_tlb_multi() with a flush type that ignores info->mm; never posted as code, so the flush type\'s details are the model\'s (4.2)'),
  }),
  withKnobs('mshare-v3-per-sharer-flush', '2024-10-02', "v3 with option (b): flush_tlb_mm_range() per sharer found in i_mmap", { ...V3, hostFlush: 'per-sharer' }, {
    ...V3_SOURCES,
    hostFlush: talk('Dave Hansen, "Re: [RFC PATCH v3 00/10]", 2024-10-02, option (b)', 'flush_tlb_mm_range', 'walk the msharefs i_mmap and flush_tlb_mm_range(vma->vm_mm, range) per sharer VMA; never posted as code (4.2)'),
  }),
  withKnobs('mshare-v3-proposed', '2025-09', 'v3 + notifier pass-through (start/end over i_mmap), madvise refused, GUP under the host lock', { ...V3, notifierPassThrough: true, madvise: 'refused', gup: 'host-lock' }, {
    ...V3_SOURCES,
    notifierPassThrough: talk('Jann Horn, "Re: [PATCH v2 ...]", 2025-05 (sketch); Anthony Yznaga, Sep 2025: "ensuring mmu notifiers work"', 'mmu_notifier_invalidate_range_start', 'host start/end walk i_mmap under i_mmap_lock_read and call each sharer mm\'s notifiers; no code posted, the locking is the model\'s reading (5)'),
    madvise: talk('Anthony Yznaga, Sep 2025 (46b59f85-bacb-4e60-97d3-cbcd3c7b77c2@oracle.com): "reject madvise on msharefs VMAs and add an ioctl"', 'madvise_dontneed_single_vma', 'plan only: -EINVAL for any range touching a window VMA is the model\'s reading (hazard 15)'),
    gup: { status: 'guess', cite: 'Jann Horn on v2, 2025-05 (CAG48ez0i527...): every locking walker must "bail or take H\'s locks"', fn: 'get_user_pages', note: 'no posted plan says which; the model takes the host mmap_lock nested, as the fault path does' },
  }),
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
  listFork: 'vm-open',
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
  migrate: { status: 'unknown', cite: LWN_2026, fn: 'add_folio_for_migration', note: "not mentioned; v3's value kept (the rmap of a folio in the region still lists the host's VMA only)" },
  unmapIoctl: { status: 'unknown', cite: LWN_2026, note: 'the talk lists mshare_map/advise/protect and no unmap call; unmapping is mshare_map over a range or the owner\'s teardown' },
  owner: { status: 'talk', cite: LWN_2026, fn: 'exit_mshare / filp_flush (unposted)', note: 'the creator owns the region; when it exits or closes the fd the region disappears and the mappings in other processes are removed' },
  api: { status: 'talk', cite: LWN_2026, note: 'mshare_create (O_CLOEXEC only), ftruncate, mshare_attach, mshare_map, mshare_advise, mshare_protect; how other processes get the fd was not described: modelled as inherited/passed' },
  listJoin: { status: 'unknown', cite: LWN_2026, fn: 'mshare_attach / mshare_sharer_add (unposted)', note: "safe reading: join at mshare_attach, before any fault can link the shared table. 'after-link' (join after set_p4d) is the unsafe reading" },
  listFork: { status: 'unknown', cite: LWN_2026, fn: 'dup_mmap -> vm_ops->open (unposted)', note: "fork is not mentioned; the child inherits the window VMA (Hildenbrand, 2026-02: \"fork() would simply replicate mshare region into the fork'ed child\"). Safe reading: the window's vm_ops->open adds the child to the list. 'none' (nothing adds it) is the unsafe reading" },
  listLeave: { status: 'unknown', cite: LWN_2026, fn: 'remove_vma -> vm_ops->close / mshare_sharer_del (unposted)', note: "safe reading: leave after the sharer's own unlink flush (tlb_finish_mmu). 'at-unlink' (leave in the unlink hook, before that flush) is the unsafe reading" },
  listFreedTables: { status: 'unknown', cite: LWN_2026, fn: 'flush_tlb_mm_range', note: "safe reading: pass the host gather's freed_tables to each sharer's flush, so lazy CPUs get the IPI (update-2026 A1 (ii), B8). 'never' is the unsafe reading" },
  listNotifiers: { status: 'talk', cite: LWN_2026, fn: 'mmu_notifier_arch_invalidate_secondary_tlbs', note: "notifiers were abandoned: flush_tlb_mm_range() reaches arch_invalidate_secondary_tlbs only (IOMMU SVA, not KVM's invalidate_range_start/end). An IOMMU SVA device bound to a sharer (paths/sva.ts) is reached through the per-sharer flush_tlb_mm_range() with either value (test/scenarios/sva-over-window-2026.txt holds); KVM on a sharer's window (hazard4-kvm-over-window-2026) fails secondary-subset with either value, the start/end calls coming after the host's PTE change" },
};

export const MSHARE_2026: Policy = withKnobs(
  'mshare-2026',
  '2026-05',
  'LSFMM+BPF 2026 (LWN 2026-05-13, unposted): mshare_create/attach/map/advise/protect system calls on v3\'s kernel side, window VMAs, per-sharer flushes over a sharer list, owner close or exit tears down',
  M2026,
  MSHARE_2026_SOURCES,
);
