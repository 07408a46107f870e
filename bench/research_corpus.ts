// npx tsx bench/research_corpus.ts: after a model-version change, replay
// every saved counterexample; one whose verdict changed is re-searched
// (SPEC 7): its operations are kept, a schedule reproducing the same
// signature is searched within the preemption bound, the result is shrunk
// and saved under its new content name, and only then is the stale file
// removed. A file that cannot be re-searched is left in place and listed.

import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpusVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { propertyById } from '../properties/registry.js';
import { buildCounterexample, checkedProperties, loadCounterexample, render, saveCounterexample, verdictOf } from '../reports/counterexample.js';
import { Oracle } from '../shrinkers/oracle.js';
import { shrink } from '../shrinkers/pipeline.js';
import { searchSchedule } from '../shrinkers/schedule_search.js';
import { PROPERTIES } from '../properties/registry.js';

const DIR = 'counterexamples';
const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
for (const f of readdirSync(DIR).filter((x) => x.endsWith('.json')).sort()) {
  const path = join(DIR, f);
  const cx = loadCounterexample(path);
  // a kept mutant edited since the file was saved (the model's API moved): re-search with the
  // variant as it is now, which the new file then embeds
  const variant = cx.variant ? await loadCorpusVariant(cx.variant, { edited: true }) : null;
  const edited = cx.variant !== undefined && cx.variant !== null && variant !== null && variant.sha256 !== cx.variant.sha256;
  const policy = variant ? applyVariant(policyByName(cx.policy)!, variant.spec) : policyByName(cx.policy)!;
  const properties = checkedProperties(cx, propertyById) ?? PROPERTIES;
  const now = runScenario(cx.scenario, { policy, properties });
  if (!edited && same(verdictOf(now), cx.verdict) && now.trace.length === cx.steps.length) continue;
  const found = searchSchedule({ ...cx.scenario, schedule: [] }, new Oracle(policy, cx.signature, properties), { maxRuns: 20000 }) ?? (runScenario(cx.scenario, { policy, properties }).violation ? { scenario: cx.scenario } : null);
  if (!found) {
    console.log(`STALE, not re-found: ${path}`);
    continue;
  }
  const shrunk = shrink(found.scenario, policy, cx.signature, { properties });
  const next = buildCounterexample({ policy: cx.policy, variant, campaign: cx.campaign, signature: cx.signature, scenario: shrunk.scenario, result: shrunk.result, properties: cx.properties });
  const saved = saveCounterexample(DIR, next);
  if (saved.path === path.replace(/\.json$/, '-2.json')) {
    // the same content name: the new file takes the old one's place
    renameSync(saved.path, path);
    console.log(`re-searched: ${path} (replaced)`);
    continue;
  }
  if (saved.path !== path) unlinkSync(path);
  else if (!saved.created) {
    // the same scenario under the same name: replace the stale verdict and steps atomically
    writeFileSync(`${path}.tmp-${process.pid}`, render(next));
    renameSync(`${path}.tmp-${process.pid}`, path);
  }
  console.log(`re-searched: ${path} -> ${saved.path}`);
}
