// npx tsx bench/campaign.ts NAME ARGS...: run a long campaign once and
// record it in docs/campaigns/NAME.txt, with the command, the model
// version, the machine and the wall time above what the command printed.
// The README quotes such a record in a block marked
// `<!-- recorded in docs/campaigns/NAME.txt -->`; `npm run readme` copies
// it and test/readme.test.ts checks the copy and that the record is from
// the current model, since a campaign this long cannot run inside npm test.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.js';
import { MODEL_VERSION } from '../model/version.js';
import { machine } from './machine.js';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z0-9-]+$/.test(name) || args.length === 0) {
  console.error('usage: npx tsx bench/campaign.ts NAME mshare-check-args...');
  process.exit(2);
}
const out: string[] = [];
const t = process.hrtime.bigint();
const code = await main(args, { out: (l) => out.push(...l.split('\n')), err: (l) => process.stderr.write(`${l}\n`) });
const s = Number((process.hrtime.bigint() - t) / 1_000_000n) / 1000;
const header = [
  `# command: npx mshare-check ${args.join(' ')}`,
  `# model: ${MODEL_VERSION}`,
  `# machine: ${machine()}`,
  `# wall time: ${s.toFixed(0)} s, exit status ${code}`,
];
writeFileSync(`docs/campaigns/${name}.txt`, [...header, ...out].join('\n') + '\n');
console.log(`docs/campaigns/${name}.txt: ${out.length} lines, ${s.toFixed(0)} s`);
