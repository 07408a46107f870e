// How often the generator's schedules reach a kept mutant's race when the
// operations are given: each mutant's hand scenario (test/mutant_scenarios.ts)
// keeps its setup and threads, and its schedule is replaced by N schedules
// drawn as a fuzz campaign of the variant draws them (scheduleEntry over the
// step ids its kinds index, actors in scheduleActors() order). A hit is a
// run the variant fails and its base policy passes. It separates the two
// halves of a plain-fuzz miss: drawing the operations (the shape) and
// drawing the schedule; a campaign needs both in the same run.
// Usage: npx tsx bench/schedule_odds.ts [--schedules N] [--seed S] [VARIANT ...]

import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import { scheduleActors, scheduleEntry, untilIds } from '../properties/generate/scenario_arb.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { PROPERTIES } from '../properties/registry.js';
import { parseScenario } from '../reports/scenario_text.js';
import { MUTANT_SCENARIOS } from '../test/mutant_scenarios.js';
import { machine } from './machine.js';

const { values, positionals } = parseArgs({ options: { schedules: { type: 'string' }, seed: { type: 'string' } }, allowPositionals: true });
const n = Number(values.schedules ?? 2000);
const seed = Number(values.seed ?? 1);
const names = positionals.length > 0 ? positionals : Object.keys(MUTANT_SCENARIOS).sort();

console.log(`## The generator's schedules over each kept mutant's hand-scenario operations (${n} schedules, fast-check seed ${seed}; ${machine()})\n`);
console.log('| variant | scenario | actors | stop-point ids | hits | first hit |');
console.log('|---|---|---|---|---|---|');
for (const name of names) {
  const m = MUTANT_SCENARIOS[name];
  if (!m) throw new Error(`${name}: no hand scenario in test/mutant_scenarios.ts`);
  const v = await loadVariant(`variants/${name}.ts`);
  const base = policyByName(v.spec.policy ?? 'linux')!;
  const bad = applyVariant(base, v.spec);
  const sc = parseScenario(readFileSync(m.scenario, 'utf8'), m.scenario);
  const actors = scheduleActors(sc.threads, sc.config?.cpus ?? 2, sc.speculation ?? [], sc.kswapd);
  const ids = untilIds(campaignOps(bad).ops);
  const drawn = fc.sample(fc.array(scheduleEntry(ids.length), { maxLength: 24 }), { seed, numRuns: n });
  let hits = 0;
  let first = -1;
  drawn.forEach((entries, i) => {
    const schedule = entries.map((e) => ({ actor: actors[e.actor % actors.length]!, ...('until' in e && e.until !== undefined ? { until: ids[e.until]! } : { steps: e.steps }) }));
    const run = { ...sc, schedule };
    if (runScenario(run, { policy: bad, properties: PROPERTIES }).verdict !== 'violation') return;
    if (runScenario(run, { policy: base, properties: PROPERTIES }).verdict !== 'pass') return;
    hits++;
    if (first < 0) first = i;
  });
  console.log(`| ${name} | ${m.scenario.replace('test/scenarios/', '')} | ${actors.length} | ${ids.length} | ${hits} / ${n} | ${first < 0 ? '-' : first} |`);
}
