// "depends on <knob>" (issue 10): a finding whose run consulted a knob the
// design's patches leave open is printed as depending on it, in the fuzz
// output, the report of the saved counterexample and the matrix cell; a
// finding that consulted cited knobs only is a finding of the design.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyByName } from '../model/policies/registry.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant, defineVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { propertyById } from '../properties/registry.js';
import { signatureOf } from '../properties/signature.js';
import { buildCounterexample } from './counterexample.js';
import { dependsOn, dependsOnReplayed } from './depends_on.js';
import { buildReport } from './report.js';
import { renderText } from './render_text.js';
import { parseScenario } from './scenario_text.js';

const stride = parseScenario(readFileSync('test/scenarios/unlink-p4d-stride.txt', 'utf8'), 'unlink-p4d-stride');
const unmapComplete = [propertyById('unmap-complete')!];
const v3 = policyByName('mshare-v3')!;
/** v3 as if the patches left the unlink point open. */
const v3Unknown: Policy = { ...v3, knobSources: { ...v3.knobSources, unlinkPoint: { status: 'unknown', cite: 'nothing posted says (test)' } } };

const reportOf = (policy: Policy) => {
  const r = runScenario(stride, { policy, properties: unmapComplete });
  const cx = buildCounterexample({ policy: 'mshare-v3', variant: null, campaign: null, signature: signatureOf(r)!, scenario: stride, result: r, properties: ['unmap-complete'] });
  return buildReport(cx, 'stride.json', policy, unmapComplete);
};

describe('depends_on.ts', () => {
  it("a finding whose run consulted only patch-cited knobs is the design's: no qualifier (v3's P4D-stride unlink)", () => {
    const r = runScenario(stride, { policy: v3, properties: unmapComplete });
    expect(r.violation).toMatchObject({ property: 'unmap-complete', stepId: 'sys_munmap.return' });
    expect(r.knobsUsed).toContain('unlinkPoint');
    expect(dependsOn(v3, r.knobsUsed)).toEqual([]);
    const rep = reportOf(v3);
    expect(rep.header.dependsOn).toBeUndefined();
    expect(renderText(rep)).not.toContain('Rests on:');
  });

  it('an unknown knob the run consulted is tested by replay: every unlink point gives the same munmap finding, so it does not depend on unlinkPoint', () => {
    const r = runScenario(stride, { policy: v3Unknown, properties: unmapComplete });
    expect(r.violation).toMatchObject({ property: 'unmap-complete' });
    expect(dependsOn(v3Unknown, r.knobsUsed)).toEqual(['unlinkPoint']); // consulted and uncited
    const evidence = { scenario: stride, signature: signatureOf(r)!, properties: unmapComplete };
    expect(dependsOnReplayed(v3Unknown, r.knobsUsed, evidence)).toEqual([]); // 'none' and 'free_pgtables' leave the entries too
    expect(reportOf(v3Unknown).header.dependsOn).toBeUndefined();
  });

  it("a knob the run never consulted cannot make it depend: the unknown gup of v3 does not touch a munmap finding", () => {
    const gupUnknown: Policy = { ...v3, knobSources: { ...v3.knobSources, gup: { status: 'unknown', cite: 'test' } } };
    const r = runScenario(stride, { policy: gupUnknown, properties: unmapComplete });
    expect(r.knobsUsed).not.toContain('gup');
    expect(dependsOn(gupUnknown, r.knobsUsed)).toEqual([]);
  });

  it("a knob a variant sets is the variant's guess: a finding through it depends on that knob", () => {
    const allowed = applyVariant(v3, defineVariant({ name: 'madvise-zaps-through-link', description: "madvise: 'allowed'", edit: (v) => v.knobs({ madvise: 'allowed' }) }));
    expect(allowed.knobSources!.madvise).toMatchObject({ status: 'guess', cite: 'variant mshare-v3+madvise-zaps-through-link' });
    expect(allowed.knobSources!.unlinkPoint).toEqual(v3.knobSources!.unlinkPoint);
    const sc = parseScenario(readFileSync('test/scenarios/hazard15-madvise-through-sharer.txt', 'utf8'), 'hazard15');
    const r = runScenario(sc, { policy: allowed, properties: [propertyById('lock-discipline')!] });
    expect(r.violation).toMatchObject({ stepId: 'zap_pte_range.clear' });
    expect(dependsOn(allowed, r.knobsUsed)).toEqual(['madvise']);
    // and the replay confirms it: under every posted madvise value the zap never writes a host PTE
    expect(dependsOnReplayed(allowed, r.knobsUsed, { scenario: sc, signature: signatureOf(r)!, properties: [propertyById('lock-discipline')!] })).toEqual(['madvise']);
    const cx = buildCounterexample({ policy: 'mshare-v3', variant: null, campaign: null, signature: signatureOf(r)!, scenario: sc, result: r, properties: ['lock-discipline'] });
    const rep = buildReport(cx, 'h15.json', allowed, [propertyById('lock-discipline')!]);
    expect(rep.header.dependsOn).toBe('depends on madvise');
    expect(renderText(rep).replace(/\s+/g, ' ')).toContain('Rests on: depends on madvise: a knob this run consulted is not cited');
  });

  it('mainline has no knobs: nothing to depend on', () => {
    expect(dependsOn(policyByName('linux')!, ['madvise'])).toEqual([]);
  });
});
