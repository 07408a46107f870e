import { describe, expect, it } from 'vitest';
import { runScenario } from '../../run/runner.js';
import { linux } from '../../policies/linux.js';
import { applyVariant } from '../../policies/variant.js';
import { PROPERTIES } from '../../../properties/registry.js';
import preEeff9a5d47f8 from '../../../variants/pre-eeff9a5d47f8.js';
import { anon, guestRead, kvmCreateVm, madvise, proc, run, scenario, thread, until, vm, write } from '../../../test/build.js';
import { validateScenario } from '../../run/validate.js';
import type { Scenario } from '../../run/scenario.js';

const X = 0x10000;

/** T0 zaps X by MADV_DONTNEED under its VMA lock; T1 creates V0 (its notifier registers) once T0 is between start and end; then a vCPU of V0 reads X. */
const registerDuringZap = (): Scenario =>
  scenario({
    setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
    threads: [thread('T0', 'P0', 0, write(X), madvise(X)), thread('T1', 'P0', 1, kvmCreateVm('V0'), guestRead('V0', 0))],
    schedule: [until('T0', 'zap_pte_range.clear'), run('T1'), run('T0'), run('T1')],
  });

describe('KVM_CREATE_VM: mmu_notifier_register() with mm_take_all_locks()', () => {
  it('registers at run time and a vCPU of the VM then faults and reads through its SPTE', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, write(X)), thread('T1', 'P0', 1, kvmCreateVm('V0'), guestRead('V0', 0))],
      schedule: [run('T0'), run('T1')],
    });
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const ids = r.trace.filter((e) => e.actor === 'T1').map((e) => e.id);
    expect(ids.indexOf('mmu_notifier_register.hlist_add_head_rcu')).toBeGreaterThan(ids.indexOf('mm_take_all_locks.vma_start_write'));
    expect(ids.indexOf('kvm_create_vm.fd_install')).toBeLessThan(ids.indexOf('tdp_mmu_map_handle_target_level'));
  });

  it('makes the registration wait for a per-VMA-lock MADV_DONTNEED between its start and end (vma_start_write): linux holds', () => {
    const r = runScenario(registerDuringZap(), { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const order = r.trace.map((e) => `${e.actor}:${e.id}`);
    // T1 waited in vma_start_write until T0's madvise dropped its VMA lock
    expect(order.indexOf('T1:mm_take_all_locks.vma_start_write')).toBeGreaterThan(order.indexOf('T0:madvise_unlock.vma_end_read'));
  });

  it('without vma_start_write (pre-eeff9a5d47f8) the madvise end reaches a subscription that never saw its start: notifier-balance', () => {
    const r = runScenario(registerDuringZap(), { policy: applyVariant(linux, preEeff9a5d47f8), properties: PROPERTIES });
    expect(r.verdict).toBe('violation');
    expect(r.violation?.property).toBe('notifier-balance');
  });

  it('starts the other vCPU threads of a VM created at run time only after KVM_CREATE_VM returns, and never if its creator dies first', () => {
    const sc = scenario({
      setup: [proc('P0'), anon('P0', X, 1), vm('V0', 'P0', 0, X)],
      threads: [thread('T0', 'P0', 0, write(X), kvmCreateVm('V0')), thread('T1', 'P0', 1, guestRead('V0', 0))],
      schedule: [run('T1'), run('T0'), run('T1')],
    });
    const r = runScenario(sc, { policy: linux, properties: PROPERTIES });
    expect(r.verdict).toBe('pass');
    const order = r.trace.map((e) => `${e.actor}:${e.id}`);
    expect(order.indexOf('T1:vcpu_enter_guest.vmenter')).toBeGreaterThan(order.indexOf('T0:kvm_create_vm.fd_install'));
    const died = scenario({ ...sc, threads: [thread('T0', 'P0', 0, { kind: 'exit' }, kvmCreateVm('V0')), thread('T1', 'P0', 1, guestRead('V0', 0))] });
    const d = runScenario(died, { policy: linux, properties: PROPERTIES });
    expect(d.verdict).toBe('pass');
    expect(d.trace.some((e) => e.actor === 'T1' && e.id === 'guest_access.tdp_walk')).toBe(false);
  });

  it('refuses a VM created twice, by another process, or used by its creator before it creates it', () => {
    const base = { setup: [proc('P0'), proc('P1'), anon('P0', X, 1), vm('V0', 'P0', 0, X)] };
    expect(validateScenario(scenario({ ...base, threads: [thread('T0', 'P0', 0, kvmCreateVm('V0')), thread('T1', 'P0', 1, kvmCreateVm('V0'))] }))?.problem).toMatch(/created twice/);
    expect(validateScenario(scenario({ ...base, threads: [thread('T0', 'P1', 0, kvmCreateVm('V0'))] }))?.problem).toMatch(/belongs to process 'P0'/);
    expect(validateScenario(scenario({ ...base, threads: [thread('T0', 'P0', 0, guestRead('V0', 0), kvmCreateVm('V0'))] }))?.problem).toMatch(/before it creates it/);
  });
});
