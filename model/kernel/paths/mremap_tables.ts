// move_page_tables() (mm/mremap.c) for one VMA piece of an mremap, mmap_lock
// held for write, the source VMA and the new VMA write-locked (mremap.ts):
//
//   1. try_realign_addr(): when the piece starts inside a PMD's range, both
//      addresses are equally aligned, the piece reaches the next PMD
//      boundary and no VMA lies below either start in that PMD's range
//      (can_align_down()), start both at the PMD boundary so the first PMD
//      moves whole (af8ca1c14906).
//   2. mmu_notifier_invalidate_range_start(MMU_NOTIFY_UNMAP, source range):
//      secondary MMUs drop the source range before any entry moves.
//   3. Per extent (get_extent(): up to the next boundary of either address):
//      a. A PUD-sized extent: move_pgt_entry(NORMAL_PUD) -> take_rmap_locks()
//         (should_take_rmap_locks(): always for NORMAL_PUD / NORMAL_PMD since
//         97113eb39fa7, CVE-2022-41222), move_normal_pud(): pud_lock() of both
//         (x86: mm->page_table_lock, one lock), pud_clear(old),
//         pud_populate(new), flush_tlb_range(old PUD range) before the lock
//         goes; drop_rmap_locks(). A target entry already there: WARN, fall
//         back to the next level.
//      b. A PMD-sized extent: the same with move_normal_pmd(): pmd_lock() of
//         the old PMD table, the new one's nested; the old entry rechecked
//         under the lock (6fa1066fc5d0: a racing collapse); pmd_clear(old),
//         pmd_populate(new), flush_tlb_range(old PMD range), unlock.
//      c. Otherwise, if the old PMD entry maps a PTE table: pte_alloc() at
//         the target, then move_ptes(): the old PTL, the new PTL nested
//         (spin_lock_nested() when they differ), flush_tlb_batched_pending()
//         (3ea277194daa: reclaim may have left this mm's flush batched),
//         get_and_clear_full_ptes() + set_ptes() per entry, and if any moved
//         entry was present flush_tlb_range() of the old range BEFORE either
//         PTL is released (eb66ae030829, "mremap: properly flush TLB before
//         releasing the page", CVE-2018-18281): "the old one for racing with
//         folio_mkclean(), the new one to make sure the physical page stays
//         valid until the TLB entry for the old mapping has been flushed".
//   4. mmu_notifier_invalidate_range_end().
//
// A moved page keeps its references and mapcount (mremap does not own the
// page: the PTLs do). Inside the call a CPU may still reach the page through
// its old address (a TLB entry, or a PSC entry onto a moved table) until the
// step-3 flush: allowed, the call has not returned and the page is the same
// one. The flushes are x86 flush_tlb_range(), which passes freed_tables =
// true (arch/x86/include/asm/tlbflush.h; since 3ef938c35035 "x86/mm: Fix
// flush_tlb_range() when used for zapping normal PMDs", Jann Horn; in 5.10 stable):
// lazy CPUs are sent the IPI too. Guarded by unmap-complete (the source range),
// read-value (the data at the target), no-freed-frame-reachable and
// lock-discipline (PTE writes under both PTLs, PMD entries under the PMD
// locks).

import { step, STOP_STEP, type StepDef } from '../step.js';
import type { K } from '../step.js';
import { anonVmaLock, iMmapRwsem, lock, note, pageTableLock, pmdLock, ptlOf, unlock } from '../locks.js';
import { span } from '../config.js';
import { findTable, tableIndex } from '../pagetable.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import type { Frame } from '../state.js';
import type { MmId, Pfn } from '../types.js';
import type { FaultCtx } from './fault.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import type { NotifierCtx } from './notifier.js';
import { flushTlbBatchedPending } from './flush_tlb_batched_pending.js';

/** struct pagetable_move_control, with what take_rmap_locks() needs of the source VMA. */
export interface MovePageTablesCtx {
  mm: MmId;
  opId: string;
  oldAddr: number;
  newAddr: number;
  oldEnd: number;
  lenIn: number;
  /** The source VMA's file (i_mmap_lock_write) and whether it is anonymous (anon_vma_lock_write). */
  file: string | null;
  anon: boolean;
  /** vm_start of the source VMA and of the new VMA (can_align_down()). */
  oldStart: number;
  newStart: number;
  range?: NotifierCtx;
}

/** One move_pgt_entry() / move_normal_p?d() / move_ptes() call. */
export interface MoveEntryCtx {
  mm: MmId;
  opId: string;
  oldAddr: number;
  newAddr: number;
  extent: number;
  /** 2: move_normal_pmd, 3: move_normal_pud (the level of the table the entry is in). */
  level?: 2 | 3;
  file: string | null;
  /** The source VMA is anonymous: take_rmap_locks() takes its anon_vma lock too. */
  anon?: boolean;
  /** The anon_vma locks take_rmap_locks() took, for drop_rmap_locks(). */
  anonLocks?: string[];
  moved?: boolean;
  oldTable?: Pfn;
  newTable?: Pfn;
  oldLock?: string;
  newLock?: string;
  forceFlush?: boolean;
}

/** get_extent(): from oldAddr up to the next `size` boundary of either address, at most to oldEnd. */
function getExtent(size: number, oldAddr: number, newAddr: number, oldEnd: number): number {
  const next = (a: number) => Math.floor((a + size) / size) * size;
  return Math.min(next(oldAddr) - oldAddr, oldEnd - oldAddr, next(newAddr) - newAddr);
}

/** can_align_down(): addr is its VMA's start and no VMA lies in [addr & mask, addr). */
function canAlignDown(k: K, mm: MmId, vmStart: number, addr: number, size: number): boolean {
  if (vmStart !== addr) return false;
  const masked = addr - (addr % size);
  return !k.s.mms[mm]!.vmas.some((v) => v.start < addr && v.end > masked); // find_vma_intersection()
}

/** try_realign_addr(pmc, PMD_MASK) -> can_realign_addr(). */
function tryRealignAddr(k: K, c: MovePageTablesCtx): void {
  const size = span(k.s.config, 2);
  const oldAlign = c.oldAddr % size;
  if (c.lenIn < size - oldAlign || oldAlign === 0 || oldAlign !== c.newAddr % size) return;
  if (!canAlignDown(k, c.mm, c.oldStart, c.oldAddr, size) || !canAlignDown(k, c.mm, c.newStart, c.newAddr, size)) return;
  c.oldAddr -= oldAlign;
  c.newAddr -= oldAlign;
}

/** The entry at `level` covering `v` (null: none, or no table holding it): get_old_pud() / get_old_pmd(). */
function entryAt(k: K, mm: MmId, v: number, level: number): { table: Frame; i: number } | null {
  const t = findTable(k.s, k.s.mms[mm]!, v, level);
  if (!t) return null;
  const i = tableIndex(k.s.config, v, level);
  return t.entries![i] ? { table: t, i } : null;
}

export const movePageTables: StepDef<MovePageTablesCtx>[] = [
  step('move_page_tables.mmu_notifier_invalidate_range_start', function* (k, c) {
    tryRealignAddr(k, c);
    c.range = { mm: c.mm, start: c.oldAddr, end: c.oldEnd, event: 'UNMAP' };
    yield* k.run('mmu_notifier_invalidate_range_start', c.range);
  }),
  step('move_page_tables.move', function* (k, c) {
    const cf = k.s.config;
    for (let extent = 0; c.oldAddr < c.oldEnd; c.oldAddr += extent, c.newAddr += extent) {
      extent = getExtent(span(cf, 3), c.oldAddr, c.newAddr, c.oldEnd);
      if (!entryAt(k, c.mm, c.oldAddr, 3)) continue; // get_old_pud(): pud_none
      yield* allocNew(k, c.mm, c.newAddr, 3); // alloc_new_pud()
      if (extent === span(cf, 3)) {
        const m: MoveEntryCtx = { mm: c.mm, opId: c.opId, oldAddr: c.oldAddr, newAddr: c.newAddr, extent, level: 3, file: c.file, anon: c.anon };
        yield* k.run('move_pgt_entry', m);
        if (m.moved) continue;
      }
      extent = getExtent(span(cf, 2), c.oldAddr, c.newAddr, c.oldEnd);
      if (!entryAt(k, c.mm, c.oldAddr, 2)) continue; // get_old_pmd(): pmd_none
      yield* allocNew(k, c.mm, c.newAddr, 2); // alloc_new_pmd()
      if (extent === span(cf, 2)) {
        const m: MoveEntryCtx = { mm: c.mm, opId: c.opId, oldAddr: c.oldAddr, newAddr: c.newAddr, extent, level: 2, file: c.file, anon: c.anon };
        yield* k.run('move_pgt_entry', m);
        if (m.moved) continue;
      }
      if (!entryAt(k, c.mm, c.oldAddr, 2)) continue;
      yield* allocNew(k, c.mm, c.newAddr, 1); // pte_alloc(new_vma->vm_mm, new_pmd)
      const m: MoveEntryCtx = { mm: c.mm, opId: c.opId, oldAddr: c.oldAddr, newAddr: c.newAddr, extent, file: c.file };
      yield* k.run('move_ptes', m);
    }
  }),
  step('move_page_tables.mmu_notifier_invalidate_range_end', function* (k, c) {
    yield* k.run('mmu_notifier_invalidate_range_end', c.range!);
  }),
];

/** p4d_alloc/pud_alloc, pmd_alloc, pte_alloc at the target: the table of `level` covering `v`. */
function* allocNew(k: K, mm: MmId, v: number, level: number) {
  for (let l = 3; l >= level; l--) {
    const f: FaultCtx = { mm, vpn: v, write: false, level: l };
    yield* k.run('__pte_alloc', f);
  }
}

// move_pgt_entry(): take_rmap_locks() (i_mmap_lock_write of the VMA's file,
// then anon_vma_lock_write() of an anonymous VMA), the move,
// drop_rmap_locks() in the reverse order. Without them an rmap walker that
// holds the moved table's PTL (migration's try_to_migrate_one(), which
// found the PTE at the old address) clears the entry after the move and
// flushes only the old address (97113eb39fa7, CVE-2022-41222).
// The kernel's anon_vma lock is the root anon_vma's, one for a process and
// the children that inherited the VMA; the model names it by mm (the caller
// of reclaim's or migration's rmap_walk_anon(), whose walk visits every mm)
// and keeps no fork tree, so the write side takes the lock of every mm, in
// creation order: it excludes every walk that could reach this VMA's pages
// (and, beyond the kernel, the walks of unrelated processes, which share no
// anonymous page with it).
const anonVmaLocks = (k: K) => Object.values(k.s.mms).sort((a, b) => a.ctxId - b.ctxId).map((m) => anonVmaLock(m.id));

export const movePgtEntry: StepDef<MoveEntryCtx>[] = [
  step('move_pgt_entry.take_rmap_locks', function* (k, c) {
    if (c.file !== null) yield* lock(k, iMmapRwsem(c.file), 'w', 'take_rmap_locks.i_mmap_lock_write');
    if (c.anon) for (const l of (c.anonLocks = anonVmaLocks(k))) yield* lock(k, l, 'w', 'take_rmap_locks.anon_vma_lock_write');
  }),
  step('move_pgt_entry.move', function* (k, c) {
    yield* k.run(c.level === 3 ? 'move_normal_pud' : 'move_normal_pmd', c);
  }),
  step('move_pgt_entry.drop_rmap_locks', function* (k, c) {
    for (const l of [...(c.anonLocks ?? [])].reverse()) yield* unlock(k, l, 'drop_rmap_locks.anon_vma_unlock_write');
    if (c.file !== null) yield* unlock(k, iMmapRwsem(c.file), 'drop_rmap_locks.i_mmap_unlock_write');
  }),
];

/** move_normal_pmd() (level 2) and move_normal_pud() (level 3): one path each, the same steps. */
function moveNormal(name: 'move_normal_pmd' | 'move_normal_pud', level: 2 | 3): StepDef<MoveEntryCtx>[] {
  const what = level === 2 ? 'pmd' : 'pud';
  return [
    step(`${name}.lock`, function* (k, c) {
      const n = entryAt(k, c.mm, c.newAddr, level);
      if (n) {
        yield { id: `${name}.target_not_none` }; // WARN_ON_ONCE(!p?d_none(*new_p?d)): try the next level
        return STOP_STEP;
      }
      const mm = k.s.mms[c.mm]!;
      c.oldTable = findTable(k.s, mm, c.oldAddr, level)!.pfn;
      c.newTable = findTable(k.s, mm, c.newAddr, level)!.pfn;
      // pmd_lock() / pmd_lockptr(): the PMD tables' split locks; pud_lock(): x86 has mm->page_table_lock only
      c.oldLock = level === 2 ? pmdLock(c.oldTable) : pageTableLock(c.mm);
      c.newLock = level === 2 ? pmdLock(c.newTable) : pageTableLock(c.mm);
      yield* lock(k, c.oldLock, 'w', `${name}.${what}_lock`);
      if (c.newLock !== c.oldLock) yield* lock(k, c.newLock, 'w', `${name}.spin_lock_nested`);
    }),
    step(`${name}.${what}_clear`, function* (k, c) {
      const s = k.s;
      const t = s.frames[c.oldTable!]!;
      const i = tableIndex(s.config, c.oldAddr, level);
      const e = t.entries![i];
      if (!e || e.huge) return; // racing with collapse (6fa1066fc5d0): out_unlock, not moved
      // the old address no longer maps what the moved table holds
      const op = s.ghost.ops[c.opId];
      const moved = s.frames[e.pfn]!;
      if (op) for (const [v, leaf] of leaves(k, moved, c.oldAddr, level)) op.zapped.push({ vpn: v, ghost: leaf, at: ++s.ghost.clock });
      t.entries![i] = null;
      note(k, 'upper-clear', c.mm, `${what} entry for table ${e.pfn} (mremap)`);
      c.moved = true;
      yield { id: `${name}.${what}_clear` };
      const nt = s.frames[c.newTable!]!;
      nt.entries![tableIndex(s.config, c.newAddr, level)] = e;
      note(k, 'upper-populate', c.mm, `${what} entry for table ${e.pfn} (mremap)`, nt.pfn);
      yield { id: `${name}.${what}_populate` };
    }),
    step(`${name}.flush_tlb_range`, function* (k, c) {
      if (!c.moved) return;
      const f: FlushCtx = { mm: c.mm, start: c.oldAddr, end: c.oldAddr + span(k.s.config, level), stride: 1, freedTables: true }; // x86 flush_tlb_range()
      yield* k.run('flush_tlb_mm_range', f);
    }),
    step(`${name}.spin_unlock`, function* (k, c) {
      if (c.newLock !== c.oldLock) yield* unlock(k, c.newLock!, `${name}.spin_unlock_nested`);
      yield* unlock(k, c.oldLock!, `${name}.spin_unlock`);
    }),
  ];
}

/** Every present leaf under the table `t` of `level - 1` that the entry at `base` linked: [vpn, ghost]. */
function leaves(k: K, t: Frame, base: number, level: number): [number, number][] {
  const out: [number, number][] = [];
  const walk = (f: Frame, at: number, l: number) => {
    f.entries!.forEach((e, i) => {
      if (!e) return;
      const v = at + i * span(k.s.config, l);
      if (l === 1) out.push([v, e.ghost]);
      else if (k.s.frames[e.pfn]!.entries) walk(k.s.frames[e.pfn]!, v, l - 1);
    });
  };
  walk(t, base, level - 1);
  return out;
}

export const moveNormalPmd = moveNormal('move_normal_pmd', 2);
export const moveNormalPud = moveNormal('move_normal_pud', 3);

export const movePtes: StepDef<MoveEntryCtx>[] = [
  step('move_ptes.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.oldAddr, 'move_ptes.pte_offset_map_lock');
    if (t === null) return STOP_STEP; // -EAGAIN: cannot happen under the write lock (no PT_RECLAIM, no collapse)
    c.oldTable = t;
    c.oldLock = ptlOf(t);
  }),
  // pte_offset_map_rw_nolock() on the new PMD, then spin_lock_nested(new_ptl) when it is another lock
  step('move_ptes.spin_lock_nested', function* (k, c) {
    c.newTable = findTable(k.s, k.s.mms[c.mm]!, c.newAddr, 1)!.pfn;
    c.newLock = ptlOf(c.newTable);
    if (c.newLock !== c.oldLock) yield* lock(k, c.newLock, 'w', 'move_ptes.spin_lock_nested');
  }),
  step('move_ptes.flush_tlb_batched_pending', function* (k, c) {
    yield* flushTlbBatchedPending(k, c.mm);
  }),
  step('move_ptes.move_pte', function* (k, c) {
    const s = k.s;
    const from = s.frames[c.oldTable!]!;
    const to = s.frames[c.newTable!]!;
    const op = s.ghost.ops[c.opId];
    for (let d = 0; d < c.extent; d++) {
      const i = tableIndex(s.config, c.oldAddr + d, 1);
      const e = from.entries![i];
      if (!e) continue;
      if (k.decide('move_ptes.force_flush', true, { vpn: c.oldAddr + d, dirty: e.dirty })) c.forceFlush = true; // pte_present(): x86 counts a PROT_NONE entry as present
      from.entries![i] = null; // get_and_clear_full_ptes()
      note(k, 'pte-write', c.mm, `pte ${c.oldAddr + d}`, from.pfn);
      op?.zapped.push({ vpn: c.oldAddr + d, ghost: e.ghost, at: ++s.ghost.clock });
      to.entries![tableIndex(s.config, c.newAddr + d, 1)] = e; // set_ptes(): A and D come along
      note(k, 'pte-write', c.mm, `pte ${c.newAddr + d}`, to.pfn);
      yield { id: 'move_ptes.set_ptes' };
    }
  }),
  step('move_ptes.flush_tlb_range', function* (k, c) {
    if (!c.forceFlush) return;
    const f: FlushCtx = { mm: c.mm, start: c.oldAddr, end: c.oldAddr + c.extent, stride: 1, freedTables: true }; // x86 flush_tlb_range()
    yield* k.run('flush_tlb_mm_range', f);
  }),
  step('move_ptes.pte_unmap_unlock', function* (k, c) {
    if (c.newLock !== c.oldLock) yield* unlock(k, c.newLock!, 'move_ptes.spin_unlock');
    yield* unlock(k, c.oldLock!, 'move_ptes.pte_unmap_unlock');
  }),
];
