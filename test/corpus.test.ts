// Replays every saved counterexample: a verdict that changes fails the
// build (SPEC 7). Variants come from the source embedded in each file.

import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCorpusVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { checkedProperties, loadCounterexample, verdictOf } from '../reports/counterexample.js';
import { propertyById } from '../properties/registry.js';
import { PROPERTIES } from '../properties/registry.js';

const DIR = 'counterexamples';
const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('saved counterexamples replay with the same verdict', () => {
  it('has a corpus to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it('trusts only files of variants/: byte for byte, or as edited since for a re-search, never another path', async () => {
    const withVariant = files.map((f) => loadCounterexample(join(DIR, f))).find((cx) => cx.variant)!.variant!;
    const stale = { ...withVariant, source: `${withVariant.source}\n// edited since`, sha256: sha256(`${withVariant.source}\n// edited since`) };
    await expect(loadCorpusVariant(stale)).rejects.toThrow(/the local file differs from the embedded variant/);
    expect((await loadCorpusVariant(stale, { edited: true })).sha256).toBe(withVariant.sha256); // the file as it is now
    const elsewhere = { ...stale, file: 'bench/research_corpus.ts' };
    await expect(loadCorpusVariant(elsewhere, { edited: true })).rejects.toThrow(/not a file of variants\//);
  });

  for (const f of files) {
    it(f, async () => {
      const cx = loadCounterexample(join(DIR, f));
      const base = policyByName(cx.policy);
      expect(base, `policy ${cx.policy}`).toBeDefined();
      const policy = cx.variant ? applyVariant(base!, (await loadCorpusVariant(cx.variant)).spec) : base!;
      const r = runScenario(cx.scenario, { policy, properties: checkedProperties(cx, propertyById) ?? PROPERTIES });
      expect(verdictOf(r)).toEqual(cx.verdict);
      expect(r.trace.map((e) => ({ n: e.n, actor: e.actor, id: e.id }))).toEqual(cx.steps);
    });
  }
});
