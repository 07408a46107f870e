import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linux } from '../policies/linux.js';
import { applyVariant, defineVariant, VariantError } from '../policies/variant.js';
import { runScenario } from '../run/runner.js';
import { PROPERTIES } from '../../properties/registry.js';
import { file, munmap, proc, read, run, scenario, shared, thread, until } from '../../test/build.js';
import { DECISION_IDS } from './decisions.js';

const ROOT = join(import.meta.dirname, '../..');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((f) => (f.isDirectory() ? sources(join(dir, f.name)) : f.name.endsWith('.ts') && !f.name.endsWith('.test.ts') ? [readFileSync(join(dir, f.name), 'utf8')] : []));

const X = 0x10000;
// Two pages of a shared file cached on both CPUs, then munmap of both (test/mutants.test.ts).
const unmapTwoCached = () =>
  scenario({
    setup: [proc('P0'), file('F', 2), shared('P0', X, 2, 'F')],
    threads: [thread('T0', 'P0', 0, read(X), read(X + 0x1000), munmap(X, 2)), thread('T1', 'P0', 1, read(X), read(X + 0x1000))],
    schedule: [until('T0', 'user_access.walk'), until('T0', 'user_access.walk'), run('T1'), run('T0')],
  });

const variant = (edit: Parameters<typeof defineVariant>[0]['edit']) => applyVariant(linux, defineVariant({ name: 'd', description: 'd', edit }));

describe('decision points', () => {
  it('are exactly the points the model asks about', () => {
    const asked = new Set(sources(join(ROOT, 'model')).flatMap((t) => [...t.matchAll(/\bdecide\(\s*'([^']+)'/g)].map((m) => m[1]!)));
    expect([...asked].sort()).toEqual([...DECISION_IDS].sort());
  });

  it('refuses an unknown point, naming the nearest', () => {
    expect(() => variant((v) => v.decide('flush_tlb_func.next_strides', () => false))).toThrow(VariantError);
    expect(() => variant((v) => v.decide('flush_tlb_func.next_strides', () => false))).toThrow(/no decision point 'flush_tlb_func.next_strides' \(did you mean 'flush_tlb_func.next_stride'\?\)/);
  });

  it('hands the override the kernel value and changes nothing when it returns it', () => {
    const asked: [boolean, Record<string, unknown>][] = [];
    const same = variant((v) => v.decide('flush_tlb_func.next_stride', (_k, more, at) => (asked.push([more, { ...at }]), more)));
    const sc = unmapTwoCached();
    const a = runScenario(sc, { policy: linux, properties: PROPERTIES });
    const b = runScenario(sc, { policy: same, properties: PROPERTIES });
    expect(b.trace).toEqual(a.trace);
    expect(asked.length).toBeGreaterThan(1);
    expect(asked.at(-1)![0]).toBe(false); // the loop's last test: addr reached end
    expect(asked[0]![1]).toMatchObject({ addr: asked[0]![1].start });
  });

  it('overrides the condition where the step asks it (first-stride-only, without copying flush_tlb_func)', () => {
    const r = runScenario(unmapTwoCached(), { policy: variant((v) => v.decide('flush_tlb_func.next_stride', (_k, more, at) => more && at.addr === at.start)), properties: PROPERTIES });
    expect(r.violation).toMatchObject({ property: 'unmap-complete' });
  });
});
