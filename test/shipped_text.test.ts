// The text this repository ships stands on its own (issue 16, item 6):
// the README, docs/, the golden reports, every property's kernel rule and
// the --help texts name no file outside the repository (no ../shared, no
// research notes, no SPEC sections), and every repository path they quote
// in backticks exists.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_HELP, USAGE } from '../cli/help.js';
import { PROPERTIES } from '../properties/registry.js';

const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));

const TEXTS: [string, string][] = [
  ['README.md', readFileSync('README.md', 'utf8')],
  ...walk('docs').filter((f) => /\.(md|txt)$/.test(f)).map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
  ...walk('reports/__snapshots__').map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
  ...PROPERTIES.map((p): [string, string] => [`rule of ${p.id}`, p.rule]),
  ['--help', [USAGE, ...Object.values(COMMAND_HELP)].join('\n')],
];

/** A reference to something a reader of the repository does not have. */
const OUTSIDE = /\.\.\/shared|\bshared\/research|\bresearch\/[A-Za-z0-9_-]+\.md|\bSPEC( section)? \d|\/work\/|testing-anchors\.md|aesthetics\.md/;

/** Known exceptions, each with its reason: none left (the last two, knob sources naming the research notes, now cite only their patch). */
const EXCEPTIONS: string[] = [];

describe('shipped text', () => {
  for (const [name, text] of TEXTS) {
    it(`${name} names nothing outside the repository`, () => {
      const lines = text.split('\n').filter((l) => OUTSIDE.test(l) && !EXCEPTIONS.some((x) => l.includes(x)));
      expect(lines).toEqual([]);
    });
  }

  it('shows a screenshot of a real report in the README', () => {
    expect(TEXTS[0]![1]).toContain('](docs/report-html.png)');
    expect(statSync('docs/report-html.png').size).toBeGreaterThan(10_000);
  });


  it('quotes only repository paths that exist', () => {
    const missing: string[] = [];
    for (const [name, text] of TEXTS) {
      for (const m of text.matchAll(/`((?:docs|counterexamples|variants|model|reports|properties|test|cli|bench|campaigns|shrinkers)\/[^`\s]*)`/g)) {
        const p = m[1]!.replace(/[.,:;)]+$/, '');
        if (/[*<]/.test(p)) continue; // a pattern (properties/*.test.ts), not a path
        if (!existsSync(p)) missing.push(`${name}: ${p}`);
      }
      // Images and links: ![alt](docs/x.png), [text](docs/y.md), relative to the file's folder.
      for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // a URL
        const p = name.includes('/') && !name.startsWith('rule') ? join(name.slice(0, name.lastIndexOf('/')), target) : target;
        if (!existsSync(p)) missing.push(`${name}: ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
