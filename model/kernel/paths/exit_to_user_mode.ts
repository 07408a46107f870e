// syscall_exit_to_user_mode() (kernel/entry/common.c,
// include/linux/entry-common.h), on the way out of every system call the
// model gives a window (munmap, madvise, mprotect, mmap, exit, the mshare
// calls):
//
//   1. the call's function has returned and set its result;
//   2. exit_to_user_mode_loop(): pending work runs in the task, still in
//      the kernel (TIF_NOTIFY_RESUME -> resume_user_mode_work() ->
//      task_work_run(), signals, need_resched());
//   3. return to user mode: the caller sees the result (the step
//      sys_<call>.return), and from there unmap-complete and
//      protect-complete require the call's range flushed.
//
// Mainline does nothing in step 2 that the model's properties can see, so
// the path is one step that takes no scheduling point: it changes no
// trace. It is the edit point after each system call's return (issue 14
// item 3): a variant inserts its own steps after
// 'exit_to_user_mode_loop' (a patch that defers a flush to task_work,
// say), reads which call returns from `c.syscall`, and may change
// `c.result`; everything it does is still checked at step 3.

import { step, type StepDef } from '../step.js';
import type { MmId } from '../types.js';

/** The returning call's context: its own locals (range, caller, result) plus which call it is. */
export interface ExitToUserModeCtx {
  /** The operation kind: 'munmap', 'madvise', 'mprotect', 'mmap', 'exit', 'attach', ... */
  syscall: string;
  /** The mm the call worked on (a host's for the mshare ioctls) and the calling process's. */
  mm: MmId;
  caller: MmId;
  start: number;
  end: number;
  opId: string;
  /** What the call returns to user mode ('ok' when unset). */
  result?: string;
  [local: string]: unknown;
}

export const syscallExitToUserMode: StepDef<ExitToUserModeCtx>[] = [
  // step 2: no pending work the model has
  step('exit_to_user_mode_loop', function* () {}),
];
