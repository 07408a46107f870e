// Which mms reach a page-table page, computed from the page tables alone
// (never from i_mmap, the sharer list or a policy's own bookkeeping): a
// walk from every mm's PGD through every present upper entry. A table
// reached from two mms is shared, however it came to be linked: an
// mshare sharer's PGD entry onto the host's PUD table (still linked or
// no longer in i_mmap alike), or hugetlb PMD sharing's PUD entries of
// several processes onto one PMD table (huge_pmd_share()).

import { LEVELS, span } from '../model/kernel/config.js';
import type { Frame, KernelState } from '../model/kernel/state.js';
import type { MmId, Pfn } from '../model/kernel/types.js';

/** One mm's view of a table: the first page the table covers in that mm. */
export interface Reacher {
  mm: MmId;
  base: number;
}

/** A table below some PGD, with every mm that reaches it. */
export interface ReachedTable {
  pfn: Pfn;
  ghost: number;
  level: number;
  by: Reacher[];
}

/** Every table below a PGD, keyed by frame, with the mms that reach it (a table reached twice by one mm is listed at each base). */
export function reachedTables(s: KernelState): Map<number, ReachedTable> {
  const out = new Map<number, ReachedTable>();
  const visit = (mm: MmId, t: Frame, base: number, depth: number) => {
    if (t.level <= 1 || !t.entries || depth > LEVELS) return;
    const step = span(s.config, t.level);
    t.entries.forEach((e, i) => {
      if (!e) return;
      const child = s.frames[e.pfn]!;
      // an entry to a frame that is no longer this table is no-freed-table-reachable's business
      if (child.state !== 'pagetable' || child.allocId !== e.ghost || !child.entries) return;
      const b = base + i * step;
      const r = out.get(child.pfn) ?? { pfn: child.pfn, ghost: child.allocId, level: child.level, by: [] };
      r.by.push({ mm, base: b });
      out.set(child.pfn, r);
      visit(mm, child, b, depth + 1);
    });
  };
  for (const mm of Object.values(s.mms)) {
    const pgd = s.frames[mm.pgd]!;
    if (pgd.state === 'pagetable') visit(mm.id, pgd, 0, 1);
  }
  return out;
}

/** Distinct mms among a table's reachers. */
export const mmsOf = (t: ReachedTable) => [...new Set(t.by.map((r) => r.mm))];

/** mm's link to a table: what a PSC entry of mm for (level, prefix) may cache. */
export interface Link {
  mm: MmId;
  level: number;
  prefix: number;
  pfn: Pfn;
  ghost: number;
}

export const linkKey = (l: Link) => `${l.mm}|${l.level}|${l.prefix}|${l.pfn}|${l.ghost}`;

/** Every link of every mm, from the page tables: the PSC entries a walk could create now. */
export function linksOf(s: KernelState, tables = reachedTables(s)): Map<string, Link> {
  const out = new Map<string, Link>();
  for (const t of tables.values()) {
    for (const r of t.by) {
      const l = { mm: r.mm, level: t.level, prefix: Math.floor(r.base / span(s.config, t.level + 1)), pfn: t.pfn, ghost: t.ghost };
      out.set(linkKey(l), l);
    }
  }
  return out;
}

/** The operations `actor` has open (invoked, not yet returned): at most one for a thread. */
export function openOpsOf(s: KernelState, actor: string): string[] {
  return Object.keys(s.ghost.ops).filter((id) => s.ghost.ops[id]!.open && id.startsWith(`${actor}.`));
}
