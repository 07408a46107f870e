// no-freed-frame-reachable fires on each holder of a freed frame (a present
// PTE, a usable TLB entry) and on a frame freed or handed out again, at the
// step that frees it, and holds on linux for the same scenario.

import { describe, expect, it } from 'vitest';
import { allocFrame, putPage } from '../model/kernel/frames.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import type { KernelState } from '../model/kernel/state.js';
import type { CheckContext } from '../model/run/check.js';
import { findPte } from '../model/kernel/pagetable.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { anon, madvise, proc, read, run, scenario, thread, until, write } from '../test/build.js';
import { X, zapWhileCached } from '../test/mutant_cases.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import pcidNoGenCheck from '../variants/pcid-no-gen-check.js';
import { noFreedFrameReachable, staleFrame } from './no_freed_frame_reachable.js';

const check = (sc: Scenario, policy: Policy) => runScenario(sc, { policy, properties: [noFreedFrameReachable] });

/** do_anonymous_page drops its reference after set_pte_at (a put_page too many), and with `again` allocates once more in the same step. */
const putAfterSetPte = (again: boolean) =>
  applyVariant(
    linux,
    defineVariant({
      name: again ? 'fault-frees-and-reuses-mapped-page' : 'fault-frees-mapped-page',
      description: 'do_anonymous_page puts the page it just mapped',
      edit: (v) =>
        v.insertAfter('do_anonymous_page.set_pte_at', {
          id: 'do_anonymous_page.put_page',
          *fn(k, c: FaultCtx) {
            putPage(k.s, c.page!);
            if (again) allocFrame(k.s, 'anon:P0:reused');
            yield { id: 'do_anonymous_page.put_page' };
          },
        }),
    }),
  );

describe('no-freed-frame-reachable', () => {
  it('fires when a present PTE maps a freed page', () => {
    expect(check(zapWhileCached(), linux).verdict).toBe('pass');
    expect(check(zapWhileCached(), putAfterSetPte(false)).violation).toEqual({
      property: 'no-freed-frame-reachable', holder: 'PTE', step: 27, actor: 'T0', stepId: 'fault-frees-mapped-page:do_anonymous_page.put_page', // named under the variant that inserted it
      message: "PTE 0 of P0's table 3 maps frame 4, which is free",
    });
  });

  it('fires when a present PTE maps a page freed and allocated again for something else', () => {
    // The allocator hands the freed frame straight back (LIFO free list):
    // the PTE now maps someone else's page.
    expect(check(zapWhileCached(), putAfterSetPte(true)).violation).toMatchObject({
      holder: 'PTE', actor: 'T0', stepId: 'fault-frees-and-reuses-mapped-page:do_anonymous_page.put_page',
      message: "PTE 0 of P0's table 3 maps frame 4, which is reallocated as anon:P0:reused",
    });
  });

  it('fires when a usable TLB entry maps a page freed before the flush', () => {
    expect(check(zapWhileCached(), applyVariant(linux, freeBeforeFlush)).violation).toEqual({
      property: 'no-freed-frame-reachable', holder: 'TLB', step: 43, actor: 'T0', stepId: 'tlb_batch_pages_flush',
      message: 'CPU0 PCID slot 0 (P0) maps 0x10000 -> frame 4, which is free',
    });
  });

  it('ignores a stale entry in a dormant PCID slot until a switch would make it usable again', () => {
    // CPU1 keeps P0's entry for X in a dormant slot after the madvise; the
    // slot's tlb_gen is behind P0's, so switching back flushes it
    // (choose_new_asid). Without the tlb_gen check it is reused as is.
    const sc = scenario({
      setup: [proc('P0'), proc('P1'), anon('P0', X, 1), anon('P1', 0x20000, 1)],
      threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, read(X), read(X)), thread('T2', 'P1', 1, read(0x20000))],
      // sb@cpu1: CPU1's loaded_mm = P1 reaches memory, so the flush skips it
      schedule: [until('T0', 'user_access.walk'), until('T1', 'user_access.walk'), run('T2'), run('sb@cpu1'), run('T0'), run('T1')],
    });
    const good = check(sc, linux);
    expect(good.verdict).toBe('pass');
    expect(good.coverage.dormant_slot_reactivated).toBe(1);
    expect(check(sc, applyVariant(linux, pcidNoGenCheck)).violation).toMatchObject({
      holder: 'TLB', actor: 'T1', stepId: 'load_new_mm_cr3.noflush',
      message: expect.stringMatching(/^CPU1 PCID slot \d \(P0\) maps 0x10000 -> frame \d+, which is free$/),
    });
  });
});

describe('staleFrame', () => {
  // Direct calls: the three answers for one frame, side by side.
  const s = { frames: [{ state: 'free', allocId: 3, lp: 'anon:a' }, { state: 'data', allocId: 5, lp: 'anon:b' }] } as unknown as KernelState;

  it('is free, reallocated, or the page the entry was made for', () => {
    expect(staleFrame(s, 0, 3)).toBe('free');
    expect(staleFrame(s, 1, 4)).toBe('reallocated as anon:b');
    expect(staleFrame(s, 1, 5)).toBeNull();
  });

  describe('a store into a freed frame with no later read', () => {
    /** T0 wrote X on CPU0; the frame is then freed and its PTE cleared, and CPU0's slot handed to a context of no mm without a flush (a broken choose_new_asid): SPEC 5.2 calls the entry unusable, the CPU still hits it. */
    const broken = (free: boolean) => {
      const r = runScenario(scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, write(X))] }), { policy: linux, properties: [] });
      const s = r.state;
      const e = s.cpus[0]!.tlb.find((x) => x.vpn === X >> 12)!;
      s.cpus[0]!.slots[e.slot]!.ctxId = s.nextCtxId++;
      if (free) {
        const p = findPte(s, s.mms.P0!, X >> 12)!;
        p.table.entries![p.table.entries!.indexOf(p.pte)] = null;
        Object.assign(s.frames[e.pfn]!, { state: 'free', refcount: 0, mapcount: 0 });
      }
      s.frames[e.pfn]!.content = 77; // the store through the TLB hit
      const event = { n: 99, actor: 'T0', cpu: 0, id: 'user_access.tlb_hit', notes: [], locks: [], obs: { kind: 'access', opId: 'T0.1', mm: 'P0', vpn: X >> 12, write: true, value: 77, ok: true } };
      return { s, e, ctx: { s, event, mem: {}, stepCache: new Map() } as unknown as CheckContext };
    };

    it('fires at the store: the PTE is gone and the entry unusable, so nothing else holds the frame', () => {
      const { s, e, ctx } = broken(true);
      expect(noFreedFrameReachable.check(ctx)).toEqual({ holder: 'TLB', message: `write of 77 to 0x10000 in P0 landed in frame ${e.pfn} through CPU0 PCID slot 0, which is free` });
      // the same state without the store: no holder left to report
      expect(noFreedFrameReachable.check({ s, event: { ...ctx.event, obs: undefined }, mem: {}, stepCache: new Map() } as unknown as CheckContext)).toBeNull();
    });

    it('holds for a store into the live page the entry was filled for', () => {
      expect(noFreedFrameReachable.check(broken(false).ctx)).toBeNull();
    });
  });
});
