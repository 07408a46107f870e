// read-value fires on every kind of disagreement with the ideal memory (a
// read's value, a write that should have faulted, a fault where the
// reference allows the access, a call's result), at the step that observes
// it, and holds on linux for the same scenario.

import { describe, expect, it } from 'vitest';
import type { IdealVerdict } from '../model/ideal/ideal.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import type { MadviseCtx } from '../model/kernel/paths/madvise.js';
import { mmId } from '../model/kernel/types.js';
import { findVma } from '../model/kernel/vma.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, mprotect, proc, run, scenario, thread, until, write } from '../test/build.js';
import { reusedFrameRead, X, zapWhileCached } from '../test/mutant_cases.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import noIpi from '../variants/no-ipi.js';
import type { CheckContext, StepEvent } from './property.js';
import { readValue } from './read_value.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [readValue] });

describe('read-value: accesses', () => {
  it("fires when a stale entry reads another page's value (page freed before the flush, then reused)", () => {
    expect(check(reusedFrameRead(), linux).verdict).toBe('pass');
    expect(check(reusedFrameRead(), applyVariant(linux, freeBeforeFlush)).violation).toEqual({
      property: 'read-value', holder: 'ideal', step: 58, actor: 'T1', stepId: 'user_access.tlb_hit',
      message: 'read of 0x10000 in P0 gave value 2; the reference allows value 0 | value 1',
    });
  });

  it('fires when a write succeeds through a writable entry mprotect(PROT_READ) left behind', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 1, 'r')), thread('T1', 'P0', 1, write(X), write(X))],
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T0'), run('T1')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, applyVariant(linux, noIpi)).violation).toEqual({
      property: 'read-value', holder: 'ideal', step: 53, actor: 'T1', stepId: 'user_access.tlb_hit',
      message: 'write of 0x10000 in P0 gave write of 3; the reference allows SIGSEGV',
    });
  });

  it('fires when the fault handler refuses an access the VMA allows', () => {
    const refuses = defineVariant({
      name: 'access-error-always',
      description: 'access_error() refuses every access (and every fault takes the mmap_lock path)',
      edit: (v) =>
        v.replace('lock_vma_under_rcu', function* () {}).replace('lock_mm_and_find_vma.find_vma', function* (k, c: FaultCtx) {
          c.vma = findVma(k.s.mms[c.mm]!, c.vpn);
          c.segv = true;
          yield { id: 'lock_mm_and_find_vma.bad_area', obs: { kind: 'access', opId: c.opId!, mm: c.mm, vpn: c.vpn, write: c.write, value: 0, ok: false } };
        }),
    });
    expect(check(zapWhileCached(), applyVariant(linux, refuses)).violation).toEqual({
      property: 'read-value', holder: 'ideal', step: 9, actor: 'T0', stepId: 'lock_mm_and_find_vma.bad_area',
      message: 'write of 0x10000 in P0 gave SIGSEGV; the reference allows write allowed',
    });
  });
});

describe('read-value: call results', () => {
  it('fires when a call returns a result no linearization gives', () => {
    const enomem = defineVariant({
      name: 'madvise-says-enomem',
      description: 'madvise returns -ENOMEM although the range is mapped',
      edit: (v) =>
        v.insertAfter('madvise_dontneed_single_vma', {
          id: 'madvise.wrong_result',
          *fn(_k, c: MadviseCtx) {
            c.result = 'ENOMEM';
          },
        }),
    });
    expect(check(zapWhileCached(), linux).verdict).toBe('pass');
    expect(check(zapWhileCached(), applyVariant(linux, enomem)).violation).toEqual({
      property: 'read-value', holder: 'ideal', step: 57, actor: 'T0', stepId: 'sys_madvise.return',
      message: 'T0.1 returned ENOMEM; the reference allows ok',
    });
  });
});

describe('read-value: the verdict alone decides', () => {
  // Direct calls: the runner never hands the property a failed verdict
  // with nothing allowed, nor one for an invoke (invokes get no verdict),
  // so only a hand-made context reaches these two lines.
  const ctx = (obs: StepEvent['obs'], ideal: IdealVerdict | null) => ({ event: { obs }, ideal }) as unknown as CheckContext;
  const readObs: StepEvent['obs'] = { kind: 'access', opId: 'T0.0', mm: mmId('P0'), vpn: 16, write: false, value: 7, ok: true };

  it('holds without a verdict or with an agreeing one', () => {
    expect(readValue.check(ctx(readObs, null))).toBeNull();
    expect(readValue.check(ctx(readObs, { ok: true, expected: ['value 1'] }))).toBeNull();
  });

  it("says 'nothing' when the reference allows nothing", () => {
    expect(readValue.check(ctx(readObs, { ok: false, expected: [] }))).toEqual({ holder: 'ideal', message: 'read of 0x10000 in P0 gave value 7; the reference allows nothing' });
  });

  it('reports nothing for an observation that is neither an access nor a return', () => {
    expect(readValue.check(ctx({ kind: 'invoke', op: { id: 'T0.0' } } as StepEvent['obs'], { ok: false, expected: [] }))).toBeNull();
  });
});
