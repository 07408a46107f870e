// The TDP page fault (arch/x86/kvm/mmu/mmu.c kvm_tdp_page_fault() ->
// direct_page_fault() / kvm_tdp_mmu_page_fault(); kvm_mmu_faultin_pfn();
// virt/kvm/kvm_main.c hva_to_pfn(); tdp_mmu.c kvm_tdp_mmu_map()):
//
//   0. kvm_mmu_do_page_fault(): fault.slot = kvm_vcpu_gfn_to_memslot(),
//      under the kvm->srcu read lock vcpu_run() holds outside the guest
//      (the model's faultsInFlight, from here to 7, is that read side:
//      synchronize_srcu_expedited() in a memslot update waits for it,
//      paths/kvm_set_memslot.ts). No memslot: the access is MMIO
//      (kvm_handle_noslot_fault(); the KVM_RUN exits to the VMM, which the
//      model does not emulate further).
//   1. kvm_mmu_faultin_pfn(): fault->mmu_seq = kvm->mmu_invalidate_seq,
//      then smp_rmb(): the snapshot comes before the pfn is looked up, so
//      an invalidation that ends after the lookup changes the seq. Then
//      "Retry the page fault if the gfn hit a memslot that is being
//      deleted or moved" (slot->flags & KVM_MEMSLOT_INVALID: RET_PF_RETRY),
//      so no SPTE of a slot being deleted is made after its zap.
//   2. hva_to_pfn() in the VMM's mm: get_user_pages (paths/gup.ts), which
//      faults the page in (handle_mm_fault() through the user fault path)
//      and retries; the page comes back pinned. A write fault needs a
//      writable PTE; a read fault maps writable when the PTE allows it
//      (hva_to_pfn_slow()'s opportunistic upgrade). A fault that finds no
//      VMA or no permission is -EFAULT.
//   2'. A gfn of a guest_memfd-backed slot (KVM_MEMSLOT_GMEM_ONLY:
//      __kvm_mmu_faultin_pfn() -> fault_from_gmem() ->
//      kvm_mmu_faultin_pfn_gmem()) resolves the pfn from the file instead:
//      kvm_gmem_get_pfn() -> kvm_gmem_get_folio() finds the folio in the
//      file's page cache or allocates a zeroed one (FGP_CREAT,
//      clear_highpage() when !uptodate) and returns it with a reference
//      (fault->refcounted_page). No GUP, no walk of the VMM's page tables,
//      no VMA: the VMM's mappings play no part. map_writable = !(slot->flags
//      & KVM_MEM_READONLY): always, in the model. The seq sample of 1 and
//      the check of 4 are the same ones (virt/kvm/guest_memfd.c,
//      arch/x86/kvm/mmu/mmu.c; docs/kvm.md, guest_memfd).
//   3. read_lock(&kvm->mmu_lock) (the TDP MMU faults under the read lock).
//   4. is_page_fault_stale(): retry if the vCPU's root was invalidated
//      (is_obsolete_sp(), paths/kvm_tdp_root.ts R1), or
//      mmu_invalidate_retry_gfn(): if an invalidation is in progress and
//      the gfn is in its range, or if mmu_invalidate_seq moved since 1.
//      Guarded by no-spte-in-window and secondary-subset.
//   5. Otherwise install the SPTE (tdp_mmu_map_handle_target_level()) in
//      the root's page table, linked first if the root has none
//      (tdp_mmu_link_sp()); it holds no reference on the page.
//   6. kvm_release_faultin_page(kvm, page, unused = retry, dirty =
//      map_writable) under mmu_lock: mark the folio dirty when KVM got it
//      writable and installed the SPTE (since aa85986e7150, v6.13, here,
//      speculatively, not when it zaps a dirty SPTE: the guest writes
//      through the SPTE without the primary MMU seeing it, so reclaim must
//      find the folio dirty and keep it, read-value), then unpin it (the
//      retry case too); the SPTE, if any, is now a non-owning pointer that
//      only the notifier keeps from dangling (no-freed-frame-reachable).
//   7. read_unlock(&kvm->mmu_lock).

import { allocFrame, getPage, putPage } from '../frames.js';
import { kvmMmuLock, lock, unlock } from '../locks.js';
import { faultMustRetry, gfnToMemslot, memslotGmem, memslotHva, type Memslot, type Vm } from '../kvm/state.js';
import { step, STOP_STEP, type K, type StepDef } from '../step.js';
import type { MmId, Pfn } from '../types.js';
import type { FaultCtx } from './fault.js';
import type { GupSlowCtx } from './gup.js';
import { allocTdpTable, loadedRoot } from './kvm_tdp_root.js';

export interface KvmFaultCtx {
  vm: string;
  mm: MmId;
  gfn: number;
  write: boolean;
  opId: string;
  /** Set by step 0 from the memslot: the hva, and the guest_memfd page backing the gfn (a KVM_MEMSLOT_GMEM_ONLY slot) or absent: the hva's. */
  hva?: number;
  gmem?: { file: string; index: number };
  /** Step 0 found the INVALID copy of a slot being deleted (KVM_MEMSLOT_INVALID). */
  slotInvalid?: Memslot;
  mmuSeq?: number;
  pfn?: Pfn;
  writable?: boolean;
  /** ok: an SPTE was installed; retry: is_page_fault_stale() or an INVALID memslot; efault: hva_to_pfn() failed; mmio: no memslot. */
  result?: 'ok' | 'retry' | 'efault' | 'mmio';
}

/** mmu_invalidate_retry_gfn() (include/linux/kvm_host.h), under mmu_lock. */
export function mmuInvalidateRetryGfn(vm: Vm, mmuSeq: number, gfn: number): boolean {
  if (faultMustRetry(vm, gfn)) return true;
  return vm.mmuInvalidateSeq !== mmuSeq;
}

const outOfFault = (k: K) => {
  const kvm = k.s.kvm!;
  kvm.faultsInFlight = kvm.faultsInFlight.filter((a) => a !== k.self);
  if (kvm.gmemFaults) kvm.gmemFaults = kvm.gmemFaults.filter((a) => a !== k.self);
};

export const kvmTdpPageFault: StepDef<KvmFaultCtx>[] = [
  step('kvm_mmu_do_page_fault.gfn_to_memslot', function* (k, c) {
    const vm = k.s.kvm!.vms[c.vm]!;
    const slot = gfnToMemslot(vm, c.gfn); // kvm_vcpu_gfn_to_memslot(): no step of its own, it reads what the next step reads
    if (!slot) {
      c.result = 'mmio';
      yield { id: 'kvm_handle_noslot_fault' };
      return STOP_STEP;
    }
    c.hva = memslotHva(slot, c.gfn);
    const gmem = memslotGmem(slot, c.gfn);
    if (gmem) c.gmem = gmem;
    if (slot.invalid) c.slotInvalid = slot;
  }),
  step('kvm_mmu_faultin_pfn.mmu_invalidate_seq', function* (k, c) {
    c.mmuSeq = k.s.kvm!.vms[c.vm]!.mmuInvalidateSeq; // smp_rmb()
    k.s.kvm!.faultsInFlight.push(k.self); // the kvm->srcu read side (step 0), and coverage
    yield { id: 'kvm_mmu_faultin_pfn.mmu_invalidate_seq' };
  }),
  step('kvm_mmu_faultin_pfn.memslot_invalid', function* (k, c) {
    if (!c.slotInvalid) return;
    c.result = 'retry'; // RET_PF_RETRY: the vCPU re-enters and faults again (paths/kvm_vcpu_run.ts waits for the delete)
    outOfFault(k);
    yield { id: 'kvm_mmu_faultin_pfn.memslot_invalid' };
    return STOP_STEP;
  }),
  step('kvm_mmu_faultin_pfn_gmem', function* (k, c) {
    if (!c.gmem) return;
    // kvm_gmem_get_pfn() -> __kvm_gmem_get_pfn() -> kvm_gmem_get_folio(): filemap_lock_folio(), or
    // __filemap_get_folio_mpol(FGP_LOCK | FGP_CREAT) and clear_highpage(); the folio lock is held
    // only inside this step, as truncate_inode_pages_range() takes it inside one of its own
    const file = k.s.files[c.gmem.file]!;
    let p = file.cache[c.gmem.index];
    if (p === null || p === undefined) {
      const f = allocFrame(k.s, `gmem:${file.name}:${c.gmem.index}`); // the page cache's reference
      file.cache[c.gmem.index] = p = f.pfn;
    }
    getPage(k.s, p); // fault->refcounted_page
    c.pfn = p;
    (k.s.kvm!.gmemFaults ??= []).push(k.self); // ghost, for coverage
    c.writable = true; // !(slot->flags & KVM_MEM_READONLY)
    yield { id: 'kvm_gmem_get_pfn' };
  }),
  step('hva_to_pfn', function* (k, c) {
    if (c.gmem) return;
    for (;;) {
      const g: GupSlowCtx = { mm: c.mm, vpn: c.hva!, keepPin: true };
      yield* k.run('get_user_pages', g);
      if (g.refused) {
        c.result = 'efault'; // the design refuses GUP through an msharefs VMA
        outOfFault(k);
        return STOP_STEP;
      }
      if (g.page && (!c.write || g.writable)) {
        c.pfn = g.page;
        c.writable = g.writable === true;
        return;
      }
      if (g.page) {
        putPage(k.s, g.page); // a read-only PTE for a write fault: unpin, fault for write, look again
        yield { id: 'hva_to_pfn.unpin' };
      }
      // faultin_page() -> handle_mm_fault(), as the user fault path does it
      const f: FaultCtx = { mm: c.mm, vpn: c.hva!, write: c.write, opId: c.opId };
      yield* k.run('do_user_addr_fault', f);
      if (f.segv) {
        c.result = 'efault';
        outOfFault(k);
        return STOP_STEP;
      }
    }
  }),
  step('kvm_tdp_mmu_map.read_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'r', 'kvm_tdp_mmu_map.read_lock');
  }),
  step('is_page_fault_stale', function* (k, c) {
    const vm = k.s.kvm!.vms[c.vm]!;
    const root = loadedRoot(vm, k.s.kvm!.vcpus[k.self]!);
    // is_obsolete_sp(): the root was invalidated since the vCPU loaded it (paths/kvm_tdp_root.ts R1)
    if (vm.released || !root || root.invalid || mmuInvalidateRetryGfn(vm, c.mmuSeq!, c.gfn)) {
      c.result = 'retry';
      yield { id: 'is_page_fault_stale.retry' };
    }
  }),
  step('tdp_mmu_map_handle_target_level', function* (k, c) {
    if (c.result === 'retry') return;
    const vm = k.s.kvm!.vms[c.vm]!;
    const root = loadedRoot(vm, k.s.kvm!.vcpus[k.self]!)!;
    // kvm_tdp_mmu_map(): the walk from the root links a page table where there is none (tdp_mmu_link_sp();
    // the page comes from the vCPU's mmu_shadow_page_cache, topped up before mmu_lock: allocated here in the model)
    root.pt ??= allocTdpTable(k.s, c.vm, 'pt');
    // into the root the fault walked: the valid root's map (an invalidated one only if is_page_fault_stale() let it through)
    const sptes = root.invalid ? (root.sptes ??= {}) : vm.sptes;
    sptes[c.gfn] = { pfn: c.pfn!, writable: c.write || c.writable!, ghost: k.s.frames[c.pfn!]!.allocId, at: ++k.s.ghost.clock };
    c.result = 'ok';
    yield { id: 'tdp_mmu_map_handle_target_level' };
  }),
  step('kvm_release_faultin_page', function* (k, c) {
    // kvm_release_page_dirty() -> kvm_set_page_dirty(); a guest_memfd folio's is noop_dirty_folio() (kvm_gmem_aops)
    if (c.result !== 'retry' && (c.write || c.writable) && !c.gmem) k.s.frames[c.pfn!]!.dirty = true;
    putPage(k.s, c.pfn!);
    yield { id: 'kvm_release_faultin_page' };
  }),
  step('kvm_tdp_mmu_map.read_unlock', function* (k, c) {
    outOfFault(k);
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_tdp_mmu_map.read_unlock');
  }),
];
