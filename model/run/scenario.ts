// A scenario (SPEC 4.2): a configuration, a setup, threads (a process on a
// CPU running a list of operations), speculative walks by the hardware,
// and a schedule. All plain data: printed, saved, replayed and shrunk.

import type { Config } from '../kernel/config.js';
import type { Prot } from '../kernel/types.js';

export type SetupItem =
  | { kind: 'process'; name: string }
  | { kind: 'file'; name: string; pages: number }
  | { kind: 'mmap'; proc: string; start: number; pages: number; prot: Prot; file: string | null; pgoff: number };

export type Op =
  | { kind: 'read' | 'write'; va: number }
  | { kind: 'mmap'; va: number; pages: number; prot: Prot; file: string | null; pgoff: number }
  | { kind: 'munmap' | 'madvise'; va: number; pages: number }
  | { kind: 'mprotect'; va: number; pages: number; prot: Prot }
  | { kind: 'gup'; va: number }
  | { kind: 'idle' }
  | { kind: 'flush_tlb_all' };

export interface ThreadSpec {
  name: string;
  proc: string;
  cpu: number;
  ops: Op[];
}

/** Speculative page walks the hardware of `cpu` performs, in order, when scheduled. */
export interface Speculation {
  cpu: number;
  vas: number[];
}

/**
 * A preemption point: switch to `actor` and let it run `steps` steps, or
 * until it has taken a step with id `until`, or until it blocks or ends,
 * whichever comes first. `until` lets a race diagram be written by hand.
 */
export interface ScheduleEntry {
  actor: string;
  steps?: number;
  until?: string;
}

/** A heuristic decision (SPEC 4.2) taken the `nth` time `actor` reaches `point`. */
export interface Choice {
  actor: string;
  point: string;
  nth: number;
}

export interface Scenario {
  config: Partial<Config>;
  setup: SetupItem[];
  threads: ThreadSpec[];
  speculation: Speculation[];
  schedule: ScheduleEntry[];
  choices: Choice[];
}

export const ipiActor = (cpu: number) => `ipi@cpu${cpu}`;
export const specActor = (cpu: number) => `spec@cpu${cpu}`;
export const RCU_ACTOR = 'rcu';
