// Checks a scenario against its configuration before it runs, so bad
// input is a one-line error (exit 2), never a crash or a model error.

import { resolveConfig, span, vaPages } from '../kernel/config.js';
import { stepIndex, type Policy } from '../policies/policy.js';
import { didYouMean } from './nearest.js';
import { DIO_ACTOR, hasDio, ipiActor, RCU_ACTOR, specActor, storeBufferActor, type Scenario } from './scenario.js';
import { CHOICE_POINTS, FORK_STEP_IDS, KVM_STEP_IDS, MIGRATE_CHOICE_POINTS, MIGRATE_STEP_IDS, MREMAP_STEP_IDS, MADV_FREE_STEP_IDS, STEP_IDS, SVA_STEP_IDS, KVM_CREATE_STEP_IDS, KSWAPD_STEP_IDS, GMEM_STEP_IDS, MEMSLOT_STEP_IDS, SWAP_STEP_IDS, GUP_DMA_STEP_IDS } from './step_ids.js';

/**
 * Sizes beyond any race worth replaying, refused before anything is
 * allocated (a hostile file with 350k threads must not hang the tool).
 */
export const SCENARIO_LIMITS = {
  threads: 16,
  setupItems: 1024,
  opsPerThread: 1024,
  scheduleEntries: 100_000,
  speculativeWalks: 4096,
  choices: 1024,
} as const;

export interface ScenarioProblem {
  /** A token to find the offending line by (a thread, process or actor name). */
  near: string;
  problem: string;
}

/**
 * The semantic checks every scenario passes before it runs, whatever it
 * came from (scenario text, a JSON file, a generator). With `policy`, the
 * step ids of schedule `until=` entries are checked against the ids the
 * model yields and the steps the policy (and its variant) defines.
 */
export function validateScenario(sc: Scenario, policy?: Policy): ScenarioProblem | null {
  const limit = (n: number, max: number, what: string, near: string) => (n > max ? { near, problem: `${n} ${what}, above the limit of ${max}` } : null);
  const tooBig =
    limit(sc.threads.length, SCENARIO_LIMITS.threads, 'threads', 'thread') ??
    limit(sc.setup.length, SCENARIO_LIMITS.setupItems, 'setup items', 'process') ??
    limit(sc.schedule.length, SCENARIO_LIMITS.scheduleEntries, 'schedule entries', 'schedule') ??
    limit(sc.speculation.reduce((n, x) => n + x.vas.length, 0), SCENARIO_LIMITS.speculativeWalks, 'speculative walks', 'spec') ??
    limit(sc.choices.length, SCENARIO_LIMITS.choices, 'choices', 'choice');
  if (tooBig) return tooBig;
  for (const t of sc.threads) {
    const p = limit(t.ops.length, SCENARIO_LIMITS.opsPerThread, `operations in thread '${t.name}'`, t.name);
    if (p) return p;
  }
  if (sc.threads.length === 0) return { near: 'thread', problem: 'the scenario has no threads: nothing would run' };
  let config;
  try {
    config = resolveConfig(sc.config);
  } catch (e) {
    return { near: 'config', problem: (e as Error).message };
  }
  const pages = vaPages(config);
  const procs = new Set<string>();
  const files = new Map<string, number>();
  const huge = new Set<string>();
  const hp = span(config, 2);
  /** A hugetlbfs mapping: whole huge pages, at a huge-page-aligned address and file offset (hugetlbfs_file_mmap(), hugetlb_get_unmapped_area()). */
  const hugeMisaligned = (m: { file: string | null; pgoff: number; pages: number }, start: number) => m.file !== null && huge.has(m.file) && (start % hp !== 0 || m.pgoff % hp !== 0 || m.pages % hp !== 0);
  const mshares = new Set<string>();
  const vms = new Map<string, Extract<Scenario['setup'][number], { kind: 'vm' }>>();
  const devs = new Map<string, string>();
  /** guest_memfd files: size, and the VM whose memslots bind them (kvm_gmem_bind()). */
  const gmems = new Map<string, { pages: number; vm: string | null; bound: { start: number; end: number }[] }>();
  const inVa = (va: number, n = 1) => Number.isInteger(va) && va >= 0 && va + n <= pages;
  for (const it of sc.setup) {
    if (it.kind === 'process') procs.add(it.name);
    if (it.kind === 'file') files.set(it.name, it.pages);
    if (it.kind === 'file' && it.hugetlb) {
      if (it.pages % hp !== 0) return { near: it.name, problem: `hugetlbfs file '${it.name}' of ${it.pages} pages: not a multiple of the huge page (${hp} pages)` };
      huge.add(it.name);
    }
    if (it.kind === 'msharefs') {
      if (mshares.has(it.name) || files.has(it.name)) return { near: it.name, problem: `duplicate file '${it.name}'` };
      if (it.owner !== null && !procs.has(it.owner)) return { near: it.name, problem: `owner of '${it.name}' is undeclared process '${it.owner}'` };
      mshares.add(it.name);
    }
    if (it.kind === 'mshare_map') {
      if (!mshares.has(it.file)) return { near: it.file, problem: `mshare_map into undeclared msharefs file '${it.file}'` };
      if (it.offset + it.pages > span(config, 4)) return { near: it.file, problem: `mshare_map beyond the one-entry region of '${it.file}'` };
    }
    if (it.kind === 'gmem') {
      if (gmems.has(it.name) || files.has(it.name) || mshares.has(it.name)) return { near: it.name, problem: `duplicate file '${it.name}'` };
      gmems.set(it.name, { pages: it.pages, vm: null, bound: [] });
    }
    if (it.kind === 'vm') {
      if (vms.has(it.name)) return { near: it.name, problem: `duplicate vm '${it.name}'` };
      if (!procs.has(it.proc)) return { near: it.name, problem: `vm '${it.name}' in undeclared process '${it.proc}'` };
      if (it.memslots.length === 0) return { near: it.name, problem: `vm '${it.name}' has no memslot` };
      for (const [i, m] of it.memslots.entries()) {
        if (!inVa(m.hva, m.pages) || !Number.isInteger(m.gfn) || m.gfn < 0) return { near: it.name, problem: `memslot ${i} of vm '${it.name}' outside the ${pages}-page address space` };
        if (it.memslots.some((o, j) => j < i && o.gfn < m.gfn + m.pages && m.gfn < o.gfn + o.pages)) return { near: it.name, problem: `memslots of vm '${it.name}' overlap in gfn` };
        if (!m.gmem) continue;
        // kvm_gmem_bind() (virt/kvm/guest_memfd.c): a file of this VM (f->kvm != kvm: -EINVAL), the
        // binding inside i_size, and no two bindings of one page (xa_find() on f->bindings: -EINVAL)
        const g = gmems.get(m.gmem.file);
        if (!g) return { near: it.name, problem: `memslot ${i} of vm '${it.name}' is bound to undeclared guest_memfd '${m.gmem.file}'` };
        if (g.vm !== null && g.vm !== it.name) return { near: it.name, problem: `guest_memfd '${m.gmem.file}' is bound by vm '${g.vm}' and vm '${it.name}': kvm_gmem_bind() refuses another VM's file` };
        if (!Number.isInteger(m.gmem.pgoff) || m.gmem.pgoff < 0 || m.gmem.pgoff + m.pages > g.pages) return { near: it.name, problem: `memslot ${i} of vm '${it.name}' binds pages ${m.gmem.pgoff}..${m.gmem.pgoff + m.pages - 1} of guest_memfd '${m.gmem.file}', which has ${g.pages}` };
        if (g.bound.some((b) => b.start < m.gmem!.pgoff + m.pages && m.gmem!.pgoff < b.end)) return { near: it.name, problem: `two memslots bind the same pages of guest_memfd '${m.gmem.file}'` };
        g.vm = it.name;
        g.bound.push({ start: m.gmem.pgoff, end: m.gmem.pgoff + m.pages });
      }
      vms.set(it.name, it);
    }
    if (it.kind === 'sva_bind') {
      if (devs.has(it.dev)) return { near: it.dev, problem: `device '${it.dev}' bound twice (one PASID per device here)` };
      if (!procs.has(it.proc)) return { near: it.dev, problem: `device '${it.dev}' bound to undeclared process '${it.proc}'` };
      devs.set(it.dev, it.proc);
    }
    if (it.kind === 'mmap') {
      if (!procs.has(it.proc)) return { near: it.proc, problem: `mmap into undeclared process '${it.proc}'` };
      if (it.file !== null && gmems.has(it.file)) return { near: it.file, problem: `mmap of guest_memfd '${it.file}': not modelled (GUEST_MEMFD_FLAG_MMAP's kvm_gmem_fault_user_mapping(); docs/kvm.md)` };
      if (!inVa(it.start, it.pages)) return { near: it.proc, problem: `mapping outside the ${pages}-page address space of fanout ${config.fanout}` };
      if (it.file !== null && (!files.has(it.file) || it.pgoff + it.pages > files.get(it.file)!)) return { near: it.file, problem: `mapping beyond the end of file '${it.file}'` };
      if (hugeMisaligned(it, it.start)) return { near: it.file!, problem: `hugetlbfs mapping of '${it.file}' not aligned to the huge page (${hp} pages)` };
    }
  }
  // mshare 2026: a region an mshare_create op makes is a file of the scenario, created once
  for (const t of sc.threads) {
    for (const op of t.ops) {
      if (op.kind !== 'mshare_create') continue;
      if (mshares.has(op.file) || files.has(op.file)) return { near: t.name, problem: `mshare_create of '${op.file}', a file already declared or created` };
      mshares.add(op.file);
    }
  }
  // KVM_CREATE_VM at run time (paths/mmu_notifier_register.ts): once per VM, by a thread of its
  // process, before that thread's own guest operations of it
  const created = new Set<string>();
  for (const t of sc.threads) {
    for (const [i, op] of t.ops.entries()) {
      if (op.kind !== 'kvm_create_vm') continue;
      const vm = vms.get(op.vm);
      if (!vm) return { near: t.name, problem: `kvm_create_vm of undeclared vm '${op.vm}'` };
      if (vm.proc !== t.proc) return { near: t.name, problem: `thread '${t.name}' of process '${t.proc}' creates vm '${op.vm}', which belongs to process '${vm.proc}'` };
      if (created.has(op.vm)) return { near: t.name, problem: `vm '${op.vm}' created twice` };
      created.add(op.vm);
      if (t.ops.slice(0, i).some((x) => (x.kind === 'guest_read' || x.kind === 'guest_write') && x.vm === op.vm)) return { near: t.name, problem: `thread '${t.name}' runs a vCPU of vm '${op.vm}' before it creates it` };
    }
  }
  // KVM_SET_USER_MEMORY_REGION deleting a memslot (paths/kvm_set_memslot.ts): by a thread of the VM's process, of a memslot
  // the VM declares (a second delete of the same slot is -EINVAL at run time); the thread of a VM another thread
  // creates at run time starts once it exists (run/actors.ts laterVm), like its vCPU threads
  for (const t of sc.threads) {
    for (const op of t.ops) {
      if (op.kind !== 'kvm_delete_memslot') continue;
      const vm = vms.get(op.vm);
      if (!vm) return { near: t.name, problem: `kvm_delete_memslot of undeclared vm '${op.vm}'` };
      if (vm.proc !== t.proc) return { near: t.name, problem: `thread '${t.name}' of process '${t.proc}' deletes a memslot of vm '${op.vm}', which belongs to process '${vm.proc}'` };
      if (op.slot >= vm.memslots.length) return { near: t.name, problem: `kvm_delete_memslot of slot ${op.slot}: vm '${op.vm}' has ${vm.memslots.length} memslot(s)` };
    }
  }
  // the host mm of an msharefs file is task-less: no process may run in it (research/mshare.md 3.1)
  for (const m of mshares) if (procs.has(`${m}.host`)) return { near: `${m}.host`, problem: `process '${m}.host' would run in the host mm of msharefs file '${m}', which no task ever runs` };
  // fork (paths/fork.ts): each child once, by a thread of a setup process (no grandchildren: a child's
  // thread forking would need its parent's fork to have run first, which the scenario cannot order)
  const forked = new Set<string>();
  for (const t of sc.threads) {
    for (const op of t.ops) {
      if (op.kind !== 'fork') continue;
      if (!procs.has(t.proc)) return { near: t.name, problem: `fork by thread '${t.name}' of process '${t.proc}', which setup does not declare (a forked child does not fork again)` };
      if (procs.has(op.child) || forked.has(op.child) || mshares.has(op.child.replace(/\.host$/, ''))) return { near: t.name, problem: `fork of '${op.child}': a process of that name is already declared or forked` };
      forked.add(op.child);
    }
  }
  const threads = new Set<string>();
  for (const t of sc.threads) {
    if (threads.has(t.name)) return { near: t.name, problem: `duplicate thread '${t.name}'` };
    threads.add(t.name);
    if (!procs.has(t.proc) && !forked.has(t.proc)) return { near: t.name, problem: `thread '${t.name}' of undeclared process '${t.proc}'` };
    if (!(t.cpu >= 0 && t.cpu < config.cpus)) return { near: t.name, problem: `thread '${t.name}' on cpu ${t.cpu}, but config has ${config.cpus} CPUs` };
    const dma = t.ops.filter((o) => o.kind === 'dma_read' || o.kind === 'dma_write');
    if (dma.length > 0) {
      // the device's DMA: a thread of its own, of the bound process, only DMA of that one device
      if (dma.length !== t.ops.length) return { near: t.name, problem: `thread '${t.name}' mixes DMA with other operations: a device's DMA is a thread of its own` };
      const names = new Set(dma.map((o) => (o as { dev: string }).dev));
      if (names.size > 1) return { near: t.name, problem: `thread '${t.name}' is two devices` };
      const dev = [...names][0]!;
      if (!devs.has(dev)) return { near: t.name, problem: `DMA of undeclared device '${dev}'` };
      if (devs.get(dev) !== t.proc) return { near: t.name, problem: `thread '${t.name}' of process '${t.proc}' is device '${dev}', bound to process '${devs.get(dev)}'` };
      if (sc.threads.some((o) => o !== t && o.ops.some((x) => (x.kind === 'dma_read' || x.kind === 'dma_write') && x.dev === dev))) return { near: t.name, problem: `device '${dev}' is two threads` };
    }
    for (const op of t.ops) {
      if (op.kind === 'guest_read' || op.kind === 'guest_write') {
        const vm = vms.get(op.vm);
        if (!vm) return { near: t.name, problem: `${op.kind} in undeclared vm '${op.vm}'` };
        if (vm.proc !== t.proc) return { near: t.name, problem: `thread '${t.name}' of process '${t.proc}' runs a vCPU of vm '${op.vm}', which process '${vm.proc}' created` };
        if (!vm.memslots.some((m) => op.gfn >= m.gfn && op.gfn < m.gfn + m.pages)) return { near: t.name, problem: `${op.kind} of gfn ${op.gfn}, in no memslot of vm '${op.vm}' (MMIO is not modelled)` };
        const vcpus = sc.threads.filter((o) => o.cpu === t.cpu && o.ops.some((x) => (x.kind === 'guest_read' || x.kind === 'guest_write') && x.vm === op.vm));
        if (vcpus.length > 1) return { near: t.name, problem: `threads '${vcpus[0]!.name}' and '${vcpus[1]!.name}' both run vCPUs of vm '${op.vm}' on cpu ${t.cpu}: vCPUs are pinned one per CPU per VM` };
        const vmsOfThread = new Set(t.ops.flatMap((x) => (x.kind === 'guest_read' || x.kind === 'guest_write' ? [x.vm] : [])));
        if (vmsOfThread.size > 1) return { near: t.name, problem: `thread '${t.name}' runs vCPUs of two VMs` };
      }
      if ('va' in op && !inVa(op.va, 'pages' in op ? op.pages : 1)) return { near: t.name, problem: `${op.kind} outside the ${pages}-page address space` };
      if (op.kind === 'mremap' && !inVa(op.to, op.pages)) return { near: t.name, problem: `mremap to outside the ${pages}-page address space` };
      if (op.kind === 'mmap' && op.file !== null && gmems.has(op.file)) return { near: t.name, problem: `mmap of guest_memfd '${op.file}': not modelled (GUEST_MEMFD_FLAG_MMAP's kvm_gmem_fault_user_mapping(); docs/kvm.md)` };
      if (op.kind === 'mmap' && op.file !== null && (!files.has(op.file) || op.pgoff + op.pages > files.get(op.file)!)) return { near: t.name, problem: `mmap beyond the end of file '${op.file}'` };
      if (op.kind === 'gmem_punch_hole') {
        const g = gmems.get(op.file);
        if (!g) return { near: t.name, problem: `gmem_punch_hole of '${op.file}', which no gmem line declares` };
        if (op.offset + op.pages > g.pages) return { near: t.name, problem: `gmem_punch_hole beyond the end of guest_memfd '${op.file}' (${g.pages} pages)` };
        const owner = g.vm === null ? null : vms.get(g.vm)!.proc;
        if (owner !== null && owner !== t.proc) return { near: t.name, problem: `thread '${t.name}' of process '${t.proc}' punches a hole in guest_memfd '${op.file}', whose fd is vm '${g.vm}'s VMM's (process '${owner}')` };
      }
      // a hugetlb VMA exists from setup or not at all: the model refuses mprotect, a splitting munmap and an
      // unaligned DONTNEED of one at the call's entry (actors.ts hugetlbRefuses), which is sound only if no
      // such VMA can appear while the call runs
      if (op.kind === 'mmap' && op.file !== null && huge.has(op.file)) return { near: t.name, problem: `mmap of hugetlbfs file '${op.file}' by a thread: not modelled (map it in the setup)` };
      if ((op.kind === 'attach' || op.kind === 'mshare_map' || op.kind === 'mshare_unmap') && !mshares.has(op.file)) return { near: t.name, problem: `${op.kind} of undeclared msharefs file '${op.file}'` };
      if ((op.kind === 'ftruncate' || op.kind === 'mshare_attach' || op.kind === 'mshare_advise' || op.kind === 'mshare_protect' || op.kind === 'close') && !mshares.has(op.file)) return { near: t.name, problem: `${op.kind} of '${op.file}', which no msharefs line or mshare_create op makes` };
    }
  }
  const actors = new Set([...threads, RCU_ACTOR, ...Array.from({ length: config.cpus }, (_, c) => ipiActor(c)), ...Array.from({ length: config.cpus }, (_, c) => storeBufferActor(c)), ...(hasDio(sc.threads) ? [DIO_ACTOR] : [])]);
  for (const sp of sc.speculation) {
    if (!(sp.cpu >= 0 && sp.cpu < config.cpus)) return { near: 'spec', problem: `speculation on cpu ${sp.cpu}, but config has ${config.cpus} CPUs` };
    if (!sp.vas.every((v) => inVa(v))) return { near: 'spec', problem: 'speculative walk outside the address space' };
    actors.add(specActor(sp.cpu));
  }
  // kswapd (model/run/actors.ts kswapdActor): one, on a CPU of the config, not named like another actor,
  // asked to reclaim pages of processes the scenario has
  const kd = sc.kswapd;
  if (kd) {
    if (actors.has(kd.name)) return { near: kd.name, problem: `kswapd '${kd.name}' has the name of another actor` };
    if (!(kd.cpu >= 0 && kd.cpu < config.cpus)) return { near: kd.name, problem: `kswapd '${kd.name}' on cpu ${kd.cpu}, but config has ${config.cpus} CPUs` };
    if (kd.reclaims.length === 0) return { near: kd.name, problem: `kswapd '${kd.name}' has no reclaim request: it would never wake` };
    const p = limit(kd.reclaims.length, SCENARIO_LIMITS.opsPerThread, `reclaim requests of kswapd '${kd.name}'`, kd.name);
    if (p) return p;
    for (const r of kd.reclaims) {
      if (!procs.has(r.proc) && !forked.has(r.proc)) return { near: kd.name, problem: `kswapd '${kd.name}' reclaims a page of '${r.proc}', which is no process of the scenario (setup or fork)` };
      if (!inVa(r.va)) return { near: kd.name, problem: `kswapd '${kd.name}' reclaims a page outside the address space` };
    }
    actors.add(kd.name);
  }
  for (const e of sc.schedule) if (!actors.has(e.actor)) return { near: e.actor, problem: `schedule names unknown actor '${e.actor}'` };
  for (const c of sc.choices) {
    if (!threads.has(c.actor)) return { near: c.actor, problem: `choice for unknown thread '${c.actor}'` };
    const points = [...CHOICE_POINTS, ...MIGRATE_CHOICE_POINTS];
    if (!points.includes(c.point)) return { near: c.point, problem: `unknown choice point '${c.point}'${didYouMean(c.point, points)} (known: ${points.join(', ')})` };
  }
  return policy ? validateForPolicy(sc, policy) ?? validateStepIds(sc, policy) : null;
}

/**
 * Shapes the design's kernel cannot reach (issue 10, evidence Linux can
 * reach): an msharefs file under a design without msharefs, and, where
 * the creating process owns the region (v3 17/22 "sched/mshare: mshare
 * ownership"), a region that has no owner before anything ran: the owner
 * is set at creation and cleared only by its exit.
 */
export function validateForPolicy(sc: Scenario, policy: Policy): ScenarioProblem | null {
  // migration (paths/migrate.ts) under mshare: move_pages() through a window migrates through the
  // host's rmap (knob migrate); the NUMA hinting fault's migration stays mainline's (generator)
  if (policy.mshare) {
    // mremap (paths/mremap.ts) is modelled for mainline only: the posted mshare series says of it only
    // that an msharefs VMA refuses a split (msharefs_mmap()'s vm_ops->may_split -> -EINVAL, so a partial
    // mremap fails: https://lore.kernel.org/all/20250820010415.699353-8-anthony.yznaga@oracle.com/); what a
    // move of a whole window, or an mremap inside the region, does is not posted nor discussed in review
    const t = sc.threads.find((x) => x.ops.some((o) => o.kind === 'mremap'));
    if (t) return { near: t.name, problem: `mremap under ${policy.name}: not modelled for mshare designs (the posted series says only that a partial mremap of an msharefs VMA fails in may_split)` };
  }
  for (const it of sc.setup) {
    if (it.kind !== 'msharefs') continue;
    if (!policy.mshare) return { near: it.name, problem: `msharefs file '${it.name}' under ${policy.name}, which has no msharefs` };
    if (it.owner === null && policy.mshare.owner) return { near: it.name, problem: `msharefs file '${it.name}' has no owner, but under ${policy.name} the creating process owns the region from its creation (give owner=PROCESS)` };
  }
  return null;
}

const knownByPolicy = new WeakMap<Policy, Set<string>>();
/** The step ids `until=` may name under `policy`: a function of the policy, made once per policy. */
function knownSteps(policy: Policy): Set<string> {
  let k = knownByPolicy.get(policy);
  if (!k) knownByPolicy.set(policy, (k = new Set([...STEP_IDS, ...KVM_STEP_IDS, ...FORK_STEP_IDS, ...MIGRATE_STEP_IDS, ...MREMAP_STEP_IDS, ...MADV_FREE_STEP_IDS, ...SVA_STEP_IDS, ...KVM_CREATE_STEP_IDS, ...SWAP_STEP_IDS, ...KSWAPD_STEP_IDS, ...GMEM_STEP_IDS, ...MEMSLOT_STEP_IDS, ...GUP_DMA_STEP_IDS, ...stepIndex(policy).keys()])));
  return k;
}

/** The part of validation that needs the design: `until=` must name a step the model yields or the policy (and its variant) defines. */
export function validateStepIds(sc: Scenario, policy: Policy): ScenarioProblem | null {
  if (!sc.schedule.some((e) => e.until !== undefined)) return null;
  const known = knownSteps(policy);
  for (const e of sc.schedule) {
    if (e.until !== undefined && !known.has(e.until)) return { near: `until=${e.until}`, problem: `until=${e.until} names no step of ${policy.name}${didYouMean(e.until, known)}` };
  }
  return null;
}
