import { describe, expect, it } from 'vitest';
import { linux } from '../../policies/linux.js';
import { applyVariant, defineVariant } from '../../policies/variant.js';
import { runScenario } from '../../run/runner.js';
import { PROPERTIES } from '../../../properties/registry.js';
import { anon, madvise, mprotect, proc, run, scenario, thread, until, write } from '../../../test/build.js';
import noNestedFlush from '../../../variants/no-nested-flush.js';
import { step } from '../step.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import type { ExitToUserModeCtx } from './exit_to_user_mode.js';

const X = 0x10000;
// The race of no-nested-flush (test/mutants.test.ts): T1's zap cleared the PTE, so T0's
// MADV_DONTNEED finds nothing to flush and returns while CPU0 still maps X.
const nested = () =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, madvise(X))],
    schedule: [until('T0', 'user_access.walk'), until('T1', 'zap_pte_range.clear'), run('T0'), run('T1')],
  });
const ids = (policy = linux, sc = nested()) => runScenario(sc, { policy, properties: PROPERTIES });

describe('syscall_exit_to_user_mode: the edit point after a system call returns', () => {
  it('takes no step under mainline', () => {
    const r = ids();
    expect(r.verdict).toBe('pass');
    expect(r.trace.some((e) => e.id.startsWith('exit_to_user_mode'))).toBe(false);
  });

  it('runs a variant step after every windowed call, before the return the caller sees, and says which call', () => {
    const seen: string[] = [];
    const v = applyVariant(
      linux,
      defineVariant({
        name: 'after-return',
        description: 'a step after each system call',
        edit: (b) =>
          b.insertAfter(
            'exit_to_user_mode_loop',
            step('after-return.probe', function* (_k, c: ExitToUserModeCtx) {
              seen.push(`${c.syscall} ${c.start}-${c.end} ${c.result ?? 'ok'}`);
              if (c.syscall === 'mprotect') yield { id: 'after-return.probe' };
            }),
          ),
      }),
    );
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X), madvise(X), mprotect(X, 1, 'r'))] });
    const r = runScenario(sc, { policy: v, properties: PROPERTIES });
    expect(seen).toEqual([`madvise ${X >> 12}-${(X >> 12) + 1} ok`, `mprotect ${X >> 12}-${(X >> 12) + 1} ok`]);
    const t = r.trace.map((e) => e.id);
    expect(t.indexOf('after-return:after-return.probe')).toBe(t.indexOf('sys_mprotect.return') - 1); // an inserted step is named under its variant
  });

  it('is checked at the return: a flush deferred to it repairs no-nested-flush, and unmap-complete fails without it', () => {
    const broken = applyVariant(linux, noNestedFlush);
    expect(ids(broken).violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_madvise.return' });
    const deferred = applyVariant(
      broken,
      defineVariant({
        name: 'flush-at-return',
        description: 'madvise flushes its range again in exit_to_user_mode_loop',
        edit: (b) =>
          b.insertAfter(
            'exit_to_user_mode_loop',
            step('flush-at-return.flush_tlb_mm_range', function* (k, c: ExitToUserModeCtx) {
              if (c.syscall !== 'madvise') return;
              const f: FlushCtx = { mm: c.mm, start: c.start, end: c.end, stride: 1, freedTables: false };
              yield* k.run('flush_tlb_mm_range', f);
            }),
          ),
      }),
    );
    expect(ids(deferred).verdict).toBe('pass');
  });
});
