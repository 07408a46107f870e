// Kernel locks as the model sees them: mmap_lock (an rwsem, may sleep),
// mm->page_table_lock and the split PTE locks (spinlocks). Taking a lock
// is one step; waiting for it blocks the actor (no step). Each acquisition
// notes the lock-class order for lockdep and, for sleeping locks, a
// might_sleep() for the lock-discipline property.

import type { Gen, K, StepNote } from './step.js';
import type { KernelState, LockClass } from './state.js';
import { fence } from './store_buffer.js';
import { ModelError, type ActorName, type MmId, type Pfn } from './types.js';

export const mmapLock = (mm: MmId) => `mmap_lock:${mm}`;
export const pageTableLock = (mm: MmId) => `page_table_lock:${mm}`;
export const ptlOf = (table: Pfn) => `ptl:${table}`;

const SLEEPING: Record<LockClass, boolean> = { mmap_lock: true, page_table_lock: false, ptl: false, i_mmap_rwsem: true };

export const iMmapRwsem = (file: string) => `i_mmap_rwsem:${file}`;

export function classOf(name: string): LockClass {
  return name.slice(0, name.indexOf(':')) as LockClass;
}

export function heldBy(s: KernelState, actor: ActorName): string[] {
  const out: string[] = [];
  for (const name in s.locks) if (s.locks[name]!.holders.includes(actor)) out.push(name);
  return out.sort();
}

export function holdsSpinlock(s: KernelState, actor: ActorName): boolean {
  return heldBy(s, actor).some((n) => !SLEEPING[classOf(n)]);
}

function canTake(s: KernelState, name: string, mode: 'r' | 'w'): boolean {
  const l = s.locks[name];
  if (!l || l.holders.length === 0) return true;
  return mode === 'r' && l.mode === 'r';
}

/** Record the step's locks and interrupt state for lock-discipline. */
export function note(k: K, kind: StepNote['kind'], mm: MmId | null, what: string, table: number | null = null): void {
  k.notes.push({ kind, mm, what, table, held: heldBy(k.s, k.self), irqsOff: k.s.cpus[k.cpu]!.irqsOff });
}

/** down_read / down_write / spin_lock: block until free, then take it in one step. */
export function* lock(k: K, name: string, mode: 'r' | 'w', id: string): Gen {
  const s = k.s;
  const cls = classOf(name);
  if (!canTake(s, name, mode)) {
    yield { id, wait: () => canTake(s, name, mode), waitFor: { kind: 'lock', lock: name } };
  }
  if (SLEEPING[cls]) note(k, 'might-sleep', null, name);
  for (const h of heldBy(s, k.self)) {
    const hc = classOf(h);
    if (hc === cls) continue; // lockdep: two locks of one class are not an order
    const out = (s.ghost.lockOrder[hc] ??= []);
    if (!out.includes(cls)) out.push(cls);
  }
  fence(s.cpus[k.cpu]!); // x86: down_read/down_write/spin_lock take the lock with a LOCK-prefixed RMW (store_buffer.ts item 4)
  const l = (s.locks[name] ??= { cls, holders: [], mode: null });
  l.holders.push(k.self);
  l.mode = mode;
  yield { id };
}

export function* unlock(k: K, name: string, id: string): Gen {
  release(k.s, k.self, name);
  yield { id };
}

export function release(s: KernelState, actor: ActorName, name: string): void {
  const l = s.locks[name];
  if (!l || !l.holders.includes(actor)) throw new ModelError(`${actor} releases ${name} it does not hold`);
  l.holders = l.holders.filter((h) => h !== actor);
  if (l.holders.length === 0) l.mode = null;
}

/** mmap_write_downgrade(): keep the rwsem, let readers in. */
export function downgrade(s: KernelState, actor: ActorName, name: string): void {
  const l = s.locks[name];
  if (!l || l.mode !== 'w' || l.holders[0] !== actor) throw new ModelError(`${actor} downgrades ${name} without holding it for write`);
  l.mode = 'r';
}
