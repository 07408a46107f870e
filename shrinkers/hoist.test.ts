import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Op } from '../model/run/scenario.js';
import { signatureOf } from '../properties/signature.js';
import { anon, madvise, proc, read, scenario, thread, va } from '../test/build.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import { hoistCandidates } from './hoist.js';
import { shrink } from './pipeline.js';
import { PROPERTIES } from '../properties/registry.js';

const X = 0x10000;
const mmapX: Op = { kind: 'mmap', va: va(X), pages: 1, prot: { r: true, w: true }, file: null, pgoff: 0 };

describe('hoisting preparatory calls into the setup', () => {
  it('turns a thread mmap into a setup mapping of its process, and drops a thread left empty', () => {
    const sc = scenario({ setup: [proc('P0')], threads: [thread('T0', 'P0', 0, mmapX), thread('T1', 'P0', 1, read(X))], schedule: [{ actor: 'T0' }] });
    const [c] = hoistCandidates(sc);
    expect(c!.scenario.setup).toEqual([proc('P0'), anon('P0', X, 1)]);
    expect(c!.scenario.threads.map((t) => t.name)).toEqual(['T1']);
    expect(c!.scenario.schedule).toEqual([]);
  });

  it('leaves alone an mmap that overlaps a setup mapping (it failed with EEXIST)', () => {
    const sc = scenario({ setup: [proc('P0'), anon('P0', X, 1)], threads: [thread('T0', 'P0', 0, mmapX, read(X))] });
    expect(hoistCandidates(sc)).toEqual([]);
  });

  it('lets the shrinker reach the two-operation race when the process maps its region itself', () => {
    const sc = scenario({ setup: [proc('P0')], threads: [thread('T0', 'P0', 0, mmapX, read(X), madvise(X))] });
    const policy = applyVariant(linux, freeBeforeFlush);
    const sig = signatureOf(runScenario(sc, { policy, properties: PROPERTIES }))!;
    const out = shrink(sc, policy, sig);
    expect(out.scenario.setup).toEqual([proc('P0'), anon('P0', X, 1)]);
    expect(out.scenario.threads.flatMap((t) => t.ops)).toEqual([read(X), madvise(X)]);
  });
});
