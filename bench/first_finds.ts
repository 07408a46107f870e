// The plain-fuzz half of `npm run bench`'s kept-mutant table, alone: for
// each kept mutant, the first run of `fuzz --variant F --runs N --seed
// bench` (the default generator, no feedback) that the variant fails and
// its base policy passes, with the wall time to it. One row per variant as
// it finishes, so a long re-measurement can be read while it runs.
// Usage: npx tsx bench/first_finds.ts [--runs N] [VARIANT ...] (default: every file of variants/)

import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fuzz } from '../campaigns/fuzz.js';
import { loadVariant } from '../model/policies/load_variant.js';
import { policyByName } from '../model/policies/registry.js';
import { applyVariant } from '../model/policies/variant.js';
import { MODEL_VERSION } from '../model/version.js';
import { campaignOps } from '../properties/generate/variant_ops.js';
import { machine } from './machine.js';

const { values, positionals } = parseArgs({ options: { runs: { type: 'string' } }, allowPositionals: true });
const runs = Number(values.runs ?? 20000);
const names = positionals.length > 0 ? positionals : readdirSync('variants').filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();

console.log(`## Plain fuzz, first find per kept mutant (model ${MODEL_VERSION}, seed "bench", up to ${runs} runs; ${machine()})\n`);
console.log('| variant | opt-in kinds added | first find | wall s (with the shrink) | signature |');
console.log('|---|---|---|---|---|');
let found = 0;
for (const name of names) {
  const v = await loadVariant(`variants/${name}.ts`);
  const base = policyByName(v.spec.policy ?? 'linux')!;
  const policy = applyVariant(base, v.spec);
  const t = process.hrtime.bigint();
  const r = fuzz({ policy, seed: 'bench', runs, base });
  const s = (Number(process.hrtime.bigint() - t) / 1e9).toFixed(0);
  const kinds = campaignOps(policy).added.map((a) => a.kind).join(', ') || '-';
  if (r.finding) found++;
  console.log(`| ${v.spec.name} | ${kinds} | ${r.finding ? `run ${r.finding.runIndex}` : 'not found'} | ${s} | ${r.finding ? r.finding.signature.replaceAll('|', ' / ') : ''} |`);
}
console.log(`\nFound ${found} of ${names.length}.`);
