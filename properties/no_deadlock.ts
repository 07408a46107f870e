import type { KernelState } from '../model/kernel/state.js';
import type { WaitFor } from '../model/kernel/step.js';
import type { Property } from './property.js';

/**
 * Who `actor` waits for: lock holders and, on an rwsem's wait list, the
 * waiters queued before it (a reader queued behind a writer waits for that
 * writer, which waits for the readers holding the lock: a recursive
 * down_read() deadlocks once a writer queues between); or the task that
 * keeps IRQs off on a CPU it must IPI.
 */
export function waitsOn(s: KernelState, actor: string, w: WaitFor): string[] {
  switch (w.kind) {
    case 'lock': {
      const l = s.locks[w.lock];
      const q = l?.waiters ?? [];
      const i = q.findIndex((x) => x.actor === actor);
      const ahead = i < 0 ? [] : q.slice(0, i).map((x) => x.actor);
      return [...new Set([...(l?.holders ?? []), ...ahead])].filter((h) => h !== actor);
    }
    case 'ipi':
      return w.cpus.map((c) => s.cpus[c]!).filter((cpu) => cpu.irqsOff && cpu.inIrq === null && cpu.owner).map((cpu) => cpu.owner!);
    case 'cpu': {
      const o = s.cpus[w.cpu]!.owner;
      return o && o !== actor ? [o] : [];
    }
  }
}

function describe(w: WaitFor): string {
  return w.kind === 'lock' ? `waits for ${w.lock}` : w.kind === 'ipi' ? `waits for IPI completion on CPU${w.cpus.join(',CPU')}` : `waits for CPU${w.cpu}`;
}

export const noDeadlock: Property = {
  id: 'no-deadlock',
  statement: 'no cycle in the wait-for graph, and never a state where no actor can run but a thread has not finished',
  rule: 'lock waits and synchronous IPIs (csd_lock_wait()) against IRQs-off spinning; docs/kernel-facts.md F6',
  check({ s, blocked, stalled }) {
    if (blocked.size === 0 && !stalled) return null; // no wait-for edge, no stall
    const edges = new Map<string, string[]>();
    for (const [a, w] of blocked) edges.set(a, waitsOn(s, a, w).filter((b) => blocked.has(b)));
    // depth-first over every edge: a lock wait needs all holders gone, so a cycle through any of them deadlocks
    const done = new Set<string>();
    const path: string[] = [];
    const dfs = (a: string): string[] | null => {
      path.push(a);
      for (const b of edges.get(a) ?? []) {
        if (path.includes(b)) return path.slice(path.indexOf(b));
        if (done.has(b)) continue;
        const c = dfs(b);
        if (c) return c;
      }
      path.pop();
      done.add(a);
      return null;
    };
    for (const start of [...blocked.keys()].sort()) {
      if (done.has(start)) continue;
      const cyc = dfs(start);
      if (cyc) return { holder: 'scheduler', message: `deadlock: ${cyc.map((x) => `${x} ${describe(blocked.get(x)!)}`).join('; ')}` };
    }
    if (stalled) return { holder: 'scheduler', message: `stall: no actor can run; ${[...blocked].map(([a, w]) => `${a} ${describe(w)}`).join('; ')}` };
    return null;
  },
};
