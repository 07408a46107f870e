// get_user_pages_fast() -> gup_fast() (mm/gup.c): a lockless walk with
// IRQs off:
//
//   1. local_irq_save(): holds off flush IPIs and RCU grace periods, which
//      is what keeps the tables it walks from being freed under it
//      (tlb_remove_table(), research/tlb-kvm.md 2.7).
//   2. Read the PGD, PUD, PMD and PTE entries one by one, no lock.
//   3. try_grab_folio_fast(): a speculative reference (fails on a freed page).
//   4. Re-read the PTE; if it changed, drop the reference and fail.
//   5. local_irq_restore(); later the caller drops the pin (unpin_user_page).
//
// Guarded by no-freed-table-reachable (a walker in progress must not read
// a freed table) and no-deadlock (nothing here may wait on a lock).

import { LEVELS } from '../config.js';
import { step, STOP_STEP, type StepDef } from '../step.js';
import { putPage } from '../frames.js';
import { LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { Pte } from '../state.js';
import type { MmId, Pfn } from '../types.js';

export interface GupCtx {
  mm: MmId;
  vpn: number;
  pte?: Pte | null;
  table?: Pfn;
  page?: Pfn | null;
}

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
      if (level === 1) {
        c.pte = e;
        c.table = table.pfn;
        return;
      }
      table = s.frames[e.pfn]!;
    }
  }),
  step('try_grab_folio_fast', function* (k, c) {
    c.page = null;
    if (!c.pte || c.pte.protNone) return;
    const f = k.s.frames[c.pte.pfn]!;
    if (f.state !== 'data' || f.refcount === 0) return; // folio_try_get() fails on a freed folio
    f.refcount++;
    c.page = f.pfn;
    yield { id: 'try_grab_folio_fast' };
  }),
  step('gup_fast.recheck_pte', function* (k, c) {
    if (c.page === null) return;
    const t = k.s.frames[c.table!]!;
    const now = t.state === 'pagetable' ? t.entries![tableIndex(k.s.config, c.vpn, 1)] : null;
    if (now !== c.pte) {
      putPage(k.s, c.page!);
      c.page = null;
      yield { id: 'gup_fast.pte_changed' };
    }
  }),
  step('gup_fast.local_irq_restore', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    cpu.irqsOff = false;
    k.s.tasks[k.self]!.walker = null;
    yield { id: 'gup_fast.local_irq_restore' };
  }),
  step('unpin_user_page', function* (k, c) {
    if (!c.page) return STOP_STEP;
    putPage(k.s, c.page);
    yield { id: 'unpin_user_page' };
  }),
];
