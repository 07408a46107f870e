// try_to_migrate_one() (mm/rmap.c) for one mapping of the folio under
// migration, from try_to_migrate()'s rmap walk (paths/migrate.ts step 3),
// with TTU_BATCH_FLUSH as migrate_folio_unmap() passes it in MIGRATE_ASYNC
// mode (7e12beb8ca2a, "migrate_pages: batch flushing TLB", Huang Ying,
// 2023) and without it in the synchronous retry:
//
//   1. mmu_notifier_range_init_owner(MMU_NOTIFY_MIGRATE, the page in this
//      VMA); mmu_notifier_invalidate_range_start(), before any PTE changes.
//   2. page_vma_mapped_walk(): map_pte() takes the PTE table's PTL,
//      check_pte() looks at the entry (a step of its own: the clear below
//      is a later access); not mapped here (none, another folio, already a
//      migration entry): done.
//   3. Under the PTL, "Nuke the page table entry": if should_defer_flush()
//      ptep_get_and_clear() and set_tlb_ubc_flush_pending() (tlbbatch.ts
//      step 2, nothing if !pte_accessible()), else ptep_clear_flush():
//      clear, and flush_tlb_page() if pte_accessible(). pte_accessible()
//      counts a PROT_NONE (NUMA hinting) PTE as accessible while the mm has
//      a flush pending (20841405940e, "mm: fix TLB flush race between
//      migration, and change_protection_range", Rik van Riel, 2013): the
//      NUMA scan's own flush has not run yet, so a CPU may still hold the
//      entry it had before the scan.
//   4. folio_mark_dirty() if the PTE was dirty; set_pte_at() a migration
//      entry, writable if the PTE was (make_writable_migration_entry()),
//      else readable; folio_remove_rmap_pte(); folio_put() (the mapping's
//      reference). The entry holds neither.
//   5. page_vma_mapped_walk_done(): unlock the PTL.
//   6. mmu_notifier_invalidate_range_end().
//
// With the flush deferred (step 3), another CPU may still read and write
// the old folio through its TLB until try_to_unmap_flush() (migrate.ts step
// 4), which comes before the copy: a write in that window lands in the old
// folio and is copied. Guarded by read-value (a write after the copy is
// lost) and no-freed-frame-reachable (the old folio freed while a TLB entry
// still maps it).

import { step, STOP_STEP, type K, type StepDef } from '../step.js';
import { note, ptlOf, unlock } from '../locks.js';
import { tableIndex } from '../pagetable.js';
import { putPage } from '../frames.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { MmId, Pfn } from '../types.js';
import type { Pte } from '../state.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import { pteAccessible, setTlbUbcFlushPending, shouldDeferFlush } from './tlbbatch.js';

export interface TryToMigrateOneCtx {
  mm: MmId;
  vpn: number;
  folio: Pfn;
  /** TTU_BATCH_FLUSH: migrate_folio_unmap() in MIGRATE_ASYNC mode. */
  batch: boolean;
  table?: Pfn;
  flushNow?: boolean;
  /** pte_accessible() of the cleared PTE: nothing to flush, now or batched, if not. */
  accessible?: boolean;
  /** The PTE step 3 cleared (for this folio). */
  pteval?: Pte;
}

/** Steps 3-4 after the clear: the migration entry in place of the present PTE `e`, the rmap and reference dropped. */
export function setMigrationEntry(k: K, c: TryToMigrateOneCtx, t: { entries: (Pte | null)[] | null; pfn: Pfn }, i: number, e: Pte): void {
  const f = k.s.frames[c.folio]!;
  if (e.dirty) f.dirty = true; // folio_mark_dirty()
  // make_writable_migration_entry() / make_readable_migration_entry(), young and dirty carried
  t.entries![i] = { ...e, protNone: true, migration: e.writable ? 'write' : 'read' };
  note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
  f.mapcount--; // folio_remove_rmap_pte()
  putPage(k.s, c.folio); // folio_put(): the isolation reference keeps it allocated
}

export const tryToMigrateOne: StepDef<TryToMigrateOneCtx>[] = [
  step('try_to_migrate_one.mmu_notifier_invalidate_range_start', function* (k, c) {
    yield* k.run('mmu_notifier_invalidate_range_start', { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'MIGRATE' });
  }),
  step('try_to_migrate_one.page_vma_mapped_walk', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'try_to_migrate_one.pte_offset_map_lock');
    c.table = t ?? undefined;
    // check_pte(): the walk returns with the PTL held and the PTE seen; the clear (step 3) is a
    // later load. Whoever moves the table without this PTL (move_normal_pmd(), which excludes the
    // walk only by the rmap lock, 97113eb39fa7) can run in between.
    if (t !== null) yield { id: 'try_to_migrate_one.check_pte' };
  }),
  // step 3: ptep_get_and_clear() + set_tlb_ubc_flush_pending(), or ptep_clear_flush()
  step('try_to_migrate_one.ptep_get_and_clear', function* (k, c) {
    if (c.table === undefined) return;
    const t = k.s.frames[c.table]!;
    const i = tableIndex(k.s.config, c.vpn, 1);
    const e = t.entries![i];
    if (!e || e.pfn !== c.folio || e.huge || e.migration) {
      yield { id: 'try_to_migrate_one.not_mapped' };
      return;
    }
    t.entries![i] = null; // ptep_get_and_clear()
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    const defer = c.batch && shouldDeferFlush(k, c.mm);
    // pte_accessible(): present, or PROT_NONE while a flush is pending (20841405940e)
    c.accessible = !e.protNone || k.decide('pte_accessible.mm_tlb_flush_pending', pteAccessible(k, c.mm, e), { mm: c.mm, vpn: c.vpn });
    c.flushNow = !defer && c.accessible;
    c.pteval = e;
    yield { id: 'try_to_migrate_one.ptep_get_and_clear' };
  }),
  step('try_to_migrate_one.set_tlb_ubc_flush_pending', function* (k, c) {
    if (c.pteval && c.accessible && !c.flushNow && c.batch) yield* setTlbUbcFlushPending(k, c.mm, c.pteval, true, 'try_to_migrate_one.set_tlb_ubc_flush_pending');
  }),
  // ptep_clear_flush()'s flush_tlb_page(): before the migration entry is set and the PTL goes
  step('try_to_migrate_one.flush_tlb_page', function* (k, c) {
    if (!c.flushNow) return;
    const f: FlushCtx = { mm: c.mm, start: c.vpn, end: c.vpn + 1, stride: 1, freedTables: false };
    yield* k.run('flush_tlb_mm_range', f);
  }),
  step('try_to_migrate_one.set_pte_at', function* (k, c) {
    if (!c.pteval) return;
    const t = k.s.frames[c.table!]!;
    setMigrationEntry(k, c, t, tableIndex(k.s.config, c.vpn, 1), c.pteval);
    yield { id: 'try_to_migrate_one.set_pte_at' };
  }),
  step('try_to_migrate_one.page_vma_mapped_walk_done', function* (k, c) {
    if (c.table === undefined) return;
    yield* unlock(k, ptlOf(c.table), 'try_to_migrate_one.pte_unmap_unlock');
  }),
  step('try_to_migrate_one.mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* k.run('mmu_notifier_invalidate_range_end', { mm: c.mm, start: c.vpn, end: c.vpn + 1, event: 'MIGRATE' });
    return STOP_STEP;
  }),
];
