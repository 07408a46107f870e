// The state after each step (Report.states) and the swimlanes
// (Report.lanes): what the HTML report's cursor and lanes show.

import { describe, expect, it } from 'vitest';
import { linux } from '../model/policies/linux.js';
import { runScenario } from '../model/run/runner.js';
import { PROPERTIES } from '../properties/registry.js';
import { buildCounterexample } from './counterexample.js';
import { lanesOf } from './lanes.js';
import { buildReport } from './report.js';
import { parseScenario } from './scenario_text.js';

const reportOf = (text: string) => {
  const sc = parseScenario(text, 'x.txt');
  const result = runScenario(sc, { policy: linux, properties: PROPERTIES });
  return buildReport(buildCounterexample({ policy: 'linux', variant: null, campaign: null, signature: 'x', scenario: sc, result }), 'x.json', linux);
};

/** A run with neither a VM nor a device: the panels of the secondary MMU and the devices are absent. */
const PLAIN = `# mshare-check scenario v1
process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
`;

describe('the state after each step', () => {
  const r = reportOf(`# mshare-check scenario v1
config pcids=1
process P0
mmap P0 0x10000 pages=1 prot=rw
thread T0 P0 cpu=0
  write 0x10000
  numa_scan
  munmap 0x10000 pages=1
`);
  const at = (id: string) => r.states[r.steps.find((s) => s.id === id)!.n]!;

  it('has the initial state and one state per step', () => {
    expect(r.states).toHaveLength(r.steps.length + 1);
    expect(r.states.map((s) => s.step)).toEqual(r.states.map((_, i) => i));
    expect(r.states[0]!.mms.find((m) => m.mm === 'P0')!.ptes).toEqual([]);
  });

  it('shows the PTE, then the TLB entry, after the write', () => {
    const st = at('user_access.walk');
    expect(st.mms.find((m) => m.mm === 'P0')!.ptes).toEqual([expect.stringMatching(/^0x10000 -> frame \d+, PTE table \d+$/)]);
    expect(st.cpus[0]!.slots[0]!.tlb).toEqual([expect.stringMatching(/^0x10000 -> frame \d+$/)]);
    expect(st.cpus[0]!.slots[0]!.loaded).toBe(true);
    expect(st.mms.find((m) => m.mm === 'P0')!.cpumask).toEqual([0]);
  });

  it('shows a PROT_NONE PTE as prot none, never as (r)', () => {
    const none = r.states.flatMap((s) => s.mms.flatMap((m) => m.ptes)).filter((p) => p.includes('prot none'));
    expect(none.length).toBeGreaterThan(0);
    expect(r.states.flatMap((s) => s.mms.flatMap((m) => m.ptes)).filter((p) => p.includes('(r)'))).toEqual([]);
  });

  it('opens a window at a call and closes it at its return, and shows the locks held', () => {
    const inv = r.steps.find((s) => s.id === 'sys_munmap')!;
    expect(inv.op).toMatch(/^munmap /);
    expect(r.states[inv.n]!.windows).toEqual([`T0: ${inv.op} (since step ${inv.n})`]);
    expect(r.states[inv.n - 1]!.windows).toEqual([]);
    expect(r.states[r.steps.find((s) => s.id === 'sys_munmap.return')!.n]!.windows).toEqual([]);
    const locked = r.steps.find((s) => s.n > inv.n && s.locks.length > 0)!;
    expect(r.states[locked.n]!.locks.some((l) => l.startsWith('mmap_lock:P0') && l.endsWith('held by T0'))).toBe(true);
  });

  it('names the mms that reach each page table', () => {
    const st = at('user_access.walk');
    expect(st.tables.length).toBeGreaterThanOrEqual(4);
    for (const t of st.tables) expect(t.sharers).toEqual(['P0']);
  });
});

describe('the secondary MMU in the state after each step', () => {
  const r = reportOf(`# mshare-check scenario v1
config cpus=2 pcids=1
process P0
mmap P0 0x10000 pages=1 prot=rw
vm V0 P0 slots=0@0x10000+1
thread T0 P0 cpu=0
  guest_write V0 gfn=0
thread T1 P0 cpu=1
  madvise 0x10000 pages=1
`);
  const at = (id: string) => r.states[r.steps.find((s) => s.id === id)!.n]!;

  it('shows the SPTE the fault installs and the guest-TLB entry the TDP walk fills, tagged by vCPU and VM', () => {
    expect(r.states[0]!.kvm).toEqual({ vms: [expect.objectContaining({ vm: 'V0', mm: 'P0', memslots: ['gfn 0-0 -> hva 0x10000'], sptes: [], mmuInvalidateSeq: 0, mmuInvalidateInProgress: 0, mmuInvalidateRange: 'none' })], vcpus: [], guestTlb: [{ cpu: 0, entries: [] }, { cpu: 1, entries: [] }], guestPsc: [{ cpu: 0, entries: [] }, { cpu: 1, entries: [] }] });
    expect(at('tdp_mmu_map_handle_target_level').kvm!.vms[0]!.sptes).toEqual([expect.stringMatching(/^gfn 0 -> frame \d+ \(hva 0x10000\)$/)]);
    const walk = at('guest_access.tdp_walk').kvm!;
    expect(walk.guestTlb[0]!.entries).toEqual([expect.stringMatching(/^T0 \(V0\): gfn 0 -> frame \d+$/)]);
    expect(walk.vcpus).toEqual([{ vcpu: 'T0', vm: 'V0', cpu: 0, mode: 'IN_GUEST_MODE', inGuest: true, requests: [], kicked: false, root: expect.any(Number) }]);
    // the walk started from the vCPU's root, whose page table it cached
    const root = walk.vcpus[0]!.root!;
    expect(walk.vms[0]!.roots).toEqual([expect.stringMatching(new RegExp(`^root frame ${root}, page table frame \\d+, refs 2$`))]);
    expect(walk.guestPsc[0]!.entries).toEqual([expect.stringMatching(new RegExp(`^T0 \\(V0\\): root frame ${root} -> page table frame \\d+$`))]);
  });

  it('shows the invalidation open over the gfn, the zap, and the flush request the zap leaves for the vCPU', () => {
    const begin = at('kvm_mmu_invalidate_begin').kvm!.vms[0]!;
    expect(begin).toMatchObject({ mmuInvalidateInProgress: 1 });
    const zap = at('tdp_mmu_zap_leafs').kvm!;
    expect(zap.vms[0]).toMatchObject({ sptes: [], mmuInvalidateRange: 'gfn 0-0' });
    const req = at('kvm_make_all_cpus_request.kvm_make_request').kvm!;
    expect(req.vcpus[0]!.requests).toEqual(['KVM_REQ_TLB_FLUSH']);
    expect(at('kvm_mmu_invalidate_end').kvm!.vms[0]).toMatchObject({ mmuInvalidateSeq: 1, mmuInvalidateInProgress: 0, mmuInvalidateRange: 'none' });
  });

  it('is absent from the states of a run without a VM', () => {
    const plain = reportOf(PLAIN);
    expect(plain.states.filter((st) => 'kvm' in st)).toEqual([]);
    expect(plain.actors.filter((a) => 'vcpu' in a)).toEqual([]);
  });
});

describe('swimlanes', () => {
  it('gives each CPU a lane, and each hardware actor its own beside its CPU; rcu last', () => {
    const lanes = lanesOf(
      [
        { name: 'rcu', kind: 'rcu', cpu: null, proc: null },
        { name: 'sb@cpu1', kind: 'sb', cpu: 1, proc: null },
        { name: 'T1', kind: 'thread', cpu: 1, proc: 'P0' },
        { name: 'ipi@cpu0', kind: 'ipi', cpu: 0, proc: null },
        { name: 'T0', kind: 'thread', cpu: 0, proc: 'P0' },
        { name: 'T2', kind: 'thread', cpu: 0, proc: 'P1' },
        { name: 'spec@cpu1', kind: 'spec', cpu: 1, proc: null },
      ],
      3,
    );
    expect(lanes.map((l) => [l.id, l.actors])).toEqual([
      ['cpu0', ['T0', 'T2']],
      ['ipi@cpu0', ['ipi@cpu0']],
      ['cpu1', ['T1']],
      ['spec@cpu1', ['spec@cpu1']],
      ['sb@cpu1', ['sb@cpu1']],
      ['cpu2', []],
      ['rcu', ['rcu']],
    ]);
    expect(lanes[0]!.title).toBe('CPU0: T0 (P0), T2 (P1)');
    expect(lanes[4]!.title).toBe('sb@cpu1: store buffer');
  });

  it('gives a vCPU thread its own lane beside its CPU, before the CPU\'s hardware actors', () => {
    const lanes = lanesOf(
      [
        { name: 'ipi@cpu0', kind: 'ipi', cpu: 0, proc: null },
        { name: 'T0', kind: 'thread', cpu: 0, proc: 'P0' },
        { name: 'T3', kind: 'thread', cpu: 0, proc: 'P0', vcpu: 'V0' },
      ],
      1,
    );
    expect(lanes.map((l) => [l.id, l.kind, l.actors])).toEqual([
      ['cpu0', 'cpu', ['T0']],
      ['vcpu-T3', 'vcpu', ['T3']],
      ['ipi@cpu0', 'ipi', ['ipi@cpu0']],
    ]);
    expect(lanes[1]!.title).toBe('T3 (P0): vCPU of V0 on CPU0');
  });
});

describe('an IOMMU SVA device in the state after each step', () => {
  // test/scenarios/sva-psc-table-freed.txt: the IOMMU walk fills the ATC and the PSC, munmap's flush reaches them
  const r = reportOf(`# mshare-check scenario v1
config cpus=2
process P0
mmap P0 0x10000 pages=1 prot=rw
sva_bind D0 P0
thread T0 P0 cpu=0
  write 0x10000
  munmap 0x10000 pages=1
thread D P0 cpu=1
  dma_read D0 0x10000
schedule
  T0 until=user_access.walk
  D until=iommu_dma_access.walk
  T0
`);
  const at = (id: string) => r.states[r.steps.find((s) => s.id.startsWith(id))!.n]!;

  it('shows the ATC entry and the tables the IOMMU walk cached, and their invalidation by the notifier', () => {
    expect(r.states[0]!.devices).toEqual([{ device: 'D0', mm: 'P0', released: false, atc: [], psc: [] }]);
    const walk = at('iommu_dma_access.walk').devices![0]!;
    expect(walk.atc).toEqual([expect.stringMatching(/^0x10000 -> frame \d+$/)]);
    expect(walk.psc).toEqual([expect.stringMatching(/^PUD table frame \d+$/), expect.stringMatching(/^PMD table frame \d+$/), expect.stringMatching(/^PTE table frame \d+$/)]);
    const inv = r.steps.find((s) => s.id === 'intel_arch_invalidate_secondary_tlbs.atc_psc_invalidated')!;
    expect(inv.effects).toEqual(expect.arrayContaining([expect.stringMatching(/^D0 ATC: drop 0x10000$/), expect.stringMatching(/^D0 IOMMU PSC: drop PUD table \(frame \d+\)$/)]));
    expect(r.states[inv.n]!.devices![0]).toMatchObject({ atc: [], psc: [] });
    expect(r.verdict.result).toBe('pass');
  });

  it('is absent from the states of a run without a device', () => {
    const plain = reportOf(PLAIN);
    expect(plain.states.filter((st) => 'devices' in st)).toEqual([]);
  });
});
