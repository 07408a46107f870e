// Checks a scenario against its configuration before it runs, so bad
// input is a one-line error (exit 2), never a crash or a model error.

import { resolveConfig, span, vaPages } from '../kernel/config.js';
import { ipiActor, RCU_ACTOR, specActor, type Scenario } from './scenario.js';

export interface ScenarioProblem {
  /** A token to find the offending line by (a thread, process or actor name). */
  near: string;
  problem: string;
}

export function validateScenario(sc: Scenario): ScenarioProblem | null {
  let config;
  try {
    config = resolveConfig(sc.config);
  } catch (e) {
    return { near: 'config', problem: (e as Error).message };
  }
  const pages = vaPages(config);
  const procs = new Set<string>();
  const files = new Map<string, number>();
  const mshares = new Set<string>();
  const inVa = (va: number, n = 1) => Number.isInteger(va) && va >= 0 && va + n <= pages;
  for (const it of sc.setup) {
    if (it.kind === 'process') procs.add(it.name);
    if (it.kind === 'file') files.set(it.name, it.pages);
    if (it.kind === 'msharefs') {
      if (mshares.has(it.name) || files.has(it.name)) return { near: it.name, problem: `duplicate file '${it.name}'` };
      if (it.owner !== null && !procs.has(it.owner)) return { near: it.name, problem: `owner of '${it.name}' is undeclared process '${it.owner}'` };
      mshares.add(it.name);
    }
    if (it.kind === 'mshare_map') {
      if (!mshares.has(it.file)) return { near: it.file, problem: `mshare_map into undeclared msharefs file '${it.file}'` };
      if (it.offset + it.pages > span(config, 4)) return { near: it.file, problem: `mshare_map beyond the one-entry region of '${it.file}'` };
    }
    if (it.kind === 'mmap') {
      if (!procs.has(it.proc)) return { near: it.proc, problem: `mmap into undeclared process '${it.proc}'` };
      if (!inVa(it.start, it.pages)) return { near: it.proc, problem: `mapping outside the ${pages}-page address space of fanout ${config.fanout}` };
      if (it.file !== null && (!files.has(it.file) || it.pgoff + it.pages > files.get(it.file)!)) return { near: it.file, problem: `mapping beyond the end of file '${it.file}'` };
    }
  }
  const threads = new Set<string>();
  for (const t of sc.threads) {
    if (threads.has(t.name)) return { near: t.name, problem: `duplicate thread '${t.name}'` };
    threads.add(t.name);
    if (!procs.has(t.proc)) return { near: t.name, problem: `thread '${t.name}' of undeclared process '${t.proc}'` };
    if (!(t.cpu >= 0 && t.cpu < config.cpus)) return { near: t.name, problem: `thread '${t.name}' on cpu ${t.cpu}, but config has ${config.cpus} CPUs` };
    for (const op of t.ops) {
      if ('va' in op && !inVa(op.va, 'pages' in op ? op.pages : 1)) return { near: t.name, problem: `${op.kind} outside the ${pages}-page address space` };
      if (op.kind === 'mmap' && op.file !== null && (!files.has(op.file) || op.pgoff + op.pages > files.get(op.file)!)) return { near: t.name, problem: `mmap beyond the end of file '${op.file}'` };
      if ((op.kind === 'attach' || op.kind === 'mshare_map' || op.kind === 'mshare_unmap') && !mshares.has(op.file)) return { near: t.name, problem: `${op.kind} of undeclared msharefs file '${op.file}'` };
    }
  }
  const actors = new Set([...threads, RCU_ACTOR, ...Array.from({ length: config.cpus }, (_, c) => ipiActor(c))]);
  for (const sp of sc.speculation) {
    if (!(sp.cpu >= 0 && sp.cpu < config.cpus)) return { near: 'spec', problem: `speculation on cpu ${sp.cpu}, but config has ${config.cpus} CPUs` };
    if (!sp.vas.every((v) => inVa(v))) return { near: 'spec', problem: 'speculative walk outside the address space' };
    actors.add(specActor(sp.cpu));
  }
  for (const e of sc.schedule) if (!actors.has(e.actor)) return { near: e.actor, problem: `schedule names unknown actor '${e.actor}'` };
  for (const c of sc.choices) if (!threads.has(c.actor)) return { near: c.actor, problem: `choice for unknown thread '${c.actor}'` };
  return null;
}
