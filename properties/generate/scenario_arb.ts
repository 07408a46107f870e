// fast-check arbitraries for scenarios (SPEC 7, research/testing-anchors.md
// 7.3). Everything that refers to something else is an index, resolved
// modulo the current choices by one pure function, so that shrinking an
// index towards 0 keeps the scenario valid and points at "the first"
// process, region or actor. The address pool is laid out so regions share
// a PTE table, share only a PMD table, or live under another PUD entry;
// msharefs windows take whole top-level entries above them.

import fc from 'fast-check';
import type { MshareKnobs } from '../../model/kernel/mshare/knobs.js';
import { parseProt } from '../../model/kernel/types.js';
import { DIO_ACTOR, hasDio, ipiActor, RCU_ACTOR, specActor, storeBufferActor, type KswapdSpec, type Op, type Scenario, type ScheduleEntry, type SetupItem, type ThreadSpec } from '../../model/run/scenario.js';
import { CHOICE_POINTS, FORK_STEP_IDS, KSWAPD_STEP_IDS, KVM_STEP_IDS, MIGRATE_CHOICE_POINTS, MADV_FREE_STEP_IDS, MIGRATE_STEP_IDS, MREMAP_STEP_IDS, STEP_IDS, SVA_STEP_IDS, GMEM_STEP_IDS, MEMSLOT_STEP_IDS, SWAP_STEP_IDS } from '../../model/run/step_ids.js'; // every decision point and step of the model, one list

/** Start pages of candidate regions, for fanout 4: 16,18 share a PTE table; 20 shares the PMD; 48 is under another PUD entry. */
const POOL = [16, 18, 20, 48];
/** Sharer windows: whole top-level entries (64 is the host's own address, as RFC v3 requires). */
const WINDOWS = [64, 128];
/** The pages of a window a VM's memslot covers (resolve): those a window access or a region op of the run can reach. */
const WINDOW_SLOT_PAGES = 4;
/**
 * hugetlbfs mappings (mainline policies): file H of one PUD_SIZE (16 pages
 * at fanout 4) of PMD-sized folios, mapped whole at pgoff 0 at one of two
 * PUD-aligned addresses, so every mapping may share its PMD table with
 * every other (paths/hugetlb.ts, vma_shareable()).
 */
/**
 * mremap targets (MREMAP_FIXED): the regions' own starts (the target's
 * mapping is unmapped first, and other threads touch it: a fault racing
 * the move into the new VMA), PTE-table aligned ones (a whole table of a
 * 4-page region moves by move_normal_pmd), and ones aligned like the
 * region at 18 (try_realign_addr()).
 */
const MREMAP_TARGETS = [16, 18, 20, 48, 26, 32, 50, 56];
/** The table-aligned ones, for a whole 4-page region: two PTE tables no region uses first. */
const MREMAP_TABLE_TARGETS = [32, 56, 16, 20, 48];
const HUGE_POOL = [192, 208];
const HUGE_PAGES = 16;

export const OP_KINDS = ['read', 'write', 'madvise', 'munmap', 'mprotect', 'mmap', 'gup', 'get_user_pages', 'numa_scan', 'idle', 'flush_tlb_all', 'exit', 'attach', 'mshare_map', 'mshare_unmap', 'mshare_create', 'ftruncate', 'mshare_attach', 'mshare_advise', 'mshare_protect', 'close', 'reclaim', 'vm', 'fork', 'migrate', 'mremap', 'madv_free', 'sva', 'gmem', 'swap', 'memslot'] as const;
export type OpKind = (typeof OP_KINDS)[number];
const MSHARE_ONLY: readonly OpKind[] = ['attach', 'mshare_map', 'mshare_unmap'];
/** mshare 2026's system calls (model/kernel/paths/mshare_2026.ts): only where the design has them, and then no msharefs attach. */
const SYSCALLS_ONLY: readonly OpKind[] = ['mshare_create', 'ftruncate', 'mshare_attach', 'mshare_advise', 'mshare_protect', 'close'];

/**
 * The kinds `fuzz --policy P` generates without --ops: every kind the
 * policy supports but reclaim. reclaim (mainline policies only,
 * paths/reclaim.ts) is opt-in (`--ops ...,reclaim`, RECLAIM_OPS) while its
 * first linux finding is open (docs/findings/reclaim-refault-stale-read.md):
 * either an allowed staleness the properties must learn or a window to
 * report, and the default campaigns should not carry it until decided.
 */
export function opKindsFor(mshare: MshareKnobs | null): OpKind[] {
  const syscalls = mshare?.api === 'syscalls';
  return OP_KINDS.filter((k) => (k === 'reclaim' || k === 'vm' || k === 'sva' || k === 'fork' || k === 'migrate' || k === 'mremap' || k === 'madv_free' || k === 'gmem' || k === 'swap' || k === 'memslot' ? false : SYSCALLS_ONLY.includes(k) ? syscalls : k === 'attach' && syscalls ? false : !MSHARE_ONLY.includes(k) || (mshare && (k !== 'mshare_unmap' || mshare.unmapIoctl))));
}

/**
 * What `--ops` accepts for a policy: the default kinds, plus the opt-in
 * ones: vm on every policy (a VM of P0, over its mshare windows too under
 * an mshare design: hazard 4), and on mainline reclaim, fork
 * (paths/fork.ts: a fork op gives the run a child process with a thread
 * of its own and the setup the zero page; opt-in until fork has a clean
 * campaign in the default mix), migrate (paths/migrate.ts; opt-in like
 * fork, so default runs stay as drawn before it), mremap (paths/mremap.ts;
 * refused for every mshare design, validate.ts) and madv_free
 * (madvise(MADV_FREE), paths/madvise_free.ts; with reclaim it makes
 * lazyfree anonymous folios reclaimable; refused under mshare), and sva on
 * every policy (IOMMU SVA devices bound to processes, paths/sva.ts: no
 * thread operation, like vm), gmem on every policy (a VM as vm draws
 * it, with some memslots backed by a guest_memfd and a VMM thread that
 * punches holes in it: paths/kvm_gmem.ts), and on mainline swap (a swap
 * device in the setup of every run, paths/swap.ts: with reclaim, `reclaim`
 * of an ordinary anonymous page swaps it out; no thread operation and no
 * draw of its own, so a run with swap draws what it drew without it).
 */
export const opKindsAccepted = (mshare: MshareKnobs | null): OpKind[] => (mshare === null ? [...opKindsFor(mshare), 'reclaim', 'vm', 'fork', 'migrate', 'mremap', 'madv_free', 'sva', 'gmem', 'swap', 'memslot'] : [...opKindsFor(mshare), 'vm', 'fork', 'migrate', 'madv_free', 'sva', 'gmem']);

const WEIGHT: Record<OpKind, number> = { read: 8, write: 8, madvise: 3, munmap: 2, mprotect: 3, mmap: 2, gup: 2, get_user_pages: 1, numa_scan: 1, idle: 2, flush_tlb_all: 1, exit: 1, attach: 4, mshare_map: 2, mshare_unmap: 2, mshare_create: 1, ftruncate: 1, mshare_attach: 4, mshare_advise: 2, mshare_protect: 2, close: 1, reclaim: 2, vm: 0, fork: 2, migrate: 2, mremap: 2, madv_free: 3, sva: 0, gmem: 0, swap: 0, memslot: 0 };
const PROTS = ['rw', 'r', 'none'] as const;

interface RawRegion {
  pool: number;
  pages: number;
  shared: boolean;
  prot: number;
}
interface RawOp {
  kind: OpKind;
  region: number;
  page: number;
  whole: boolean;
  prot: number;
  /** Aim at an msharefs window rather than a private region (mshare policies). */
  win: boolean;
}
interface RawThread {
  proc: number;
  cpu: number;
  ops: RawOp[];
}
export interface RawScenario {
  cpus: number;
  pcids: number;
  /** x86 features drawn per run (config.ts): X86_FEATURE_INVLPGB and AMD's EFER.TCE; absent = the defaults. */
  invlpgb?: boolean;
  tce?: boolean;
  /**
   * Swarm testing (Groce et al., ISSTA 2012): the operation kinds this run
   * drew its ops from, a subset of GenOptions.ops, so a run without munmap
   * can race madvise against faults for longer. Absent = every kind.
   */
  swarm?: OpKind[];
  procs: RawRegion[][];
  threads: RawThread[];
  spec: { cpu: number; vas: { region: number; page: number }[] }[];
  /** A preemption point: run `actor` for `steps` steps, or (when `until` is set) until it takes the step untilIds(untilKinds)[until]. */
  schedule: { actor: number; steps: number; until?: number }[];
  /** The opt-in kinds whose step ids the stop points index besides STEP_IDS (untilIds); absent = none. */
  untilKinds?: OpKind[];
  choices: { actor: number; point: number; nth: number }[];
  /** Mainline policies only: per process, 0 for no hugetlbfs mapping, else 1 + its HUGE_POOL index. */
  huge?: number[];
  /**
   * In some runs (with `vm` in the kinds): a VM of P0 whose memslots cover
   * P0's regions (gfns in region order) and, under an mshare design, the
   * first pages of each window P0 may attach (hazard 4: guest memory in
   * the VMM's mshare window), and vCPU threads of P0 that make guest
   * accesses (gfn: an index modulo the memslot pages).
   */
  kvm?: { vcpus: { cpu: number; ops: { write: boolean; gfn: number }[] }[] };
  /** With `swap` in the kinds (mainline): the setup has a swap device (paths/swap.ts). */
  swap?: boolean;
  /**
   * With a VM drawn: its first vCPU thread creates it (KVM_CREATE_VM, its
   * notifier registering at run time: paths/mmu_notifier_register.ts)
   * before its guest accesses, and the other vCPU threads start after.
   * Drawn last, so the runs drawn before it existed are drawn the same.
   */
  kvmCreate?: boolean;
  /**
   * With `fork` in the kinds: the thread of each fork op's child (the i-th
   * fork op's child runs children[i], if drawn), on the parent's regions.
   */
  children?: { cpu: number; ops: RawOp[] }[];
  /**
   * With `migrate` in the kinds: choices of migration's own points
   * (MIGRATE_CHOICE_POINTS: a NUMA hinting fault that migrates), drawn last.
   */
  migrateChoices?: { actor: number; point: number; nth: number }[];
  /**
   * With `sva` in the kinds, in some runs: IOMMU SVA devices (paths/sva.ts),
   * each bound to a process and making DMA to that process's regions, or
   * under an mshare design to the pages of a window (`win`), with the I/O
   * page fault handler on `cpu`. Drawn last.
   */
  sva?: { proc: number; cpu: number; ops: { write: boolean; region: number; page: number; win: boolean }[] }[];
  /**
   * With `reclaim` in the kinds, under a mainline policy: the CPU of
   * kswapd0 (model/run/actors.ts kswapdActor), drawn last. A reclaim op
   * whose `win` is set (a bit no reclaim op uses without mshare) becomes
   * a request to kswapd for the same page of the thread's process, in
   * thread order; the others stay direct reclaim in their thread.
   */
  kswapd?: { cpu: number };
  /**
   * With `gmem` in the kinds and a VM drawn: which of its memslots a
   * guest_memfd G0 backs (slot i: backed[i % length]), and VMM threads of
   * P0 punching holes in G0 (offset and length indexes, resolved modulo
   * G0's size).
   */
  gmem?: { backed: boolean[]; punchers: { cpu: number; holes: { offset: number; pages: number }[] }[] };
  /** With `memslot` in the kinds and a VM drawn (mainline): a VMM thread of P0 deleting V0's memslots (paths/kvm_set_memslot.ts). */
  memslot?: { cpu: number; slots: number[] };
  /**
   * In half of the runs: free switches after the schedule's preemption
   * points, each an actor index (modulo the actors) run until it blocks or
   * ends (freeArb). Drawn last of all, so the rest of a run is the
   * run drawn before they existed.
   */
  free?: number[];
}

export interface GenOptions {
  /** Operation kinds to generate (`--ops`). */
  ops: readonly OpKind[];
  /** The mshare design under test, or null: decides the setup and the windows. */
  mshare: MshareKnobs | null;
  /** Draw hugetlbfs mappings (paths/hugetlb.ts); default: for mainline policies (no mshare knobs). */
  hugetlb?: boolean;
  /** Draw a VM with vCPUs in some runs (paths/kvm_*.ts); default: when `ops` has 'vm' or 'gmem'. */
  kvm?: boolean;
}

/**
 * Regions of 1-2 pages, or a whole PTE table (4 pages at fanout 4): a
 * MADV_DONTNEED over a whole table is what lets CONFIG_PT_RECLAIM free it
 * (pte_table_reclaim_possible(): end - start >= PMD_SIZE).
 */
const regionPages = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 2 }), weight: 3 }, { arbitrary: fc.constant(4), weight: 1 });
const region = fc.record({ pool: fc.nat(POOL.length - 1), pages: regionPages, shared: fc.boolean(), prot: fc.constantFrom(0, 0, 0, 1) });

function rawOp(kinds: readonly OpKind[]) {
  const kind = fc.oneof(...kinds.map((k) => ({ arbitrary: fc.constant(k), weight: WEIGHT[k] })));
  return fc.record({ kind, region: fc.nat(7), page: fc.nat(3), whole: fc.boolean(), prot: fc.nat(PROTS.length - 1), win: fc.boolean() });
}

/**
 * A preemption point stops the running actor after a number of steps, or
 * at a named step: any step id of the model (model/run/step_ids.ts), drawn
 * uniformly, never weighted toward a race someone expects. A race such as
 * CVE-2025-37964's needs a thread stopped exactly between two steps of
 * switch_mm_irqs_off(); counting steps from a random start rarely lands
 * there, naming the step does whenever that id is drawn.
 */
export const scheduleEntry = (ids: number) =>
  fc.oneof(
    { arbitrary: fc.record({ actor: fc.nat(15), steps: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 })) }), weight: 2 },
    { arbitrary: fc.record({ actor: fc.nat(15), steps: fc.constant(40), until: fc.nat(ids - 1) }), weight: 1 },
  );

/**
 * The step ids only an opt-in kind's paths yield (model/run/step_ids.ts
 * keeps them in lists of their own). A campaign with the kind draws its
 * stop points over them too, so a vCPU can be stopped inside KVM_RUN or a
 * fork inside copy_page_range(), as a thread inside munmap() can; runs
 * without an opt-in kind draw over STEP_IDS alone, exactly as before.
 */
const OPT_IN_STEP_IDS: Partial<Record<OpKind, readonly string[]>> = { reclaim: KSWAPD_STEP_IDS, vm: KVM_STEP_IDS, sva: SVA_STEP_IDS, fork: FORK_STEP_IDS, migrate: MIGRATE_STEP_IDS, mremap: MREMAP_STEP_IDS, madv_free: MADV_FREE_STEP_IDS, gmem: GMEM_STEP_IDS, swap: SWAP_STEP_IDS, memslot: MEMSLOT_STEP_IDS };

/** The ids a drawn stop point indexes: STEP_IDS, then those of each opt-in kind in `kinds`, in OP_KINDS order. */
export function untilIds(kinds: readonly OpKind[] = []): readonly string[] {
  const extra = OP_KINDS.filter((k) => kinds.includes(k) && OPT_IN_STEP_IDS[k]);
  return extra.length === 0 ? STEP_IDS : [...STEP_IDS, ...extra.flatMap((k) => OPT_IN_STEP_IDS[k]!)];
}

/** Each kind with probability 1/2, never none (swarm testing); drawn in half of the runs. */
function swarmArb(kinds: readonly OpKind[]): fc.Arbitrary<OpKind[] | undefined> {
  if (kinds.length < 2) return fc.constant(undefined);
  const subset = fc.array(fc.boolean(), { minLength: kinds.length, maxLength: kinds.length }).map((bits) => {
    const on = kinds.filter((_, i) => bits[i]);
    return on.length > 0 ? on : undefined;
  });
  return fc.option(subset, { nil: undefined, freq: 2 });
}

/**
 * The kinds a thread draws as operations: vm, gmem, sva, swap and memslot are no
 * thread operation but set-up a run may draw (a VM, a guest_memfd, a bound
 * device, a swap device, the VMM thread that deletes memslots), so a list
 * of those alone gives threads nothing.
 */
export const SETUP_ONLY_KINDS: readonly OpKind[] = ['vm', 'sva', 'gmem', 'swap', 'memslot'];
export const threadOpKinds = (ops: readonly OpKind[]): OpKind[] => ops.filter((k) => !SETUP_ONLY_KINDS.includes(k));

export function rawScenarioArb(opts: GenOptions): fc.Arbitrary<RawScenario> {
  const withHuge = (base: fc.Arbitrary<RawScenario>) =>
    !(opts.hugetlb ?? opts.mshare === null) ? base : fc.tuple(base, fc.array(fc.nat(HUGE_POOL.length), { minLength: 3, maxLength: 3 })).map(([r, huge]) => ({ ...r, huge }));
  // drawn after everything else, so a run without a VM is the run drawn before KVM was modelled
  // `vm` in --ops is no thread operation: it lets a run draw a VM of P0 with vCPU threads (opt-in,
  // like reclaim, until linux with KVM has a clean campaign on the current model: docs/kvm.md)
  const kvmOn = opts.kvm ?? (opts.ops.includes('vm') || opts.ops.includes('gmem') || opts.ops.includes('memslot'));
  const withKvm = (base: fc.Arbitrary<RawScenario>) => (!kvmOn ? base : fc.tuple(base, kvmArb).map(([r, kvm]) => (kvm ? { ...r, kvm } : r)));
  const threadOps = { ...opts, ops: threadOpKinds(opts.ops) };
  // drawn last as well: a run without fork in its kinds is the run drawn before fork was modelled
  const childKinds = threadOps.ops.filter((k) => k !== 'fork');
  const children = fc.array(fc.record({ cpu: fc.nat(3), ops: fc.array(rawOp(childKinds.length > 0 ? childKinds : ['read']), { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 2 });
  const withFork = (base: fc.Arbitrary<RawScenario>) => (!threadOps.ops.includes('fork') ? base : fc.tuple(base, children).map(([r, c]) => ({ ...r, children: c })));
  // drawn last too: a run without migrate in its kinds is the run drawn before migration was modelled
  const migrateChoices = fc.array(fc.record({ actor: fc.nat(7), point: fc.nat(MIGRATE_CHOICE_POINTS.length - 1), nth: fc.nat(2) }), { maxLength: 2 });
  const withMigrate = (base: fc.Arbitrary<RawScenario>) => (opts.mshare !== null || !threadOps.ops.includes('migrate') ? base : fc.tuple(base, migrateChoices).map(([r, m]) => ({ ...r, migrateChoices: m })));
  // drawn last of all: a run without sva in its kinds is the run drawn before SVA was modelled
  const withSva = (base: fc.Arbitrary<RawScenario>) => (!opts.ops.includes('sva') ? base : fc.tuple(base, svaArb).map(([r, sva]) => (sva ? { ...r, sva } : r)));
  // drawn after sva: a run without gmem in its kinds is the run drawn before guest_memfd was modelled
  const withGmem = (base: fc.Arbitrary<RawScenario>) => (!opts.ops.includes('gmem') ? base : fc.tuple(base, gmemArb).map(([r, gmem]) => (r.kvm ? { ...r, gmem } : r)));
  // gmem draws its VM as vm does, so its stop points index KVM_STEP_IDS too
  const untilKinds = OP_KINDS.filter((k) => (opts.ops.includes(k) || (k === 'vm' && (opts.ops.includes('gmem') || opts.ops.includes('memslot')))) && OPT_IN_STEP_IDS[k]);
  const withUntil = (base: fc.Arbitrary<RawScenario>) => (untilKinds.length === 0 ? base : base.map((r) => ({ ...r, untilKinds })));
  // no draw: every run of a campaign with swap in its kinds has the swap device
  const withSwap = (base: fc.Arbitrary<RawScenario>) => (opts.mshare !== null || !opts.ops.includes('swap') ? base : base.map((r) => ({ ...r, swap: true })));
  // a third of the VM runs create the VM at run time
  const withKvmCreate = (base: fc.Arbitrary<RawScenario>) => (!kvmOn ? base : base.chain((r) => (r.kvm ? fc.nat(2).map((n) => (n === 0 ? { ...r, kvmCreate: true } : r)) : fc.constant(r))));
  // drawn after all of it: a run without reclaim in its kinds is the run drawn before kswapd was modelled
  const withKswapd = (base: fc.Arbitrary<RawScenario>) => (opts.mshare !== null || !threadOps.ops.includes('reclaim') ? base : fc.tuple(base, fc.nat(3)).map(([r, cpu]) => ({ ...r, kswapd: { cpu } })));
  // drawn last of all: a run without memslot in its kinds is the run drawn before memslot deletion was modelled
  const withMemslot = (base: fc.Arbitrary<RawScenario>) => (opts.mshare !== null || !opts.ops.includes('memslot') ? base : fc.tuple(base, memslotArb).map(([r, memslot]) => (r.kvm ? { ...r, memslot } : r)));
  return swarmArb(threadOps.ops).chain((swarm) => withFree(withMemslot(withGmem(withSwap(withKswapd(withKvmCreate(withUntil(withSva(withMigrate(withFork(withKvm(withHuge(rawScenarioWith(threadOps, swarm, untilIds(untilKinds).length))))))))))))));
}

/**
 * Free switches. Once a schedule's preemption points are used up, the
 * runner resumes the actor that was stopped and, each time the running
 * actor blocks or ends, takes the first runnable one in canonical order
 * (threads, then IPI handlers, RCU, speculation): bound-0 interleavings
 * other than that one order are reached only by preemption points that
 * happen to fall where a block would. A free switch is a schedule entry
 * without a count: its actor runs until it blocks or ends, and an entry
 * whose actor cannot run is skipped, so a run of entries with drawn
 * actors picks among the runnable ones at each switch: a random walk over
 * the choices an explorer makes at no preemption cost. It is uniform but
 * for the bias the preemption points share (an index 0-15 modulo n
 * actors gives the first 16 mod n one index more than the rest), and it
 * may name a store buffer, which the canonical order never drains.
 * Measured in docs/bench.md, "Free switches in the generator".
 */
const freeArb = fc.option(fc.array(fc.nat(15), { maxLength: 40, size: 'medium' }), { nil: undefined, freq: 2 });
const withFree = (base: fc.Arbitrary<RawScenario>) => fc.tuple(base, freeArb).map(([r, free]) => (free && free.length > 0 ? { ...r, free } : r));

/** SVA devices in two thirds of the runs: one or two, each one to six DMA accesses. */
const svaArb = fc.option(
  fc.array(fc.record({ proc: fc.nat(3), cpu: fc.nat(3), ops: fc.array(fc.record({ write: fc.boolean(), region: fc.nat(7), page: fc.nat(3), win: fc.boolean() }), { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 2 }),
  { nil: undefined, freq: 3 },
);

/** A VMM thread of P0 deleting one or two of V0's memslots (KVM_SET_USER_MEMORY_REGION, memory_size 0; index modulo the memslots). */
const memslotArb = fc.record({ cpu: fc.nat(3), slots: fc.array(fc.nat(7), { minLength: 1, maxLength: 2 }) });

/** guest_memfd: each memslot backed with probability 1/2 (at least the first, so a hole has something to hit); one or two VMM threads, one or two holes each. */
const gmemArb = fc.record({
  backed: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }).map((b) => [true, ...b.slice(1)]),
  punchers: fc.array(fc.record({ cpu: fc.nat(3), holes: fc.array(fc.record({ offset: fc.nat(7), pages: fc.integer({ min: 1, max: 2 }) }), { minLength: 1, maxLength: 2 }) }), { minLength: 1, maxLength: 2 }),
});

/** A VM in a third of the runs: one to three vCPUs, each one to six guest accesses. */
const kvmArb = fc.option(
  fc.record({ vcpus: fc.array(fc.record({ cpu: fc.nat(3), ops: fc.array(fc.record({ write: fc.boolean(), gfn: fc.nat(7) }), { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 3 }) }),
  { nil: undefined, freq: 2 },
);

function rawScenarioWith(opts: GenOptions, swarm: OpKind[] | undefined, ids: number): fc.Arbitrary<RawScenario> {
  const kinds = swarm ?? opts.ops;
  return fc.record({
    cpus: fc.integer({ min: 2, max: 4 }),
    pcids: fc.integer({ min: 1, max: 3 }),
    invlpgb: fc.boolean().chain((on) => (on ? fc.boolean() : fc.constant(false))), // on in a quarter of the runs
    tce: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    swarm: fc.constant(swarm),
    procs: fc.array(fc.array(region, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }),
    threads: fc.array(fc.record({ proc: fc.nat(3), cpu: fc.nat(3), ops: fc.array(rawOp(kinds), { minLength: 1, maxLength: 7 }) }), { minLength: 1, maxLength: 5 }),
    spec: fc.array(fc.record({ cpu: fc.nat(3), vas: fc.array(fc.record({ region: fc.nat(7), page: fc.nat(1) }), { maxLength: 3 }) }), { maxLength: 2 }),
    schedule: fc.array(scheduleEntry(ids), { maxLength: 24 }),
    choices: fc.array(fc.record({ actor: fc.nat(7), point: fc.nat(CHOICE_POINTS.length - 1), nth: fc.nat(2) }), { maxLength: 3 }),
  });
}

/** Resolve every index of a raw scenario against what it refers to. */
export function resolve(raw: RawScenario, mshare: MshareKnobs | null = null): Scenario {
  const setup: SetupItem[] = [];
  const windows = mshare?.attach === 'same-address' ? WINDOWS.slice(0, 1) : WINDOWS;
  const regions: { start: number; pages: number; huge?: boolean }[][] = [];
  const anyShared = raw.procs.some((rs) => rs.some((r) => r.shared));
  if (anyShared) setup.push({ kind: 'file', name: 'F', pages: 4 });
  const hugeAt = (p: number) => (raw.huge?.[p] ? HUGE_POOL[raw.huge[p]! - 1]! : null);
  if (raw.procs.some((_, p) => hugeAt(p) !== null)) setup.push({ kind: 'file', name: 'H', pages: HUGE_PAGES, hugetlb: true });
  raw.procs.forEach((rs, p) => {
    const name = `P${p}`;
    setup.push({ kind: 'process', name });
    const mine: { start: number; pages: number; huge?: boolean }[] = [];
    for (const r of rs) {
      const start = POOL[r.pool]!;
      if (mine.some((m) => m.start < start + r.pages && start < m.start + m.pages)) continue;
      mine.push({ start, pages: r.pages });
      setup.push({ kind: 'mmap', proc: name, start, pages: r.pages, prot: parseProt(r.prot ? 'r' : 'rw')!, file: r.shared ? 'F' : null, pgoff: 0 });
    }
    const h = hugeAt(p);
    if (h !== null) {
      mine.push({ start: h, pages: HUGE_PAGES, huge: true });
      setup.push({ kind: 'mmap', proc: name, start: h, pages: HUGE_PAGES, prot: parseProt('rw')!, file: 'H', pgoff: 0 });
    }
    regions.push(mine);
  });
  if (mshare) setup.push({ kind: 'msharefs', name: 'M', owner: 'P0' }, { kind: 'mshare_map', file: 'M', offset: 0, pages: 2, prot: parseProt('rw')! });
  const at = (p: number, ri: number, page: number) => {
    const rs = regions[p]!;
    const r = rs[ri % rs.length]!;
    // a hugetlbfs region: one page in each of its four huge pages, at four offsets
    return { r, va: r.start + (r.huge ? (page * 5) % r.pages : page % r.pages) };
  };
  // mshare 2026: each mshare_create op makes a new region N0, N1, ... (the setup's M is created and sized before the run, its fd inherited); the other calls pick one of them
  let created = 0;
  const createdNames = raw.threads.flatMap((t) => t.ops.filter((o) => o.kind === 'mshare_create').map(() => `N${created++}`));
  const regionFiles = ['M', ...createdNames];
  let nextCreate = 0;
  // fork: the i-th fork op creates C<i>; its thread (raw.children[i]) works on the parent's regions
  const forks: { child: string; parent: number }[] = [];
  // reclaim ops with `win` go to kswapd (RawScenario.kswapd), as requests for the same page of the thread's process
  const toKswapd = (o: RawOp) => raw.kswapd !== undefined && mshare === null && o.kind === 'reclaim' && o.win;
  const kswapdReqs: KswapdSpec['reclaims'] = [];
  const resolveOps = (p: number, rawOps: RawOp[], proc: string): Op[] => rawOps.flatMap((o) => (toKswapd(o) ? (kswapdReqs.push({ proc, va: at(p, o.region, o.page).va }), []) : [o])).map((o) => {
      const w = mshare && o.win ? windows[o.region % windows.length]! : null;
      const { r, va } = w === null ? at(p, o.region, o.page) : { r: { start: w, pages: 64 }, va: w + o.page };
      // a hugetlbfs region: a whole huge page (munmap: the whole VMA, the model does not split one)
      const hp = HUGE_PAGES / 4;
      const span = o.whole || (r.huge && o.kind === 'munmap') ? { va: r.start, pages: r.pages } : r.huge ? { va: va - (va % hp), pages: hp } : { va, pages: 1 };
      const inRegion = { file: 'M', offset: o.page, pages: o.whole ? 2 : 1 };
      const fd = regionFiles[o.region % regionFiles.length]!;
      switch (o.kind) {
        case 'mshare_create':
          return { kind: 'mshare_create', file: createdNames[nextCreate++]! };
        case 'ftruncate':
          return { kind: 'ftruncate', file: fd, pages: 64 };
        case 'mshare_attach':
          return { kind: 'mshare_attach', file: fd, va: windows[o.page % windows.length]!, offset: 0, pages: 64 };
        case 'mshare_advise':
          return { kind: 'mshare_advise', ...inRegion, file: fd };
        case 'mshare_protect':
          return { kind: 'mshare_protect', ...inRegion, file: fd, prot: parseProt(PROTS[o.prot]!)! };
        case 'close':
          return { kind: 'close', file: fd };
        case 'attach':
          return { kind: 'attach', file: 'M', va: windows[o.region % windows.length]! };
        case 'mshare_map':
          return { kind: 'mshare_map', ...inRegion, file: mshare?.api === 'syscalls' ? fd : 'M', prot: parseProt('rw')! };
        case 'mshare_unmap':
          return { kind: 'mshare_unmap', ...inRegion };
        case 'get_user_pages':
        case 'gup':
          // `whole` (no meaning for a one-page pin) draws the FOLL_WRITE pin of an O_DIRECT read
          return { kind: o.kind, va, ...(o.whole ? { dma: true } : {}) };
        case 'reclaim':
          return { kind: 'reclaim', va }; // does nothing unless a shared-file region (F) is there
        case 'migrate':
          return { kind: 'migrate', va }; // does nothing unless a present PTE maps a page there
        case 'vm':
          throw new Error('vm is no thread operation (rawScenarioArb draws it as a VM)');
        case 'sva':
          throw new Error('sva is no thread operation (rawScenarioArb draws devices)');
        case 'gmem':
          throw new Error('gmem is no thread operation (rawScenarioArb draws the guest_memfd and its punch holes)');
        case 'swap':
          throw new Error('swap is no thread operation (a setup item)');
        case 'memslot':
          throw new Error('memslot is no thread operation (rawScenarioArb draws the VMM thread that deletes memslots)');
        case 'mremap': {
          // a page, the region, or 8 pages from the region's start (several VMAs and gaps: d23cb648e365);
          // a whole 4-page region (a PTE table of its own) to a table-aligned target, where move_normal_pmd can move the table
          // (the process's own 4-page region when it has one); never a hugetlbfs region, which mremap refuses
          const pick = o.page + (o.win ? 4 : 0) + o.prot;
          const table = regions[p]!.find((x) => x.pages === 4 && !x.huge);
          // (at the region's own offset in its table: one at 18 reaches a table boundary, so try_realign_addr() realigns it)
          if (o.whole && o.prot !== 2 && table) {
            const tos = MREMAP_TABLE_TARGETS.map((t) => t + (table.start % 4)).filter((t) => t + 4 <= table.start || t >= table.start + 4);
            return { kind: 'mremap', va: table.start, to: tos[pick % tos.length]!, pages: 4 };
          }
          const src = r.huge ? (regions[p]!.find((x) => !x.huge) ?? r) : r;
          const to = MREMAP_TARGETS[pick % MREMAP_TARGETS.length]!;
          return o.whole ? { kind: 'mremap', va: src.start, to, pages: o.prot === 2 ? 8 : src.pages } : { kind: 'mremap', va: src === r ? va : src.start, to, pages: 1 };
        }
        case 'fork': {
          const child = `C${forks.length}`;
          forks.push({ child, parent: p });
          return { kind: 'fork', child };
        }

        case 'numa_scan':
        case 'exit':
          return { kind: o.kind };
        case 'read':
        case 'write':
          return { kind: o.kind, va };
        case 'madvise':
        case 'munmap':
        case 'madv_free':
          return { kind: o.kind, ...span };
        case 'mprotect':
          return { kind: 'mprotect', ...span, prot: parseProt(PROTS[o.prot]!)! };
        case 'mmap':
          return { kind: 'mmap', va: r.start, pages: r.pages, prot: parseProt('rw')!, file: null, pgoff: 0 }; // hugetlb VMAs come from the setup only (validate.ts)
        case 'idle':
        case 'flush_tlb_all':
          return { kind: o.kind };
      }
    });
  const threads: ThreadSpec[] = raw.threads.map((t, i) => {
    const p = t.proc % raw.procs.length;
    return { name: `T${i}`, proc: `P${p}`, cpu: t.cpu % raw.cpus, ops: resolveOps(p, t.ops, `P${p}`) };
  });
  forks.forEach((f, i) => {
    const c = raw.children?.[i];
    if (c) threads.push({ name: `T${threads.length}`, proc: f.child, cpu: c.cpu % raw.cpus, ops: resolveOps(f.parent, c.ops.filter((o) => o.kind !== 'fork'), f.child) });
  });
  if (forks.length > 0) setup.unshift({ kind: 'zero_page' });
  if (raw.swap) setup.unshift({ kind: 'swap' });
  if (raw.kvm) {
    // VM V0 of P0: one memslot per region of P0 (hugetlbfs ones too), gfns in region order; under an
    // mshare design, then one per window P0 may attach, over the pages the ops of the run aim at
    // (an mshare_map/advise/protect offset and a window access: page 0-3); the memslot points at the
    // hva whether or not P0 has attached there yet (KVM_SET_USER_MEMORY_REGION takes any range)
    const memslots: { gfn: number; hva: number; pages: number; gmem?: { file: string; pgoff: number } }[] = [];
    const slots = [...regions[0]!.map((r) => ({ start: r.start, pages: r.pages })), ...(mshare ? windows.map((w) => ({ start: w, pages: WINDOW_SLOT_PAGES })) : [])];
    for (const r of slots) memslots.push({ gfn: memslots.reduce((n, m) => n + m.pages, 0), hva: r.start, pages: r.pages });
    const total = memslots.reduce((n, m) => n + m.pages, 0);
    if (raw.gmem) {
      // guest_memfd G0 as large as the guest: a backed slot binds G0 from the page of its first gfn (no two bindings overlap)
      memslots.forEach((m, i) => {
        if (raw.gmem!.backed[i % raw.gmem!.backed.length]) m.gmem = { file: 'G0', pgoff: m.gfn };
      });
      setup.push({ kind: 'gmem', name: 'G0', pages: total });
    }
    setup.push({ kind: 'vm', name: 'V0', proc: 'P0', memslots });
    const cpus = new Set<number>();
    for (const v of raw.kvm.vcpus) {
      const cpu = v.cpu % raw.cpus;
      if (cpus.has(cpu)) continue; // one vCPU of V0 per CPU (validate.ts)
      cpus.add(cpu);
      const create: Op[] = raw.kvmCreate && cpus.size === 1 ? [{ kind: 'kvm_create_vm', vm: 'V0' }] : [];
      threads.push({ name: `T${threads.length}`, proc: 'P0', cpu, ops: [...create, ...v.ops.map((o): Op => ({ kind: o.write ? 'guest_write' : 'guest_read', vm: 'V0', gfn: o.gfn % total }))] });
    }
    // the VMM's fallocate(FALLOC_FL_PUNCH_HOLE) on G0 (paths/kvm_gmem.ts), from threads of P0 of their own
    for (const t of raw.gmem?.punchers ?? []) {
      const ops = t.holes.map((h): Op => {
        const offset = h.offset % total;
        return { kind: 'gmem_punch_hole', file: 'G0', offset, pages: Math.min(h.pages, total - offset) };
      });
      threads.push({ name: `T${threads.length}`, proc: 'P0', cpu: t.cpu % raw.cpus, ops });
    }
    // the VMM's KVM_SET_USER_MEMORY_REGION deleting memslots of V0 while its vCPUs run (paths/kvm_set_memslot.ts)
    if (raw.memslot) threads.push({ name: `T${threads.length}`, proc: 'P0', cpu: raw.memslot.cpu % raw.cpus, ops: raw.memslot.slots.map((i): Op => ({ kind: 'kvm_delete_memslot', vm: 'V0', slot: i % memslots.length })) });
  }
  (raw.sva ?? []).forEach((d, i) => {
    // device D<i> bound to a process of the setup (not a forked child); DMA to its regions or, under mshare, a window's pages
    const p = d.proc % raw.procs.length;
    setup.push({ kind: 'sva_bind', dev: `D${i}`, proc: `P${p}` });
    const ops = d.ops.map((o): Op => {
      const va = mshare && o.win ? windows[o.region % windows.length]! + o.page : at(p, o.region, o.page).va;
      return { kind: o.write ? 'dma_write' : 'dma_read', dev: `D${i}`, va };
    });
    threads.push({ name: `T${threads.length}`, proc: `P${p}`, cpu: d.cpu % raw.cpus, ops });
  });
  const all = regions.flat();
  const specVa = (x: { region: number; page: number }) => {
    const r = all[x.region % all.length]!;
    return r.start + (x.page % r.pages);
  };
  const speculation = dedupeBy(raw.spec.map((sp) => ({ cpu: sp.cpu % raw.cpus, vas: sp.vas.map(specVa) })), (x) => x.cpu);
  const kswapd: KswapdSpec | undefined = kswapdReqs.length > 0 ? { name: 'kswapd0', cpu: raw.kswapd!.cpu % raw.cpus, reclaims: kswapdReqs } : undefined;
  const actors = scheduleActors(threads, raw.cpus, speculation, kswapd);
  const ids = untilIds(raw.untilKinds);
  return {
    config: { cpus: raw.cpus, pcids: raw.pcids, frames: 96, ...(raw.invlpgb ? { invlpgb: 1 } : {}), ...(raw.tce === false ? { tce: 0 } : {}) },
    setup,
    threads,
    speculation,
    schedule: [
      ...raw.schedule.map((e): ScheduleEntry => {
        const actor = actors[e.actor % actors.length]!;
        return e.until === undefined ? { actor, steps: e.steps } : { actor, until: ids[e.until % ids.length]! };
      }),
      ...(raw.free ?? []).map((a): ScheduleEntry => ({ actor: actors[a % actors.length]! })),
    ],
    choices: [
      ...raw.choices.map((c) => ({ actor: threads[c.actor % threads.length]!.name, point: CHOICE_POINTS[c.point]!, nth: c.nth })),
      ...(raw.migrateChoices ?? []).map((c) => ({ actor: threads[c.actor % threads.length]!.name, point: MIGRATE_CHOICE_POINTS[c.point % MIGRATE_CHOICE_POINTS.length]!, nth: c.nth })),
    ],
    ...(kswapd ? { kswapd } : {}),
  };
}

/** The actors a raw schedule entry's index picks from, in the order resolve() uses (index modulo length). */
export function scheduleActors(threads: readonly { name: string; ops: readonly { kind: string; dma?: boolean }[] }[], cpus: number, speculation: readonly { cpu: number }[], kswapd?: { name: string }): string[] {
  return [...threads.map((t) => t.name), ...(kswapd ? [kswapd.name] : []), ...Array.from({ length: cpus }, (_, c) => ipiActor(c)), RCU_ACTOR, ...speculation.map((sp) => specActor(sp.cpu)), ...Array.from({ length: cpus }, (_, c) => storeBufferActor(c)), ...(hasDio(threads) ? [DIO_ACTOR] : [])];
}

function dedupeBy<T>(xs: T[], key: (x: T) => unknown): T[] {
  const seen = new Set<unknown>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

export function scenarioArb(opts: GenOptions): fc.Arbitrary<Scenario> {
  return rawScenarioArb(opts).map((r) => resolve(r, opts.mshare));
}
