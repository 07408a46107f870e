// The IOMMU SVA half of the report's per-step state (trace_state.ts records
// the CPU half, kvm_trace.ts KVM's): for each device bound to an mm
// (iommu_sva_bind_device()) its ATC entries, its IOMMU's first-level
// paging-structure cache and whether intel_mm_release() tore its PASID
// entry down (model/kernel/sva/state.ts). Consecutive snapshots are
// diffed into effects as the CPU's are: "[D0 ATC: 0x10000 -> frame 4]",
// "[D0 IOMMU PSC: drop PMD table (frame 3)]".
//
// A run without a device has no SVA state, so neither a snapshot part nor
// an effect: the reports of runs without one are byte for byte the same
// as before devices were shown.

import type { KernelState } from '../model/kernel/state.js';
import { vaHex } from '../model/kernel/types.js';
import { LEVEL_NAME } from '../model/kernel/pagetable.js';

export interface AtcSnap { vpn: number; pfn: number; writable: boolean; ghost: number }
export interface IommuPscSnap { level: number; prefix: number; pfn: number; ghost: number }
export interface DeviceSnap {
  name: string;
  /** The mm the device is bound to (its PASID's page tables). */
  mm: string;
  atc: AtcSnap[];
  psc: IommuPscSnap[];
  released: boolean;
}
export interface SvaSnap { devices: DeviceSnap[] }

export function snapshotSva(s: KernelState): SvaSnap | undefined {
  const devs = s.sva ? Object.values(s.sva.devices) : [];
  if (devs.length === 0) return undefined;
  return {
    devices: devs.map((d) => ({
      name: d.name,
      mm: d.mm,
      atc: d.atc.map((e) => ({ vpn: e.vpn, pfn: e.pfn, writable: e.writable, ghost: e.ghost })).sort((a, b) => a.vpn - b.vpn),
      psc: d.psc.map((p) => ({ level: p.level, prefix: p.prefix, pfn: p.pfn, ghost: p.ghost })).sort((a, b) => b.level - a.level || a.prefix - b.prefix),
      released: d.released,
    })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

const table = (level: number) => `${(LEVEL_NAME[level] ?? `L${level}`).toUpperCase()} table`;
export const atcText = (d: string, e: AtcSnap) => `${d} ATC: ${vaHex(e.vpn)} -> frame ${e.pfn}${e.writable ? '' : ' (r)'}`;
export const iommuPscText = (d: string, p: IommuPscSnap) => `${d} IOMMU PSC: ${table(p.level)} (frame ${p.pfn})`;

export type SvaEffectKind = 'atc-fill' | 'atc-drop' | 'iommu-psc-fill' | 'iommu-psc-drop' | 'pasid-release';

/** One change to a device's caches, with the keys the report matches against the violation. */
export interface SvaEffect {
  kind: SvaEffectKind;
  text: string;
  device: string;
  mm: string;
  vpn?: number;
  /** atc-*: the data frame; iommu-psc-*: the table frame. */
  pfn?: number;
  level?: number;
}

/** Everything the devices' caches changed from `a` to `b`, in a fixed order: per device, ATC, PSC, PASID. */
export function diffSva(a: SvaSnap | undefined, b: SvaSnap | undefined): SvaEffect[] {
  if (!b) return [];
  const out: SvaEffect[] = [];
  const atcKey = (e: AtcSnap) => `${e.vpn}|${e.pfn}|${e.writable}|${e.ghost}`;
  const pscKey = (p: IommuPscSnap) => `${p.level}|${p.prefix}|${p.pfn}|${p.ghost}`;
  for (const db of b.devices) {
    const da = a?.devices.find((x) => x.name === db.name);
    const k = { device: db.name, mm: db.mm };
    const ta = new Set((da?.atc ?? []).map(atcKey));
    const tb = new Set(db.atc.map(atcKey));
    for (const e of da?.atc ?? []) if (!tb.has(atcKey(e))) out.push({ kind: 'atc-drop', text: `${db.name} ATC: drop ${vaHex(e.vpn)}`, ...k, vpn: e.vpn, pfn: e.pfn });
    for (const e of db.atc) if (!ta.has(atcKey(e))) out.push({ kind: 'atc-fill', text: atcText(db.name, e), ...k, vpn: e.vpn, pfn: e.pfn });
    const pa = new Set((da?.psc ?? []).map(pscKey));
    const pb = new Set(db.psc.map(pscKey));
    for (const p of da?.psc ?? []) if (!pb.has(pscKey(p))) out.push({ kind: 'iommu-psc-drop', text: `${db.name} IOMMU PSC: drop ${table(p.level)} (frame ${p.pfn})`, ...k, pfn: p.pfn, level: p.level });
    for (const p of db.psc) if (!pa.has(pscKey(p))) out.push({ kind: 'iommu-psc-fill', text: iommuPscText(db.name, p), ...k, pfn: p.pfn, level: p.level });
    if (db.released && !da?.released) out.push({ kind: 'pasid-release', text: `${db.name} PASID entry torn down`, ...k });
  }
  return out;
}
