// An IOMMU SVA device (model/kernel/sva/state.ts): its DMA, the I/O page
// fault, and the MMU-notifier callbacks of its domain (Intel VT-d driver,
// drivers/iommu/intel/svm.c; the core in drivers/iommu/iommu-sva.c; read
// at torvalds/linux 03c11eb3b16d for iommu-sva.c and at master for svm.c).
//
// DMA (iommu_dma_access, one step per hardware translation):
//   1. ATC hit with the needed permission (a write also needs D set, as
//      the CPU's store does): use it.
//   2. Otherwise the entry goes, and the IOMMU walks the CPU tables of the
//      bound mm (first-level translation) from its deepest paging-structure-
//      cache entry for the address, else from mm->pgd, caching the upper
//      entries it reads; sets A (and D) and fills the ATC: ATS translation
//      completion. A retry after a successful page response waits while
//      that cached walk fails where the tables translate (iommu_dma_access.
//      psc_behind, below).
//   3. Not present, PROT_NONE or not writable for a write: a page request
//      (PRI); the device waits for the response of the I/O page fault
//      handler and retries the access.
// I/O page fault (iommu_sva_handle_iopf()), run by the IOPF workqueue's
//   kernel thread on the device's CPU (the `cpu` of its scenario thread):
//   mmget_not_zero(mm) (an exiting mm: IOMMU_PAGE_RESP_INVALID),
//   mmap_read_lock, vma_lookup() (none, or an access the VMA does not
//   allow: INVALID), handle_mm_fault(vma, addr, FAULT_FLAG_REMOTE |
//   FAULT_FLAG_WRITE for a write), mmap_read_unlock. INVALID fails the DMA:
//   the device sees the error, observed as a fault of the access (not
//   observed while the process exits: the reference memory has no
//   device after its process's exit began). Simplified: mmget_not_zero()
//   fails from do_group_exit() on, earlier than mm_users reaching 0 (the
//   model serves fewer faults, never more), and the handler's mm pin is
//   not modelled: exit_mmap() may begin while it runs (mmu_notifier_release()
//   then tears the PASID down; its unmap waits for the handler's
//   mmap_lock), where the kernel would run exit_mmap() at the handler's
//   mmput(). Not
//   modelled: an I/O page fault in an mshare window (which posted series
//   say nothing about): the access ends without an observation.
//   Simplified: the kthread takes the CPU for the handler without a
//   context switch (it would run lazily on the previous mm).
// arch_invalidate_secondary_tlbs (intel_arch_invalidate_secondary_tlbs()
//   -> cache_tag_flush_range(), or cache_tag_flush_all() for (0, -1UL)):
//   drops the device's ATC entries of the range and waits for the
//   invalidation to complete, one step. Called from the CPU flush
//   functions only (flush_tlb_mm_range(), arch_tlbbatch_add_pending()),
//   never from invalidate_range_start/end: intel_mmuops has neither. Since
//   6bbd42e2df8f ("mmu_notifiers: call invalidate_range() when
//   invalidating TLBs", Alistair Popple, 2023) the call is in the
//   architecture's TLB flush functions; flush_tlb_all() does not make it
//   ("it is only used to invalidate kernel mappings and the notifier
//   callback requires a non-NULL mm_struct", same commit).
// release (intel_mm_release(), from mmu_notifier_release() in
//   exit_mmap() before any page is freed): intel_pasid_tear_down_entry()
//   for every device of the domain, which also flushes its caches; then
//   mn_hlist_release() unlinks the subscription.
//
// How the properties treat the device TLB: as a CPU TLB of the bound mm
// whose flush arrives through the notifier, not as KVM's SPTEs. The ATC
// mirrors PTEs the way a CPU TLB does: the PTE changes first and the
// flush follows (since 6bbd42e2df8f the call comes from the CPU flush,
// which the gather runs before it frees the pages), so between the PTE change and that flush an ATC entry may legitimately
// hold what the PTE no longer gives (the sva_stale_dma_in_window
// counter; read-value allows a DMA through it inside the open call's
// window, as it allows a CPU access through a stale TLB entry). That
// staleness is not a violation; these are:
//   - no-freed-frame-reachable: an ATC entry of a bound device into a
//     freed or reallocated frame, at any step, and a DMA store landing in
//     one (holder 'device TLB');
//   - no-freed-table-reachable: an IOMMU PSC entry of a bound device on a
//     freed or reallocated table, at any step (holder 'device PSC');
//   - no-stale-psc-after-unlink: an IOMMU PSC entry still caching a table
//     the bound mm lost (an unshare, a detach) when that call returns;
//   - unmap-complete: an ATC entry still holding a translation munmap,
//     MADV_DONTNEED or an mshare unmap removed when the call returns, for
//     a device bound to the calling mm or to any mm that sees the range
//     (a sharer), by the same test as a CPU TLB entry;
//   - read-value: every DMA result (value, or a refused DMA observed
//     where the fault handler decides it under the mmap_lock) against the
//     ideal memory of the bound process.
// secondary-subset is not applied: it checks KVM, which zaps at
// invalidate_range_start() before the PTE changes; the SVA domain has no
// start and no such promise. protect-complete does not look at the ATC
// (a writable ATC entry left after mprotect() returned shows up only
// through read-value).

import { step, type K, type StepDef } from '../step.js';
import { lock, mmapLock, unlock } from '../locks.js';
import { hugeSubpage, tableIndex, tablePrefix } from '../pagetable.js';
import { LEVELS, span } from '../config.js';
import type { Frame, KernelState, Pte } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId } from '../types.js';
import { findVma } from '../vma.js';
import { svaSubscription, type AtcEntry, type IommuPscEntry, type SvaDevice } from '../sva/state.js';
import { handleMmFault, type FaultCtx } from './fault.js';

export interface DmaCtx {
  dev: string;
  opId: string;
  vpn: number;
  write: boolean;
}

const devOf = (s: KernelState, dev: string): SvaDevice => s.sva!.devices[dev]!;

/**
 * The IOMMU's first-level walk for `v`: from the deepest paging-structure-
 * cache entry for the address, else from mm->pgd, caching every upper entry
 * it reads (as hwWalk() does for a CPU, pagetable.ts). The leaf entry (a
 * PMD leaf's subpage) or null; null too when a cached entry leads to a
 * frame that is no longer that table (no-freed-table-reachable has then
 * already reported the entry, at the step that freed the table).
 * `peek`: the same walk, filling nothing; `tables`: from mm->pgd alone,
 * filling nothing (what the tables give).
 */
export function iommuWalk(s: KernelState, d: SvaDevice, v: number, how: 'walk' | 'peek' | 'tables' = 'walk'): { pte: Pte; translation: Pte } | null {
  const cached = how !== 'tables';
  const c = s.config;
  let level = LEVELS;
  let table: Frame = s.frames[s.mms[d.mm]!.pgd]!;
  for (let l = 1; cached && l < LEVELS; l++) {
    const hit = d.psc.find((p) => p.level === l && p.prefix === tablePrefix(c, v, l));
    if (hit) {
      level = l;
      table = s.frames[hit.pfn]!;
      break;
    }
  }
  for (; level >= 1; level--) {
    if (table.state !== 'pagetable' || table.level !== level) return null;
    const e = table.entries![tableIndex(c, v, level)];
    if (!e) return null;
    if (level === 1) return { pte: e, translation: e };
    if (level === 2 && e.huge) return { pte: e, translation: hugeSubpage(s, e, v) };
    const prefix = tablePrefix(c, v, level - 1);
    if (how === 'walk' && !d.psc.some((p) => p.level === level - 1 && p.prefix === prefix)) d.psc.push({ level: level - 1, prefix, pfn: e.pfn, ghost: e.ghost });
    table = s.frames[e.pfn]!;
  }
  return null;
}

/** The pages [start, end) a PSC entry of `level` and `prefix` translates. */
const pscRange = (s: KernelState, p: IommuPscEntry) => ({ start: p.prefix * span(s.config, p.level + 1), end: (p.prefix + 1) * span(s.config, p.level + 1) });

/** A PASID-based invalidation of [start, end): the ATC entries in it and, with IH clear (`ih` false), the PSC entries whose range overlaps it (state.ts). */
function invalidateRange(s: KernelState, d: SvaDevice, start: number, end: number, ih = false): void {
  if (end === TLB_FLUSH_ALL) {
    d.atc = [];
    if (!ih) d.psc = [];
    return;
  }
  d.atc = d.atc.filter((e) => e.vpn < start || e.vpn >= end);
  if (!ih) d.psc = d.psc.filter((p) => {
    const r = pscRange(s, p);
    return r.end <= start || r.start >= end;
  });
}

/** The device's DMA (one op of its scenario thread). */
export const iommuDmaAccess: StepDef<DmaCtx>[] = [
  step('iommu_dma_access', function* (k, c) {
    for (let retry = false; ; retry = true) {
      const d = devOf(k.s, c.dev);
      if (d.released || !k.s.mms[d.mm]) {
        // the PASID entry is torn down: the IOMMU blocks the request (a DMA error, not a user access)
        yield { id: 'iommu_dma_access.pasid_torn_down', final: true };
        return;
      }
      // The retry after a successful page response, while the IOMMU's cached walk still fails where
      // the tables now translate: its paging-structure cache is behind an invalidation in flight
      // (a table another CPU unlinked, whose flush has not reached arch_invalidate_secondary_tlbs()
      // yet). The device would retry and re-fault until it arrives; each round changes nothing but
      // A bits, so the model waits for it, as a retried KVM fault waits for the invalidation's end.
      // Without the invalidation the wait never ends: a progress violation, the livelock it would be.
      const behind = () => !d.released && !!k.s.mms[d.mm] && iommuWalk(k.s, d, c.vpn, 'peek') === null && iommuWalk(k.s, d, c.vpn, 'tables') !== null;
      if (retry && behind()) yield { id: 'iommu_dma_access.psc_behind', wait: () => !behind() };
      const obs = (value: number) => ({ kind: 'access' as const, opId: c.opId, mm: d.mm, vpn: c.vpn, write: c.write, value, ok: true, device: c.dev });
      const hit = d.atc.find((e) => e.vpn === c.vpn);
      if (hit && (!c.write || (hit.writable && hit.dirty))) {
        const f = k.s.frames[hit.pfn]!;
        if (c.write) f.content = k.nextValue();
        yield { id: 'iommu_dma_access.atc_hit', final: true, obs: obs(f.content) };
        return;
      }
      if (hit) d.atc = d.atc.filter((e) => e !== hit);
      const w = iommuWalk(k.s, d, c.vpn);
      if (w && !w.pte.protNone && (!c.write || w.pte.writable)) {
        w.pte.accessed = true;
        if (c.write) w.pte.dirty = true;
        const e: AtcEntry = { vpn: c.vpn, pfn: w.translation.pfn, writable: w.pte.writable, dirty: w.pte.dirty, ghost: w.translation.ghost, filled: ++k.s.ghost.clock };
        d.atc.push(e);
        const f = k.s.frames[e.pfn]!;
        if (c.write) f.content = k.nextValue();
        yield { id: 'iommu_dma_access.walk', final: true, obs: obs(f.content) };
        return;
      }
      yield { id: 'iommu_dma_access.page_request' }; // PRI: the device waits for the page response
      const iopf: IopfCtx = { dev: c.dev, mm: d.mm, vpn: c.vpn, write: c.write, opId: c.opId };
      yield* k.run('iommu_sva_handle_iopf', iopf);
      if (iopf.status === 'INVALID') {
        // the DMA fails; observed where the handler decided it, under the mmap_lock (iommu_sva_handle_iopf.bad_access)
        yield { id: 'iommu_dma_access.response_failure', final: true };
        return;
      }
      if (iopf.status === 'UNMODELLED') {
        yield { id: 'iommu_dma_access.not_modelled', final: true };
        return;
      }
    }
  }),
];

export interface IopfCtx {
  dev: string;
  mm: MmId;
  vpn: number;
  write: boolean;
  opId: string;
  status?: 'SUCCESS' | 'INVALID' | 'UNMODELLED';
  locked?: boolean;
  fault?: FaultCtx;
}

/** iommu_sva_handle_iopf() (drivers/iommu/iommu-sva.c), on the IOPF workqueue's kernel thread. */
export const iommuSvaHandleIopf: StepDef<IopfCtx>[] = [
  step('iommu_sva_handle_iopf.schedule', function* (k) {
    const cpu = k.s.cpus[k.cpu]!;
    const free = () => cpu.owner === null || cpu.owner === k.self;
    if (!free()) yield { id: 'schedule', wait: free, waitFor: { kind: 'cpu', cpu: cpu.id } };
    cpu.owner = k.self;
  }),
  step('iommu_sva_handle_iopf.mmget_not_zero', function* (k, c) {
    if (k.s.mms[c.mm]!.exiting) {
      c.status = 'INVALID';
      yield { id: 'iommu_sva_handle_iopf.mmget_not_zero_failed' };
    }
  }),
  step('iommu_sva_handle_iopf.mmap_read_lock', function* (k, c) {
    if (c.status) return;
    yield* lock(k, mmapLock(c.mm), 'r', 'iommu_sva_handle_iopf.mmap_read_lock');
    c.locked = true;
  }),
  step('iommu_sva_handle_iopf.vma_lookup', function* (k, c) {
    if (c.status) return;
    const v = findVma(k.s.mms[c.mm]!, c.vpn);
    if (v?.kind === 'mshare') {
      c.status = 'UNMODELLED';
      return;
    }
    // access_flags & ~vma->vm_flags: read, and write for a write
    if (!v || !v.prot.r || (c.write && !v.prot.w)) {
      c.status = 'INVALID';
      // the process may be exiting (exit_mmap() took the VMAs): the reference memory has no device after its process's exit began
      const exiting = k.s.mms[c.mm]!.exiting;
      yield { id: 'iommu_sva_handle_iopf.bad_access', obs: exiting ? undefined : { kind: 'access', opId: c.opId, mm: c.mm, vpn: c.vpn, write: c.write, value: 0, ok: false, device: c.dev } };
      return;
    }
    c.fault = { mm: c.mm, vpn: c.vpn, write: c.write, vma: v };
  }),
  step('iommu_sva_handle_iopf.handle_mm_fault', function* (k, c) {
    if (!c.fault) return;
    yield* handleMmFault(k, c.fault);
    c.status = c.fault.segv ? 'INVALID' : 'SUCCESS';
  }),
  step('iommu_sva_handle_iopf.mmap_read_unlock', function* (k, c) {
    if (c.locked) yield* unlock(k, mmapLock(c.mm), 'iommu_sva_handle_iopf.mmap_read_unlock');
  }),
  step('iommu_sva_handle_iopf.done', function* (k) {
    k.s.cpus[k.cpu]!.owner = null;
    yield { id: 'iommu_page_response' };
  }),
];

/**
 * The arch_invalidate_secondary_tlbs() of every SVA subscription of `mm`
 * over [start, end) (end TLB_FLUSH_ALL: cache_tag_flush_all()): one step
 * per subscription, none without one. Returns the entries dropped.
 */
export function* svaArchInvalidateSecondaryTlbs(k: K, mm: MmId, start: number, end: number) {
  const m = k.s.mms[mm];
  if (!m || !k.s.sva) return;
  for (const n of m.notifiers) {
    if (!n.startsWith('sva:')) continue;
    const d = devOf(k.s, n.slice(4));
    const atc = d.atc.length;
    const psc = d.psc.length;
    invalidateRange(k.s, d, start, end, k.decide('cache_tag_flush_range.ih', false, { dev: d.name, start, end }));
    // qi_submit_sync(): the IOTLB, PSC and dev-TLB invalidations complete before the call returns
    const dropped = (d.atc.length < atc ? 'atc_' : '') + (d.psc.length < psc ? 'psc_' : '');
    yield { id: dropped ? `intel_arch_invalidate_secondary_tlbs.${dropped}invalidated` : 'intel_arch_invalidate_secondary_tlbs' };
  }
}

/** The same call made inside a step of the caller (arch_tlbbatch_add_pending()): no step of its own. */
export function svaInvalidateAllNow(s: KernelState, mm: MmId): void {
  const m = s.mms[mm];
  if (!m || !s.sva) return;
  for (const n of m.notifiers) if (n.startsWith('sva:')) invalidateRange(s, devOf(s, n.slice(4)), 0, TLB_FLUSH_ALL);
}

export interface SvaReleaseCtx {
  dev: string;
  mm: MmId;
}

/** intel_mm_release() then mn_hlist_release()'s unlink, for one SVA subscription. */
export const intelMmRelease: StepDef<SvaReleaseCtx>[] = [
  step('intel_mm_release', function* (k, c) {
    const d = devOf(k.s, c.dev);
    invalidateRange(k.s, d, 0, TLB_FLUSH_ALL); // intel_pasid_tear_down_entry(): PASID entry cleared, IOTLB, PSC and dev-TLB flushed
    d.released = true;
    yield { id: 'intel_pasid_tear_down_entry' };
  }),
  step('mn_hlist_release.sva', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    mm.notifiers = mm.notifiers.filter((n) => n !== svaSubscription(c.dev));
    yield { id: 'mn_hlist_release' };
  }),
];

const NO_DEVICES: readonly SvaDevice[] = Object.freeze([]);

/** Ghost for the properties: the devices whose binding is live (their IOMMU may still translate). */
export function liveDevices(s: KernelState): readonly SvaDevice[] {
  if (!s.sva) return NO_DEVICES; // most runs: no device, nothing allocated
  return Object.values(s.sva.devices).filter((d) => !d.released);
}

/** Ghost for the properties: the ATC entries of live bindings. */
export function liveAtc(s: KernelState): { dev: SvaDevice; e: AtcEntry }[] {
  const out: { dev: SvaDevice; e: AtcEntry }[] = [];
  for (const d of liveDevices(s)) for (const e of d.atc) out.push({ dev: d, e });
  return out;
}
