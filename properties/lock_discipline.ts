import { isSleeping, mmapLock, pageTableLock, pmdLock, ptlOf, vmaLockMm } from '../model/kernel/locks.js';
import type { StepNote } from '../model/kernel/step.js';
import type { KernelState } from '../model/kernel/state.js';
import type { Property } from './property.js';

/**
 * The rule table: what a kernel write to mm M's tables must hold.
 *   PTE write:            the table's PTL and the mmap_lock (any mode) of
 *                         the mm that owns the table (for a table shared
 *                         through mshare: the host's, research/mshare.md S3)
 *                         or a per-VMA lock of that mm (a fault or
 *                         MADV_DONTNEED under lock_vma_under_rcu()), or
 *                         an rmap lock (i_mmap_rwsem: rmap_walk_file(), or
 *                         the anon_vma lock: rmap_walk_anon(),
 *                         keeps the VMA from being unlinked, as
 *                         try_to_unmap_one() relies on; process_addrs.rst;
 *                         or the anon_vma lock rmap_walk_anon() takes)
 *   upper entry populate: the entry's lock - the PMD table's split lock for
 *                         a PMD entry (pmd_install()), M's page_table_lock
 *                         above - and M's mmap_lock or a VMA lock of M
 *   upper entry clear:    M's mmap_lock or a VMA lock of M, the range
 *                         detached (free_pgtables) or the entry's table
 *                         empty under its locks
 * Plus: nothing that may sleep with a spinlock held or IRQs off, no
 * synchronous IPI with IRQs off, and no cycle in the lock-class order
 * (lockdep: two locks of one class are not an inversion).
 */
export function missing(n: StepNote, s: KernelState): string | null {
  const needs: string[] = [];
  const mmOrVma = (mm: string) => {
    if (!n.held.includes(mmapLock(mm as never)) && !n.held.some((l) => vmaLockMm(l) === mm)) needs.push(mmapLock(mm as never)); // named as the mmap_lock: a VMA lock of mm would do too
  };
  if (n.kind === 'pte-write' && s.frames[n.table!]?.level === 2) {
    // a hugetlb PMD leaf: huge_pte_lock() is the PMD table's split lock; the writer's own mm or VMA lock (the table may be shared)
    if (!n.held.includes(pmdLock(n.table as never))) needs.push(pmdLock(n.table as never));
    mmOrVma(n.mm!);
  } else if (n.kind === 'pte-write') {
    if (!n.held.includes(ptlOf(n.table as never))) needs.push(ptlOf(n.table as never));
    if (!n.held.some((l) => l.startsWith('i_mmap_rwsem:') || l.startsWith('anon_vma:'))) mmOrVma(s.frames[n.table!]!.owner ?? n.mm!);
  }
  if (n.kind === 'upper-populate') {
    const entryLock = n.table !== null && s.frames[n.table]?.level === 2 ? pmdLock(n.table as never) : pageTableLock(n.mm!);
    if (!n.held.includes(entryLock)) needs.push(entryLock);
    mmOrVma(n.mm!);
  }
  if (n.kind === 'upper-clear') mmOrVma(n.mm!);
  if (needs.length) return `${n.kind} (${n.what}) without ${needs.join(' and ')}`;
  if (n.kind === 'might-sleep') {
    const spin = n.held.filter((l) => !isSleeping(l));
    if (spin.length || n.irqsOff) return `might_sleep (${n.what}) in atomic context${spin.length ? ` holding ${spin.join(', ')}` : ''}${n.irqsOff ? ' with IRQs off' : ''}`;
  }
  if (n.kind === 'ipi-wait' && n.irqsOff) return `synchronous IPI (${n.what}) with IRQs off`;
  return null;
}

function cycle(order: Record<string, string[]>): string[] | null {
  const state = new Map<string, number>();
  const path: string[] = [];
  const dfs = (c: string): string[] | null => {
    state.set(c, 1);
    path.push(c);
    for (const d of order[c] ?? []) {
      if (state.get(d) === 1) return [...path.slice(path.indexOf(d)), d];
      if (!state.has(d)) {
        const r = dfs(d);
        if (r) return r;
      }
    }
    path.pop();
    state.set(c, 2);
    return null;
  };
  for (const c of Object.keys(order).sort()) if (!state.has(c)) {
    const r = dfs(c);
    if (r) return r;
  }
  return null;
}

/** The lock-class order graph flattened: each class, its successor count, its successors. */
function flatOrder(order: Record<string, string[]>): string[] {
  const out: string[] = [];
  for (const c in order) out.push(c, String(order[c]!.length), ...order[c]!);
  return out;
}

/** `order` flattens to `flat` (compared in place, nothing allocated). */
export function sameOrder(order: Record<string, string[]>, flat: string[] | undefined): boolean {
  if (!flat) return false;
  let n = 0;
  for (const c in order) {
    const out = order[c]!;
    if (flat[n++] !== c || flat[n++] !== String(out.length)) return false;
    for (let i = 0; i < out.length; i++) if (flat[n++] !== out[i]) return false;
  }
  return n === flat.length;
}

/**
 * The property, skipping the cycle search while the order graph equals
 * (`same`) the last acyclic one it searched; tests pass a broken `same`
 * and `() => false` (search at every step: the reference).
 */
export const lockDisciplineWith = (same: (order: Record<string, string[]>, flat: string[] | undefined) => boolean): Property => ({
  id: 'lock-discipline',
  statement: 'page-table writes hold the locks of the rule table; no sleeping in atomic context; no lock-class inversion',
  rule: 'split PTE/PMD locks, mmap_lock and per-VMA locks (Documentation/mm/process_addrs.rst), might_sleep(), lockdep; docs/kernel-facts.md F8',
  check({ s, event, mem }) {
    for (const n of event.notes) {
      const m = missing(n, s);
      if (m) return { holder: 'locks', message: `${event.actor}: ${m}` };
    }
    // The order graph as at the last step had no cycle: unchanged, it has none now.
    const order = s.ghost.lockOrder;
    if (same(order, mem.order as string[] | undefined)) return null;
    const c = cycle(order);
    if (c) return { holder: 'locks', message: `lock-class inversion ${c.join(' -> ')}` };
    mem.order = flatOrder(order);
    return null;
  },
});

export const lockDiscipline: Property = lockDisciplineWith(sameOrder);
