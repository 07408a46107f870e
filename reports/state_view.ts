// The state as of one step, as the HTML report's cursor shows it and the
// JSON report carries it (Report.states): plain strings and numbers, no
// Maps, so that JSON.stringify keeps all of it and the page needs no model
// code. Built from the recorder's snapshot (trace_state.ts) and from the
// operation windows open at that step (a system call between its
// invoke and its return, SPEC 5.1).
//
// What a reviewer asks of a state: which mm maps which page (page tables,
// and which tables are reached from several mms), what each CPU caches
// per PCID slot (TLB and paging-structure caches), which CPUs are in
// mm_cpumask and at which tlb_gen, who holds which lock, and which
// operations are in flight. With a VM, the secondary MMU too: each VM's
// SPTEs and invalidation counters, each vCPU's mode and requests, and the
// guest TLB of each CPU (absent without a VM, so those states are as
// they were before KVM).

import { vaHex } from '../model/kernel/types.js';
import { hvaOf, rangeText, type KvmSnap } from './kvm_trace.js';
import { permSuffix, tableName, type Snapshot } from './trace_state.js';

export interface SlotView {
  slot: number;
  mm: string | null;
  tlbGen: number;
  /** The slot CR3 points at (the loaded PCID). */
  loaded: boolean;
  tlb: string[];
  psc: string[];
}

export interface CpuView {
  cpu: number;
  /** "P0", "init_mm", with " (lazy)" when the CPU is lazy. */
  cr3: string;
  lazy: boolean;
  /** x86-TSO: stores not yet visible to other CPUs (model/kernel/store_buffer.ts). */
  storeBuffer: string[];
  /** IPIs queued for the CPU: "flush_tlb_func from T0". */
  ipis: string[];
  slots: SlotView[];
}

export interface MmView {
  mm: string;
  tlbGen: number;
  cpumask: number[];
  vmas: string[];
  /** Present PTEs reached from the mm's PGD: "0x10000 -> frame 4 (r), PTE table 9". */
  ptes: string[];
}

export interface TableView {
  frame: number;
  table: string;
  /** The mms whose page-table walk reaches it; two or more: a shared table. */
  sharers: string[];
}

export interface OpenWindow {
  actor: string;
  op: string;
  /** The step that invoked it. */
  since: number;
}

export interface VmView {
  vm: string;
  /** The VMM process's mm the memslots point into. */
  mm: string;
  /** "gfn 0-3 -> hva 0x10000". */
  memslots: string[];
  /** Leaf SPTEs: "gfn 0 -> frame 4 (hva 0x10000)", " (r)" when read-only. */
  sptes: string[];
  mmuInvalidateSeq: number;
  mmuInvalidateInProgress: number;
  /** "gfn 0-0", or "none" (INVALID_GPA). */
  mmuInvalidateRange: string;
  /** kvm_mmu_notifier_release() ran: the notifier is unlinked. */
  released: boolean;
  /** tdp_mmu_roots: "root frame 1, page table frame 6, refs 2", " (invalid; SPTEs gfn 0)" once invalidated. */
  roots: string[];
}

export interface VcpuView {
  vcpu: string;
  vm: string;
  cpu: number;
  mode: 'IN_GUEST_MODE' | 'OUTSIDE_GUEST_MODE';
  /** Between VM-entry and the next VM-exit: the CPU runs guest code on its guest TLB. */
  inGuest: boolean;
  /** vcpu->requests: "KVM_REQ_TLB_FLUSH". */
  requests: string[];
  /** A kick IPI sent and not yet taken. */
  kicked: boolean;
  /** The frame of the TDP root it loaded (mmu->root.hpa), null for INVALID_PAGE. */
  root: number | null;
}

export interface KvmView {
  vms: VmView[];
  vcpus: VcpuView[];
  /** Per CPU, its guest-TLB entries tagged by vCPU and VM: "T3 (V0): gfn 0 -> frame 4". */
  guestTlb: { cpu: number; entries: string[] }[];
  /** Per CPU, its guest paging-structure-cache entries: "T3 (V0): root frame 1 -> page table frame 6". */
  guestPsc: { cpu: number; entries: string[] }[];
}

/** An IOMMU SVA device bound to an mm (sva_trace.ts). */
export interface DeviceView {
  device: string;
  mm: string;
  /** intel_mm_release() tore the PASID entry down: the device no longer translates. */
  released: boolean;
  /** ATC entries: "0x10000 -> frame 4", " (r)" when read-only. */
  atc: string[];
  /** IOMMU first-level paging-structure cache: "PMD table frame 2". */
  psc: string[];
}

export interface StateView {
  /** After this step; 0 is the initial state. */
  step: number;
  mms: MmView[];
  tables: TableView[];
  cpus: CpuView[];
  /** "mmap_lock:P0 (write) held by T0". */
  locks: string[];
  windows: string[];
  /** Page tables queued for freeing after an RCU grace period. */
  rcuQueued: number;
  /** Frames free after the step. */
  freeFrames: number[];
  /** The secondary MMU; absent when the run has no VM. */
  kvm?: KvmView;
  /** The SVA devices; absent when the run binds none. */
  devices?: DeviceView[];
}

export function stateView(step: number, snap: Snapshot, windows: readonly OpenWindow[]): StateView {
  const leavesOf = (mm: string) =>
    [...snap.leaves.values()].filter((l) => l.mm === mm).sort((a, b) => a.vpn - b.vpn).map((l) => `${vaHex(l.vpn)} -> frame ${l.pfn}${permSuffix(l)}, PTE table ${l.table}`);
  return {
    step,
    mms: Object.entries(snap.mms).map(([mm, m]) => ({ mm, tlbGen: m.tlbGen, cpumask: [...m.cpumask].sort((a, b) => a - b), vmas: m.vmas.map((v) => v.text), ptes: leavesOf(mm) })),
    tables: [...snap.reach.entries()].sort(([a], [b]) => a - b).map(([frame, sharers]) => ({ frame, table: tableName(snap.frames[frame]?.level ?? 0), sharers: [...sharers] })),
    cpus: snap.cpus.map((c, cpu) => ({
      cpu,
      cr3: c.loadedMm ?? 'init_mm',
      lazy: c.isLazy,
      storeBuffer: [...c.storeBuffer],
      ipis: c.ipis.map((i) => `${i.func} from ${i.from}`),
      slots: c.slots.map((sl, slot) => ({
        slot,
        mm: sl.mm,
        tlbGen: sl.tlbGen,
        loaded: c.loadedMm !== null && c.loadedSlot === slot,
        tlb: c.tlb.filter((e) => e.slot === slot).map((e) => `${vaHex(e.vpn)} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`),
        psc: c.psc.filter((e) => e.slot === slot).map((e) => `${tableName(e.level)} frame ${e.pfn}`),
      })),
    })),
    locks: Object.entries(snap.locks).filter(([, l]) => l.holders.length > 0).map(([n, l]) => `${n}${l.mode ? ` (${l.mode})` : ''} held by ${l.holders.join(', ')}`),
    windows: windows.map((w) => `${w.actor}: ${w.op} (since step ${w.since})`),
    rcuQueued: snap.rcuQueued,
    freeFrames: snap.frames.flatMap((f, pfn) => (f.state === 'free' ? [pfn] : [])),
    ...(snap.kvm ? { kvm: kvmView(snap.kvm, snap.cpus.length) } : {}),
    ...(snap.sva ? { devices: snap.sva.devices.map((d) => ({ device: d.name, mm: d.mm, released: d.released, atc: d.atc.map((e) => `${vaHex(e.vpn)} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`), psc: d.psc.map((p) => `${tableName(p.level)} frame ${p.pfn}`) })) } : {}),
  };
}

function kvmView(k: KvmSnap, cpus: number): KvmView {
  const hva = (h: number | null) => (h === null ? 'outside every memslot' : `hva ${vaHex(h)}`);
  return {
    vms: k.vms.map((vm) => ({
      vm: vm.name,
      mm: vm.mm,
      memslots: vm.memslots.map((m) => `gfn ${m.gfn}-${m.gfn + m.pages - 1} -> hva ${vaHex(m.hva)}${m.deleted ? ' (deleted)' : m.invalid ? ' (KVM_MEMSLOT_INVALID)' : ''}`),
      sptes: vm.sptes.map((e) => `gfn ${e.gfn} -> frame ${e.pfn}${e.writable ? '' : ' (r)'} (${hva(hvaOf(vm, e.gfn))})`),
      mmuInvalidateSeq: vm.mmuInvalidateSeq,
      mmuInvalidateInProgress: vm.mmuInvalidateInProgress,
      mmuInvalidateRange: rangeText(vm.mmuInvalidateRange),
      released: vm.released,
      roots: vm.roots.map((r) => `root frame ${r.pfn}, page table ${r.pt === null ? 'none' : `frame ${r.pt}`}, refs ${r.refs}${r.invalid ? ` (invalid${r.sptes.length ? `; SPTEs gfn ${r.sptes.map((e) => e.gfn).join(', ')}` : ''})` : ''}`),
    })),
    vcpus: k.vcpus.map((v) => ({ vcpu: v.name, vm: v.vm, cpu: v.cpu, mode: v.mode, inGuest: v.inGuest, requests: [...v.requests], kicked: v.kicked, root: v.root })),
    guestTlb: Array.from({ length: cpus }, (_, cpu) => ({ cpu, entries: k.guestTlb.filter((e) => e.cpu === cpu).map((e) => `${e.vcpu} (${e.vm}): gfn ${e.gfn} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`) })),
    guestPsc: Array.from({ length: cpus }, (_, cpu) => ({ cpu, entries: k.guestPsc.filter((e) => e.cpu === cpu).map((e) => `${e.vcpu} (${e.vm}): root frame ${e.root} -> page table frame ${e.pfn}`) })),
  };
}
