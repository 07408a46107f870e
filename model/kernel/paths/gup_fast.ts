// get_user_pages_fast() -> gup_fast() (mm/gup.c): a lockless walk with
// IRQs off:
//
//   1. local_irq_save(): holds off flush IPIs and RCU grace periods, which
//      is what keeps the tables it walks from being freed under it
//      (tlb_remove_table(), research/tlb-kvm.md 2.7).
//   2. Read the PGD, PUD, PMD and PTE entries one by one, no lock; keep the
//      values of the PMD entry (gup_fast_pmd_range: pmdp_get_lockless())
//      and of the PTE (ptep_get_lockless()). A protnone PTE is left to
//      the slow path.
//   3. try_grab_folio_fast(): a speculative reference (fails on a freed page).
//   4. gup_fast_pte_range(): re-read both the PMD entry and the PTE and
//      compare them with the values read in step 2 (pmd_val, pte_val: frame
//      and bits, A/D included); if either changed, drop the reference and
//      fail. The PMD recheck catches a table that was unlinked meanwhile -
//      by PT_RECLAIM (pt_reclaim.ts) or a THP collapse - whose PTEs may
//      still look valid. Then gup_fast_folio_allowed() (no secretmem, no
//      FOLL_LONGTERM in the model: it passes) and gup_must_unshare(),
//      which sends a read pin of a maybe-shared anonymous page (after a
//      fork) to the slow path to unshare it. Read pins do no I/O in the
//      model, so that fallback is not modelled; a write pin needs a PTE
//      that allows writes, which a shared page's never does (2').
//   5. local_irq_restore(); later the caller drops the pin (unpin_user_page).
//
// With FOLL_WRITE (the `dma=write` op: pin_user_pages_fast() of an O_DIRECT
// read's buffer, as iov_iter_extract_pages() takes it for a READ):
//   2'. gup_fast_pte_range() gives up on a PTE that does not allow writes
//       (pte_access_permitted(pte, FOLL_WRITE)); the caller's slow-path
//       fallback, which would fault the page in and break COW, is not
//       modelled: no pin, no I/O.
//   4'. The pin is taken in the recheck's step: the page the PTE mapped
//       then is the page the I/O writes, whatever the address maps later.
//   6. submit_bio(): the read goes to the block device, and the thread
//      sleeps until it completes (blk_io_schedule()). The device (actor
//      `dio`) writes the page through the pin whenever the schedule runs
//      it: DMA, no TLB, no PTE. Meanwhile every other actor may run, as
//      during a real read's milliseconds.
//   7. unpin_user_pages_dirty_lock(): folio_mark_dirty(), then the pin goes
//      (bio_release_pages() of a completed read).
// The pin is what keeps the page from being freed, swapped out, migrated,
// discarded (MADV_FREE) or shared with a child (fork) meanwhile; read-value
// sees the DMA's value in the ideal memory as a write to the page pinned.
//
// Guarded by no-freed-table-reachable (a walker in progress must not read
// a freed table) and no-deadlock (nothing here may wait on a lock).

import { LEVELS } from '../config.js';
import { step, STOP_STEP, type Observation, type StepDef } from '../step.js';
import { putPage } from '../frames.js';
import { hugeSubpage, LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { KernelState, Pte } from '../state.js';
import type { MmId, Pfn } from '../types.js';

export interface GupCtx {
  mm: MmId;
  vpn: number;
  /** The PTE's value as read in step 2 (null: none). */
  pte?: Pte | null;
  /** The PTE table it was read from. */
  table?: Pfn;
  /** The PMD entry's value as read in step 2, and the PMD table holding it. */
  pmd?: Pte;
  pmdTable?: Pfn;
  /** The leaf was a PMD leaf (gup_fast_pmd_leaf(), hugetlb): only the PMD entry is rechecked. */
  huge?: boolean;
  page?: Pfn | null;
  /** FOLL_WRITE for an O_DIRECT read into the page: the pin's id (the op's) for the ideal memory. */
  dma?: string;
}

/** pte_val(a) == pte_val(b): the same frame and the same bits (the ghost allocation id is not a bit). */
export const pteValSame = (a: Pte | null, b: Pte | null | undefined): boolean =>
  a === null || !b
    ? a === (b ?? null)
    : a.pfn === b.pfn && a.writable === b.writable && a.accessed === b.accessed && a.dirty === b.dirty && a.protNone === b.protNone;

/** The entry for `vpn` in table `pfn` at `level` as it reads now (a freed frame reads as none). */
const entryNow = (s: KernelState, pfn: Pfn, vpn: number, level: number): Pte | null => {
  const t = s.frames[pfn]!;
  return t.state === 'pagetable' ? (t.entries![tableIndex(s.config, vpn, level)] ?? null) : null;
};

export const gupFast: StepDef<GupCtx>[] = [
  step('gup_fast.local_irq_save', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = true;
    cpu.irqOffSeq = k.s.rcu.seq;
    k.s.tasks[k.self]!.walker = [];
    yield { id: 'gup_fast.local_irq_save' };
  }),
  step('gup_fast_pgd_range', function* (k, c) {
    const s = k.s;
    const walker = s.tasks[k.self]!.walker!;
    let table = s.frames[s.mms[c.mm]!.pgd]!;
    c.pte = null;
    for (let level = LEVELS; level >= 1; level--) {
      walker.push({ pfn: table.pfn, ghost: table.allocId });
      const e = table.state === 'pagetable' ? table.entries![tableIndex(s.config, c.vpn, level)] : null;
      yield { id: `gup_fast_${LEVEL_NAME[level]}_range` };
      if (!e) return;
      if (level === 2) {
        c.pmd = { ...e }; // pmd_t pmd = pmdp_get_lockless(pmdp)
        c.pmdTable = table.pfn;
        if (e.huge) {
          c.pte = hugeSubpage(s, e, c.vpn); // gup_fast_pmd_leaf(): the subpage of the folio
          c.huge = true;
          return;
        }
      }
      if (level === 1) {
        c.pte = { ...e }; // ptep_get_lockless(): a value, not the slot
        c.table = table.pfn;
        return;
      }
      table = s.frames[e.pfn]!;
    }
  }),
  step('try_grab_folio_fast', function* (k, c) {
    c.page = null;
    if (!c.pte || c.pte.protNone) return;
    if (c.dma && !c.pte.writable) return; // pte_access_permitted(pte, FOLL_WRITE): the slow path's business
    const f = k.s.frames[c.pte.pfn]!;
    if (f.state !== 'data' || f.refcount === 0) return; // folio_try_get() fails on a freed folio
    f.refcount++;
    c.page = f.pfn;
    yield { id: 'try_grab_folio_fast' };
  }),
  step('gup_fast.recheck', function* (k, c) {
    if (c.page === null) return;
    const pmdChanged = !pteValSame(entryNow(k.s, c.pmdTable!, c.vpn, 2), c.pmd);
    const pteChanged = !c.huge && !pteValSame(entryNow(k.s, c.table!, c.vpn, 1), c.pte); // a PMD leaf: pmd_val(orig) != pmd_val(*pmdp) only
    if (pmdChanged || pteChanged) {
      putPage(k.s, c.page!); // gup_put_folio()
      c.page = null;
      yield { id: pmdChanged ? 'gup_fast.pmd_changed' : 'gup_fast.pte_changed' };
      return;
    }
    // gup_fast_folio_allowed(), gup_must_unshare(): not modelled (header, step 4)
    if (c.dma) yield { id: 'gup_fast.pinned', ...pinObs(c) }; // step 4'
  }),
  step('gup_fast.local_irq_restore', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = false;
    k.s.tasks[k.self]!.walker = null;
    yield { id: 'gup_fast.local_irq_restore' };
  }),
  ...dmaThroughPin<GupCtx>(),
  step('unpin_user_page', function* (k, c) {
    if (!c.page) return STOP_STEP;
    putPage(k.s, c.page);
    yield { id: 'unpin_user_page' };
  }),
];

/** The observation of a write pin just taken (step 4', and gup.ts step 3): none for a read pin. */
export const pinObs = (c: { dma?: string; mm: MmId; vpn: number }): { obs?: Observation } => (c.dma ? { obs: { kind: 'pin', pin: c.dma, mm: c.mm, vpn: c.vpn } } : {});

/**
 * Steps 6 and 7 of a FOLL_WRITE pin, for gup_fast and (ids under `prefix`)
 * get_user_pages, as __blkdev_direct_IO_simple() does an O_DIRECT read:
 * submit_bio() hands the read to the device, blk_io_schedule() sleeps until
 * it completes (the device, an actor of its own, runs
 * blkdev_bio_end_io_simple below whenever the schedule says), then
 * bio_release_pages() unpins the page dirty. Both leave `c.page` null, so
 * the caller's plain unpin step does nothing.
 */
export function dmaThroughPin<C extends { page?: Pfn | null; dma?: string }>(prefix = ''): StepDef<C>[] {
  return [
    step(`${prefix}submit_bio`, function* (k, c) {
      if (!c.dma || !c.page) return;
      (k.s.dio ??= { queue: [], done: [] }).queue.push({ pin: c.dma, page: c.page });
      const pin = c.dma;
      yield { id: `${prefix}submit_bio` };
      // blk_io_schedule(): not a step, a sleep until the device completes the read
      const done = () => k.s.dio!.done.includes(pin);
      if (!done()) yield { id: `${prefix}blk_io_schedule`, wait: done };
    }),
    step(`${prefix}unpin_user_pages_dirty_lock`, function* (k, c) {
      if (!c.dma || !c.page) return;
      const d = k.s.dio!;
      d.done = d.done.filter((p) => p !== c.dma);
      k.s.frames[c.page]!.dirty = true; // folio_mark_dirty(): a lazyfree folio is kept, a file folio written back
      putPage(k.s, c.page);
      c.page = null;
      yield { id: `${prefix}unpin_user_pages_dirty_lock`, obs: { kind: 'unpin', pin: c.dma } };
    }),
  ];
}

/**
 * The device completes the oldest read in flight: its DMA into the pinned
 * page (no TLB, no PTE: the frame the pin holds), then the bio's end_io
 * wakes the submitter.
 */
export const blkdevBioEndIoSimple: StepDef<Record<string, never>>[] = [
  step('dma_to_pinned_page', function* (k) {
    const d = k.s.dio!;
    const r = d.queue.shift()!;
    const f = k.s.frames[r.page]!;
    f.content = k.nextValue(); // the pin's reference keeps the frame allocated
    d.done.push(r.pin);
    yield { id: 'dma_to_pinned_page', obs: { kind: 'dma', pin: r.pin, value: f.content } };
  }),
];
