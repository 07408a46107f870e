// What each step of a run changed, as a reader of a race diagram wants
// it said: "[clear PTE 0x10000 (frame 4)]", "[CPU1 TLB: 0x10000 ->
// frame 4]", "[free frame 4]", "[IPI to CPU1: flush_tlb_func]".
//
// The report replays a counterexample with one extra, silent property
// first in the list: it never fires, it only snapshots the TLB-visible
// state after every step (TLBs and paging-structure caches per PCID
// slot, PTEs and upper entries, frames, IPIs, tlb_gen, VMAs, locks; with
// a VM, the secondary MMU too: kvm_trace.ts; with an SVA device, its
// ATC and IOMMU PSC: sva_trace.ts). Consecutive snapshots are
// diffed into effects. Nothing in the model
// changes for it, and the verdict is the same as without it.

import { LEVELS, span } from '../model/kernel/config.js';
import { LEVEL_NAME } from '../model/kernel/pagetable.js';
import type { FrameState, KernelState } from '../model/kernel/state.js';
import { mmOfCtx } from '../model/kernel/tlb.js';
import { protString, vaHex } from '../model/kernel/types.js';
import type { Property } from '../properties/property.js';
import { diffKvm, snapshotKvm, type KvmEffectKind, type KvmSnap } from './kvm_trace.js';
import { diffSva, snapshotSva, type SvaEffectKind, type SvaSnap } from './sva_trace.js';

export type EffectKind =
  | 'pte-set' | 'pte-clear' | 'pte-change'
  | 'upper-set' | 'upper-clear'
  | 'tlb-fill' | 'tlb-drop' | 'psc-fill' | 'psc-drop'
  | 'frame-alloc' | 'frame-free'
  | 'ipi-send' | 'ipi-done'
  | 'tlb-gen' | 'slot' | 'slot-gen' | 'cr3' | 'lazy' | 'cpumask'
  | 'vma' | 'call-rcu'
  | KvmEffectKind
  | SvaEffectKind;

/** One change a step made, with the keys the report matches against the violation. */
export interface Effect {
  kind: EffectKind;
  text: string;
  cpu?: number;
  mm?: string;
  vpn?: number;
  pfn?: number;
  slot?: number;
  /** vma: the exclusive end of the range starting at `vpn`. */
  end?: number;
  /** tlb-fill / tlb-drop: the ghost clock of the fill, which tells entries apart. */
  filled?: number;
  /** upper-set / upper-clear: the entry, as `${table}|${index}` (the key of Snapshot.uppers), and its table's level. */
  entry?: string;
  level?: number;
  /** The secondary MMU's effects (kvm_trace.ts): the VM, the guest frame, the vCPU. */
  vm?: string;
  gfn?: number;
  vcpu?: string;
  /** An SVA device's effects (sva_trace.ts): the device; `mm` is the one it is bound to. */
  device?: string;
}

export interface TlbSnap { slot: number; vpn: number; pfn: number; writable: boolean; filled: number; ghost: number; mm: string | null }
export interface PscSnap { slot: number; level: number; prefix: number; pfn: number; ghost: number; mm: string | null }
export interface CpuSnap {
  loadedMm: string | null;
  loadedSlot: number;
  isLazy: boolean;
  /** x86-TSO (model/kernel/store_buffer.ts): what other CPUs read of loaded_mm and is_lazy, and the stores not yet there. */
  memory: { loadedMm: string | null; isLazy: boolean };
  storeBuffer: string[];
  slots: { ctxId: number; tlbGen: number; mm: string | null }[];
  tlb: TlbSnap[];
  psc: PscSnap[];
  ipis: { seq: number; func: string; from: string }[];
}
export interface LeafSnap { mm: string; vpn: number; pfn: number; writable: boolean; protNone: boolean; table: number; ghost: number; swap?: number }
/** How a PTE's permission reads after its frame: nothing for rw, " (r)", " (prot none)". */
export const permSuffix = (l: { writable: boolean; protNone: boolean }): string => (l.protNone ? ' (prot none)' : l.writable ? '' : ' (r)');
export interface UpperSnap { mm: string; level: number; child: number }

/** The TLB-visible state after one step. */
export interface Snapshot {
  cpus: CpuSnap[];
  frames: { state: FrameState; allocId: number; lp: string; level: number }[];
  /** `${mm}|${vpn}` -> the present leaf entry reached from mm's PGD. */
  leaves: Map<string, LeafSnap>;
  /** `${table}|${index}` -> an upper-level entry and the table it points to. */
  uppers: Map<string, UpperSnap>;
  mms: Record<string, { tlbGen: number; cpumask: number[]; vmas: { start: number; end: number; text: string }[] }>;
  /** Lock name -> mode and holders. */
  locks: Record<string, { mode: string | null; holders: string[] }>;
  rcuQueued: number;
  /** Tasks' open mmu_gathers: actor -> pages queued for freeing. */
  gathers: Record<string, number[]>;
  /** Page-table frame -> the mms whose walk from their PGD reaches it (more than one: a shared table). */
  reach: Map<number, string[]>;
  /** The secondary MMU (kvm_trace.ts); absent when the run has no VM. */
  kvm?: KvmSnap;
  /** The SVA devices' ATCs and IOMMU PSCs (sva_trace.ts); absent when the run has no device. */
  sva?: SvaSnap;
}

export function snapshot(s: KernelState): Snapshot {
  const sva = snapshotSva(s);
  const leaves = new Map<string, LeafSnap>();
  const uppers = new Map<string, UpperSnap>();
  const reach = new Map<number, string[]>();
  for (const mm of Object.values(s.mms)) {
    // Walk from the PGD rather than by table owner: a shared table (mshare) is reached from every mm that links it.
    const walk = (table: number, level: number, base: number, depth: number) => {
      const f = s.frames[table];
      if (!f || f.state !== 'pagetable' || !f.entries || depth > LEVELS) return;
      const r = reach.get(table) ?? reach.set(table, []).get(table)!;
      if (!r.includes(mm.id)) r.push(mm.id);
      f.entries.forEach((e, i) => {
        if (!e) return;
        const v = base + i * span(s.config, level);
        if (level === 1) leaves.set(`${mm.id}|${v}`, { mm: mm.id, vpn: v, pfn: e.pfn, writable: e.writable, protNone: e.protNone, table, ghost: e.ghost, ...(e.swap !== undefined ? { swap: e.swap } : {}) });
        else {
          uppers.set(`${table}|${i}`, { mm: f.owner ?? mm.id, level, child: e.pfn });
          walk(e.pfn, level - 1, v, depth + 1);
        }
      });
    };
    walk(mm.pgd, LEVELS, 0, 0);
  }
  const mmOf = (cpu: KernelState['cpus'][number], slot: number) => (slot >= 0 && cpu.slots[slot] ? mmOfCtx(s, cpu.slots[slot]!.ctxId)?.id ?? null : null);
  return {
    cpus: s.cpus.map((c) => ({
      loadedMm: c.loadedMm,
      loadedSlot: c.loadedSlot,
      isLazy: c.isLazy,
      memory: { loadedMm: c.memory.loadedMm, isLazy: c.memory.isLazy },
      storeBuffer: c.storeBuffer.map((b) => `${b.var}=${b.value ?? 'init_mm'}`),
      slots: c.slots.map((sl) => ({ ctxId: sl.ctxId, tlbGen: sl.tlbGen, mm: mmOfCtx(s, sl.ctxId)?.id ?? null })),
      tlb: c.tlb.map((e) => ({ slot: e.slot, vpn: e.vpn, pfn: e.pfn, writable: e.writable, filled: e.filled, ghost: e.ghost, mm: mmOf(c, e.slot) })),
      psc: c.psc.map((p) => ({ slot: p.slot, level: p.level, prefix: p.prefix, pfn: p.pfn, ghost: p.ghost, mm: mmOf(c, p.slot) })),
      ipis: c.ipis.map((i) => ({ seq: i.seq, func: i.func, from: i.from })),
    })),
    frames: s.frames.map((f) => ({ state: f.state, allocId: f.allocId, lp: f.lp, level: f.level })),
    leaves,
    uppers,
    mms: Object.fromEntries(Object.values(s.mms).map((m) => [m.id, { tlbGen: m.tlbGen, cpumask: [...m.cpumask], vmas: m.vmas.map((x) => ({ start: x.start, end: x.end, text: `${vaHex(x.start)}-${vaHex(x.end)} ${protString(x.prot)}` })) }])),
    locks: Object.fromEntries(Object.entries(s.locks).map(([n, l]) => [n, { mode: l.mode, holders: [...l.holders] }])),
    rcuQueued: s.rcu.callbacks.reduce((n, cb) => n + cb.tables.length, 0),
    gathers: Object.fromEntries(Object.entries(s.tasks).filter(([, t]) => t.gather).map(([a, t]) => [a, [...t.gather!.pages]])),
    reach,
    ...(s.kvm ? { kvm: snapshotKvm(s) } : {}),
    ...(sva ? { sva } : {}),
  };
}

/** What the recorder keeps of each step: the state after it and the reference's verdict on it. */
export interface Recorded {
  snap: Snapshot;
  /** The ideal memory's verdict on the step's observation: what it allowed. */
  ideal: { ok: boolean; expected: string[] } | null;
}

/** A property that never fires and records the state after every step. */
export function recorder(into: Map<number, Recorded>): Property {
  return {
    id: 'report-recorder',
    statement: 'records the state after each step for the report; never fails',
    rule: 'none',
    check({ s, event, ideal }) {
      if (!into.has(event.n) || event.obs) into.set(event.n, { snap: snapshot(s), ideal: ideal && { ok: ideal.ok, expected: [...ideal.expected] } });
      return null;
    },
  };
}

export const tableName = (level: number) => `${(LEVEL_NAME[level] ?? `L${level}`).toUpperCase()} table`;
/** A page-table frame by what it is: a CPU table by its level, or one of KVM's TDP tables (paths/kvm_tdp_root.ts allocates them as "tdp:VM:root" and "tdp:VM:pt"). */
export const frameTableName = (f: { level: number; lp: string }) => (f.lp.startsWith('tdp:') ? (f.lp.endsWith(':root') ? 'TDP root' : 'TDP page table') : tableName(f.level));
export const entryName = (level: number) => `${(LEVEL_NAME[level] ?? `L${level}`).toUpperCase()} entry`;
/** An upper entry by its key: "P0's PGD entry 1". The mm is the owner of the table that holds it. */
export const upperEntryName = (key: string, u: { mm: string; level: number }) => `${u.mm}'s ${entryName(u.level)} ${key.split('|')[1]}`;

/**
 * Options that shape the wording: PCID slots are named only when there
 * is more than one; an upper entry is named with its mm when that is not
 * the stepping task's own (mshare: a sharer's task clears the host's).
 */
export interface DiffOptions {
  pcids: number;
  /** The mm of the task that took the step; null for IPIs, RCU and the hardware. */
  ownMm?: string | null;
}

/** Everything that changed from `a` to `b`, in a fixed order. */
export function diff(a: Snapshot, b: Snapshot, o: DiffOptions): Effect[] {
  const out: Effect[] = [];
  const slotTag = (slot: number) => (o.pcids > 1 ? ` slot ${slot}` : '');

  // Frames: allocation and freeing (a frame freed and handed out in one step shows both).
  b.frames.forEach((fb, pfn) => {
    const fa = a.frames[pfn]!;
    const what = (f: typeof fa) => (f.state === 'pagetable' ? `${frameTableName(f)} (frame ${pfn})` : `frame ${pfn}`);
    const freed = fa.state !== 'free' && (fb.state === 'free' || fb.allocId !== fa.allocId);
    const alloced = fb.state !== 'free' && (fa.state === 'free' || fb.allocId !== fa.allocId);
    if (freed) out.push({ kind: 'frame-free', text: `free ${what(fa)}`, pfn });
    if (alloced) out.push({ kind: 'frame-alloc', text: `alloc ${what(fb)}`, pfn });
  });

  // Leaf entries.
  for (const [key, lb] of b.leaves) {
    const la = a.leaves.get(key);
    const perm = permSuffix(lb);
    if (lb.swap !== undefined && la?.swap !== lb.swap) out.push({ kind: 'pte-set', text: `set PTE ${vaHex(lb.vpn)} -> swap entry ${lb.swap}`, mm: lb.mm, vpn: lb.vpn, pfn: lb.pfn });
    else if (!la) out.push({ kind: 'pte-set', text: `set PTE ${vaHex(lb.vpn)} -> frame ${lb.pfn}${perm}`, mm: lb.mm, vpn: lb.vpn, pfn: lb.pfn });
    else if (la.pfn !== lb.pfn || la.writable !== lb.writable || la.protNone !== lb.protNone) {
      const to = la.pfn !== lb.pfn ? `-> frame ${lb.pfn}${perm}` : lb.protNone ? 'prot none' : lb.writable ? 'writable' : 'read-only';
      out.push({ kind: 'pte-change', text: `PTE ${vaHex(lb.vpn)} ${to}`, mm: lb.mm, vpn: lb.vpn, pfn: lb.pfn });
    }
  }
  for (const [key, la] of a.leaves) {
    if (!b.leaves.has(key)) out.push({ kind: 'pte-clear', text: `clear PTE ${vaHex(la.vpn)} (frame ${la.pfn})`, mm: la.mm, vpn: la.vpn, pfn: la.pfn });
  }

  // Upper-level entries.
  const whose = (u: UpperSnap) => (u.mm === o.ownMm ? '' : `${u.mm}'s `);
  for (const [key, ub] of b.uppers) {
    const ua = a.uppers.get(key);
    if (ua?.child === ub.child) continue;
    out.push({ kind: 'upper-set', text: `${whose(ub)}${entryName(ub.level)} -> ${tableName(ub.level - 1)} (frame ${ub.child})`, mm: ub.mm, pfn: ub.child, entry: key, level: ub.level });
  }
  for (const [key, ua] of a.uppers) {
    if (b.uppers.get(key)?.child === ua.child) continue;
    out.push({ kind: 'upper-clear', text: `clear ${whose(ua)}${entryName(ua.level)} (${tableName(ua.level - 1)}, frame ${ua.child})`, mm: ua.mm, pfn: ua.child, entry: key, level: ua.level });
  }

  b.cpus.forEach((cb, cpu) => {
    const ca = a.cpus[cpu]!;
    const tlbKey = (e: TlbSnap) => `${e.slot}|${e.vpn}|${e.filled}`;
    const pscKey = (e: PscSnap) => `${e.slot}|${e.level}|${e.prefix}|${e.pfn}`;
    const ta = new Set(ca.tlb.map(tlbKey));
    const tb = new Set(cb.tlb.map(tlbKey));
    for (const e of ca.tlb) {
      if (!tb.has(tlbKey(e))) out.push({ kind: 'tlb-drop', text: `CPU${cpu} TLB${slotTag(e.slot)}: drop ${vaHex(e.vpn)}`, cpu, mm: e.mm ?? undefined, vpn: e.vpn, pfn: e.pfn, slot: e.slot, filled: e.filled });
    }
    for (const e of cb.tlb) {
      if (!ta.has(tlbKey(e))) out.push({ kind: 'tlb-fill', text: `CPU${cpu} TLB${slotTag(e.slot)}: ${vaHex(e.vpn)} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`, cpu, mm: e.mm ?? undefined, vpn: e.vpn, pfn: e.pfn, slot: e.slot, filled: e.filled });
    }
    const pa = new Set(ca.psc.map(pscKey));
    const pb = new Set(cb.psc.map(pscKey));
    for (const e of ca.psc) {
      if (!pb.has(pscKey(e))) out.push({ kind: 'psc-drop', text: `CPU${cpu} PSC${slotTag(e.slot)}: drop ${tableName(e.level)} (frame ${e.pfn})`, cpu, mm: e.mm ?? undefined, pfn: e.pfn, slot: e.slot });
    }
    for (const e of cb.psc) {
      if (!pa.has(pscKey(e))) out.push({ kind: 'psc-fill', text: `CPU${cpu} PSC${slotTag(e.slot)}: ${tableName(e.level)} (frame ${e.pfn})`, cpu, mm: e.mm ?? undefined, pfn: e.pfn, slot: e.slot });
    }
    cb.slots.forEach((sb, slot) => {
      const sa = ca.slots[slot]!;
      if (sa.ctxId !== sb.ctxId) out.push({ kind: 'slot', text: `CPU${cpu} PCID slot ${slot} now ${sb.mm ?? 'unused'}, tlb_gen ${sb.tlbGen}`, cpu, mm: sb.mm ?? undefined, slot });
      else if (sa.tlbGen !== sb.tlbGen) out.push({ kind: 'slot-gen', text: `CPU${cpu}${o.pcids > 1 ? ` PCID slot ${slot}` : ''} tlb_gen ${sa.tlbGen} -> ${sb.tlbGen}`, cpu, mm: sb.mm ?? undefined, slot });
    });
    if (ca.loadedMm !== cb.loadedMm || ca.loadedSlot !== cb.loadedSlot) {
      out.push({ kind: 'cr3', text: `CPU${cpu} CR3: ${cb.loadedMm ?? 'init_mm'}${cb.loadedMm && o.pcids > 1 ? `, PCID slot ${cb.loadedSlot}` : ''}`, cpu, mm: cb.loadedMm ?? undefined, slot: cb.loadedSlot });
    }
    if (ca.isLazy !== cb.isLazy) {
      out.push({ kind: 'lazy', text: cb.isLazy ? `CPU${cpu} lazy, ${cb.loadedMm} still loaded` : `CPU${cpu} leaves lazy mode`, cpu, mm: cb.loadedMm ?? undefined });
    }
    const ia = new Set(ca.ipis.map((i) => i.seq));
    const ib = new Set(cb.ipis.map((i) => i.seq));
    for (const i of cb.ipis) if (!ia.has(i.seq)) out.push({ kind: 'ipi-send', text: `IPI to CPU${cpu}: ${i.func}`, cpu });
    for (const i of ca.ipis) if (!ib.has(i.seq)) out.push({ kind: 'ipi-done', text: `CPU${cpu} done with IPI from ${i.from}`, cpu });
  });

  for (const [mm, mb] of Object.entries(b.mms)) {
    const ma = a.mms[mm];
    if (!ma) continue;
    if (ma.tlbGen !== mb.tlbGen) out.push({ kind: 'tlb-gen', text: `${mm} tlb_gen ${ma.tlbGen} -> ${mb.tlbGen}`, mm });
    for (const c of mb.cpumask) if (!ma.cpumask.includes(c)) out.push({ kind: 'cpumask', text: `CPU${c} set in mm_cpumask(${mm})`, cpu: c, mm });
    for (const c of ma.cpumask) if (!mb.cpumask.includes(c)) out.push({ kind: 'cpumask', text: `CPU${c} cleared from mm_cpumask(${mm})`, cpu: c, mm });
    const has = (l: typeof ma.vmas, v: (typeof l)[number]) => l.some((x) => x.text === v.text);
    for (const v of ma.vmas) if (!has(mb.vmas, v)) out.push({ kind: 'vma', text: `detach VMA ${v.text.split(' ')[0]}`, mm, vpn: v.start, end: v.end });
    for (const v of mb.vmas) if (!has(ma.vmas, v)) out.push({ kind: 'vma', text: `VMA ${v.text}`, mm, vpn: v.start, end: v.end });
  }
  if (b.rcuQueued > a.rcuQueued) out.push({ kind: 'call-rcu', text: `call_rcu(): ${b.rcuQueued - a.rcuQueued} table${b.rcuQueued - a.rcuQueued === 1 ? '' : 's'} queued` });
  out.push(...diffKvm(a.kvm, b.kvm));
  out.push(...diffSva(a.sva, b.sva));
  return out;
}
