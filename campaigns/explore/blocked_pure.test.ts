// The explorer's contract with the model (explore.ts, stepActor()): the
// code an actor runs before a wait, in an advance that takes no step,
// only reads. explore drops such a "touched" execution and replays the
// path, so a write made there to the kernel state is state its replays
// never have: a window explore cannot see, and a candidate it may lose
// (stepOthers() asks the next actors on the touched execution whether
// they can run). This test drives generated scenarios round robin and
// records every blocked advance that changed the kernel state (the
// actor's own ctx frames may change: only the actor reads them, and it
// recomputes them on a replay). Changing a step here failed it (a write
// before do_anonymous_page's PTL wait), and so did, until model 0.16.1,
// kvm_mmu_notifier_invalidate_range_end taking kvm->srcu in the step of
// its mmu_lock wait.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linux } from '../../model/policies/linux.js';
import { Execution } from '../../model/run/execution.js';
import { opKindsFor, scenarioArb } from '../../properties/generate/scenario_arb.js';
import { PROPERTIES } from '../../properties/registry.js';
import { canon } from './state_key.js';

describe('code before a wait only reads (the explorer replays it)', () => {
  it('no blocked advance of a generated run changes the state', () => {
    const ops = [...opKindsFor(null), 'reclaim', 'vm', 'fork', 'migrate', 'mremap', 'madv_free', 'gmem', 'swap', 'memslot'] as const;
    const scenarios = fc.sample(scenarioArb({ ops: [...ops], mshare: null }), { seed: 42, numRuns: 60 });
    const found = new Set<string>();
    let blocked = 0;
    for (const sc of scenarios) {
      const x = new Execution({ ...sc, schedule: [] }, { policy: linux, properties: PROPERTIES });
      // round robin, one advance each: waits happen whenever two actors meet on a lock
      for (let turn = 0, idle = 0; idle < x.actors.length && turn < 4000; turn++) {
        const a = x.actors[turn % x.actors.length]!;
        if (a.kind === 'sb' || !x.runnable(a)) {
          idle++;
          continue;
        }
        const before = canon(x.s);
        let r;
        try {
          r = x.advance(a);
        } catch {
          break; // a model error ends the run; other tests own those
        }
        if (r.kind === 'blocked') {
          blocked++;
          if (canon(x.s) !== before) found.add(a.pending!.id);
        }
        idle = r.kind === 'step' ? 0 : idle + 1;
        if (r.kind === 'step' && (r.violation || r.exhausted)) break;
      }
    }
    expect(blocked).toBeGreaterThan(0); // the drive does meet waits
    expect([...found].sort()).toEqual([]);
  }, 120_000);
});
