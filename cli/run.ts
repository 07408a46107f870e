// Entry point: `npx mshare-check ...` (through cli/bin.js) or `npx tsx cli/run.ts ...`.
// main() maps every error to an exit status; anything that still escapes
// (an async error after main returned) is an internal error, exit 3, never 1.
import { main } from './main.js';

const internal = (e: unknown) => {
  process.stderr.write(`mshare-check: internal error: ${(e as Error)?.message ?? String(e)}; please report it\n`);
  process.exit(3);
};
process.on('uncaughtException', internal);
process.on('unhandledRejection', internal);

process.exitCode = await main(process.argv.slice(2), {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  tty: process.stderr.isTTY ? { write: (s) => process.stderr.write(s), get columns() { return process.stderr.columns; } } : undefined,
});
