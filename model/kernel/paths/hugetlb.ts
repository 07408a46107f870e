// hugetlb with PMD table sharing (mm/hugetlb.c, include/asm-generic/tlb.h,
// mm/mmu_gather.c): mainline's own shared page tables. A hugetlbfs file
// (File.hugetlb) holds PMD-sized folios: span(c, 2) pages, mapped by one
// PMD leaf (Pte.huge) whose pfn is the folio's head frame (Frame.subpages;
// model choice, pagetable.ts hugeSubpage()). A MAP_SHARED VMA that covers
// a whole PUD_SIZE-aligned range (span(c, 3) pages) may share its PMD
// table with every other such VMA of the file at the same file offset.
//
// Fault: hugetlb_fault() (handle_mm_fault() for a hugetlb VMA):
//   1. hugetlb_vma_lock_read(): the hugetlb VMA lock keeps this VMA's
//      unmap (which takes it for write) off while the fault holds a
//      pointer into a PMD table that may be shared. (The fault mutex,
//      hugetlb_fault_mutex_table, is not modelled: the page-cache lookup
//      and allocation are one step here.)
//   2. huge_pte_alloc(): pud_alloc(); if want_pmd_share() (the VMA is
//      shareable over the whole PUD range: vma_shareable(); uffd is not
//      modelled) and the PUD entry is none, huge_pmd_share():
//        a. i_mmap_lock_read(mapping);
//        b. vma_interval_tree_foreach(): another VMA of the file mapping the
//           same file offset at the same position in its PUD range
//           (page_table_shareable(), which needs svma->vm_private_data, the
//           hugetlb VMA lock, still set) whose PUD entry points at a PMD
//           table (hugetlb_walk()): pt_share_count++ (ptdesc_pmd_pts_inc());
//        c. spin_lock(&mm->page_table_lock); pud_none: pud_populate() with
//           that table; else (a racing fault of this mm linked one) pt_share_count--;
//        d. pmd_alloc() (allocates if nothing was found), i_mmap_unlock_read().
//      Otherwise pmd_alloc().
//   3. PMD entry none: hugetlb_no_page(): the folio from the page cache
//      (allocated and added on first use), huge_pte_lock() (the PMD table's
//      split lock), set_huge_pte_at() if still none. A write to a present
//      read-only leaf of a writable shared VMA: hugetlb_wp() makes it
//      writable under the same lock. hugetlb_vma_unlock_read().
//
// Unmap: unmap_vmas() / zap_page_range_single() for a hugetlb VMA
// (munmap, exit_mmap, MADV_DONTNEED), per the December 2025 rework
// 8ce720d5bd91 ("mm/hugetlb: fix excessive IPI broadcasts when unsharing
// PMD tables using mmu_gather"):
//   1. __hugetlb_zap_begin(): hugetlb_vma_lock_write(), i_mmap_lock_write().
//   2. __unmap_hugepage_range(), per huge page: no PMD table: skip to the
//      next PUD (last_addr_mask); huge_pte_lock(); huge_pmd_unshare(): if
//      the table is shared (pt_share_count != 0), pud_clear() this mm's
//      entry and tlb_unshare_pmd_ptdesc(): pt_share_count--, the PUD_SIZE
//      range added with cleared_pmds (tlb_flush_pmd_range()),
//      unshared_tables, and fully_unshared_tables when the count reached 0;
//      unlock and skip the rest of the PUD. Else huge_ptep_get_and_clear(),
//      tlb_remove_huge_tlb_entry() (cleared_pmds over the huge page),
//      hugetlb_remove_rmap(), unlock, tlb_remove_page_size() (the gather
//      keeps the references until after the flush).
//   3. huge_pmd_unshare_flush() -> tlb_flush_unshared_tables(), BEFORE the
//      i_mmap lock goes (a table that is no longer shared may be reused by
//      its last owner as soon as it does): if unshared_tables,
//      tlb_flush_mmu_tlbonly() - always, for the unsharer; then, only if
//      fully_unshared_tables (this was the last sharer),
//      tlb_remove_table_sync_one(), the IPI that waits for GUP-fast walkers.
//      A GUP-fast walker of a non-last sharer may still grab a page
//      through the table after the call returned: accepted as a delayed
//      GUP (8ce720d5bd91); it never walks a table that is no longer shared.
//   4. __hugetlb_zap_end(): for the final unmap (munmap, exit: ZAP_FLAG_UNMAP)
//      __hugetlb_vma_unlock_write_free() clears vm_private_data, so
//      huge_pmd_share() no longer finds this VMA between the zap and
//      free_pgtables()' unlink_file_vma() (it would otherwise share a table
//      about to be freed); i_mmap_unlock_write(); hugetlb_vma_unlock_write().
//
// x86 tlb_flush() passes freed_tables || unshared_tables to
// flush_tlb_mm_range(), so lazy CPUs are IPIed at an unshare: Lance Yang's
// "x86/tlb: skip redundant sync IPIs for native TLB flush" (v7, 2026-03;
// in akpm mm-unstable 2026-04-30, mainline merge not verified:
// update-2026.md B3); torvalds/linux's arch/x86/include/asm/tlb.h as read
// (016c4d92) still passes freed_tables alone: variants/pre-b3-unshare-no-lazy-ipi.ts.
//
// Not modelled: hugetlb_change_protection() (mprotect of a hugetlb range is
// refused, actors.ts), hugetlb_split() (a munmap that would split a
// hugetlb VMA is refused), migration, smaps, pagemap, uffd, reservations.
//
// Guarded by unmap-complete (the unsharer's TLB), no-freed-table-reachable
// (PSC entries and GUP-fast walkers in a table its last owner freed),
// read-value and lock-discipline.

import { span } from '../config.js';
import { allocFrame, getPage } from '../frames.js';
import { hugetlbVmaLock, iMmapRwsem, lock, note, pageTableLock, pmdLock, unlock } from '../locks.js';
import { findTable, tableIndex } from '../pagetable.js';
import type { File, Frame, FlushInfo, IMmapEntry, KernelState, Vma } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import { step, STOP_STEP, type K, type StepDef } from '../step.js';
import type { MmId, Pfn } from '../types.js';
import type { FaultCtx } from './fault.js';
import { sendIpis, waitForIpis } from './flush_tlb_mm_range.js';
import { gatherOf, widen } from './mmu_gather.js';

/** is_vm_hugetlb_page(): a VMA of a hugetlbfs file. */
export const isVmHugetlbPage = (s: KernelState, v: Vma | undefined | null): boolean => !!v && v.file !== null && s.files[v.file]?.hugetlb === true;

export const iMmapOf = (f: File): IMmapEntry[] => (f.iMmap ??= []);

/** vma_link_file(): a new VMA of a hugetlbfs file enters its i_mmap. */
export function linkFileVma(s: KernelState, mm: MmId, v: Vma): void {
  const f = v.file === null ? null : s.files[v.file];
  if (f?.hugetlb) iMmapOf(f).push({ mm, start: v.start, end: v.end, pgoff: v.pgoff, shareable: true });
}

/** unlink_file_vma(). */
export function unlinkFileVma(f: File, mm: MmId, start: number): void {
  const l = iMmapOf(f);
  const i = l.findIndex((x) => x.mm === mm && x.start === start);
  if (i >= 0) l.splice(i, 1);
}

const pudBase = (s: KernelState, v: number) => v - (v % span(s.config, 3));
const hpageBase = (s: KernelState, v: number) => v - (v % span(s.config, 2));

/** vma_shareable() / want_pmd_share(): the VMA covers the whole PUD-aligned range around `addr`. */
export function vmaShareable(s: KernelState, v: { start: number; end: number }, addr: number): boolean {
  const b = pudBase(s, addr);
  return b >= v.start && b + span(s.config, 3) <= v.end;
}

/** ptdesc_pmd_is_shared(). */
export const pmdIsShared = (t: Frame): boolean => t.shareCount > 0;

export interface HugetlbFaultCtx extends FaultCtx {
  /** The PMD table huge_pmd_share() found in another VMA's mm. */
  spte?: Pfn | null;
  hugetlbLocked?: string;
  pmdTable?: Pfn;
  folio?: Pfn;
}

export const hugetlbFault: StepDef<HugetlbFaultCtx>[] = [
  step('hugetlb_fault.hugetlb_vma_lock_read', function* (k, c) {
    c.hugetlbLocked = hugetlbVmaLock(c.mm, c.vma!.start);
    yield* lock(k, c.hugetlbLocked, 'r', 'hugetlb_fault.hugetlb_vma_lock_read');
  }),
  step('huge_pte_alloc.pud_alloc', function* (k, c) {
    c.level = 3;
    yield* k.run('__pte_alloc', c);
  }),
  step('huge_pte_alloc.want_pmd_share', function* (k, c) {
    const s = k.s;
    if (!vmaShareable(s, c.vma!, c.vpn)) return;
    const pud = findTable(s, s.mms[c.mm]!, c.vpn, 3)!;
    if (pud.entries![tableIndex(s.config, c.vpn, 3)] !== null) return;
    yield* k.run('huge_pmd_share', c);
  }),
  step('huge_pte_alloc.pmd_alloc', function* (k, c) {
    c.level = 2;
    yield* k.run('__pte_alloc', c);
  }),
  step('hugetlb_no_page.filemap_lock_hugetlb_folio', function* (k, c) {
    const s = k.s;
    const t = findTable(s, s.mms[c.mm]!, c.vpn, 2);
    if (!t) return STOP_STEP; // cannot happen under the hugetlb VMA lock; the access would fault again
    c.pmdTable = t.pfn;
    const e = t.entries![tableIndex(s.config, c.vpn, 2)];
    if (e) return; // present: hugetlb_wp() or a spurious fault, below
    const file = s.files[c.vma!.file!]!;
    const idx = c.vma!.pgoff + (hpageBase(s, c.vpn) - c.vma!.start);
    let head = file.cache[idx];
    if (head === null || head === undefined) {
      // alloc_hugetlb_folio() + hugetlb_add_to_page_cache(): the page cache holds one reference per page
      const pages: Pfn[] = [];
      for (let i = 0; i < span(s.config, 2); i++) {
        const f = allocFrame(s, `file:${file.name}:${idx + i}`);
        pages.push(f.pfn);
        file.cache[idx + i] = f.pfn;
      }
      head = pages[0]!;
      s.frames[head]!.subpages = pages;
    }
    for (const p of s.frames[head]!.subpages!) getPage(s, p); // the mapping's reference (folio_ref)
    c.folio = head;
    yield { id: 'hugetlb_no_page.filemap_lock_hugetlb_folio' };
  }),
  step('hugetlb_fault.huge_pte_lock', function* (k, c) {
    yield* lock(k, pmdLock(c.pmdTable!), 'w', 'hugetlb_fault.huge_pte_lock');
  }),
  step('hugetlb_fault.set_huge_pte_at', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.pmdTable!]!;
    const i = tableIndex(s.config, c.vpn, 2);
    const e = t.entries![i];
    if (c.folio !== undefined) {
      const head = s.frames[c.folio]!;
      if (e === null) {
        t.entries![i] = { pfn: head.pfn, writable: c.vma!.prot.w, accessed: true, dirty: c.write, protNone: false, ghost: head.allocId, huge: true }; // make_huge_pte()
        for (const p of head.subpages!) s.frames[p]!.mapcount++; // hugetlb_add_file_rmap()
        note(k, 'pte-write', c.mm, `huge pmd ${c.vpn}`, t.pfn);
        yield { id: 'hugetlb_no_page.set_huge_pte_at' };
      } else {
        for (const p of head.subpages!) s.frames[p]!.refcount--; // lost the race: folio_put() (the page cache keeps its reference)
        yield { id: 'hugetlb_no_page.pte_changed' };
      }
    } else if (e && c.write && !e.writable && c.vma!.prot.w) {
      t.entries![i] = { ...e, writable: true, dirty: true, accessed: true }; // hugetlb_wp(): set_huge_ptep_writable()
      note(k, 'pte-write', c.mm, `huge pmd ${c.vpn}`, t.pfn);
      yield { id: 'hugetlb_wp' };
    } else {
      yield { id: 'hugetlb_fault.spurious' };
    }
  }),
  step('hugetlb_fault.spin_unlock', function* (k, c) {
    yield* unlock(k, pmdLock(c.pmdTable!), 'hugetlb_fault.spin_unlock');
  }),
  step('hugetlb_fault.hugetlb_vma_unlock_read', function* (k, c) {
    yield* unlock(k, c.hugetlbLocked!, 'hugetlb_fault.hugetlb_vma_unlock_read');
  }),
];

/** page_table_shareable() + hugetlb_walk(): the PMD table another VMA of the file has at the same offset, if any. */
export function findShareablePmd(s: KernelState, mm: MmId, vma: Vma, addr: number): Frame | null {
  const file = s.files[vma.file!]!;
  const idx = vma.pgoff + (addr - vma.start);
  for (const sv of iMmapOf(file)) {
    if (sv.mm === mm && sv.start === vma.start) continue;
    if (!sv.shareable || idx < sv.pgoff || idx >= sv.pgoff + (sv.end - sv.start)) continue;
    const saddr = sv.start + (idx - sv.pgoff);
    // same position in the PUD range, and the svma covers that whole range (range_in_vma())
    if (saddr % span(s.config, 3) !== addr % span(s.config, 3) || !vmaShareable(s, sv, saddr)) continue;
    const smm = s.mms[sv.mm];
    const t = smm ? findTable(s, smm, saddr, 2) : null;
    if (t) return t;
  }
  return null;
}

export const hugePmdShare: StepDef<HugetlbFaultCtx>[] = [
  step('huge_pmd_share.i_mmap_lock_read', function* (k, c) {
    yield* lock(k, iMmapRwsem(c.vma!.file!), 'r', 'huge_pmd_share.i_mmap_lock_read');
  }),
  step('huge_pmd_share.vma_interval_tree_foreach', function* (k, c) {
    const t = findShareablePmd(k.s, c.mm, c.vma!, c.vpn);
    c.spte = t?.pfn ?? null;
    if (!t) return;
    t.shareCount++; // ptdesc_pmd_pts_inc()
    yield { id: 'huge_pmd_share.ptdesc_pmd_pts_inc' };
  }),
  step('huge_pmd_share.pud_populate', function* (k, c) {
    if (c.spte === null || c.spte === undefined) return;
    const s = k.s;
    yield* lock(k, pageTableLock(c.mm), 'w', 'huge_pmd_share.spin_lock');
    const pud = findTable(s, s.mms[c.mm]!, c.vpn, 3)!;
    const i = tableIndex(s.config, c.vpn, 3);
    const t = s.frames[c.spte]!;
    if (pud.entries![i] === null) {
      pud.entries![i] = { pfn: t.pfn, writable: true, accessed: false, dirty: false, protNone: false, ghost: t.allocId };
      note(k, 'upper-populate', c.mm, `pud entry linked to shared PMD table ${t.pfn}`, pud.pfn);
      yield { id: 'huge_pmd_share.pud_populate' };
    } else {
      t.shareCount--; // ptdesc_pmd_pts_dec(): a racing fault of this mm populated it
      yield { id: 'huge_pmd_share.ptdesc_pmd_pts_dec' };
    }
    yield* unlock(k, pageTableLock(c.mm), 'huge_pmd_share.spin_unlock');
  }),
  step('huge_pmd_share.pmd_alloc', function* (k, c) {
    c.level = 2;
    yield* k.run('__pte_alloc', c);
  }),
  step('huge_pmd_share.i_mmap_unlock_read', function* (k, c) {
    yield* unlock(k, iMmapRwsem(c.vma!.file!), 'huge_pmd_share.i_mmap_unlock_read');
  }),
];

export interface UnmapHugeCtx {
  mm: MmId;
  opId: string;
  vma: Vma;
  start: number;
  end: number;
  /** ZAP_FLAG_UNMAP: munmap and exit_mmap, not MADV_DONTNEED. */
  final: boolean;
  addr?: number;
  table?: Pfn;
}

/** unmap_vmas() / zap_page_range_single() for a hugetlb VMA: __hugetlb_zap_begin(), __unmap_hugepage_range(), __hugetlb_zap_end(). */
export const unmapHugepageRange: StepDef<UnmapHugeCtx>[] = [
  step('__hugetlb_zap_begin', function* (k, c) {
    yield* lock(k, hugetlbVmaLock(c.mm, c.vma.start), 'w', '__hugetlb_zap_begin.hugetlb_vma_lock_write');
    yield* lock(k, iMmapRwsem(c.vma.file!), 'w', '__hugetlb_zap_begin.i_mmap_lock_write');
  }),
  step('__unmap_hugepage_range', function* (k, c) {
    const s = k.s;
    for (c.addr = hpageBase(s, c.start); c.addr < c.end; ) {
      const t = findTable(s, s.mms[c.mm]!, c.addr, 2); // hugetlb_walk()
      if (!t) {
        c.addr = pudBase(s, c.addr) + span(s.config, 3); // address |= last_addr_mask
        continue;
      }
      c.table = t.pfn;
      yield* k.run('huge_pte_lock', c);
    }
  }),
  step('huge_pmd_unshare_flush', function* (k) {
    yield* k.run('tlb_flush_unshared_tables', {});
  }),
  step('__hugetlb_zap_end', function* (k, c) {
    if (c.final) {
      // __hugetlb_vma_unlock_write_free(): vm_private_data = NULL, page_table_shareable() fails from here
      const e = iMmapOf(k.s.files[c.vma.file!]!).find((x) => x.mm === c.mm && x.start === c.vma.start);
      if (e) e.shareable = false;
      yield { id: '__hugetlb_vma_unlock_write_free' };
    }
    yield* unlock(k, iMmapRwsem(c.vma.file!), '__hugetlb_zap_end.i_mmap_unlock_write');
    yield* unlock(k, hugetlbVmaLock(c.mm, c.vma.start), '__hugetlb_zap_end.hugetlb_vma_unlock_write');
  }),
];

/** huge_pmd_unshare()'s pud_clear() of this mm's link to the shared PMD table `t` (kept mutants record the unshare differently). */
export function pudClearShared(k: K, c: UnmapHugeCtx, t: Frame): void {
  const pud = findTable(k.s, k.s.mms[c.mm]!, c.addr!, 3)!;
  pud.entries![tableIndex(k.s.config, c.addr!, 3)] = null;
  note(k, 'upper-clear', c.mm, `pud entry of shared PMD table ${t.pfn}`);
}

/** The first address of the next PUD: where __unmap_hugepage_range() goes on after an unshare. */
export const nextPud = (s: KernelState, addr: number) => pudBase(s, addr) + span(s.config, 3);

/** One huge page of __unmap_hugepage_range(), under huge_pte_lock(). */
export const hugePteLock: StepDef<UnmapHugeCtx>[] = [
  step('huge_pte_lock', function* (k, c) {
    yield* lock(k, pmdLock(c.table!), 'w', 'huge_pte_lock');
  }),
  step('huge_pmd_unshare', function* (k, c) {
    const t = k.s.frames[c.table!]!;
    if (!pmdIsShared(t)) return;
    pudClearShared(k, c, t);
    tlbUnsharePmdPtdesc(k, t, c.addr!);
    yield { id: 'huge_pmd_unshare.pud_clear' };
    yield* unlock(k, pmdLock(t.pfn), 'huge_pmd_unshare.spin_unlock');
    c.addr = nextPud(k.s, c.addr!);
    return STOP_STEP;
  }),
  step('huge_ptep_get_and_clear', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    const v = c.addr!;
    const i = tableIndex(s.config, v, 2);
    const e = t.entries![i];
    if (e && e.huge) {
      const g = gatherOf(k);
      t.entries![i] = null;
      note(k, 'pte-write', c.mm, `huge pmd ${v}`, t.pfn);
      widen(g, v, v + span(s.config, 2)); // tlb_remove_huge_tlb_entry() -> tlb_flush_pmd_range()
      g.clearedPmds = true;
      const head = s.frames[e.pfn]!;
      const op = s.ghost.ops[c.opId];
      const at = ++s.ghost.clock;
      head.subpages!.forEach((p, j) => {
        const f = s.frames[p]!;
        if (e.dirty) f.dirty = true; // folio_mark_dirty()
        f.mapcount--; // hugetlb_remove_rmap()
        g.pages.push(p); // tlb_remove_page_size(): the reference goes with the batch
        op?.zapped.push({ vpn: v + j, ghost: f.allocId, at });
      });
      yield { id: 'huge_ptep_get_and_clear' };
    }
  }),
  step('huge_pte_lock.spin_unlock', function* (k, c) {
    yield* unlock(k, pmdLock(c.table!), 'huge_pte_lock.spin_unlock');
    c.addr = c.addr! + span(k.s.config, 2);
  }),
];

/**
 * tlb_unshare_pmd_ptdesc() (include/asm-generic/tlb.h, 8ce720d5bd91):
 * pt_share_count--, the PUD_SIZE range with cleared_pmds
 * (tlb_flush_pmd_range()), unshared_tables; fully_unshared_tables when
 * this was the last sharer.
 */
export function tlbUnsharePmdPtdesc(k: K, t: Frame, addr: number): void {
  const g = gatherOf(k);
  t.shareCount--;
  const b = pudBase(k.s, addr);
  widen(g, b, b + span(k.s.config, 3));
  g.clearedPmds = true;
  if (t.shareCount === 0) g.fullyUnsharedTables = true;
  g.unsharedTables = true;
}

/** tlb_flush_unshared_tables() (include/asm-generic/tlb.h): called with the i_mmap lock still held. */
export const tlbFlushUnsharedTables: StepDef<unknown>[] = [
  step('tlb_flush_unshared_tables', function* (k) {
    if (gatherOf(k).unsharedTables) yield* k.run('tlb_flush_mmu_tlbonly', {}); // the unsharer, always
  }),
  step('tlb_flush_unshared_tables.tlb_remove_table_sync_one', function* (k) {
    const g = gatherOf(k);
    if (!g.fullyUnsharedTables) return;
    // tlb_remove_table_sync_one(): smp_call_function(tlb_remove_table_smp_sync, NULL, 1)
    const info: FlushInfo = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: false, newTlbGen: 0, trimCpumask: false };
    const sent = sendIpis(k, k.s.cpus.filter((x) => x.id !== k.cpu).map((x) => x.id), 'tlb_remove_table_smp_sync', info);
    yield { id: 'tlb_flush_unshared_tables.tlb_remove_table_sync_one' };
    yield* waitForIpis(k, sent, 'tlb_flush_unshared_tables.wait');
    g.fullyUnsharedTables = false;
  }),
];

/** Unmap [start, end) of hugetlb VMA `v` within mm's gather (the caller holds it). */
export function* unmapHugetlbVma(k: K, mm: MmId, opId: string, v: Vma, start: number, end: number, final: boolean) {
  yield* k.run('__unmap_hugepage_range', { mm, opId, vma: v, start: Math.max(start, v.start), end: Math.min(end, v.end), final } satisfies UnmapHugeCtx);
}
