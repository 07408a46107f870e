// Four-level page tables (PGD, PUD, PMD, PTE; P4D folded) with a small
// fan-out, the software walk kernel code does under locks
// (pte_offset_map), and the hardware walk that fills the TLB and the
// paging-structure caches.

import { LEVELS, span, type Config } from './config.js';
import type { Cpu, Frame, KernelState, Mm, Pte } from './state.js';
import { vaHex, type Pfn } from './types.js';

export const LEVEL_NAME = ['', 'pte', 'pmd', 'pud', 'pgd'] as const;

/** Index of `v` in a table of `level`. */
export const tableIndex = (c: Config, v: number, level: number) => Math.floor(v / span(c, level)) % c.fanout;
/** Identifies the table of `level` that covers `v` (the key of a PSC entry pointing at it). */
export const tablePrefix = (c: Config, v: number, level: number) => Math.floor(v / span(c, level + 1));
/** First page covered by the table of `level` that covers `v`. */
export const tableBase = (c: Config, v: number, level: number) => tablePrefix(c, v, level) * span(c, level + 1);

/** [start, end) cut at PTE-table boundaries: the ranges the pte-level walkers (zap, change_pte_range) take one at a time. */
export function pteTableRanges(c: Config, start: number, end: number): [number, number][] {
  const cover = span(c, 2);
  const out: [number, number][] = [];
  for (let base = Math.floor(start / cover) * cover; base < end; base += cover) out.push([Math.max(start, base), Math.min(end, base + cover)]);
  return out;
}

/**
 * A kernel walk reached, through an upper entry, a frame that is no longer
 * a page table: a use-after-free of the design under test (a link it left
 * to a table it freed). The run cannot go on past it; execution.ts ends it
 * there. Where no-freed-table-reachable is checked it has already reported
 * the link at the free, so this is met only in runs that do not check it.
 */
export class FreedTableWalk extends Error {
  override name = 'FreedTableWalk';
}

/** The table of `level` covering `v` in `mm`, or null where an upper entry is none or a PMD leaf (no PTE table under it). */
export function findTable(s: KernelState, mm: Mm, v: number, level: number): Frame | null {
  let t = s.frames[mm.pgd]!;
  for (let l = LEVELS; l > level; l--) {
    const e = t.entries![tableIndex(s.config, v, l)];
    if (!e || e.huge) return null;
    t = s.frames[e.pfn]!;
    if (!t.entries) throw new FreedTableWalk(`a walk of ${mm.id} at ${vaHex(v)} went through a level-${l} entry to frame ${e.pfn}, which is no longer a page table`);
  }
  return t;
}

/**
 * The translation of page `v` a huge PMD leaf `e` gives: the subpage's
 * frame, with the leaf's bits (A and D live in the PMD entry).
 */
export function hugeSubpage(s: KernelState, e: Pte, v: number): Pte {
  const head = s.frames[e.pfn]!;
  const p = head.subpages?.[v % span(s.config, 2)] ?? e.pfn;
  return { ...e, pfn: p, ghost: p === e.pfn ? e.ghost : s.frames[p]!.allocId, huge: true };
}

/**
 * The leaf that maps `v` in `mm` as the kernel's walkers see it: a PTE, or
 * a PMD leaf's subpage (hugetlb; `pmd` is the PMD table holding it).
 */
export function findLeaf(s: KernelState, mm: Mm, v: number): { pte: Pte; pmd?: Frame } | null {
  const pmd = findTable(s, mm, v, 2);
  const e = pmd?.entries![tableIndex(s.config, v, 2)];
  if (e?.huge) return { pte: hugeSubpage(s, e, v), pmd: pmd! };
  const pte = findPte(s, mm, v)?.pte;
  return pte ? { pte } : null;
}

/** pte_offset_map(): the leaf entry for `v`, with the PTE table holding it. */
export function findPte(s: KernelState, mm: Mm, v: number): { table: Frame; pte: Pte | null } | null {
  const t = findTable(s, mm, v, 1);
  if (!t) return null;
  return { table: t, pte: t.entries![tableIndex(s.config, v, 1)] ?? null };
}

export type HwWalk =
  /** `pte` is the entry to set A/D in; a PMD leaf's walk also gives the page's translation (`sub`) and the range's first page (`huge`). */
  | { kind: 'leaf'; pte: Pte; table: Frame; sub?: Pte; huge?: number }
  | { kind: 'none' }
  /** The walk went through a frame that is no longer the page table it was cached as. */
  | { kind: 'garbage'; pfn: Pfn };

/**
 * The x86 page walker from the loaded CR3, starting at the deepest
 * paging-structure-cache hit for the loaded PCID and caching every upper
 * entry it reads (SDM 4.10.3). Hardware walks are not interruptible, so one
 * walk is one step.
 */
export function hwWalk(s: KernelState, cpu: Cpu, v: number): HwWalk {
  const c = s.config;
  const mm = cpu.loadedMm === null ? null : s.mms[cpu.loadedMm]!;
  if (!mm || cpu.loadedSlot < 0) return { kind: 'none' };
  let level = LEVELS;
  let table: Pfn = mm.pgd;
  for (let l = 1; l < LEVELS; l++) {
    const hit = cpu.psc.find((p) => p.slot === cpu.loadedSlot && p.level === l && p.prefix === tablePrefix(c, v, l));
    if (hit) {
      level = l;
      table = hit.pfn;
      break;
    }
  }
  for (; level >= 1; level--) {
    const f = s.frames[table]!;
    if (f.state !== 'pagetable' || f.level !== level) return { kind: 'garbage', pfn: table };
    const e = f.entries![tableIndex(c, v, level)];
    if (!e) return { kind: 'none' };
    if (level === 1) return { kind: 'leaf', pte: e, table: f };
    // a PMD leaf ends the walk: no PSC entry below it (the SDM caches only entries that reference a table)
    if (level === 2 && e.huge) return { kind: 'leaf', pte: e, table: f, sub: hugeSubpage(s, e, v), huge: v - (v % span(c, 2)) };
    const prefix = tablePrefix(c, v, level - 1);
    if (!cpu.psc.some((p) => p.slot === cpu.loadedSlot && p.level === level - 1 && p.prefix === prefix)) {
      cpu.psc.push({ slot: cpu.loadedSlot, level: level - 1, prefix, pfn: e.pfn, ghost: e.ghost });
    }
    table = e.pfn;
  }
  return { kind: 'none' };
}

/**
 * Every present entry of every page-table page, in frame then index
 * order, given to `f` until it returns something: the first non-null
 * answer. A plain loop (no generator, no object per entry): the
 * properties run it after every step.
 */
export function firstEntry<T>(s: KernelState, f: (table: Frame, index: number, e: Pte) => T | null): T | null {
  const frames = s.frames;
  for (let p = 0; p < frames.length; p++) {
    const table = frames[p]!;
    if (table.state !== 'pagetable') continue;
    const es = table.entries!;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (!e) continue;
      const r = f(table, i, e);
      if (r !== null) return r;
    }
  }
  return null;
}
