// How often the generator's schedules reach a kept mutant's race when the
// operations are given: each mutant's hand scenario (test/mutant_scenarios.ts)
// keeps its setup and threads, and its schedule is replaced by N schedules
// drawn as a fuzz campaign of the variant draws them (scheduleEntry over the
// step ids its kinds index, actors in scheduleActors() order). A hit is a
// run the variant fails and its base policy passes. It separates the two
// halves of a plain-fuzz miss: drawing the operations (the shape) and
// drawing the schedule; a campaign needs both in the same run.
// --free N appends to each drawn schedule N free switches: entries without
// a count, actors drawn from the same 16 indices modulo the actors (an
// entry runs its actor until it blocks or ends and is skipped when it
// cannot run, so each switch picks among the runnable actors, uniformly
// but for that modulo's bias), drawn from a
// seedrandom stream of their own so the preemption points stay the ones
// drawn without it. It measures what a random walk over the free switches
// (the choices an explorer makes at no preemption cost) would add, where
// the runner otherwise resumes the stopped actor, then canonical order.
// Usage: npx tsx bench/schedule_odds.ts [--schedules N] [--seed S] [--free N] [VARIANT ...]

import fc from 'fast-check';
import seedrandom from 'seedrandom';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { runScenario } from '../model/run/runner.js';
import type { Scenario } from '../model/run/scenario.js';
import { scheduleActors, scheduleEntry, untilIds } from '../properties/generate/scenario_arb.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { PROPERTIES } from '../properties/registry.js';
import { parseScenario } from '../reports/scenario_text.js';
import { MUTANT_SCENARIOS } from '../test/mutant_scenarios.js';
import { machine } from './machine.js';

const { values, positionals } = parseArgs({ options: { schedules: { type: 'string' }, seed: { type: 'string' }, free: { type: 'string' } }, allowPositionals: true });
const n = Number(values.schedules ?? 2000);
const seed = Number(values.seed ?? 1);
const free = Number(values.free ?? 0);
const names = positionals.length > 0 ? positionals : Object.keys(MUTANT_SCENARIOS).sort();

console.log(`## The generator's schedules over each kept mutant's hand-scenario operations (${n} schedules, fast-check seed ${seed}${free > 0 ? `, ${free} free switches appended` : ''}; ${machine()})\n`);
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
    const schedule: Scenario['schedule'] = entries.map((e) => ({ actor: actors[e.actor % actors.length]!, ...('until' in e && e.until !== undefined ? { until: ids[e.until]! } : { steps: e.steps }) }));
    const rng = seedrandom(`free/${seed}/${i}`);
    for (let j = 0; j < free; j++) schedule.push({ actor: actors[Math.floor(rng() * 16) % actors.length]! });
    const run = { ...sc, schedule };
    if (runScenario(run, { policy: bad, properties: PROPERTIES }).verdict !== 'violation') return;
    if (runScenario(run, { policy: base, properties: PROPERTIES }).verdict !== 'pass') return;
    hits++;
    if (first < 0) first = i;
  });
  console.log(`| ${name} | ${m.scenario.replace('test/scenarios/', '')} | ${actors.length} | ${ids.length} | ${hits} / ${n} | ${first < 0 ? '-' : first} |`);
}
