// The variant loader's rewrite: every loop kind charged to the budget,
// relative imports pinned to the model's own modules, bare ones kept.

import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instrumentVariant } from './instrument.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AT = `${ROOT}variants/example.ts`;
const BUDGET = `${ROOT}model/policies/variant_budget.ts`;
const out = (src: string) => instrumentVariant(src, AT, BUDGET);
const ticks = (js: string) => js.match(/__mshareCheckTick\(\)/g)?.length ?? 0;

describe('instrumentVariant', () => {
  it('charges every kind of loop, nested ones too', () => {
    const js = out(`
      for (let i = 0; i < 3; i++) {}
      for (const x of [1]) x;
      for (const k in {}) k;
      while (false) {}
      do {} while (false);
      for (;;) { for (;;) break; break; }
    `);
    expect(ticks(js)).toBe(7);
    expect(js).toContain(`import { tickVariantBudget as __mshareCheckTick } from "${pathToFileURL(BUDGET).href}"`);
  });

  it('adds nothing to code without loops but the import', () => {
    expect(ticks(out('export const x = 1;'))).toBe(0);
  });

  it('pins relative imports, re-exports and import() to absolute URLs, preferring the .ts source', () => {
    const js = out(`import { defineVariant } from '../model/policies/variant.js';
      export { step } from '../model/kernel/step.js';
      const m = import('./other.js');
      import { readFileSync } from 'node:fs';
      export default defineVariant({ name: 'x', description: 'x', edit: () => { readFileSync; m; } });`);
    expect(js).toContain(`from "${pathToFileURL(`${ROOT}model/policies/variant.ts`).href}"`);
    expect(js).toContain(`from "${pathToFileURL(`${ROOT}model/kernel/step.ts`).href}"`);
    expect(js).toContain(`import("${pathToFileURL(`${ROOT}variants/other.js`).href}")`); // no .ts beside it: kept as written
    expect(js).toContain(`from 'node:fs'`);
    expect(js).not.toMatch(/from '\.\.?\//);
  });

  it('emits JavaScript with an inline source map naming the variant file', () => {
    const js = out('const n: number = 1; export default n;');
    expect(js).not.toContain(': number');
    const map = JSON.parse(Buffer.from(/sourceMappingURL=data:application\/json;base64,(\S+)/.exec(js)![1]!, 'base64').toString());
    expect(map.sources).toEqual(['example.ts']);
    expect(map.sourceRoot).toBe(pathToFileURL(`${ROOT}variants`).href + '/');
  });
});
