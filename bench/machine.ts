// The machine a measurement ran on, as bench/run.ts and bench/campaign.ts
// print it beside their figures.

import { cpus, totalmem } from 'node:os';

export const machine = (): string => `${cpus().length} x ${cpus()[0]!.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
