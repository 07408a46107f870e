// Regenerates the two generated lists of model/run/step_ids.ts, STEP_IDS
// and FORK_STEP_IDS: every step id the model's paths can yield, collected
// from real runs (fuzzing every policy with properties off, so runs go to
// the end, plus every saved and hand-written scenario) and merged with the
// lists already there. Every other *_STEP_IDS list of that file is kept by
// hand and left as it is (a new one needs no change here).
// `npx tsx bench/step_ids.ts`. model/run/step_ids.test.ts fails when a run
// yields an id missing there.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fuzzedStepIds } from '../campaigns/step_ids.js';
import { POLICIES } from '../model/policies/registry.js';
import { runScenario } from '../model/run/runner.js';
import * as lists from '../model/run/step_ids.js';
import { FORK_STEP_IDS, STEP_IDS } from '../model/run/step_ids.js';
import { loadCounterexample } from '../reports/counterexample.js';
import { parseScenario } from '../reports/scenario_text.js';

const fuzzedOnly = fuzzedStepIds(Number(process.argv[2] ?? 3000), 'step-ids');
const ids = new Set<string>([...STEP_IDS, ...fuzzedOnly]);
for (const f of readdirSync('counterexamples')) for (const s of loadCounterexample(`counterexamples/${f}`).steps) ids.add(s.id);
for (const f of readdirSync('test/scenarios').filter((x) => x.endsWith('.txt'))) {
  const sc = parseScenario(readFileSync(`test/scenarios/${f}`, 'utf8'));
  for (const p of POLICIES) {
    try {
      for (const e of runScenario(sc, { policy: p, properties: [] }).trace) ids.add(e.id);
    } catch {
      // a scenario that does not fit a policy
    }
  }
}
// KVM's and fork's ids stay in their own lists (see their comments): the generator's drawn until= indexes
// STEP_IDS only. An id no fuzzed run without fork yields, seen only in a hand scenario, is fork's.
const fuzzed = new Set([...STEP_IDS, ...ids]);
// every list kept by hand (KVM's, migration's, mremap's, ...): its ids stay in it
const byHand = new Set(Object.entries(lists).flatMap(([name, v]) => (name.endsWith('_STEP_IDS') && name !== 'STEP_IDS' && name !== 'FORK_STEP_IDS' ? (v as readonly string[]) : [])));
const forkIds = [...new Set([...FORK_STEP_IDS, ...[...ids].filter((id) => !STEP_IDS.includes(id) && !byHand.has(id) && !fuzzedOnly.has(id))])].sort();
const sorted = [...fuzzed].filter((id) => !byHand.has(id) && !forkIds.includes(id)).sort();

/** The file with `name`'s array body replaced by `ids`, one per line. */
function withList(text: string, name: string, ids: readonly string[]): string {
  const re = new RegExp(`(export const ${name}: readonly string\\[\\] = \\[\\n)[^\\]]*(\\];)`);
  if (!re.test(text)) throw new Error(`model/run/step_ids.ts: no list ${name}`);
  return text.replace(re, (_, open: string, close: string) => `${open}${ids.map((id) => `  '${id}',\n`).join('')}${close}`);
}

const file = 'model/run/step_ids.ts';
writeFileSync(file, withList(withList(readFileSync(file, 'utf8'), 'STEP_IDS', sorted), 'FORK_STEP_IDS', forkIds));
console.log(`${sorted.length} step ids (${sorted.length - STEP_IDS.length} new)`);
