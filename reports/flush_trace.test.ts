// Flushes in the report: the wording of range, stride and kind; the
// traced policy runs exactly as the policy does; every flush decision of
// every saved counterexample is printed at its step, and the last flush
// before the violation is never collapsed or folded.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../model/kernel/config.js';
import { TLB_FLUSH_ALL } from '../model/kernel/state.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { loadCounterexample } from './counterexample.js';
import { FLUSH_DECIDED, flushText, flushTracer, strideText, type FlushRecord } from './flush_trace.js';
import { corpusFiles, CORPUS_DIR } from './goldens.js';
import { renderText } from './render_text.js';
import { buildReport, policyFor } from './report.js';

const config = resolveConfig({}); // fanout 4: a PMD entry spans 4 pages, a PUD entry 16, a PGD entry 64
const rec = (start: number, end: number, stride: number, freedTables: boolean, decided: { start: number; end: number }): FlushRecord => ({
  mm: 'P0',
  request: { start, end, stride, freedTables },
  info: { mm: 'P0' as FlushRecord['info']['mm'], start: decided.start, end: decided.end, stride, freedTables, newTlbGen: 1, trimCpumask: false },
});

describe('flush text', () => {
  it('names the stride by the level it spans', () => {
    expect(strideText(1, config)).toBe('PTE stride (1 page)');
    expect(strideText(4, config)).toBe('PMD stride (4 pages)');
    expect(strideText(64, config)).toBe('PGD stride (64 pages)');
    expect(strideText(3, config)).toBe('3-page stride (3 pages)');
  });

  it('says partial with its INVLPG count, or full and why, and whether tables were freed', () => {
    expect(flushText(rec(16, 20, 1, false, { start: 16, end: 20 }), config)).toBe('flush P0 0x10000-0x14000, PTE stride (1 page): partial, 4 INVLPGs, no tables freed');
    expect(flushText(rec(64, 128, 64, true, { start: 64, end: 128 }), config)).toBe('flush P0 0x40000-0x80000, PGD stride (64 pages): partial, 1 INVLPG, tables freed');
    expect(flushText(rec(0, 64, 1, false, { start: 0, end: TLB_FLUSH_ALL }), config)).toBe(`flush P0 0x0-0x40000, PTE stride (1 page): full (TLB_FLUSH_ALL, 64 strides > ceiling ${config.flushCeiling}), no tables freed`);
    expect(flushText(rec(0, 2, 1, false, { start: 0, end: TLB_FLUSH_ALL }), config)).toContain('full (TLB_FLUSH_ALL, a schedule choice under the ceiling)');
    expect(flushText(rec(0, TLB_FLUSH_ALL, 1, true, { start: 0, end: TLB_FLUSH_ALL }), config)).toBe('flush P0: full (TLB_FLUSH_ALL asked for), tables freed');
  });
});

describe('flushes in the reports of the saved counterexamples', () => {
  for (const f of corpusFiles()) {
    it(`${f}: the traced run is the run, every flush decision is printed, the last one is kept`, async () => {
      const cx = loadCounterexample(join(CORPUS_DIR, f));
      const policy = await policyFor(cx);
      const plain = runScenario(cx.scenario, { policy, properties: PROPERTIES });
      const traced = flushTracer(policy);
      const run = runScenario(cx.scenario, { policy: traced.policy, properties: [traced.property, ...PROPERTIES] });
      expect(run.trace.map((e) => `${e.actor} ${e.id}`)).toEqual(plain.trace.map((e) => `${e.actor} ${e.id}`));
      expect(run.violation).toEqual(plain.violation);
      const decided = run.trace.filter((e) => e.id === FLUSH_DECIDED).map((e) => e.n);
      expect([...traced.flushes.keys()]).toEqual(decided);

      const report = buildReport(cx, `counterexamples/${f}`, policy);
      for (const n of decided) expect(report.steps[n - 1]!.flush).toMatch(/^flush \S+( 0x[0-9a-f]+-0x[0-9a-f]+, \S+ stride \(\d+ pages?\))?: (partial|full)\b.*tables freed$/);
      const text = renderText(report);
      const d = report.violation!.decidedBy;
      if (d === null) return void expect(report.steps.filter((s) => s.flush && s.n < report.violation!.step)).toEqual([]);
      // its own entry of the diagram, never a collapsed run or a fold, and named under the violation
      expect(report.diagram.filter((it) => it.from <= d && d <= it.to)).toEqual([expect.objectContaining({ from: d, to: d })]);
      expect(report.diagram.find((it) => it.from === d)!.repeats).toBeUndefined();
      expect(report.diagram.find((it) => it.from === d)!.notes[0]).toBe(report.steps[d - 1]!.flush);
      expect(text.replace(/\n\s+/g, ' ')).toContain(`Last flush before it: step ${d} (${report.steps[d - 1]!.actor}), ${report.steps[d - 1]!.flush}`);
    });
  }
});
