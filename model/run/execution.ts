// One execution of a scenario, advanced one actor at a time by whoever
// drives it: the runner (runner.ts) by the scenario's schedule, the
// explorer (campaigns/explore/) by systematic choice. An execution owns
// the kernel state, the actors (generators over it), the ideal memory
// fed by their observations and each check's ghost memory, and it checks
// every property after every step it takes.
//
// An actor's position is more than the kernel state: a path's locals
// live in its ctx object `c`, shared by the path's steps (step.ts), and
// the generator itself. `frames` exposes the ctx objects of the paths an
// actor is inside, and `history` the step ids it took, so the explorer
// can tell two executions apart that the kernel state alone would merge.

import { gmemIdealMm } from '../ideal/ideal.js';
import { resolveConfig, type Config } from '../kernel/config.js';
import { initState } from '../kernel/init.js';
import { heldBy } from '../kernel/locks.js';
import type { KernelState } from '../kernel/state.js';
import type { Gen, K, WaitFor, Yield } from '../kernel/step.js';
import { FreedTableWalk } from '../kernel/pagetable.js';
import { ModelError, mmId } from '../kernel/types.js';
import { IdealMemory, type IdealVerdict } from '../ideal/ideal.js';
import type { Check, CheckContext, StepEvent, Violation } from './check.js';
import { deviceActor, dioActor, ipiActor, kswapdActor, rcuActor, specActor, storeBufferActor, threadActor } from './actors.js';
import { countStep, COVERAGE_COUNTERS, emptyCoverage, type Coverage } from './coverage.js';
import { DIO_ACTOR, hasDio, ipiActor as ipiName, isDeviceThread, RCU_ACTOR, specActor as specName, storeBufferActor as sbName, type Scenario, vmsCreatedAtRun } from './scenario.js';
import { validateScenario } from './validate.js';
import { resetVariantBudget } from '../policies/variant_budget.js';
import { thrownAt } from '../source_location.js';
import type { Policy } from '../policies/policy.js';
import { idealFromSetup } from './ideal_setup.js';
import { plainClone } from './plain_clone.js';

/** A scenario that does not fit its configuration or setup: bad input, never run. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

export interface RunOptions {
  policy: Policy;
  /** What to check after every step, in order (properties/registry.ts PROPERTIES for all). */
  properties: readonly Check[];
  /** Record which coverage counter each step advanced, as `counter@step id` (coverage feedback, campaigns/feedback.ts). */
  coverageKeys?: boolean;
}

export interface RunResult {
  verdict: 'pass' | 'violation' | 'model-error';
  violation: Violation | null;
  /** A model error (exit 3): the model's own bookkeeping broke, not the kernel. */
  error: string | null;
  trace: StepEvent[];
  steps: number;
  preemptions: number;
  coverage: Coverage;
  /** The state after the last step (the one that broke a property, if any). */
  state: KernelState;
  /** With RunOptions.coverageKeys: every `counter@step id` the run reached, in first-reached order. */
  coverageKeys?: string[];
  /** The mshare knobs the run consulted (K.knob), sorted: what a finding may depend on. */
  knobsUsed: string[];
  /** Under a variant: the numbers of its edits (PathTable.edits) that executed, ascending. */
  editsRun?: number[];
  /** The run ended where a kernel walk reached a table the design had freed (pagetable.ts FreedTableWalk), a property not checked here. */
  stopped?: string;
}

export interface Actor {
  name: string;
  kind: 'thread' | 'ipi' | 'rcu' | 'spec' | 'sb' | 'dio';
  cpu: number;
  k: K;
  gen: Gen;
  pending: Yield | null;
  done: boolean;
  /** The ctx objects of the paths the actor is inside, outermost first (K.run). */
  frames: { path: string; c: unknown }[];
  /** The ids of the steps it took, in order. */
  history: string[];
}

/** What one advance of an actor did: a step (checked), or nothing because it blocked or ended. */
export type Advance =
  | { kind: 'step'; event: StepEvent; violation: Violation | null; exhausted: boolean }
  | { kind: 'blocked' }
  | { kind: 'done' };

/** The blocked map of a step where no actor waits on a resource (frozen: a check only reads it). */
const NONE_BLOCKED: Map<string, WaitFor> = new Map();
for (const m of ['set', 'delete', 'clear'] as const) {
  (NONE_BLOCKED as unknown as Record<string, unknown>)[m] = () => {
    throw new ModelError(`the empty blocked map is shared: ${m}() on it`);
  };
}

/** A throw inside a step, as the model error it is (exit 3): the model's code or a variant's, never the kernel's. */
export function modelErrorOf(e: unknown): string {
  if (e instanceof ModelError) return e.message;
  const where = thrownAt(e);
  return `${(e as Error).name}: ${(e as Error).message}${where ? ` (${where})` : ''}`;
}

export class Execution {
  readonly config: Config;
  readonly s: KernelState;
  readonly ideal: IdealMemory;
  readonly actors: Actor[] = [];
  readonly byName: Map<string, Actor>;
  readonly trace: StepEvent[] = [];
  readonly coverage: Coverage = emptyCoverage();
  /** Each check's ghost memory for this run, by position in `properties`. */
  readonly mems: Record<string, unknown>[];
  /** How often each actor reached each choice point (`actor|point`). */
  readonly reached = new Map<string, number>();
  values = 0;
  private readonly properties: readonly Check[];
  private readonly policy: Policy;
  private readonly choices: Set<string>;
  private readonly knobsUsed = new Set<string>();
  private readonly editsRun = new Set<number>();
  /** Set when a kernel walk reached a freed table: no actor runs on after that use-after-free. */
  private stoppedBy: string | null = null;
  /** A variant's edits that count as executed when a path runs, a decision is asked or a knob read (VariantEdit.on). */
  private readonly editsOn = new Map<string, number[]>();
  private readonly procOf: Map<string, string>;
  private readonly keys: Set<string> | null;
  private readonly seen = emptyCoverage();
  private readonly stepCache = new Map<unknown, unknown>();
  private ctx: CheckContext | null = null;
  private blockedNow: Map<string, WaitFor> | null = null;

  constructor(sc: Scenario, opts: RunOptions) {
    const problem = validateScenario(sc, opts.policy);
    if (problem) throw new ScenarioError(problem.problem);
    this.policy = opts.policy;
    opts.policy.edits?.forEach((e, i) => {
      if (e.on.kind === 'step') return;
      const key = `${e.on.kind}|${e.on.kind === 'path' ? e.on.path : e.on.kind === 'decision' ? e.on.id : e.on.name}`;
      this.editsOn.set(key, [...(this.editsOn.get(key) ?? []), i]);
    });
    this.properties = opts.properties;
    this.config = resolveConfig(sc.config);
    const late = vmsCreatedAtRun(sc);
    this.s = initState(this.config, sc.setup, late);
    const init = idealFromSetup(sc, opts.policy);
    this.ideal = new IdealMemory(init.st, init.ms);
    this.choices = new Set(sc.choices.map((c) => `${c.actor}|${c.point}|${c.nth}`));
    this.keys = opts.coverageKeys ? new Set<string>() : null;
    this.mems = this.properties.map(() => ({}));
    const s = this.s;
    for (const t of sc.threads) {
      if (isDeviceThread(t)) {
        // a device (paths/sva.ts); its task is the IOPF workqueue's kernel thread that runs its I/O page
        // faults (iommu_sva_handle_iopf()): no mm of its own, as kswapd, and its own current->tlb_ubc for
        // a NUMA hinting fault's migration inside handle_mm_fault()
        s.tasks[t.name] = { mm: null, iopf: true, gather: null, walker: null, exitPending: false, dead: false };
        this.add(t.name, 'thread', t.cpu, (k) => deviceActor(k, t));
        continue;
      }
      s.tasks[t.name] = { mm: mmId(t.proc), gather: null, walker: null, exitPending: t.ops.some((o) => o.kind === 'exit'), dead: false };
      const forks = t.ops.flatMap((o) => (o.kind === 'fork' ? [o.child] : []));
      if (forks.length > 0) s.tasks[t.name]!.forks = forks; // absent otherwise: runs without fork keep their state bytes
      const creates = t.ops.flatMap((o) => (o.kind === 'kvm_create_vm' ? [o.vm] : []));
      if (creates.length > 0) s.tasks[t.name]!.creates = creates;
      this.add(t.name, 'thread', t.cpu, (k) => threadActor(k, t, late));
    }
    const kd = sc.kswapd;
    if (kd) {
      s.tasks[kd.name] = { mm: null, gather: null, walker: null, exitPending: false, dead: false }; // a kernel thread: no mm
      this.add(kd.name, 'thread', kd.cpu, (k) => kswapdActor(k, kd));
    }
    for (let c = 0; c < this.config.cpus; c++) this.add(ipiName(c), 'ipi', c, ipiActor);
    this.add(RCU_ACTOR, 'rcu', 0, rcuActor);
    for (const sp of sc.speculation) this.add(specName(sp.cpu), 'spec', sp.cpu, (k) => specActor(k, sp.vas));
    for (let c = 0; c < this.config.cpus; c++) this.add(sbName(c), 'sb', c, storeBufferActor);
    if (hasDio(sc.threads)) this.add(DIO_ACTOR, 'dio', 0, dioActor); // last: runs without dma=write keep their actors
    this.byName = new Map(this.actors.map((a) => [a.name, a]));
    this.procOf = new Map(sc.threads.map((t) => [t.name, t.proc]));
  }

  private add(name: string, kind: Actor['kind'], cpu: number, body: (k: K) => Gen) {
    const frames: Actor['frames'] = [];
    const k = this.makeK(name, cpu, frames);
    this.actors.push({ name, kind, cpu, k, gen: body(k), pending: null, done: false, frames, history: [] });
  }

  private makeK(self: string, cpu: number, frames: Actor['frames']): K {
    const x = this;
    const policy = this.policy;
    const k: K = {
      s: this.s,
      self,
      cpu,
      policy,
      notes: [],
      *run(path, c) {
        const steps = policy.paths[path];
        if (!steps) throw new ModelError(`policy ${policy.name} has no path ${path}`);
        frames.push({ path, c });
        x.noteEditsOn(`path|${path}`);
        for (const st of steps) if ((yield* st.fn(k, c)) === 'stop') break;
        frames.pop();
      },
      knob(name) {
        const knobs = policy.mshare;
        if (!knobs) return undefined;
        x.knobsUsed.add(name);
        x.noteEditsOn(`knob|${name}`);
        return knobs[name];
      },
      choose(point) {
        const key = `${self}|${point}`;
        const nth = x.reached.get(key) ?? 0;
        x.reached.set(key, nth + 1);
        return x.choices.has(`${key}|${nth}`);
      },
      decide(point, value, args) {
        const d = policy.decisions?.[point];
        if (!d) return value;
        x.noteEditsOn(`decision|${point}`);
        return d(k, value, args ?? {});
      },
      nextValue: () => ++x.values,
      within: (path) => frames.some((f) => f.path === path),
      depth: () => frames.length,
      noteEdit: (i) => void x.editsRun.add(i),
    };
    return k;
  }

  private noteEditsOn(key: string) {
    if (this.editsOn.size === 0) return;
    for (const i of this.editsOn.get(key) ?? []) this.editsRun.add(i);
  }

  /** May take a step now: not ended, not blocked, and no interrupt handler owns its CPU (threads). */
  runnable(a: Actor): boolean {
    if (a.done || this.stoppedBy !== null) return false;
    // an interrupt handler runs on the CPU: no thread of that CPU, in a call or about to enter one, runs beside it
    if (a.kind === 'thread' && this.s.cpus[a.cpu]!.inIrq !== null) return false;
    return !a.pending?.wait || a.pending.wait();
  }

  /** Actors blocked on a resource, for no-deadlock. */
  blockedMap(): Map<string, WaitFor> {
    let m: Map<string, WaitFor> | null = null;
    for (const a of this.actors) if (!a.done && a.pending?.wait && a.pending.waitFor && !a.pending.wait()) (m ??= new Map()).set(a.name, a.pending.waitFor);
    return m ?? NONE_BLOCKED; // most steps: no one waits on a resource, and nothing to allocate
  }

  /**
   * Resume `a` once: it takes a step (fed to the ideal memory, counted
   * and checked), or yields a wait (blocked, no step), or ends. Throws
   * what a step throws: the driver reports it as a model error.
   */
  advance(a: Actor): Advance {
    resetVariantBudget(); // a variant's loops are bounded per step, not by the clock
    let r: IteratorResult<Yield, void>;
    try {
      r = a.gen.next();
    } catch (e) {
      if (!(e instanceof FreedTableWalk)) throw e;
      // the modelled kernel would read freed memory: the run ends here, with what the checked properties saw so far
      this.stoppedBy = `${a.name}: ${e.message}`;
      a.done = true;
      return { kind: 'done' };
    }
    if (r.done) {
      a.done = true;
      return { kind: 'done' };
    }
    const y = r.value;
    if (y.wait) {
      a.pending = y; // blocked: no step was taken
      return { kind: 'blocked' };
    }
    a.pending = null;
    a.history.push(y.id);
    const trace = this.trace;
    const event: StepEvent = { n: trace.length + 1, actor: a.name, cpu: a.cpu, id: y.id, notes: a.k.notes, locks: heldBy(this.s, a.name) };
    if (y.obs) event.obs = plainClone(y.obs);
    a.k.notes = [];
    trace.push(event);
    let idealV: IdealVerdict | null = null;
    if (y.obs?.kind === 'invoke') this.ideal.invoke(y.obs.op);
    else if (y.obs?.kind === 'return') idealV = this.ideal.ret(y.obs.opId, y.obs.result);
    else if (y.obs?.kind === 'pin') idealV = this.ideal.pin(y.obs.pin, y.obs.mm, y.obs.vpn);
    else if (y.obs?.kind === 'dma') idealV = this.ideal.dma(y.obs.pin, y.obs.value);
    else if (y.obs?.kind === 'unpin') idealV = this.ideal.unpin(y.obs.pin);
    else if (y.obs?.kind === 'access') {
      // a guest access to a guest_memfd-backed gfn reads the file's page (idealFromSetup's gmem pseudo-process)
      const g = y.obs.guest?.gmem;
      idealV = g ? this.ideal.access(gmemIdealMm(g.file), g.index, y.obs.write, y.obs.value, y.obs.ok) : this.ideal.access(y.obs.mm, y.obs.vpn, y.obs.write, y.obs.value, y.obs.ok);
    }
    countStep(this.coverage, this.s, event, (n) => (this.procOf.has(n) ? mmId(this.procOf.get(n)!) : null));
    if (this.keys) this.noteKeys(event.id);
    const exhausted = trace.length >= this.config.maxSteps;
    return { kind: 'step', event, violation: this.check(event, idealV, false, exhausted), exhausted };
  }

  /** At the end of a run with threads unfinished: progress and no-deadlock judge the stall. */
  stalledCheck(): Violation | null {
    if (this.stoppedBy !== null) return null; // not a stall: the run was stopped at a use-after-free
    if (!this.actors.some((a) => a.kind === 'thread' && !a.done)) return null;
    const last = this.trace[this.trace.length - 1] ?? { n: 0, actor: '-', cpu: 0, id: 'start', notes: [], locks: [] };
    return this.check({ ...last, notes: [], obs: undefined as never }, null, true, false);
  }

  result(verdict: RunResult['verdict'], violation: Violation | null, error: string | null, preemptions: number): RunResult {
    return {
      verdict,
      violation,
      error,
      trace: this.trace,
      steps: this.trace.length,
      preemptions,
      coverage: this.coverage,
      state: this.s,
      knobsUsed: [...this.knobsUsed].sort(),
      ...(this.policy.edits ? { editsRun: [...this.editsRun].sort((a, b) => a - b) } : {}),
      ...(this.stoppedBy !== null ? { stopped: this.stoppedBy } : {}),
      ...(this.keys ? { coverageKeys: [...this.keys] } : {}),
    };
  }

  /** Which counters the step `id` advanced: compared with the last step's counts. */
  private noteKeys(id: string) {
    for (const c of COVERAGE_COUNTERS) {
      if (this.coverage[c] === this.seen[c]) continue;
      this.seen[c] = this.coverage[c];
      this.keys!.add(`${c}@${id}`);
    }
  }

  /** The execution's one check context (an object literal: a spread of it, as tests make, reads `blocked` too). */
  private makeContext(): CheckContext {
    const x = this;
    return {
      s: this.s,
      policy: this.policy,
      event: null as unknown as StepEvent,
      ideal: null,
      get blocked() {
        return (x.blockedNow ??= x.blockedMap());
      },
      stalled: false,
      budgetExhausted: false,
      mem: {},
      stepCache: this.stepCache,
    };
  }

  private check(event: StepEvent, idealV: IdealVerdict | null, stalled: boolean, budgetExhausted: boolean): Violation | null {
    // One context for every check of every step (only `mem` differs
    // between the checks of a step), and one step cache emptied per step:
    // a step allocates no context.
    const ctx = (this.ctx ??= this.makeContext());
    this.blockedNow = null;
    this.stepCache.clear();
    ctx.event = event;
    ctx.ideal = idealV;
    ctx.stalled = stalled;
    ctx.budgetExhausted = budgetExhausted;
    const props = this.properties;
    for (let i = 0; i < props.length; i++) {
      const p = props[i]!;
      ctx.mem = this.mems[i]!;
      const f = p.check(ctx);
      if (f) return { ...f, property: p.id, step: event.n, actor: event.actor, stepId: event.id };
    }
    return null;
  }
}
