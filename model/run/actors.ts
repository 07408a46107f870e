// The actors of a run: user threads, and the hardware and softirq actors
// that take steps of their own (SPEC 4.2): the IPI handler of each CPU,
// speculative page walks, the end of an RCU grace period, and the store
// buffer of each CPU committing its oldest store.

import { speculativeFill } from '../kernel/paths/access.js';
import { readyCallback } from '../kernel/paths/rcu.js';
import { drainOldest } from '../kernel/store_buffer.js';
import { aliasesOf, mappedAtInvoke } from '../kernel/ghost.js';
import { span, vaPages } from '../kernel/config.js';
import { isVmHugetlbPage } from '../kernel/paths/hugetlb.js';
import { vmRegistered } from '../kernel/paths/mmu_notifier_register.js';
import type { Gen, K, OpRecord } from '../kernel/step.js';
import type { GuestAccess, KvmRunCtx } from '../kernel/paths/kvm_vcpu_run.js';
import { mmId, type MmId } from '../kernel/types.js';
import type { KswapdSpec, Op, ThreadSpec } from './scenario.js';

/** A user thread: for each operation take the CPU, switch to our mm if needed, run the operation. */
export function* threadActor(k: K, spec: ThreadSpec, createdAtRun: ReadonlySet<string> = new Set()): Gen {
  try {
    yield* threadBody(k, spec, createdAtRun);
  } finally {
    delete k.s.tasks[k.self]!.forks; // a fork this thread did not reach will never happen
    delete k.s.tasks[k.self]!.creates; // nor a VM it did not create
  }
}

function* threadBody(k: K, spec: ThreadSpec, createdAtRun: ReadonlySet<string>): Gen {
  const s = k.s;
  const cpu = s.cpus[spec.cpu]!;
  const mm = mmId(spec.proc);
  const task = s.tasks[k.self]!;
  const forker = () => Object.values(s.tasks).some((t) => t.forks?.includes(spec.proc));
  if (!s.mms[mm] || forker()) {
    // a forked child's thread: it runs from wake_up_new_task(), at the end of the parent's fork (paths/fork.ts)
    yield { id: 'wake_up_new_task.wait', wait: () => !forker() };
    if (!s.mms[mm]) {
      task.dead = true; // the parent died or exited before its fork: this thread never existed
      yield { id: 'copy_process.never_forked', final: true };
      return;
    }
    yield { id: 'ret_from_fork' };
  }
  const vm = laterVm(spec, createdAtRun);
  if (vm !== null) {
    // a vCPU thread of a VM another thread creates at run time: the VMM starts it once KVM_CREATE_VM has returned
    const creating = () => Object.values(s.tasks).some((t) => t.creates?.includes(vm));
    // (a group exit wakes it too: the VMM dies before it started this thread)
    if (creating()) yield { id: 'kvm_create_vm.wait', wait: () => !creating() || s.mms[mm]!.exiting };
    if (!vmRegistered(s, mm, vm) || s.mms[mm]!.exiting) {
      task.dead = true; // the creator died first: no VM fd, this vCPU thread never existed
      yield { id: 'kvm_create_vcpu.never_created', final: true };
      return;
    }
  }
  for (let i = 0; i < spec.ops.length; i++) {
    const op = spec.ops[i]!;
    if (s.mms[mm]!.exiting) return yield* killed(k, mm); // SIGKILL from a sibling's exit_group(), taken in user mode
    const free = () => cpu.owner === null || cpu.owner === k.self;
    // a kill wakes a thread waiting for its CPU too (the exiting sibling may hold that CPU)
    if (!free()) yield { id: 'schedule', wait: () => free() || s.mms[mm]!.exiting, waitFor: { kind: 'cpu', cpu: spec.cpu } };
    if (s.mms[mm]!.exiting) return yield* killed(k, mm);
    if (op.kind === 'idle') {
      yield* k.run('enter_lazy_tlb', {}); // schedule() to the idle task; the CPU stays free
      continue;
    }
    cpu.owner = k.self;
    if (cpu.curr !== k.self || cpu.isLazy || cpu.loadedMm !== mm) yield* k.run('context_switch', { next: mm });
    if (op.kind === 'exit') {
      task.exitPending = false;
      if (!(yield* groupExit(k, mm))) {
        // a sibling's group exit is already under way: this thread just dies
        yield* k.run('exit_mm', { mm });
        cpu.owner = null;
        yield { id: 'do_exit', final: true };
        return;
      }
    }
    if (op.kind === 'guest_read' || op.kind === 'guest_write') {
      // the consecutive guest operations from here are one KVM_RUN (paths/kvm_vcpu_run.ts): the vCPU
      // stays in the guest from one access to the next, and the thread holds its CPU until the VM-exit
      const run = kvmRunOf(spec, i, mm);
      yield* untilReturnToUser(k, k.run('kvm_vcpu_run', run));
      if (s.mms[mm]!.exiting) return yield* killed(k, mm); // -EINTR: SIGKILL, taken on the way to user mode
      i += (run.done ?? run.accesses.length) - 1; // after -EFAULT the VMM calls KVM_RUN again for the rest
      continue;
    }
    yield* untilReturnToUser(k, runOp(k, mm, op, `${spec.name}.${i}`));
    if (op.kind === 'exit') return; // do_exit() does not come back
  }
  // In user mode after its last operation, the thread lives on until its
  // process exits; it only matters while a sibling may still call exit.
  // polled while the thread waits (Execution.runnable): a loop, no entry arrays
  const siblingMayExit = () => {
    for (const n in s.tasks) {
      const t = s.tasks[n]!;
      if (n !== k.self && t.mm === mm && t.exitPending && !t.dead) return true;
    }
    return false;
  };
  if (!s.mms[mm]!.exiting && siblingMayExit()) yield { id: 'user_mode', wait: () => s.mms[mm]!.exiting || !siblingMayExit() };
  if (s.mms[mm]!.exiting) yield* killed(k, mm);
}

/**
 * The VM whose vCPUs this thread runs, or whose memslot it deletes, when another thread's kvm_create_vm
 * creates it at run time (validate.ts: one VM per thread), else null: the thread needs the VM fd first.
 */
function laterVm(spec: ThreadSpec, laterVms: ReadonlySet<string>): string | null {
  if (spec.ops.some((o) => o.kind === 'kvm_create_vm')) return null; // it creates its own before its guest operations
  const g = spec.ops.find((o) => o.kind === 'guest_read' || o.kind === 'guest_write' || o.kind === 'kvm_delete_memslot');
  return g && (g.kind === 'guest_read' || g.kind === 'guest_write' || g.kind === 'kvm_delete_memslot') && laterVms.has(g.vm) ? g.vm : null;
}

/** The KVM_RUN that starts at operation `i`: it and the guest operations right after it (one VM per thread: validate.ts). */
function kvmRunOf(spec: ThreadSpec, i: number, mm: MmId): KvmRunCtx {
  const accesses: GuestAccess[] = [];
  let vm = '';
  for (let j = i; j < spec.ops.length; j++) {
    const op = spec.ops[j]!;
    if (op.kind !== 'guest_read' && op.kind !== 'guest_write') break;
    vm = op.vm;
    accesses.push({ gfn: op.gfn, write: op.kind === 'guest_write', opId: `${spec.name}.${j}` });
  }
  return { vm, mm, accesses };
}

/**
 * A thread killed in user mode by a sibling's exit_group(): the signal
 * runs do_exit() -> exit_mm() on its CPU if that CPU is running it;
 * a thread switched out just dies (it holds no CPU state).
 */
function* killed(k: K, mm: MmId): Gen {
  const cpu = k.s.cpus[k.cpu]!;
  k.s.tasks[k.self]!.exitPending = false;
  if (cpu.curr !== k.self) {
    k.s.tasks[k.self]!.dead = true;
    yield { id: 'do_exit.switched_out' };
    return;
  }
  const free = () => cpu.owner === null || cpu.owner === k.self;
  if (!free()) yield { id: 'schedule', wait: free, waitFor: { kind: 'cpu', cpu: cpu.id } };
  cpu.owner = k.self;
  yield* k.run('exit_mm', { mm });
  cpu.owner = null;
  yield { id: 'do_exit', final: true };
}

/**
 * do_group_exit(): zap_other_threads() kills the siblings; the address
 * space goes (mmput() -> exit_mmap()) only with the last mm_users
 * reference, so the caller here waits until every sibling went through
 * exit_mm() (the interleavings where the caller's mmput() is the last;
 * a sibling running exit_mmap() instead differs only in which CPU runs
 * it, and that CPU is lazy on the mm either way). A second exit while one
 * is under way just ends its thread (false).
 */
function* groupExit(k: K, mm: MmId): Gen<boolean> {
  const s = k.s;
  if (s.mms[mm]!.exiting) return false;
  s.mms[mm]!.exiting = true;
  yield { id: 'do_group_exit' };
  const alive = () => {
    for (const n in s.tasks) {
      const t = s.tasks[n]!;
      if (n !== k.self && t.mm === mm && !t.dead) return true;
    }
    return false;
  };
  // not a resource wait: no waitFor, so it is never an edge of the deadlock graph
  if (alive()) yield { id: 'do_group_exit.wait', wait: () => !alive() };
  return true;
}

/**
 * Run one operation and give the CPU back in its last step: the access
 * itself for a load or store, the return for a system call, otherwise an
 * explicit exit_to_user_mode step. From then on the thread is in user
 * mode and another thread may be switched in on its CPU.
 */
function* untilReturnToUser(k: K, g: Gen): Gen {
  const cpu = k.s.cpus[k.cpu]!;
  for (;;) {
    const r = g.next();
    if (r.done) break;
    const y = r.value;
    if (!y.wait && y.final) {
      cpu.owner = null;
      yield y;
      return;
    }
    yield y;
  }
  cpu.owner = null;
  yield { id: 'exit_to_user_mode' };
}

function* runOp(k: K, mm: MmId, op: Op, opId: string): Gen {
  switch (op.kind) {
    case 'read':
    case 'write':
      return yield* k.run('user_access', { mm, opId, vpn: op.va, write: op.kind === 'write' });
    case 'guest_read':
    case 'guest_write':
      throw new Error('a guest operation runs in its KVM_RUN (threadBody, kvmRunOf)');
    case 'gup':
      return yield* k.run('gup_fast', { mm, vpn: op.va, ...(op.dma ? { dma: opId } : {}) });
    case 'get_user_pages':
      return yield* k.run('get_user_pages', { mm, vpn: op.va, ...(op.dma ? { dma: opId } : {}) });
    case 'numa_scan':
      return yield* k.run('task_numa_work', { mm });
    case 'reclaim':
      return yield* k.run('shrink_folio_list', { mm, vpn: op.va }); // direct reclaim from an allocation in this task (paths/reclaim.ts); kswapd: kswapdActor
    case 'migrate':
      return yield* k.run('migrate_pages', { mm, vpn: op.va }); // move_pages(2) of one page (paths/migrate.ts)
    case 'kvm_create_vm':
      return yield* k.run('kvm_create_vm', { mm, vm: op.vm }); // no window for the ideal memory: no mapping changes
    case 'kvm_delete_memslot':
      return yield* k.run('kvm_set_memory_region', { vm: op.vm, slot: op.slot }); // no mapping of any mm changes
    case 'gmem_punch_hole': {
      // the file's pages change, no mapping of any mm: a window of its own for the ideal memory (ideal.ts)
      const rec: OpRecord = { id: opId, kind: 'gmem_punch_hole', mm, start: op.offset, pages: op.pages, prot: null, file: op.file, pgoff: 0 };
      yield { id: 'sys_fallocate', obs: { kind: 'invoke', op: rec } };
      yield* k.run('kvm_gmem_punch_hole', { file: op.file, offset: op.offset, pages: op.pages, opId });
      yield { id: 'sys_fallocate.return', final: true, obs: { kind: 'return', opId, result: 'ok' } };
      return;
    }
    case 'fork':
      return yield* syscall(k, mm, op, opId);
    case 'flush_tlb_all':
      return yield* k.run('flush_tlb_all', {});
    case 'idle':
      return;
    case 'dma_read':
    case 'dma_write':
      throw new Error('DMA is a device thread\'s (deviceActor)');
    case 'mshare_create':
    case 'ftruncate':
    case 'close':
      if (einval2026(k, mm, op)) {
        yield { id: `sys_${op.kind}.einval`, final: true };
        return;
      }
      // no window for the ideal memory: creating and sizing change no mapping, nor does a non-owner's close
      if (op.kind === 'mshare_create') return yield* k.run('mshare_create', { caller: mm, file: op.file });
      if (op.kind === 'ftruncate') return yield* k.run('mshare_ftruncate', { file: op.file, pages: op.pages });
      if (k.s.mshare[op.file]!.owner !== mm) return yield* k.run('mshare_close_fd', { caller: mm, file: op.file });
      return yield* syscall(k, mm, op, opId);
    default: {
      const rejected = einval(k, mm, op);
      if (rejected) {
        yield { id: `sys_${op.kind}.einval`, final: true }; // argument checks: no effect, no window
        return;
      }
      return yield* syscall(k, mm, op, opId);
    }
  }
}

type Syscall = Extract<Op, { kind: 'mmap' | 'munmap' | 'madvise' | 'madv_free' | 'mprotect' | 'attach' | 'mshare_map' | 'mshare_unmap' | 'exit' | 'mshare_attach' | 'mshare_advise' | 'mshare_protect' | 'close' | 'fork' | 'mremap' }>;
type Mshare2026Op = Extract<Op, { kind: 'mshare_create' | 'ftruncate' | 'close' | 'mshare_attach' | 'mshare_map' | 'mshare_advise' | 'mshare_protect' }>;

/**
 * mshare 2026 (paths/mshare_2026.ts): the checks a call makes before it
 * changes anything. EBADF before mshare_create() or after this process's
 * close(); no new mapping once the owner is gone; EINVAL before
 * ftruncate() or on a second one. The model's region is one top-level
 * entry, as v3's: ftruncate() to another size, and an attach of a part of
 * the region (offset != 0 or size != the region's), are refused.
 */
function einval2026(k: K, mm: MmId, op: Mshare2026Op): boolean {
  if (k.knob('api') !== 'syscalls') return true;
  const f = k.s.mshare[op.file];
  if (op.kind === 'mshare_create') return f !== undefined;
  if (!f || f.closedBy?.includes(mm)) return true;
  if (op.kind === 'close') return false;
  if (op.kind === 'ftruncate') return f.size !== null || op.pages !== f.pages;
  if (f.owner === null || f.size === null) return true;
  if (op.offset + op.pages > f.pages) return true;
  if (op.kind === 'mshare_attach') return op.offset !== 0 || op.pages !== f.pages || op.va % f.pages !== 0 || op.va + f.pages > vaPages(k.s.config);
  return false;
}

/**
 * Checks a call makes on its arguments before it changes anything (and
 * that the ideal memory need not know): msharefs alignment and the
 * design's rules on what a sharer VMA allows.
 */
function einval(k: K, mm: MmId, op: Syscall): boolean {
  const s = k.s;
  const knobs = k.policy.mshare; // presence only: each knob's value is read through k.knob()
  switch (op.kind) {
    case 'mshare_attach':
    case 'mshare_advise':
    case 'mshare_protect':
    case 'close':
      return einval2026(k, mm, op);
    case 'attach': {
      const f = s.mshare[op.file];
      if (!knobs || !f || k.knob('api') === 'syscalls') return true;
      if (op.va % f.pages !== 0 || op.va + f.pages > vaPages(s.config)) return true; // msharefs_get_unmapped_area()
      if (k.knob('attach') === 'same-address' && op.va !== f.start) return true; // RFC v3: absolute addresses
      return f.owner === null && k.knob('owner') === true; // v3: no owner, no new mappings
    }
    case 'mshare_map':
    case 'mshare_unmap': {
      if (op.kind === 'mshare_map' && k.knob('api') === 'syscalls') return einval2026(k, mm, op);
      const f = s.mshare[op.file];
      if (!knobs || !f || op.offset + op.pages > f.pages) return true;
      return op.kind === 'mshare_unmap' && !k.knob('unmapIoctl');
    }
    case 'madvise':
      return hugetlbRefuses(k, mm, op); // a design that refuses madvise on a window does so under the lock (madvise.ts)
    case 'munmap':
    case 'mprotect':
      return hugetlbRefuses(k, mm, op);
    case 'mremap':
      return mremapRefuses(k, mm, op);
    default:
      return false;
  }
}

/**
 * hugetlb VMAs in [va, va + pages) (paths/hugetlb.ts): MADV_DONTNEED needs
 * a huge-page-aligned start (madvise_dontneed_free_valid_vma(): -EINVAL);
 * the kernel rounds the end down, the model refuses it unaligned. munmap
 * that would split a hugetlb VMA is refused: at an unaligned address the
 * kernel refuses too (hugetlb_vm_op_split()), at an aligned one it unshares
 * in hugetlb_split(), which is not modelled. mprotect of a hugetlb range
 * (hugetlb_change_protection()) is not modelled and refused.
 */
function hugetlbRefuses(k: K, mm: MmId, op: { kind: string; va: number; pages: number }): boolean {
  const s = k.s;
  const hp = span(s.config, 2);
  const end = op.va + op.pages;
  for (const v of s.mms[mm]!.vmas) {
    if (!(v.start < end && op.va < v.end) || !isVmHugetlbPage(s, v)) continue;
    if (op.kind === 'mprotect') return true;
    if (op.kind === 'munmap' && (op.va > v.start || end < v.end)) return true;
    if (op.kind === 'madvise' && (Math.max(op.va, v.start) % hp !== 0 || Math.min(end, v.end) % hp !== 0)) return true;
  }
  return false;
}

/**
 * mremap of a hugetlb VMA (move_hugetlb_page_tables(), align_hugetlb()), or
 * onto one, is not modelled: refused at the call's entry, which is sound
 * because hugetlb VMAs exist from the setup only and mremap never moves one
 * (validate.ts). msharefs VMAs do not exist under linux, and every mshare
 * policy refuses mremap at validation.
 */
function mremapRefuses(k: K, mm: MmId, op: Extract<Op, { kind: 'mremap' }>): boolean {
  const s = k.s;
  const touches = (a: number, b: number) => s.mms[mm]!.vmas.some((v) => v.start < b && a < v.end && (isVmHugetlbPage(s, v) || v.kind === 'mshare'));
  return touches(op.va, op.va + op.pages) || touches(op.to, op.to + op.pages);
}

const PATH = { mmap: 'mmap', munmap: 'munmap', madvise: 'madvise_dontneed', madv_free: 'madvise_free', mprotect: 'mprotect', attach: 'msharefs_mmap', mshare_map: 'msharefs_create_mapping', mshare_unmap: 'msharefs_unmap', exit: 'do_exit', mshare_attach: 'mshare_attach', mshare_advise: 'mshare_advise', mshare_protect: 'mshare_protect', close: 'mshare_owner_close', fork: 'dup_mmap', mremap: 'mremap' } as const;
const pathOf = (k: K, op: Syscall): string => (op.kind === 'mshare_map' && k.knob('api') === 'syscalls' ? 'mshare_map' : PATH[op.kind]);

/** The range a call works on, in its own mm (a host's for the mshare ioctls). */
function target(k: K, mm: MmId, op: Syscall): { mm: MmId; start: number; end: number } {
  switch (op.kind) {
    case 'attach':
      return { mm, start: op.va, end: op.va + k.s.mshare[op.file]!.pages };
    case 'mshare_attach':
      return { mm, start: op.va, end: op.va + op.pages };
    case 'mshare_map':
    case 'mshare_unmap':
    case 'mshare_advise':
    case 'mshare_protect': {
      const f = k.s.mshare[op.file]!;
      return { mm: f.host, start: f.start + op.offset, end: f.start + op.offset + op.pages };
    }
    case 'close': {
      const f = k.s.mshare[op.file]!;
      return { mm: f.host, start: f.start, end: f.start + f.pages };
    }
    case 'exit':
    case 'fork':
      return { mm, start: 0, end: vaPages(k.s.config) };
    default:
      return { mm, start: op.va, end: op.va + op.pages };
  }
}

/**
 * What the ideal memory sees of an mshare 2026 call: the existing
 * user-visible contract it already knows. mshare_attach is an attach of
 * the whole region; mshare_advise and mshare_protect are madvise and
 * mprotect on the host's range (shmem keeps its data under MADV_DONTNEED);
 * the owner's close removes every mapping of the region, as an unmap of
 * all of it.
 */
function record2026(k: K, mm: MmId, op: Extract<Op, { kind: 'mshare_attach' | 'mshare_advise' | 'mshare_protect' | 'close' }>, opId: string, t: { mm: MmId; start: number; end: number }): OpRecord {
  switch (op.kind) {
    case 'mshare_attach':
      return { id: opId, kind: 'attach', mm, start: op.va, pages: op.pages, prot: null, file: op.file, pgoff: 0 };
    case 'mshare_advise':
      return { id: opId, kind: 'madvise', mm: t.mm, start: t.start, pages: op.pages, prot: null, file: null, pgoff: 0 };
    case 'mshare_protect':
      return { id: opId, kind: 'mprotect', mm: t.mm, start: t.start, pages: op.pages, prot: op.prot, file: null, pgoff: 0 };
    case 'close':
      return { id: opId, kind: 'mshare_unmap', mm, start: 0, pages: k.s.mshare[op.file]!.pages, prot: null, file: op.file, pgoff: 0 };
  }
}

/** A system call's window: invoke at entry, return at exit, as the ideal memory sees it. */
function* syscall(k: K, mm: MmId, op: Syscall, opId: string): Gen {
  const t = target(k, mm, op);
  const rec: OpRecord = op.kind === 'mshare_attach' || op.kind === 'mshare_advise' || op.kind === 'mshare_protect' || op.kind === 'close' ? record2026(k, mm, op, opId, t) : {
    id: opId,
    kind: op.kind,
    mm,
    start: op.kind === 'mshare_map' || op.kind === 'mshare_unmap' ? op.offset : op.kind === 'exit' || op.kind === 'fork' ? 0 : op.va,
    pages: op.kind === 'attach' ? k.s.mshare[op.file]!.pages : op.kind === 'exit' || op.kind === 'fork' ? vaPages(k.s.config) : op.pages,
    prot: op.kind === 'mmap' || op.kind === 'mprotect' || op.kind === 'mshare_map' ? op.prot : null,
    file: op.kind === 'mmap' ? op.file : op.kind === 'attach' || op.kind === 'mshare_map' || op.kind === 'mshare_unmap' ? op.file : null,
    pgoff: op.kind === 'mmap' ? op.pgoff : 0,
    ...(op.kind === 'fork' ? { child: op.child } : {}),
    ...(op.kind === 'mremap' ? { to: op.to } : {}),
  };
  k.s.ghost.ops[opId] = { kind: rec.kind, mm: t.mm, start: t.start, end: t.end, prot: rec.prot, aliases: aliasesOf(k.s, t.mm, t.start, t.end), mappedAtInvoke: mappedAtInvoke(k.s, t.mm, t.start, t.end), zapped: [], open: true };
  yield { id: `sys_${op.kind}`, obs: { kind: 'invoke', op: rec } };
  const offset = op.kind === 'mshare_map' || op.kind === 'mshare_unmap' || op.kind === 'mshare_advise' || op.kind === 'mshare_protect' ? op.offset : 0;
  const c: Record<string, unknown> = { ...t, caller: mm, opId, prot: rec.prot, file: 'file' in op ? op.file : rec.file, pgoff: rec.pgoff, offset, pages: 'pages' in op ? op.pages : rec.pages, ...(op.kind === 'fork' ? { child: op.child } : {}), ...(op.kind === 'mremap' ? { to: op.to } : {}) };
  yield* k.run(pathOf(k, op), c);
  c.syscall = op.kind;
  yield* k.run('syscall_exit_to_user_mode', c); // the edit point after the call's return (paths/exit_to_user_mode.ts)
  k.s.ghost.ops[opId]!.open = false;
  yield { id: `sys_${op.kind}.return`, final: true, obs: { kind: 'return', opId, result: (c.result as string | undefined) ?? 'ok' } };
}

/**
 * kswapd (mm/vmscan.c kswapd()), the node's reclaim kernel thread: no mm
 * of its own. For each request, woken by wakeup_kswapd(), it waits for its
 * CPU (a user thread inside an operation there keeps it, as between
 * threads), is switched in by context_switch() to a kernel thread (the CPU
 * goes lazy in the mm it had loaded: paths/context_switch.ts step 2),
 * runs balance_pgdat() -> kswapd_shrink_node() -> shrink_node() -> ... ->
 * shrink_folio_list() on the named folio with its own current->tlb_ubc
 * (paths/reclaim.ts, tlbbatch.ts), then kswapd_try_to_sleep() gives the
 * CPU back. It stays the CPU's current task until a user thread is
 * switched in, whose switch_mm_irqs_off() leaves lazy mode (a
 * kernel -> idle switch keeps the CPU lazy: not modelled as a step).
 */
export function* kswapdActor(k: K, spec: KswapdSpec): Gen {
  const cpu = k.s.cpus[spec.cpu]!;
  const free = () => cpu.owner === null || cpu.owner === k.self;
  for (const r of spec.reclaims) {
    if (!free()) yield { id: 'schedule', wait: free, waitFor: { kind: 'cpu', cpu: spec.cpu } };
    cpu.owner = k.self;
    if (cpu.curr !== k.self) yield* k.run('context_switch', { next: null });
    yield* k.run('shrink_folio_list', { mm: mmId(r.proc), vpn: r.va });
    cpu.owner = null;
    yield { id: 'kswapd_try_to_sleep' };
  }
}

/**
 * An SVA device (paths/sva.ts): its DMA in order, each one operation, on
 * no CPU; an I/O page fault's handler runs on the thread's `cpu`.
 */
export function* deviceActor(k: K, spec: ThreadSpec): Gen {
  for (let i = 0; i < spec.ops.length; i++) {
    const op = spec.ops[i]!;
    if (op.kind !== 'dma_read' && op.kind !== 'dma_write') throw new Error('a device thread makes DMA only (validate.ts)');
    const opId = `${spec.name}.${i}`;
    yield* k.run('iommu_dma_access', { dev: op.dev, opId, vpn: op.va, write: op.kind === 'dma_write' });
  }
}

/** The flush IPI handler of one CPU: runs when an IPI is pending and interrupts are on. */
export function* ipiActor(k: K): Gen {
  const cpu = k.s.cpus[k.cpu]!;
  const ready = () => cpu.ipis.length > 0 && !cpu.irqsOff;
  for (;;) {
    if (!ready()) yield { id: 'idle', wait: ready };
    const ipi = cpu.ipis[0]!;
    cpu.inIrq = ipi.seq; // the interrupted task, and any task of this CPU, cannot run until the handler returns
    const was = { off: cpu.irqsOff, seq: cpu.irqOffSeq };
    cpu.irqsOff = true;
    cpu.irqOffSeq = k.s.rcu.seq;
    yield* k.run(ipi.func, { info: ipi.info });
    cpu.ipis = cpu.ipis.filter((x) => x !== ipi);
    cpu.inIrq = null;
    cpu.irqsOff = was.off; // iret restores the interrupted context's flags
    cpu.irqOffSeq = was.seq;
    yield { id: 'csd_unlock' }; // the sender's csd_lock_wait() may return
  }
}

/** rcu_do_batch() whenever a grace period can end. */
export function* rcuActor(k: K): Gen {
  const ready = () => readyCallback(k.s) !== undefined;
  for (;;) {
    if (!ready()) yield { id: 'idle', wait: ready };
    yield* k.run('rcu_do_batch', {});
  }
}

/** The block device of O_DIRECT reads: completes the oldest submitted read, its DMA into the pinned page (paths/gup_fast.ts). */
export function* dioActor(k: K): Gen {
  const ready = () => (k.s.dio?.queue.length ?? 0) > 0;
  for (;;) {
    if (!ready()) yield { id: 'idle', wait: ready };
    yield* k.run('blkdev_bio_end_io_simple', {});
  }
}

/** Speculative walks by the hardware of one CPU from its loaded CR3. */
export function* specActor(k: K, vas: number[]): Gen {
  for (const v of vas) {
    speculativeFill(k, v);
    yield { id: 'hw.speculative_walk' };
  }
}

/** The store buffer of one CPU: whenever it holds a store, the hardware may commit the oldest (FIFO, x86-TSO). */
export function* storeBufferActor(k: K): Gen {
  const cpu = k.s.cpus[k.cpu]!;
  const ready = () => cpu.storeBuffer.length > 0;
  for (;;) {
    if (!ready()) yield { id: 'idle', wait: ready };
    drainOldest(cpu);
    yield { id: 'hw.store_buffer_drain' };
  }
}
