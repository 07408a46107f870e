// A plain rendering of a counterexample file, until the full mailing-list
// report (race diagram, expected against actual) replaces it.

import type { CounterexampleFile } from './counterexample.js';
import { printScenario } from './scenario_text.js';

export function renderPlain(cx: CounterexampleFile, path: string): string {
  const v = cx.verdict;
  const who = cx.variant ? `${cx.policy}+${cx.variant.name} (variant ${cx.variant.file}, sha256 ${cx.variant.sha256.slice(0, 12)})` : cx.policy;
  const out = [
    `mshare-check counterexample`,
    `policy:  ${who}`,
    `model:   ${cx.modelVersion} (file format ${cx.version})`,
    cx.campaign ? `found:   fuzz --seed ${cx.campaign.seed}, run ${cx.campaign.runIndex} (run seed ${cx.campaign.runSeed})` : `found:   by hand`,
    `replay:  npx mshare-check replay ${path}`,
    '',
    v.result === 'violation' ? `VIOLATION ${v.property} at step ${v.step} (${v.actor}: ${v.stepId})` : v.result === 'model-error' ? `MODEL ERROR: ${v.message}` : 'no violation',
  ];
  if (v.result === 'violation') out.push(`  ${v.message}`);
  out.push('', 'scenario:', ...printScenario(cx.scenario).trimEnd().split('\n').map((l) => `  ${l}`), '', 'steps:');
  for (const s of cx.steps) out.push(`  ${String(s.n).padStart(4)}  ${s.actor.padEnd(9)} ${s.id}`);
  out.push('', 'Found by a model (mshare-check), not observed on hardware.');
  return out.join('\n') + '\n';
}
