// mprotect(): do_mprotect_pkey() -> mprotect_fixup() -> change_protection()
// (mm/mprotect.c):
//
//   1. mmap_write_lock(); tlb_gather_mmu() (tlb_flush_pending++).
//   2. mprotect_fixup(): vma_start_write() each VMA (waiting for per-VMA-lock
//      readers), split the VMAs, set the new vm_flags, up to the first hole
//      (-ENOMEM).
//   3. change_pud_range(): notifier start (PROTECTION_VMA) before the
//      first PTE changes.
//   4. change_pte_range(), per table under its PTL (flush_tlb_batched_pending()
//      first): modify_prot_start_ptes()
//      (get and clear, keeping A/D), write the new PTE, and widen the gather
//      if pte_needs_flush(): on x86 any change of _PAGE_RW or presence
//      (an upgrade makes a private anonymous PTE writable only if its page
//      is exclusive: can_change_pte_writable(); a COW-shared page stays
//      read-only; a writable migration entry, paths/migrate.ts, becomes
//      readable, no flush: it is not present)
//      (pte_flags_need_flush(), flush_on_change), upgrades included. Until
//      that flush a stale read-only entry takes a spurious fault (R5).
//   5. Notifier end, then tlb_finish_mmu() flushes; lazy CPUs are skipped
//      and catch up through tlb_gen (R2).
//   6. mmap_write_unlock(); return: the downgrade is promised from here
//      (protect-complete).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { lock, mmapLock, note, ptlOf, unlock, vmaStartWrite } from '../locks.js';
import { pteTableRanges, tableIndex } from '../pagetable.js';
import type { Mm } from '../state.js';
import type { Prot, MmId, Pfn } from '../types.js';
import { findVma, protectRange, vmasTouched } from '../vma.js';
import { isZeroPfn } from '../frames.js';
import { gatherOf, tlbFlushPteRange } from './mmu_gather.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { flushTlbBatchedPending } from './flush_tlb_batched_pending.js';
import type { NotifierCtx } from './notifier.js';

export interface MprotectCtx {
  mm: MmId;
  opId: string;
  start: number;
  end: number;
  prot: Prot;
  /** Where mprotect_fixup() stopped: the first hole, or end. */
  applied?: number;
  result?: string;
}

export interface ChangePteCtx {
  mm: MmId;
  addr: number;
  end: number;
  prot: Prot;
  /** MM_CP_PROT_NUMA: make present PTEs PROT_NONE for NUMA hinting, keep the rest. */
  numa?: boolean;
  table?: Pfn;
}

/** The range touches an msharefs VMA, whose vm_ops->mprotect refuses (-EINVAL). */
const touchesMshare = (mm: Mm, c: MprotectCtx) => mm.vmas.some((v) => v.kind === 'mshare' && v.start < c.end && v.end > c.start);

export const mprotect: StepDef<MprotectCtx>[] = [
  step('do_mprotect_pkey.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'do_mprotect_pkey.mmap_write_lock');
  }),
  step('do_mprotect_pkey.tlb_gather_mmu', function* (k, c) {
    yield* k.run('tlb_gather_mmu', { mm: c.mm });
  }),
  step('mprotect_fixup.vma_start_write', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (touchesMshare(mm, c)) return; // vm_ops->mprotect refuses first
    for (const v of vmasTouched(mm, c.start, c.end, true)) yield* vmaStartWrite(k, c.mm, v, 'mprotect_fixup.vma_start_write');
  }),
  step('mprotect_fixup', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (touchesMshare(mm, c)) {
      c.applied = c.start; // msharefs vm_ops->mprotect: -EINVAL
      c.result = 'EINVAL';
    } else {
      c.applied = protectRange(mm, c.start, c.end, c.prot);
      c.result = c.applied === c.end ? 'ok' : 'ENOMEM';
    }
    yield { id: 'mprotect_fixup' };
  }),
  step('change_protection', function* (k, c) {
    const n: NotifierCtx = { mm: c.mm, start: c.start, end: c.end, event: 'PROTECTION_VMA' };
    yield* k.run('mmu_notifier_invalidate_range_start', n);
    for (const [addr, end] of pteTableRanges(k.s.config, c.start, c.applied!)) {
      const t: ChangePteCtx = { mm: c.mm, addr, end, prot: c.prot };
      yield* k.run('change_pte_range', t);
    }
    yield* k.run('mmu_notifier_invalidate_range_end', n);
  }),
  step('do_mprotect_pkey.tlb_finish_mmu', function* (k) {
    yield* k.run('tlb_finish_mmu', {});
  }),
  step('do_mprotect_pkey.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'do_mprotect_pkey.mmap_write_unlock');
  }),
];

/** A private anonymous VMA's PTE whose page is not exclusive (PageAnonExclusive() clear) or is the zero page. */
function cowShared(k: Parameters<StepDef['fn']>[0], mm: MmId, v: number, pfn: Pfn): boolean {
  if (findVma(k.s.mms[mm]!, v)?.kind !== 'anon') return false;
  return isZeroPfn(k.s, pfn) || k.s.frames[pfn]!.mapcount > 1;
}

export const changePteRange: StepDef<ChangePteCtx>[] = [
  step('change_pte_range.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.addr, 'change_pte_range.pte_offset_map_lock'); // rechecks the PMD (PT_RECLAIM)
    if (t === null) return STOP_STEP;
    c.table = t;
  }),
  step('change_pte_range.flush_tlb_batched_pending', function* (k, c) {
    yield* flushTlbBatchedPending(k, c.mm);
  }),
  step('change_pte_range.modify_prot', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    const g = gatherOf(k);
    for (let v = c.addr; v < c.end; v++) {
      const i = tableIndex(s.config, v, 1);
      const old = t.entries![i];
      if (!old) continue;
      if (old.swap !== undefined) continue; // change_pte_range(): a swap entry is left as it is
      if (old.migration) {
        // change_pte_range()'s swap-entry branch: "A protection check is difficult so just be safe and
        // disable write": a writable migration entry becomes readable, whatever the new protection
        if (k.decide('change_pte_range.is_writable_migration_entry', old.migration === 'write', { vpn: v })) {
          t.entries![i] = { ...old, writable: false, migration: 'read' }; // make_readable_migration_entry()
          note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
          yield { id: 'change_pte_range.migration_entry' };
        }
        continue;
      }
      if (c.numa && old.protNone) continue;
      // an upgrade makes the PTE writable only where can_change_pte_writable() allows: in a private
      // VMA, an exclusive anonymous page; a page shared with a forked mm (or the zero page) keeps its
      // read-only PTE and a write breaks the COW (paths/wp_page_copy.ts)
      const writable = c.prot.w && (old.writable || k.decide('can_change_pte_writable.anon_exclusive', !cowShared(k, c.mm, v, old.pfn), { vpn: v }));
      const neu = c.numa ? { ...old, protNone: true } : { ...old, writable, protNone: !c.prot.r };
      t.entries![i] = neu; // modify_prot_start_ptes() + modify_prot_commit_ptes()
      note(k, 'pte-write', c.mm, `pte ${v}`, t.pfn);
      const needsFlush = (!old.protNone && old.writable !== neu.writable) || (!old.protNone && neu.protNone); // pte_needs_flush(): RW is flush_on_change
      if (needsFlush) tlbFlushPteRange(g, v, v + 1); // change_pte_range(): tlb_flush_pte_range(tlb, addr, PAGE_SIZE), cleared_ptes
      yield { id: 'change_pte_range.modify_prot' };
    }
  }),
  step('change_pte_range.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'change_pte_range.pte_unmap_unlock');
  }),
];
