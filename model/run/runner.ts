// The runner: executes a scenario under its schedule, one atomic step at
// a time, feeds every observation to the ideal memory, checks every
// property after every step and stops at the first violation. Same
// scenario, same result: nothing here reads a clock or a random source.
//
// Scheduling (SPEC 4.2): the schedule is a list of preemption points.
// Each names the actor to run next and, optionally, for how many steps.
// An entry whose actor cannot run is skipped. Between entries, and after
// the last, the current actor runs on; when it blocks or ends, the first
// runnable actor in canonical order (threads, IPI handlers, rcu, hardware
// speculation) takes over. Store buffers (sb@cpuN) drain only where the
// schedule names them, or at a fence: nothing waits on a drain, so a run
// that ends with stores still buffered has missed no step.

import { resolveConfig } from '../kernel/config.js';
import { initState } from '../kernel/init.js';
import { heldBy } from '../kernel/locks.js';
import type { KernelState } from '../kernel/state.js';
import type { Gen, K, WaitFor, Yield } from '../kernel/step.js';
import { ModelError, mmId } from '../kernel/types.js';
import { IdealMemory, type IdealMshare, type IdealState, type IdealVerdict } from '../ideal/ideal.js';
import { hostOf, hostRegion } from '../kernel/mshare/msharefs.js';
import type { Policy } from '../policies/policy.js';
import type { Check, StepEvent, Violation } from './check.js';
import { ipiActor, rcuActor, specActor, storeBufferActor, threadActor } from './actors.js';
import { countStep, COVERAGE_COUNTERS, emptyCoverage, type Coverage } from './coverage.js';
import { ipiActor as ipiName, RCU_ACTOR, specActor as specName, storeBufferActor as sbName, type Scenario } from './scenario.js';
import { validateScenario } from './validate.js';
import { resetVariantBudget } from '../policies/variant_budget.js';
import { thrownAt } from '../source_location.js';

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
}

interface Actor {
  name: string;
  kind: 'thread' | 'ipi' | 'rcu' | 'spec' | 'sb';
  cpu: number;
  k: K;
  gen: Gen;
  pending: Yield | null;
  done: boolean;
}

/**
 * The reference's starting state. It knows the design's user-visible
 * contract (whether an owner's exit unmaps the region), never how the
 * kernel model implements it.
 */
export function idealFromSetup(sc: Scenario, policy: Policy): { st: IdealState; ms: Record<string, IdealMshare> } {
  const st: IdealState = { maps: {}, contents: {}, windows: {} };
  const ms: Record<string, IdealMshare> = {};
  const region = hostRegion(resolveConfig(sc.config));
  const contract = policy.mshare?.madvise === 'refused' ? { madviseRefused: true } : {};
  for (const it of sc.setup) {
    if (it.kind === 'process') st.maps[it.name] ??= {};
    if (it.kind === 'msharefs') ms[it.name] = { host: hostOf(it.name), ...region, owner: policy.mshare?.owner ? it.owner : null, ...contract };
    if (it.kind === 'mshare_map') {
      const host = (st.maps[ms[it.file]!.host] ??= {});
      for (let i = 0; i < it.pages; i++) host[region.start + it.offset + i] = { lp: `shm:setup:${it.file}:${it.offset + i}`, prot: { ...it.prot }, anon: false };
    }
    if (it.kind !== 'mmap') continue;
    const pages = (st.maps[it.proc] ??= {});
    for (let v = it.start; v < it.start + it.pages; v++) {
      const lp = it.file ? `file:${it.file}:${it.pgoff + v - it.start}` : `anon:setup:${it.proc}:${v}`;
      pages[v] = { lp, prot: { ...it.prot }, anon: !it.file };
    }
  }
  // mshare 2026: a region made by an mshare_create op, owned by the creating process (paths/mshare_2026.ts)
  for (const t of sc.threads) for (const op of t.ops) if (op.kind === 'mshare_create') ms[op.file] = { host: hostOf(op.file), ...region, owner: t.proc, ...contract };
  return { st, ms };
}

export function runScenario(sc: Scenario, opts: RunOptions): RunResult {
  const problem = validateScenario(sc, opts.policy);
  if (problem) throw new ScenarioError(problem.problem);
  const config = resolveConfig(sc.config);
  const s = initState(config, sc.setup);
  const init = idealFromSetup(sc, opts.policy);
  const ideal = new IdealMemory(init.st, init.ms);
  const properties = opts.properties;
  const coverage = emptyCoverage();
  const trace: StepEvent[] = [];
  const choices = new Set(sc.choices.map((c) => `${c.actor}|${c.point}|${c.nth}`));
  const reached = new Map<string, number>();
  const knobsUsed = new Set<string>();
  let values = 0;

  const makeK = (self: string, cpu: number): K => {
    const k: K = {
      s,
      self,
      cpu,
      policy: opts.policy,
      notes: [],
      *run(path, c) {
        const steps = opts.policy.paths[path];
        if (!steps) throw new ModelError(`policy ${opts.policy.name} has no path ${path}`);
        for (const st of steps) if ((yield* st.fn(k, c)) === 'stop') break;
      },
      knob(name) {
        const knobs = opts.policy.mshare;
        if (!knobs) return undefined;
        knobsUsed.add(name);
        return knobs[name];
      },
      choose(point) {
        const key = `${self}|${point}`;
        const nth = reached.get(key) ?? 0;
        reached.set(key, nth + 1);
        return choices.has(`${key}|${nth}`);
      },
      nextValue: () => ++values,
    };
    return k;
  };

  const actors: Actor[] = [];
  const add = (name: string, kind: Actor['kind'], cpu: number, body: (k: K) => Gen) => {
    const k = makeK(name, cpu);
    actors.push({ name, kind, cpu, k, gen: body(k), pending: null, done: false });
  };
  for (const t of sc.threads) {
    s.tasks[t.name] = { mm: mmId(t.proc), gather: null, walker: null, exitPending: t.ops.some((o) => o.kind === 'exit'), dead: false };
    add(t.name, 'thread', t.cpu, (k) => threadActor(k, t));
  }
  for (let c = 0; c < config.cpus; c++) add(ipiName(c), 'ipi', c, ipiActor);
  add(RCU_ACTOR, 'rcu', 0, rcuActor);
  for (const sp of sc.speculation) add(specName(sp.cpu), 'spec', sp.cpu, (k) => specActor(k, sp.vas));
  for (let c = 0; c < config.cpus; c++) add(sbName(c), 'sb', c, storeBufferActor);
  const byName = new Map(actors.map((a) => [a.name, a]));
  const procOf = new Map(sc.threads.map((t) => [t.name, t.proc]));

  const runnable = (a: Actor) => {
    if (a.done) return false;
    // an interrupt handler runs on the CPU: no thread of that CPU, in a call or about to enter one, runs beside it
    if (a.kind === 'thread' && s.cpus[a.cpu]!.inIrq !== null) return false;
    return !a.pending?.wait || a.pending.wait();
  };

  let cur: Actor | null = null;
  let remaining = Infinity;
  let until: string | undefined;
  let idx = 0;
  let preemptions = 0;
  const pick = (): Actor | null => {
    if (cur && remaining > 0 && runnable(cur)) return cur;
    while (idx < sc.schedule.length) {
      const e = sc.schedule[idx++]!;
      const a = byName.get(e.actor);
      if (a && runnable(a)) {
        if (cur !== a) preemptions++;
        cur = a;
        remaining = e.steps ?? Infinity;
        until = e.until;
        return a;
      }
    }
    if (cur && runnable(cur)) return cur;
    cur = actors.find((a) => a.kind !== 'sb' && runnable(a)) ?? null;
    remaining = Infinity;
    until = undefined;
    return cur;
  };

  const blockedMap = () => {
    const m = new Map<string, WaitFor>();
    for (const a of actors) if (!a.done && a.pending?.wait && a.pending.waitFor && !a.pending.wait()) m.set(a.name, a.pending.waitFor);
    return m;
  };

  const keys = opts.coverageKeys ? new Set<string>() : null;
  const seen = emptyCoverage();
  /** Which counters the step `id` advanced: compared with the last step's counts. */
  const noteKeys = (id: string) => {
    for (const c of COVERAGE_COUNTERS) {
      if (coverage[c] === seen[c]) continue;
      seen[c] = coverage[c];
      keys!.add(`${c}@${id}`);
    }
  };

  const result = (verdict: RunResult['verdict'], violation: Violation | null, error: string | null): RunResult => ({
    verdict,
    violation,
    error,
    trace,
    steps: trace.length,
    preemptions,
    coverage,
    state: s,
    knobsUsed: [...knobsUsed].sort(),
    ...(keys ? { coverageKeys: [...keys] } : {}),
  });

  const mems = properties.map(() => ({}) as Record<string, unknown>); // each check's ghost memory for this run
  const check = (event: StepEvent, idealV: IdealVerdict | null, stalled: boolean, budgetExhausted: boolean): Violation | null => {
    const ctx = { s, policy: opts.policy, event, ideal: idealV, blocked: blockedMap(), stalled, budgetExhausted, stepCache: new Map<unknown, unknown>() };
    for (const [i, p] of properties.entries()) {
      const f = p.check({ ...ctx, mem: mems[i]! });
      if (f) return { ...f, property: p.id, step: event.n, actor: event.actor, stepId: event.id };
    }
    return null;
  };

  try {
    for (;;) {
      const a = pick();
      if (!a) break;
      resetVariantBudget(); // a variant's loops are bounded per step, not by the clock
      const r = a.gen.next();
      if (r.done) {
        a.done = true;
        continue;
      }
      const y = r.value;
      if (y.wait) {
        a.pending = y; // blocked: no step was taken
        continue;
      }
      a.pending = null;
      if (a === cur) remaining = until !== undefined && y.id === until ? 0 : remaining - 1;
      const event: StepEvent = { n: trace.length + 1, actor: a.name, cpu: a.cpu, id: y.id, notes: a.k.notes, locks: heldBy(s, a.name) };
      if (y.obs) event.obs = structuredClone(y.obs);
      a.k.notes = [];
      trace.push(event);
      let idealV: IdealVerdict | null = null;
      if (y.obs?.kind === 'invoke') ideal.invoke(y.obs.op);
      else if (y.obs?.kind === 'return') idealV = ideal.ret(y.obs.opId, y.obs.result);
      else if (y.obs?.kind === 'access') idealV = ideal.access(y.obs.mm, y.obs.vpn, y.obs.write, y.obs.value, y.obs.ok);
      countStep(coverage, s, event, (x) => (procOf.has(x) ? mmId(procOf.get(x)!) : null));
      if (keys) noteKeys(event.id);
      const exhausted = trace.length >= config.maxSteps;
      const v = check(event, idealV, false, exhausted);
      if (v) return result('violation', v, null);
      if (exhausted) return result('pass', null, null); // only if progress is not checked
    }
    const unfinished = actors.some((a) => a.kind === 'thread' && !a.done);
    if (unfinished) {
      const last = trace[trace.length - 1] ?? { n: 0, actor: '-', cpu: 0, id: 'start', notes: [], locks: [] };
      const v = check({ ...last, notes: [], obs: undefined as never }, null, true, false);
      if (v) return result('violation', v, null);
    }
    return result('pass', null, null);
  } catch (e) {
    if (e instanceof ModelError) return result('model-error', null, e.message);
    // Anything else thrown inside a step (the model's code or a variant's) is a model error too.
    const where = thrownAt(e);
    return result('model-error', null, `${(e as Error).name}: ${(e as Error).message}${where ? ` (${where})` : ''}`);
  }
}
