import type { KernelState } from '../model/kernel/state.js';
import type { WaitFor } from '../model/kernel/step.js';
import type { Property } from './property.js';

/** Who `actor` waits for: lock holders, or the task that keeps IRQs off on a CPU it must IPI. */
export function waitsOn(s: KernelState, actor: string, w: WaitFor): string[] {
  switch (w.kind) {
    case 'lock':
      return (s.locks[w.lock]?.holders ?? []).filter((h) => h !== actor);
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
  rule: 'lock waits and synchronous IPIs (csd_lock_wait) against IRQs-off spinning',
  check({ s, blocked, stalled }) {
    const edges = new Map<string, string[]>();
    for (const [a, w] of blocked) edges.set(a, waitsOn(s, a, w).filter((b) => blocked.has(b)));
    const seen = new Set<string>();
    for (const start of [...blocked.keys()].sort()) {
      const path: string[] = [];
      let a: string | undefined = start;
      while (a && !path.includes(a) && !seen.has(a)) {
        path.push(a);
        a = edges.get(a)?.[0];
      }
      if (a && path.includes(a)) {
        const cyc = path.slice(path.indexOf(a));
        return { holder: 'scheduler', message: `deadlock: ${cyc.map((x) => `${x} ${describe(blocked.get(x)!)}`).join('; ')}` };
      }
      for (const x of path) seen.add(x);
    }
    if (stalled) return { holder: 'scheduler', message: `stall: no actor can run; ${[...blocked].map(([a, w]) => `${a} ${describe(w)}`).join('; ')}` };
    return null;
  },
};
