import { vaHex } from '../model/kernel/types.js';
import type { Property } from './property.js';

export const readValue: Property = {
  id: 'read-value',
  statement: 'every user access returns a value (or a fault) that the ideal memory allows, and every call result agrees with it',
  rule: 'an access sees what the calls before it left, or what the window of a call in flight allows (do_vmi_munmap(), mprotect_fixup(), do_mmap()): linearizability against the reference memory of docs/kernel-facts.md R1',
  check({ event, ideal }) {
    if (!ideal || ideal.ok) return null;
    const o = event.obs!;
    const allowed = ideal.expected.join(' | ') || 'nothing';
    if (o.kind === 'access') {
      const got = !o.ok ? 'SIGSEGV' : o.write ? `write of ${o.value}` : `value ${o.value}`;
      return { holder: 'ideal', message: `${o.write ? 'write' : 'read'} of ${vaHex(o.vpn)} in ${o.mm} gave ${got}; the reference allows ${allowed}` };
    }
    if (o.kind === 'return') return { holder: 'ideal', message: `${o.opId} returned ${o.result}; the reference allows ${allowed}` };
    if (o.kind === 'pin') return { holder: 'ideal', message: `${o.pin} pinned ${vaHex(o.vpn)} in ${o.mm} for writing; the reference allows ${allowed}` };
    return null;
  },
};
