// The generator's mshare 2026 operations (model/kernel/paths/mshare_2026.ts):
// offered only where the design has the system calls, and every generated
// scenario is valid (each mshare_create makes a fresh region, and every
// other call names one that exists).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policyByName } from '../../model/policies/registry.js';
import { validateScenario } from '../../model/run/validate.js';
import { FORK_STEP_IDS, GMEM_STEP_IDS, KVM_STEP_IDS, STEP_IDS } from '../../model/run/step_ids.js';
import { readFileSync } from 'node:fs';
import { loadVariant } from '../../model/policies/load_variant.js';
import { applyVariant } from '../../model/policies/variant.js';
import { runScenario } from '../../model/run/runner.js';
import { parseScenario } from '../../reports/scenario_text.js';
import { PROPERTIES } from '../registry.js';
import { opKindsAccepted, opKindsFor, rawScenarioArb, resolve, scenarioArb, untilIds } from './scenario_arb.js';

const SYSCALLS = ['mshare_create', 'ftruncate', 'mshare_attach', 'mshare_advise', 'mshare_protect', 'close'];

describe('scenario_arb: mshare 2026 operations', () => {
  it('are offered to mshare-2026 only, which gets no msharefs attach or MSHAREFS_UNMAP', () => {
    const m2026 = opKindsFor(policyByName('mshare-2026')!.mshare);
    for (const k of SYSCALLS) expect(m2026).toContain(k);
    expect(m2026).not.toContain('attach');
    expect(m2026).not.toContain('mshare_unmap');
    expect(m2026).toContain('mshare_map');
    for (const p of ['mshare-v3', 'mshare-rfc-v3', 'linux']) {
      const kinds = opKindsFor(policyByName(p)!.mshare);
      for (const k of SYSCALLS) expect(kinds, p).not.toContain(k);
    }
    expect(opKindsFor(policyByName('mshare-v3')!.mshare)).toContain('attach');
  });

  it('generates valid scenarios whose creates make fresh regions N0, N1, ...', () => {
    const p = policyByName('mshare-2026')!;
    const scs = fc.sample(scenarioArb({ ops: opKindsFor(p.mshare), mshare: p.mshare }), { seed: 2026, numRuns: 300 });
    for (const sc of scs) expect(validateScenario(sc, p)).toBeNull();
    const creates = scs.flatMap((sc) => sc.threads.flatMap((t) => t.ops.filter((o) => o.kind === 'mshare_create')));
    expect(creates.length).toBeGreaterThan(0);
    for (const sc of scs) {
      const names = sc.threads.flatMap((t) => t.ops.flatMap((o) => (o.kind === 'mshare_create' ? [o.file] : [])));
      expect(names).toEqual(names.map((_, i) => `N${i}`));
    }
    const kinds = new Set(scs.flatMap((sc) => sc.threads.flatMap((t) => t.ops.map((o) => o.kind))));
    for (const k of SYSCALLS) expect(kinds).toContain(k);
  });
});

describe('scenario_arb: a VM over the VMM\'s mshare window (hazard 4)', () => {
  const vmOf = (sc: { setup: { kind: string }[] }) => sc.setup.find((s) => s.kind === 'vm') as { proc: string; memslots: { gfn: number; hva: number; pages: number }[] } | undefined;

  it('is drawn for every mshare policy with vm in --ops: P0\'s regions, then the first pages of each window, all valid', () => {
    for (const name of ['mshare-v2', 'mshare-v3-proposed', 'mshare-rfc-v3', 'mshare-2026']) {
      const p = policyByName(name)!;
      expect(opKindsAccepted(p.mshare), name).toContain('vm');
      const scs = fc.sample(scenarioArb({ ops: [...opKindsFor(p.mshare), 'vm'], mshare: p.mshare }), { seed: 11, numRuns: 200 });
      for (const sc of scs) expect(validateScenario(sc, p), name).toBeNull();
      const vms = scs.map(vmOf).filter((v) => v !== undefined);
      expect(vms.length, name).toBeGreaterThan(0);
      const windows = name === 'mshare-rfc-v3' ? [64] : [64, 128]; // RFC v3 attaches at the host's address only
      for (const v of vms) {
        expect(v.proc).toBe('P0');
        expect(v.memslots.slice(-windows.length).map((m) => [m.hva, m.pages])).toEqual(windows.map((w) => [w, 4]));
        expect(v.memslots.slice(0, -windows.length).every((m) => m.hva < 64)).toBe(true); // P0's private regions first
      }
      // guest accesses reach the window's gfns
      const windowGfns = (v: ReturnType<typeof vmOf>) => v!.memslots.filter((m) => m.hva >= 64).flatMap((m) => Array.from({ length: m.pages }, (_, i) => m.gfn + i));
      const hits = scs.filter((sc) => vmOf(sc)).some((sc) => sc.threads.some((t) => t.ops.some((o) => o.kind.startsWith('guest') && windowGfns(vmOf(sc)).includes((o as { gfn: number }).gfn))));
      expect(hits, name).toBe(true);
    }
  });

  it('is not drawn without vm in --ops, and linux\'s memslots stay P0\'s regions only', () => {
    const v3 = policyByName('mshare-v3')!;
    expect(fc.sample(scenarioArb({ ops: opKindsFor(v3.mshare), mshare: v3.mshare }), { seed: 11, numRuns: 100 }).some((sc) => vmOf(sc))).toBe(false);
    const linux = policyByName('linux')!;
    const scs = fc.sample(scenarioArb({ ops: [...opKindsFor(null), 'vm'], mshare: null }), { seed: 11, numRuns: 100 }).filter((sc) => vmOf(sc));
    expect(scs.length).toBeGreaterThan(0);
    for (const sc of scs) {
      const regions = sc.setup.flatMap((x) => (x.kind === 'mmap' && x.proc === 'P0' ? [[x.start, x.pages]] : []));
      expect(vmOf(sc)!.memslots.map((m) => [m.hva, m.pages])).toEqual(regions);
    }
    expect(linux.mshare).toBeNull();
  });
});

describe('scenario_arb: stop points inside opt-in paths', () => {
  const linux = policyByName('linux')!;
  const stops = (ops: ReturnType<typeof opKindsFor>) =>
    fc.sample(scenarioArb({ ops, mshare: null }), { seed: 7, numRuns: 400 }).flatMap((sc) => sc.schedule.flatMap((e) => ('until' in e && e.until ? [e.until] : [])));

  it('name a KVM step only when vm is drawn, a fork step only when fork is, and otherwise index STEP_IDS as before', () => {
    const defaults = opKindsFor(linux.mshare);
    expect(untilIds(defaults)).toBe(STEP_IDS);
    expect(untilIds([...defaults, 'vm', 'fork'])).toEqual([...STEP_IDS, ...KVM_STEP_IDS, ...FORK_STEP_IDS]);
    const plain = stops(defaults);
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.filter((id) => !STEP_IDS.includes(id))).toEqual([]);
    const withVm = stops([...defaults, 'vm']);
    expect(withVm.some((id) => KVM_STEP_IDS.includes(id))).toBe(true); // a vCPU can be stopped inside KVM_RUN
    expect(withVm.filter((id) => FORK_STEP_IDS.includes(id))).toEqual([]);
    expect(stops([...defaults, 'fork']).some((id) => FORK_STEP_IDS.includes(id))).toBe(true);
  });
});

describe('scenario_arb: guest_memfd-backed memslots (opt-in kind gmem)', () => {
  const gmemOf = (sc: { setup: { kind: string }[] }) => sc.setup.find((s) => s.kind === 'gmem') as { name: string; pages: number } | undefined;

  it('draws G0, slots bound to it and VMM threads punching holes, all valid, on linux and under an mshare design', () => {
    for (const name of ['linux', 'mshare-v3']) {
      const p = policyByName(name)!;
      expect(opKindsAccepted(p.mshare), name).toContain('gmem');
      const scs = fc.sample(scenarioArb({ ops: [...opKindsFor(p.mshare), 'gmem'], mshare: p.mshare }), { seed: 18, numRuns: 200 });
      for (const sc of scs) expect(validateScenario(sc, p), name).toBeNull();
      const withG = scs.filter((sc) => gmemOf(sc));
      expect(withG.length, name).toBeGreaterThan(0);
      for (const sc of withG) {
        const vm = sc.setup.find((s) => s.kind === 'vm') as { memslots: { gfn: number; pages: number; gmem?: { file: string; pgoff: number } }[] };
        expect(vm.memslots[0]!.gmem).toEqual({ file: 'G0', pgoff: 0 });
        expect(gmemOf(sc)!.pages).toBe(vm.memslots.reduce((n, m) => n + m.pages, 0));
      }
      expect(withG.some((sc) => sc.threads.some((t) => t.ops.some((o) => o.kind === 'gmem_punch_hole'))), name).toBe(true);
    }
  });

  it('is not drawn with vm alone, and its stop points add the KVM ids and the guest_memfd ids', () => {
    const scs = fc.sample(scenarioArb({ ops: [...opKindsFor(null), 'vm'], mshare: null }), { seed: 18, numRuns: 100 });
    expect(scs.some((sc) => gmemOf(sc) || sc.threads.some((t) => t.ops.some((o) => o.kind === 'gmem_punch_hole')))).toBe(false);
    expect(untilIds([...opKindsFor(null), 'vm', 'gmem'])).toEqual([...STEP_IDS, ...KVM_STEP_IDS, ...GMEM_STEP_IDS]);
  });
});

describe('scenario_arb: free switches', () => {
  it('half of the drawn runs end their schedule with entries without a count, the rest are drawn as before', () => {
    const linux = policyByName('linux')!;
    const opts = { ops: opKindsFor(null), mshare: null };
    const raws = fc.sample(rawScenarioArb(opts), { seed: 7, numRuns: 400 });
    const withFree = raws.filter((r) => r.free !== undefined);
    expect(withFree.length).toBeGreaterThan(150);
    expect(withFree.length).toBeLessThan(250);
    expect(Math.max(...withFree.map((r) => r.free!.length))).toBeGreaterThan(10);
    for (const r of raws) {
      const sc = resolve(r);
      expect(validateScenario(sc, linux)).toBeNull();
      const tail = sc.schedule.slice(r.schedule.length);
      expect(tail.length).toBe(r.free?.length ?? 0);
      for (const e of tail) expect(e.steps === undefined && e.until === undefined).toBe(true);
      // the rest of the run is the run drawn without free switches
      expect(resolve({ ...r, free: undefined })).toEqual({ ...sc, schedule: sc.schedule.slice(0, r.schedule.length) });
    }
  });

  it('reach an interleaving the canonical fallback does not: the walker of CVE-2026-74674 runs before the reclaiming madvise', async () => {
    // pt-reclaim-flush-end's hand operations, with its two preemption points alone and then with its two free switches
    const sc = parseScenario(readFileSync('test/scenarios/pt-reclaim-flush-end.txt', 'utf8'));
    const v = await loadVariant('variants/pt-reclaim-flush-end.ts');
    const bad = applyVariant(policyByName('linux')!, v.spec);
    const stops = sc.schedule.filter((e) => e.until !== undefined);
    expect(stops.length).toBe(2);
    expect(runScenario({ ...sc, schedule: stops }, { policy: bad, properties: PROPERTIES }).verdict).toBe('pass');
    const free = [...stops, { actor: 'spec@cpu1' }, { actor: 'T0' }];
    const r = runScenario({ ...sc, schedule: free }, { policy: bad, properties: PROPERTIES });
    expect([r.verdict, r.violation?.property]).toEqual(['violation', 'no-freed-table-reachable']);
    expect(runScenario({ ...sc, schedule: free }, { policy: policyByName('linux')!, properties: PROPERTIES }).verdict).toBe('pass');
  });
});
