// A scenario (SPEC 4.2): a configuration, a setup, threads (a process on a
// CPU running a list of operations), speculative walks by the hardware,
// and a schedule. All plain data: printed, saved, replayed and shrunk.

import type { Config } from '../kernel/config.js';
import type { Prot } from '../kernel/types.js';

export type SetupItem =
  | { kind: 'process'; name: string }
  /** A shared file; `hugetlb`: on hugetlbfs, PMD-sized folios (pages a multiple of span(c, 2)). */
  | { kind: 'file'; name: string; pages: number; hugetlb?: boolean }
  | { kind: 'mmap'; proc: string; start: number; pages: number; prot: Prot; file: string | null; pgoff: number }
  /** An msharefs file, sized to one top-level entry, with its task-less host mm and (v3) an owner. */
  | { kind: 'msharefs'; name: string; owner: string | null }
  /** MSHAREFS_CREATE_MAPPING before the run: anonymous shared memory at `offset` pages into the region. */
  | { kind: 'mshare_map'; file: string; offset: number; pages: number; prot: Prot }
  /**
   * A VM created by process `proc` (KVM_CREATE_VM: its MMU notifier is
   * registered on the process's mm before the run), with memslots mapping
   * gfns to pages of that mm (KVM_SET_USER_MEMORY_REGION).
   */
  | { kind: 'vm'; name: string; proc: string; memslots: { gfn: number; hva: number; pages: number; gmem?: { file: string; pgoff: number } }[] }
  /**
   * A guest_memfd of `pages` pages (KVM_CREATE_GUEST_MEMFD with
   * GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED), bound by the
   * memslots of one VM that name it (`gmem` in a memslot; kvm_gmem_bind()).
   */
  | { kind: 'gmem'; name: string; pages: number }
  /**
   * A device bound to process `proc`'s mm by iommu_sva_bind_device() before
   * the run (paths/sva.ts): its SVA domain's MMU notifier is registered on
   * the mm. Its DMA is a thread of the scenario whose operations are all
   * dma_read / dma_write of this device (validate.ts).
   */
  | { kind: 'sva_bind'; dev: string; proc: string }
  /**
   * The shared zero page: read faults of untouched anonymous memory map it
   * read-only (do_anonymous_page(), paths/fault.ts) and a write COWs from it.
   * A setup item so that scenarios written before it keep their traces.
   */
  | { kind: 'zero_page' }
  /**
   * A swap device (paths/reclaim.ts, paths/swap.ts): `reclaim` of an
   * ordinary anonymous folio writes it to swap and installs swap entries;
   * a fault on one runs do_swap_page(). Without it anonymous folios other
   * than lazyfree ones are not reclaimed (no swap space: folio_alloc_swap()
   * fails). A setup item so that scenarios written before it keep their traces.
   */
  | { kind: 'swap' };

export type Op =
  | { kind: 'read' | 'write'; va: number }
  /** One KVM_RUN of the thread's vCPU of `vm` in which the guest reads or writes guest frame `gfn`. */
  | { kind: 'guest_read' | 'guest_write'; vm: string; gfn: number }
  /**
   * KVM_CREATE_VM of a VM the setup declares, by a thread of its process: its
   * MMU notifier joins the mm now (paths/mmu_notifier_register.ts) instead of
   * before the run, and its other vCPU threads start after it.
   */
  | { kind: 'kvm_create_vm'; vm: string }
  /**
   * KVM_SET_USER_MEMORY_REGION(2) with memory_size 0 on memslot `slot` of
   * `vm` (an index into its memslots): kvm_set_memslot(KVM_MR_DELETE)
   * (paths/kvm_set_memslot.ts), from a thread of the VMM process.
   */
  | { kind: 'kvm_delete_memslot'; vm: string; slot: number }
  /**
   * A DMA read or write by SVA device `dev` at `va` of the mm it is bound
   * to, translated by the IOMMU (paths/sva.ts). The thread that holds it
   * is the device, not a CPU task; its `cpu` is where the I/O page fault
   * handler runs.
   */
  | { kind: 'dma_read' | 'dma_write'; dev: string; va: number }
  | { kind: 'mmap'; va: number; pages: number; prot: Prot; file: string | null; pgoff: number }
  | { kind: 'munmap' | 'madvise'; va: number; pages: number }
  /**
   * madvise(MADV_FREE) (paths/madvise_free.ts); written `madvise VA
   * pages=N advice=free` in scenario text. A kind of its own so that every
   * consumer of `madvise` (MADV_DONTNEED: unmap-complete, the ideal
   * memory's zeroing) has to decide about it.
   */
  | { kind: 'madv_free'; va: number; pages: number }
  | { kind: 'mprotect'; va: number; pages: number; prot: Prot }
  /**
   * fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len)
   * on guest_memfd `file` (paths/kvm_gmem.ts kvm_gmem_punch_hole()),
   * offset and length in pages.
   */
  | { kind: 'gmem_punch_hole'; file: string; offset: number; pages: number }
  /**
   * pin_user_pages_fast() of one page. With `dma` the pin is FOLL_WRITE, the
   * buffer of an O_DIRECT read: the device writes the page and the caller
   * unpins it dirty (paths/gup_fast.ts); without, a read pin dropped again.
   */
  | { kind: 'gup'; va: number; dma?: boolean }
  | { kind: 'idle' }
  | { kind: 'flush_tlb_all' }
  /** mmap of an msharefs file (attach) at `va`, one top-level entry long. */
  | { kind: 'attach'; file: string; va: number }
  /** MSHAREFS_CREATE_MAPPING (over an existing mapping too) and MSHAREFS_UNMAP, offsets in pages. */
  | { kind: 'mshare_map'; file: string; offset: number; pages: number; prot: Prot }
  | { kind: 'mshare_unmap'; file: string; offset: number; pages: number }
  /** get_user_pages() (the slow path, under mmap_lock); `dma` as for gup. */
  | { kind: 'get_user_pages'; va: number; dma?: boolean }
  /** task_numa_work(): NUMA-hinting protection change of the whole address space. */
  | { kind: 'numa_scan' }
  /**
   * Direct reclaim from an allocation in this thread
   * (__alloc_pages_direct_reclaim() -> try_to_free_pages() -> ...
   * shrink_folio_list()), in the thread's own context, on its CPU with its
   * mm loaded: reclaim the folio mapped at `va` of the thread's process,
   * from every mm that maps it (paths/reclaim.ts). Background reclaim by
   * kswapd, a kernel thread with no mm, is Scenario.kswapd.
   */
  | { kind: 'reclaim'; va: number }
  /**
   * Migration of the folio mapped at `va` of the thread's process to a new
   * frame (move_pages(2) with MPOL_MF_MOVE_ALL -> migrate_pages()), from
   * every mm that maps it (paths/migrate.ts). Mainline policies only.
   */
  | { kind: 'migrate'; va: number }
  /**
   * fork(): a new process `child` whose mm dup_mmap() copies from this
   * thread's (paths/fork.ts); the threads the scenario gives `child` start
   * when it exists (wake_up_new_task()).
   */
  | { kind: 'fork'; child: string }
  /**
   * mremap(va, pages, pages, MREMAP_MAYMOVE | MREMAP_FIXED, to): move the
   * mappings of [va, va + pages) to [to, to + pages), unmapping what was
   * there first (paths/mremap.ts; several VMAs move together since
   * d23cb648e365, gaps kept).
   */
  | { kind: 'mremap'; va: number; to: number; pages: number }
  /** do_exit(): exit_mshare() for an owner, then every VMA unmapped. */
  | { kind: 'exit' }
  // mshare 2026 (paths/mshare_2026.ts): `file` names the region's fd, which
  // every process of the scenario holds (inherited or passed: the talk does
  // not say how other processes get it). Offsets and sizes in pages.
  /** mshare_create(O_CLOEXEC): a new region owned by the caller. */
  | { kind: 'mshare_create'; file: string }
  /** ftruncate(fd): the region's size, once. */
  | { kind: 'ftruncate'; file: string; pages: number }
  /** mshare_attach(fd, offset, size, addr): a window VMA at `va`. */
  | { kind: 'mshare_attach'; file: string; va: number; offset: number; pages: number }
  /** mshare_advise(fd, offset, size, MADV_DONTNEED). */
  | { kind: 'mshare_advise'; file: string; offset: number; pages: number }
  /** mshare_protect(fd, offset, size, prot). */
  | { kind: 'mshare_protect'; file: string; offset: number; pages: number; prot: Prot }
  /** close(fd): by the owner, the region goes and every other process's mappings are removed. */
  | { kind: 'close'; file: string };

export interface ThreadSpec {
  name: string;
  proc: string;
  cpu: number;
  ops: Op[];
}

/** Speculative page walks the hardware of `cpu` performs, in order, when scheduled. */
export interface Speculation {
  cpu: number;
  vas: number[];
}

/**
 * A preemption point: switch to `actor` and let it run `steps` steps, or
 * until it has taken a step with id `until`, or until it blocks or ends,
 * whichever comes first. `until` lets a race diagram be written by hand.
 */
export interface ScheduleEntry {
  actor: string;
  steps?: number;
  until?: string;
}

/** A heuristic decision (SPEC 4.2) taken the `nth` time `actor` reaches `point`. */
export interface Choice {
  actor: string;
  point: string;
  nth: number;
}

/** A folio kswapd is asked to reclaim: the one mapped at `va` of process `proc` (isolate_lru_folios() picking it). */
export interface KswapdReclaim {
  proc: string;
  va: number;
}

/**
 * kswapd (mm/vmscan.c kswapd() -> balance_pgdat() -> ... ->
 * shrink_folio_list()): the node's reclaim kernel thread, an actor named
 * `name` on `cpu`, with no mm of its own. Being switched in on a CPU
 * leaves the CPU lazy in the mm it had loaded (context_switch() ->
 * enter_lazy_tlb()); each request is one balance_pgdat() pass over one
 * folio (paths/reclaim.ts, the steps direct reclaim runs, with kswapd's
 * own current->tlb_ubc). One kswapd: the model has one node.
 */
export interface KswapdSpec {
  name: string;
  cpu: number;
  reclaims: KswapdReclaim[];
}

export interface Scenario {
  config: Partial<Config>;
  setup: SetupItem[];
  threads: ThreadSpec[];
  speculation: Speculation[];
  schedule: ScheduleEntry[];
  choices: Choice[];
  /** Absent in scenarios without background reclaim (every scenario written before it: their files and traces are unchanged). */
  kswapd?: KswapdSpec;
}

export const ipiActor = (cpu: number) => `ipi@cpu${cpu}`;
export const specActor = (cpu: number) => `spec@cpu${cpu}`;
/** The store buffer of one CPU (x86-TSO, model/kernel/store_buffer.ts): each of its steps commits the oldest buffered store. */
export const storeBufferActor = (cpu: number) => `sb@cpu${cpu}`;
export const RCU_ACTOR = 'rcu';
/**
 * The block device that completes O_DIRECT reads into write-pinned pages
 * (paths/gup_fast.ts, blkdev_bio_end_io_simple): an actor of a run whose
 * threads have a dma=write op, none otherwise.
 */
export const DIO_ACTOR = 'dio';
export const hasDio = (threads: readonly { ops: readonly { kind: string; dma?: boolean }[] }[]): boolean => threads.some((t) => t.ops.some((o) => (o.kind === 'gup' || o.kind === 'get_user_pages') && o.dma === true));

/** The VMs a `kvm_create_vm` operation creates at run time: their notifiers are not registered by the setup. */
export function vmsCreatedAtRun(sc: Pick<Scenario, 'threads'>): Set<string> {
  const out = new Set<string>();
  for (const t of sc.threads) for (const op of t.ops) if (op.kind === 'kvm_create_vm') out.add(op.vm);
  return out;
}
/** A thread that is an SVA device: its operations are DMA (validate.ts makes them all so). */
export const isDeviceThread = (t: ThreadSpec): boolean => t.ops.length > 0 && t.ops.every((o) => o.kind === 'dma_read' || o.kind === 'dma_write');
