// VMA tree operations (mm/vma.c), done under mmap_lock held for write.

import type { Mm, Vma } from './state.js';
import type { Prot, Vpn } from './types.js';

export const findVma = (mm: Mm, v: number): Vma | undefined => mm.vmas.find((x) => x.start <= v && v < x.end);

const piece = (x: Vma, start: number, end: number): Vma => ({ ...x, start: start as Vpn, end: end as Vpn, pgoff: x.pgoff + (start - x.start) });

/**
 * Split VMAs at `start` and `end` (__split_vma) so that [start, end) is made
 * of whole VMAs. A VMA neither boundary cuts stays the same object: the
 * kernel leaves it alone, and a fault holding its per-VMA lock
 * (lock_vma_under_rcu(), which no writer of another range waits for) goes
 * on writing it, e.g. vma->anon_vma in __anon_vma_prepare(). A VMA that is
 * cut was write-locked first (vma_start_write()), so no reader holds it.
 */
export function splitAt(mm: Mm, start: number, end: number): void {
  const out: Vma[] = [];
  for (const x of mm.vmas) {
    const cuts = [x.start, ...[start, end].filter((p) => p > x.start && p < x.end), x.end];
    if (cuts.length === 2) {
      out.push(x);
      continue;
    }
    for (let i = 0; i + 1 < cuts.length; i++) out.push(piece(x, cuts[i]!, cuts[i + 1]!));
  }
  mm.vmas = out.sort((a, b) => a.start - b.start);
}

/** vms_gather_munmap_vmas() + detach: remove [start, end) from the tree, return what was there. */
export function detachRange(mm: Mm, start: number, end: number): Vma[] {
  splitAt(mm, start, end);
  const gone = mm.vmas.filter((x) => x.start >= start && x.end <= end);
  mm.vmas = mm.vmas.filter((x) => !(x.start >= start && x.end <= end));
  return gone;
}

/** The VMAs (tree objects) overlapping [start, end); with `toHole`, only those before the first hole from `start`. */
export function vmasTouched(mm: Mm, start: number, end: number, toHole = false): Vma[] {
  const out: Vma[] = [];
  let at = start;
  for (const x of mm.vmas) {
    if (x.end <= start || x.start >= end) continue;
    if (toHole && x.start > at) break;
    out.push(x);
    at = x.end;
  }
  return out;
}

/** VMAs overlapping [start, end), clipped to it. */
export function vmasIn(mm: Mm, start: number, end: number): Vma[] {
  return mm.vmas.filter((x) => x.start < end && x.end > start).map((x) => piece(x, Math.max(x.start, start), Math.min(x.end, end)));
}

/**
 * do_mprotect_pkey()'s loop of mprotect_fixup(): split, then set the new
 * protection VMA by VMA from `start` up to the first hole. Returns where it
 * stopped; short of `end` means -ENOMEM.
 */
export function protectRange(mm: Mm, start: number, end: number, prot: Prot): number {
  splitAt(mm, start, end);
  let at = start;
  for (const x of mm.vmas) {
    if (x.end <= at || x.start >= end) continue;
    if (x.start > at) break;
    x.prot = { ...prot };
    at = x.end;
  }
  return Math.min(at, end);
}
