// The single deletions of SPEC 7's 1-minimality: a whole thread, one
// operation, one setup item, one speculation entry (or one of its
// addresses), one choice, one CPU. Each candidate is a scenario; the
// schedule keeps the entries that still name an actor (a CPU's removal
// renames the IPI and speculation actors of the CPUs above it), and the
// pipeline re-searches it. Some candidates are invalid (a process a
// thread still uses); the pipeline checks each with `validateScenario`
// before running it, as the runner would refuse it anyway.

import { resolveConfig } from '../model/kernel/config.js';
import { ipiActor, specActor, type Scenario, type ScheduleEntry, type SetupItem } from '../model/run/scenario.js';

export type Group = 'thread' | 'op' | 'speculation' | 'choice' | 'setup' | 'cpu';
export const GROUPS: readonly Group[] = ['thread', 'op', 'speculation', 'choice', 'setup', 'cpu'];

export interface Candidate {
  /** What was removed, for logs and tests: "op T1.0", "cpu 2 -> 0". */
  what: string;
  scenario: Scenario;
  /** How actor names change: a removed actor maps to null. */
  rename: (actor: string) => string | null;
}

const same = (a: string) => a;

/** Apply an actor renaming to a schedule, dropping entries of removed actors. */
export function renameSchedule(schedule: readonly ScheduleEntry[], rename: (a: string) => string | null): ScheduleEntry[] {
  const out: ScheduleEntry[] = [];
  for (const e of schedule) {
    const a = rename(e.actor);
    if (a !== null) out.push({ ...e, actor: a });
  }
  return out;
}

function withoutActor(sc: Scenario, actor: string): Pick<Candidate, 'rename'> & { schedule: ScheduleEntry[]; choices: Scenario['choices'] } {
  const rename = (a: string) => (a === actor ? null : a);
  return { rename, schedule: renameSchedule(sc.schedule, rename), choices: sc.choices.filter((c) => c.actor !== actor) };
}

export function candidates(sc: Scenario, group: Group): Candidate[] {
  switch (group) {
    case 'thread': {
      const out: Candidate[] = sc.threads.map((t, i) => {
        const w = withoutActor(sc, t.name);
        return { what: `thread ${t.name}`, rename: w.rename, scenario: { ...sc, threads: sc.threads.filter((_, j) => j !== i), schedule: w.schedule, choices: w.choices } };
      });
      if (sc.kswapd) {
        const w = withoutActor(sc, sc.kswapd.name);
        const { kswapd: _gone, ...rest } = sc;
        out.push({ what: `kswapd ${sc.kswapd.name}`, rename: w.rename, scenario: { ...rest, schedule: w.schedule, choices: w.choices } });
      }
      return out;
    }
    case 'op': {
      // kswapd's requests likewise: its only one goes with it
      const kd = sc.kswapd;
      const requests: Candidate[] = !kd || kd.reclaims.length < 2 ? [] : kd.reclaims.map((_, j) => ({ what: `kswapd request ${j}`, rename: same, scenario: { ...sc, kswapd: { ...kd, reclaims: kd.reclaims.filter((_, m) => m !== j) } } }));
      // A thread's only operation goes with the thread (the 'thread' group).
      return requests.concat(sc.threads.flatMap((t, i) =>
        t.ops.length < 2
          ? []
          : t.ops.map((_, j) => ({
              what: `op ${t.name}.${j}`,
              rename: same,
              scenario: { ...sc, threads: sc.threads.map((u, k) => (k === i ? { ...u, ops: u.ops.filter((_, m) => m !== j) } : u)) },
            })),
      ));
    }
    case 'speculation':
      return sc.speculation.flatMap((sp, i) => {
        const whole = withoutActor(sc, specActor(sp.cpu));
        const out: Candidate[] = [{ what: `spec cpu${sp.cpu}`, rename: whole.rename, scenario: { ...sc, speculation: sc.speculation.filter((_, j) => j !== i), schedule: whole.schedule } }];
        if (sp.vas.length > 1) {
          sp.vas.forEach((_, j) =>
            out.push({ what: `spec cpu${sp.cpu} va ${j}`, rename: same, scenario: { ...sc, speculation: sc.speculation.map((x, k) => (k === i ? { ...x, vas: x.vas.filter((_, m) => m !== j) } : x)) } }),
          );
        }
        return out;
      });
    case 'choice':
      return sc.choices.map((c, i) => ({ what: `choice ${c.actor} ${c.point} ${c.nth}`, rename: same, scenario: { ...sc, choices: sc.choices.filter((_, j) => j !== i) } }));
    case 'setup':
      return sc.setup.flatMap((it, i) => {
        const out: Candidate[] = [{ what: `setup ${describe(it)}`, rename: same, scenario: { ...sc, setup: sc.setup.filter((_, j) => j !== i) } }];
        // A process goes with its mappings, or it could never go before them.
        if (it.kind === 'process' && sc.setup.some((x) => x.kind === 'mmap' && x.proc === it.name)) {
          const keep = sc.setup.filter((x, j) => j !== i && !(x.kind === 'mmap' && x.proc === it.name));
          out.push({ what: `setup ${describe(it)} with its mappings`, rename: same, scenario: { ...sc, setup: keep } });
        }
        return out;
      });
    case 'cpu':
      return cpuRemovals(sc);
  }
}

function describe(it: SetupItem): string {
  return 'name' in it ? `${it.kind} ${it.name}` : it.kind === 'mmap' ? `mmap ${it.proc} ${it.start}+${it.pages}` : it.kind;
}

/**
 * Removing CPU c: CPUs above it move down one; its threads and its
 * speculative walks move to another CPU d (every d is a candidate), so
 * two threads that raced on two CPUs may also race on one.
 */
function cpuRemovals(sc: Scenario): Candidate[] {
  let cpus: number;
  try {
    cpus = resolveConfig(sc.config).cpus;
  } catch {
    return [];
  }
  if (cpus < 2) return [];
  const out: Candidate[] = [];
  for (let c = 0; c < cpus; c++) {
    const busy = sc.threads.some((t) => t.cpu === c) || sc.speculation.some((s) => s.cpu === c) || sc.kswapd?.cpu === c;
    // An idle CPU needs one candidate only: where nothing moves, d does not matter.
    const targets = busy ? Array.from({ length: cpus }, (_, d) => d).filter((d) => d !== c) : [c === 0 ? 1 : 0];
    for (const d of targets) {
      const down = (x: number) => (x === c ? (d > c ? d - 1 : d) : x > c ? x - 1 : x);
      const speculation: Scenario['speculation'] = [];
      for (const s of sc.speculation) {
        const into = speculation.find((x) => x.cpu === down(s.cpu));
        if (into) into.vas = [...into.vas, ...s.vas];
        else speculation.push({ cpu: down(s.cpu), vas: [...s.vas] });
      }
      const rename = (a: string): string | null => {
        const m = /^(ipi|spec)@cpu(\d+)$/.exec(a);
        if (!m) return a;
        const n = Number(m[2]);
        if (m[1] === 'ipi') return n === c ? null : ipiActor(down(n));
        return specActor(down(n));
      };
      out.push({
        what: busy ? `cpu ${c} -> ${d}` : `cpu ${c}`,
        rename,
        scenario: {
          ...sc,
          config: { ...sc.config, cpus: cpus - 1 },
          threads: sc.threads.map((t) => ({ ...t, cpu: down(t.cpu) })),
          ...(sc.kswapd ? { kswapd: { ...sc.kswapd, cpu: down(sc.kswapd.cpu) } } : {}),
          speculation,
          schedule: renameSchedule(sc.schedule, rename),
        },
      });
    }
  }
  return out;
}
