// Migration of one folio: move_pages(2) with MPOL_MF_MOVE_ALL on the page
// the caller's address names (`migrate ADDR`; mm/migrate.c
// add_folio_for_migration(), do_move_pages_to_node()), then migrate_pages()
// in MIGRATE_SYNC mode, which migrate_pages_sync() first tries as a
// MIGRATE_ASYNC batch (2ef7dbb26990, "migrate_pages: try migrate in batch
// asynchronously firstly") and retries synchronously if that fails:
//
//   1. add_folio_for_migration(): mmap_read_lock(); the folio a present PTE
//      (PROT_NONE included: pte_present()) maps at the address (none, a
//      migration entry, the zero page, a hugetlb page: nothing to do); folio_isolate_lru() takes the
//      isolation reference (fails if another migration isolated it first);
//      mmap_read_unlock(). Through an mshare window (knob migrate) the PTE
//      is found through the sharer's link and the folio's mapping is the
//      host's inner VMA; step 3's rmap walk then visits the host only.
//   2. migrate_folio_unmap(): folio_ref_count() == 1 (everyone else let go
//      meanwhile): done, migrate_folio_done() frees it. Else allocate the
//      destination folio; folio_trylock(src) (ASYNC: give up if locked,
//      SYNC: folio_lock() waits); folio_trylock(dst).
//   3. try_to_migrate(src, ASYNC ? TTU_BATCH_FLUSH : 0): rmap_walk_file()
//      under i_mmap_rwsem or rmap_walk_anon() under the anon_vma lock,
//      try_to_migrate_one() (try_to_migrate_one.ts) for every mapping, in
//      every mm. Still folio_mapped() (a fault mapped it again): undo.
//   4. migrate_pages_batch() "Flush TLBs for all unmapped folios":
//      try_to_unmap_flush() (tlbbatch.ts step 3), before any folio moves.
//   5. migrate_folio_move() -> move_to_new_folio() -> __migrate_folio():
//      folio_ref_count() must be the expected count (the isolation
//      reference, plus the page cache's for a file folio), else -EAGAIN
//      (a GUP pin, a fault's reference); folio_mc_copy(dst, src);
//      __folio_migrate_mapping(): the page-cache slot now holds dst, the
//      cache's reference moves to it, and the dirty flag.
//   6. remove_migration_ptes(src, dst): rmap walk; remove_migration_pte()
//      under each PTL replaces the migration entry by a PTE to dst
//      (mk_pte(vma->vm_page_prot), writable if the entry was, young and
//      dirty carried), folio_add_*_rmap_pte(), folio_get(). No flush: the
//      entry was not present.
//   7. folio_unlock(dst), folio_put(dst); folio_unlock(src): faults waiting
//      in migration_entry_wait() retry; migrate_folio_done(): folio_put(src)
//      frees the old folio, after the step-4 flush.
//   Undo (steps 3 and 5 failing): remove_migration_ptes(src, src) restores
//   the old PTEs, folio_unlock(src), the destination is freed; then the
//   SYNC retry runs 2-7 once more without TTU_BATCH_FLUSH
//   (ptep_clear_flush() per mapping). If it fails too,
//   putback_movable_pages() drops the isolation reference.
//
// A fault on a migration entry: do_swap_page() -> migration_entry_wait():
// under the PTL the entry is still one; migration_entry_wait_on_locked()
// drops the PTL and sleeps until src is unlocked (step 7); the access is
// retried and finds the new PTE. The ideal memory does not see migration:
// a read after it must return what the old folio held (read-value), and
// the old folio must not be reachable once freed (no-freed-frame-
// reachable). Bounds: one pass of each mode (the kernel retries up to
// NR_MAX_MIGRATE_ASYNC_RETRY / NR_MAX_MIGRATE_SYNC_RETRY times); hugetlb
// and THP folios are not migrated; the NUMA hinting fault does not migrate
// (paths/numa.ts).

import { step, STOP_STEP, type Gen, type K, type StepDef } from '../step.js';
import { anonVmaLock, iMmapRwsem, lock, mmapLock, note, ptlOf, unlock } from '../locks.js';
import { allocFrame, getPage, isZeroPfn, putPage } from '../frames.js';
import { findPte, tableIndex } from '../pagetable.js';
import { LEVELS, span } from '../config.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { findVma } from '../vma.js';
import type { Pte } from '../state.js';
import type { MmId, Pfn } from '../types.js';
import type { TryToMigrateOneCtx } from './try_to_migrate_one.js';
import { isVmHugetlbPage } from './hugetlb.js';
import { sharerWindow, toHost } from '../mshare/msharefs.js';

export interface MigrateCtx {
  /** The caller's mm and the address naming the folio. */
  mm: MmId;
  vpn: number;
  src?: Pfn;
  /** folio->mapping and ->index of a page-cache folio; absent for an anonymous one. */
  file?: string;
  index?: number;
  /** The migration succeeded (MIGRATEPAGE_SUCCESS) or the folio went away by itself. */
  done?: boolean;
}

export interface MigrateBatchCtx {
  mm: MmId;
  src: Pfn;
  file?: string;
  index?: number;
  async: boolean;
  dst?: Pfn;
  /** -EAGAIN or another failure: the folio stays (or goes back) where it was. */
  failed?: boolean;
  /** PAGE_WAS_MAPPED: try_to_migrate() ran, so the undo or move walks the rmap. */
  wasMapped?: boolean;
  done?: boolean;
}

export interface RemoveMigrationPtesCtx {
  mm: MmId;
  src: Pfn;
  /** The folio the entries now map to: dst, or src itself on the undo path. */
  dst: Pfn;
  file?: string;
  index?: number;
}

const rmapLock = (c: { mm: MmId; file?: string }) => (c.file === undefined ? anonVmaLock(c.mm) : iMmapRwsem(c.file));

/**
 * The folio's rmap walk as the kernel's visits it: every (mm, page) whose
 * PTE maps `src` present (`migration` false) or as a migration entry for
 * it (true). rmap_walk_file() visits the VMAs of i_mmap at the folio's
 * index, rmap_walk_anon() the anon_vma's VMAs; a VMA leaves those trees
 * only in free_pgtables() (unlink_file_vma(), unlink_anon_vmas()), after
 * its PTEs were zapped, so munmap's detached VMAs are still visited. The
 * order matters against fork: dup_mmap() links the child's VMA after the
 * parent's (vma_interval_tree_insert_after() for i_mmap; an anon_vma
 * interval-tree insert of an equal key goes right of the parent's), and
 * anon_vma_fork() cannot link it during a walk (the walk holds the rmap
 * lock), so a walk visits a parent before its child: a migration entry
 * fork copies into the child before the walk reaches the parent is found
 * when the walk reaches the child. The model has no anon_vma and no
 * per-file VMA tree: it visits the mms in creation order (ctx_id, a child's
 * is higher than its parent's), choosing the next mm when it gets there,
 * and in each finds the PTEs by walking its tables, then walks them again
 * for entries that moved to an address it has not visited (mremap).
 */
export function* rmapWalk(k: K, src: Pfn, migration: boolean, visit: (u: { mm: MmId; vpn: number }) => Gen<boolean | void>): Gen {
  const s = k.s;
  let last = -1;
  for (;;) {
    const next = Object.values(s.mms).filter((m) => m.ctxId > last).sort((a, b) => a.ctxId - b.ctxId)[0];
    if (!next) return;
    last = next.ctxId;
    // The mm's mappings as the walk reaches it, then any that appeared at another address meanwhile:
    // mremap's move_ptes() (no rmap lock: need_rmap_locks is false) moves an entry into the new VMA,
    // which copy_vma() placed after the old one in rmap order, so the kernel's walk finds it there
    // ("mm: avoid taking rmap locks in move_ptes()", 38a76013ad80). A page seen once is not visited again.
    const seen = new Set<number>();
    for (let vpns = mappingsIn(k, next.id, src, migration); vpns.length > 0; vpns = mappingsIn(k, next.id, src, migration).filter((v) => !seen.has(v))) {
      for (const vpn of vpns) {
        seen.add(vpn);
        if ((yield* visit({ mm: next.id, vpn })) === false) return; // rmap_walk_control.done()
      }
    }
  }
}

/**
 * The pages of `mm` whose PTE maps `src` present (`migration` false) or as
 * a migration entry (true). A sharer's link into an msharefs host's tables
 * is not followed: the rmap lists the host's inner VMA, not the window VMA,
 * which maps the msharefs file (research/mshare.md 3.1), so the host's
 * visit is the only one for a page of the region.
 */
function mappingsIn(k: K, mm: MmId, src: Pfn, migration: boolean): number[] {
  const s = k.s;
  const out: number[] = [];
  const hosts = Object.values(s.mshare).map((f) => f.host);
  const walk = (table: Pfn, level: number, base: number) => {
    const t = s.frames[table]!;
    if (t.state !== 'pagetable' || t.level !== level) return;
    if (t.owner !== mm && t.owner !== null && hosts.includes(t.owner)) return;
    t.entries!.forEach((e, i) => {
      if (!e) return;
      const v = base + i * span(s.config, level);
      if (level > 1) {
        if (!e.huge) walk(e.pfn, level - 1, v);
      } else if (e.pfn === src && !!e.migration === migration) out.push(v);
    });
  };
  walk(s.mms[mm]!.pgd, LEVELS, 0);
  return out;
}

export const migratePages: StepDef<MigrateCtx>[] = [
  step('add_folio_for_migration.mmap_read_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'r', 'add_folio_for_migration.mmap_read_lock');
  }),
  step('add_folio_for_migration.folio_isolate_lru', function* (k, c) {
    const s = k.s;
    const v = findVma(s.mms[c.mm]!, c.vpn);
    // An mshare window (knob migrate): folio_walk_start() walks the sharer's tables through the link;
    // the folio's mapping and index are those of the host's inner VMA, which its rmap lists.
    const win = v?.kind === 'mshare' ? sharerWindow(s, s.mms[c.mm]!, c.vpn) : null;
    const hostVa = win ? toHost(win.file, win.vma.start, c.vpn) : c.vpn;
    const inner = win && k.knob('migrate') === 'host-rmap' ? findVma(s.mms[win.file.host]!, hostVa) : null;
    const e = v && !isVmHugetlbPage(s, v) && (v.kind !== 'mshare' || inner) ? findPte(s, s.mms[c.mm]!, c.vpn)?.pte : null;
    // folio_walk_start(): a present PTE; vm_normal_page() is NULL for the zero page; folio_isolate_lru()
    // fails for a folio off the LRU (another migration holds it: locked, or isolated and not yet locked)
    // model: a swap entry has no folio here; a swap-cache folio is not migrated (moving it in the swap cache is not modelled)
    if (!e || e.migration || e.swap !== undefined || e.huge || isZeroPfn(s, e.pfn) || s.frames[e.pfn]!.locked || s.frames[e.pfn]!.swapSlot !== undefined) {
      yield { id: 'add_folio_for_migration.no_folio' };
    } else {
      c.src = e.pfn;
      const mapping = inner ?? v!;
      if (mapping.kind === 'shared') {
        c.file = mapping.file!;
        c.index = mapping.pgoff + (hostVa - mapping.start);
      }
      getPage(s, c.src); // folio_isolate_lru(): the isolation reference
      yield { id: 'add_folio_for_migration.folio_isolate_lru' };
    }
    yield* unlock(k, mmapLock(c.mm), 'add_folio_for_migration.mmap_read_unlock');
    if (c.src === undefined) return STOP_STEP;
  }),
  // migrate_pages_sync(): the ASYNC batch first (TTU_BATCH_FLUSH), then the folio alone in SYNC mode
  step('migrate_pages_sync.async', function* (k, c) {
    const b: MigrateBatchCtx = { mm: c.mm, src: c.src!, file: c.file, index: c.index, async: true };
    yield* k.run('migrate_pages_batch', b);
    c.done = !b.failed;
  }),
  step('migrate_pages_sync.sync', function* (k, c) {
    if (c.done) return;
    const b: MigrateBatchCtx = { mm: c.mm, src: c.src!, file: c.file, index: c.index, async: false };
    yield* k.run('migrate_pages_batch', b);
    c.done = !b.failed;
  }),
  step('putback_movable_pages', function* (k, c) {
    if (c.done) return STOP_STEP;
    putPage(k.s, c.src!); // folio_putback_lru(): drop the isolation reference
    yield { id: 'putback_movable_pages' };
    return STOP_STEP;
  }),
];

/** migrate_pages_batch() on one folio: unmap, the batched flush, move (steps 2-7 of the header). */
export const migratePagesBatch: StepDef<MigrateBatchCtx>[] = [
  // step 2
  step('migrate_folio_unmap', function* (k, c) {
    const s = k.s;
    const src = s.frames[c.src]!;
    if (src.refcount === 1) {
      // "Folio was freed from under us. So we are done.": migrate_folio_done() drops the last reference
      putPage(s, c.src);
      c.done = true;
      yield { id: 'migrate_folio_unmap.freed_under_us' };
      return STOP_STEP;
    }
    const dst = allocFrame(s, src.lp); // get_new_folio(): it will hold the same page
    dst.locked = true; // folio_trylock(dst): nobody else knows it yet
    c.dst = dst.pfn;
    yield { id: 'migrate_folio_unmap.get_new_folio' };
  }),
  step('migrate_folio_unmap.folio_trylock', function* (k, c) {
    const src = k.s.frames[c.src]!;
    if (src.locked && c.async) {
      c.failed = true; // MIGRATE_ASYNC: goto out, -EAGAIN; migrate_folio_undo_dst() frees the new folio
      k.s.frames[c.dst!]!.locked = undefined;
      putPage(k.s, c.dst!);
      yield { id: 'migrate_folio_unmap.trylock_failed' };
      return;
    }
    if (src.locked) yield { id: 'migrate_folio_unmap.folio_lock', wait: () => !src.locked }; // folio_lock(): sleeps until the other migration unlocks it
    src.locked = true;
    yield { id: 'migrate_folio_unmap.folio_lock' };
  }),
  // step 3: try_to_migrate()
  step('try_to_migrate', function* (k, c) {
    if (c.failed) return;
    const s = k.s;
    if (s.frames[c.src]!.mapcount === 0) return; // !folio_mapped(): nothing to unmap
    c.wasMapped = true;
    yield* lock(k, rmapLock(c), 'r', c.file === undefined ? 'rmap_walk_anon.anon_vma_lock_read' : 'rmap_walk_file.i_mmap_lock_read');
    yield* rmapWalk(k, c.src, false, function* (u) {
      if (s.frames[c.src]!.mapcount === 0) return false; // rmap_walk's done(): folio_not_mapped()
      const t: TryToMigrateOneCtx = { mm: u.mm, vpn: u.vpn, folio: c.src, batch: c.async };
      yield* k.run('try_to_migrate_one', t);
    });
    yield* unlock(k, rmapLock(c), c.file === undefined ? 'rmap_walk_anon.anon_vma_unlock_read' : 'rmap_walk_file.i_mmap_unlock_read');
    if (s.frames[c.src]!.mapcount > 0) {
      c.failed = true; // folio_mapped() still (a fault mapped it again): migrate_folio_unmap()'s out:
      yield { id: 'migrate_folio_unmap.still_mapped' };
      yield* undo(k, c);
    }
  }),
  // step 4
  step('migrate_pages_batch.try_to_unmap_flush', function* (k) {
    yield* k.run('try_to_unmap_flush', { dirtyOnly: false });
  }),
  // step 5: migrate_folio_move() -> move_to_new_folio() -> __migrate_folio()
  step('move_to_new_folio', function* (k, c) {
    if (c.failed) return STOP_STEP;
    const s = k.s;
    const src = s.frames[c.src]!;
    const dst = s.frames[c.dst!]!;
    const expected = 1 + (c.file === undefined ? 0 : 1); // folio_expected_ref_count() + 1: the isolation reference
    if (src.refcount !== expected) {
      c.failed = true; // -EAGAIN: someone else holds a reference; migrate_folio_move()'s out:
      yield { id: 'move_to_new_folio.ref_count_busy' };
      yield* undo(k, c);
      return STOP_STEP;
    }
    dst.content = src.content; // folio_mc_copy()
    if (c.file !== undefined) {
      // __folio_migrate_mapping(): folio_ref_freeze(src), the slot holds dst, the cache's reference moves with it
      s.files[c.file]!.cache[c.index!] = dst.pfn;
      getPage(s, dst.pfn);
      src.refcount--;
    }
    if (src.dirty) dst.dirty = true; // the dirty flag moves (folio_migrate_flags())
    src.dirty = false;
    yield { id: 'move_to_new_folio' };
  }),
  // step 6
  step('migrate_folio_move.remove_migration_ptes', function* (k, c) {
    if (!c.wasMapped) return;
    const r: RemoveMigrationPtesCtx = { mm: c.mm, src: c.src, dst: c.dst!, file: c.file, index: c.index };
    yield* k.run('remove_migration_ptes', r);
  }),
  // step 7
  step('migrate_folio_move.folio_unlock', function* (k, c) {
    const s = k.s;
    s.frames[c.dst!]!.locked = undefined; // folio_unlock(dst)
    putPage(s, c.dst!); // folio_put(dst): its mappings (and the page cache) hold it now
    s.frames[c.src]!.locked = undefined; // folio_unlock(src): wakes migration_entry_wait()
    yield { id: 'migrate_folio_move.folio_unlock' };
  }),
  step('migrate_folio_done', function* (k, c) {
    putPage(k.s, c.src); // folio_put(src): the isolation reference, the last one
    yield { id: 'migrate_folio_done' };
    return STOP_STEP;
  }),
];

/** migrate_folio_undo_src(): the old PTEs back (remove_migration_ptes(src, src)), folio_unlock(src); migrate_folio_undo_dst(): the new folio freed. */
function* undo(k: K, c: MigrateBatchCtx) {
  if (c.wasMapped) yield* k.run('remove_migration_ptes', { mm: c.mm, src: c.src, dst: c.src, file: c.file, index: c.index } satisfies RemoveMigrationPtesCtx);
  const s = k.s;
  s.frames[c.src]!.locked = undefined;
  s.frames[c.dst!]!.locked = undefined;
  putPage(s, c.dst!);
  yield { id: 'migrate_folio_undo_src' };
}

/** remove_migration_ptes(): every migration entry for src, in every mm, replaced by a PTE to dst. */
export const removeMigrationPtes: StepDef<RemoveMigrationPtesCtx>[] = [
  step('remove_migration_ptes.rmap_walk', function* (k, c) {
    yield* lock(k, rmapLock(c), 'r', c.file === undefined ? 'rmap_walk_anon.anon_vma_lock_read' : 'rmap_walk_file.i_mmap_lock_read');
    yield* rmapWalk(k, c.src, true, function* (u) {
      yield* k.run('remove_migration_pte', { ...u, src: c.src, dst: c.dst });
    });
    yield* unlock(k, rmapLock(c), c.file === undefined ? 'rmap_walk_anon.anon_vma_unlock_read' : 'rmap_walk_file.i_mmap_unlock_read');
    return STOP_STEP;
  }),
];

export interface RemoveMigrationPteCtx {
  mm: MmId;
  vpn: number;
  src: Pfn;
  dst: Pfn;
  table?: Pfn;
}

/** remove_migration_pte() for one mapping: page_vma_mapped_walk(PVMW_MIGRATION) under the PTL. */
export const removeMigrationPte: StepDef<RemoveMigrationPteCtx>[] = [
  step('remove_migration_pte.page_vma_mapped_walk', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'remove_migration_pte.pte_offset_map_lock');
    if (t === null) return STOP_STEP; // the table went (munmap zapped the entry, PT_RECLAIM freed it)
    c.table = t;
  }),
  step('remove_migration_pte.set_pte_at', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    const i = tableIndex(s.config, c.vpn, 1);
    const e = t.entries![i];
    // the VMA, or none: munmap detached it and has not zapped yet (its prot then does not matter: the zap follows)
    const v = findVma(s.mms[c.mm]!, c.vpn);
    if (e?.migration && e.pfn === c.src) {
      const f = s.frames[c.dst]!;
      // mk_pte(new, vma->vm_page_prot) (a NUMA hinting PROT_NONE is not restored), pte_mkwrite() for a
      // writable entry whatever vm_page_prot says: mprotect made the entry readable if it had to
      const pte: Pte = { pfn: f.pfn, writable: e.migration === 'write', accessed: e.accessed, dirty: e.dirty, protNone: v ? !v.prot.r : false, ghost: f.allocId };
      t.entries![i] = pte;
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
      f.mapcount++; // folio_add_anon_rmap_pte() / folio_add_file_rmap_pte()
      getPage(s, f.pfn); // folio_get()
      yield { id: 'remove_migration_pte.set_pte_at' };
    }
    yield* unlock(k, ptlOf(t.pfn), 'remove_migration_pte.pte_unmap_unlock');
    return STOP_STEP;
  }),
];

export interface MigrationEntryWaitCtx {
  mm: MmId;
  vpn: number;
}

/** do_swap_page() on a migration entry: migration_entry_wait(); the fault returns 0 and the access is retried. */
export const migrationEntryWait: StepDef<MigrationEntryWaitCtx>[] = [
  step('migration_entry_wait', function* (k, c) {
    const s = k.s;
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'migration_entry_wait.pte_offset_map_lock');
    if (t === null) return STOP_STEP;
    const e = s.frames[t]!.entries![tableIndex(s.config, c.vpn, 1)];
    yield* unlock(k, ptlOf(t), 'migration_entry_wait.pte_unmap_unlock');
    if (!e?.migration) return STOP_STEP; // no longer a migration entry: retry at once
    // migration_entry_wait_on_locked(): the PTL is dropped and the task sleeps until the folio is unlocked
    const f = s.frames[e.pfn]!;
    const alloc = f.allocId;
    if (f.locked) yield { id: 'migration_entry_wait.woken', wait: () => !f.locked || f.allocId !== alloc };
    yield { id: 'migration_entry_wait.woken' };
    return STOP_STEP;
  }),
];
