// The bad state of an IOMMU SVA finding (holders 'device TLB' and 'device
// PSC' of no-freed-frame-reachable, no-freed-table-reachable,
// no-stale-psc-after-unlink and unmap-complete): the device's ATC entry
// or IOMMU paging-structure-cache entry the message names, found in the
// state after the violating step. As for the CPU (bad_state.ts), the
// message only picks the entry; every fact printed comes from the
// recorded states:
//
//   1. the entry: device, bound mm, address -> frame or the cached table,
//      and the step whose IOMMU walk filled it (iommu_dma_access.walk);
//   2. the frame or table: free, reallocated or still in use;
//   3. the bound mm's PTE for the address, or the upper entries that
//      pointed at the table;
//   4. what reached the device since the PTE or the entry went: its ATC or
//      PSC entries dropped (intel_arch_invalidate_secondary_tlbs() ->
//      cache_tag_flush_range()), the bound mm's flush_tlb_mm_range()
//      (the tlb_gen bump), a flush_tlb_all() (which calls no
//      arch_invalidate_secondary_tlbs(): 6bbd42e2df8f);
//   5. the device now: PASID live or torn down, its cached entries.

import { vaHex } from '../model/kernel/types.js';
import type { StepEvent, Violation } from '../properties/property.js';
import { blank, frameStatus, has, lastEffect, type Focus } from './bad_state.js';
import { upperEntryLines, type Context } from './expected_actual.js';
import { accessText } from './step_labels.js';
import type { DeviceSnap, SvaSnap } from './sva_trace.js';
import { permSuffix, tableName, upperEntryName, type Effect, type Snapshot } from './trace_state.js';

/** The holders an SVA device's caches are reported under (properties/no_freed_*.ts, unmap_complete.ts, no_stale_psc_after_unlink.ts). */
export const SVA_HOLDERS = ['device TLB', 'device PSC'];

/** The device the message is about: "D0's ATC", "D0's IOMMU PSC", "by D0". */
const deviceIn = (sva: SvaSnap, msg: string): DeviceSnap | undefined => sva.devices.find((d) => has(msg, `${d.name}'s`) || has(msg, `by ${d.name}`));

/** A DMA the reference memory refused (read-value, holder 'ideal'): its observation names the device. */
export const dmaAccess = (ev: StepEvent | undefined) => (ev?.obs?.kind === 'access' && ev.obs.device !== undefined ? ev.obs : null);

/** The ATC or IOMMU PSC entry `v` is about, in the state after its step; for a refused DMA, the ATC entry it went through, if any. */
export function locateSvaFocus(v: Violation, ev: StepEvent | undefined, snap: Snapshot): Focus | null {
  const sva = snap.sva;
  if (!sva) return null;
  const dma = dmaAccess(ev);
  if (v.holder === 'ideal' && dma) {
    const d = sva.devices.find((x) => x.name === dma.device);
    const e = d?.atc.find((x) => x.vpn === dma.vpn);
    return { ...blank('ideal'), mm: dma.mm, vpn: dma.vpn, pfn: e?.pfn ?? null, ghost: e?.ghost ?? null, device: dma.device };
  }
  const msg = v.message;
  const d = deviceIn(sva, msg);
  if (!d) return null;
  if (v.holder === 'device TLB') {
    const e = d.atc.find((x) => has(msg, vaHex(x.vpn)) && has(msg, `frame ${x.pfn}`));
    if (e) return { ...blank('device TLB'), mm: d.mm, vpn: e.vpn, pfn: e.pfn, ghost: e.ghost, device: d.name };
    // a DMA store through an entry the same step replaced: the address and frame from the message
    const m = /(0x[0-9a-f]+) in \S+ landed in frame (\d+)/.exec(msg);
    return m ? { ...blank('device TLB'), mm: d.mm, vpn: Number(m[1]), pfn: Number(m[2]), device: d.name } : null;
  }
  if (v.holder === 'device PSC') {
    const p = d.psc.find((x) => has(msg, `frame ${x.pfn}`) && msg.includes(`${tableName(x.level).split(' ')[0]!.toLowerCase()} table`));
    if (p) return { ...blank('device PSC'), mm: d.mm, table: p.pfn, level: p.level, ghost: p.ghost, device: d.name };
  }
  return null;
}

/** The bracketed bad state at the violating step: "D0 ATC still maps 0x10000 -> frame 4, which is free". */
export function svaBadNote(f: Focus, snap: Snapshot, steps: Context['steps'], upTo: number, message: string): string {
  if (f.holder === 'ideal' && f.pfn === null) return message;
  if (f.holder === 'device PSC') {
    const st = frameStatus(snap, steps, upTo, f.table!, f.ghost, true);
    return `${f.device} IOMMU PSC still caches a ${tableName(f.level ?? 0)} at frame ${f.table}${st.stale ? `, ${st.short}` : ''}`;
  }
  const st = frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false);
  return `${f.device} ATC still maps ${vaHex(f.vpn!)} -> frame ${f.pfn}${st.stale ? `, ${st.short}` : ''}`;
}

const at = (x: { n: number; actor: string; id: string }) => `step ${x.n} (${x.actor}, ${x.id})`;
const INVALIDATE = /^intel_arch_invalidate_secondary_tlbs/;

/**
 * What reached the device after `from`: its ATC and PSC entries dropped,
 * the bound mm's tlb_gen bumps (flush_tlb_mm_range(), which makes the
 * arch_invalidate_secondary_tlbs() call), flush_tlb_all() calls, its
 * PASID teardown. A secondary-TLB invalidation that dropped nothing names
 * no device in its effects: it is listed when the run has one device only.
 */
function deviceSinceLine(f: Focus, from: { n: number; what: string }, ctx: Context, touches: (e: Effect) => boolean): string {
  const single = (ctx.snap.sva?.devices.length ?? 0) === 1;
  const events: string[] = [];
  for (const s of ctx.steps.slice(from.n, ctx.upTo)) {
    if (s.id === 'flush_tlb_all.send' || s.id === 'flush_tlb_all.invlpgb_flush_all') events.push(`flush_tlb_all() at step ${s.n}, no arch_invalidate_secondary_tlbs()`);
    if (INVALIDATE.test(s.id) && single && !s.effects.some((e) => e.device === f.device)) events.push(`arch_invalidate_secondary_tlbs() at step ${s.n}, nothing of it dropped`);
    for (const e of s.effects) {
      if (e.kind === 'tlb-gen' && e.mm === f.mm) events.push(`${f.mm} flush_tlb_mm_range() at step ${s.n} (tlb_gen ${e.text.split(' ').at(-1)})`);
      if (e.device !== f.device) continue;
      if (e.kind === 'atc-drop' && touches(e)) events.push(`ATC entry ${vaHex(e.vpn!)} dropped at step ${s.n}`);
      else if (e.kind === 'iommu-psc-drop' && touches(e)) events.push(`IOMMU PSC entry (frame ${e.pfn}) dropped at step ${s.n}`);
      else if (e.kind === 'pasid-release') events.push(`PASID entry torn down at step ${s.n}`);
    }
  }
  const uniq = [...new Set(events)];
  return `${f.device} since ${from.what} at step ${from.n}: ${uniq.length ? uniq.join(', ') : 'no invalidation reached it'}.`;
}

/** The device now: its binding and what its caches hold. */
function deviceNowLine(f: Focus, v: Violation, snap: Snapshot): string | null {
  const d = snap.sva?.devices.find((x) => x.name === f.device);
  if (!d) return null;
  const atc = d.atc.map((e) => `${vaHex(e.vpn)} -> frame ${e.pfn}`).join(', ') || 'empty';
  const psc = d.psc.map((p) => `${tableName(p.level)} frame ${p.pfn}`).join(', ') || 'empty';
  return `${d.name} now (step ${v.step}): bound to ${d.mm}, PASID ${d.released ? 'torn down' : 'live'}; ATC: ${atc}; IOMMU PSC: ${psc}.`;
}

/** Expected against actual's "Actual" for a device TLB or device PSC finding. */
export function svaActualLines(v: Violation, f: Focus, ctx: Context): string[] {
  const { snap, steps, upTo } = ctx;
  const out: string[] = [];
  const d = snap.sva?.devices.find((x) => x.name === f.device);
  const dma = dmaAccess(ctx.event);
  if (f.holder === 'ideal' && dma) out.push(`${ctx.event!.actor}'s ${f.device} on CPU${ctx.event!.cpu}: DMA ${accessText(dma, ctx.event!.id.endsWith('atc_hit') ? 'ATC hit' : 'IOMMU walk')} in ${dma.mm} at step ${ctx.event!.n}.`);
  if (f.holder === 'device TLB' || (f.holder === 'ideal' && f.pfn !== null)) {
    const va = vaHex(f.vpn!);
    const e = d?.atc.find((x) => x.vpn === f.vpn && x.pfn === f.pfn);
    const fill = lastEffect(steps, upTo, (x) => x.kind === 'atc-fill' && x.device === f.device && x.vpn === f.vpn && x.pfn === f.pfn);
    out.push(`${f.device} ATC (bound to ${f.mm}): ${va} -> frame ${f.pfn}${e ? ` (${e.writable ? 'rw' : 'r'})` : ', no longer cached'}${fill ? `, filled at ${at(fill)}` : ''}.`);
    out.push(frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false).long);
    const leaf = snap.leaves.get(`${f.mm}|${f.vpn}`);
    const change = lastEffect(steps, upTo, (x) => x.kind.startsWith('pte-') && x.mm === f.mm && x.vpn === f.vpn);
    out.push(`${f.mm} PTE for ${va}: ${leaf ? `frame ${leaf.pfn}${permSuffix(leaf)}` : 'none'}${change ? ` since ${at(change)}` : ''}.`);
    const unhook = lastEffect(steps, upTo, (x) => (x.kind === 'pte-clear' || x.kind === 'pte-change') && x.mm === f.mm && x.vpn === f.vpn);
    if (unhook) out.push(deviceSinceLine(f, { n: unhook.n, what: unhook.effect.kind === 'pte-clear' ? 'the PTE was cleared' : 'the PTE changed' }, ctx, (x) => x.vpn === f.vpn));
  } else {
    const fill = lastEffect(steps, upTo, (x) => x.kind === 'iommu-psc-fill' && x.device === f.device && x.pfn === f.table);
    out.push(`${f.device} IOMMU PSC (bound to ${f.mm}): paging-structure cache entry for the ${tableName(f.level ?? 0)} at frame ${f.table}${fill ? `, cached at ${at(fill)}` : ''}.`);
    out.push(frameStatus(snap, steps, upTo, f.table!, f.ghost, true).long);
    out.push(...upperEntryLines(f.table!, ctx));
    const unhook = lastEffect(steps, upTo, (x) => x.kind === 'upper-clear' && x.pfn === f.table);
    if (unhook) out.push(deviceSinceLine(f, { n: unhook.n, what: `${upperEntryName(unhook.effect.entry!, { mm: unhook.effect.mm!, level: unhook.effect.level! })} was cleared` }, ctx, (x) => x.pfn === f.table));
  }
  const now = deviceNowLine(f, v, snap);
  if (now) out.push(now);
  return out;
}
