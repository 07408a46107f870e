// Identifiers of the model, branded so that a frame number cannot be passed
// where a virtual page number is expected (STYLE.md rule 11).

export type Brand<T, B extends string> = T & { readonly __brand: B };

/** Physical frame number. */
export type Pfn = Brand<number, 'Pfn'>;
/** Virtual page number (address >> PAGE_SHIFT). */
export type Vpn = Brand<number, 'Vpn'>;
/** Process (and mm_struct) name, e.g. "P0". */
export type MmId = Brand<string, 'MmId'>;
/** Actor name: a thread ("T0"), an IPI handler ("ipi@cpu1"), "rcu", "spec@cpu0". */
export type ActorName = string;

export const pfn = (n: number) => n as Pfn;
export const vpn = (n: number) => n as Vpn;
export const mmId = (s: string) => s as MmId;

export const PAGE_SHIFT = 12;

/** Render a virtual page number as the user address kernel people read. */
export const vaHex = (v: number) => '0x' + (v * (1 << PAGE_SHIFT)).toString(16);

/** Protection of a VMA or a translation. x86 has no write-only pages. */
export interface Prot {
  r: boolean;
  w: boolean;
}
export const PROT_NONE: Prot = { r: false, w: false };
export const protString = (p: Prot) => (p.w ? 'rw' : p.r ? 'r' : 'none');
export function parseProt(s: string): Prot | null {
  if (s === 'rw') return { r: true, w: true };
  if (s === 'r') return { r: true, w: false };
  if (s === 'none') return { r: false, w: false };
  return null;
}

/** Raised when the model's own bookkeeping is inconsistent (exit 3), never a kernel violation. */
export class ModelError extends Error {
  override name = 'ModelError';
}
