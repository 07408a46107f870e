// Canonical names and addresses (SPEC 7, phase c), so that two shrunk
// findings of one race read the same: threads T0.. in list order (the
// list itself goes in order of first step, threadsByFirstStep, when
// that keeps the signature: it is the runner's fallback order),
// processes P0.. and CPUs 0.. in order of first appearance, files F (or
// F0, F1..), msharefs files M (or M0, M1..). Frames need nothing: the
// allocator hands them out in a fixed order. Each candidate is kept only
// if the signature is, since names and CPU numbers can steer the model
// (mm_cpumask order, IPI order, the CPU the RCU callback runs on).
//
// Addresses: each region of a process (its mappings and the ranges its
// operations touch) moves to the lowest slot that keeps the signature,
// trying only starts congruent to its own modulo a table span (4, 16, 64
// pages for fanout 4) or the lowest free page, so a move usually keeps
// which tables the regions share. Nothing goes below MIN_USER_PAGE.

import { resolveConfig } from '../model/kernel/config.js';
import { ipiActor, specActor, type Op, type Scenario, type SetupItem } from '../model/run/scenario.js';
import { renameSchedule } from './deletions.js';

/** mmap_min_addr: 64 KiB on most distributions, page 16 with 4 KiB pages (the fuzzer's lowest slot too). */
export const MIN_USER_PAGE = 16;

const order = (xs: Iterable<string>) => [...new Set(xs)];

/** The scenario with every name and CPU number canonical. */
export function canonicalNames(sc: Scenario): Scenario {
  const procs = order([...sc.threads.map((t) => t.proc), ...sc.setup.flatMap((x) => (x.kind === 'process' ? [x.name] : 'proc' in x ? [x.proc] : []))]);
  const files = order(sc.setup.flatMap((x) => (x.kind === 'file' ? [x.name] : [])));
  const others = order(sc.setup.flatMap((x) => (x.kind !== 'file' && x.kind !== 'process' && 'name' in x ? [x.name] : [])));
  const proc = new Map(procs.map((p, i) => [p, `P${i}`]));
  const file = new Map([...files.map((f, i): [string, string] => [f, files.length === 1 ? 'F' : `F${i}`]), ...others.map((f, i): [string, string] => [f, others.length === 1 ? 'M' : `M${i}`])]);
  const thread = new Map(sc.threads.map((t, i) => [t.name, `T${i}`]));
  let cpus: number;
  try {
    cpus = resolveConfig(sc.config).cpus;
  } catch {
    return sc;
  }
  const cpuOrder = order([...sc.threads.map((t) => String(t.cpu)), ...(sc.kswapd ? [String(sc.kswapd.cpu)] : []), ...sc.speculation.map((s) => String(s.cpu)), ...Array.from({ length: cpus }, (_, c) => String(c))]).map(Number);
  const cpu = new Map(cpuOrder.map((c, i) => [c, i]));
  const item = <T extends SetupItem | Op>(x: T): T => {
    const r: Record<string, unknown> = { ...x };
    if (typeof r.proc === 'string') r.proc = proc.get(r.proc) ?? r.proc;
    if (typeof r.owner === 'string') r.owner = proc.get(r.owner) ?? r.owner;
    if (typeof r.file === 'string') r.file = file.get(r.file) ?? r.file;
    if (typeof r.name === 'string') r.name = (x.kind === 'process' ? proc.get(r.name) : file.get(r.name)) ?? r.name;
    return r as T;
  };
  const actor = (a: string) => {
    const m = /^(ipi|spec)@cpu(\d+)$/.exec(a);
    if (m) return m[1] === 'ipi' ? ipiActor(cpu.get(Number(m[2]))!) : specActor(cpu.get(Number(m[2]))!);
    return thread.get(a) ?? a;
  };
  return {
    ...sc,
    setup: sc.setup.map(item),
    threads: sc.threads.map((t) => ({ ...t, name: thread.get(t.name)!, proc: proc.get(t.proc) ?? t.proc, cpu: cpu.get(t.cpu) ?? t.cpu, ops: t.ops.map(item) })),
    speculation: sc.speculation.map((s) => ({ ...s, cpu: cpu.get(s.cpu) ?? s.cpu })),
    schedule: renameSchedule(sc.schedule, actor),
    choices: sc.choices.map((c) => ({ ...c, actor: thread.get(c.actor) ?? c.actor })),
    // kswapd keeps its name (kswapd0); its CPU and the processes it names follow the renaming
    ...(sc.kswapd ? { kswapd: { ...sc.kswapd, cpu: cpu.get(sc.kswapd.cpu) ?? sc.kswapd.cpu, reclaims: sc.kswapd.reclaims.map((r) => ({ ...r, proc: proc.get(r.proc) ?? r.proc })) } } : {}),
  };
}

/** Process declarations in name order, each in one of the places a process was declared (ctx_ids follow it). */
export function processesInOrder(sc: Scenario): Scenario {
  const procs = sc.setup.filter((x) => x.kind === 'process').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let i = 0;
  return { ...sc, setup: sc.setup.map((x) => (x.kind === 'process' ? procs[i++]! : x)) };
}

/**
 * Threads listed in the order they first take a step. The list order is
 * the runner's fallback order, so a schedule entry that only made a later
 * thread start first becomes unnecessary; the order changes behaviour,
 * so the schedule is searched again.
 */
export function threadsByFirstStep(sc: Scenario, trace: readonly { actor: string }[]): Scenario {
  const first = (name: string) => {
    const i = trace.findIndex((e) => e.actor === name);
    return i < 0 ? Infinity : i;
  };
  const threads = sc.threads.map((t, i) => ({ t, i, f: first(t.name) })).sort((a, b) => a.f - b.f || a.i - b.i).map((x) => x.t);
  return { ...sc, threads };
}

interface Range {
  proc: string;
  start: number;
  end: number;
}

/** The address ranges a scenario uses, merged per process into regions. */
function regions(sc: Scenario, topSpan: number): Range[] {
  const raw: Range[] = [];
  // An attach maps a whole top-level entry (SPEC 3), so the accesses inside it move with it.
  const extent = (op: Op) => (op.kind === 'attach' ? topSpan : 'pages' in op ? op.pages : 1);
  for (const x of sc.setup) if (x.kind === 'mmap') raw.push({ proc: x.proc, start: x.start, end: x.start + x.pages });
  for (const t of sc.threads) for (const op of t.ops) if ('va' in op) raw.push({ proc: t.proc, start: op.va, end: op.va + extent(op) });
  // an mremap's target is a range of its own: the pages it moves to, and the accesses there, move with it
  for (const t of sc.threads) for (const op of t.ops) if (op.kind === 'mremap') raw.push({ proc: t.proc, start: op.to, end: op.to + op.pages });
  raw.sort((a, b) => a.proc.localeCompare(b.proc) || a.start - b.start);
  const out: Range[] = [];
  for (const r of raw) {
    const last = out[out.length - 1];
    if (last && last.proc === r.proc && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** Move one region of one process by `delta` pages (speculative walks of that range move with it). */
function moveRegion(sc: Scenario, r: Range, delta: number): Scenario {
  const inside = (v: number) => v >= r.start && v < r.end;
  const shift = <T extends SetupItem | Op>(x: T, proc: string): T => {
    if (proc !== r.proc) return x;
    if (x.kind === 'mmap' && 'start' in x && inside(x.start)) return { ...x, start: x.start + delta };
    if (x.kind === 'mremap') return { ...x, va: inside(x.va) ? x.va + delta : x.va, to: inside(x.to) ? x.to + delta : x.to };
    if ('va' in x && inside(x.va)) return { ...x, va: x.va + delta };
    return x;
  };
  return {
    ...sc,
    setup: sc.setup.map((x) => shift(x, 'proc' in x ? x.proc : '')),
    threads: sc.threads.map((t) => ({ ...t, ops: t.ops.map((o) => shift(o, t.proc)) })),
    speculation: sc.speculation.map((s) => ({ ...s, vas: s.vas.map((v) => (inside(v) ? v + delta : v)) })),
  };
}

/** Candidate moves of regions to lower slots, lowest target first within each region. */
export function addressMoves(sc: Scenario): { what: string; scenario: Scenario }[] {
  let fanout: number;
  try {
    fanout = resolveConfig(sc.config).fanout;
  } catch {
    return [];
  }
  const rs = regions(sc, fanout ** 3);
  const out: { what: string; scenario: Scenario }[] = [];
  for (const r of rs) {
    const len = r.end - r.start;
    const free = (t: number) => t >= MIN_USER_PAGE && rs.every((o) => o === r || o.proc !== r.proc || t + len <= o.start || o.end <= t);
    const targets = new Set<number>();
    for (const span of [fanout ** 3, fanout ** 2, fanout, 1]) {
      for (let t = MIN_USER_PAGE + ((((r.start - MIN_USER_PAGE) % span) + span) % span); t < r.start; t += span) {
        if (free(t)) {
          targets.add(t);
          break;
        }
      }
    }
    for (const t of [...targets].sort((a, b) => a - b)) out.push({ what: `region ${r.proc} ${r.start} -> ${t}`, scenario: moveRegion(sc, r, t - r.start) });
  }
  return out;
}
