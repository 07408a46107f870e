import { describe, expect, it } from 'vitest';
import { plainClone } from './plain_clone.js';

describe('plainClone', () => {
  it('copies plain data deeply, as structuredClone does, keys and their order included', () => {
    const obs = { kind: 'invoke', op: { id: 'T0.1', kind: 'mmap', mm: 'P0', start: 4, pages: 2, prot: { r: true, w: false }, file: null, pgoff: 0 }, opId: undefined, list: [1, { a: 2 }] };
    const c = plainClone(obs);
    expect(c).toStrictEqual(structuredClone(obs));
    expect(Object.keys(c)).toEqual(Object.keys(obs));
    expect(c.op).not.toBe(obs.op);
    expect(c.op.prot).not.toBe(obs.op.prot);
    expect(c.list[1]).not.toBe(obs.list[1]);
    obs.op.prot.w = true;
    expect(c.op.prot.w).toBe(false);
  });

  it('hands what is not plain data to structuredClone', () => {
    const m = { seen: new Map([[1, 'a']]) };
    const c = plainClone(m);
    expect(c.seen).toBeInstanceOf(Map);
    expect(c.seen).not.toBe(m.seen);
    expect([...c.seen]).toEqual([[1, 'a']]);
  });
});
