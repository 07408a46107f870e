// The page-fault path: do_user_addr_fault() -> handle_mm_fault()
// (arch/x86/mm/fault.c, mm/memory.c, mm/mmap_lock.c):
//
//   1. lock_vma_under_rcu(): find the VMA and take its per-VMA read lock
//      (vma_start_read()); it fails if there is no VMA or the VMA is
//      write-locked (an mmap_lock writer ran vma_start_write() on it). An
//      msharefs VMA drops it again ("mshare does not support per-VMA locks
//      yet", v3 2025: research/mshare.md hazard 9). On success:
//      access_error() -> SIGSEGV, else handle_mm_fault(FAULT_FLAG_VMA_LOCK)
//      as in 3-4 and vma_end_read(). An anonymous VMA without anon_vma
//      needs the mmap_lock: vmf_anon_prepare() tries mmap_read_trylock()
//      and, if that fails, drops the VMA lock and returns VM_FAULT_RETRY:
//      the fault starts again at 2.
//   2. lock_mm_and_find_vma(): mmap_read_lock, find the VMA; none, or an
//      access the VMA does not allow -> bad_area -> SIGSEGV.
//   3. __pud_alloc / __pmd_alloc / __pte_alloc: allocate a zeroed table,
//      take the lock of the entry it goes into - mm->page_table_lock for
//      the PGD and PUD entries (pud_lockptr() is page_table_lock on x86),
//      the PMD table's split lock for a PMD entry (pmd_install() ->
//      pmd_lock()) - populate the entry if it is still none (else free
//      the new table), unlock.
//   4. handle_pte_fault(): pte_none -> do_anonymous_page() or
//      do_shared_fault(): get the page, take the PTL, re-check pte_none,
//      set_pte_at(), unlock. A swap entry: do_swap_page() swaps the page in
//      (paths/swap.ts). A migration entry: do_swap_page() waits for
//      the migration (migrate.ts migrationEntryWait). A present PTE that forbids a write the VMA
//      allows -> do_wp_page() -> wp_page_reuse(). Otherwise the fault was
//      spurious (a stale TLB entry; the #PF already dropped it, x86 needs
//      no flush: R5).
//   5. mmap_read_unlock(); the access is retried.
//
// The per-VMA lock keeps munmap, mprotect and mmap off this VMA (they
// vma_start_write() it first) but not off the rest of the mm: a fault in
// one VMA runs beside an munmap of another (coverage:
// per_vma_fault_racing_munmap). Guarded by lock-discipline (a PTE write
// holds the PTL and the mmap_lock or a VMA lock) and unmap-complete.

import { step, STOP_STEP, type Gen, type K, type StepDef } from '../step.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { allocFrame, allocTable, freeFrame, getPage, isZeroPfn, putPage } from '../frames.js';
import { lock, mmapLock, note, pageTableLock, pmdLock, ptlOf, release, tryLockRead, unlock, vmaEndRead, vmaLock, vmaStartRead } from '../locks.js';
import { findPte, findTable, LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { Pte, Vma } from '../state.js';
import { vaHex, type MmId, type Pfn } from '../types.js';
import { findVma } from '../vma.js';
import { sharerWindow, toHost } from '../mshare/msharefs.js';
import { isVmHugetlbPage } from './hugetlb.js';
import { folioFreeSwap } from './swap.js';

export interface FaultCtx {
  mm: MmId;
  vpn: number;
  write: boolean;
  /** The user access that faulted: a SIGSEGV decision is observed where it is taken. */
  opId?: string;
  /** A fault in a sharer's msharefs VMA, resolved in the host mm (find_shared_vma). */
  shared?: { file: string; host: MmId; haddr: number };
  /** find_shared_vma() linked the shared table: VM_FAULT_NOPAGE, retry the access. */
  nopage?: boolean;
  vma?: Vma;
  segv?: boolean;
  /** A frame obtained for the PTE (anonymous page or page-cache page). */
  page?: Pfn;
  table?: Pfn;
  level?: number;
  newTable?: Pfn;
  /** The lock __pte_alloc took for the entry it populates. */
  ptl?: string;
  /** __pte_alloc found the table it populates into unlinked (only a broken variant gets there). */
  parentGone?: boolean;
  /** Holding c.vma's per-VMA read lock (FAULT_FLAG_VMA_LOCK), not the mmap_lock. */
  vmaLocked?: boolean;
  /** VM_FAULT_RETRY from the per-VMA attempt: go on with the mmap_lock. */
  retry?: boolean;
  /** The per-VMA attempt handled the fault. */
  done?: boolean;
  /** do_wp_page() found the page shared (or the zero page): the PTE it saw, for wp_page_copy(). */
  cow?: Pte;
  /** do_anonymous_page(): the new PTE's write bit, from vma->vm_flags when the entry is made, before the PTL. */
  entryWritable?: boolean;
}

/** handle_mm_fault(): the tables, then the PTE; hugetlb_fault() for a hugetlb VMA (paths/hugetlb.ts). */
export function* handleMmFault(k: K, f: FaultCtx): Gen {
  if (isVmHugetlbPage(k.s, f.vma)) return yield* k.run('hugetlb_fault', f);
  for (const level of [3, 2, 1]) {
    f.level = level;
    yield* k.run('__pte_alloc', f);
  }
  yield* k.run('handle_pte_fault', f);
}

export const doUserAddrFault: StepDef<FaultCtx>[] = [
  step('lock_vma_under_rcu', function* (k, c) {
    const v = findVma(k.s.mms[c.mm]!, c.vpn);
    if (v?.kind === 'mshare') {
      yield { id: 'do_user_addr_fault.vma_is_mshare' }; // lock_vma_under_rcu() then vma_end_read(): goto lock_mmap
      return;
    }
    if (!v || !vmaStartRead(k, c.mm, v)) {
      yield { id: 'lock_vma_under_rcu.inval' };
      return;
    }
    c.vma = v;
    c.vmaLocked = true;
    yield { id: 'lock_vma_under_rcu' };
    if (!(c.write ? v.prot.w : v.prot.r)) {
      // bad_area_access_error() -> __bad_area(): vma_end_read(), SIGSEGV
      release(k.s, k.self, vmaLock(c.mm, v.start));
      c.vmaLocked = false;
      c.segv = c.done = true;
      yield { id: 'do_user_addr_fault.bad_area_access_error', obs: c.opId === undefined ? undefined : { kind: 'access', opId: c.opId, mm: c.mm, vpn: c.vpn, write: c.write, value: 0, ok: false } };
    }
  }),
  step('handle_mm_fault.vma_lock', function* (k, c) {
    if (!c.vmaLocked || c.done) return;
    yield* handleMmFault(k, c);
    if (c.retry) {
      c.vmaLocked = c.retry = false; // vmf_anon_prepare() dropped the VMA lock: count_vm_vma_lock_event(VMA_LOCK_RETRY)
      return;
    }
    c.done = true;
    yield* vmaEndRead(k, c.mm, c.vma!, 'do_user_addr_fault.vma_end_read');
    c.vmaLocked = false;
  }),
  step('lock_mm_and_find_vma.mmap_read_lock', function* (k, c) {
    if (c.done) return STOP_STEP;
    yield* lock(k, mmapLock(c.mm), 'r', 'lock_mm_and_find_vma.mmap_read_lock');
  }),
  step('lock_mm_and_find_vma.find_vma', function* (k, c) {
    c.vma = findVma(k.s.mms[c.mm]!, c.vpn);
    if (c.vma?.kind === 'mshare') yield* k.run('find_shared_vma', c); // c.vma becomes the host's inner VMA
    if (c.nopage) return;
    c.segv = !c.vma || !(c.write ? c.vma.prot.w : c.vma.prot.r); // access_error() on the inner VMA
    if (c.segv && c.opId !== undefined) {
      yield { id: 'lock_mm_and_find_vma.bad_area', obs: { kind: 'access', opId: c.opId, mm: c.mm, vpn: c.vpn, write: c.write, value: 0, ok: false } };
    }
  }),
  step('handle_mm_fault', function* (k, c) {
    if (c.segv || c.nopage) return;
    // an mshare fault runs on the host's tables with both mmap_locks held
    yield* handleMmFault(k, c.shared ? { ...c, mm: c.shared.host, vpn: c.shared.haddr } : c);
  }),
  step('do_user_addr_fault.host_mmap_read_unlock', function* (k, c) {
    if (c.shared && !c.nopage) yield* unlock(k, mmapLock(c.shared.host), 'find_shared_vma.mmap_read_unlock');
  }),
  step('do_user_addr_fault.mmap_read_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'do_user_addr_fault.mmap_read_unlock');
  }),
];

/**
 * __pud_alloc / __pmd_alloc / __pte_alloc for the table of c.level covering
 * c.vpn. The entry's lock: page_table_lock for PGD and PUD entries
 * (__pud_alloc; __pmd_alloc's pud_lock()), the PMD table's split lock for a
 * PMD entry (pmd_install()'s pmd_lock()).
 */
export const ptAlloc: StepDef<FaultCtx>[] = [
  step('__pte_alloc.pte_alloc_one', function* (k, c) {
    if (findTable(k.s, k.s.mms[c.mm]!, c.vpn, c.level!)) return STOP_STEP; // already there
    c.newTable = allocTable(k.s, c.mm, c.level!).pfn;
    yield { id: `__${LEVEL_NAME[c.level!]}_alloc.alloc_one` };
  }),
  step('__pte_alloc.page_table_lock', function* (k, c) {
    c.ptl = undefined;
    c.parentGone = false;
    if (c.level === 1) {
      // the PMD table cannot go while the fault holds its VMA or mmap lock; if it went (a broken
      // variant), the kernel would write into freed memory: the model re-walks and gives up instead
      const pmd = findTable(k.s, k.s.mms[c.mm]!, c.vpn, 2);
      if (!pmd) {
        c.parentGone = true;
        return;
      }
      c.ptl = pmdLock(pmd.pfn);
      yield* lock(k, c.ptl, 'w', 'pmd_install.pmd_lock');
    } else {
      c.ptl = pageTableLock(c.mm);
      yield* lock(k, c.ptl, 'w', `__${LEVEL_NAME[c.level!]}_alloc.spin_lock`);
    }
  }),
  step('__pte_alloc.populate', function* (k, c) {
    const s = k.s;
    const parent = findTable(s, s.mms[c.mm]!, c.vpn, c.level! + 1);
    const i = tableIndex(s.config, c.vpn, c.level! + 1);
    if (!c.parentGone && parent && parent.entries![i] === null) {
      const t = s.frames[c.newTable!]!;
      parent.entries![i] = { pfn: t.pfn, writable: true, accessed: false, dirty: false, protNone: false, ghost: t.allocId };
      note(k, 'upper-populate', c.mm, `${LEVEL_NAME[c.level! + 1]} entry for ${LEVEL_NAME[c.level!]} table ${t.pfn}`, parent.pfn);
      yield { id: `${LEVEL_NAME[c.level! + 1]}_populate` };
    } else {
      freeFrame(s, s.frames[c.newTable!]!); // another thread populated it first
      yield { id: `__${LEVEL_NAME[c.level!]}_alloc.free` };
    }
  }),
  step('__pte_alloc.spin_unlock', function* (k, c) {
    if (c.ptl) yield* unlock(k, c.ptl!, c.level === 1 ? 'pmd_install.spin_unlock' : `__${LEVEL_NAME[c.level!]}_alloc.spin_unlock`);
  }),
];

export const handlePteFault: StepDef<FaultCtx>[] = [
  step('handle_pte_fault', function* (k, c) {
    const r = findPte(k.s, k.s.mms[c.mm]!, c.vpn);
    if (r === null) return; // the PTE table was reclaimed (PT_RECLAIM) since __pte_alloc: the access faults again
    if (r.pte === null) {
      yield* k.run(c.vma!.kind === 'anon' ? 'do_anonymous_page' : 'do_shared_fault', c);
    } else if (r.pte.swap !== undefined) {
      // a swap entry (paths/swap.ts): do_swap_page() with vmf->orig_pte as read here
      yield* k.run('do_swap_page_swapin', { mm: c.mm, vpn: c.vpn, write: c.write, vma: c.vma!, slot: r.pte.swap, exclusive: !!r.pte.swapExclusive });
    } else if (r.pte.migration) {
      yield* k.run('do_swap_page', { mm: c.mm, vpn: c.vpn }); // is_migration_entry(): migration_entry_wait() (paths/migrate.ts)
    } else if (r.pte.protNone && (c.write ? c.vma!.prot.w : c.vma!.prot.r)) {
      yield* k.run('do_numa_page', c); // a NUMA hinting fault
    } else if (c.write && !r.pte.writable && c.vma!.prot.w) {
      yield* k.run('wp_page_reuse', c);
    } else {
      yield { id: 'handle_pte_fault.spurious' };
    }
  }),
];

/** Set the PTE for c.page, `writable` or not, if still none (the re-check after taking the PTL); else drop the page. */
function* setPteLocked(k: Parameters<StepDef['fn']>[0], c: FaultCtx, id: string, writable: boolean) {
  const s = k.s;
  const t = s.frames[c.table!]!;
  const i = tableIndex(s.config, c.vpn, 1);
  const f = s.frames[c.page!]!;
  if (t.entries![i] === null) {
    t.entries![i] = { pfn: f.pfn, writable, accessed: true, dirty: c.write, protNone: false, ghost: f.allocId };
    f.mapcount++;
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    yield { id: `${id}.set_pte_at` };
  } else {
    putPage(s, f.pfn); // lost the race: release the page
    yield { id: `${id}.pte_changed` };
  }
}

/** vmf_anon_prepare(): __anon_vma_prepare() needs the mmap_lock (it looks at the neighbouring VMAs). */
function* vmfAnonPrepare(k: K, c: FaultCtx): Gen<void | typeof STOP_STEP> {
  const v = c.vma!;
  if (v.anonVma) return;
  if (c.vmaLocked) {
    if (!tryLockRead(k, mmapLock(c.mm))) {
      release(k.s, k.self, vmaLock(c.mm, v.start)); // vma_end_read(), VM_FAULT_RETRY
      c.retry = true;
      yield { id: 'vmf_anon_prepare.retry' };
      return STOP_STEP;
    }
    yield { id: 'vmf_anon_prepare.mmap_read_trylock' };
  }
  v.anonVma = true;
  yield { id: '__anon_vma_prepare' };
  if (c.vmaLocked) yield* unlock(k, mmapLock(c.mm), 'vmf_anon_prepare.mmap_read_unlock');
}

export const doAnonymousPage: StepDef<FaultCtx>[] = [
  // "Use the zero-page for reads" (before vmf_anon_prepare(): no anon_vma is needed): a read-only
  // PTE to my_zero_pfn(), with the PTL and the vmf_pte_changed() recheck; only with the setup's zero_page
  step('do_anonymous_page.zero_pfn', function* (k, c) {
    const s = k.s;
    if (c.write || s.zeroPfn === undefined) return;
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_anonymous_page.pte_offset_map_lock');
    if (t === null) return STOP_STEP; // the PMD entry went away (PT_RECLAIM): the access faults again
    const i = tableIndex(s.config, c.vpn, 1);
    const tbl = s.frames[t]!;
    if (tbl.entries![i] === null) {
      tbl.entries![i] = { pfn: s.zeroPfn, writable: false, accessed: true, dirty: false, protNone: false, ghost: s.frames[s.zeroPfn]!.allocId }; // pte_mkspecial(pfn_pte(my_zero_pfn()))
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t);
      yield { id: 'do_anonymous_page.zero_pfn.set_pte_at' };
    } else {
      yield { id: 'do_anonymous_page.zero_pfn.pte_changed' };
    }
    yield* unlock(k, ptlOf(t), 'do_anonymous_page.pte_unmap_unlock');
    return STOP_STEP;
  }),
  step('vmf_anon_prepare', function* (k, c) {
    return yield* vmfAnonPrepare(k, c);
  }),
  step('do_anonymous_page.alloc', function* (k, c) {
    const f = allocFrame(k.s, `anon:${c.mm}:${vaHex(c.vpn)}`); // vma_alloc_zeroed_movable_folio()
    f.lp += `#${f.allocId}`;
    c.page = f.pfn;
    // entry = folio_mk_pte(folio, vma->vm_page_prot); if (vma->vm_flags & VM_WRITE) pte_mkwrite(): read
    // here, before pte_offset_map_lock(); only the VMA's write lock (vma_start_write()) keeps an
    // mprotect() from changing vm_flags between this read and set_pte_at()
    c.entryWritable = c.vma!.prot.w;
    yield { id: 'do_anonymous_page.alloc' };
  }),
  step('do_anonymous_page.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_anonymous_page.pte_offset_map_lock');
    if (t === null) {
      putPage(k.s, c.page!); // goto release: folio_put()
      return STOP_STEP; // the PMD entry went away (PT_RECLAIM): the access faults again
    }
    c.table = t;
  }),
  step('do_anonymous_page.set_pte_at', function* (k, c) {
    yield* setPteLocked(k, c, 'do_anonymous_page', c.entryWritable!);
  }),
  step('do_anonymous_page.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'do_anonymous_page.pte_unmap_unlock');
  }),
];

export const doSharedFault: StepDef<FaultCtx>[] = [
  step('filemap_fault', function* (k, c) {
    const s = k.s;
    const file = s.files[c.vma!.file!]!;
    const idx = c.vma!.pgoff + (c.vpn - c.vma!.start);
    let p = file.cache[idx];
    if (p === null || p === undefined) {
      const f = allocFrame(s, `file:${file.name}:${idx}`); // the page cache holds this reference
      file.cache[idx] = p = f.pfn;
    }
    getPage(s, p); // the mapping's reference
    c.page = p;
    yield { id: 'filemap_fault' };
  }),
  step('finish_fault.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'finish_fault.pte_offset_map_lock');
    if (t === null) {
      putPage(k.s, c.page!); // VM_FAULT_NOPAGE: the caller drops the page
      return STOP_STEP; // the PMD entry went away (PT_RECLAIM): the access faults again
    }
    c.table = t;
  }),
  step('finish_fault.set_pte_at', function* (k, c) {
    yield* setPteLocked(k, c, 'finish_fault', c.vma!.prot.w); // set_pte_range() makes the entry under the PTL
  }),
  step('finish_fault.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'finish_fault.pte_unmap_unlock');
  }),
];

export const wpPageReuse: StepDef<FaultCtx>[] = [
  step('do_wp_page.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_wp_page.pte_offset_map_lock');
    if (t === null) {
      return STOP_STEP; // the PMD entry went away (PT_RECLAIM): the access faults again
    }
    c.table = t;
  }),
  step('wp_page_reuse', function* (k, c) {
    const t = k.s.frames[c.table!]!;
    const i = tableIndex(k.s.config, c.vpn, 1);
    const e = t.entries![i];
    // do_wp_page(): a private anonymous page is reused only if exclusive (PageAnonExclusive(), or
    // wp_can_reuse_anon_folio()); the zero page never is: wp_page_copy() (paths/wp_page_copy.ts)
    // a folio in the swap cache is reused only if folio_free_swap() frees it (no swap entry left) and
    // nothing else holds a reference: wp_can_reuse_anon_folio()'s folio_ref_count() != 1 after it
    const swapcacheShared = (p: Pfn) => {
      const f = k.s.frames[p]!;
      return f.swapSlot !== undefined && (f.refcount > 2 || !folioFreeSwap(k.s, p));
    };
    if (e && !e.writable && c.vma!.kind === 'anon' && (isZeroPfn(k.s, e.pfn) || k.s.frames[e.pfn]!.mapcount > 1 || swapcacheShared(e.pfn))) {
      c.cow = { ...e };
      return;
    }
    if (e && !e.writable) {
      t.entries![i] = { ...e, writable: true, dirty: true, accessed: true }; // maybe_mkwrite(pte_mkdirty())
      note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
      yield { id: 'wp_page_reuse' };
    }
  }),
  step('do_wp_page.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'do_wp_page.pte_unmap_unlock');
  }),
  // wp_page_copy() starts with vmf_anon_prepare(): a VMA that only ever mapped the zero page has no anon_vma yet
  step('wp_page_copy.vmf_anon_prepare', function* (k, c) {
    if (c.cow) return yield* vmfAnonPrepare(k, c);
  }),
  step('do_wp_page.wp_page_copy', function* (k, c) {
    if (c.cow) yield* k.run('wp_page_copy', { mm: c.mm, vpn: c.vpn, orig: c.cow, writable: c.vma!.prot.w });
  }),
];

/**
 * find_shared_vma() (mshare, research/mshare.md 3.3), with P's mmap_lock
 * held for read:
 *   1. mmap_read_lock_nested(host): lock order P.mmap_lock -> H.mmap_lock -> P.ptl.
 *   2. p4d_alloc() in the host: the shared PUD table exists.
 *   3. If P's top-level entry is not the host's: link it (set_p4d), with or
 *      without P->page_table_lock and a recheck, counting the link in
 *      pt_share_count (v3); unlock the host and return VM_FAULT_NOPAGE.
 *   4. Else find the inner VMA in the host, or SIGSEGV.
 * Guarded by share-count, lock-discipline and no-freed-table-reachable.
 */
export const findSharedVma: StepDef<FaultCtx>[] = [
  step('find_shared_vma.mmap_read_lock_nested', function* (k, c) {
    const w = sharerWindow(k.s, k.s.mms[c.mm]!, c.vpn)!;
    c.shared = { file: w.file.name, host: w.file.host, haddr: toHost(w.file, w.vma.start, c.vpn) };
    yield* lock(k, mmapLock(w.file.host), 'r', 'find_shared_vma.mmap_read_lock_nested');
  }),
  step('find_shared_vma.p4d_alloc', function* (k, c) {
    yield* k.run('__pte_alloc', { ...c, mm: c.shared!.host, vpn: c.shared!.haddr, level: 3 });
  }),
  step('find_shared_vma.link', function* (k, c) {
    const s = k.s;
    const sh = c.shared!;
    const host = s.frames[s.mms[sh.host]!.pgd]!.entries![tableIndex(s.config, sh.haddr, 4)]!;
    const gpgd = s.frames[s.mms[c.mm]!.pgd]!;
    const gi = tableIndex(s.config, c.vpn, 4);
    const linked = () => gpgd.entries![gi]?.pfn === host.pfn;
    if (linked()) return;
    // the read that saw "not linked" and the write that links are apart: another fault can link in between
    yield { id: 'find_shared_vma.p4d_differs' };
    const linkLocking = k.knob('linkLocking');
    if (linkLocking === 'ptl-recheck') yield* lock(k, pageTableLock(c.mm), 'w', 'find_shared_vma.spin_lock');
    if (linkLocking === 'none' || !linked()) {
      if (k.knob('shareCount')) s.frames[host.pfn]!.shareCount++;
      gpgd.entries![gi] = { ...host };
      note(k, 'upper-populate', c.mm, `pgd entry linked to ${sh.host}'s PUD table ${host.pfn}`);
      yield { id: 'find_shared_vma.set_p4d' };
    }
    if (linkLocking === 'ptl-recheck') yield* unlock(k, pageTableLock(c.mm), 'find_shared_vma.spin_unlock');
    // mshare 2026, listJoin 'after-link' (paths/mshare_2026.ts): P joins the sharer list only now
    if (k.knob('listJoin') === 'after-link') yield* k.run('mshare_sharer_add', { mm: c.mm, file: sh.file, start: sharerWindow(s, s.mms[c.mm]!, c.vpn)!.vma.start });
    yield* unlock(k, mmapLock(sh.host), 'find_shared_vma.mmap_read_unlock');
    c.nopage = true;
    return STOP_STEP;
  }),
  step('find_shared_vma.find_vma', function* (k, c) {
    c.vma = findVma(k.s.mms[c.shared!.host]!, c.shared!.haddr);
    if (!c.vma) {
      yield* unlock(k, mmapLock(c.shared!.host), 'find_shared_vma.mmap_read_unlock');
      c.shared = undefined;
    }
  }),
];
