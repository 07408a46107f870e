// Which cells the matrix runs and what each draws (cellOps): KVM's
// properties only look at KVM state, so their cells draw VMs, and a
// policy whose generator draws none has no such cell rather than a
// "holds" with nothing checked.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { POLICIES } from '../model/policies/registry.js';
import { opKindsAccepted, opKindsFor } from '../properties/generate/scenario_arb.js';
import { PROPERTIES, propertyById, SECONDARY_MMU_PROPERTIES } from '../properties/registry.js';
import { cellOps, computeMatrix, matrixCells } from './matrix.js';

describe('matrix cells', () => {
  it('draws VMs in the cells of the KVM properties and nowhere else', () => {
    for (const p of POLICIES) {
      for (const prop of PROPERTIES) {
        const ops = cellOps(p, prop);
        if (!SECONDARY_MMU_PROPERTIES.includes(prop.id)) expect(ops).toEqual(opKindsFor(p.mshare));
        else if (opKindsAccepted(p.mshare).includes('vm')) expect(ops).toEqual([...opKindsFor(p.mshare), 'vm']);
        else expect(ops).toBeNull();
      }
    }
    expect(matrixCells({ policies: [linux], properties: PROPERTIES })).toHaveLength(PROPERTIES.length);
  });

  it("a KVM cell on linux checks something: its runs reach KVM's counters", () => {
    const m = computeMatrix({ policies: [linux], properties: [propertyById('secondary-subset')!], seed: 'matrix-kvm', runsPerCell: 60 });
    expect(m.cells.map((c) => [c.property, c.found.length])).toEqual([['secondary-subset', 0]]);
    expect(m.coverage.linux!.kvm_spte_zapped_in_start).toBeGreaterThan(0);
  });
});
