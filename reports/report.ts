// The report of a counterexample (SPEC 9) as a data object; render_text
// and render_json print it. Built by replaying the saved scenario under
// its policy (and variant), so it has the whole trace and every state,
// not only the step ids the file records:
//
//   1. Replay with a recorder that snapshots the state after each step
//      (trace_state.ts); diff the snapshots into per-step effects.
//   2. Find the bad entry in the state after the violating step
//      (bad_state.ts): the focus (CPU, PCID slot, mm, address, frame).
//   3. Keep the steps that matter to the race (they touch the focus,
//      flush, free, send or handle an IPI, enter or return from a call)
//      and collapse runs of the others, one actor at a time.
//      Fold rounds of entries that repeat (a livelock) into one entry.
//   4. Say what the reference required and what the TLBs held instead.

import { resolveConfig, type Config } from '../model/kernel/config.js';
import { initState } from '../model/kernel/init.js';
import type { OpRecord } from '../model/kernel/step.js';
import { vaHex } from '../model/kernel/types.js';
import { loadCorpusVariant } from '../model/policies/load_variant.js';
import type { Policy } from '../model/policies/policy.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { dependsOnReplayedText } from './depends_on.js';
import { vmsCreatedAtRun, type KswapdSpec, type ThreadSpec } from '../model/run/scenario.js';
import { MODEL_VERSION } from '../model/version.js';
import type { Property } from '../properties/property.js';
import { PROPERTIES, propertyById } from '../properties/registry.js';
import { checkedProperties, CounterexampleError, verdictOf, type CounterexampleFile, type Verdict } from './counterexample.js';
import { badNote, locateFocus, type EffectsByStep, type Focus } from './bad_state.js';
import { KVM_HOLDERS, kvmActualLines, kvmBadNote, locateKvmFocus } from './kvm_bad_state.js';
import { dmaAccess, locateSvaFocus, SVA_HOLDERS, svaActualLines, svaBadNote } from './sva_bad_state.js';
import { actualLines, expectedLines } from './expected_actual.js';
import { printScenario } from './scenario_text.js';
import { accessText, callPath, guestAccessText, opText, resultText, runLabel, syscallText } from './step_labels.js';
import { foldRepeats } from './fold_repeats.js';
import { FLUSH_DECIDED, flushNote, flushTracer } from './flush_trace.js';
import { lanesOf, type Lane } from './lanes.js';
import { stateView, type OpenWindow, type StateView } from './state_view.js';
import { diff, recorder, snapshot, type Effect, type Recorded, type Snapshot } from './trace_state.js';

export const REPORT_FORMAT = 'mshare-check/report';
// 2: lanes and states (the HTML report's swimlanes and step cursor), actor kind 'sb'.
export const REPORT_VERSION = 2;

export type ActorKind = 'thread' | 'ipi' | 'rcu' | 'spec' | 'sb' | 'other';

export interface ReportActor {
  name: string;
  kind: ActorKind;
  /** The CPU column it is drawn in; null for rcu (a side note). */
  cpu: number | null;
  proc: string | null;
  /** A thread that runs a vCPU (its ops include guest accesses): the VM; absent for every other actor. */
  vcpu?: string;
}

export interface ReportStep {
  n: number;
  actor: string;
  cpu: number | null;
  id: string;
  /** The step as kernel calls: ["zap_pte_range()", "clear"]. */
  call: string[];
  /** The scenario operation a thread is running, e.g. "munmap 0x10000". */
  op: string | null;
  /** Everything the step changed. */
  effects: string[];
  /** Locks the actor holds after the step. */
  locks: string[];
  /** The reference's verdict on the step's observation: what it allowed. */
  reference: string[] | null;
  /** The flush the step decides or starts: range, stride, kind, tables (flush_trace.ts); null when none. */
  flush: string | null;
  /** Shown on a line of its own in the text report (the others are collapsed). */
  shown: boolean;
}

/** One entry of the race diagram: a kept step, or a collapsed run of one actor's steps. */
export interface DiagramItem {
  from: number;
  to: number;
  actor: string;
  cpu: number | null;
  call: string[];
  /** The effects that matter to the race, shown in brackets. */
  notes: string[];
  /** Locks held after the item, when they changed since the actor's last item. */
  locks: string[] | null;
  /** A fold of rounds that repeat the `entries` items before it (fold_repeats.ts). */
  repeats?: { entries: number; times: number };
}

export interface Report {
  format: typeof REPORT_FORMAT;
  version: number;
  title: string;
  summary: string;
  header: {
    file: string;
    policy: string;
    base: { name: string; date: string; description: string };
    variant: { name: string; file: string; sha256: string; description: string } | null;
    modelVersion: string;
    savedModelVersion: string;
    fileFormat: number;
    config: Config;
    found: string;
    signature: string;
    /** "depends on <knob>" when the replay consulted a knob not cited from a patch or talk (reports/depends_on.ts); absent otherwise. */
    dependsOn?: string;
    replay: string;
  };
  /** The verdict of this replay, and whether it is the one the file recorded. */
  verdict: Verdict;
  sameAsSaved: boolean;
  violation: {
    property: string;
    statement: string;
    rule: string;
    holder: string;
    step: number;
    actor: string;
    cpu: number | null;
    stepId: string;
    message: string;
    /** The last flush decided before the violation in the mm it is about: the step that decides the race, never folded or collapsed. */
    decidedBy: number | null;
  } | null;
  focus: Focus | null;
  /** The bad state, bracketed at the violating step in the column of `cpu`. */
  bad: { cpu: number | null; note: string } | null;
  expected: string[];
  actual: string[];
  actors: ReportActor[];
  /** Swimlanes: one per CPU, one per hardware actor (lanes.ts). */
  lanes: Lane[];
  steps: ReportStep[];
  /** The state after each step, states[0] the initial one (state_view.ts). */
  states: StateView[];
  diagram: DiagramItem[];
  scenario: { text: string; replay: string };
  provenance: string;
  /** The saved file itself: with it the JSON report replays. */
  counterexample: CounterexampleFile;
}

/** The policy a counterexample of this project's corpus was found under: its base, edited by the embedded variant when that is byte for byte a file of variants/ (load_variant.ts loadCorpusVariant); the CLI decides trust itself. */
export async function policyFor(cx: CounterexampleFile): Promise<Policy> {
  const base = policyByName(cx.policy);
  if (!base) throw new CounterexampleError(`unknown policy '${cx.policy}' in the counterexample`);
  return cx.variant ? applyVariant(base, (await loadCorpusVariant(cx.variant)).spec) : base;
}

/** Quote a path for a POSIX shell only when it needs it (double quotes keep \-newline joins working). */
export const shellWord = (w: string) => (/^[A-Za-z0-9_./+@:=,-]+$/.test(w) ? w : `"${w.replace(/["$`\\]/g, '\\$&')}"`);

function actorOf(name: string, cpu: number, threads: Map<string, ThreadSpec>, kswapd?: KswapdSpec): ReportActor {
  if (kswapd?.name === name) return { name, kind: 'thread', cpu: kswapd.cpu, proc: null }; // a kernel thread: no mm
  const t = threads.get(name);
  const guest = t?.ops.find((o) => o.kind === 'guest_read' || o.kind === 'guest_write');
  if (t) return { name, kind: 'thread', cpu: t.cpu, proc: t.proc, ...(guest && 'vm' in guest ? { vcpu: guest.vm } : {}) };
  if (name.startsWith('ipi@')) return { name, kind: 'ipi', cpu, proc: null };
  if (name.startsWith('spec@')) return { name, kind: 'spec', cpu, proc: null };
  if (name.startsWith('sb@')) return { name, kind: 'sb', cpu, proc: null };
  if (name === 'rcu') return { name, kind: 'rcu', cpu: null, proc: null };
  return { name, kind: 'other', cpu, proc: null };
}

/** Steps kept by what they are: calls, accesses, walks, flushes, frees, IPIs, lazy mode. */
const KEEP_ID = /^(sys_|user_access\.|hw\.|enter_lazy_tlb$|csd_unlock$|native_flush_tlb_multi\.|flush_tlb_mm_range\.|flush_tlb_func\.(flush|switch)|flush_tlb_all|do_flush_tlb_all|tlb_gather_mmu|tlb_finish_mmu\.dec|tlb_batch_pages_flush|tlb_table_flush|rcu_do_batch)/;
/** KVM's steps kept by what they are: VM-entry and exits, guest accesses, the notifier's start and end, SPTE zaps and installs, remote flushes and kicks, a root's load, flush, retirement and put (paths/kvm_*.ts). */
const KEEP_KVM_ID = /^(vcpu_enter_guest\.(vmenter|cancel_injection)|kvm_vcpu_flush_tlb_all|guest_access\.|vmx_vcpu_run\.kick_exit|kvm_vcpu_run\.(vmexit|efault)|kvm_mmu_notifier_invalidate_range_start$|kvm_mmu_invalidate_(begin|end)$|tdp_mmu_zap_leafs$|tdp_mmu_map_handle_target_level$|is_page_fault_stale\.retry|kvm_arch_flush_shadow_all$|kvm_make_all_cpus_request\.(kvm_make_request|kick|wait)|kvm_tdp_mmu_alloc_root$|kvm_mmu_load\.flush_tlb_current|kvm_mmu_free_obsolete_roots|kvm_tdp_mmu_invalidate_all_roots|tdp_mmu_zap_root|kvm_tdp_mmu_put_root)/;
/** Steps that end a thread's operation. */
// a guest access completes its operation; the KVM_RUN's VM-exit after the last one completes none
const COMPLETES = /^(sys_\w+\.return|user_access\.(walk|tlb_hit|sigsegv)|exit_to_user_mode|enter_lazy_tlb|guest_access\.(tdp_walk|tlb_hit)|kvm_vcpu_run\.efault)$/;

/** Does an effect matter to the race around `f`? */
export function relevant(e: Effect, f: Focus | null): boolean {
  const sameVa = f?.vpn != null && e.vpn === f.vpn && (!e.mm || !f.mm || e.mm === f.mm);
  switch (e.kind) {
    case 'pte-set': case 'pte-clear': case 'pte-change': case 'tlb-fill': case 'tlb-drop':
      return sameVa;
    case 'psc-fill': case 'psc-drop': case 'upper-set':
      return f?.table != null && e.pfn === f.table;
    case 'upper-clear':
      return f?.table != null;
    case 'frame-alloc':
      return f != null && (e.pfn === f.pfn || e.pfn === f.table);
    case 'frame-free': case 'ipi-send': case 'ipi-done': case 'lazy': case 'call-rcu':
      return true;
    case 'tlb-gen':
      return !f?.mm || e.mm === f.mm;
    case 'slot-gen':
      return f?.cpu != null && e.cpu === f.cpu && (!f.mm || e.mm === f.mm);
    case 'vma':
      return f?.vpn != null && e.mm === f.mm && f.vpn >= e.vpn! && f.vpn < e.end!;
    case 'slot': case 'cr3': case 'cpumask':
      return false;
    // The secondary MMU: the focus's SPTE or guest-TLB entry, its vCPU, its VM's invalidation.
    case 'spte-set': case 'spte-zap': case 'spte-change': case 'gtlb-fill': case 'gtlb-drop':
      return f?.vm != null && e.vm === f.vm && e.gfn === f.gfn;
    case 'vcpu-mode': case 'kvm-request': case 'kvm-kick':
      return f?.vm != null && e.vm === f.vm && (f.vcpu == null || e.vcpu === f.vcpu);
    case 'mmu-invalidate': case 'memslot': case 'tdp-root':
      return f?.vm != null && e.vm === f.vm;
    case 'vcpu-root':
      return f?.vm != null && e.vm === f.vm && (f.vcpu == null || e.vcpu === f.vcpu);
    case 'gpsc-fill': case 'gpsc-drop':
      return f?.vm != null && e.vm === f.vm && f.table != null && e.pfn === f.table;
    // An SVA device: the focus's ATC entry (its address in the bound mm), the table its IOMMU PSC caches, its PASID.
    case 'atc-fill': case 'atc-drop':
      return sameVa;
    case 'iommu-psc-fill': case 'iommu-psc-drop':
      return f?.table != null && e.pfn === f.table;
    case 'pasid-release':
      return f?.device != null && e.device === f.device;
  }
}

function formatLocks(snap: Snapshot, actor: string, manyMms: boolean): string[] {
  const held = Object.entries(snap.locks).filter(([, l]) => l.holders.includes(actor)).map(([n, l]) => ({ n, mode: l.mode }));
  const ptls = held.filter((l) => l.n.startsWith('ptl:')).length;
  return held.map(({ n, mode }) => {
    const [cls, obj] = [n.slice(0, n.indexOf(':')), n.slice(n.indexOf(':') + 1)];
    if (cls === 'mmap_lock' || cls === 'i_mmap_rwsem') return `${cls}(${manyMms || cls === 'i_mmap_rwsem' ? `${obj}, ` : ''}${mode ?? '?'})`;
    if (cls === 'ptl') return ptls > 1 ? `ptl(${obj})` : 'ptl';
    if (cls === 'page_table_lock') return manyMms ? `page_table_lock(${obj})` : 'page_table_lock';
    return n;
  });
}

/** `properties`: what the counterexample was checked against (all of them, unless a test narrowed it). */
export function buildReport(cx: CounterexampleFile, file: string, policy: Policy, properties: readonly Property[] = checkedProperties(cx, propertyById) ?? PROPERTIES): Report {
  const sc = cx.scenario;
  const config = resolveConfig(sc.config);
  const rec = new Map<number, Recorded>();
  const traced = flushTracer(policy);
  const run = runScenario(sc, { policy: traced.policy, properties: [recorder(rec), traced.property, ...properties] });
  const dependsOn = run.verdict === 'violation' ? dependsOnReplayedText(policy, run.knobsUsed, { scenario: sc, signature: cx.signature, properties }) : null;
  const verdict = verdictOf(run);
  const threads = new Map(sc.threads.map((t) => [t.name, t]));

  // 1. Effects of every step, and each step as kernel calls.
  const initial = snapshot(initState(config, sc.setup, vmsCreatedAtRun(sc)));
  // Name the mm in lock names once there is more than one (an msharefs host mm counts).
  const manyMms = Object.keys(initial.mms).length > 1;
  const snapAt = (n: number): Snapshot => (n === 0 ? initial : rec.get(n)?.snap ?? snapAt(n - 1));
  const actors = new Map<string, ReportActor>();
  const ops = new Map<string, OpRecord>();
  const opIndex = new Map<string, number>();
  const specCount = new Map<string, number>();
  const byStep: EffectsByStep = [];
  // Operation windows [invoke, return] open after each step (index 0: none).
  const open = new Map<string, OpenWindow>();
  const windowsAfter: OpenWindow[][] = [[]];
  const steps: ReportStep[] = run.trace.map((ev) => {
    const a = actors.get(ev.actor) ?? actorOf(ev.actor, ev.cpu, threads, sc.kswapd);
    actors.set(ev.actor, a);
    const effects = diff(snapAt(ev.n - 1), snapAt(ev.n), { pcids: config.pcids, ownMm: a.proc });
    byStep.push({ n: ev.n, actor: ev.actor, id: ev.id, cpu: ev.cpu, effects });
    const o = ev.obs;
    const opId = o?.kind === 'invoke' ? o.op.id : o?.kind === 'pin' || o?.kind === 'dma' || o?.kind === 'unpin' ? o.pin : o?.opId;
    const m = opId ? /\.(\d+)$/.exec(opId) : null;
    if (m && a.kind === 'thread') opIndex.set(ev.actor, Number(m[1]));
    const t = threads.get(ev.actor);
    const op = t ? t.ops[opIndex.get(ev.actor) ?? 0] ?? null : null;
    let call = callPath(ev.id);
    if (o?.kind === 'invoke') {
      ops.set(o.op.id, o.op);
      open.set(ev.actor, { actor: ev.actor, op: op ? opText(op) : syscallText(o.op), since: ev.n });
      call = [syscallText(o.op)];
    } else if (o?.kind === 'return') call = [`${ops.get(o.opId)?.kind ?? 'syscall'}() = ${resultText(o.result)}`];
    else if (o?.kind === 'access' && /^user_access\.(walk|tlb_hit)$/.test(ev.id)) call = [accessText(o, ev.id.endsWith('walk') ? 'walk' : 'TLB hit')];
    else if (o?.kind === 'access' && o.guest && /^guest_access\.(tdp_walk|tlb_hit)$/.test(ev.id)) call = [guestAccessText(o, ev.id.endsWith('tdp_walk') ? 'TDP walk' : 'guest TLB hit')];
    else if (o?.kind === 'pin') call = [`FOLL_WRITE pin of ${vaHex(o.vpn)} (${ev.id})`];
    else if (o?.kind === 'dma') call = [`DMA write of ${o.value} into the pinned page`];
    else if (ev.id === 'guest_access.ept_violation' && op) call = [`EPT violation on ${opText(op)}`];
    else if (ev.id === 'user_access.page_fault' && op) call = [`#PF on ${opText(op)}`];
    else if (ev.id === 'user_access.sigsegv' && op) call = [`SIGSEGV on ${opText(op)}`];
    else if (ev.id === 'hw.speculative_walk') {
      const i = specCount.get(ev.actor) ?? 0;
      specCount.set(ev.actor, i + 1);
      const va = sc.speculation.find((x) => `spec@cpu${x.cpu}` === ev.actor)?.vas[i];
      call = [`speculative walk${va === undefined ? '' : ` ${vaHex(va)}`}`];
    }
    if (o?.kind === 'return') open.delete(ev.actor);
    windowsAfter.push([...open.values()]);
    if (a.kind === 'thread' && COMPLETES.test(ev.id)) opIndex.set(ev.actor, (opIndex.get(ev.actor) ?? 0) + 1);
    return {
      n: ev.n,
      actor: ev.actor,
      cpu: a.cpu,
      id: ev.id,
      call,
      op: op ? opText(op) : null,
      effects: effects.map((e) => e.text),
      locks: formatLocks(snapAt(ev.n), ev.actor, manyMms),
      reference: rec.get(ev.n)?.ideal?.expected ?? null,
      flush: flushNote(ev.id, traced.flushes.get(ev.n), config),
      shown: false,
    };
  });

  // 2. The violation and the entry it is about.
  const v = run.violation;
  const last = snapAt(v?.step ?? run.trace.length);
  const vEvent = v ? run.trace[v.step - 1] : undefined;
  const focus = v ? (KVM_HOLDERS.includes(v.holder) ? locateKvmFocus(v, last) : SVA_HOLDERS.includes(v.holder) || (v.holder === 'ideal' && dmaAccess(vEvent)) ? locateSvaFocus(v, vEvent, last) : locateFocus(v, vEvent, last)) : null;
  const prop = v ? propertyById(v.property) : undefined;
  const note = (f: Focus, w: NonNullable<typeof v>) => (f.vm !== undefined ? kvmBadNote(f, last, byStep, w.step) : f.device !== undefined ? svaBadNote(f, last, byStep, w.step, w.message) : badNote(f, w.property, last, byStep, w.step, w.message));
  const bad = v ? { cpu: focus?.cpu ?? actors.get(v.actor)?.cpu ?? null, note: focus ? note(focus, v) : v.message } : null;

  // 3. Expected against actual: computed from the recorded states alone, before the drawing, which
  // keeps every step the actual lines name ("installed at step 73", "joined ... at step 49").
  const ctx = { snap: last, steps: byStep, trace: run.trace, upTo: v?.step ?? steps.length, scenario: sc, ops, event: vEvent, ideal: v ? rec.get(v.step)?.ideal ?? null : null };
  const expected = v ? expectedLines(v, prop, focus, ctx) : [];
  const actual = v ? (focus?.vm !== undefined ? kvmActualLines(v, focus, ctx) : focus?.device !== undefined ? svaActualLines(v, focus, ctx) : actualLines(v, focus, ctx)) : [];
  const namedInActual = new Set([...actual.join(' ').matchAll(/\bstep (\d+)/g)].map((m) => Number(m[1])));

  // 4. Which steps to show, and the collapsed runs between them.
  // Lock findings name their locks ("without ptl:3", "waits for mmap_lock:P0"): keep the steps that take or drop those.
  const named = new Set(v?.message.match(/\b(mmap_lock|page_table_lock|ptl|i_mmap_rwsem):[A-Za-z0-9_.@-]+/g) ?? []);
  const rawLocks = (n: number, actor: string) => Object.entries(snapAt(n).locks).filter(([, l]) => l.holders.includes(actor)).map(([name]) => name);
  const touchesNamed = (s: ReportStep) => {
    const [a, b] = [rawLocks(s.n - 1, s.actor), rawLocks(s.n, s.actor)];
    return [...a.filter((x) => !b.includes(x)), ...b.filter((x) => !a.includes(x))].some((x) => named.has(x));
  };
  // The step that decides the race: the last flush before the violation, in the focus's mm when one flushed it.
  const flushesBefore = v ? steps.filter((s) => s.flush !== null && s.n < v.step) : [];
  const inFocusMm = flushesBefore.filter((s) => s.id !== FLUSH_DECIDED || traced.flushes.get(s.n)?.mm === focus?.mm);
  const decidedBy = (inFocusMm.at(-1) ?? flushesBefore.at(-1))?.n ?? null;
  const keep = (i: number) => {
    const s = steps[i]!;
    if (s.n === decidedBy) return true;
    const kind = actors.get(s.actor)!.kind;
    if (s.n === v?.step || KEEP_ID.test(s.id) || KEEP_KVM_ID.test(s.id) || kind === 'ipi' || kind === 'spec' || kind === 'rcu') return true;
    if (named.size > 0 && touchesNamed(s)) return true;
    if (namedInActual.has(s.n)) return true;
    return byStep[i]!.effects.some((e) => relevant(e, focus));
  };
  const raw: DiagramItem[] = [];
  const shownLocks = new Map<string, string>();
  const withLocks = (it: Omit<DiagramItem, 'locks'>): DiagramItem => {
    const a = actors.get(it.actor)!;
    const locks = steps[it.to - 1]!.locks;
    const was = shownLocks.get(it.actor) ?? '';
    if (a.kind !== 'thread' || locks.join(', ') === was) return { ...it, locks: null };
    shownLocks.set(it.actor, locks.join(', '));
    return { ...it, locks };
  };
  for (let i = 0; i < steps.length; ) {
    const s = steps[i]!;
    if (keep(i)) {
      s.shown = true;
      const notes = [...(s.flush ? [s.flush] : []), ...byStep[i]!.effects.filter((e) => s.n === v?.step || relevant(e, focus)).map((e) => e.text)];
      raw.push(withLocks({ from: s.n, to: s.n, actor: s.actor, cpu: s.cpu, call: s.call, notes }));
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < steps.length && steps[j + 1]!.actor === s.actor && !keep(j + 1)) j++;
    if (j === i) {
      raw.push(withLocks({ from: s.n, to: s.n, actor: s.actor, cpu: s.cpu, call: s.call, notes: [] }));
    } else {
      const seg = byStep.slice(i, j + 1);
      const cr3 = seg.flatMap((x) => x.effects).find((e) => e.kind === 'cr3');
      const to = cr3?.mm ? `${cr3.mm}${config.pcids > 1 ? `, PCID slot ${cr3.slot}` : ''}` : seg.some((x) => x.id === 'switch_mm_irqs_off.same_mm') ? null : actors.get(s.actor)!.proc;
      raw.push(withLocks({ from: s.n, to: steps[j]!.n, actor: s.actor, cpu: s.cpu, call: [runLabel(seg.map((x) => x.id), to)], notes: [] }));
    }
    i = j + 1;
  }
  const drawnAs = (d: DiagramItem) => JSON.stringify([d.actor, d.cpu, d.call, d.notes, d.locks, steps.slice(d.from - 1, d.to).map((x) => x.id)]);
  const diagram = foldRepeats(raw, drawnAs, v?.step ?? null, decidedBy === null ? [] : [decidedBy]);
  for (const d of diagram) if (d.repeats) for (let n = d.from; n <= d.to; n++) steps[n - 1]!.shown = false;


  const variant = cx.variant ? { name: cx.variant.name, file: cx.variant.file, sha256: cx.variant.sha256, description: policy.description } : null;
  const base = policyByName(cx.policy);
  const policyName = policy.name;
  const sameAsSaved = verdict.result === cx.verdict.result && verdict.property === cx.verdict.property && verdict.stepId === cx.verdict.stepId && verdict.step === cx.verdict.step;
  const title = v ? `${v.property} in ${policyName}` : verdict.result === 'model-error' ? `model error in ${policyName}` : `no violation in ${policyName}`;
  const summary = v ? v.message : verdict.result === 'model-error' ? `${verdict.message}` : `the scenario runs ${steps.length} steps without breaking a property`;
  const c = cx.campaign;
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    title,
    summary,
    header: {
      file,
      policy: policyName,
      base: { name: cx.policy, date: base?.date ?? '?', description: base?.description ?? '?' },
      variant,
      modelVersion: MODEL_VERSION,
      savedModelVersion: cx.modelVersion,
      fileFormat: cx.version,
      config,
      found: c ? `fuzz --seed ${c.seed}, run ${c.runIndex} (run seed ${c.runSeed})` : 'written by hand',
      signature: cx.signature,
      ...(dependsOn ? { dependsOn } : {}),
      // The embedded variant runs only when the reader says so (cli/saved_policy.ts): name a local copy of it.
      replay: `npx mshare-check replay ${shellWord(file)}${cx.variant ? ` --variant ${shellWord(cx.variant.file)}` : ''}`,
    },
    verdict,
    sameAsSaved,
    violation: v && { property: v.property, statement: prop?.statement ?? '', rule: prop?.rule ?? '', holder: v.holder, step: v.step, actor: v.actor, cpu: actors.get(v.actor)?.cpu ?? null, stepId: v.stepId, message: v.message, decidedBy },
    focus,
    bad,
    expected,
    actual,
    actors: [...actors.values()].sort((a, b) => a.name.localeCompare(b.name)),
    lanes: lanesOf([...actors.values()], config.cpus),
    steps,
    states: Array.from({ length: steps.length + 1 }, (_, n) => stateView(n, snapAt(n), windowsAfter[n] ?? [])),
    diagram,
    scenario: {
      text: printScenario(sc),
      replay: `npx mshare-check replay race.txt --policy ${cx.policy}${cx.variant ? ` --variant ${shellWord(cx.variant.file)}` : ''}${(cx.properties ?? []).map((p) => ` --property ${p}`).join('')}`,
    },
    provenance: `Found by a model (mshare-check ${MODEL_VERSION}), not observed on hardware.`,
    counterexample: cx,
  };
}
