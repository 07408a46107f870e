// The kernel state of SPEC 4.1 as plain data. Kernel paths mutate it one
// atomic step at a time; the oracle's ghost state lives in `ghost`, apart
// from what the kernel itself could read.

import type { Config } from './config.js';
import type { ActorName, MmId, Pfn, Prot, Vpn } from './types.js';
import type { BufferedStore, TsoView } from './store_buffer.js';
import type { KvmState } from './kvm/state.js';
import type { SvaState } from './sva/state.js';

/** One entry of a page-table page at any level; `null` is pte_none. */
export interface Pte {
  pfn: Pfn;
  /** Leaf only. */
  writable: boolean;
  /** Accessed and dirty bits, set by the hardware walker (leaf only). */
  accessed: boolean;
  dirty: boolean;
  /** x86 _PAGE_PROTNONE: still mapped for the kernel, not present for the walker. */
  protNone: boolean;
  /** Ghost: allocation id of the frame this entry was made for. */
  ghost: number;
  /**
   * A PMD leaf (_PAGE_PSE on a level-2 entry): a hugetlb folio of
   * span(c, 2) pages; `pfn` is its head frame (Frame.subpages).
   */
  huge?: boolean;
  /**
   * A migration entry (include/linux/swapops.h make_writable_migration_entry()
   * / make_readable_migration_entry()): a non-present swap PTE naming the
   * folio under migration, `pfn`; set with `protNone` so that the hardware
   * walker and GUP see it not present. try_to_migrate_one() installs it;
   * remove_migration_pte() replaces it (paths/migrate.ts). It holds no
   * reference and no mapcount.
   */
  migration?: 'write' | 'read';
  /**
   * A swap entry (swp_entry_to_pte(), include/linux/swapops.h): a
   * non-present PTE naming slot `swap` of the swap device
   * (KernelState.swap); set with `protNone` so that the hardware walker and
   * GUP see it not present, and `pfn` -1 (it names no frame).
   * try_to_unmap_one() installs it (paths/try_to_unmap_one.ts);
   * do_swap_page() replaces it (paths/swap.ts). It holds one count of the
   * slot (swap_map), no frame reference and no mapcount. `exclusive`:
   * pte_swp_mkexclusive(), the folio was exclusive to this PTE when unmapped.
   */
  swap?: number;
  swapExclusive?: boolean;
}

export type FrameState = 'free' | 'data' | 'pagetable';

export interface Frame {
  pfn: Pfn;
  state: FrameState;
  /** References: page tables, mmu_gather batches, GUP pins, the page cache. */
  refcount: number;
  mapcount: number;
  /** Data frames: the value stored (one word per page is enough). */
  content: number;
  /** Page-table frames: level (4 = PGD ... 1 = PTE), owner mm, entries. */
  level: number;
  owner: MmId | null;
  entries: (Pte | null)[] | null;
  /** Folio dirty bit (moved from PTEs by zap). */
  dirty: boolean;
  /**
   * An anonymous folio with PG_swapbacked clear: MADV_FREE's
   * folio_mark_lazyfree() (paths/madvise_free.ts). Reclaim may discard it
   * while clean (try_to_unmap_one.ts); folio_set_swapbacked() clears it.
   * Absent: swap-backed (every anonymous folio not MADV_FREEd).
   */
  lazyfree?: boolean;
  /**
   * PG_swapcache with folio->swap: the swap slot whose swap-cache folio
   * this is (paths/swap.ts). The swap cache holds one reference. Absent:
   * not in the swap cache.
   */
  swapSlot?: number;
  /**
   * pt_share_count: the extra links to this table - a shared PUD table
   * (mshare v3), or a hugetlb PMD table shared by huge_pmd_share() (0: not
   * shared, ptdesc_pmd_is_shared()).
   */
  shareCount: number;
  /**
   * Head frame of a hugetlb folio: its span(c, 2) pages in order (model
   * choice: not contiguous frames; a PMD leaf maps page i of its range to
   * subpages[i]). Each page keeps its own content and references.
   */
  subpages?: Pfn[];
  /**
   * PG_locked, as migration holds it on the source folio from
   * migrate_folio_unmap() to migrate_folio_move()'s folio_unlock()
   * (paths/migrate.ts): a fault on one of its migration entries waits for
   * it (migration_entry_wait_on_locked()). Absent: unlocked.
   */
  locked?: boolean;
  /** Ghost: bumped at each allocation, so a reallocated frame is told apart. */
  allocId: number;
  /** Ghost: the logical page held (data) or a description (tables). */
  lp: string;
}

/** anon: private anonymous; shared: a shared file (or shmem object) mapping; mshare: a sharer's msharefs VMA. */
export type VmaKind = 'anon' | 'shared' | 'mshare';

export interface Vma {
  start: Vpn;
  /** Exclusive. */
  end: Vpn;
  prot: Prot;
  kind: VmaKind;
  /** Shared file mappings: file name and page offset of `start`. */
  file: string | null;
  pgoff: number;
  /**
   * vma->vm_lock_seq: vma_start_write() stores the mm's mm_lock_seq here;
   * the VMA is write-locked while the two are equal, that is until
   * mmap_write_unlock() or mmap_write_downgrade() (include/linux/mmap_lock.h).
   * Absent: never write-locked (UINT_MAX in the kernel).
   */
  vmLockSeq?: number;
  /** vma->anon_vma is set (__anon_vma_prepare() at the first anonymous fault). */
  anonVma?: boolean;
}

export interface Mm {
  id: MmId;
  pgd: Pfn;
  /** mm->context.ctx_id: unique, never reused. */
  ctxId: number;
  /** mm->context.tlb_gen. */
  tlbGen: number;
  /** mm_cpumask(mm), kept sorted. */
  cpumask: number[];
  /** mm->tlb_flush_pending: open mmu_gathers. */
  tlbFlushPending: number;
  vmas: Vma[];
  /** mm->notifier_subscriptions: registered secondary MMUs (none until KVM is modelled). */
  notifiers: string[];
  /** The process is exiting (exit_group): its threads start no new operation. */
  exiting: boolean;
  /** mm_global_asid(mm) != 0: given by consider_global_asid() under INVLPGB; its range flushes broadcast. */
  globalAsid?: boolean;
  /**
   * mm->tlb_flush_batched: the pending and flushed halves of the atomic
   * (mm/rmap.c). Reclaim's deferred unmap flush bumps `pending`
   * (set_tlb_ubc_flush_pending); flush_tlb_batched_pending() flushes the mm
   * when they differ (paths/tlbbatch.ts, paths/flush_tlb_batched_pending.ts).
   */
  tlbFlushBatched: { pending: number; flushed: number };
}

export interface File {
  name: string;
  pages: number;
  /** Page cache: page index -> frame (holds one reference). */
  cache: (Pfn | null)[];
  /** An anonymous shared-memory object (shmem): released with its last mapping. */
  anonymous: boolean;
  /** A hugetlbfs file: PMD-sized folios (span(c, 2) pages), kept in the page cache for the whole run. */
  hugetlb?: boolean;
  /**
   * A guest_memfd (virt/kvm/guest_memfd.c, __kvm_gmem_create()), bound by
   * the memslots that name it (one VM's: validate.ts); its page cache is
   * the guest's memory. Folios are unevictable
   * (mapping_set_unevictable) and unmovable (kvm_gmem_migrate_folio()
   * fails), so neither reclaim nor migration reaches them; they leave the
   * cache only through kvm_gmem_punch_hole() (paths/kvm_gmem.ts).
   */
  gmem?: true;
  /** i_mmap of a hugetlbfs file (huge_pmd_share() searches it): linked at mmap, unlinked by free_pgtables(). */
  iMmap?: IMmapEntry[];
}

/** An entry of a hugetlbfs file's i_mmap: the VMA, and whether huge_pmd_share() may still use it (vm_private_data set). */
export interface IMmapEntry {
  mm: MmId;
  start: number;
  end: number;
  pgoff: number;
  shareable: boolean;
}

/**
 * An msharefs file (research/mshare.md 3.1): a task-less host mm whose one
 * top-level entry covers the region, the sharer VMAs attached to it (the
 * inode's i_mmap), and the owner whose exit unmaps everything (v3).
 */
export interface MshareFile {
  name: string;
  host: MmId;
  /** The host's region: one top-level entry, [start, start + pages). */
  start: number;
  pages: number;
  owner: MmId | null;
  /** i_mmap: the sharer VMAs, by mm and start; `forked`: a child's copy made by dup_mmap() (coverage). */
  sharers: { mm: MmId; start: number; forked?: true }[];
  /** Inner objects created by MSHAREFS_CREATE_MAPPING, for naming. */
  objects: number;
  /** mshare 2026: the sharer list (one entry per window VMA), walked under its spinlock by every host-side flush. */
  list?: { mm: MmId; start: number }[];
  /** mshare 2026: the size set by ftruncate() (pages), or null before it. */
  size?: number | null;
  /** mshare 2026: processes that closed their (inherited or passed) fd. */
  closedBy?: MmId[];
  /** mshare 2026: the list entry removed last (for the coverage counters). */
  lastLeft?: { mm: MmId; start: number };
}

/** One PCID slot of cpu_tlbstate.ctxs[]. */
export interface PcidSlot {
  ctxId: number;
  tlbGen: number;
}

export interface TlbEntry {
  slot: number;
  vpn: Vpn;
  pfn: Pfn;
  writable: boolean;
  dirty: boolean;
  /** Ghost: allocation id of the frame when the entry was filled. */
  ghost: number;
  /** Ghost: the ghost clock when it was filled. */
  filled: number;
  /**
   * Filled from a PMD leaf: the first page of the range one 2M-style TLB
   * entry covers. The model keeps one TlbEntry per page of the range, all
   * filled together; an INVLPG of any page in it drops them all (tlb.ts).
   */
  huge?: number;
}

/** Paging-structure-cache entry: a va prefix -> the table at `level`. */
export interface PscEntry {
  slot: number;
  level: number;
  prefix: number;
  pfn: Pfn;
  ghost: number;
}

export const TLB_FLUSH_ALL = -1;

/** struct flush_tlb_info. `mm === null` is flush_tlb_all. */
export interface FlushInfo {
  mm: MmId | null;
  start: number;
  /** Exclusive; TLB_FLUSH_ALL for a full flush. */
  end: number;
  /**
   * 1 << stride_shift, in pages: flush_tlb_func() issues one INVLPG per
   * stride from `start` (1 for PAGE_SHIFT, span(c, 2) for PMD_SHIFT, ...).
   */
  stride: number;
  freedTables: boolean;
  newTlbGen: number;
  trimCpumask: boolean;
}

export interface Ipi {
  seq: number;
  from: ActorName;
  /** The function the IPI runs on the target (smp_call_function_many_cond). */
  func: 'flush_tlb_func' | 'do_flush_tlb_all' | 'flush_tlb_func_mshare' | 'tlb_remove_table_smp_sync';
  info: FlushInfo;
}

export interface Cpu {
  id: number;
  /** cpu_tlbstate.loaded_mm; null is init_mm (kernel-only, no user slot). */
  loadedMm: MmId | null;
  /** loaded_mm == LOADED_MM_SWITCHING inside switch_mm_irqs_off. */
  switching: boolean;
  isLazy: boolean;
  /** cpu_tlbstate.loaded_mm_asid; -1 under init_mm. */
  loadedSlot: number;
  nextAsid: number;
  slots: PcidSlot[];
  tlb: TlbEntry[];
  psc: PscEntry[];
  /** Interrupts disabled by the task running here; `irqOffSeq` is the RCU sequence when they went off. */
  irqsOff: boolean;
  irqOffSeq: number;
  /** The IPI being handled right now (interrupts the task). */
  inIrq: number | null;
  ipis: Ipi[];
  /** The thread inside an operation on this CPU (no preemption inside a syscall). */
  owner: ActorName | null;
  /** The task last switched in: a thread, or null for the idle task. */
  curr: ActorName | null;
  /** x86-TSO (store_buffer.ts): loaded_mm / is_lazy stores not yet visible to other CPUs, oldest first. */
  storeBuffer: BufferedStore[];
  /** loaded_mm and is_lazy as memory holds them: what other CPUs read. */
  memory: TsoView;
}

export type LockClass = 'mmap_lock' | 'page_table_lock' | 'ptl' | 'i_mmap_rwsem' | 'vma_lock' | 'pmd_lock' | 'mshare_list_lock' | 'hugetlb_vma_lock' | 'kvm_mmu_lock' | 'anon_vma' | 'invalidate_lock' | 'kvm_slots_lock';

/** A task on an rwsem's wait list (struct rwsem_waiter). */
export interface RwsemWaiter {
  actor: ActorName;
  mode: 'r' | 'w';
}

export interface Lock {
  cls: LockClass;
  /** Readers or the one writer (spinlocks: the holder; a VMA lock: its readers, vm_refcnt). */
  holders: ActorName[];
  mode: 'r' | 'w' | null;
  /** rwsems: sem->wait_list, oldest first (kernel/locking/rwsem.c). */
  waiters?: RwsemWaiter[];
  /** mmap_lock: mm->mm_lock_seq, odd while the lock is held for write (mm_lock_seqcount_begin/end). */
  seq?: number;
}

/** An mmu_gather on a task's kernel stack (include/asm-generic/tlb.h). */
export interface Gather {
  mm: MmId;
  start: number;
  end: number;
  fullmm: boolean;
  /**
   * tlb->cleared_ptes / _pmds / _puds / _p4ds: the levels whose entries were
   * cleared since the last flush; tlb_get_unmap_shift() takes the lowest.
   */
  clearedPtes: boolean;
  clearedPmds: boolean;
  clearedPuds: boolean;
  clearedP4ds: boolean;
  freedTables: boolean;
  /**
   * tlb->unshared_tables (8ce720d5bd91, hugetlb PMD unsharing): a shared
   * table was unlinked, not freed: tlb_unshare_pmd_ptdesc() sets it
   * (paths/hugetlb.ts); it takes part in the flush-needed test as in tlb.h.
   */
  unsharedTables: boolean;
  /**
   * tlb->fully_unshared_tables (8ce720d5bd91): this gather unshared a
   * table whose pt_share_count reached 0; tlb_flush_unshared_tables()
   * then sends tlb_remove_table_sync_one(). Not cleared by __tlb_reset_range().
   */
  fullyUnsharedTables?: boolean;
  /** Pages whose PTE reference moved into the batch (__tlb_remove_folio_pages). */
  pages: Pfn[];
  /** Pages whose rmap removal waits for the flush (DELAY_RMAP, dirty file pages). */
  delayedRmap: Pfn[];
  /** Page-table pages queued by tlb_remove_table. */
  tables: Pfn[];
}

export interface RcuCallback {
  /** RCU sequence when call_rcu() ran. */
  seq: number;
  tables: Pfn[];
  /**
   * The actors that held a spinlock or rwlock (an RCU read-side critical
   * section) when call_rcu() ran and have held one ever since (locks.ts
   * rcuReaders()); absent once none is left. The grace period waits for
   * them.
   */
  readers?: ActorName[];
}

/** What a task has on its kernel stack that another actor's step can observe. */
export interface Task {
  /** The process (mm) the thread belongs to; null for a kernel thread (kswapd: task->mm == NULL). */
  mm: MmId | null;
  /** The IOPF workqueue's kernel thread of an SVA device (paths/sva.ts), not kswapd. Absent otherwise. */
  iopf?: true;
  gather: Gather | null;
  /** A lockless walker in progress (GUP-fast): tables it is reading through. */
  walker: { pfn: Pfn; ghost: number }[] | null;
  /** Operations still to come include an exit (so the thread may yet take its process down). */
  exitPending: boolean;
  /** The thread has gone through exit_mm(): it no longer holds an mm_users reference. */
  dead: boolean;
  /**
   * The VMs this thread's kvm_create_vm operations have yet to create
   * (paths/mmu_notifier_register.ts); their other vCPU threads wait for it.
   * Absent when none: runs without one keep their state bytes.
   */
  creates?: string[];
  /** Ghost (coverage): this task's mm_take_all_locks() found a lock held by another actor and waited for it. */
  registerWaited?: true;
  /**
   * current->tlb_ubc (struct tlbflush_unmap_batch): reclaim's deferred
   * flush (paths/tlbbatch.ts). Absent until the task first reclaims.
   */
  tlbUbc?: { cpumask: number[]; flushRequired: boolean; writable: boolean };
  /**
   * The processes this thread's `fork` operations will still create
   * (paths/fork.ts): a child's threads wait for their mm until it exists,
   * or until no thread can create it any more. Absent when it has none.
   */
  forks?: string[];
}

/**
 * One slot of the swap device: what swap_writeout() last wrote there, its
 * swap_map count (the swap PTEs naming it: folio_dup_swap() adds one,
 * swap_free_nr() / free_swap_and_cache() drop one), and the swap-cache
 * folio of the slot (the swap cache's xarray entry), if any. Model choice:
 * slots are never reused, so a slot freed with its count at zero and no
 * swap-cache folio simply stays unused.
 */
export interface SwapSlot {
  content: number;
  count: number;
  cache: Pfn | null;
  /** Ghost: the logical page of the folio written here (for reports). */
  lp: string;
}

export interface SwapState {
  slots: SwapSlot[];
}

/** Ghost state: only the oracle reads it. */
export interface Ghost {
  nextAllocId: number;
  /** Ticks at every TLB fill, PTE clear and operation entry, to order them. */
  clock: number;
  /** Open and closed operations: what each unmapped (allocation ids) for unmap-complete. */
  ops: Record<string, GhostOp>;
  /** Lockdep: class -> classes acquired while holding it. */
  lockOrder: Record<string, string[]>;
}

/** A translation va -> frame (by allocation id) taken away at ghost time `at`. */
export interface GhostMapping {
  vpn: number;
  ghost: number;
  at: number;
}

/** Where else the op's range is visible: a sharer's window onto a host range; op vpn = vpn + toOp. */
export interface GhostAlias {
  mm: MmId;
  start: number;
  end: number;
  toOp: number;
}

export interface GhostOp {
  kind: string;
  mm: MmId;
  start: number;
  end: number;
  prot: Prot | null;
  /** The processes that see the range (the op's mm, and every sharer of a host range) at invocation. */
  aliases: GhostAlias[];
  /** What the range mapped at invocation (present PTEs and usable TLB entries); `at` is the clock then. */
  mappedAtInvoke: GhostMapping[];
  /** The PTEs this operation cleared; `at` is the clock when it cleared each. */
  zapped: GhostMapping[];
  open: boolean;
}

export interface KernelState {
  config: Config;
  frames: Frame[];
  /** Free frames; the allocator pops from the end, so the most recently freed is reused first. */
  freeList: Pfn[];
  mms: Record<string, Mm>;
  files: Record<string, File>;
  mshare: Record<string, MshareFile>;
  cpus: Cpu[];
  locks: Record<string, Lock>;
  rcu: { seq: number; callbacks: RcuCallback[] };
  tasks: Record<ActorName, Task>;
  nextCtxId: number;
  ipiSeq: number;
  /** State a variant adds of its own, under its namespace (SPEC 4.4). */
  ext: Record<string, unknown>;
  /** KVM (model/kernel/kvm/state.ts): absent unless the setup creates a VM, so runs without one keep their state bytes. */
  kvm?: KvmState;
  /** IOMMU SVA (model/kernel/sva/state.ts): absent unless the setup binds a device. */
  sva?: SvaState;
  /**
   * The shared zero page (my_zero_pfn(), paths/fault.ts do_anonymous_page):
   * present when the setup declares `zero_page`. Never on the free list,
   * never counted in a mapcount (vm_normal_page() returns NULL for it).
   */
  zeroPfn?: Pfn;
  /**
   * The swap device (setup item `swap`, paths/swap.ts); absent: no swap,
   * so anonymous folios other than lazyfree ones are not reclaimed.
   */
  swap?: SwapState;
  /**
   * O_DIRECT reads in flight (paths/gup_fast.ts): submitted to the block
   * device in order, each into the page its write pin holds, and the pins
   * whose read completed, until their thread wakes. Absent until a first
   * dma=write op submits one.
   */
  dio?: { queue: { pin: string; page: Pfn }[]; done: string[] };
  ghost: Ghost;
}
