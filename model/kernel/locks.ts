// Kernel locks as the model sees them: mmap_lock and i_mmap_rwsem
// (rwsems, may sleep), the per-VMA locks, mm->page_table_lock and the
// split PTE and PMD locks (spinlocks). Taking a lock is one step; waiting
// for it blocks the actor (no step). Each acquisition notes the lock-class
// order for lockdep and, for sleeping locks, a might_sleep() for the
// lock-discipline property.
//
// rwsems (kernel/locking/rwsem.c) keep a FIFO wait list:
//   1. down_read() takes the lock at once only if no writer holds it and
//      no one waits (RWSEM_FLAG_WAITERS fails rwsem_read_trylock(); in
//      rwsem_down_read_slowpath() a reader-owned lock sends the reader to
//      the queue): a waiting writer holds off new readers.
//   2. A free lock with waiters can be stolen by a newcomer, reader or
//      writer (reader optimistic lock stealing, 1a728dff855a;
//      rwsem_try_write_lock_unqueued()). RWSEM_FLAG_HANDOFF, which a waiter
//      sets after RWSEM_WAIT_TIMEOUT to stop stealing, is not modelled: the
//      model allows every steal, a superset of the kernel's schedules.
//   3. Otherwise the task queues (one step: it joins sem->wait_list) and
//      sleeps. On release, rwsem_mark_wake(): if the first waiter is a
//      reader, every queued reader is granted the lock at once (phase-fair,
//      readers behind a writer too); if it is a writer, it is woken and
//      takes the lock itself when it runs and the lock is free.
//   4. downgrade_write() grants the queued readers as in 3.
// Spinlocks have no queue: any waiter may take a free spinlock. qspinlock
// is FIFO among queued CPUs, so this allows orders the kernel never runs;
// they matter only with two waiters queued on one spinlock, and a safety
// property that fails only there would show a wrong order in the trace.
//
// Per-VMA locks (include/linux/mmap_lock.h, mm/mmap_lock.c): a reader
// (vma_start_read() inside lock_vma_under_rcu()) never waits: it fails if
// the VMA is write-locked, that is if vma->vm_lock_seq equals the mm's
// mm_lock_seq. vma_start_write() (mmap_lock held for write) waits for the
// readers to leave (vm_refcnt), then stores mm_lock_seq; every VMA write
// lock of the mm ends together at mmap_write_unlock() or
// mmap_write_downgrade(), which advance mm_lock_seq (vma_end_write_all()).
//
// RCU read-side critical sections (include/linux/rcupdate.h): besides
// rcu_read_lock(), holding a spinlock or an rwlock (PTL, PMD lock,
// page_table_lock, kvm->mmu_lock) is one in every configuration:
// spin_lock() / read_lock() disable preemption, and PREEMPT_RT's
// rt_spin_lock() / rt_read_lock() take rcu_read_lock() once they hold the
// lock. A grace period that starts at call_rcu() ends only after every
// actor in such a section then has left it (rcuReaders(), paths/rcu.ts).
// The section starts when the lock is taken, PREEMPT_RT's order, and ends
// when the actor holds no spinning lock. Both are steps. The model has no
// rcu_read_lock() of its own: the one walker that takes it before a lock
// wait, __pte_offset_map(), is in pte_offset_map.ts.

import type { Gen, K, StepNote } from './step.js';
import type { KernelState, Lock, LockClass, Vma } from './state.js';
import { fence } from './store_buffer.js';
import { ModelError, vaHex, type ActorName, type MmId, type Pfn } from './types.js';

export const mmapLock = (mm: MmId) => `mmap_lock:${mm}`;
export const pageTableLock = (mm: MmId) => `page_table_lock:${mm}`;
export const ptlOf = (table: Pfn) => `ptl:${table}`;
/** pmd_lockptr(): the split lock of the PMD table page (x86-64: CONFIG_SPLIT_PMD_PTLOCKS). */
export const pmdLock = (table: Pfn) => `pmd_lock:${table}`;
/** vma->vm_lock of the VMA of `mm` that starts at `start` (a VMA cannot move while it is read-locked). */
export const vmaLock = (mm: MmId, start: number) => `vma_lock:${mm}:${vaHex(start)}`;

const SLEEPING: Record<LockClass, boolean> = { mmap_lock: true, page_table_lock: false, ptl: false, i_mmap_rwsem: true, vma_lock: true, pmd_lock: false, mshare_list_lock: false, hugetlb_vma_lock: true, kvm_mmu_lock: false, anon_vma: true, invalidate_lock: true, kvm_slots_lock: true };
const RWSEM: Partial<Record<LockClass, true>> = { mmap_lock: true, i_mmap_rwsem: true, hugetlb_vma_lock: true, anon_vma: true, invalidate_lock: true };

/** kvm->mmu_lock: an rwlock on x86 (read for TDP MMU faults, write for invalidations); it spins. */
export const kvmMmuLock = (vm: string) => `kvm_mmu_lock:${vm}`;
/** kvm->slots_lock, a mutex: memslot updates (paths/kvm_set_memslot.ts). */
export const kvmSlotsLock = (vm: string) => `kvm_slots_lock:${vm}`;
export const iMmapRwsem = (file: string) => `i_mmap_rwsem:${file}`;
/** mapping->invalidate_lock of `file` (an rw_semaphore): filemap_invalidate_lock() takes it for write (kvm_gmem_punch_hole()). */
export const invalidateLock = (file: string) => `invalidate_lock:${file}`;
/**
 * anon_vma->root->rwsem, as rmap_walk_anon() takes it for read
 * (anon_vma_lock_read(), folio_lock_anon_vma_read()), named by the mm whose
 * anonymous folio is walked (migration, paths/migrate.ts; reclaim of a
 * lazyfree or, with a swap device, swap-backed folio, paths/reclaim.ts). The model has no anon_vma objects:
 * unlink_anon_vmas() and anon_vma_fork() do not take it, so rmap walks
 * take it for read and only mremap's take_rmap_locks() for write
 * (paths/mremap_tables.ts).
 */
export const anonVmaLock = (mm: MmId) => `anon_vma:${mm}`;
/** mshare 2026: the spinlock of a region's sharer list (a flush under the PTL walks it, so it cannot sleep). */
export const mshareListLock = (file: string) => `mshare_list_lock:${file}`;
/** The hugetlb VMA lock (struct hugetlb_vma_lock, an rw_semaphore in vma->vm_private_data) of the VMA of `mm` at `start`. */
export const hugetlbVmaLock = (mm: MmId, start: number) => `hugetlb_vma_lock:${mm}:${vaHex(start)}`;

export function classOf(name: string): LockClass {
  return name.slice(0, name.indexOf(':')) as LockClass;
}

export const isSleeping = (name: string): boolean => SLEEPING[classOf(name)] ?? false;

/** The mm a per-VMA lock name belongs to (null for other locks). */
export function vmaLockMm(name: string): MmId | null {
  if (classOf(name) !== 'vma_lock') return null;
  const rest = name.slice(name.indexOf(':') + 1);
  return rest.slice(0, rest.lastIndexOf(':')) as MmId;
}

export function heldBy(s: KernelState, actor: ActorName): string[] {
  const out: string[] = [];
  for (const name in s.locks) if (s.locks[name]!.holders.includes(actor)) out.push(name);
  return out.length > 1 ? out.sort() : out; // sort() allocates a work array even for one element
}

export function holdsSpinlock(s: KernelState, actor: ActorName): boolean {
  return heldBy(s, actor).some((n) => !SLEEPING[classOf(n)]);
}

const lockOf = (s: KernelState, name: string): Lock => (s.locks[name] ??= { cls: classOf(name), holders: [], mode: null });
const queued = (l: Lock | undefined) => l?.waiters ?? [];

/** Whether a newcomer takes the lock without queueing (rule 1 and 2 above; spinlocks: free, or shared read). */
function canTake(s: KernelState, name: string, mode: 'r' | 'w'): boolean {
  const l = s.locks[name];
  if (!l || l.holders.length === 0) return true;
  if (mode === 'w' || l.mode !== 'r') return false;
  return !RWSEM[classOf(name)] || queued(l).length === 0;
}

/** Record the step's locks and interrupt state for lock-discipline. */
export function note(k: K, kind: StepNote['kind'], mm: MmId | null, what: string, table: number | null = null): void {
  k.notes.push({ kind, mm, what, table, held: heldBy(k.s, k.self), irqsOff: k.s.cpus[k.cpu]!.irqsOff });
}

/** Lockdep: every class held now is ordered before `cls`. */
function noteOrder(k: K, cls: LockClass): void {
  for (const h of heldBy(k.s, k.self)) {
    const hc = classOf(h);
    if (hc === cls) continue; // lockdep: two locks of one class are not an order
    const out = (k.s.ghost.lockOrder[hc] ??= []);
    if (!out.includes(cls)) out.push(cls);
  }
}

/** down_read / down_write / spin_lock: take it, or queue (rwsems) and wait, then take it in one step. */
export function* lock(k: K, name: string, mode: 'r' | 'w', id: string): Gen {
  const s = k.s;
  const cls = classOf(name);
  if (RWSEM[cls] && !canTake(s, name, mode)) {
    // rwsem_down_{read,write}_slowpath(): join the wait list, then sleep
    const l = lockOf(s, name);
    (l.waiters ??= []).push({ actor: k.self, mode });
    yield { id: mode === 'r' ? 'rwsem_down_read_slowpath.queue' : 'rwsem_down_write_slowpath.queue' };
    const woken = mode === 'r' ? () => l.holders.includes(k.self) : () => l.holders.length === 0 && queued(l)[0]?.actor === k.self;
    if (!woken()) yield { id, wait: woken, waitFor: { kind: 'lock', lock: name } };
  } else if (!canTake(s, name, mode)) {
    yield { id, wait: () => canTake(s, name, mode), waitFor: { kind: 'lock', lock: name } };
  }
  if (SLEEPING[cls]) note(k, 'might-sleep', null, name);
  noteOrder(k, cls);
  fence(s.cpus[k.cpu]!); // x86: down_read/down_write/spin_lock take the lock with a LOCK-prefixed RMW (store_buffer.ts item 4)
  const l = lockOf(s, name);
  if (l.waiters) l.waiters = l.waiters.filter((w) => w.actor !== k.self); // rwsem_try_write_lock(): off the list
  if (!l.holders.includes(k.self)) l.holders.push(k.self); // a queued reader was granted it already
  l.mode = mode;
  if (cls === 'mmap_lock' && mode === 'w') l.seq = (l.seq ?? 0) + 1; // mmap_write_lock(): mm_lock_seqcount_begin()
  yield { id };
}

/** down_read_trylock() (mmap_read_trylock): fails if a writer holds the rwsem or anyone waits (RWSEM_READ_FAILED_MASK). */
export function tryLockRead(k: K, name: string): boolean {
  const l = k.s.locks[name];
  if (l && ((l.holders.length > 0 && l.mode !== 'r') || queued(l).length > 0)) return false;
  // lockdep validates no dependency for a trylock (validate_chain()); locks taken under it are ordered after it
  fence(k.s.cpus[k.cpu]!); // the trylock's cmpxchg is a LOCK RMW
  const m = lockOf(k.s, name);
  m.holders.push(k.self);
  m.mode = 'r';
  return true;
}

/** spin_trylock(): take a free spinlock now, or fail; part of the caller's step, no lockdep order. */
export function trySpinLock(k: K, name: string): boolean {
  if ((k.s.locks[name]?.holders.length ?? 0) > 0) return false;
  fence(k.s.cpus[k.cpu]!); // the trylock's cmpxchg is a LOCK RMW
  const l = lockOf(k.s, name);
  l.holders.push(k.self);
  l.mode = 'w';
  return true;
}

/** The actors a grace period starting now waits for (sorted: state bytes do not depend on lock order). */
export function rcuReaders(s: KernelState): ActorName[] {
  const out = new Set<ActorName>();
  for (const name in s.locks) {
    const l = s.locks[name]!;
    if (!SLEEPING[l.cls]) for (const h of l.holders) out.add(h);
  }
  return [...out].sort();
}

/** `actor` may have left its read-side section: if so, that is its quiescent state, and no grace period waits for it. */
function rcuQuiescent(s: KernelState, actor: ActorName): void {
  if (s.rcu.callbacks.length === 0 || holdsSpinlock(s, actor)) return; // a spinning lock held: still in its read-side section
  for (const cb of s.rcu.callbacks) {
    if (!cb.readers?.includes(actor)) continue;
    cb.readers = cb.readers.filter((a) => a !== actor);
    if (cb.readers.length === 0) delete cb.readers;
  }
}

export function* unlock(k: K, name: string, id: string): Gen {
  release(k.s, k.self, name);
  yield { id };
}

/** rwsem_mark_wake(): a reader at the head of the wait list gets every queued reader the lock (rule 3). */
function wakeReaders(l: Lock): void {
  if (queued(l)[0]?.mode !== 'r') return;
  for (const w of queued(l)) if (w.mode === 'r') l.holders.push(w.actor);
  l.waiters = queued(l).filter((w) => w.mode !== 'r');
  l.mode = 'r';
}

export function release(s: KernelState, actor: ActorName, name: string): void {
  const l = s.locks[name];
  if (!l || !l.holders.includes(actor)) throw new ModelError(`${actor} releases ${name} it does not hold`);
  if (l.cls === 'mmap_lock' && l.mode === 'w') l.seq = (l.seq ?? 0) + 1; // mmap_write_unlock(): vma_end_write_all()
  l.holders = l.holders.filter((h) => h !== actor);
  if (l.holders.length === 0) {
    l.mode = null;
    wakeReaders(l);
  }
  if (!SLEEPING[l.cls]) rcuQuiescent(s, actor);
}

/** mmap_write_downgrade(): vma_end_write_all(), then downgrade_write() lets the queued readers in. */
export function downgrade(s: KernelState, actor: ActorName, name: string): void {
  const l = s.locks[name];
  if (!l || l.mode !== 'w' || l.holders[0] !== actor) throw new ModelError(`${actor} downgrades ${name} without holding it for write`);
  if (l.cls === 'mmap_lock') l.seq = (l.seq ?? 0) + 1;
  l.mode = 'r';
  wakeReaders(l);
}

/** mm->mm_lock_seq. */
export const mmLockSeq = (s: KernelState, mm: MmId): number => s.locks[mmapLock(mm)]?.seq ?? 0;

/** __is_vma_write_locked(): vma_start_write() ran in the current mmap_write_lock section. */
export const vmaWriteLocked = (s: KernelState, mm: MmId, v: Vma): boolean => v.vmLockSeq === mmLockSeq(s, mm) && mmLockSeq(s, mm) % 2 === 1;

/** vma_start_read(): take the VMA's read lock unless it is write-locked. Part of the caller's step (a trylock). */
export function vmaStartRead(k: K, mm: MmId, v: Vma): boolean {
  if (vmaWriteLocked(k.s, mm, v)) return false;
  fence(k.s.cpus[k.cpu]!); // __refcount_inc_not_zero_limited_acquire() on vm_refcnt is a LOCK RMW
  const l = lockOf(k.s, vmaLock(mm, v.start)); // rwsem_acquire_read(..., trylock = 1): no dependency
  l.holders.push(k.self);
  l.mode = 'r';
  return true;
}

/**
 * vma_start_write(), mmap_lock held for write: wait until the VMA has no
 * reader (__vma_enter_locked()), then store mm_lock_seq in vm_lock_seq.
 * Nothing to do if this mmap_write_lock section locked it already.
 */
export function* vmaStartWrite(k: K, mm: MmId, v: Vma, id: string): Gen {
  const s = k.s;
  if (vmaWriteLocked(s, mm, v)) return;
  if (s.locks[mmapLock(mm)]?.mode !== 'w' || !s.locks[mmapLock(mm)]!.holders.includes(k.self)) throw new ModelError(`${k.self} write-locks a VMA of ${mm} without mmap_lock held for write`);
  const name = vmaLock(mm, v.start);
  const free = () => (s.locks[name]?.holders ?? []).every((h) => h === k.self);
  if (!free()) yield { id, wait: free, waitFor: { kind: 'lock', lock: name } };
  note(k, 'might-sleep', null, name);
  noteOrder(k, 'vma_lock'); // rwsem_acquire(&vma->vmlock_dep_map) then release: an order, no hold
  v.vmLockSeq = mmLockSeq(s, mm);
  yield { id };
}

/** vma_end_read(). */
export function* vmaEndRead(k: K, mm: MmId, v: Vma, id: string): Gen {
  release(k.s, k.self, vmaLock(mm, v.start));
  yield { id };
}
