// do_exit() as far as memory goes (kernel/exit.c, kernel/fork.c, mm/mmap.c):
//
//   1. exit_mshare(): for the owner of an msharefs region (v3), unmap the
//      host's region first.
//   2. exit_mm(): current->mm = NULL, then enter_lazy_tlb(): the CPU keeps
//      the mm loaded, lazily, until a flush with freed tables or the next
//      switch takes it to init_mm. Siblings killed by exit_group() run
//      this too, each on its own CPU (model/run/actors.ts), so by step 3 no
//      CPU runs the mm non-lazily.
//   3. mmput() of the last mm_users reference -> exit_mmap():
//      mmu_notifier_release() first, so secondary MMUs drop everything
//      before the tables go; then the whole address space is unmapped with
//      a fullmm mmu_gather (tlb_gather_mmu_fullmm(): the flush covers the
//      whole mm), and free_pgtables() flushes with freed_tables, which
//      IPIs the lazy CPUs, including this one, off to init_mm.
//
// The mm itself (its PGD and ctx_id) is kept: __mmdrop() and pgd_free()
// wait for the lazy references, which the model does not count
// (docs/fidelity.md). A dead mm's PCID slots stay behind its tlb_gen, so
// their entries are not usable (tlb.ts) and the slots are reused with a
// flush.

import { step, type StepDef } from '../step.js';
import { storeIsLazy } from '../store_buffer.js';
import { ModelError, type MmId } from '../types.js';

export interface ExitCtx {
  mm: MmId;
  opId: string;
  start: number;
  end: number;
}

export const doExit: StepDef<ExitCtx>[] = [
  step('do_exit.exit_mshare', function* (k, c) {
    // the owner knob matters only to a process that created a region
    if (Object.values(k.s.mshare).some((f) => f.owner === c.mm) && k.knob('owner')) yield* k.run('exit_mshare', { mm: c.mm, opId: c.opId });
  }),
  step('do_exit.exit_mm', function* (k, c) {
    yield* k.run('exit_mm', { mm: c.mm });
  }),
  step('do_exit.mmput', function* (k, c) {
    yield* k.run('exit_mmap', c);
  }),
];

/** exit_mm(): drop current->mm and go lazy on this CPU (mmgrab_lazy_tlb(), enter_lazy_tlb()). */
export const exitMm: StepDef<{ mm: MmId }>[] = [
  step('exit_mm', function* (k, c) {
    const cpu = k.s.cpus[k.cpu]!;
    k.s.tasks[k.self]!.dead = true;
    if (cpu.curr === k.self && cpu.loadedMm === c.mm) storeIsLazy(cpu, true); // this_cpu_write(cpu_tlbstate_shared.is_lazy, true): into the store buffer
    cpu.curr = null; // the task runs on only to do_task_dead()
    yield { id: 'exit_mm.enter_lazy_tlb' };
  }),
];

/** exit_mmap(): the last user of the mm is gone. */
export const exitMmap: StepDef<ExitCtx>[] = [
  step('exit_mmap.mmu_notifier_release', function* (k, c) {
    // Linux reaches exit_mmap() only through the last mmput(): no thread of
    // the mm runs it any more. A schedule that gets here otherwise is the
    // model's bug (a variant's, or the runner's), not a finding.
    const running = k.s.cpus.find((cpu) => cpu.loadedMm === c.mm && !cpu.isLazy && cpu.curr !== null && k.s.tasks[cpu.curr]?.mm === c.mm);
    if (running) throw new ModelError(`exit_mmap(${c.mm}) while ${running.curr} still runs it on CPU${running.id}: Linux runs exit_mmap() only after every thread's exit_mm()`);
    yield* k.run('mmu_notifier_release', { mm: c.mm });
  }),
  step('exit_mmap.unmap', function* (k, c) {
    yield* k.run('munmap', { mm: c.mm, opId: c.opId, start: c.start, end: c.end, fullmm: true });
  }),
];
