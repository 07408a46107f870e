// free_pgtables() -> free_pgd_range() (mm/memory.c), after the zap, with
// the VMAs already detached so no fault can repopulate the range:
//
//   1. unlink_file_vma(): take the VMAs off their file's rmap (i_mmap,
//      under i_mmap_rwsem); for an msharefs VMA that is the sharer list.
//   2. A table is freed only if no remaining VMA overlaps what it covers
//      (the floor/ceiling rule) and it is empty; lower levels first. An
//      msharefs range is never walked: its tables belong to the host
//      (RFC v3 skips it; v1/v2 clear the top-level entry here, without a
//      free: __free_pgd_range(..., shared_pud=true) -> p4d_clear(), v2
//      patch 12, 20250404021902.48863-13, research/mshare.md 3.4; no
//      p4d_free_tlb(), so no gather field is touched and that unlink by
//      itself flushes nothing - the model's reading of the call chain,
//      labelled as such in docs/fidelity.md). A PUD table with a nonzero
//      pt_share_count is not freed (free_pud_range, v3).
//   3. Clear the upper entry, then pte_free_tlb() / pmd_free_tlb() /
//      pud_free_tlb(): freed_tables, one page of range at the table's
//      base, and cleared_pmds / _puds / _p4ds (the level of the cleared
//      entry), so x86 flushes with that stride and the INVLPG at the base
//      drops the PSC entries on the walk to it, the freed table's among
//      them (every PSC entry of the PCID on Intel; tlb.ts).
//   4. tlb_remove_table(): queue it; it is freed by RCU after the flush
//      (or the batch-allocation fallback, mmu_gather.ts step 3).
//
// Guarded by no-freed-table-reachable: dropping freed_tables skips lazy
// CPUs, and their PSC entries then point into a freed table.

import { span } from '../config.js';
import { step, type StepDef } from '../step.js';
import { iMmapRwsem, lock, note, unlock } from '../locks.js';
import { findTable, LEVEL_NAME, tableIndex } from '../pagetable.js';
import type { Vma } from '../state.js';
import type { MmId } from '../types.js';
import { freeTlb, gatherOf } from './mmu_gather.js';
import { unlinkFileVma } from './hugetlb.js';

export interface FreePgtablesCtx {
  mm: MmId;
  start: number;
  end: number;
  /** The detached VMAs. */
  vmas: Vma[];
}

export const freePgtables: StepDef<FreePgtablesCtx>[] = [
  step('unlink_file_vma', function* (k, c) {
    for (const v of c.vmas) {
      const hf = v.file === null ? null : k.s.files[v.file];
      if (hf?.hugetlb) {
        // a hugetlbfs VMA leaves i_mmap: huge_pmd_share() can no longer find it (paths/hugetlb.ts)
        yield* lock(k, iMmapRwsem(hf.name), 'w', 'unlink_file_vma.i_mmap_lock_write');
        unlinkFileVma(hf, c.mm, v.start);
        yield* unlock(k, iMmapRwsem(hf.name), 'unlink_file_vma.i_mmap_unlock_write');
        continue;
      }
      if (v.kind !== 'mshare') continue;
      const f = k.s.mshare[v.file!]!;
      yield* lock(k, iMmapRwsem(f.name), 'w', 'unlink_file_vma.i_mmap_lock_write');
      f.sharers = f.sharers.filter((x) => !(x.mm === c.mm && x.start === v.start));
      yield* unlock(k, iMmapRwsem(f.name), 'unlink_file_vma.i_mmap_unlock_write');
    }
  }),
  step('free_pgd_range.shared_pud', function* (k, c) {
    if (!c.vmas.some((v) => v.kind === 'mshare') || k.knob('unlinkPoint') !== 'free_pgtables') return;
    const s = k.s;
    const pgd = s.frames[s.mms[c.mm]!.pgd]!;
    for (const v of c.vmas) {
      if (v.kind !== 'mshare') continue;
      const i = tableIndex(s.config, v.start, 4);
      if (!pgd.entries![i]) continue;
      pgd.entries![i] = null; // p4d_clear(), the shared PUD table is not freed; no gather flag (step 2)
      note(k, 'upper-clear', c.mm, `pgd entry of msharefs VMA ${v.file}`);
      yield { id: 'free_pgd_range.p4d_clear' };
    }
  }),
  step('free_pgd_range', function* (k, c) {
    const s = k.s;
    const mm = s.mms[c.mm]!;
    const g = gatherOf(k);
    const shared = c.vmas.filter((v) => v.kind === 'mshare');
    for (let level = 1; level <= 3; level++) {
      const cover = span(s.config, level + 1);
      for (let base = Math.floor(c.start / cover) * cover; base < c.end; base += cover) {
        if (mm.vmas.some((v) => v.start < base + cover && v.end > base)) continue; // floor/ceiling
        if (shared.some((v) => v.start < base + cover && v.end > base)) continue; // never through an msharefs link
        const parent = findTable(s, mm, base, level + 1);
        if (!parent) continue;
        const i = tableIndex(s.config, base, level + 1);
        const e = parent.entries![i];
        if (!e || e.huge) continue; // a PMD leaf is no table
        const t = s.frames[e.pfn]!;
        if (t.entries!.some((x) => x !== null)) continue;
        if (level === 3 && t.shareCount > 0 && k.knob('shareCount')) continue; // free_pud_range(): still shared
        parent.entries![i] = null;
        note(k, 'upper-clear', c.mm, `${LEVEL_NAME[level + 1]} entry for ${LEVEL_NAME[level]} table ${t.pfn}`);
        freeTlb(g, level, base); // pte_free_tlb() / pmd_free_tlb() / pud_free_tlb()
        yield { id: `free_${LEVEL_NAME[level]}_range.${LEVEL_NAME[level + 1]}_clear` };
        yield* k.run('tlb_remove_table', { table: t.pfn });
      }
    }
  }),
];
