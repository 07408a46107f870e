// The bad state of a secondary-MMU finding (properties/secondary_subset.ts,
// no_freed_frame_reachable.ts, no_spte_in_window.ts): the SPTE or the
// guest-TLB entry the message names, found in the state after the
// violating step, and what a reviewer needs beside it. As for the primary
// MMU (bad_state.ts), the message only picks the entry; every fact printed
// comes from the recorded states:
//
//   1. the entry: CPU, vCPU and VM, gfn -> frame, permission, and the
//      step that filled it (a TDP walk) or installed it (the fault);
//   2. the SPTE behind a guest-TLB entry: when it was zapped, if it was
//      (kvm_mmu_notifier_invalidate_range_start() step 3);
//   3. the VMM's primary PTE for the gfn's hva and the step that changed it;
//   4. the frame: free, reallocated or still in use;
//   5. what reached the vCPU since the zap: KVM_REQ_TLB_FLUSH, the kick,
//      VM-exits, a guest-TLB flush (kvm_flush_remote_tlbs() steps 1-3);
//   6. the vCPU's mode and requests and the VM's mmu_invalidate_* now.

import { vaHex } from '../model/kernel/types.js';
import type { Violation } from '../properties/property.js';
import { blank, frameStatus, has, lastEffect, type EffectsByStep, type Focus } from './bad_state.js';
import type { Context } from './expected_actual.js';
import { hvaOf, rangeText, type GuestTlbSnap, type KvmSnap } from './kvm_trace.js';
import { permSuffix, type Effect, type Snapshot } from './trace_state.js';

/**
 * The holders a secondary-MMU property reports; 'notifier' (notifier-balance): a start with no end, or an end with no
 * start; 'guest PSC' and 'EPTP' (no-freed-table-reachable): a vCPU's cached or loaded TDP table (paths/kvm_tdp_root.ts).
 */
export const KVM_HOLDERS = ['guest TLB', 'SPTE', 'notifier', 'guest PSC', 'EPTP'];

/** The SPTE or guest-TLB entry `v` is about, in the state after its step. */
export function locateKvmFocus(v: Violation, snap: Snapshot): Focus | null {
  const kvm = snap.kvm;
  if (!kvm) return null;
  const msg = v.message;
  const vmOf = (name: string) => kvm.vms.find((x) => x.name === name);
  if (v.holder === 'guest TLB') {
    let best: { score: number; e: GuestTlbSnap } | null = null;
    for (const e of kvm.guestTlb) {
      if (!has(msg, `CPU${e.cpu}'s guest TLB`) || !has(msg, `gfn ${e.gfn}`) || !has(msg, `frame ${e.pfn}`)) continue;
      const score = (has(msg, e.vcpu) ? 2 : 0) + (has(msg, e.vm) ? 1 : 0);
      if (!best || score > best.score) best = { score, e };
    }
    if (!best) return null;
    const e = best.e;
    const vm = vmOf(e.vm);
    return { ...blank('guest TLB'), cpu: e.cpu, mm: vm?.mm ?? null, vpn: vm ? hvaOf(vm, e.gfn) : null, pfn: e.pfn, ghost: e.ghost, vm: e.vm, gfn: e.gfn, vcpu: e.vcpu };
  }
  if (v.holder === 'guest PSC') {
    // "CPU0's guest PSC (T0, root at frame 1) caches the TDP page table at frame 6, which is free"
    const e = kvm.guestPsc.find((x) => has(msg, `CPU${x.cpu}'s guest PSC (${x.vcpu}, root at frame ${x.root})`) && has(msg, `page table at frame ${x.pfn}`));
    const vm = e && vmOf(e.vm);
    return e ? { ...blank('guest PSC'), cpu: e.cpu, mm: vm?.mm ?? null, table: e.pfn, ghost: e.ghost, vm: e.vm, vcpu: e.vcpu } : null;
  }
  if (v.holder === 'EPTP') {
    // "T0 runs on the TDP root at frame 1, which is free"
    const vc = kvm.vcpus.find((x) => x.root !== null && msg.startsWith(`${x.name} runs on the TDP root at frame ${x.root},`));
    const vm = vc && vmOf(vc.vm);
    return vc ? { ...blank('EPTP'), cpu: vc.cpu, mm: vm?.mm ?? null, table: vc.root, vm: vc.vm, vcpu: vc.name } : null;
  }
  if (v.holder === 'notifier') {
    // "T2 returned from its operation with an invalidate_range_start on P0 never ended"; or an end without a
    // start: "V0's mmu_invalidate_in_progress is -1", "T1 called invalidate_range_end without a matching start"
    const vm = kvm.vms.find((x) => has(msg, `${x.name}'s`)) ?? kvm.vms.find((x) => has(msg, `on ${x.mm}`)) ?? (kvm.vms.length === 1 ? kvm.vms[0] : undefined);
    if (!vm) return null;
    if (raisedWithoutStart(msg)) return { ...blank('notifier'), mm: vm.mm, vm: vm.name, raised: true };
    return { ...blank('notifier'), mm: vm.mm, vm: vm.name, vcpu: endWithoutStart(msg) ? v.actor : /^(\S+) /.exec(msg)?.[1], ...(gmemLeftOpen(msg) ? { gmem: true } : {}) };
  }
  if (v.holder === 'SPTE') {
    for (const vm of kvm.vms) {
      for (const e of vm.sptes) {
        if (has(msg, `${vm.name}'s SPTE for gfn ${e.gfn}`) && has(msg, `frame ${e.pfn}`)) return { ...blank('SPTE'), mm: vm.mm, vpn: hvaOf(vm, e.gfn), pfn: e.pfn, ghost: e.ghost, vm: vm.name, gfn: e.gfn };
      }
    }
  }
  return null;
}

/** A notifier-balance message about an end that found no start (the count went below zero), not a start left open. */
const endWithoutStart = (msg: string) => / is -\d+$/.test(msg) || msg.includes('without a matching start');

/** A notifier-balance message about a guest_memfd invalidation left open (kvm_gmem_invalidate_begin() without its end), not the mm's notifier. */
const gmemLeftOpen = (msg: string) => msg.includes('with a guest_memfd invalidation of');

/** A notifier-balance message about a count left raised with no start open to end it: "V0's mmu_invalidate_in_progress is 1 with 0 invalidate_range_start call(s) ...". */
const raisedWithoutStart = (msg: string) => /mmu_invalidate_in_progress is \d+ with \d+ invalidate_range_start/.test(msg);

const guestEntry = (kvm: KvmSnap | undefined, f: Focus) => kvm?.guestTlb.find((e) => e.cpu === f.cpu && e.vcpu === f.vcpu && e.gfn === f.gfn && e.pfn === f.pfn && e.ghost === f.ghost);
const spteOf = (kvm: KvmSnap | undefined, vm: string, gfn: number) => kvm?.vms.find((x) => x.name === vm)?.sptes.find((e) => e.gfn === gfn);

/** The bracketed bad state at the violating step: "CPU0 guest TLB (T3) still maps gfn 0 -> frame 4". */
export function kvmBadNote(f: Focus, snap: Snapshot, steps: EffectsByStep, upTo: number): string {
  if (f.holder === 'notifier') {
    const vm = snap.kvm?.vms.find((x) => x.name === f.vm);
    const n = vm?.mmuInvalidateInProgress ?? '?';
    if (typeof n === 'number' && n < 0) return `${f.vm}: end on ${f.mm} without its start, mmu_invalidate_in_progress ${n}`;
    if (f.raised) return `${f.vm}: count left raised, no invalidation open to end it, mmu_invalidate_in_progress ${n}`;
    return f.gmem ? `${f.vm}: guest_memfd invalidation left open, mmu_invalidate_in_progress ${n}` : `${f.vm}: start on ${f.mm} left open, mmu_invalidate_in_progress ${n}`;
  }
  if (f.holder === 'guest PSC' || f.holder === 'EPTP') {
    const st = frameStatus(snap, steps, upTo, f.table!, f.ghost, true);
    const tail = `frame ${f.table}${st.stale ? `, ${st.short}` : ''}`;
    return f.holder === 'guest PSC' ? `CPU${f.cpu} guest PSC (${f.vcpu}) still caches the TDP page table at ${tail}` : `${f.vcpu} runs on the TDP root at ${tail}`;
  }
  const st = frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false);
  const tail = `gfn ${f.gfn} -> frame ${f.pfn}${st.stale ? `, ${st.short}` : ''}`;
  return f.holder === 'guest TLB' ? `CPU${f.cpu} guest TLB (${f.vcpu}) still maps ${tail}` : `${f.vm} SPTE still maps ${tail}`;
}

const at = (x: { n: number; actor: string; id: string }) => `step ${x.n} (${x.actor}, ${x.id})`;
const rw = (writable: boolean) => (writable ? 'rw' : 'r');

/** What reached the vCPU after `from`: requests made and serviced, kicks, VM-entries and exits, its guest-TLB entries dropped. */
function vcpuSinceLine(vcpu: string, from: { n: number; what: string }, ctx: Context): string {
  const events: string[] = [];
  for (const s of ctx.steps.slice(from.n, ctx.upTo)) {
    for (const e of s.effects) {
      if (e.vcpu !== vcpu) continue;
      if (e.kind === 'kvm-request') {
        const req = /KVM_REQ_\w+/.exec(e.text)?.[0] ?? 'a request';
        events.push(`${req} ${e.text.includes('pending') ? 'made' : 'serviced'} at step ${s.n}`);
      }
      else if (e.kind === 'kvm-kick') events.push(`${e.text.startsWith('kick') ? 'kicked' : 'took the kick'} at step ${s.n}`);
      else if (e.kind === 'vcpu-mode' && /VM-(entry|exit)$/.test(e.text)) events.push(`${e.text.slice(vcpu.length + 1)} at step ${s.n}`);
      else if (e.kind === 'gtlb-drop') events.push(`guest TLB flushed at step ${s.n}`);
    }
  }
  const uniq = [...new Set(events)];
  return `${vcpu} since ${from.what} at step ${from.n}: ${uniq.length ? uniq.join(', ') : 'no KVM_REQ_TLB_FLUSH, no kick, no guest-TLB flush'}.`;
}

/** The last step up to step `upTo` that passes `test`, effects or not. */
function lastStep(ctx: Context, upTo: number, test: (s: { actor: string; id: string }) => boolean) {
  for (let i = Math.min(upTo, ctx.steps.length) - 1; i >= 0; i--) if (test(ctx.steps[i]!)) return ctx.steps[i]!;
  return null;
}

/** A notifier-balance finding: each begin and end of the VM's invalidations, and where the open one came from. */
function notifierActualLines(v: Violation, f: Focus, ctx: Context): string[] {
  const { snap, steps, upTo } = ctx;
  const vm = snap.kvm?.vms.find((x) => x.name === f.vm);
  const moves = steps.slice(0, upTo).flatMap((s) => s.effects.filter((e) => e.kind === 'mmu-invalidate' && e.vm === f.vm).map((e) => ({ n: s.n, actor: s.actor, text: e.text.slice(f.vm!.length + 1) })));
  const out = [`${f.vm} (over ${f.mm}): invalidations up to step ${v.step}: ${moves.length ? moves.map((m) => `${m.text} at step ${m.n} (${m.actor})`).join('; ') : 'none'}.`];
  // the begin by the actor whose operation returned with its start open, and no end of it since
  const delta = (t: string) => {
    const m = /mmu_invalidate_in_progress (-?\d+) -> (-?\d+)/.exec(t);
    return m ? Number(m[2]) - Number(m[1]) : 0;
  };
  if (endWithoutStart(v.message)) {
    // the end that found no start: by the actor whose call it was, and when the VM's subscription joined the list
    const end = [...moves].reverse().find((m) => m.actor === f.vcpu && delta(m.text) < 0);
    const start = end && [...moves].reverse().find((m) => m.n < end.n && m.actor === f.vcpu && delta(m.text) > 0);
    if (end) out.push(`${f.vcpu}'s invalidate_range_end reached ${f.vm} at step ${end.n}; ${start ? `its start reached ${f.vm} at step ${start.n}` : `no invalidate_range_start of ${f.vcpu} reached ${f.vm} before it`}.`);
    // what let the subscription in: the VM's registration at run time, or its mm joining an msharefs
    // file's i_mmap (an attach) while the host's change was open
    const registered = lastStep(ctx, v.step, (s) => s.id === 'mmu_notifier_register.hlist_add_head_rcu');
    if (registered) out.push(`${f.vm}'s notifier joined ${f.mm}'s list at ${at(registered)} (KVM_CREATE_VM at run time).`);
    const link = end && lastStep(ctx, end.n, (s) => s.id === 'msharefs_mmap.vma_link' || s.id === 'mshare_attach.i_mmap_lock_write');
    if (link) out.push(`A window joined the msharefs i_mmap at ${at(link)}, before that end.`);
  }
  if (f.raised) {
    // each begin that no end of its own caller followed, and the memslots the end found: a memslot update between them
    for (const b of moves.filter((m) => delta(m.text) > 0 && !moves.some((x) => x.n > m.n && x.actor === m.actor && delta(x.text) < 0))) {
      out.push(`${b.actor}'s kvm_mmu_invalidate_begin() raised ${f.vm}'s count at step ${b.n}; no kvm_mmu_invalidate_end() of ${b.actor} lowered it after it.`);
    }
    const deleted = lastStep(ctx, v.step, (s) => s.id === 'kvm_delete_memslot.rcu_assign_pointer');
    if (deleted) out.push(`A memslot of ${f.vm} left the active memslots at ${at(deleted)}: an invalidate_range_end() after it does not walk that slot.`);
  }
  const begin = endWithoutStart(v.message) || f.raised ? undefined : [...moves].reverse().find((m) => m.actor === f.vcpu && delta(m.text) > 0);
  if (begin) {
    const ended = moves.some((m) => m.n > begin.n && m.actor === f.vcpu && delta(m.text) < 0);
    if (f.gmem) out.push(`${f.vcpu}'s kvm_gmem_invalidate_begin() raised ${f.vm}'s count at step ${begin.n}; ${ended ? `${f.vcpu} ended an invalidation after it` : `no kvm_gmem_invalidate_end() of ${f.vcpu} lowered it after it`}.`);
    else out.push(`${f.vcpu}'s invalidate_range_start reached ${f.vm} at step ${begin.n}; ${ended ? `${f.vcpu} ended an invalidation after it` : `no invalidate_range_end of ${f.vcpu} reached ${f.vm} after it`}.`);
  }
  if (vm) out.push(`Now (step ${v.step}): ${vm.name} mmu_invalidate_seq ${vm.mmuInvalidateSeq}, mmu_invalidate_in_progress ${vm.mmuInvalidateInProgress}, range ${rangeText(vm.mmuInvalidateRange)}.`);
  return out;
}

/** A guest-PSC or EPTP finding: the cached or loaded table, its root's history, the vCPU's loads and flushes. */
function tdpTableActualLines(v: Violation, f: Focus, ctx: Context): string[] {
  const { snap, steps, upTo } = ctx;
  const kvm = snap.kvm;
  const out: string[] = [];
  const vc = kvm?.vcpus.find((x) => x.name === f.vcpu);
  // 1. The entry, or the vCPU's root.
  if (f.holder === 'guest PSC') {
    const e = kvm?.guestPsc.find((x) => x.cpu === f.cpu && x.vcpu === f.vcpu && x.pfn === f.table);
    const fill = lastEffect(steps, upTo, (x) => x.kind === 'gpsc-fill' && x.cpu === f.cpu && x.vcpu === f.vcpu && x.pfn === f.table);
    out.push(`CPU${f.cpu} guest PSC (${f.vcpu}, vCPU of ${f.vm}): the root at frame ${e?.root ?? '?'} -> page table at frame ${f.table}${fill ? `, filled at ${at(fill)}` : ''}.`);
  } else out.push(`${f.vcpu} (vCPU of ${f.vm}) has the root at frame ${f.table} loaded.`);
  // 2. The TDP tables' history: allocations, links, invalidation, puts (paths/kvm_tdp_root.ts).
  const roots = steps.slice(0, upTo).flatMap((s) => s.effects.filter((e) => e.kind === 'tdp-root' && e.vm === f.vm).map((e) => `${e.text.slice(f.vm!.length + 1)} at step ${s.n} (${s.actor})`));
  if (roots.length) out.push(`${f.vm}'s TDP roots: ${roots.join('; ')}.`);
  // 3. The table frame.
  out.push(frameStatus(snap, steps, upTo, f.table!, f.ghost, true).long);
  // 4. The vCPU's root loads and drops, and the flushes of its cached walks.
  const mine = steps.slice(0, upTo).flatMap((s) => s.effects.filter((e) => (e.kind === 'vcpu-root' && e.vcpu === f.vcpu) || (e.kind === 'gpsc-drop' && e.vcpu === f.vcpu)).map((e) => `${e.kind === 'vcpu-root' ? e.text.slice(f.vcpu!.length + 1) : 'its guest PSC flushed'} at step ${s.n}`));
  const flushes = steps.slice(0, upTo).filter((s) => s.actor === f.vcpu && s.id === 'kvm_mmu_load.flush_tlb_current').map((s) => s.n);
  out.push(`${f.vcpu}: ${mine.length ? [...new Set(mine)].join(', ') : 'no root loaded'}; kvm_mmu_load()'s flush_tlb_current at ${flushes.length ? `step ${flushes.join(', step ')}` : 'no step'}.`);
  // 5. Now.
  if (vc) out.push(`Now (step ${v.step}): ${vc.name} ${vc.mode}${vc.inGuest ? ', in the guest' : ''}, root ${vc.root === null ? 'INVALID_PAGE' : `at frame ${vc.root}`}, ${vc.requests.length ? `${vc.requests.join(', ')} pending` : 'no request pending'}.`);
  return out;
}

/** Expected against actual's "Actual" for an SPTE or guest-TLB finding. */
export function kvmActualLines(v: Violation, f: Focus, ctx: Context): string[] {
  if (f.holder === 'notifier') return notifierActualLines(v, f, ctx);
  if (f.holder === 'guest PSC' || f.holder === 'EPTP') return tdpTableActualLines(v, f, ctx);
  const { snap, steps, upTo } = ctx;
  const kvm = snap.kvm;
  const out: string[] = [];
  const vm = kvm?.vms.find((x) => x.name === f.vm);
  const gfn = f.gfn!;
  const spteChange = lastEffect(steps, upTo, (e) => e.kind.startsWith('spte-') && e.vm === f.vm && e.gfn === gfn);
  // 1. The entry.
  if (f.holder === 'guest TLB') {
    const e = guestEntry(kvm, f);
    const fill = lastEffect(steps, upTo, (x) => x.kind === 'gtlb-fill' && x.cpu === f.cpu && x.vcpu === f.vcpu && x.gfn === gfn && x.pfn === f.pfn);
    out.push(`CPU${f.cpu} guest TLB (${f.vcpu}, vCPU of ${f.vm}): gfn ${gfn} -> frame ${f.pfn} (${rw(e?.writable ?? false)})${fill ? `, filled at ${at(fill)}` : ''}.`);
    // 2. The SPTE it was filled from.
    const spte = spteOf(kvm, f.vm!, gfn);
    out.push(`${f.vm} SPTE for gfn ${gfn}: ${spte ? `frame ${spte.pfn} (${rw(spte.writable)})` : 'none'}${spteChange ? ` since ${at(spteChange)}` : ''}.`);
  } else {
    const spte = spteOf(kvm, f.vm!, gfn);
    out.push(`${f.vm} SPTE for gfn ${gfn}: frame ${f.pfn} (${rw(spte?.writable ?? false)})${spteChange?.effect.kind === 'spte-set' || spteChange?.effect.kind === 'spte-change' ? `, installed at ${at(spteChange)}` : ''}.`);
  }
  // 3. The primary PTE the secondary MMU must mirror.
  if (f.mm && f.vpn !== null) {
    const leaf = snap.leaves.get(`${f.mm}|${f.vpn}`);
    const change = lastEffect(steps, upTo, (x) => x.kind.startsWith('pte-') && x.mm === f.mm && x.vpn === f.vpn);
    out.push(`${f.mm} PTE for ${vaHex(f.vpn)} (gfn ${gfn} of ${f.vm}): ${leaf ? `frame ${leaf.pfn}${permSuffix(leaf)}` : 'none'}${change ? ` since ${at(change)}` : ''}.`);
  } else if (vm) out.push(`gfn ${gfn} of ${f.vm} is outside every memslot.`);
  // 4. The frame.
  out.push(frameStatus(snap, steps, upTo, f.pfn!, f.ghost, false).long);
  // 5s. An SPTE: when the fault that installed it sampled mmu_invalidate_seq, and how the VM's counters moved until then.
  if (f.holder === 'SPTE' && spteChange) {
    const sample = lastStep(ctx, spteChange.n, (s) => s.actor === spteChange.actor && s.id === 'kvm_mmu_faultin_pfn.mmu_invalidate_seq');
    if (sample) out.push(`${spteChange.actor}'s fault sampled mmu_invalidate_seq at ${at(sample)}.`);
    const moves = steps.slice(0, upTo).flatMap((s) => s.effects.filter((e) => e.kind === 'mmu-invalidate' && e.vm === f.vm).map((e) => `${e.text.slice(f.vm!.length + 1)} at step ${s.n} (${s.actor})`));
    out.push(`${f.vm}'s invalidations up to step ${v.step}: ${moves.length ? moves.join('; ') : 'none'}.`);
  }
  // 5. What reached the vCPU since its SPTE went.
  const zap = lastEffect(steps, upTo, (e: Effect) => e.kind === 'spte-zap' && e.vm === f.vm && e.gfn === gfn);
  if (f.holder === 'guest TLB' && zap) out.push(vcpuSinceLine(f.vcpu!, { n: zap.n, what: 'the SPTE was zapped' }, ctx));
  // 6. The vCPU and the VM now.
  const now: string[] = [];
  const vc = kvm?.vcpus.find((x) => x.name === f.vcpu);
  if (vc) now.push(`${vc.name} ${vc.mode}${vc.inGuest ? ', in the guest' : ''}, ${vc.requests.length ? `${vc.requests.join(', ')} pending` : 'no request pending'}${vc.kicked ? ', kicked' : ''}`);
  if (vm) now.push(`${vm.name} mmu_invalidate_seq ${vm.mmuInvalidateSeq}, mmu_invalidate_in_progress ${vm.mmuInvalidateInProgress}, range ${rangeText(vm.mmuInvalidateRange)}`);
  if (now.length) out.push(`Now (step ${v.step}): ${now.join('; ')}.`);
  return out;
}
