// Every "Kernel rule" line a report prints cites a commit or a kernel
// function from the known tables (citations.ts), and every document of the
// repository it points to exists and holds the item it names.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROPERTIES } from '../properties/registry.js';
import { citationsIn, KNOWN_COMMITS, markdownItems, ruleProblems } from './citations.js';

const items = (doc: string) => (existsSync(doc) ? markdownItems(readFileSync(doc, 'utf8')) : null);

describe('kernel rule citations', () => {
  for (const p of PROPERTIES) {
    it(`${p.id}: cites known commits and functions, and documents that hold what it names`, () => {
      expect(ruleProblems(p.rule, items)).toEqual([]);
    });
  }

  it('finds the items of the repository documents', () => {
    expect(items('docs/kernel-facts.md')).toEqual(expect.arrayContaining(['F1', 'F8', 'R1', 'R2', 'S']));
    expect(items('docs/mshare-hazards.md')).toEqual(Array.from({ length: 23 }, (_, i) => String(i + 1)));
  });

  it('refuses a rule that cites nothing, an unknown commit or function, or a missing document or item', () => {
    expect(ruleProblems('flush before you free', items)).toEqual(['cites no commit and no function']);
    expect(ruleProblems('see commit 0123456789ab and tlb_finish_mmu()', items)).toEqual(['unknown commit 0123456789ab']);
    expect(ruleProblems('tlb_finish_mum() flushes', items)).toEqual(['unknown function tlb_finish_mum()']);
    expect(ruleProblems('tlb_finish_mmu(); docs/kernel-fact.md F1', items)).toEqual(['no document docs/kernel-fact.md']);
    expect(ruleProblems('tlb_finish_mmu(); docs/kernel-facts.md F1, F99', items)).toEqual(['docs/kernel-facts.md has no item F99']);
    expect(ruleProblems('find_shared_vma(); docs/mshare-hazards.md 1, 24', items)).toEqual(['docs/mshare-hazards.md has no item 24']);
  });

  it('reads commits as 12 hex digits and functions as name()', () => {
    expect(citationsIn('commit 2ff6ddf19c0e; pte_free_tlb() + tlb_remove_table()')).toEqual({ commits: ['2ff6ddf19c0e'], functions: ['pte_free_tlb', 'tlb_remove_table'] });
    for (const [id, subject] of Object.entries(KNOWN_COMMITS)) {
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      expect(subject.length).toBeGreaterThan(10);
    }
  });
});
