// Every command output the README quotes is what the current model prints
// (issue 8). A change to the model that alters an output fails here until
// `npm run readme` rewrites the README and the diff is read.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_HELP } from '../cli/help.js';
import { quotedBlocks, README, recordedBlocks, staleBlocks, staleRecords } from '../cli/readme.js';
import { MODEL_VERSION } from '../model/version.js';

const text = readFileSync(README, 'utf8');

describe('README', () => {
  it('quotes real output for the commands it shows', () => {
    const commands = quotedBlocks(text).map((b) => b.args[0]);
    expect(commands).toEqual(expect.arrayContaining(['--help', 'fuzz', 'policies', 'report']));
    for (const b of quotedBlocks(text)) expect(b.output.length, b.args.join(' ')).toBeGreaterThan(0);
  });

  it('matches what the current model prints (run `npm run readme` if not)', async () => {
    expect(await staleBlocks(text)).toEqual([]);
  });

  it('fails when a quoted output changes', async () => {
    const policies = quotedBlocks(text).find((b) => b.args[0] === 'policies')!;
    const lines = text.split('\n');
    lines[policies.command + 1] = lines[policies.command + 1]!.replace('mainline', 'upstream');
    const changed = lines.join('\n');
    expect(changed).not.toBe(text);
    expect(await staleBlocks(changed, (b) => b.args[0] === 'policies')).toEqual([{ line: policies.command + 1, command: 'policies' }]);
  });

  it('copies each recorded campaign from a record of the current model (bench/campaign.ts)', () => {
    expect(recordedBlocks(text).length).toBeGreaterThan(0);
    expect(staleRecords(text, MODEL_VERSION)).toEqual([]);
  });

  it('fails when a recorded block or its record is stale', () => {
    const b = recordedBlocks(text)[0]!;
    const lines = text.split('\n');
    lines[b.command + 1] = `${lines[b.command + 1]} (edited)`;
    const edited = lines.join('\n');
    expect(staleRecords(edited, MODEL_VERSION).map((x) => x.problem)).toEqual([`the block differs from ${b.recorded}: run npm run readme`]);
    expect(staleRecords(text, '0.0.0').map((x) => x.problem)).toEqual(recordedBlocks(text).map(() => expect.stringContaining('is from model')));
  });

  it('names every command in its usage block', () => {
    const help = quotedBlocks(text).find((b) => b.args[0] === '--help')!.output.join('\n');
    for (const cmd of Object.keys(COMMAND_HELP)) expect(help).toContain(`  ${cmd}`);
  });
});
