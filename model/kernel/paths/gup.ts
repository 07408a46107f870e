// get_user_pages() (mm/gup.c, the slow path): under mmap_read_lock,
// follow_page_mask() walks the tables with ordinary loads (IRQs on, so
// neither RCU nor a flush IPI waits for it) and takes the PTE lock only
// at the last level:
//
//   1. mmap_read_lock(); find the VMA. Through an msharefs VMA the design
//      decides: walk on (v3), refuse (-EFAULT), or take the host's
//      mmap_lock too (research/mshare.md hazard 16).
//   2. Read the PGD, PUD and PMD entries, one step each.
//   3. pte_offset_map_lock(); get_page() on a present PTE; unlock.
//   4. Unlock; the caller later unpins the page.
//
// With FOLL_WRITE (the `dma=write` op, an O_DIRECT read's buffer):
// follow_page_pte() returns no page for a PTE that does not allow writes
// (can_follow_write_pte()); the fault-in and retry of __get_user_pages()
// (faultin_page(), which breaks COW) is not modelled: no pin, no I/O. The
// pin is taken under the PTL in step 3 (its observation is that step's),
// then the device writes the page and the caller unpins it dirty
// (gup_fast.ts dmaThroughPin(), steps 6 and 7 there).
//
// Guarded by no-freed-table-reachable (a walker in progress).

import { LEVELS } from '../config.js';
import { step, STOP_STEP, type StepDef } from '../step.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { getPage, putPage } from '../frames.js';
import { dmaThroughPin, pinObs } from './gup_fast.js';
import { lock, mmapLock, pmdLock, ptlOf, unlock } from '../locks.js';
import { sharerWindow } from '../mshare/msharefs.js';
import { hugeSubpage, LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { MmId, Pfn } from '../types.js';
import { findVma } from '../vma.js';

export interface GupSlowCtx {
  mm: MmId;
  vpn: number;
  hostLocked?: MmId;
  /** The design refuses GUP through an msharefs VMA: no walk, no pin (-EFAULT). */
  refused?: boolean;
  table?: Pfn;
  page?: Pfn | null;
  /** The PTE the page was taken from allowed writes (KVM's hva_to_pfn() maps writable only then). */
  writable?: boolean;
  /** The caller keeps the pin (KVM's hva_to_pfn(): kvm_release_faultin_page() drops it later). */
  keepPin?: boolean;
  /** FOLL_WRITE for an O_DIRECT read into the page: the pin's id (the op's) for the ideal memory. */
  dma?: string;
}

export const getUserPages: StepDef<GupSlowCtx>[] = [
  step('get_user_pages.mmap_read_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'r', 'get_user_pages.mmap_read_lock');
  }),
  step('get_user_pages.find_vma', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    const vma = findVma(mm, c.vpn);
    c.page = null;
    if (!vma) return;
    const w = vma.kind === 'mshare' ? sharerWindow(k.s, mm, c.vpn) : null;
    if (w && k.knob('gup') === 'refused') c.refused = true;
    if (w && k.knob('gup') === 'host-lock') {
      c.hostLocked = w.file.host;
      yield* lock(k, mmapLock(w.file.host), 'r', 'get_user_pages.host_mmap_read_lock_nested');
    }
  }),
  step('follow_page_mask', function* (k, c) {
    const s = k.s;
    if (c.refused || !findVma(s.mms[c.mm]!, c.vpn)) return;
    const walker: { pfn: Pfn; ghost: number }[] = (s.tasks[k.self]!.walker = []);
    let table = s.frames[s.mms[c.mm]!.pgd]!;
    for (let level = LEVELS; level > 1; level--) {
      walker.push({ pfn: table.pfn, ghost: table.allocId });
      const e = table.state === 'pagetable' ? table.entries![tableIndex(s.config, c.vpn, level)] : null;
      yield { id: `follow_${LEVEL_NAME[level]}_mask` };
      if (!e) return;
      if (e.huge) {
        // follow_huge_pmd() (hugetlb): under the PMD table's lock, the subpage of the folio
        yield* lock(k, pmdLock(table.pfn), 'w', 'follow_huge_pmd.pmd_lock');
        const now = table.entries![tableIndex(s.config, c.vpn, 2)];
        const pinned = !!now?.huge && (!c.dma || now.writable);
        if (pinned) {
          const sub = hugeSubpage(s, now!, c.vpn);
          getPage(s, sub.pfn); // try_grab_folio(FOLL_PIN)
          c.page = sub.pfn;
          c.writable = now!.writable;
        }
        yield { id: 'follow_huge_pmd.try_grab_folio', ...(pinned ? pinObs(c) : {}) };
        yield* unlock(k, pmdLock(table.pfn), 'follow_huge_pmd.spin_unlock');
        return;
      }
      table = s.frames[e.pfn]!;
    }
    // follow_page_pte(): pte_offset_map_lock() maps the table afresh, under RCU, and rechecks the PMD
    const pte = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'follow_page_pte.pte_offset_map_lock');
    if (pte === null) return; // no_page_table(): the PTE table was reclaimed
    c.table = pte;
    const t = s.frames[c.table]!;
    walker.push({ pfn: t.pfn, ghost: t.allocId });
    const e = t.state === 'pagetable' ? t.entries![tableIndex(s.config, c.vpn, 1)] : null;
    const pinned = !!e && !e.protNone && s.frames[e.pfn]!.state === 'data' && (!c.dma || e.writable); // can_follow_write_pte()
    if (pinned) {
      getPage(s, e!.pfn); // try_grab_folio(FOLL_PIN)
      c.page = e!.pfn;
      c.writable = e!.writable;
    }
    yield { id: 'follow_page_pte.try_grab_folio', ...(pinned ? pinObs(c) : {}) };
    yield* unlock(k, ptlOf(c.table), 'follow_page_pte.pte_unmap_unlock');
  }),
  step('get_user_pages.mmap_read_unlock', function* (k, c) {
    k.s.tasks[k.self]!.walker = null;
    if (c.hostLocked) yield* unlock(k, mmapLock(c.hostLocked), 'get_user_pages.host_mmap_read_unlock');
    yield* unlock(k, mmapLock(c.mm), 'get_user_pages.mmap_read_unlock');
  }),
  ...dmaThroughPin<GupSlowCtx>('get_user_pages.'),
  step('get_user_pages.unpin_user_page', function* (k, c) {
    if (!c.page || c.keepPin) return STOP_STEP;
    putPage(k.s, c.page);
    yield { id: 'get_user_pages.unpin_user_page' };
  }),
];
