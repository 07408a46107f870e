import { mmapLock, pageTableLock, ptlOf } from '../model/kernel/locks.js';
import type { StepNote } from '../model/kernel/step.js';
import type { KernelState } from '../model/kernel/state.js';
import type { Property } from './property.js';

/**
 * The rule table: what a kernel write to mm M's tables must hold.
 *   PTE write:            the table's PTL and the mmap_lock (any mode) of
 *                         the mm that owns the table (for a table shared
 *                         through mshare: the host's, research/mshare.md S3)
 *   upper entry populate: M's page_table_lock and M's mmap_lock
 *   upper entry clear:    M's mmap_lock, the range detached (free_pgtables)
 * Plus: nothing that may sleep with a spinlock held or IRQs off, no
 * synchronous IPI with IRQs off, and no cycle in the lock-class order
 * (lockdep: two locks of one class are not an inversion).
 */
export function missing(n: StepNote, s: KernelState): string | null {
  const needs: string[] = [];
  if (n.kind === 'pte-write') needs.push(ptlOf(n.table as never), mmapLock(s.frames[n.table!]!.owner ?? n.mm!));
  if (n.kind === 'upper-populate') needs.push(pageTableLock(n.mm!), mmapLock(n.mm!));
  if (n.kind === 'upper-clear') needs.push(mmapLock(n.mm!));
  const lacking = needs.filter((l) => !n.held.includes(l));
  if (lacking.length) return `${n.kind} (${n.what}) without ${lacking.join(' and ')}`;
  if (n.kind === 'might-sleep') {
    const spin = n.held.filter((l) => !l.startsWith('mmap_lock'));
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

export const lockDiscipline: Property = {
  id: 'lock-discipline',
  statement: 'page-table writes hold the locks of the rule table; no sleeping in atomic context; no lock-class inversion',
  rule: 'split PTE locks and mmap_lock (Documentation/mm/process_addrs.rst), might_sleep(), lockdep',
  check({ s, event }) {
    for (const n of event.notes) {
      const m = missing(n, s);
      if (m) return { holder: 'locks', message: `${event.actor}: ${m}` };
    }
    const c = cycle(s.ghost.lockOrder);
    if (c) return { holder: 'locks', message: `lock-class inversion ${c.join(' -> ')}` };
    return null;
  },
};
