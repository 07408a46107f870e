// A bounded campaign on mainline: no violation, and every coverage
// counter reached, or "clean" would mean nothing (SPEC 5.4). Long
// campaigns belong to `mshare-check fuzz`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODEL_VERSION } from '../model/version.js';
import { linux } from '../model/policies/linux.js';
import { countersFor, OPT_IN_COUNTERS } from '../model/run/coverage.js';
import { opKindsFor } from '../properties/generate/scenario_arb.js';
import { fuzz } from '../campaigns/fuzz.js';

describe('fuzzing linux', () => {
  it('finds no violation in 3000 runs and reaches every race counter', () => {
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 3000 });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    expect(r.runs).toBe(3000);
    for (const c of countersFor(false)) expect(r.coverage[c], c).toBeGreaterThan(0);
  });

  it('reaches the reclaim counters when reclaim is generated (opt-in: docs/findings/reclaim-refault-stale-read.md)', () => {
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'reclaim'], properties: [] });
    for (const c of OPT_IN_COUNTERS.reclaim) expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
  });

  it('reaches the fork and COW counters when fork is generated (opt-in), and finds no violation', () => {
    // left to their hand scenarios in coverage.test.ts: fork_pinned_page_copied (a GUP-fast pin held across a
    // fork's copy: 0 in docs/campaigns/linux-fork-20000.txt) and fork_stale_write_in_window (6 in those 20000 runs)
    const rare = ['fork_pinned_page_copied', 'fork_stale_write_in_window'];
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'fork'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    for (const c of OPT_IN_COUNTERS.fork.filter((x) => !rare.includes(x))) expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
  });

  it('reaches the migration counters when migrate is generated (opt-in), and finds no violation', () => {
    // left to their hand scenarios in coverage.test.ts: a stale hit in the batched window (6 in 5000 runs of
    // --seed mig), a migration undone by a pin (5) and a migration entry zapped or write-protected (14); the
    // NUMA hinting fault's migration is reached (numa_misplaced_migration)
    const rare = ['migrate_batched_flush_window', 'migrate_undone', 'migration_entry_changed'];
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'migrate'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    for (const c of OPT_IN_COUNTERS.migrate.filter((x) => !rare.includes(x))) expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
  });

  it('reaches the mremap counters when mremap is generated (opt-in), and finds no violation', () => {
    // left to its hand scenario in coverage.test.ts: mremap_stale_access_in_window (an access between
    // move_ptes() and its flush IPI: 7 in 5000 runs of `fuzz --ops ...,mremap --seed mremap`)
    const rare = ['mremap_stale_access_in_window'];
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'mremap'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    for (const c of OPT_IN_COUNTERS.mremap.filter((x) => !rare.includes(x))) expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
  });

  it('reaches the guest_memfd counters when gmem is generated (opt-in: docs/kvm.md, guest_memfd), and finds no violation', () => {
    // seed npm-test, 1500 runs: gmem_fault_retried 16, gmem_punch_hole_racing_fault 8, gmem_spte_zapped_by_punch_hole 336
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'gmem'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    for (const c of OPT_IN_COUNTERS.gmem) expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
  });

  // A kick of a vCPU in guest mode comes about once in 3000 VM runs (docs/kvm.md): too rare for a
  // bounded campaign to reach reliably, so the bounded one checks the rest and the recorded
  // 100000-run campaign, on this model version, is checked for every counter.
  it('reaches the KVM counters when VMs are generated (opt-in: docs/kvm.md), the kick in the recorded campaign', () => {
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1500, ops: [...opKindsFor(null), 'vm'], properties: [] });
    for (const c of OPT_IN_COUNTERS.vm) if (c !== 'kvm_flush_kicked_guest_mode') expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
    const rec = readFileSync('docs/campaigns/linux-vm-100000.txt', 'utf8');
    expect(rec).toContain(`# model: ${MODEL_VERSION}\n`);
    expect(rec).toMatch(/^result: no violation in 100000 runs$/m);
    for (const c of OPT_IN_COUNTERS.vm) expect(Number(new RegExp(`^  ${c} +(\\d+)$`, 'm').exec(rec)?.[1] ?? 0), `${c} in docs/campaigns/linux-vm-100000.txt`).toBeGreaterThan(0);
  });

  it('the recorded 100000-run host-paths campaign (reclaim, fork, migrate, mremap, madv_free, swap) is clean on this model and reaches every counter', () => {
    // issue 12: the default kinds with every host path the model has; the known reclaim refault finding
    // (docs/findings/reclaim-refault-stale-read.md) was not drawn in these runs and is replayed by its own test
    const rec = readFileSync('docs/campaigns/linux-host-100000.txt', 'utf8');
    expect(rec).toContain(`# model: ${MODEL_VERSION}\n`);
    expect(rec).toMatch(/^result: no violation in 100000 runs$/m);
    const counters = countersFor(false, ['reclaim', 'fork', 'migrate', 'mremap', 'madv_free', 'swap']);
    expect(counters).toEqual(expect.arrayContaining([...OPT_IN_COUNTERS.swap, ...OPT_IN_COUNTERS.reclaim]));
    for (const c of counters) expect(Number(new RegExp(`^  ${c} +(\\d+)$`, 'm').exec(rec)?.[1] ?? 0), `${c} in docs/campaigns/linux-host-100000.txt`).toBeGreaterThan(0);
  });

  // IOMMU SVA (paths/sva.ts): a DMA through an ATC entry inside the window before the CPU flush
  // reaches the device comes about once in 10000 runs, so the recorded campaign is checked for it
  it('finds no violation in 1000 runs with SVA devices and reaches the SVA counters, the stale DMA in the recorded campaign', () => {
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 1000, ops: [...opKindsFor(null), 'sva'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    for (const c of OPT_IN_COUNTERS.sva) if (c !== 'sva_stale_dma_in_window') expect(r.coverage[c as keyof typeof r.coverage], c).toBeGreaterThan(0);
    const rec = readFileSync('docs/campaigns/linux-sva-100000.txt', 'utf8');
    expect(rec).toContain(`# model: ${MODEL_VERSION}\n`);
    expect(rec).toMatch(/^result: no violation in 100000 runs$/m);
    for (const c of OPT_IN_COUNTERS.sva) expect(Number(new RegExp(`^  ${c} +(\\d+)$`, 'm').exec(rec)?.[1] ?? 0), `${c} in docs/campaigns/linux-sva-100000.txt`).toBeGreaterThan(0);
  });

  it('the recorded 100000-run campaign with guest_memfd slots is clean on this model and reaches every KVM and gmem counter', () => {
    const rec = readFileSync('docs/campaigns/linux-gmem-100000.txt', 'utf8');
    expect(rec).toContain(`# model: ${MODEL_VERSION}\n`);
    expect(rec).toMatch(/^result: no violation in 100000 runs$/m);
    for (const c of [...OPT_IN_COUNTERS.vm, ...OPT_IN_COUNTERS.gmem]) expect(Number(new RegExp(`^  ${c} +(\\d+)$`, 'm').exec(rec)?.[1] ?? 0), `${c} in docs/campaigns/linux-gmem-100000.txt`).toBeGreaterThan(0);
  });

  // memslot deletion (paths/kvm_set_memslot.ts): a delete meeting an invalidation or a fault in flight comes
  // a few times in 1000 runs, so the bounded campaign checks the verdict and the recorded one every counter.
  // kvm_root_reloaded_over_stale_entries (paths/kvm_tdp_root.ts: the rcu actor runs in the two steps between a
  // vCPU's put of its retired root and its next kvm_tdp_mmu_alloc_root()) was 0 in 100000 runs until the
  // generator drew free switches (2026-12-06); explore covers it too (test/kvm_tdp_root.test.ts)
  it('finds no violation in 600 runs with memslot deletes, and the recorded 100000-run campaign reaches every KVM, gmem and memslot counter', () => {
    const r = fuzz({ policy: linux, seed: 'npm-test', runs: 600, ops: [...opKindsFor(null), 'vm', 'gmem', 'memslot'] });
    expect(r.finding?.result.violation ?? r.finding?.result.error ?? null).toBeNull();
    const rec = readFileSync('docs/campaigns/linux-memslot-100000.txt', 'utf8');
    expect(rec).toContain(`# model: ${MODEL_VERSION}\n`);
    expect(rec).toMatch(/^result: no violation in 100000 runs$/m);
    const count = (c: string) => Number(new RegExp(`^  ${c} +(\\d+)$`, 'm').exec(rec)?.[1] ?? 0);
    for (const c of [...OPT_IN_COUNTERS.vm, ...OPT_IN_COUNTERS.gmem, ...OPT_IN_COUNTERS.memslot]) expect(count(c), `${c} in docs/campaigns/linux-memslot-100000.txt`).toBeGreaterThan(0);
  });
});
