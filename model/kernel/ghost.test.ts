// ghost.ts: the oracle's bookkeeping walks only live tables, so a link
// into a freed table (a finding of no-freed-table-reachable) cannot crash
// a run that checks another property (found by `matrix --policy
// mshare-rfc-v3 --runs 1500 --seed knobs`, protect-complete cell: a model
// error in findTable()).

import { describe, expect, it } from 'vitest';
import { policyByName } from '../policies/registry.js';
import { runScenario } from '../run/runner.js';
import { propertyById } from '../../properties/registry.js';
import { parseScenario } from '../../reports/scenario_text.js';

// P0 links the region, the host frees its PUD table (CREATE_MAPPING over the only mapping,
// no share count), and a madvise through the window is invoked with P0's entry still pointing at it.
const sc = parseScenario(`config cpus=1 pcids=1
process P0
process P1
msharefs M owner=P1
mshare_map M offset=0 pages=1 prot=rw
thread T0 P0 cpu=0
  attach M 0x40000
  write 0x43000
  mshare_map M offset=0 pages=1 prot=rw
thread T1 P0 cpu=0
  madvise 0x41000 pages=1
schedule
  T0
  rcu
`, 'ghost-freed-table');

describe('ghost.ts mappedAtInvoke', () => {
  it('records nothing through a link into a freed table, where no-freed-table-reachable reports it', () => {
    const pc = runScenario(sc, { policy: policyByName('mshare-rfc-v3')!, properties: [propertyById('protect-complete')!] });
    expect(pc.error).toBeNull();
    expect(pc.verdict).toBe('pass');
    expect(pc.trace.map((e) => e.id)).toContain('sys_madvise.return');
    const tables = runScenario(sc, { policy: policyByName('mshare-rfc-v3')!, properties: [propertyById('no-freed-table-reachable')!] });
    expect(tables.violation).toMatchObject({ property: 'no-freed-table-reachable', holder: 'upper entry' });
  });
});
