// protect-complete fires when mprotect returns while a usable TLB entry
// for the range grants more than the new protection (write after a
// downgrade to read, read after PROT_NONE), at the return, and holds on
// linux for the same scenario; entries outside the call's reach are not
// its business.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, mprotect, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import { X, zapWhileCached } from '../test/mutant_cases.js';
import noIpi from '../variants/no-ipi.js';
import { protectComplete } from './protect_complete.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [protectComplete] });
const noIpiPolicy = applyVariant(linux, noIpi);

describe('protect-complete', () => {
  it('fires when a writable entry survives mprotect(PROT_READ) (no IPI to the other CPU)', () => {
    const sc = zapWhileCached(mprotect(X, 1, 'r'));
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toEqual({
      property: 'protect-complete', holder: 'TLB', step: 51, actor: 'T0', stepId: 'sys_mprotect.return',
      message: 'mprotect(0x10000, 1, r) in P0 returned while CPU1 PCID slot 0 still grants rw on 0x10000',
    });
  });

  it('fires when a read-only entry survives mprotect(PROT_NONE)', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1, 'r')],
      threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, 'none')), thread('T1', 'P0', 1, read(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    expect(check(sc, linux).verdict).toBe('pass');
    expect(check(sc, noIpiPolicy).violation).toMatchObject({
      actor: 'T0', stepId: 'sys_mprotect.return', message: 'mprotect(0x10000, 1, none) in P0 returned while CPU1 PCID slot 0 still grants r on 0x10000',
    });
  });

  it('ignores pages another mprotect changed after this one dropped mmap_lock', () => {
    // T1 makes X writable again and writes it between T0's
    // mmap_write_unlock and T0's return: the writable entry is T1's
    // doing and legitimate.
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1)],
      threads: [thread('T0', 'P0', 0, mprotect(X, 1, 'r')), thread('T1', 'P0', 1, mprotect(X, 1, 'rw'), write(X))],
      schedule: [until('T0', 'do_mprotect_pkey.mmap_write_unlock'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12 && e.writable)).toBe(true);
  });

  it('ignores pages another mprotect made readable again after this PROT_NONE dropped mmap_lock', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1, 'r')],
      threads: [thread('T0', 'P0', 0, mprotect(X, 1, 'none')), thread('T1', 'P0', 1, mprotect(X, 1, 'r'), read(X))],
      schedule: [until('T0', 'do_mprotect_pkey.mmap_write_unlock'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12)).toBe(true);
  });

  it("ignores another process's writable entry at the same address", () => {
    // P1 maps its own page at X on CPU1; P0's mprotect says nothing about it.
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', X, 1)],
      threads: [thread('T0', 'P0', 0, write(X), mprotect(X, 1, 'r')), thread('T1', 'P1', 1, write(X))],
      schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
    });
    const r = check(sc, linux);
    expect(r.verdict).toBe('pass');
    expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12 && e.writable)).toBe(true);
  });

  it('asks nothing of entries that grant no more than the new protection (an upgrade, or read-only kept read-only)', () => {
    // pte_needs_flush(): an upgrade or an unchanged protection needs no flush
    const sc = (to: string) =>
      scenario({
        setup: [proc('P0'), anon('P0', X, 1, 'r')],
        threads: [thread('T0', 'P0', 0, read(X), mprotect(X, 1, to)), thread('T1', 'P0', 1, read(X))],
        schedule: [until('T0', 'user_access.walk'), run('T1'), run('T0')],
      });
    for (const to of ['rw', 'r']) {
      const r = check(sc(to), noIpiPolicy);
      expect(r.verdict, to).toBe('pass');
      expect(r.state.cpus[1]!.tlb.some((e) => e.vpn === X >> 12), to).toBe(true);
    }
  });
});
