// Expected against actual (SPEC 9): what the reference and the property
// required at the violating step, and the TLB-visible state that broke
// it: the stale entry with its CPU, PCID slot and fill, its frame (free,
// reallocated or still queued), the PTE, and what reached that CPU since
// the translation was taken away (IPIs, flushes, tlb_gen catch-ups).

import type { OpRecord } from '../model/kernel/step.js';
import { protString, vaHex } from '../model/kernel/types.js';
import type { Scenario } from '../model/run/scenario.js';
import type { Property, StepEvent, Violation } from '../properties/property.js';
import { frameStatus, lastEffect, type EffectsByStep, type Focus } from './bad_state.js';
import { accessText, resultText, syscallText } from './step_labels.js';
import { permSuffix, tableName, upperEntryName, type Effect, type Snapshot } from './trace_state.js';

export interface Context {
  snap: Snapshot;
  steps: EffectsByStep;
  trace: StepEvent[];
  /** The violating step. */
  upTo: number;
  scenario: Scenario;
  ops: Map<string, OpRecord>;
  event: StepEvent | undefined;
  ideal: { ok: boolean; expected: string[] } | null;
}

const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);

/** The calls that covered the address, from the observations: "munmap(...) by T1, step 42, not returned". */
function referenceFor(mm: string, vpn: number, ctx: Context): string {
  const parts: string[] = [];
  const setup = ctx.scenario.setup.find((x) => x.kind === 'mmap' && x.proc === mm && x.start <= vpn && vpn < x.start + x.pages);
  parts.push(setup && setup.kind === 'mmap' ? `mapped ${protString(setup.prot)} at setup` : 'not mapped at setup');
  const returned = new Map<string, { n: number; result: string }>();
  for (const ev of ctx.trace.slice(0, ctx.upTo)) if (ev.obs?.kind === 'return') returned.set(ev.obs.opId, { n: ev.n, result: ev.obs.result });
  for (const ev of ctx.trace.slice(0, ctx.upTo)) {
    if (ev.obs?.kind !== 'invoke') continue;
    const op = ev.obs.op;
    if (op.mm !== mm || vpn < op.start || vpn >= op.start + op.pages) continue;
    const r = returned.get(op.id);
    parts.push(`${syscallText(op)} by ${ev.actor} entered at step ${ev.n}${r ? ` and returned ${resultText(r.result)} at step ${r.n}` : ', not returned'}`);
  }
  return `Reference memory for ${mm} ${vaHex(vpn)}: ${parts.join('; ')}.`;
}

export function expectedLines(v: Violation, prop: Property | undefined, f: Focus | null, ctx: Context): string[] {
  const out: string[] = [];
  if (prop) out.push(sentence(`${prop.id}: ${prop.statement}`), sentence(`Kernel rule: ${prop.rule}`));
  if (f?.mm && f.vpn !== null) out.push(referenceFor(f.mm, f.vpn, ctx));
  if (ctx.ideal && !ctx.ideal.ok) out.push(`At step ${v.step} the reference allows: ${ctx.ideal.expected.join(', ') || 'nothing'}.`);
  return out;
}

const at = (x: { n: number; actor: string; id: string }) => `step ${x.n} (${x.actor}, ${x.id})`;

/** What reached `cpu` after step `from`: IPIs, flushes, tlb_gen catch-ups, CR3 writes. */
function sinceLine(cpu: number, from: { n: number; what: string }, ctx: Context, touches: (e: Effect) => boolean): string {
  const events: string[] = [];
  let pending = 0;
  for (const s of ctx.steps.slice(from.n, ctx.upTo)) {
    for (const e of s.effects) {
      if (e.cpu !== cpu) continue;
      if (e.kind === 'ipi-send') { events.push(`IPI queued at step ${s.n}`); pending++; }
      else if (e.kind === 'ipi-done') { events.push(`IPI handled at step ${s.n}`); pending--; }
      else if ((e.kind === 'tlb-drop' || e.kind === 'psc-drop') && touches(e)) events.push(`flush at step ${s.n}`);
      else if (e.kind === 'slot-gen') events.push(`tlb_gen catch-up at step ${s.n}`);
      else if (e.kind === 'slot') events.push(`PCID slot ${e.slot} reassigned at step ${s.n}`);
      else if (e.kind === 'cr3') events.push(`CR3 write at step ${s.n}`);
      else if (e.kind === 'lazy') events.push(`${e.text.includes('leaves') ? 'left' : 'entered'} lazy mode at step ${s.n}`);
    }
  }
  const uniq = [...new Set(events)];
  const what = uniq.length ? uniq.join(', ') + (pending > 0 ? ' (not yet handled)' : '') : 'no IPI, no flush';
  return `CPU${cpu} since ${from.what} at step ${from.n}: ${what}.`;
}

function cpuLine(cpu: number, slot: number | null, mm: string | null, snap: Snapshot): string {
  const c = snap.cpus[cpu]!;
  const parts = [`loaded_mm ${c.loadedMm ?? 'init_mm'}${c.loadedMm && snap.cpus[cpu]!.slots.length > 1 ? ` in PCID slot ${c.loadedSlot}` : ''}${c.isLazy ? ', lazy' : ''}`];
  if (slot !== null && c.slots[slot]) parts.push(`slot ${slot} holds ${c.slots[slot]!.mm ?? 'no mm'} at tlb_gen ${c.slots[slot]!.tlbGen}`);
  if (mm && snap.mms[mm]) parts.push(`${mm} is at tlb_gen ${snap.mms[mm]!.tlbGen}, mm_cpumask(${mm}) = {${snap.mms[mm]!.cpumask.join(', ')}}`);
  // x86-TSO: should_flush_tlb() on another CPU reads memory, not this CPU's own view
  if (c.storeBuffer.length > 0) parts.push(`other CPUs read loaded_mm ${c.memory.loadedMm ?? 'init_mm'}, ${c.memory.isLazy ? 'lazy' : 'not lazy'} (still in its store buffer: ${c.storeBuffer.join(', ')})`);
  return `CPU${cpu} now: ${parts.join('; ')}.`;
}

const entryOf = (e: Effect) => upperEntryName(e.entry!, { mm: e.mm!, level: e.level! });

/**
 * The upper entries that pointed at a freed table, each named with the mm
 * whose table holds it: those cleared, and those that still point at it
 * after the violating step, with whether they were ever cleared. Under
 * mshare the host's entry and a sharer's entry reach the same table, and
 * clearing one leaves the other.
 */
export function upperEntryLines(table: number, ctx: Context): string[] {
  const out: string[] = [];
  const all = (kind: Effect['kind'], key?: string) => ctx.steps.slice(0, ctx.upTo).flatMap((s) => s.effects.filter((e) => e.kind === kind && e.pfn === table && (key === undefined || e.entry === key)).map((effect) => ({ ...s, effect })));
  const live = [...ctx.snap.uppers].filter(([, u]) => u.child === table);
  for (const c of all('upper-clear')) {
    if (live.some(([key]) => key === c.effect.entry)) continue;
    out.push(`${entryOf(c.effect)}, which pointed at it, was cleared at ${at(c)}.`);
  }
  for (const [key, u] of live) {
    const cleared = all('upper-clear', key).at(-1);
    const set = all('upper-set', key).at(-1);
    const history = cleared ? `cleared at ${at(cleared)}, set again at ${set ? at(set) : '?'}` : `never cleared since ${set ? `it was set at ${at(set)}` : 'setup'}`;
    out.push(`${upperEntryName(key, u)} still points at it: ${history}.`);
  }
  return out;
}

function slotState(snap: Snapshot, cpu: number, slot: number): string {
  const c = snap.cpus[cpu]!;
  if (slot !== c.loadedSlot) return 'not loaded';
  return c.isLazy ? 'loaded, lazy' : 'loaded';
}

export function actualLines(v: Violation, f: Focus | null, ctx: Context): string[] {
  const { snap, steps, upTo } = ctx;
  const out: string[] = [];
  if (f?.holder === 'ideal' && ctx.event?.obs?.kind === 'access') {
    out.push(`${ctx.event.actor} on CPU${ctx.event.cpu}: ${accessText(ctx.event.obs, ctx.event.id.endsWith('tlb_hit') ? 'TLB hit' : 'walk')} at step ${ctx.event.n}.`);
  }
  if (f && f.cpu !== null && f.vpn !== null && f.pfn !== null) {
    const e = snap.cpus[f.cpu]!.tlb.find((x) => x.slot === f.slot && x.vpn === f.vpn && x.filled === f.filled);
    const fill = lastEffect(steps, upTo, (x) => x.kind === 'tlb-fill' && x.cpu === f.cpu && x.filled === f.filled);
    if (e) out.push(`CPU${f.cpu} PCID slot ${f.slot} (${e.mm ?? 'no mm'}, ${slotState(snap, f.cpu, f.slot!)}): TLB entry ${vaHex(f.vpn)} -> frame ${f.pfn} (${e.writable ? 'rw' : 'r'})${fill ? `, filled at ${at(fill)}` : ''}.`);
    out.push(frameStatus(snap, steps, upTo, f.pfn, f.ghost, false).long);
  }
  if (f?.holder === 'PTE' && f.pfn !== null) out.push(frameStatus(snap, steps, upTo, f.pfn, f.ghost, false).long);
  if (f?.mm && f.vpn !== null) {
    const leaf = snap.leaves.get(`${f.mm}|${f.vpn}`);
    const change = lastEffect(steps, upTo, (x) => x.kind.startsWith('pte-') && x.mm === f.mm && x.vpn === f.vpn);
    out.push(`${f.mm} PTE for ${vaHex(f.vpn)}: ${leaf ? `frame ${leaf.pfn}${permSuffix(leaf)}` : 'none'}${change ? ` since ${at(change)}` : ''}.`);
    const unhook = lastEffect(steps, upTo, (x) => (x.kind === 'pte-clear' || x.kind === 'pte-change') && x.mm === f.mm && x.vpn === f.vpn);
    if (unhook && f.cpu !== null) out.push(sinceLine(f.cpu, { n: unhook.n, what: unhook.effect.kind === 'pte-clear' ? 'the PTE was cleared' : 'the PTE changed' }, ctx, (x) => x.vpn === f.vpn));
  }
  if (f && f.table !== null) {
    if (f.holder === 'PSC' && f.cpu !== null) {
      const fill = lastEffect(steps, upTo, (x) => x.kind === 'psc-fill' && x.cpu === f.cpu && x.pfn === f.table);
      out.push(`CPU${f.cpu} PCID slot ${f.slot} (${f.mm ?? 'no mm'}, ${slotState(snap, f.cpu, f.slot!)}): paging-structure cache entry for the ${tableName(f.level ?? 0)} at frame ${f.table}${fill ? `, cached at ${at(fill)}` : ''}.`);
    } else out.push(sentence(v.message));
    out.push(frameStatus(snap, steps, upTo, f.table, f.ghost, true).long);
    out.push(...upperEntryLines(f.table, ctx));
    const unhook = lastEffect(steps, upTo, (x) => x.kind === 'upper-clear' && x.pfn === f.table);
    if (unhook && f.cpu !== null) out.push(sinceLine(f.cpu, { n: unhook.n, what: `${entryOf(unhook.effect)} was cleared` }, ctx, (x) => x.pfn === f.table || x.kind === 'tlb-drop'));
  }
  if (f && f.cpu !== null) out.push(cpuLine(f.cpu, f.slot, f.mm, snap));
  if (out.length === 0) {
    out.push(sentence(v.message));
    const held = Object.entries(snap.locks).filter(([, l]) => l.holders.length > 0).map(([n, l]) => `${n} (${l.mode}) held by ${l.holders.join(', ')}`);
    if (held.length) out.push(`Locks after step ${v.step}: ${held.join('; ')}.`);
  }
  return out;
}
