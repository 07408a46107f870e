// The secondary-MMU half of the report's per-step state (trace_state.ts
// records the primary half): for each VM its SPTEs and the
// mmu_invalidate_seq / _in_progress / range that KVM's page fault checks
// (virt/kvm/kvm_main.c kvm_mmu_invalidate_begin() / _end(),
// mmu_invalidate_retry_gfn()), each vCPU's mode and pending requests
// (kvm_vcpu_exiting_guest_mode(), kvm_make_request()), and the guest TLB
// of each CPU, tagged by vCPU and VM; since model 0.15.0 also the TDP
// roots with their page table (paths/kvm_tdp_root.ts), the root each
// vCPU loaded, and the guest paging-structure cache of each CPU.
// Consecutive snapshots are diffed into effects as the primary ones are:
// "[V0 zap SPTE gfn 0 (frame 4)]".
//
// A run without a VM has no KVM state, so neither a snapshot part nor an
// effect: the reports of linux and mshare runs are byte for byte the same
// as before the secondary MMU was shown.

import type { KernelState } from '../model/kernel/state.js';
import type { VcpuMode } from '../model/kernel/kvm/state.js';

export interface SpteSnap { gfn: number; pfn: number; writable: boolean; ghost: number }
export interface VmSnap {
  name: string;
  /** The VMM's mm the memslots point into (kvm->mm). */
  mm: string;
  memslots: { gfn: number; hva: number; pages: number; invalid?: true; deleted?: true }[];
  sptes: SpteSnap[];
  mmuInvalidateSeq: number;
  mmuInvalidateInProgress: number;
  mmuInvalidateRange: { start: number; end: number } | null;
  released: boolean;
  /** tdp_mmu_roots: each root's frame, its page table's, whether it is invalidated, its refcount, and an invalidated root's SPTEs. */
  roots: RootSnap[];
}
export interface RootSnap { pfn: number; ghost: number; pt: number | null; ptGhost: number | null; invalid: boolean; refs: number; sptes: SpteSnap[] }
/** `root`: the frame of the root the vCPU loaded (mmu->root.hpa), null for INVALID_PAGE. */
export interface VcpuSnap { name: string; vm: string; cpu: number; mode: VcpuMode; inGuest: boolean; requests: string[]; kicked: boolean; root: number | null }
/** `root`: the EP4TA the entry is tagged with, the frame of the root its walk started from. */
export interface GuestTlbSnap { cpu: number; vcpu: string; vm: string; root: number; gfn: number; pfn: number; writable: boolean; ghost: number }
/** A guest paging-structure-cache entry: the page table at frame `pfn` under the root at frame `root`. */
export interface GuestPscSnap { cpu: number; vcpu: string; vm: string; root: number; pfn: number; ghost: number }

export interface KvmSnap {
  vms: VmSnap[];
  vcpus: VcpuSnap[];
  guestTlb: GuestTlbSnap[];
  guestPsc: GuestPscSnap[];
}

const sptesSnap = (m: Record<number, { pfn: number; writable: boolean; ghost: number }>): SpteSnap[] =>
  Object.entries(m).map(([g, e]) => ({ gfn: Number(g), pfn: e.pfn, writable: e.writable, ghost: e.ghost })).sort((a, b) => a.gfn - b.gfn);

export function snapshotKvm(s: KernelState): KvmSnap | undefined {
  const kvm = s.kvm;
  if (!kvm) return undefined;
  return {
    vms: Object.values(kvm.vms).map((vm) => ({
      name: vm.name,
      mm: vm.mm,
      memslots: vm.memslots.map((m) => ({ ...m })),
      sptes: sptesSnap(vm.sptes),
      mmuInvalidateSeq: vm.mmuInvalidateSeq,
      mmuInvalidateInProgress: vm.mmuInvalidateInProgress,
      mmuInvalidateRange: vm.mmuInvalidateRange && { ...vm.mmuInvalidateRange },
      released: vm.released,
      roots: (vm.roots ?? []).map((r) => ({ pfn: r.pfn, ghost: r.ghost, pt: r.pt?.pfn ?? null, ptGhost: r.pt?.ghost ?? null, invalid: r.invalid === true, refs: r.refs, sptes: sptesSnap(r.sptes ?? {}) })),
    })),
    vcpus: Object.values(kvm.vcpus).map((v) => ({ name: v.thread, vm: v.vm, cpu: v.cpu, mode: v.mode, inGuest: v.inGuest, requests: [...v.requests], kicked: v.kicked, root: v.root?.pfn ?? null })).sort((a, b) => a.name.localeCompare(b.name)),
    guestTlb: Object.entries(kvm.guestTlb).flatMap(([cpu, es]) => es.map((e) => ({ cpu: Number(cpu), vcpu: e.vcpu, vm: kvm.vcpus[e.vcpu]?.vm ?? '?', root: e.root, gfn: e.gfn, pfn: e.pfn, writable: e.writable, ghost: e.ghost }))),
    guestPsc: Object.entries(kvm.guestPsc ?? {}).flatMap(([cpu, es]) => es.map((e) => ({ cpu: Number(cpu), vcpu: e.vcpu, vm: kvm.vcpus[e.vcpu]?.vm ?? '?', root: e.root, pfn: e.pfn, ghost: e.ghost }))),
  };
}

/** The hva a gfn of `vm` is backed by (__gfn_to_hva_memslot()), or null outside every memslot. */
export function hvaOf(vm: Pick<VmSnap, 'memslots'>, gfn: number): number | null {
  const m = vm.memslots.find((x) => !x.deleted && gfn >= x.gfn && gfn < x.gfn + x.pages);
  return m ? m.hva + (gfn - m.gfn) : null;
}

export const rangeText = (r: VmSnap['mmuInvalidateRange']) => (r ? `gfn ${r.start}-${r.end - 1}` : 'none');
export const spteText = (vm: string, e: SpteSnap) => `${vm} SPTE gfn ${e.gfn} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`;
export const guestTlbText = (e: GuestTlbSnap) => `CPU${e.cpu} guest TLB (${e.vcpu}, ${e.vm}): gfn ${e.gfn} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`;
export const guestPscText = (e: GuestPscSnap) => `CPU${e.cpu} guest PSC (${e.vcpu}, ${e.vm}): root frame ${e.root} -> page table frame ${e.pfn}`;

export type KvmEffectKind = 'spte-set' | 'spte-zap' | 'spte-change' | 'gtlb-fill' | 'gtlb-drop' | 'gpsc-fill' | 'gpsc-drop' | 'tdp-root' | 'vcpu-root' | 'vcpu-mode' | 'kvm-request' | 'kvm-kick' | 'mmu-invalidate' | 'memslot';

/** One change to the secondary MMU, with the keys the report matches against the violation. */
export interface KvmEffect {
  kind: KvmEffectKind;
  text: string;
  vm: string;
  gfn?: number;
  pfn?: number;
  cpu?: number;
  vcpu?: string;
}

/** Everything the secondary MMU changed from `a` to `b`, in a fixed order: SPTEs, guest TLBs, vCPUs, the invalidation counters. */
export function diffKvm(a: KvmSnap | undefined, b: KvmSnap | undefined): KvmEffect[] {
  if (!b) return [];
  const out: KvmEffect[] = [];
  for (const vb of b.vms) {
    const va = a?.vms.find((x) => x.name === vb.name);
    const before = new Map((va?.sptes ?? []).map((e) => [e.gfn, e]));
    const after = new Map(vb.sptes.map((e) => [e.gfn, e]));
    for (const e of vb.sptes) {
      const old = before.get(e.gfn);
      if (!old) out.push({ kind: 'spte-set', text: `set ${spteText(vb.name, e)}`, vm: vb.name, gfn: e.gfn, pfn: e.pfn });
      else if (old.pfn !== e.pfn || old.writable !== e.writable || old.ghost !== e.ghost) out.push({ kind: 'spte-change', text: spteText(vb.name, e), vm: vb.name, gfn: e.gfn, pfn: e.pfn });
    }
    // an SPTE that moved into a root invalidated by this step stays in that root's tables: no zap yet
    const retired = new Set(vb.roots.filter((r) => r.invalid && !va?.roots.find((x) => x.pfn === r.pfn && x.ghost === r.ghost)?.invalid).flatMap((r) => r.sptes.map((e) => `${e.gfn}|${e.pfn}|${e.ghost}`)));
    for (const e of va?.sptes ?? []) if (!after.has(e.gfn) && !retired.has(`${e.gfn}|${e.pfn}|${e.ghost}`)) out.push({ kind: 'spte-zap', text: `zap ${vb.name} SPTE gfn ${e.gfn} (frame ${e.pfn})`, vm: vb.name, gfn: e.gfn, pfn: e.pfn });
    // the TDP roots (paths/kvm_tdp_root.ts): allocated, its page table linked or removed, invalidated, its SPTEs zapped, gone
    for (const rb of vb.roots) {
      const ra = va?.roots.find((x) => x.pfn === rb.pfn && x.ghost === rb.ghost);
      const root = `${vb.name} root at frame ${rb.pfn}`;
      if (!ra) out.push({ kind: 'tdp-root', text: `${root} allocated`, vm: vb.name, pfn: rb.pfn });
      if ((ra?.pt ?? null) !== rb.pt && rb.pt !== null) out.push({ kind: 'tdp-root', text: `${root}: page table at frame ${rb.pt} linked`, vm: vb.name, pfn: rb.pt });
      if (ra && ra.pt !== null && rb.pt !== ra.pt) out.push({ kind: 'tdp-root', text: `${root}: page table at frame ${ra.pt} removed`, vm: vb.name, pfn: ra.pt });
      if (rb.invalid && !ra?.invalid) out.push({ kind: 'tdp-root', text: `${root} invalidated${rb.sptes.length ? ` (its SPTEs gfn ${rb.sptes.map((e) => e.gfn).join(', ')} stay until it is zapped)` : ''}`, vm: vb.name, pfn: rb.pfn });
      const gone = new Set(rb.sptes.map((e) => e.gfn));
      if (ra?.invalid) for (const e of ra.sptes) if (!gone.has(e.gfn)) out.push({ kind: 'spte-zap', text: `zap ${vb.name} SPTE gfn ${e.gfn} (frame ${e.pfn}) in ${root}`, vm: vb.name, gfn: e.gfn, pfn: e.pfn });
    }
    for (const ra of va?.roots ?? []) {
      if (!vb.roots.some((x) => x.pfn === ra.pfn && x.ghost === ra.ghost)) out.push({ kind: 'tdp-root', text: `${vb.name} root at frame ${ra.pfn} off tdp_mmu_roots (last reference put)`, vm: vb.name, pfn: ra.pfn });
    }
  }
  const key = (e: GuestTlbSnap) => `${e.cpu}|${e.vcpu}|${e.gfn}|${e.pfn}|${e.writable}|${e.ghost}`;
  const ta = new Set((a?.guestTlb ?? []).map(key));
  const tb = new Set(b.guestTlb.map(key));
  for (const e of a?.guestTlb ?? []) if (!tb.has(key(e))) out.push({ kind: 'gtlb-drop', text: `CPU${e.cpu} guest TLB (${e.vcpu}): drop gfn ${e.gfn}`, vm: e.vm, gfn: e.gfn, pfn: e.pfn, cpu: e.cpu, vcpu: e.vcpu });
  for (const e of b.guestTlb) if (!ta.has(key(e))) out.push({ kind: 'gtlb-fill', text: guestTlbText(e), vm: e.vm, gfn: e.gfn, pfn: e.pfn, cpu: e.cpu, vcpu: e.vcpu });
  const pkey = (e: GuestPscSnap) => `${e.cpu}|${e.vcpu}|${e.root}|${e.pfn}|${e.ghost}`;
  const pa = new Set((a?.guestPsc ?? []).map(pkey));
  const pb = new Set(b.guestPsc.map(pkey));
  for (const e of a?.guestPsc ?? []) if (!pb.has(pkey(e))) out.push({ kind: 'gpsc-drop', text: `CPU${e.cpu} guest PSC (${e.vcpu}): drop page table frame ${e.pfn}`, vm: e.vm, pfn: e.pfn, cpu: e.cpu, vcpu: e.vcpu });
  for (const e of b.guestPsc) if (!pa.has(pkey(e))) out.push({ kind: 'gpsc-fill', text: guestPscText(e), vm: e.vm, pfn: e.pfn, cpu: e.cpu, vcpu: e.vcpu });
  for (const vb of b.vcpus) {
    const va = a?.vcpus.find((x) => x.name === vb.name);
    const k = { vm: vb.vm, cpu: vb.cpu, vcpu: vb.name };
    if ((va?.root ?? null) !== vb.root) out.push({ kind: 'vcpu-root', text: vb.root === null ? `${vb.name} dropped its root (root.hpa = INVALID_PAGE)` : `${vb.name} loaded the root at frame ${vb.root}`, ...k, ...(vb.root === null ? {} : { pfn: vb.root }) });
    if ((va?.mode ?? 'OUTSIDE_GUEST_MODE') !== vb.mode) out.push({ kind: 'vcpu-mode', text: `${vb.name} ${vb.mode}`, ...k });
    if ((va?.inGuest ?? false) !== vb.inGuest) out.push({ kind: 'vcpu-mode', text: `${vb.name} ${vb.inGuest ? 'VM-entry' : 'VM-exit'}`, ...k });
    for (const r of vb.requests) if (!va?.requests.includes(r)) out.push({ kind: 'kvm-request', text: `${r} pending for ${vb.name}`, ...k });
    for (const r of va?.requests ?? []) if (!vb.requests.includes(r)) out.push({ kind: 'kvm-request', text: `${vb.name} serviced ${r}`, ...k });
    if ((va?.kicked ?? false) !== vb.kicked) out.push({ kind: 'kvm-kick', text: vb.kicked ? `kick IPI to ${vb.name} on CPU${vb.cpu}` : `${vb.name} took the kick`, ...k });
  }
  for (const vb of b.vms) {
    const va = a?.vms.find((x) => x.name === vb.name);
    if (!va) continue;
    const parts: string[] = [];
    if (va.mmuInvalidateSeq !== vb.mmuInvalidateSeq) parts.push(`mmu_invalidate_seq ${va.mmuInvalidateSeq} -> ${vb.mmuInvalidateSeq}`);
    if (va.mmuInvalidateInProgress !== vb.mmuInvalidateInProgress) parts.push(`mmu_invalidate_in_progress ${va.mmuInvalidateInProgress} -> ${vb.mmuInvalidateInProgress}`);
    if (rangeText(va.mmuInvalidateRange) !== rangeText(vb.mmuInvalidateRange)) parts.push(`range ${rangeText(vb.mmuInvalidateRange)}`);
    if (parts.length) out.push({ kind: 'mmu-invalidate', text: `${vb.name} ${parts.join(', ')}`, vm: vb.name });
    // a memslot delete (paths/kvm_set_memslot.ts): the INVALID copy published, then the slot gone
    vb.memslots.forEach((mb, i) => {
      const ma = va.memslots[i];
      const slot = `${vb.name} memslot ${i} (gfn ${mb.gfn}-${mb.gfn + mb.pages - 1})`;
      if (mb.invalid && !ma?.invalid) out.push({ kind: 'memslot', text: `${slot} KVM_MEMSLOT_INVALID`, vm: vb.name });
      if (mb.deleted && !ma?.deleted) out.push({ kind: 'memslot', text: `${slot} deleted`, vm: vb.name });
    });
  }
  return out;
}
