// Reclaim of one page-cache folio: shrink_folio_list() (mm/vmscan.c) as
// direct reclaim runs it in the allocating task (try_to_free_pages() ->
// shrink_node() -> shrink_folio_list(); kswapd runs the same function), on
// the folio of a regular file's page cache that the caller's address names
// (`reclaim ADDR`; isolate_lru_folios() picking that folio):
//
//   1. isolate: take the isolation reference (folio_isolate_lru()).
//   2. try_to_unmap(folio, TTU_BATCH_FLUSH) -> rmap_walk_file(): under
//      i_mmap_rwsem (read), try_to_unmap_one() for every VMA of every mm
//      that maps the folio's index (try_to_unmap_one.ts).
//   3. folio_mapped() still (a fault mapped it again meanwhile): keep it
//      (activate_locked).
//   4. folio_test_dirty(): a file folio is never written back by reclaim
//      since 6b0dfabb3555 ("fs: Remove aops->writepage"); it is activated
//      (activate_locked, with PG_reclaim) and the flusher writes it back.
//      So the data of a dirty folio stays in the page cache and
//      try_to_unmap_flush_dirty() / pageout() are never reached for file
//      folios (they are for anon with a swap device: step 4' below; shmem
//      is not reclaimed).
//   5. __remove_mapping(): under the i_pages lock, folio_ref_freeze(folio,
//      1 + isolation): fails if anyone else holds a reference (a GUP pin, a
//      fault that just took one); else delete it from the page cache. The
//      frozen folio is not freed yet: it goes on free_folios.
//   6. try_to_unmap_flush() (tlbbatch.ts step 3): the batched flush of
//      every PTE step 2 cleared.
//   7. free_unref_folios(&free_folios): only now is the frame reused.
//      Kept folios go back on the LRU (putback: drop the isolation ref).
//
// Between step 2 and step 6 another CPU may still read (or write, through
// a dirty entry) the folio through its TLB: allowed, the folio is still
// allocated and, if written, dirty and kept. A clean folio holds what the
// file holds, so a refault after step 5 reads the same data from "disk"
// (a new zeroed frame: the model's files read as zero until written).
// Guarded by no-freed-frame-reachable (step 7 before 6) and read-value.
//
// A lazyfree anonymous folio (MADV_FREE, paths/madvise_free.ts) is
// reclaimed without swap: step 2 is rmap_walk_anon() over every mm mapping
// it (its own, and fork children at the same address), where
// try_to_unmap_one()'s MADV_FREE check discards it or, redirtied or with
// an extra reference, restores the PTE and stops the walk; step 3 keeps it
// if still mapped; step 4 does not apply (a discarded lazyfree folio is
// clean); step 5 is folio_ref_freeze(folio, 1) on the isolation reference
// alone ("follow __remove_mapping for reference"); steps 6-7 as above.
//
// An ordinary (swap-backed) anonymous folio is reclaimed to swap when the
// setup has a swap device (`swap`, paths/swap.ts); without one
// folio_alloc_swap() fails and `reclaim` on it does nothing, as before:
//
//   1'. isolate, and folio_trylock() (held until folio_unlock(): a fault on
//       one of its swap entries waits for it, paths/swap.ts step 3).
//   1''. not yet in the swap cache: folio_alloc_swap() (a slot, the swap
//       cache's reference), then folio_mark_dirty() ("Normally the folio
//       will be dirtied in unmap because its pte should be dirty. A special
//       case is MADV_FREE page...").
//   2'. try_to_unmap() -> rmap_walk_anon(): try_to_unmap_one() replaces
//       every PTE mapping it, in every mm, by a swap entry
//       (folio_dup_swap()), the flush deferred with
//       set_tlb_ubc_flush_pending(mm, pteval): the batch's `writable` is
//       pte_dirty(pteval) (a clean TLB entry cannot store without a walk
//       that sets D, which now finds the swap entry: access.ts).
//   3'. still mapped: activate_locked.
//   4'. folio_test_dirty(): try_to_unmap_flush_dirty() - the batch flush,
//       if a dirty (so possibly writable) entry was deferred - and only then
//       pageout() -> folio_clear_dirty_for_io(), swap_writeout() (model
//       choice: the write completes in the same step, as on a synchronous
//       device; PAGE_SUCCESS with neither writeback nor dirty set goes on to
//       free the folio). The flush first is d950c9477d51 ("mm: defer flush
//       of writable TLB entries", Mel Gorman, 2015-09-04): a CPU's stale
//       writable entry would otherwise store after the write started, and
//       the store is lost when the folio is freed and read back from swap.
//       A clean folio already in the swap cache (swapped in, not written
//       since) is not written: the slot holds its data.
//   5'. __remove_mapping(): folio_ref_freeze(folio, 1 + 1), the isolation
//       and swap-cache references (a fault's or a GUP pin's reference makes
//       it fail: keep); __swap_cache_del_folio(), put_swap_folio(); then
//       folio_unlock(). Steps 6-7 as above.
// Shmem and hugetlb folios are not reclaimed: `reclaim` on them does
// nothing (docs/fidelity.md). folio_maybe_dma_pinned() before
// folio_alloc_swap() is not modelled: a pinned folio is unmapped and
// written, then kept by step 5''s ref freeze.

import { step, STOP_STEP, type StepDef } from '../step.js';
import { anonVmaLock, iMmapRwsem, lock, unlock } from '../locks.js';
import { freeFrame, getPage, isZeroPfn, putPage } from '../frames.js';
import { findLeaf } from '../pagetable.js';
import type { MmId, Pfn } from '../types.js';
import type { TryToUnmapOneCtx } from './try_to_unmap_one.js';
import { folioAllocSwap, swapCacheDelFolio } from './swap.js';
import { tlbUbcOf } from './tlbbatch.js';

export interface ReclaimCtx {
  /** The mm and address naming the folio: the caller's in direct reclaim, the request's for kswapd (model/run/actors.ts kswapdActor). */
  mm: MmId;
  vpn: number;
  file?: string;
  index?: number;
  folio?: Pfn;
  /** An anonymous folio: lazyfree (folio_test_anon() && !folio_test_swapbacked()), or swap-backed with `swapbacked`. */
  anon?: boolean;
  /** A swap-backed anonymous folio, reclaimed to swap (paths/swap.ts); reclaim holds its folio lock. */
  swapbacked?: boolean;
  /** try_to_unmap_flush_dirty() found a deferred dirty entry (coverage). */
  writableBatch?: boolean;
  /** free_folios: frozen by __remove_mapping(), freed after the batch flush. */
  freeFolios?: Pfn[];
  keep?: boolean;
}

/** The folio `vpn` of `mm` names, if it is one reclaim may take: a regular file's page-cache folio, or a lazyfree anonymous one. */
function folioAt(k: Parameters<StepDef['fn']>[0], mm: MmId, vpn: number): { file?: string; index?: number; folio: Pfn; anon?: boolean; swapbacked?: boolean } | null {
  const m = k.s.mms[mm];
  const v = m?.vmas.find((x) => vpn >= x.start && vpn < x.end);
  if (v?.kind === 'anon') {
    const pte = findLeaf(k.s, m!, vpn)?.pte;
    if (!pte || pte.huge || pte.swap !== undefined) return null; // a swap entry: nothing mapped there to reclaim
    if (k.s.frames[pte.pfn]!.lazyfree) return { folio: pte.pfn, anon: true };
    // a swap-backed folio: only with a swap device (folio_alloc_swap() fails without one); folio_trylock()
    if (!k.s.swap || pte.migration || isZeroPfn(k.s, pte.pfn) || k.s.frames[pte.pfn]!.locked) return null;
    return { folio: pte.pfn, anon: true, swapbacked: true };
  }
  if (!v || v.kind !== 'shared' || !v.file) return null;
  const f = k.s.files[v.file];
  if (!f || f.anonymous || f.hugetlb) return null;
  const index = v.pgoff + (vpn - v.start);
  const folio = f.cache[index];
  // folio_trylock() fails for a folio migration holds (paths/migrate.ts): goto keep
  return folio === null || folio === undefined || k.s.frames[folio]!.locked ? null : { file: f.name, index, folio };
}

export const shrinkFolioList: StepDef<ReclaimCtx>[] = [
  step('shrink_folio_list.isolate', function* (k, c) {
    const found = folioAt(k, c.mm, c.vpn);
    if (!found) {
      yield { id: 'shrink_folio_list.nothing_to_reclaim' };
      return STOP_STEP;
    }
    Object.assign(c, found);
    c.freeFolios = [];
    getPage(k.s, c.folio!); // folio_isolate_lru(): the isolation reference
    if (c.swapbacked) k.s.frames[c.folio!]!.locked = true; // folio_trylock()
    yield { id: 'shrink_folio_list.isolate' };
  }),
  // an anonymous swap-backed folio not yet in the swap cache: folio_alloc_swap(), folio_mark_dirty()
  step('shrink_folio_list.folio_alloc_swap', function* (k, c) {
    if (!c.swapbacked) return;
    const f = k.s.frames[c.folio!]!;
    if (f.swapSlot !== undefined) return; // folio_test_swapcache(): swapped in and not freed from the cache
    folioAllocSwap(k.s, f.pfn);
    f.dirty = true; // folio_mark_dirty()
    yield { id: 'folio_alloc_swap' };
  }),
  // try_to_unmap() -> rmap_walk_anon() for a lazyfree anonymous folio
  step('try_to_unmap.rmap_walk_anon', function* (k, c) {
    if (!c.anon) return;
    // folio_lock_anon_vma_read(); the anon_vma's VMAs: every mm mapping the folio at this address
    // (fork keeps addresses). munmap's unlink_anon_vmas() does not take the lock in the model (it
    // changes no trace of file reclaim either); each PTE is rechecked under its PTL (page_vma_mapped_walk)
    yield* lock(k, anonVmaLock(c.mm), 'r', 'rmap_walk_anon.anon_vma_lock_read');
    const vmas: TryToUnmapOneCtx[] = [];
    // PageAnonExclusive() (model: the folio is mapped once when the walk starts): the swap entries carry it (pte_swp_mkexclusive())
    const exclusive = c.swapbacked ? k.s.frames[c.folio!]!.mapcount === 1 : undefined;
    for (const m of Object.values(k.s.mms).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      if (m.vmas.some((v) => v.kind === 'anon' && c.vpn >= v.start && c.vpn < v.end)) vmas.push({ mm: m.id, vpn: c.vpn, folio: c.folio!, anon: true, ...(c.swapbacked ? { swapbacked: true, exclusive } : {}) });
    }
    for (const u of vmas) {
      if (k.s.frames[c.folio!]!.mapcount === 0) break; // rmap_walk's done(): folio_not_mapped()
      yield* k.run('try_to_unmap_one', u);
      if (u.abort) break; // try_to_unmap_one() returned false: rmap_walk stops
    }
    yield* unlock(k, anonVmaLock(c.mm), 'rmap_walk_anon.anon_vma_unlock_read');
  }),
  // try_to_unmap() -> rmap_walk_file()
  step('try_to_unmap.rmap_walk_file', function* (k, c) {
    if (c.anon) return;
    yield* lock(k, iMmapRwsem(c.file!), 'r', 'rmap_walk_file.i_mmap_lock_read');
    // vma_interval_tree_foreach(): the VMAs of i_mmap covering the index, in mm order
    const vmas: TryToUnmapOneCtx[] = [];
    for (const m of Object.values(k.s.mms).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      for (const v of m.vmas) {
        if (v.kind !== 'shared' || v.file !== c.file || c.index! < v.pgoff || c.index! >= v.pgoff + (v.end - v.start)) continue;
        vmas.push({ mm: m.id, vpn: v.start + (c.index! - v.pgoff), folio: c.folio! });
      }
    }
    for (const u of vmas) {
      if (k.s.frames[c.folio!]!.mapcount === 0) break; // rmap_walk's done(): folio_not_mapped()
      yield* k.run('try_to_unmap_one', u);
    }
    yield* unlock(k, iMmapRwsem(c.file!), 'rmap_walk_file.i_mmap_unlock_read');
  }),
  step('shrink_folio_list.folio_mapped', function* (k, c) {
    const f = k.s.frames[c.folio!]!;
    if (f.mapcount > 0) c.keep = true; // activate_locked: mapped again meanwhile (or a lazyfree folio kept, or an anonymous one still mapped)
    else if (f.dirty && !c.anon) c.keep = true; // activate_locked, folio_set_reclaim(): the flusher writes it back (6b0dfabb3555)
    if (c.keep) yield { id: 'shrink_folio_list.activate_locked' };
  }),
  // step 4': a dirty swap-backed folio: flush a deferred writable entry before the write starts
  step('shrink_folio_list.try_to_unmap_flush_dirty', function* (k, c) {
    if (c.keep || !c.swapbacked || !k.s.frames[c.folio!]!.dirty) return;
    const ubc = tlbUbcOf(k);
    c.writableBatch = ubc.flushRequired && ubc.writable;
    yield* k.run('try_to_unmap_flush', { dirtyOnly: true });
  }),
  step('shrink_folio_list.pageout', function* (k, c) {
    if (c.keep || !c.swapbacked) return;
    const f = k.s.frames[c.folio!]!;
    if (!f.dirty) return;
    f.dirty = false; // folio_clear_dirty_for_io()
    k.s.swap!.slots[f.swapSlot!]!.content = f.content; // swap_writeout(): the write, completed here
    yield { id: c.writableBatch ? 'swap_writeout.after_flush_dirty' : 'swap_writeout' };
  }),
  step('__remove_mapping', function* (k, c) {
    if (c.keep) return;
    const f = k.s.frames[c.folio!]!;
    if (c.swapbacked) {
      // folio_ref_freeze(folio, 1 + folio_nr_pages()): the isolation and swap-cache references
      if (f.refcount !== 2) {
        c.keep = true; // keep_locked
        yield { id: '__remove_mapping.ref_freeze_failed' };
        return;
      }
      f.refcount = 0;
      swapCacheDelFolio(k.s, f.pfn); // __swap_cache_del_folio(), put_swap_folio()
      delete f.locked; // folio_unlock()
      c.freeFolios!.push(c.folio!);
      yield { id: '__remove_mapping.swapcache' };
      return;
    }
    if (c.anon) {
      // folio_test_anon() && !folio_test_swapbacked(): folio_ref_freeze(folio, 1), the isolation reference alone
      if (f.refcount !== 1) {
        c.keep = true; // keep_locked
        yield { id: 'shrink_folio_list.lazyfree_ref_freeze_failed' };
        return;
      }
      f.refcount = 0;
      c.freeFolios!.push(c.folio!);
      yield { id: 'shrink_folio_list.lazyfree_freed' }; // PGLAZYFREED
      return;
    }
    if (f.refcount !== 2) {
      c.keep = true; // folio_ref_freeze() failed: someone else holds a reference
      yield { id: '__remove_mapping.ref_freeze_failed' };
      return;
    }
    f.refcount = 0; // folio_ref_freeze(folio, 2): the page-cache and isolation references
    k.s.files[c.file!]!.cache[c.index!] = null; // __filemap_remove_folio()
    c.freeFolios!.push(c.folio!);
    yield { id: '__remove_mapping' };
  }),
  step('shrink_folio_list.try_to_unmap_flush', function* (k, c) {
    if (c.keep && c.swapbacked) delete k.s.frames[c.folio!]!.locked; // keep_locked: folio_unlock() before the batch flush
    yield* k.run('try_to_unmap_flush', { dirtyOnly: false });
  }),
  step('free_unref_folios', function* (k, c) {
    for (const p of c.freeFolios!) freeFrame(k.s, k.s.frames[p]!);
    if (c.keep) putPage(k.s, c.folio!); // folio_putback_lru(): drop the isolation reference
    yield { id: c.freeFolios!.length > 0 ? 'free_unref_folios' : 'shrink_folio_list.putback' };
  }),
];
