// Mutation of a drawn scenario, for coverage feedback (issue 14): a run
// that reached something new is kept and later runs start from it, with
// one to three parts replaced by parts of a freshly drawn scenario (the
// donor). Splicing drawn parts keeps every index meaningful: resolve()
// reads any raw scenario, so a mutant is as valid as a draw.

import { resolve, scheduleActors, untilIds, type RawScenario } from './scenario_arb.js';

/** What the parent's run did: the step ids each actor took. */
export type Taken = ReadonlyMap<string, readonly string[]>;

/** A number in [0, 1) from the run's own seeded generator. */
export type Unit = () => number;

const at = <T>(xs: readonly T[], u: Unit): T | undefined => (xs.length === 0 ? undefined : xs[Math.floor(u() * xs.length)]);

type Mutation = (m: RawScenario, donor: RawScenario, u: Unit, taken: Taken) => void;

const MUTATIONS: readonly Mutation[] = [
  // stop an actor at a step it really took in the parent's run, somewhere in the schedule: the
  // preemption a race needs sits between two steps the run already reaches (PCT's change points,
  // placed on executed steps rather than on step counts)
  (m, _d, u, taken) => {
    const sc = resolve(m);
    const actors = scheduleActors(sc.threads, m.cpus, sc.speculation, sc.kswapd);
    const names = actors.filter((a) => (taken.get(a)?.length ?? 0) > 0);
    const actor = at(names, u);
    if (actor === undefined) return;
    const id = at(taken.get(actor)!, u)!;
    const until = untilIds(m.untilKinds).indexOf(id);
    if (until < 0) return; // a step only a variant yields
    m.schedule.splice(Math.floor(u() * (m.schedule.length + 1)), 0, { actor: actors.indexOf(actor), steps: 40, until });
  },
  // a preemption point more: the step a race needs between two others
  (m, d, u) => {
    const e = at(d.schedule, u);
    if (e) m.schedule.splice(Math.floor(u() * (m.schedule.length + 1)), 0, { ...e });
  },
  // one preemption point moved: another actor, or another length or stop step
  (m, d, u) => {
    const i = Math.floor(u() * m.schedule.length);
    const e = at(d.schedule, u);
    if (e && m.schedule[i]) m.schedule[i] = u() < 0.5 ? { ...m.schedule[i]!, actor: e.actor } : { ...e, actor: m.schedule[i]!.actor };
  },
  // one preemption point fewer
  (m, _d, u) => {
    if (m.schedule.length > 0) m.schedule.splice(Math.floor(u() * m.schedule.length), 1);
  },
  // one operation replaced
  (m, d, u) => {
    const t = at(m.threads, u);
    const o = at(d.threads.flatMap((x) => x.ops), u);
    if (t && o && t.ops.length > 0) t.ops[Math.floor(u() * t.ops.length)] = { ...o };
  },
  // one operation more, at any point of a thread
  (m, d, u) => {
    const t = at(m.threads, u);
    const o = at(d.threads.flatMap((x) => x.ops), u);
    if (t && o && t.ops.length < 8) t.ops.splice(Math.floor(u() * (t.ops.length + 1)), 0, { ...o });
  },
  // a thread more, from the donor
  (m, d, u) => {
    const t = at(d.threads, u);
    if (t && m.threads.length < 5) m.threads.push({ ...t, ops: t.ops.map((o) => ({ ...o })) });
  },
  // the heuristic decisions of the donor
  (m, d) => {
    m.choices = d.choices.map((c) => ({ ...c }));
  },
  // the machine of the donor: CPUs, PCIDs, INVLPGB, TCE
  (m, d) => {
    m.cpus = d.cpus;
    m.pcids = d.pcids;
    m.invlpgb = d.invlpgb;
    m.tce = d.tce;
  },
];

/** `parent` with one to three parts changed: taken from `donor`, or preemptions at steps `taken` says the parent's run took. Neither input is changed. */
export function mutateRaw(parent: RawScenario, donor: RawScenario, u: Unit, taken: Taken = new Map()): RawScenario {
  const m = structuredClone(parent);
  delete m.swarm; // the ops may now come from outside the parent's subset
  const n = 1 + Math.floor(u() * 3);
  for (let i = 0; i < n; i++) MUTATIONS[Math.floor(u() * MUTATIONS.length)]!(m, donor, u, taken);
  return m;
}
