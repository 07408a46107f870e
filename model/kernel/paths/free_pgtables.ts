// free_pgtables() -> free_pgd_range() (mm/memory.c), after the zap, with
// the VMAs already detached so no fault can repopulate the range:
//
//   1. A table is freed only if no remaining VMA overlaps what it covers
//      (the floor/ceiling rule) and it is empty; lower levels first.
//   2. Clear the upper entry (pmd_clear / pud_clear / p4d_clear), then
//      pte_free_tlb() and friends: freed_tables = 1 and the range widened
//      by one page one level up, so INVLPG drops the PSC entries that lead
//      to the table (include/asm-generic/tlb.h).
//   3. tlb_remove_table(): queue it; it is freed by RCU after the flush.
//
// Guarded by no-freed-table-reachable: dropping freed_tables skips lazy
// CPUs, and their PSC entries then point into a freed table.

import { span } from '../config.js';
import { step, type StepDef } from '../../policies/policy.js';
import { note } from '../locks.js';
import { findTable, LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { MmId } from '../types.js';
import { gatherOf, widen } from './mmu_gather.js';

export interface FreePgtablesCtx {
  mm: MmId;
  start: number;
  end: number;
}

export const freePgtables: StepDef<FreePgtablesCtx>[] = [
  step('free_pgd_range', function* (k, c) {
    const s = k.s;
    const mm = s.mms[c.mm]!;
    const g = gatherOf(k);
    for (let level = 1; level <= 3; level++) {
      const cover = span(s.config, level + 1);
      for (let base = Math.floor(c.start / cover) * cover; base < c.end; base += cover) {
        if (mm.vmas.some((v) => v.start < base + cover && v.end > base)) continue; // floor/ceiling
        const parent = findTable(s, mm, base, level + 1);
        if (!parent) continue;
        const i = tableIndex(s.config, base, level + 1);
        const e = parent.entries![i];
        if (!e) continue;
        const t = s.frames[e.pfn]!;
        if (t.entries!.some((x) => x !== null)) continue;
        parent.entries![i] = null;
        note(k, 'upper-clear', c.mm, `${LEVEL_NAME[level + 1]} entry for ${LEVEL_NAME[level]} table ${t.pfn}`);
        g.freedTables = true; // pte_free_tlb() / pmd_free_tlb() / pud_free_tlb()
        widen(g, base, base + 1);
        g.tables.push(t.pfn); // tlb_remove_table()
        yield { id: `free_${LEVEL_NAME[level]}_range.${LEVEL_NAME[level + 1]}_clear` };
      }
    }
  }),
];
