// Swap of ordinary (swap-backed) anonymous folios: the swap device, the
// swap cache, and do_swap_page() on a swap entry (mm/swapfile.c,
// mm/swap_state.c, mm/page_io.c, mm/memory.c). Present only with the setup
// item `swap` (KernelState.swap); without it folio_alloc_swap() fails and
// reclaim keeps today's behaviour (reclaim.ts: no anonymous folio but a
// lazyfree one is taken).
//
// Reclaim (reclaim.ts) puts a folio in the swap cache (folio_alloc_swap():
// a slot, the swap cache's reference), replaces every PTE mapping it by a
// swap entry (try_to_unmap_one.ts: folio_dup_swap() counts each), writes it
// (pageout() -> swap_writeout(), after try_to_unmap_flush_dirty()) and takes
// it out of the swap cache (__remove_mapping(): __swap_cache_del_folio(),
// put_swap_folio()) before the batch flush and the free.
//
// do_swap_page() for a fault on a swap entry, under the per-VMA lock or the
// mmap_lock (handle_pte_fault(), fault.ts):
//
//   1. entry = pte_to_swp_entry(vmf->orig_pte), the entry the fault saw
//      (read without the PTL).
//   2. swap_cache_get_folio(entry): a hit takes a reference. A miss:
//      swapin_readahead() -> __read_swap_cache_async(): a new folio is
//      added to the swap cache (swap_cache_add_folio(): the cache's
//      reference and the caller's) and swap_read_folio() reads the slot
//      (model choice: synchronously, in the same step; a second fault
//      meanwhile finds it in the swap cache). An entry already freed
//      (swapcache_prepare() -ENOENT: the PTE was zapped meanwhile): no
//      folio; the fault returns and the access is retried.
//   3. folio_lock_or_retry(): reclaim holds the folio lock from
//      shrink_folio_list()'s folio_trylock() to its folio_unlock(); the
//      fault sleeps until the folio is unlocked, its reference held (so
//      reclaim's __remove_mapping() fails and keeps the folio), returns
//      VM_FAULT_RETRY and drops the reference (out_release); the access
//      is retried. Model: the fault keeps its VMA or mmap lock while it
//      sleeps (the kernel's release_fault_lock() drops it).
//      Under the folio lock: !folio_test_swapcache() or another entry
//      (reclaim took it out of the swap cache meanwhile): out_page, retry.
//   4. pte_offset_map_lock(); !pte_same(orig_pte): out_nomap (another
//      fault mapped it first), drop the reference.
//   5. Under the PTL: exclusive = pte_swp_exclusive(orig_pte);
//      swap_free_nr(entry) (the slot's count); should_try_to_free_swap()
//      (a write fault with folio_ref_count == 1 + nr: the caller's and the
//      swap cache's) -> folio_free_swap() when no swap entry is left; then
//      mk_pte(): writable (and dirty on a write fault) if exclusive or
//      folio_ref_count == 1 and the VMA is writable, else read-only (a
//      write then faults into do_wp_page(), which copies unless it can
//      free the swap cache: wp_can_reuse_anon_folio()); folio_add_anon_rmap_ptes(),
//      set_pte_at(). The caller's reference becomes the mapping's.
//   6. pte_unmap_unlock().
//
// Swap is transparent: the ideal memory sees no change, so a read after a
// swap-in must return what was last written (read-value); a write through
// a stale TLB entry after swap_writeout() started would be lost
// (variants/swap-pageout-before-flush-dirty.ts).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { note, ptlOf, unlock } from '../locks.js';
import { allocFrame, getPage, putPage } from '../frames.js';
import { tableIndex } from '../pagetable.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { KernelState, Pte, Vma } from '../state.js';
import { vaHex, type MmId, type Pfn } from '../types.js';

/** A swap PTE for `slot` (swp_entry_to_pte()): not present, no frame. */
export const swapPte = (slot: number, exclusive: boolean): Pte => ({ pfn: -1 as Pfn, writable: false, accessed: false, dirty: false, protNone: true, ghost: -1, swap: slot, ...(exclusive ? { swapExclusive: true } : {}) });

/** folio_alloc_swap(): a slot for the folio, which joins the swap cache (one reference). Null without a swap device. */
export function folioAllocSwap(s: KernelState, pfn: Pfn): number | null {
  if (!s.swap) return null;
  const f = s.frames[pfn]!;
  const slot = s.swap.slots.length;
  s.swap.slots.push({ content: 0, count: 0, cache: pfn, lp: f.lp });
  f.swapSlot = slot;
  f.refcount++; // swap_cache_add_folio(): folio_ref_add(folio, nr)
  return slot;
}

/** __swap_cache_del_folio() + put_swap_folio(): the folio leaves the swap cache; the caller drops the cache's reference. */
export function swapCacheDelFolio(s: KernelState, pfn: Pfn): void {
  const f = s.frames[pfn]!;
  s.swap!.slots[f.swapSlot!]!.cache = null;
  delete f.swapSlot;
}

/**
 * folio_free_swap(): a swap-cache folio no swap entry names any more
 * (!folio_swapped()) leaves the swap cache and is dirtied (its swap copy
 * is gone); the cache's reference is dropped. False if an entry is left.
 */
export function folioFreeSwap(s: KernelState, pfn: Pfn): boolean {
  const f = s.frames[pfn]!;
  if (f.swapSlot === undefined || s.swap!.slots[f.swapSlot]!.count > 0) return false;
  swapCacheDelFolio(s, pfn);
  f.dirty = true; // folio_set_dirty()
  putPage(s, pfn);
  return true;
}

/**
 * free_swap_and_cache() for a swap entry zap_nonpresent_ptes() cleared:
 * swap_put_entries_direct() drops the slot's count; at zero,
 * __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL) frees the swap-cache
 * folio if it is not mapped and its lock is free (folio_trylock()).
 */
export function freeSwapAndCache(s: KernelState, slot: number): void {
  const sl = s.swap!.slots[slot]!;
  sl.count--;
  if (sl.count > 0 || sl.cache === null) return;
  const f = s.frames[sl.cache]!;
  if (f.mapcount > 0 || f.locked) return;
  folioFreeSwap(s, f.pfn);
}

export interface DoSwapPageCtx {
  mm: MmId;
  vpn: number;
  write: boolean;
  vma: Vma;
  /** vmf->orig_pte's swap entry. */
  slot?: number;
  exclusive?: boolean;
  folio?: Pfn;
  table?: Pfn;
}

export const doSwapPage: StepDef<DoSwapPageCtx>[] = [
  step('do_swap_page.swap_cache_get_folio', function* (k, c) {
    const s = k.s;
    const sl = s.swap!.slots[c.slot!]!;
    if (sl.cache !== null) {
      getPage(s, sl.cache); // swap_cache_get_folio(): folio_try_get()
      c.folio = sl.cache;
      yield { id: 'do_swap_page.swap_cache_hit' };
      return;
    }
    if (sl.count === 0) {
      yield { id: 'do_swap_page.entry_freed' }; // swapcache_prepare() -ENOENT: the PTE went meanwhile
      return STOP_STEP;
    }
    // swapin_readahead() -> __read_swap_cache_async(): a new folio in the swap cache, then swap_read_folio()
    const f = allocFrame(s, `anon:${c.mm}:${vaHex(c.vpn)}`);
    f.lp = sl.lp; // the same logical page, read back
    f.refcount++; // the swap cache's reference; the caller holds the allocation's
    f.swapSlot = c.slot!;
    sl.cache = f.pfn;
    f.content = sl.content; // swap_read_folio(): the data swap_writeout() wrote
    c.folio = f.pfn;
    yield { id: 'swap_read_folio' };
  }),
  step('do_swap_page.folio_lock_or_retry', function* (k, c) {
    const s = k.s;
    const f = s.frames[c.folio!]!;
    if (f.locked) {
      // reclaim holds the folio lock: __folio_lock_or_retry() sleeps in folio_wait_locked() with the
      // reference held (so reclaim's folio_ref_freeze() fails: the folio is kept), VM_FAULT_RETRY, out_release: folio_put()
      yield { id: 'do_swap_page.folio_lock_or_retry', wait: () => !f.locked };
      putPage(s, f.pfn);
      yield { id: 'do_swap_page.retry' };
      return STOP_STEP;
    }
    if (f.swapSlot !== c.slot) {
      putPage(s, f.pfn); // out_page: no longer this entry's swap-cache folio
      yield { id: 'do_swap_page.not_swapcache' };
      return STOP_STEP;
    }
  }),
  step('do_swap_page.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_swap_page.pte_offset_map_lock');
    if (t === null) {
      putPage(k.s, c.folio!);
      return STOP_STEP;
    }
    c.table = t;
  }),
  step('do_swap_page.set_pte_at', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    const i = tableIndex(s.config, c.vpn, 1);
    const e = t.entries![i];
    const f = s.frames[c.folio!]!;
    if (!e || e.swap !== c.slot || !!e.swapExclusive !== !!c.exclusive) {
      putPage(s, f.pfn); // !pte_same(): out_nomap
      yield { id: 'do_swap_page.pte_changed' };
      return;
    }
    s.swap!.slots[c.slot!]!.count--; // swap_free_nr()
    // should_try_to_free_swap(): a write fault, and only the caller's and the swap cache's references
    if (c.write && f.swapSlot !== undefined && f.refcount === 2) folioFreeSwap(s, f.pfn);
    const exclusive = !!c.exclusive || f.refcount === 1;
    const writable = exclusive && c.vma.prot.w;
    t.entries![i] = { pfn: f.pfn, writable, accessed: true, dirty: writable && c.write, protNone: false, ghost: f.allocId };
    f.mapcount++; // folio_add_anon_rmap_ptes() / folio_add_new_anon_rmap(); the caller's reference is the mapping's
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    yield { id: 'do_swap_page.set_pte_at' };
  }),
  step('do_swap_page.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'do_swap_page.pte_unmap_unlock');
    return STOP_STEP;
  }),
];
