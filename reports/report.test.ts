// Reports of the saved counterexamples, pinned as text files a reviewer
// can read (__snapshots__/*.txt, written only by `npm run goldens`,
// never by a test: a missing golden fails); the 72-column ASCII rule; the scenario
// copied out of a report replays to the same violation; the JSON holds
// every step and the file it replays from; and the other kinds of
// violation (read-value, locks, deadlock, livelock, model error) render.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { linux } from '../model/policies/linux.js';
import type { Policy } from '../model/policies/policy.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Property } from '../properties/property.js';
import { propertyById } from '../properties/registry.js';
import type { Scenario } from '../model/run/scenario.js';
import { mprotect } from '../test/build.js';
import { doubleUnlock, faultNeverMaps, gupFastTakesPtl, gupPtlDeadlock, neverMapsLivelock, reusedFrameRead, X, zapWhileCached, zapWithoutPtl } from '../test/mutant_cases.js';
import freeBeforeFlush from '../variants/free-before-flush.js';
import noIpi from '../variants/no-ipi.js';
import { corpusFiles, goldenFiles, goldenName, lineDiff, readGolden } from './goldens.js';
import { checkedProperties, buildCounterexample, loadCounterexample, verdictOf, type CounterexampleFile } from './counterexample.js';
import { renderJson } from './render_json.js';
import { renderText, scenarioFromText } from './render_text.js';
import { buildReport, policyFor, type Report } from './report.js';
import { parseScenario } from './scenario_text.js';
import { assertPlain, shellLines, wrap, WIDTH } from './text_layout.js';

const DIR = 'counterexamples';
const files = corpusFiles();
const tmp = () => mkdtempSync(join(tmpdir(), 'mshare-report-'));

function checkLines(text: string) {
  for (const l of text.split('\n')) {
    expect(l.length, l).toBeLessThanOrEqual(WIDTH);
    expect(l, 'plain ASCII').toMatch(/^[\x20-\x7e]*$/);
  }
}

/** The diagram's entries cover steps 1..N once each, in order. */
function checkPartition(r: Report) {
  let next = 1;
  for (const d of r.diagram) {
    expect(d.from).toBe(next);
    expect(d.to).toBeGreaterThanOrEqual(d.from);
    for (let n = d.from; n <= d.to; n++) expect(r.steps[n - 1]!.actor).toBe(d.actor);
    next = d.to + 1;
  }
  expect(next - 1).toBe(r.steps.length);
}

describe('the report of each saved counterexample', () => {
  it('has counterexamples to report', () => expect(files.length).toBeGreaterThanOrEqual(5));

  it('has one golden for each counterexample and none for a counterexample that is gone', () => {
    expect(goldenFiles()).toEqual(files.map(goldenName));
  });

  /** A TLB or PSC entry that reaches a freed frame or table: the findings whose report names the entry, its fill and the free. */
  const staleEntry = (cx: CounterexampleFile) => (cx.verdict.holder === 'TLB' || cx.verdict.holder === 'PSC') && /which is (free|reallocated)/.test(cx.verdict.message ?? '');

  for (const f of files) {
    describe(f, () => {
      const path = join(DIR, f);
      let cx: CounterexampleFile;
      let policy: Policy;
      let report: Report;
      let text: string;
      beforeAll(async () => {
        cx = loadCounterexample(path);
        policy = await policyFor(cx);
        report = buildReport(cx, path, policy);
        text = renderText(report);
      });

      it('renders its golden text (npm run goldens rewrites the goldens)', () => {
        const golden = readGolden(f);
        expect(golden, `no golden reports/__snapshots__/${goldenName(f)}: run npm run goldens and read the diff`).not.toBeNull();
        expect(text).toBe(golden);
      });

      it('keeps every line within 72 columns of plain ASCII', () => checkLines(text));

      it('replays to the verdict the file recorded', () => {
        expect(report.sameAsSaved).toBe(true);
        expect(report.verdict).toEqual(cx.verdict);
        expect(report.steps.map((s) => ({ n: s.n, actor: s.actor, id: s.id }))).toEqual(cx.steps);
      });

      it('embeds a scenario that, saved to a file and parsed, gives the same violation', () => {
        const file = join(tmp(), 'race.txt');
        writeFileSync(file, scenarioFromText(text));
        const sc = parseScenario(readFileSync(file, 'utf8'), file);
        expect(sc).toEqual(cx.scenario);
        expect(verdictOf(runScenario(sc, { policy, properties: checkedProperties(cx, propertyById) }))).toEqual(cx.verdict);
      });

      it('draws every step once, keeping the ones that make the race', () => {
        checkPartition(report);
        const shown = new Set(report.steps.filter((s) => s.shown).map((s) => s.n));
        expect(shown.has(cx.verdict.step!)).toBe(true);
        // every free, flush, IPI and call entry or return has its own line
        for (const s of report.steps) {
          if (s.effects.some((e) => /^(free |IPI )/.test(e)) || /^sys_|flush_tlb_mm_range|native_flush_tlb_multi/.test(s.id)) expect(shown.has(s.n), `${s.n} ${s.id}`).toBe(true);
        }
        // ... and so has the step that filled a stale entry to a freed frame or table
        if (!staleEntry(cx)) return;
        const fill = report.actual.join(' ').match(/(?:filled|cached) at step (\d+)/);
        expect(fill, 'actual names the fill').not.toBeNull();
        expect(shown.has(Number(fill![1]))).toBe(true);
      });

      it('states the bad entry, its frame, and says a model found it', () => {
        if (staleEntry(cx)) {
          expect(report.focus).not.toBeNull();
          expect(text).toContain(`[${report.bad!.note.split(' ').slice(0, 3).join(' ')}`);
          expect(report.actual.join(' ')).toMatch(/free since step|queued in .*mmu_gather/);
        }
        expect(text.replace(/\\\n/g, '')).toContain(report.header.replay);
        expect(text.trimEnd().split('\n').at(-1)).toBe('Found by a model (mshare-check ' + report.header.modelVersion + '), not observed on hardware.');
      });

      it('renders complete, versioned JSON that holds the replayable file', () => {
        const j = JSON.parse(renderJson(report)) as Report;
        expect(j.format).toBe('mshare-check/report');
        expect(j.version).toBe(1);
        expect(j.steps).toHaveLength(cx.steps.length);
        expect(j.counterexample).toEqual(JSON.parse(readFileSync(path, 'utf8')));
        expect(j.diagram.length).toBeLessThan(j.steps.length);
      });
    });
  }
});

describe('reports of other kinds of finding', () => {
  const report = (sc: Scenario, policy: Policy, properties?: readonly Property[]) => {
    const result = runScenario(sc, { policy, properties });
    const cx = buildCounterexample({ policy: 'linux', variant: null, campaign: null, signature: 'test', scenario: sc, result });
    const r = buildReport(cx, 'test/x.json', policy, properties);
    const text = renderText(r);
    checkLines(text);
    checkPartition(r);
    expect(r.sameAsSaved).toBe(true);
    return { r, text };
  };

  it('read-value on three CPUs: three columns, what the reference allows against the value read', () => {
    const sc = reusedFrameRead();
    const { r, text } = report(sc, applyVariant(linux, freeBeforeFlush), [propertyById('read-value')!]);
    expect(r.violation?.property).toBe('read-value');
    expect(text).toMatch(/CPU0 +CPU1 +CPU2/);
    expect(r.expected.join(' ')).toMatch(/the reference allows: /);
    expect(r.actual[0]).toMatch(/T1 on CPU1: read 0x10000 = 2 \(TLB hit\)/);
  });

  it('protect-complete: the entry still grants write', () => {
    const { r } = report(zapWhileCached(mprotect(X, 1, 'r')), applyVariant(linux, noIpi));
    expect(r.violation?.property).toBe('protect-complete');
    expect(r.bad!.note).toMatch(/^CPU1 TLB still grants rw on 0x10000$/);
  });

  it('lock-discipline: the PTE write without the PTL, with the locks held in braces', () => {
    const { r, text } = report(zapWhileCached(), applyVariant(linux, zapWithoutPtl));
    expect(r.violation?.property).toBe('lock-discipline');
    expect(text).toContain('{mmap_lock(r)}');
    expect(r.actual[0]).toMatch(/without ptl:/);
  });

  it('no-deadlock: the IPI sender and the spinner with IRQs off', () => {
    const { r } = report(gupPtlDeadlock(), applyVariant(linux, gupFastTakesPtl));
    expect(r.violation?.property).toBe('no-deadlock');
    expect(r.actual.join(' ')).toMatch(/held by T0/);
  });

  it('progress: a 300-step livelock collapses into a short diagram', () => {
    const { r } = report(neverMapsLivelock(), applyVariant(linux, faultNeverMaps));
    expect(r.violation?.property).toBe('progress');
    expect(r.steps).toHaveLength(300);
  });

  it('a model error and a clean run render without a violation section', () => {
    const err = report(zapWhileCached(), applyVariant(linux, doubleUnlock));
    expect(err.r.verdict.result).toBe('model-error');
    expect(err.text).toMatch(/^Model error: /m);
    const ok = report(zapWhileCached(), linux);
    expect(ok.r.title).toBe('no violation in linux');
    expect(ok.text).not.toMatch(/^(Expected|Actual)/m);
  });
});

describe('npm run goldens', () => {
  it('prints the lines a golden lost and gained, under the line they start at', () => {
    expect(lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne')).toEqual(['@@ line 2', '-b', '+B', '@@ line 5', '+e']);
    expect(lineDiff('same', 'same')).toEqual([]);
  });
});

describe('text layout', () => {
  it('wraps words and cuts a word longer than the line', () => {
    expect(wrap('aaa bbb ccc', 7, 2)).toEqual(['aaa bbb', '  ccc']);
    expect(wrap('x'.repeat(10), 4)).toEqual(['xxxx', 'xxxx', 'xx']);
  });

  it('splits a long shell command so that it pastes back as one', () => {
    const cmd = 'npx mshare-check replay counterexamples/linux+skip-lazy-on-table-free-no-freed-table-reachable-23323f1a38fc.json';
    const lines = shellLines(cmd);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(WIDTH);
    expect(lines.join('\n').replace(/\\\n/g, '').trimStart()).toBe(cmd);
    expect(lines.slice(1).every((l) => !l.startsWith(' '))).toBe(true);
  });

  it('refuses a line over 72 columns or outside ASCII', () => {
    expect(() => assertPlain('x'.repeat(73))).toThrow(/73 columns/);
    expect(() => assertPlain('caf\u00e9')).toThrow(/ASCII/);
  });
});

describe('mshare-check report', () => {
  const file = join(DIR, files[0]!);
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err };
  };

  it('prints the text report and exits 1 for a violation', async () => {
    const r = await cli('report', file, '--format', 'text');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^mshare-check: /);
    expect(r.out).toContain('-- >8 -- scenario');
  });

  it('prints the JSON report', async () => {
    const r = await cli('report', file, '--format', 'json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).format).toBe('mshare-check/report');
  });

  it('rejects an unknown format with exit 2', async () => {
    const r = await cli('report', file, '--format', 'html');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/unknown --format 'html'/);
  });
});
