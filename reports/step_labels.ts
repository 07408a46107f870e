// Step ids as kernel people write them in a race diagram. An id is
// "kernel_function.what" (policy.ts); the diagram shows the function as
// a call, and `what` under it as an inner call when it is one
// ("do_vmi_munmap()" / "mmap_write_lock()") or as a word when it names a
// point inside the function ("flush_tlb_func()" / "catch_up").
// System calls and user accesses are shown as the program wrote them.

import type { Observation, OpRecord } from '../model/kernel/step.js';
import { PAGE_SHIFT, protString, vaHex, type Prot } from '../model/kernel/types.js';
import type { Op } from '../model/run/scenario.js';

export const fnOf = (id: string) => (id.includes('.') ? id.slice(0, id.indexOf('.')) : id);
export const subOf = (id: string) => (id.includes('.') ? id.slice(id.indexOf('.') + 1) : null);

/** Suffixes that name a point inside the function, not a function it calls. */
const POINTS = new Set([
  'alloc', 'bad_area', 'batch_full', 'catch_up', 'check', 'clear', 'clear_lazy', 'detach', 'flush', 'flush_stale_slot',
  'force_flush', 'free', 'lazy_catch_up', 'loaded_mm_switching', 'local', 'modify_prot', 'noflush', 'page_fault',
  'pmd_changed', 'populate', 'pte_changed', 'read_tlb_gen', 'recheck_pte', 'return', 'same_mm', 'send', 'sigsegv', 'spurious',
  'tlb_hit', 'wait', 'walk',
]);

/** "__pud_alloc" + "alloc_one" is pud_alloc_one(); otherwise the suffix itself. */
function innerCall(fn: string, sub: string): string {
  const m = /^__(\w+)_alloc$/.exec(fn);
  if (m && sub === 'alloc_one') return `${m[1]}_alloc_one()`;
  return `${sub}()`;
}

export const isPoint = (sub: string) => POINTS.has(sub) || !/_/.test(sub);

/** The call path of a step: ["zap_pte_range()", "clear"], ["do_vmi_munmap()", "mmap_write_lock()"]. */
/** Model step-id prefixes that are not the kernel function's own name. */
const KERNEL_NAME: Record<string, string> = { madvise: 'do_madvise' };

export function callPath(id: string): string[] {
  // a step a variant inserted ("variant:id", model/policies/variant.ts): the variant's, not a kernel function
  const colon = id.indexOf(':');
  if (colon > 0 && !id.slice(0, colon).includes('.')) return [`[added by variant ${id.slice(0, colon)}] ${id.slice(colon + 1)}`];
  const fn = fnOf(id);
  const sub = subOf(id);
  const head = `${KERNEL_NAME[fn] ?? fn}()`;
  if (sub === null) return [head];
  return [head, isPoint(sub) ? sub : innerCall(fn, sub)];
}

const bytes = (pages: number) => '0x' + (pages * (1 << PAGE_SHIFT)).toString(16);
const prot = (p: Prot | null) => (p ? protString(p) : '?');

/** A system call as the program made it: munmap(0x10000, 0x1000). */
export function syscallText(op: OpRecord): string {
  const range = `${vaHex(op.start)}, ${bytes(op.pages)}`;
  switch (op.kind) {
    case 'munmap': return `munmap(${range})`;
    case 'madvise': return `madvise(${range}, MADV_DONTNEED)`;
    case 'madv_free': return `madvise(${range}, MADV_FREE)`;
    case 'mprotect': return `mprotect(${range}, ${prot(op.prot)})`;
    case 'mmap': return `mmap(${range}, ${prot(op.prot)}${op.file ? `, ${op.file}+${bytes(op.pgoff)}` : ''})`;
    case 'gmem_punch_hole': return `fallocate(${op.file}, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ${bytes(op.start)}, ${bytes(op.pages)})`;
    default: return `${op.kind}(${range}${op.prot ? `, ${prot(op.prot)}` : ''}${op.file ? `, ${op.file}` : ''})`;
  }
}

const ERRNO: Record<string, string> = { ok: '0' };
export const resultText = (r: string) => ERRNO[r] ?? (/^E[A-Z]+$/.test(r) ? `-${r}` : r);

/** An operation of a thread, as the scenario names it: "read 0x10000", "munmap 0x10000". */
export function opText(op: Op): string {
  const o = op as { kind: string; va?: number; pages?: number; file?: string | null; vm?: string; gfn?: number };
  const parts = [o.kind];
  if (typeof o.vm === 'string') parts.push(o.vm);
  if (typeof o.gfn === 'number') parts.push(`gfn ${o.gfn}`);
  if (typeof o.va === 'number') parts.push(vaHex(o.va));
  if (typeof o.pages === 'number' && o.pages > 1) parts.push(`pages=${o.pages}`);
  if (typeof o.file === 'string') parts.push(o.file);
  return parts.join(' ');
}

/** A user access step: "read 0x10000 = 0 (walk)", "write 5 to 0x10000 (TLB hit)". */
export function accessText(o: Extract<Observation, { kind: 'access' }>, how: string): string {
  if (!o.ok) return `${o.write ? 'write to' : 'read of'} ${vaHex(o.vpn)}: SIGSEGV`;
  return o.write ? `write ${o.value} to ${vaHex(o.vpn)} (${how})` : `read ${vaHex(o.vpn)} = ${o.value} (${how})`;
}

/** A guest access (model/kernel/paths/kvm_vcpu_run.ts 2): "guest write 5 to gfn 0 of V0 (TDP walk)". */
export function guestAccessText(o: Extract<Observation, { kind: 'access' }>, how: string): string {
  const g = o.guest!;
  const of = g.gmem ? `${g.vm} (${g.gmem.file} page ${g.gmem.index})` : g.vm;
  return o.write ? `guest write ${o.value} to gfn ${g.gfn} of ${of} (${how})` : `guest read gfn ${g.gfn} of ${of} = ${o.value} (${how})`;
}

/** Function groups a collapsed run of uninteresting steps is named after. */
const GROUPS: [RegExp, string][] = [
  [/^(context_switch|switch_mm_irqs_off|load_new_mm_cr3|finish_task_switch|choose_new_asid)$/, 'context_switch()'],
  [/^(lock_mm_and_find_vma|do_user_addr_fault|handle_mm_fault|handle_pte_fault|__p[a-z]d_alloc|__pte_alloc|p[a-z]d_populate|do_anonymous_page|finish_fault|filemap_fault|do_wp_page|wp_page_reuse|do_shared_fault)$/, 'do_user_addr_fault()'],
  [/^(gup_fast.*|try_grab_folio_fast|unpin_user_page)$/, 'gup_fast()'],
  [/^(do_vmi_munmap|vms_gather_munmap_vmas|mmap_write_downgrade|vms_clear_ptes)$/, 'do_vmi_munmap()'],
  [/^(free_p[a-z]+_range|free_pgd_range|free_pgtables)$/, 'free_pgtables()'],
  [/^(zap_pte_range|unmap_vmas|unmap_page_range)$/, 'zap_pte_range()'],
  [/^madvise.*$/, 'do_madvise()'],
  [/^(do_mprotect_pkey|mprotect_fixup|change_protection|change_pte_range)$/, 'do_mprotect_pkey()'],
  [/^(do_mmap|mmap_region)$/, 'do_mmap()'],
];

export function groupOf(id: string): string {
  const colon = id.indexOf(':');
  if (colon > 0 && !id.slice(0, colon).includes('.')) return `[added by variant ${id.slice(0, colon)}]`;
  const fn = fnOf(id);
  for (const [re, name] of GROUPS) if (re.test(fn)) return name;
  return `${fn}()`;
}

/** The label of a collapsed run: its groups in order, without repeats; a context switch names its target mm. */
export function runLabel(ids: string[], switchedTo: string | null): string {
  const names: string[] = [];
  for (const id of ids) {
    const g = groupOf(id);
    const name = g === 'context_switch()' && switchedTo !== null ? `context_switch() to ${switchedTo}` : g;
    if (!names.includes(name)) names.push(name);
  }
  return names.join(', ');
}
