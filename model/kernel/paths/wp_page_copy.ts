// The COW break: do_wp_page() -> wp_page_copy() (mm/memory.c), for a write
// fault on a read-only PTE of a private anonymous VMA whose page is not
// exclusive (shared with a forked child or parent), or is the zero page.
// do_wp_page() decided under the PTL (fault.ts wpPageReuse) and dropped it:
//
//   1. Allocate the new page: vma_alloc_zeroed_movable_folio() for the zero
//      page, else folio_prealloc() and __wp_page_copy_user() (the copy is
//      taken now, without the PTL).
//   2. mmu_notifier_range_init(MMU_NOTIFY_CLEAR, the page);
//      mmu_notifier_invalidate_range_start().
//   3. pte_offset_map_lock(); if the PTE is no longer the one the fault saw
//      (!pte_same(), another thread broke the COW first, or the page was
//      unmapped): drop the new page.
//   4. ptep_clear_flush(): clear the PTE and, if it was accessible, flush
//      the page from every CPU of the mm (flush_tlb_page() ->
//      flush_tlb_mm_range()), before the new PTE is set. "Clear the pte
//      entry and flush it first, before updating the pte with the new
//      entry, to keep TLBs on different CPUs in sync" (Suresh Siddha, "mm:
//      fix a race condition under SMC + COW", 2006: the old order set the
//      new PTE and then flushed, so one CPU could use the new page while
//      another still read or wrote the old one).
//   5. folio_add_new_anon_rmap(); set_pte_at() the new page, writable and
//      dirty (maybe_mkwrite(pte_mkdirty())).
//   6. folio_remove_rmap_pte() of the old page: only after the PTE switched
//      ("Only after switching the pte to the new page may we remove the
//      mapcount here", else another process could find it exclusive and
//      reuse it while this PTE still points there).
//   7. pte_unmap_unlock(); mmu_notifier_invalidate_range_end().
//   8. folio_put() of the old page: it can be freed now, and only now,
//      after the step-4 flush. The write is retried through the new PTE.
//
// Guarded by read-value (no CPU reads the old page once the new one has
// been written: step 4) and no-freed-frame-reachable (step 8 after 4).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { allocFrame, isZeroPfn, putPage } from '../frames.js';
import { note, ptlOf, unlock } from '../locks.js';
import { tableIndex } from '../pagetable.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { vaHex, type MmId, type Pfn } from '../types.js';
import type { Pte } from '../state.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import type { NotifierCtx } from './notifier.js';
import { pteAccessible } from './tlbbatch.js';

export interface WpPageCopyCtx {
  mm: MmId;
  vpn: number;
  /** vmf->orig_pte: the PTE do_wp_page() saw. */
  orig: Pte;
  writable: boolean;
  newPage?: Pfn;
  table?: Pfn;
  /** The PTE ptep_clear_flush() cleared (step 4), when pte_same() held. */
  cleared?: Pte;
}

const pteSame = (a: Pte | null | undefined, b: Pte) => !!a && a.pfn === b.pfn && a.writable === b.writable && a.protNone === b.protNone;

export const wpPageCopy: StepDef<WpPageCopyCtx>[] = [
  step('wp_page_copy.alloc', function* (k, c) {
    const s = k.s;
    const n = allocFrame(s, `anon:${c.mm}:${vaHex(c.vpn)}`);
    n.lp += `#${n.allocId}`;
    if (!isZeroPfn(s, c.orig.pfn)) n.content = s.frames[c.orig.pfn]!.content; // __wp_page_copy_user()
    c.newPage = n.pfn;
    yield { id: isZeroPfn(s, c.orig.pfn) ? 'wp_page_copy.alloc_zeroed' : 'wp_page_copy.copy_user' };
  }),
  step('wp_page_copy.mmu_notifier_invalidate_range_start', function* (k, c) {
    const n: NotifierCtx = { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'CLEAR' };
    yield* k.run('mmu_notifier_invalidate_range_start', n);
  }),
  step('wp_page_copy.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'wp_page_copy.pte_offset_map_lock');
    c.table = t ?? undefined;
    const e = t === null ? null : k.s.frames[t]!.entries![tableIndex(k.s.config, c.vpn, 1)];
    if (!pteSame(e, c.orig)) {
      if (t !== null) yield* unlock(k, ptlOf(t), 'wp_page_copy.pte_changed');
      c.table = undefined;
    }
  }),
  // step 4: ptep_clear_flush()
  step('wp_page_copy.ptep_clear_flush', function* (k, c) {
    if (c.table === undefined) return;
    const t = k.s.frames[c.table]!;
    const i = tableIndex(k.s.config, c.vpn, 1);
    const e = t.entries![i]!;
    t.entries![i] = null; // ptep_get_and_clear()
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    c.cleared = e;
    yield { id: 'wp_page_copy.ptep_get_and_clear' };
    if (!pteAccessible(k, c.mm, e)) return;
    const f: FlushCtx = { mm: c.mm, start: c.vpn, end: c.vpn + 1, stride: 1, freedTables: false }; // flush_tlb_page()
    yield* k.run('flush_tlb_mm_range', f);
  }),
  // steps 5-6
  step('wp_page_copy.set_pte_at', function* (k, c) {
    if (c.table === undefined) return;
    const s = k.s;
    const t = s.frames[c.table]!;
    const n = s.frames[c.newPage!]!;
    n.mapcount = 1; // folio_add_new_anon_rmap()
    t.entries![tableIndex(s.config, c.vpn, 1)] = { pfn: n.pfn, writable: c.writable, accessed: true, dirty: true, protNone: false, ghost: n.allocId };
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    if (!isZeroPfn(s, c.orig.pfn)) s.frames[c.orig.pfn]!.mapcount--; // folio_remove_rmap_pte()
    yield { id: 'wp_page_copy.set_pte_at' };
  }),
  step('wp_page_copy.pte_unmap_unlock', function* (k, c) {
    if (c.table !== undefined) yield* unlock(k, ptlOf(c.table), 'wp_page_copy.pte_unmap_unlock');
  }),
  step('wp_page_copy.mmu_notifier_invalidate_range_end', function* (k, c) {
    const n: NotifierCtx = { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'CLEAR' };
    yield* k.run('mmu_notifier_invalidate_range_end', n);
  }),
  // step 8
  step('wp_page_copy.folio_put', function* (k, c) {
    const s = k.s;
    if (c.table === undefined) {
      putPage(s, c.newPage!); // the fault lost the race: drop the new page
      yield { id: 'wp_page_copy.folio_put_new' };
      return STOP_STEP;
    }
    if (!isZeroPfn(s, c.orig.pfn)) putPage(s, c.orig.pfn); // the old PTE's reference
    yield { id: 'wp_page_copy.folio_put' };
    return STOP_STEP;
  }),
];
