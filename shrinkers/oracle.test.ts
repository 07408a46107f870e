// The oracle answers "does this scenario break the property the same way?"
// with a cheap probe (the target property alone) and a full run only on a
// hit. These tests pin which properties each run checks, what counts as
// the same way, and how many runs it spends.

import { describe, expect, it } from 'vitest';
import { putPage } from '../model/kernel/frames.js';
import type { FaultCtx } from '../model/kernel/paths/fault.js';
import { linux } from '../model/policies/linux.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { propertyById } from '../properties/registry.js';
import { signatureOf } from '../properties/signature.js';
import { doubleUnlock, X, zapWhileCached, zapWithoutPtl } from '../test/mutant_cases.js';
import { proc, read, scenario, thread } from '../test/build.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import { Oracle } from './oracle.js';
import { PROPERTIES } from '../properties/registry.js';

// Two bugs in one policy: the PTE clear without the PTL (lock-discipline,
// step 37) comes before the page freed before the flush
// (no-freed-frame-reachable, step 40).
const twoBugs = applyVariant(applyVariant(linux, freeBeforeFlush), zapWithoutPtl);
const FREED = 'no-freed-frame-reachable|TLB|tlb_batch_pages_flush';
const LOCKS = 'lock-discipline|locks|zap_pte_range';

describe('Oracle', () => {
  it('probes with the target property alone, so it sees past an earlier finding of another', () => {
    const o = new Oracle(twoBugs, FREED);
    const probe = o.probe(zapWhileCached());
    expect(probe && signatureOf(probe)).toBe(FREED);
    expect(o.runs).toBe(1);
  });

  it('confirms only with every property: a hit hidden behind another finding reproduces nothing', () => {
    const o = new Oracle(twoBugs, FREED);
    const { result, probe } = o.reproduce(zapWhileCached());
    expect(probe && signatureOf(probe)).toBe(FREED);
    expect(result).toBeNull();
    expect(o.confirm(zapWhileCached())).toBeNull();
    expect(o.runs).toBe(3);
  });

  it('returns the full run when both agree, after exactly one probe and one confirmation', () => {
    const o = new Oracle(twoBugs, LOCKS);
    const { result, probe } = o.reproduce(zapWhileCached());
    expect(result && signatureOf(result)).toBe(LOCKS);
    expect(probe).not.toBe(result);
    expect(o.runs).toBe(2);
  });

  it('runs no second time on a miss', () => {
    const o = new Oracle(applyVariant(linux, freeBeforeFlush), LOCKS);
    expect(o.reproduce(zapWhileCached())).toMatchObject({ result: null, probe: { verdict: 'pass' } });
    expect(o.runs).toBe(1);
  });

  it('with a target outside the checked set, probes with the whole set and takes the probe as the answer', () => {
    const only = [propertyById('lock-discipline')!];
    const o = new Oracle(twoBugs, FREED, only);
    // the probe checks lock-discipline only (the set): it stops there
    expect(o.reproduce(zapWhileCached())).toMatchObject({ result: null, probe: { violation: { property: 'lock-discipline' } } });
    const l = new Oracle(twoBugs, LOCKS, [propertyById('lock-discipline')!, propertyById('no-freed-frame-reachable')!]);
    const hit = l.reproduce(zapWhileCached());
    expect(hit.result && signatureOf(hit.result)).toBe(LOCKS);
    expect(l.runs).toBe(2);
    const outside = new Oracle(twoBugs, LOCKS, [propertyById('no-freed-frame-reachable')!]);
    const r = outside.reproduce(zapWhileCached());
    expect(r.result).toBeNull();
    expect(r.probe!.violation!.property).toBe('no-freed-frame-reachable');
    expect(outside.runs).toBe(1);
  });

  it('probes a model error with no property at all', () => {
    // do_anonymous_page puts the page it mapped (no-freed-frame-reachable
    // at step 24), and the zap later unlocks its PTL twice (a model error):
    // only a run that checks no property gets as far as the model error.
    const putsMapped = defineVariant({
      name: 'fault-frees-mapped-page',
      description: 'do_anonymous_page puts the page it just mapped',
      edit: (v) =>
        v.insertAfter('do_anonymous_page.set_pte_at', {
          id: 'do_anonymous_page.put_page',
          *fn(k, c: FaultCtx) {
            putPage(k.s, c.page!);
            yield { id: 'do_anonymous_page.put_page' };
          },
        }),
    });
    const broken = applyVariant(applyVariant(linux, putsMapped), doubleUnlock);
    const full = runScenario(zapWhileCached(), { policy: broken, properties: PROPERTIES });
    expect(full.violation?.property).toBe('no-freed-frame-reachable');
    const o = new Oracle(broken, 'model-error|ptl');
    const probe = o.probe(zapWhileCached())!;
    expect(probe).toMatchObject({ verdict: 'model-error', violation: null });
    const same = new Oracle(broken, signatureOf(probe)!);
    expect(same.reproduce(zapWhileCached())).toMatchObject({ result: null, probe: { verdict: 'model-error' } });
    expect(same.runs).toBe(2);
    // without the earlier bug the model error is the finding, confirmed by the full run
    const alone = new Oracle(applyVariant(linux, doubleUnlock), signatureOf(probe)!);
    expect(alone.reproduce(zapWhileCached()).result?.verdict).toBe('model-error');
  });

  it('treats a scenario the runner refuses as reproducing nothing, and rethrows anything else', () => {
    const o = new Oracle(linux, LOCKS);
    const badCpu = scenario({ setup: [proc('P0')], threads: [thread('T0', 'P0', 7, read(X))] });
    expect(o.probe(badCpu)).toBeNull();
    expect(o.reproduce(badCpu)).toEqual({ result: null, probe: null });
    expect(o.confirm(badCpu)).toBeNull();
    expect(o.runs).toBe(3);
    expect(() => o.probe({ ...badCpu, threads: null } as unknown as Scenario)).toThrow(TypeError);
  });
});
