// Entry point: `npx mshare-check ...` (through cli/bin.js) or `npx tsx cli/run.ts ...`.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
});
