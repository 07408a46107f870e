// The swimlanes of the HTML report (Report.lanes): one lane per CPU for
// the tasks that run on it, then one lane per vCPU thread pinned to that
// CPU (its KVM_RUN: entry, guest accesses, exits), then one lane per
// hardware actor beside its CPU (its flush-IPI handler, its speculative
// walks, the drain of its store buffer), then the end of an RCU grace
// period, which belongs to no CPU. Every actor of the trace is in exactly one lane; the JSON report
// carries them so that the page and any other reader draw the same lanes.

import type { ActorKind, ReportActor } from './report.js';

export type LaneKind = 'cpu' | 'vcpu' | Exclude<ActorKind, 'thread'>;

export interface Lane {
  id: string;
  title: string;
  kind: LaneKind;
  cpu: number | null;
  actors: string[];
}

const HW_TITLE: Record<string, string> = { ipi: 'IPI handler', spec: 'speculative walks', sb: 'store buffer' };
const HW_ORDER: ActorKind[] = ['ipi', 'spec', 'sb', 'other'];

export function lanesOf(actors: readonly ReportActor[], cpus: number): Lane[] {
  const lanes: Lane[] = [];
  const byName = (a: ReportActor, b: ReportActor) => a.name.localeCompare(b.name);
  for (let cpu = 0; cpu < cpus; cpu++) {
    const threads = actors.filter((a) => a.kind === 'thread' && a.cpu === cpu && a.vcpu === undefined).sort(byName);
    lanes.push({ id: `cpu${cpu}`, title: `CPU${cpu}${threads.length ? `: ${threads.map((t) => `${t.name} (${t.proc})`).join(', ')}` : ''}`, kind: 'cpu', cpu, actors: threads.map((t) => t.name) });
    for (const v of actors.filter((a) => a.kind === 'thread' && a.cpu === cpu && a.vcpu !== undefined).sort(byName)) {
      lanes.push({ id: `vcpu-${v.name}`, title: `${v.name} (${v.proc}): vCPU of ${v.vcpu} on CPU${cpu}`, kind: 'vcpu', cpu, actors: [v.name] });
    }
    for (const kind of HW_ORDER) {
      for (const a of actors.filter((x) => x.kind === kind && x.cpu === cpu).sort(byName)) {
        lanes.push({ id: a.name, title: HW_TITLE[kind] ? `${a.name}: ${HW_TITLE[kind]}` : a.name, kind: kind as LaneKind, cpu, actors: [a.name] });
      }
    }
  }
  // Actors on no modelled CPU (rcu), and any actor a CPU index out of range would otherwise drop.
  for (const a of actors.filter((x) => x.cpu === null || x.cpu < 0 || x.cpu >= cpus).sort(byName)) {
    if (a.kind === 'thread') lanes.push({ id: `task-${a.name}`, title: `${a.name} (${a.proc ?? 'kernel thread'})`, kind: 'other', cpu: a.cpu, actors: [a.name] });
    else lanes.push({ id: a.name, title: a.kind === 'rcu' ? 'rcu: end of grace period' : a.name, kind: a.kind, cpu: a.cpu, actors: [a.name] });
  }
  return lanes;
}
