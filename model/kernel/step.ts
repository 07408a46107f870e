// The scheduling protocol between kernel paths and the runner.
//
// Every kernel path is a synchronous generator. Each `yield` ends one atomic
// step and names it with a stable id ("zap_pte_range.clear"); the code
// between two yields is what one step does. A yield that carries `wait`
// does not end a step: the actor is blocked there until `wait()` holds,
// and the step after it runs when the scheduler next picks the actor.
// Convention: a waiting yield comes right after a step ends, so a blocked
// actor has done nothing since its last step.

import type { Decision } from './decisions.js';
import type { MshareKnobs } from './mshare/knobs.js';
import type { KernelState } from './state.js';
import type { ActorName, MmId, Prot } from './types.js';

export type WaitFor =
  | { kind: 'lock'; lock: string }
  | { kind: 'ipi'; cpus: number[] }
  | { kind: 'cpu'; cpu: number };

/** What a step lets the oracle see: an operation's window, or a user access. */
export type Observation =
  | { kind: 'invoke'; op: OpRecord }
  | { kind: 'return'; opId: string; result: string }
  | { kind: 'access'; opId: string; mm: MmId; vpn: number; write: boolean; value: number; ok: boolean; guest?: { vm: string; gfn: number; gmem?: { file: string; index: number } }; device?: string }
  /**
   * A write pin (FOLL_PIN | FOLL_WRITE, an O_DIRECT read's buffer) taken on
   * the page `vpn` of `mm` maps: from here the I/O writes to that page,
   * whatever `vpn` maps later (paths/gup_fast.ts, paths/gup.ts).
   */
  | { kind: 'pin'; pin: string; mm: MmId; vpn: number }
  /** The device's DMA into the page pin `pin` holds. */
  | { kind: 'dma'; pin: string; value: number }
  /** The pin is dropped (unpin_user_pages_dirty_lock()). */
  | { kind: 'unpin'; pin: string };

/** A system call as the ideal memory sees it. */
export interface OpRecord {
  id: string;
  kind: 'mmap' | 'munmap' | 'madvise' | 'madv_free' | 'mprotect' | 'attach' | 'mshare_map' | 'mshare_unmap' | 'exit' | 'fork' | 'mremap' | 'gmem_punch_hole';
  mm: MmId;
  start: number;
  pages: number;
  prot: Prot | null;
  /** mmap: anon or a shared file mapping. */
  file: string | null;
  pgoff: number;
  /** fork: the child process dup_mmap() creates. */
  child?: string;
  /** mremap: where [start, start + pages) moves to (MREMAP_FIXED). */
  to?: number;
}

export interface Yield {
  id: string;
  /** This step returns the thread to user mode: its operation is over and the CPU may switch. */
  final?: boolean;
  wait?: () => boolean;
  waitFor?: WaitFor;
  obs?: Observation;
}

export type Gen<R = void> = Generator<Yield, R, void>;

/** A kernel write or a sleep, noted for lock-discipline with the locks held at that moment. */
export interface StepNote {
  kind: 'pte-write' | 'upper-populate' | 'upper-clear' | 'might-sleep' | 'ipi-wait';
  mm: MmId | null;
  what: string;
  /** The page-table page written (PTE writes). */
  table: number | null;
  held: string[];
  irqsOff: boolean;
}

export type StepResult = void | 'stop';
/** One step of a path: `c` is the path's locals, shared by its steps. */
export type StepFn<C = any> = (k: K, c: C) => Gen<StepResult>;

export interface StepDef<C = any> {
  /** Stable id, "kernel_function.what" (reports, variants and tests use it). */
  id: string;
  fn: StepFn<C>;
}

export const STOP_STEP = 'stop' as const;

export function step<C>(id: string, fn: StepFn<C>): StepDef<C> {
  return { id, fn };
}

/**
 * What a running kernel sees of its design: the step list of every path and
 * the mshare knobs. A named policy (model/policies/policy.ts) is this plus
 * its date and description; the kernel never needs more.
 */
export interface PathTable {
  name: string;
  paths: Record<string, StepDef[]>;
  mshare: MshareKnobs | null;
  /** A variant's overrides of named decision points (decisions.ts); none in a registry policy. */
  decisions?: Readonly<Record<string, Decision>>;
  /** A variant's edits, in the order written, and when each counts as executed (model/policies/variant.ts). */
  edits?: readonly VariantEdit[];
}

/**
 * One edit of a variant, as the never-executed report names it. `on` says
 * what executing it means: its own step ran (`step`: the step calls
 * K.noteEdit), the path that held a dropped step ran (`path`), the
 * overridden decision point was asked (`decision`), the knob was read (`knob`).
 */
export interface VariantEdit {
  text: string;
  /** The paths the edit changes (with `within`, the caller too): which opt-in operation kinds reach it (properties/generate/variant_ops.ts). */
  paths: readonly string[];
  /** The step ids (or the decision point) it changes: an edit of a step that acts only on what an opt-in kind sets up counts for that kind too. */
  ids: readonly string[];
  on: { kind: 'step' } | { kind: 'path'; path: string } | { kind: 'decision'; id: string } | { kind: 'knob'; name: string };
}

/** The context a step runs in: the state, who acts, the policy's paths. */
export interface K {
  readonly s: KernelState;
  readonly self: ActorName;
  readonly cpu: number;
  readonly policy: PathTable;
  /** Notes of the step in progress; the runner clears them after each step. */
  notes: StepNote[];
  /** Run a named path of the policy (its step list, after the variant's edits). */
  run<C>(path: string, c: C): Gen<void>;
  /**
   * Read one mshare design knob (undefined under a policy without mshare),
   * recording that this run consulted it: a finding is reported as
   * "depends on <knob>" when a consulted knob's value is not cited from a
   * patch (issue 10; reports/depends_on.ts). Read knobs only where the
   * value changes what the path does, so the record stays exact.
   */
  knob<N extends keyof MshareKnobs>(name: N): MshareKnobs[N] | undefined;
  /** A heuristic decision taken from the schedule (SPEC 4.2); false unless the schedule says otherwise. */
  choose(point: string): boolean;
  /**
   * A named condition of the kernel's code (decisions.ts): `value` as the
   * kernel computes it, unless the policy's variant overrides the point.
   */
  decide(point: string, value: boolean, args?: Readonly<Record<string, unknown>>): boolean;
  /** Monotone sequence for values written by user accesses. */
  nextValue(): number;
  /** The actor is inside path `path` now (a per-call-site edit's test: VariantBuilder's `within`). */
  within(path: string): boolean;
  /** How many paths the actor is inside now (a variant's inserted step tells its own yields from a nested path's). */
  depth(): number;
  /** A variant's edit number `i` (PathTable.edits) executed in this run. */
  noteEdit(i: number): void;
}

