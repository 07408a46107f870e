// KVM's state (SPEC 4.1, research/tlb-kvm.md 1 and 5): VMs with memslots
// in the VMM process's mm, the TDP (EPT/NPT) mappings of each VM, vCPUs
// with their guest mode and request bits, and a guest TLB per CPU.
//
// Model choices (docs/kvm.md):
// - The TDP MMU's tables are frames: each root (struct kvm_mmu_page of
//   tdp_mmu_roots, kvm_tdp_mmu_alloc_root()) and the one 4K page table
//   under it (the levels between collapsed: the model's gfns fit in one
//   table) are page-table frames, freed through call_rcu() ->
//   tdp_mmu_free_sp_rcu_callback() (paths/kvm_tdp_root.ts). The leaf SPTEs
//   of the valid root are the map `Vm.sptes` gfn -> (pfn, writable); an
//   invalidated root carries its own until it is zapped. An SPTE holds no
//   reference on its frame (acb66dd051d0): it is a non-owning pointer.
// - The guest runs with paging off: a guest access names a gfn, and the
//   guest TLB caches gfn -> pfn (the guest-physical mappings EPT tags by
//   EP4TA). Entries are tagged by VM and vCPU: vCPUs are pinned to the CPU
//   of their thread, so the flush KVM does when a vCPU moves to another CPU
//   (vmx_vcpu_load_vmcs()) never arises.
// - A vCPU is a thread of the VMM process; a thread's consecutive guest
//   operations are one KVM_RUN: enter, the accesses without leaving the
//   guest unless an EPT violation or a kick takes it out, exit
//   (paths/kvm_vcpu_run.ts).

import type { MmId, Pfn } from '../types.js';

/**
 * struct kvm_memory_slot: `pages` gfns from base_gfn, backed by the VMM's
 * memory at userspace_addr (page numbers), or, with `gmem`, by a
 * guest_memfd file from page `pgoff` (KVM_SET_USER_MEMORY_REGION2 with
 * KVM_MEM_GUEST_MEMFD; virt/kvm/guest_memfd.c kvm_gmem_bind(): slot->gmem.file
 * and slot->gmem.pgoff). The model's guest_memfd is created with
 * GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, so kvm_gmem_bind()
 * marks the slot KVM_MEMSLOT_GMEM_ONLY and every fault of it resolves the
 * pfn from the file (docs/kvm.md, guest_memfd). The slot keeps its
 * userspace_addr: kvm_handle_hva_range() still walks it by hva.
 */
export interface Memslot {
  gfn: number;
  hva: number;
  pages: number;
  /** unbound: kvm_gmem_unbind() took the binding out of the file's xarray (paths/kvm_set_memslot.ts). */
  gmem?: { file: string; pgoff: number; unbound?: true };
  /**
   * KVM_MEMSLOT_INVALID: the active copy of a slot being deleted
   * (kvm_invalidate_memslot()); faults on it retry. Absent: valid.
   */
  invalid?: true;
  /** Gone from the active memslots (kvm_delete_memslot()): no lookup finds it. Absent: present. */
  deleted?: true;
}

/** A leaf SPTE: the guest frame's host pfn and whether the guest may write it. */
export interface Spte {
  pfn: Pfn;
  writable: boolean;
  /** Ghost: allocation id of the frame when the SPTE was installed. */
  ghost: number;
  /** Ghost: the clock at install (no-spte-in-window). */
  at: number;
}

export type VcpuMode = 'OUTSIDE_GUEST_MODE' | 'IN_GUEST_MODE';

/** struct kvm_vcpu, as far as the MMU goes. */
export interface Vcpu {
  /** The thread that runs KVM_RUN for it. */
  thread: string;
  vm: string;
  cpu: number;
  mode: VcpuMode;
  /** The CPU runs guest code: from VM-entry (past vcpu_enter_guest()'s re-check) to the next VM-exit. */
  inGuest: boolean;
  /** vcpu->requests: KVM_REQ_TLB_FLUSH and KVM_REQ_MMU_FREE_OBSOLETE_ROOTS are modelled. */
  requests: string[];
  /** A kick IPI (kvm_vcpu_kick()) the vCPU has not acknowledged yet: the sender waits for it. */
  kicked: boolean;
  /** vcpu->arch.mmu->root.hpa: the root it loaded (kvm_mmu_load()), which it holds a reference on. Absent: INVALID_PAGE. */
  root?: { pfn: Pfn; ghost: number };
  /** Inside kvm_mmu_load(), between root.hpa's store and flush_tlb_current(): the vCPU flushes before it enters. Absent: no. */
  loadFlushPending?: true;
}

/**
 * A TDP MMU root (struct kvm_mmu_page with tdp_mmu_root_count) and its one
 * page table, in frames of their own.
 */
export interface TdpRoot {
  pfn: Pfn;
  /** Ghost: allocation id of the root's frame. */
  ghost: number;
  /** The page table linked under the root at the first SPTE (tdp_mmu_link_sp()), or null. */
  pt: { pfn: Pfn; ghost: number } | null;
  /** role.invalid: kvm_tdp_mmu_invalidate_all_roots() marked it; no vCPU may enter the guest on it. Absent: valid. */
  invalid?: true;
  /** tdp_mmu_scheduled_root_to_zap: kvm_tdp_mmu_zap_invalidated_roots() has yet to zap it. Absent: no. */
  toZap?: true;
  /** tdp_mmu_root_count: the TDP MMU's own reference (until the root is zapped) and one per vCPU that loaded it. */
  refs: number;
  /** The leaf SPTEs of an invalidated root, from the valid root's `Vm.sptes` until it is zapped. Absent: none (or valid: see Vm.sptes). */
  sptes?: Record<number, Spte>;
}

/** A guest TLB entry: gfn -> pfn as the CPU cached it from the SPTE, for one vCPU. */
export interface GuestTlbEntry {
  vcpu: string;
  /** The EP4TA it is tagged with: the frame of the root the walk started from (guest-physical mappings, SDM 28.4.1). */
  root: Pfn;
  gfn: number;
  pfn: Pfn;
  writable: boolean;
  ghost: number;
}

/**
 * A guest paging-structure-cache entry: the root's entry for the page
 * table, as the walk that filled a guest TLB entry cached it (SDM 28.4.1:
 * tagged by EP4TA, so by the root's frame). A walk may start from it
 * without reading the root again.
 */
export interface GuestPscEntry {
  vcpu: string;
  root: Pfn;
  /** The page table's frame and its allocation id at the walk. */
  pfn: Pfn;
  ghost: number;
}

export interface Vm {
  name: string;
  /** The VMM process whose mm the memslots point into (kvm->mm). */
  mm: MmId;
  memslots: Memslot[];
  /** The leaf SPTEs of the valid root (TdpRoot.sptes holds an invalidated root's). */
  sptes: Record<number, Spte>;
  /** kvm->arch.tdp_mmu_roots: at most one valid root (one address space), and the invalidated ones not yet freed. Absent: none ever allocated. */
  roots?: TdpRoot[];
  /** kvm->mmu_invalidate_seq, _in_progress, and [range_start, range_end) in gfns (null: INVALID_GPA). */
  mmuInvalidateSeq: number;
  mmuInvalidateInProgress: number;
  mmuInvalidateRange: { start: number; end: number } | null;
  /** kvm->mn_active_invalidate_count. */
  mnActiveInvalidateCount: number;
  /** The MMU notifier was released (exit_mmap()): no more SPTEs are made. */
  released: boolean;
  /** Ghost: clock when each gfn joined the open invalidation range (no-spte-in-window). */
  rangeAt: Record<number, number>;
}

export interface KvmState {
  vms: Record<string, Vm>;
  vcpus: Record<string, Vcpu>;
  /** The guest TLB of each CPU. */
  guestTlb: Record<number, GuestTlbEntry[]>;
  /** The guest paging-structure caches of each CPU. Absent: none filled yet. */
  guestPsc?: Record<number, GuestPscEntry[]>;
  /**
   * Ghost (notifier-balance): the mmu_notifier_invalidate_range_start()
   * calls delivered to subscriptions and not yet ended, by caller and mm;
   * and the ends that found no start.
   */
  openStarts: { actor: string; mm: MmId }[];
  unmatchedEnds: number;
  /** Ghost (notifier-balance): the kvm_mmu_invalidate_begin() calls of guest_memfd invalidations (paths/kvm_gmem.ts) not yet ended, by caller and VM. Absent: none ever made. */
  openGmem?: { actor: string; vm: string }[];
  /** Ghost (coverage): the vCPU threads inside a TDP fault, from the seq sample to mmu_lock's release. */
  faultsInFlight: string[];
  /**
   * The MMU notifier's callbacks inside __kvm_handle_hva_range()'s
   * srcu_read_lock(&kvm->srcu) section, from the memslot walk to the end of
   * the handler (paths/kvm_notifier.ts): a memslot update's
   * synchronize_srcu_expedited() waits for them, as for faultsInFlight.
   * Absent: none.
   */
  srcuReaders?: { actor: string; vm: string }[];
  /** Ghost (coverage): those of faultsInFlight resolving a guest_memfd pfn (kvm_gmem_get_pfn()). Absent: none ever. */
  gmemFaults?: string[];
}

/** srcu_read_lock(&kvm->srcu) by `actor` for `vm` (a memslot walk that must not see a deleted slot go from under it). */
export function srcuReadLock(kvm: KvmState, actor: string, vm: string): void {
  (kvm.srcuReaders ??= []).push({ actor, vm });
}

/** srcu_read_unlock(): the section of srcuReadLock() ends. */
export function srcuReadUnlock(kvm: KvmState, actor: string, vm: string): void {
  const r = kvm.srcuReaders ?? [];
  const i = r.findIndex((x) => x.actor === actor && x.vm === vm);
  if (i >= 0) r.splice(i, 1);
  if (r.length === 0) delete kvm.srcuReaders;
}

/** The subscription name of a VM on its mm's notifier list. */
export const kvmSubscription = (vm: string) => `kvm:${vm}`;

/** gfn_to_memslot(): the active memslot holding `gfn` (the INVALID copy of one being deleted included), or undefined. */
export const gfnToMemslot = (vm: Vm, gfn: number): Memslot | undefined => vm.memslots.find((x) => !x.deleted && gfn >= x.gfn && gfn < x.gfn + x.pages);

/** __gfn_to_hva_memslot(): the hva of `gfn` in memslot `m`, which holds it. */
export const memslotHva = (m: Memslot, gfn: number): number => m.hva + (gfn - m.gfn);

/** kvm_gmem_get_index(): the guest_memfd file and page index backing `gfn` in memslot `m`, or null for an hva-backed slot. */
export const memslotGmem = (m: Memslot, gfn: number): { file: string; index: number } | null => (m.gmem ? { file: m.gmem.file, index: m.gmem.pgoff + (gfn - m.gfn) } : null);

/** The hva of `gfn`, or null outside every memslot. */
export function gfnToHva(vm: Vm, gfn: number): number | null {
  const m = gfnToMemslot(vm, gfn);
  return m ? memslotHva(m, gfn) : null;
}

/** The hva `gfn` had in the memslot that held it, deleted or not (what a guest access is checked at), or null. */
export function gfnToHvaEver(vm: Vm, gfn: number): number | null {
  const m = gfnToMemslot(vm, gfn) ?? vm.memslots.find((x) => gfn >= x.gfn && gfn < x.gfn + x.pages);
  return m ? memslotHva(m, gfn) : null;
}

/** The guest_memfd file and page index backing `gfn`, or null for an hva-backed gfn (or none). */
export function gfnToGmem(vm: Vm, gfn: number): { file: string; index: number } | null {
  const m = gfnToMemslot(vm, gfn);
  return m ? memslotGmem(m, gfn) : null;
}

/** __kvm_gmem_invalidate_begin()'s walk of the file's bindings: the gfn ranges of `vm` bound to pages [start, end) of guest_memfd `file`. */
export function gmemToGfnRanges(vm: Vm, file: string, start: number, end: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const m of vm.memslots) {
    if (m.gmem?.file !== file || m.gmem.unbound) continue; // the file's bindings xarray: a deleted slot stays in it until kvm_gmem_unbind()
    const s = Math.max(start, m.gmem.pgoff);
    const e = Math.min(end, m.gmem.pgoff + m.pages);
    if (s < e) out.push({ start: m.gfn + (s - m.gmem.pgoff), end: m.gfn + (e - m.gmem.pgoff) });
  }
  return out;
}

/** The gfn ranges of `vm` whose hvas overlap [start, end) (kvm_handle_hva_range()'s memslot walk). */
export function hvaToGfnRanges(vm: Vm, start: number, end: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const m of vm.memslots) {
    if (m.deleted) continue; // kvm_for_each_memslot_in_hva_range() over the active memslots
    const s = Math.max(start, m.hva);
    const e = Math.min(end, m.hva + m.pages);
    if (s < e) out.push({ start: m.gfn + (s - m.hva), end: m.gfn + (e - m.hva) });
  }
  return out;
}

/**
 * mmu_invalidate_retry_gfn()'s range test (include/linux/kvm_host.h): an
 * invalidation is in progress and either the gfn lies in its range or no
 * range was ever added. The second case is "a KVM bug" (its comment:
 * "Dropping mmu_lock after bumping mmu_invalidate_in_progress but before
 * updating the range"), WARN_ON_ONCE(range == INVALID_GPA) and retry, since
 * 145725d1542a ("KVM: Use gfn instead of hva for mmu_notifier_retry"):
 * every fault of the VM then retries until the count drops. It cannot
 * happen under mmu_lock in the kernel as modelled (begin and the range are
 * added in one critical section); a mutant that begins without a range
 * (variants/pre-b25ab9cae30f.ts) reaches it.
 */
export const faultMustRetry = (vm: Vm, gfn: number): boolean => vm.mmuInvalidateInProgress > 0 && (vm.mmuInvalidateRange === null || (gfn >= vm.mmuInvalidateRange.start && gfn < vm.mmuInvalidateRange.end));

/** The gfn lies in the open invalidation range (mmu_invalidate_in_progress and the range). */
export const inInvalidation = (vm: Vm, gfn: number): boolean => vm.mmuInvalidateInProgress > 0 && vm.mmuInvalidateRange !== null && gfn >= vm.mmuInvalidateRange.start && gfn < vm.mmuInvalidateRange.end;

/**
 * A guest TLB or PSC entry the CPU may use (SPEC 5.2): its vCPU is alive
 * and has loaded the root the entry is tagged with (EP4TA: the same frame;
 * a root freed and handed out again as a new root matches, which is why
 * kvm_mmu_load() flushes, paths/kvm_tdp_root.ts), and no request that
 * drops it is pending unless the vCPU is running guest code (a vCPU
 * outside the guest, or past the mode store but before the re-check,
 * services its requests before it enters): KVM_REQ_TLB_FLUSH, or
 * KVM_REQ_MMU_FREE_OBSOLETE_ROOTS for an invalidated root; nor is
 * kvm_mmu_load()'s flush of the root it just loaded. A vCPU in the
 * guest with a request pending uses its entries until the kick makes it
 * exit.
 */
export function guestTlbUsable(s: { kvm?: KvmState; tasks: Record<string, { dead: boolean }> }, e: { vcpu: string; root: Pfn }): boolean {
  const v = s.kvm?.vcpus[e.vcpu];
  if (!v || s.tasks[v.thread]?.dead || v.root?.pfn !== e.root) return false;
  if (v.inGuest) return true;
  if (v.loadFlushPending || v.requests.includes('KVM_REQ_TLB_FLUSH')) return false;
  // kvm_mmu_free_obsolete_roots() drops an invalidated root, and one no longer on tdp_mmu_roots (is_obsolete_root())
  if (!v.requests.includes('KVM_REQ_MMU_FREE_OBSOLETE_ROOTS')) return true;
  const r = rootOf(s.kvm!.vms[v.vm]!, v.root);
  return r !== undefined && !r.invalid;
}

/** The root `r` (a vCPU's loaded root) in the VM's tdp_mmu_roots, by frame and allocation, or undefined once it is gone. */
export const rootOf = (vm: Vm, r: { pfn: Pfn; ghost: number } | undefined): TdpRoot | undefined => (r ? vm.roots?.find((x) => x.pfn === r.pfn && x.ghost === r.ghost) : undefined);

/** The leaf SPTEs of root `r`: the VM's map for its valid root, the root's own once invalidated. */
export const sptesOf = (vm: Vm, r: TdpRoot): Record<number, Spte> => (r.invalid ? (r.sptes ?? {}) : vm.sptes);

/** Every leaf SPTE of the VM, the valid root's and those invalidated roots still carry, with the root's frame (null: the valid root's). */
export function* allSptes(vm: Vm): Generator<[gfn: number, spte: Spte, root: TdpRoot | null]> {
  for (const g in vm.sptes) yield [Number(g), vm.sptes[g]!, null];
  for (const r of vm.roots ?? []) {
    if (!r.invalid || !r.sptes) continue;
    for (const g in r.sptes) yield [Number(g), r.sptes[g]!, r];
  }
}
