// copy_page_range() (mm/memory.c) for one private anonymous VMA of a
// forking parent, from dup_mmap() (fork.ts step 5) with both mmap_locks
// held for write and the parent VMA write-locked:
//
//   1. is_cow_mapping(): mmu_notifier_range_init(MMU_NOTIFY_PROTECTION_PAGE,
//      the VMA's range in the parent); mmu_notifier_invalidate_range_start();
//      vma_assert_write_locked(); raw_write_seqcount_begin(&src_mm->
//      write_protect_seq) (GUP-fast with FOLL_PIN backs off while it is odd:
//      not modelled, pins are taken only by the slow path's callers here).
//   2. copy_pmd_range(): a parent PTE table that is not there is skipped
//      (pmd_none_or_clear_bad); the child's upper tables are allocated
//      (p4d_alloc, pud_alloc, pmd_alloc), then copy_pte_range():
//      pte_alloc_map_lock() on the child, the parent's PTL nested.
//   3. copy_present_ptes() per present PTE:
//      - the zero page (vm_normal_page() is NULL): the PTE is copied as is
//        (it is read-only), no reference;
//      - an anonymous page: folio_try_dup_anon_rmap_pte() fails when the
//        page is exclusive and maybe DMA-pinned (page_needs_cow_for_dma(),
//        70e806e4e645 "mm: Do early cow for pinned pages during fork() for
//        ptes"): copy_present_page() gives the child a copy now and the
//        parent keeps its writable PTE, so the pin stays coherent with the
//        parent's memory. Otherwise the page is shared: its mapcount and
//        reference go up, and if the PTE is writable, ptep_set_wrprotect()
//        on the parent and pte_wrprotect() for the child (__copy_present_ptes);
//        the child's PTE is old (pte_mkold).
//      No flush here: the parent's stale writable TLB entries live until
//      dup_mmap()'s flush_tlb_mm() (fork.ts step 7).
//      A migration entry (paths/migrate.ts): copy_nonpresent_pte() copies
//      it, made readable in both mms if it was writable (remove_migration_pte()
//      then maps the new page read-only in both, and a write COWs).
//   4. pte_unmap_unlock() of both tables.
//   5. raw_write_seqcount_end(); mmu_notifier_invalidate_range_end().
//
// "Maybe pinned" is, in the model, a reference the mappings do not account
// for (refcount > mapcount, frames.ts folioMaybeDmaPinned()): the model's
// only such references on an anonymous page are GUP pins (gup.ts,
// gup_fast.ts, FOLL_PIN), where the kernel counts GUP_PIN_COUNTING_BIAS per
// pin (folio_maybe_dma_pinned()).
// copy_present_page() runs with the preallocated page the kernel gets by
// dropping the locks and retrying (-EAGAIN, folio_prealloc()): the model
// allocates it in place. Guarded by read-value, lock-discipline and
// no-freed-frame-reachable.

import { step, STOP_STEP, type StepDef } from '../step.js';
import { allocFrame, folioMaybeDmaPinned, getPage, isZeroPfn } from '../frames.js';
import { lock, note, ptlOf, unlock } from '../locks.js';
import { findTable, pteTableRanges, tableIndex } from '../pagetable.js';
import { findVma } from '../vma.js';
import { vaHex, type MmId, type Pfn } from '../types.js';
import type { Pte } from '../state.js';
import type { NotifierCtx } from './notifier.js';
import type { FaultCtx } from './fault.js';

export interface CopyPageRangeCtx {
  src: MmId;
  dst: MmId;
  start: number;
  end: number;
}

export interface CopyPteRangeCtx {
  src: MmId;
  dst: MmId;
  addr: number;
  end: number;
  srcTable?: Pfn;
  dstTable?: Pfn;
}

/** folio_maybe_dma_pinned() on an exclusive anonymous page, as the model counts references (see above). */
export const pageNeedsCowForDma = (f: { refcount: number; mapcount: number }): boolean => f.mapcount === 1 && folioMaybeDmaPinned(f);

export const copyPageRange: StepDef<CopyPageRangeCtx>[] = [
  step('copy_page_range.mmu_notifier_invalidate_range_start', function* (k, c) {
    const n: NotifierCtx = { mm: c.src, start: c.start, end: c.end, event: 'PROTECTION_PAGE' };
    yield* k.run('mmu_notifier_invalidate_range_start', n);
  }),
  step('copy_page_range.copy_pte_ranges', function* (k, c) {
    for (const [addr, end] of pteTableRanges(k.s.config, c.start, c.end)) {
      if (!findTable(k.s, k.s.mms[c.src]!, addr, 1)) continue; // copy_pmd_range(): pmd_none_or_clear_bad()
      const t: CopyPteRangeCtx = { src: c.src, dst: c.dst, addr, end };
      yield* k.run('copy_pte_range', t);
    }
  }),
  step('copy_page_range.mmu_notifier_invalidate_range_end', function* (k, c) {
    const n: NotifierCtx = { mm: c.src, start: c.start, end: c.end, event: 'PROTECTION_PAGE' };
    yield* k.run('mmu_notifier_invalidate_range_end', n);
  }),
];

export const copyPteRange: StepDef<CopyPteRangeCtx>[] = [
  // copy_p4d_range() .. copy_pmd_range(): the child's upper tables
  step('copy_pte_range.pte_alloc', function* (k, c) {
    for (const level of [3, 2, 1]) {
      const f: FaultCtx = { mm: c.dst, vpn: c.addr, write: false, level };
      yield* k.run('__pte_alloc', f);
    }
  }),
  step('copy_pte_range.pte_alloc_map_lock', function* (k, c) {
    c.dstTable = findTable(k.s, k.s.mms[c.dst]!, c.addr, 1)!.pfn;
    yield* lock(k, ptlOf(c.dstTable), 'w', 'copy_pte_range.pte_alloc_map_lock');
  }),
  step('copy_pte_range.spin_lock_nested', function* (k, c) {
    const t = findTable(k.s, k.s.mms[c.src]!, c.addr, 1); // the parent's PMD is stable: mmap_lock held for write
    if (!t) {
      yield* unlock(k, ptlOf(c.dstTable!), 'copy_pte_range.pte_unmap_unlock_dst');
      return STOP_STEP;
    }
    c.srcTable = t.pfn;
    yield* lock(k, ptlOf(c.srcTable), 'w', 'copy_pte_range.spin_lock_nested');
  }),
  step('copy_present_ptes', function* (k, c) {
    const s = k.s;
    const src = s.frames[c.srcTable!]!;
    const dst = s.frames[c.dstTable!]!;
    const vma = findVma(s.mms[c.dst]!, c.addr)!;
    for (let v = c.addr; v < c.end; v++) {
      const i = tableIndex(s.config, v, 1);
      const e = src.entries![i];
      if (!e || dst.entries![i]) continue;
      if (e.swap !== undefined) {
        // copy_nonpresent_pte(): a swap entry: swap_duplicate() (the slot's count); an exclusive entry
        // loses pte_swp_exclusive() in the parent (pte_swp_clear_exclusive()) and is copied without it
        s.swap!.slots[e.swap]!.count++;
        const ent: Pte = { ...e };
        delete ent.swapExclusive;
        if (e.swapExclusive) {
          src.entries![i] = ent;
          note(k, 'pte-write', c.src, `pte ${v}`, src.pfn);
        }
        dst.entries![i] = { ...ent };
        note(k, 'pte-write', c.dst, `pte ${v}`, dst.pfn);
        yield { id: 'copy_nonpresent_pte.swap_entry' };
        continue;
      }
      if (e.migration) {
        // copy_nonpresent_pte(): "COW mappings require pages in both parent and child to be set to
        // read": a writable migration entry becomes readable in both; no reference, no mapcount
        const cow = k.decide('copy_nonpresent_pte.is_cow_mapping', e.migration === 'write' && vma.kind === 'anon', { vpn: v });
        const ent: Pte = cow ? { ...e, writable: false, migration: 'read' } : e;
        if (ent !== e) {
          src.entries![i] = ent;
          note(k, 'pte-write', c.src, `pte ${v}`, src.pfn);
        }
        dst.entries![i] = { ...ent };
        note(k, 'pte-write', c.dst, `pte ${v}`, dst.pfn);
        yield { id: 'copy_nonpresent_pte.migration_entry' };
        continue;
      }
      if (isZeroPfn(s, e.pfn)) {
        dst.entries![i] = { ...e, accessed: false }; // vm_normal_page() NULL: copied as is, pte_mkold()
        note(k, 'pte-write', c.dst, `pte ${v}`, dst.pfn);
        yield { id: 'copy_present_ptes.zero_page' };
        continue;
      }
      const f = s.frames[e.pfn]!;
      if (k.decide('folio_try_dup_anon_rmap.needs_cow_for_dma', pageNeedsCowForDma(f), { vpn: v })) {
        // folio_try_dup_anon_rmap_pte() -> -EBUSY: copy_present_page()
        const n = allocFrame(s, `anon:${c.dst}:${vaHex(v)}`);
        n.lp += `#${n.allocId}`;
        n.content = f.content; // copy_user_highpage()
        n.mapcount = 1; // folio_add_new_anon_rmap()
        dst.entries![i] = { pfn: n.pfn, writable: vma.prot.w, accessed: true, dirty: true, protNone: e.protNone, ghost: n.allocId }; // maybe_mkwrite(pte_mkdirty())
        note(k, 'pte-write', c.dst, `pte ${v}`, dst.pfn);
        yield { id: 'copy_present_page' };
        continue;
      }
      getPage(s, f.pfn); // folio_get()
      f.mapcount++; // folio_try_dup_anon_rmap_pte()
      if (e.writable) {
        src.entries![i] = { ...e, writable: false }; // ptep_set_wrprotect()
        note(k, 'pte-write', c.src, `pte ${v}`, src.pfn);
      }
      dst.entries![i] = { ...e, writable: false, accessed: false }; // pte_wrprotect(), pte_mkold()
      note(k, 'pte-write', c.dst, `pte ${v}`, dst.pfn);
      yield { id: '__copy_present_ptes' };
    }
  }),
  step('copy_pte_range.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.srcTable!), 'copy_pte_range.pte_unmap_unlock_src');
    yield* unlock(k, ptlOf(c.dstTable!), 'copy_pte_range.pte_unmap_unlock_dst');
  }),
];
