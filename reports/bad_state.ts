// The bad state of a violation, found in the state after the violating
// step: which TLB or paging-structure-cache entry (CPU, PCID slot, mm,
// address, frame) broke the property, what became of its frame, and
// when each part of the race happened. The property's message names the
// entry; the state, not the message, supplies every fact printed.

import { vaHex } from '../model/kernel/types.js';
import type { StepEvent, Violation } from '../properties/property.js';
import { frameTableName, tableName, type Effect, type Snapshot } from './trace_state.js';

export interface Focus {
  holder: string;
  cpu: number | null;
  slot: number | null;
  mm: string | null;
  vpn: number | null;
  /** The data frame the bad translation reaches. */
  pfn: number | null;
  /** The page-table frame a stale PSC entry, upper entry or walker reaches. */
  table: number | null;
  level: number | null;
  /** Allocation id of the frame when the entry was made. */
  ghost: number | null;
  /** TLB entries: the ghost clock of the fill. */
  filled: number | null;
  /** An SPTE or guest-TLB entry (kvm_bad_state.ts): its VM, guest frame and vCPU; absent for the primary MMU's holders. */
  vm?: string;
  gfn?: number;
  vcpu?: string;
  /** A notifier-balance finding about a guest_memfd invalidation (kvm_gmem_invalidate_begin()), not the mm's notifier. */
  gmem?: boolean;
  /** A notifier-balance finding about mmu_invalidate_in_progress left raised with no invalidation open to end it. */
  raised?: boolean;
  /** An SVA device's ATC or IOMMU PSC entry (sva_bad_state.ts): the device; absent for the CPU's and KVM's holders. */
  device?: string;
}

const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `token` occurs in `msg` as a whole word ("frame 4" is not in "frame 40"). */
export const has = (msg: string, token: string) => new RegExp(`(^|[^0-9A-Za-z])${esc(token)}($|[^0-9A-Za-z])`).test(msg);
const lastNumber = (msg: string, re: RegExp) => {
  const all = [...msg.matchAll(re)];
  return all.length ? Number(all[all.length - 1]![1]) : null;
};

export const blank = (holder: string): Focus => ({ holder, cpu: null, slot: null, mm: null, vpn: null, pfn: null, table: null, level: null, ghost: null, filled: null });

/** Find the entry the violation is about in the state after its step. */
export function locateFocus(v: Violation, ev: StepEvent | undefined, snap: Snapshot): Focus | null {
  const msg = v.message;
  if (v.holder === 'TLB') {
    let best: { score: number; f: Focus } | null = null;
    snap.cpus.forEach((cpu, c) => {
      for (const e of cpu.tlb) {
        if (!has(msg, `CPU${c}`) || !has(msg, vaHex(e.vpn))) continue;
        const score = (has(msg, `slot ${e.slot}`) ? 2 : 0) + (has(msg, `frame ${e.pfn}`) ? 2 : 0) + (e.mm && has(msg, e.mm) ? 1 : 0);
        if (!best || score > best.score) best = { score, f: { ...blank('TLB'), cpu: c, slot: e.slot, mm: e.mm, vpn: e.vpn, pfn: e.pfn, ghost: e.ghost, filled: e.filled } };
      }
    });
    return (best as { f: Focus } | null)?.f ?? null;
  }
  if (v.holder === 'PSC') {
    for (const [c, cpu] of snap.cpus.entries()) {
      for (const p of cpu.psc) {
        if (has(msg, `CPU${c}`) && has(msg, `frame ${p.pfn}`) && (!/slot \d/.test(msg) || has(msg, `slot ${p.slot}`))) {
          return { ...blank('PSC'), cpu: c, slot: p.slot, mm: p.mm, table: p.pfn, level: p.level, ghost: p.ghost };
        }
      }
    }
    return null;
  }
  if (v.holder === 'PTE') {
    const pfn = lastNumber(msg, /frame (\d+)/g);
    const table = lastNumber(msg, /table (\d+)/g);
    for (const l of snap.leaves.values()) {
      if (l.pfn === pfn && (table === null || l.table === table)) return { ...blank('PTE'), mm: l.mm, vpn: l.vpn, pfn: l.pfn, ghost: l.ghost };
    }
    return null;
  }
  if (v.holder === 'upper entry' || v.holder === 'walker') {
    const table = lastNumber(msg, /table (\d+)/g);
    if (table === null) return null;
    return { ...blank(v.holder), table, level: snap.frames[table]?.level ?? null };
  }
  if (v.holder === 'ideal' && ev?.obs?.kind === 'access') {
    const o = ev.obs;
    const cpu = snap.cpus[ev.cpu];
    const e = cpu?.tlb.find((x) => x.slot === cpu.loadedSlot && x.vpn === o.vpn);
    return { ...blank('ideal'), cpu: ev.cpu, mm: o.mm, vpn: o.vpn, slot: e?.slot ?? null, pfn: e?.pfn ?? null, ghost: e?.ghost ?? null, filled: e?.filled ?? null };
  }
  return null;
}

/** A step and the effect of it that matched. */
export interface Found {
  n: number;
  actor: string;
  id: string;
  effect: Effect;
}

export type EffectsByStep = { n: number; actor: string; id: string; cpu: number; effects: Effect[] }[];

export function lastEffect(steps: EffectsByStep, upTo: number, pred: (e: Effect) => boolean): Found | null {
  for (let i = Math.min(upTo, steps.length) - 1; i >= 0; i--) {
    const s = steps[i]!;
    const e = s.effects.find(pred);
    if (e) return { n: s.n, actor: s.actor, id: s.id, effect: e };
  }
  return null;
}

const at = (f: Found) => `step ${f.n} (${f.actor}, ${f.id})`;

/** What became of the frame an entry was made for: free, reallocated, or still in use. */
export function frameStatus(snap: Snapshot, steps: EffectsByStep, upTo: number, pfn: number, ghost: number | null, table: boolean): { stale: boolean; short: string; long: string } {
  const f = snap.frames[pfn];
  const name = table ? `${f ? frameTableName(f) : tableName(0)} frame ${pfn}` : `Frame ${pfn}`;
  if (!f) return { stale: false, short: 'unknown', long: `${name}: unknown` };
  if (f.state === 'free') {
    const when = lastEffect(steps, upTo, (e) => e.kind === 'frame-free' && e.pfn === pfn);
    return { stale: true, short: 'which is free', long: `${name}: free since ${when ? at(when) : 'the start'}.` };
  }
  if ((ghost !== null && f.allocId !== ghost) || (table && f.state !== 'pagetable')) {
    const when = lastEffect(steps, upTo, (e) => e.kind === 'frame-alloc' && e.pfn === pfn);
    return { stale: true, short: `which is reallocated as ${f.lp}`, long: `${name}: freed and reallocated${when ? ` at ${at(when)}` : ''} as ${f.lp}.` };
  }
  const gather = Object.entries(snap.gathers).find(([, pages]) => pages.includes(pfn));
  if (gather) return { stale: false, short: `queued in ${gather[0]}'s mmu_gather`, long: `${name}: still allocated (${f.lp}), queued in ${gather[0]}'s mmu_gather, not yet freed.` };
  return { stale: false, short: '', long: `${name}: still allocated (${f.lp}).` };
}

/** The bracketed bad state shown at the violating step. */
export function badNote(f: Focus, property: string, snap: Snapshot, steps: EffectsByStep, upTo: number, message: string): string {
  if (f.holder === 'TLB' || (f.holder === 'ideal' && f.pfn !== null)) {
    const e = snap.cpus[f.cpu!]!.tlb.find((x) => x.slot === f.slot && x.vpn === f.vpn && x.filled === f.filled);
    if (property === 'protect-complete' && e) return `CPU${f.cpu} TLB still grants ${e.writable ? 'rw' : 'r'} on ${vaHex(f.vpn!)}`;
    const st = frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false);
    return `CPU${f.cpu} TLB still maps ${vaHex(f.vpn!)} -> frame ${f.pfn}${st.stale ? `, ${st.short}` : ''}`;
  }
  if (f.holder === 'PSC') {
    const lazy = snap.cpus[f.cpu!]?.isLazy ? ' (lazy)' : '';
    const st = frameStatus(snap, steps, upTo, f.table!, f.ghost, true);
    return `CPU${f.cpu}${lazy} PSC still caches a ${tableName(f.level ?? 0)} at frame ${f.table}${st.stale ? `, ${st.short}` : ''}`;
  }
  if (f.holder === 'PTE') {
    const st = frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false);
    return `${f.mm} PTE ${vaHex(f.vpn!)} still maps frame ${f.pfn}${st.stale ? `, ${st.short}` : ''}`;
  }
  return message;
}
