import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Prot } from '../model/kernel/types.js';
import type { Op, Scenario, SetupItem } from '../model/run/scenario.js';
import { parseScenario, printScenario, ScenarioParseError } from './scenario_text.js';

// fast-check may otherwise build null-prototype objects, which toStrictEqual tells apart.
const NP = { noNullPrototype: true };
const nameArb = fc.stringMatching(/^[A-Za-z0-9_.@:-]{1,6}$/);
const protArb = fc.constantFrom<Prot>({ r: true, w: true }, { r: true, w: false }, { r: false, w: false });
// Byte addresses must stay below 2^53.
const vpnArb = fc.nat({ max: 2 ** 40 });
const pagesArb = fc.integer({ min: 1, max: 1000 });
const posArb = fc.integer({ min: 1, max: 100_000 });

const fileRefArb = (files: string[]) =>
  files.length === 0
    ? fc.constant({ file: null, pgoff: 0 })
    : fc.oneof(fc.constant({ file: null, pgoff: 0 }), fc.record({ file: fc.constantFrom(...files), pgoff: fc.nat(50) }, NP));

/** Every op kind; a kind added to Op fails tsc here until it is listed, and the check below until it is generated. */
const OP_KINDS: Record<Op['kind'], true> = {
  read: true, write: true, mmap: true, munmap: true, madvise: true, mprotect: true, gup: true, idle: true, flush_tlb_all: true,
  attach: true, mshare_map: true, mshare_unmap: true, get_user_pages: true, numa_scan: true, exit: true, reclaim: true,
  mshare_create: true, ftruncate: true, mshare_attach: true, mshare_advise: true, mshare_protect: true, close: true,
  guest_read: true, guest_write: true, dma_read: true, dma_write: true, fork: true, migrate: true, mremap: true, madv_free: true, kvm_create_vm: true,
  gmem_punch_hole: true, kvm_delete_memslot: true,
};
const SETUP_KINDS: Record<SetupItem['kind'], true> = { process: true, file: true, mmap: true, msharefs: true, mshare_map: true, vm: true, sva_bind: true, zero_page: true, gmem: true, swap: true };

const opArb = (files: string[], mshares: string[], vms: string[] = [], devs: string[] = []): fc.Arbitrary<Op> =>
  fc.oneof(
    ...(devs.length === 0 ? [] : [fc.record({ kind: fc.constantFrom('dma_read' as const, 'dma_write' as const), dev: fc.constantFrom(...devs), va: vpnArb }, NP)]),
    ...(vms.length === 0 ? [] : [fc.record({ kind: fc.constantFrom('guest_read' as const, 'guest_write' as const), vm: fc.constantFrom(...vms), gfn: fc.nat(1000) }, NP), fc.record({ kind: fc.constant('kvm_create_vm' as const), vm: fc.constantFrom(...vms) }, NP), fc.record({ kind: fc.constant('kvm_delete_memslot' as const), vm: fc.constantFrom(...vms), slot: fc.nat(7) }, NP)]),
    // one guest_memfd per VM, named after it (setupArb)
    ...(vms.length === 0 ? [] : [fc.record({ kind: fc.constant('gmem_punch_hole' as const), file: fc.constantFrom(...vms.map((v) => `gmem.${v}`)), offset: fc.nat(100), pages: pagesArb }, NP)]),
    fc.record({ kind: fc.constantFrom('read' as const, 'write' as const), va: vpnArb }, NP),
    fc.record({ kind: fc.constantFrom('gup' as const, 'get_user_pages' as const, 'reclaim' as const, 'migrate' as const), va: vpnArb }, NP),
    fc.tuple(vpnArb, pagesArb, protArb, fileRefArb(files)).map(([va, pages, prot, f]): Op => ({ kind: 'mmap', va, pages, prot, ...f })),
    fc.record({ kind: fc.constantFrom('munmap' as const, 'madvise' as const, 'madv_free' as const), va: vpnArb, pages: pagesArb }, NP),
    fc.record({ kind: fc.constant('mprotect' as const), va: vpnArb, pages: pagesArb, prot: protArb }, NP),
    fc.record({ kind: fc.constantFrom('idle' as const, 'flush_tlb_all' as const, 'numa_scan' as const, 'exit' as const) }, NP),
    // a forked child gets a fresh name (a uuid), so it never clashes with a declared or forked process
    fc.record({ kind: fc.constant('fork' as const), child: fc.uuid() }, NP),
    fc.record({ kind: fc.constant('mremap' as const), va: vpnArb, to: vpnArb, pages: pagesArb }, NP),
    ...(mshares.length === 0
      ? []
      : [
          fc.record({ kind: fc.constant('attach' as const), file: fc.constantFrom(...mshares), va: vpnArb }, NP),
          fc.record({ kind: fc.constant('mshare_map' as const), file: fc.constantFrom(...mshares), offset: fc.nat(100), pages: pagesArb, prot: protArb }, NP),
          fc.record({ kind: fc.constant('mshare_unmap' as const), file: fc.constantFrom(...mshares), offset: fc.nat(100), pages: pagesArb }, NP),
          // mshare 2026: a created region gets a fresh name (a uuid), so two creates never clash
          fc.record({ kind: fc.constant('mshare_create' as const), file: fc.uuid() }, NP),
          fc.record({ kind: fc.constantFrom('close' as const), file: fc.constantFrom(...mshares) }, NP),
          fc.record({ kind: fc.constant('ftruncate' as const), file: fc.constantFrom(...mshares), pages: pagesArb }, NP),
          fc.record({ kind: fc.constant('mshare_attach' as const), file: fc.constantFrom(...mshares), va: vpnArb, offset: fc.nat(100), pages: pagesArb }, NP),
          fc.record({ kind: fc.constant('mshare_advise' as const), file: fc.constantFrom(...mshares), offset: fc.nat(100), pages: pagesArb }, NP),
          fc.record({ kind: fc.constant('mshare_protect' as const), file: fc.constantFrom(...mshares), offset: fc.nat(100), pages: pagesArb, prot: protArb }, NP),
        ]),
  );

/**
 * Setup items in a random order in which every item follows the
 * declarations it uses: an mmap its process and file, an msharefs file its
 * owner (or none), an mshare_map its msharefs file.
 */
const setupArb = (procs: string[], files: string[], mshares: string[], vms: string[] = [], devs: string[] = []): fc.Arbitrary<SetupItem[]> =>
  fc.tuple(
    fc.shuffledSubarray(
      [
        ...procs.map((name): SetupItem => ({ kind: 'process', name })),
        ...files.map((name) => ({ kind: 'file' as const, name })),
        ...mshares.map((name) => ({ kind: 'msharefs' as const, name })),
      ],
      { minLength: procs.length + files.length + mshares.length },
    ),
    fc.array(fc.integer({ min: 1, max: 100 }), { minLength: files.length, maxLength: files.length }),
    fc.array(fc.nat(), { minLength: mshares.length, maxLength: mshares.length }),
    fc.array(fc.tuple(fc.constantFrom(...procs), vpnArb, pagesArb, protArb, fileRefArb(files), fc.nat()), { maxLength: 4 }),
    mshares.length === 0 ? fc.constant([]) : fc.array(fc.tuple(fc.constantFrom(...mshares), fc.nat(100), pagesArb, protArb, fc.nat()), { maxLength: 3 }),
    fc.array(fc.tuple(fc.constantFrom(...procs), fc.array(fc.record({ gfn: fc.nat(1000), hva: vpnArb, pages: pagesArb, gmem: fc.option(fc.nat(100), { nil: undefined }) }, NP), { minLength: 1, maxLength: 3 }), fc.nat()), { minLength: vms.length, maxLength: vms.length }),
    fc.boolean(),
    fc.array(fc.tuple(fc.constantFrom(...procs), fc.nat()), { minLength: devs.length, maxLength: devs.length }),
    fc.boolean(),
  ).map(([decls, filePages, owners, mmaps, maps, vmItems, zeroPage, devItems, swap]) => {
    const setup = decls.map((d, i): SetupItem => {
      if (d.kind === 'file') return { ...d, pages: filePages[files.indexOf(d.name)]! };
      if (d.kind !== 'msharefs') return d;
      // the owner, if any, is a process declared above
      const above = decls.slice(0, i).flatMap((x) => (x.kind === 'process' ? [x.name] : []));
      const pick = owners[mshares.indexOf(d.name)]! % (above.length + 1);
      return { kind: 'msharefs', name: d.name, owner: pick === above.length ? null : above[pick]! };
    });
    const at = (kind: string, n: string | null) => setup.findIndex((s) => s.kind === kind && 'name' in s && s.name === n);
    const insertAfter = (min: number, r: number, it: SetupItem) => setup.splice(min + (r % (setup.length - min + 1)), 0, it);
    for (const [proc, start, pages, prot, f, r] of mmaps) insertAfter(Math.max(at('process', proc), at('file', f.file)) + 1, r, { kind: 'mmap', proc, start, pages, prot, ...f });
    for (const [file, offset, pages, prot, r] of maps) insertAfter(at('msharefs', file) + 1, r, { kind: 'mshare_map', file, offset, pages, prot });
    vmItems.forEach(([proc, slots, r], i) => {
      // a memslot drawn with a page offset is bound to the VM's guest_memfd, declared first (gmem. + the VM's name, longer than any drawn name)
      const memslots = slots.map(({ gmem, ...m }) => (gmem === undefined ? m : { ...m, gmem: { file: `gmem.${vms[i]!}`, pgoff: gmem } }));
      insertAfter(at('process', proc) + 1, r, { kind: 'vm', name: vms[i]!, proc, memslots });
    });
    vms.forEach((v) => setup.unshift({ kind: 'gmem', name: `gmem.${v}`, pages: 200 }));
    devItems.forEach(([proc, r], i) => insertAfter(at('process', proc) + 1, r, { kind: 'sva_bind', dev: devs[i]!, proc }));
    if (zeroPage) setup.unshift({ kind: 'zero_page' });
    if (swap) setup.unshift({ kind: 'swap' });
    return setup;
  });

// Files and msharefs files share one namespace: a name is one or the other.
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(fc.uniqueArray(nameArb, { minLength: 1, maxLength: 3 }), fc.uniqueArray(nameArb, { maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat(2))
  .map(([procs, names, isMshare, nvm]) => [procs, names.filter((_, i) => !isMshare[i]), names.filter((_, i) => isMshare[i]), Array.from({ length: nvm }, (_, i) => `V${i}`), Array.from({ length: nvm }, (_, i) => `D${i}`)] as const)
  .chain(([procs, files, mshares, vms, devs]) =>
    fc.record({
      config: fc.record(
        { fanout: posArb, frames: posArb, cpus: posArb, pcids: posArb, flushCeiling: posArb, maxSteps: posArb },
        { requiredKeys: [], noNullPrototype: true },
      ),
      setup: setupArb(procs, files, mshares, [...vms], [...devs]),
      threads: fc
        .uniqueArray(nameArb, { maxLength: 3 })
        .chain((names) =>
          fc.tuple(...names.map((name) => fc.record({
            name: fc.constant(name), proc: fc.constantFrom(...procs), cpu: fc.nat(8), ops: fc.array(opArb(files, mshares, [...vms], [...devs]), { maxLength: 5 }),
          }, NP))),
        ),
      speculation: fc.array(fc.record({ cpu: fc.nat(8), vas: fc.array(vpnArb, { maxLength: 3 }) }, NP), { maxLength: 3 }),
      schedule: fc.array(fc.record({ actor: nameArb, steps: posArb, until: nameArb }, { requiredKeys: ['actor'], noNullPrototype: true }), { maxLength: 5 }),
      choices: fc.array(fc.record({ actor: nameArb, point: nameArb, nth: fc.nat(20) }, NP), { maxLength: 3 }),
    }, NP),
  );

const EXAMPLE = `# mshare-check scenario v1
config fanout=4 cpus=2            # comment
process P0
process P1
file F pages=4
mmap P0 0x10000 pages=4 prot=rw
mmap P1 0x20000 pages=2 prot=r file=F pgoff=1
thread T0 P0 cpu=0
  read 0x10000
  write 0x10000
  mmap 0x10000 pages=1 prot=rw
  munmap 0x10000 pages=1
  madvise 0x10000 pages=1
  mprotect 0x10000 pages=1 prot=none
  gup 0x10000
  idle
  flush_tlb_all
spec cpu=1 0x10000 0x11000
schedule
  T0 steps=5 until=zap_pte_range.clear
  ipi@cpu1
choice T0 zap_pte_range.batch_full nth=0
`;

const RW = { r: true, w: true };
const EXPECTED: Scenario = {
  config: { fanout: 4, cpus: 2 },
  setup: [
    { kind: 'process', name: 'P0' },
    { kind: 'process', name: 'P1' },
    { kind: 'file', name: 'F', pages: 4 },
    { kind: 'mmap', proc: 'P0', start: 0x10, pages: 4, prot: RW, file: null, pgoff: 0 },
    { kind: 'mmap', proc: 'P1', start: 0x20, pages: 2, prot: { r: true, w: false }, file: 'F', pgoff: 1 },
  ],
  threads: [{
    name: 'T0', proc: 'P0', cpu: 0,
    ops: [
      { kind: 'read', va: 0x10 }, { kind: 'write', va: 0x10 },
      { kind: 'mmap', va: 0x10, pages: 1, prot: RW, file: null, pgoff: 0 },
      { kind: 'munmap', va: 0x10, pages: 1 }, { kind: 'madvise', va: 0x10, pages: 1 },
      { kind: 'mprotect', va: 0x10, pages: 1, prot: { r: false, w: false } },
      { kind: 'gup', va: 0x10 }, { kind: 'idle' }, { kind: 'flush_tlb_all' },
    ],
  }],
  speculation: [{ cpu: 1, vas: [0x10, 0x11] }],
  schedule: [{ actor: 'T0', steps: 5, until: 'zap_pte_range.clear' }, { actor: 'ipi@cpu1' }],
  choices: [{ actor: 'T0', point: 'zap_pte_range.batch_full', nth: 0 }],
};

describe('scenario text format', () => {
  it('round-trips every valid scenario, in ASCII', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const text = printScenario(sc);
        expect(text).toMatch(/^[\x20-\x7e\n]*$/);
        expect(parseScenario(text)).toStrictEqual(sc);
        expect(printScenario(parseScenario(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('generates every op kind and every setup item kind, so the round trip covers them all', () => {
    const scs = fc.sample(scenarioArb, { numRuns: 100, seed: 15 });
    const ops = new Set(scs.flatMap((sc) => sc.threads.flatMap((t) => t.ops.map((o) => o.kind))));
    const setup = new Set(scs.flatMap((sc) => sc.setup.map((it) => it.kind)));
    expect([...ops].sort()).toEqual(Object.keys(OP_KINDS).sort());
    expect([...setup].sort()).toEqual(Object.keys(SETUP_KINDS).sort());
    expect(scs.some((sc) => sc.setup.some((it) => it.kind === 'msharefs' && it.owner !== null))).toBe(true); // owner= printed too
    for (const sc of scs) expect(parseScenario(printScenario(sc))).toStrictEqual(sc); // these exact scenarios round-trip
  });

  it('parses and prints the mshare 2026 calls, and a region an op creates counts as declared for the others', () => {
    const text = 'process P0\nthread T0 P0 cpu=0\n  mshare_create M\n  ftruncate M pages=64\n  mshare_attach M 0x80000 offset=0 pages=64\n  mshare_map M offset=0 pages=1 prot=rw\n  mshare_advise M offset=0 pages=1\n  mshare_protect M offset=0 pages=1 prot=r\n  close M\n';
    const sc = parseScenario(text);
    expect(sc.threads[0]!.ops).toEqual([
      { kind: 'mshare_create', file: 'M' },
      { kind: 'ftruncate', file: 'M', pages: 64 },
      { kind: 'mshare_attach', file: 'M', va: 0x80, offset: 0, pages: 64 },
      { kind: 'mshare_map', file: 'M', offset: 0, pages: 1, prot: { r: true, w: true } },
      { kind: 'mshare_advise', file: 'M', offset: 0, pages: 1 },
      { kind: 'mshare_protect', file: 'M', offset: 0, pages: 1, prot: { r: true, w: false } },
      { kind: 'close', file: 'M' },
    ]);
    expect(printScenario(sc)).toContain('\n  mshare_attach M 0x80000 offset=0 pages=64\n');
    expect(parseScenario(printScenario(sc))).toStrictEqual(sc);
  });

  it('writes MADV_FREE as madvise advice=free, and refuses an unknown advice with its line', () => {
    const sc = parseScenario('process P0\nthread T0 P0 cpu=0\n  madvise 0x10000 pages=2 advice=free\n  madvise 0x10000 pages=1 advice=dontneed\n');
    expect(sc.threads[0]!.ops).toEqual([{ kind: 'madv_free', va: 16, pages: 2 }, { kind: 'madvise', va: 16, pages: 1 }]);
    expect(printScenario(sc)).toContain('  madvise 0x10000 pages=2 advice=free\n  madvise 0x10000 pages=1\n');
    expect(() => parseScenario('process P0\nthread T0 P0 cpu=0\n  madvise 0x10000 pages=1 advice=cold\n', 'f.txt')).toThrow("f.txt:3: bad advice 'cold' (expected dontneed or free)");
  });

  it('parses the documented example', () => {
    expect(parseScenario(EXAMPLE)).toStrictEqual(EXPECTED);
  });

  it('prints canonically', () => {
    const text = printScenario(EXPECTED);
    expect(text.split('\n').slice(0, 3)).toEqual(['# mshare-check scenario v1', 'config fanout=4 cpus=2', 'process P0']);
    expect(printScenario({ ...EXPECTED, config: {}, schedule: [] })).not.toMatch(/^(config|schedule)/m);
  });

  it('accepts sections in any order and an empty schedule', () => {
    const sc = parseScenario('schedule\nthread T0 P0 cpu=1\n  idle\nprocess P0\n');
    expect(sc.threads[0]!.ops).toEqual([{ kind: 'idle' }]);
    expect(sc.schedule).toEqual([]);
  });

  const P = 'process P0\nfile F pages=1\n';
  const cases: [string, string, number, string][] = [
    ['unknown directive', 'proces P0', 1, "unknown directive 'proces'"],
    ['unknown op', `${P}thread T0 P0 cpu=0\n  reed 0x1000`, 4, "unknown op 'reed'"],
    ['missing address', `${P}thread T0 P0 cpu=0\n  read`, 4, 'missing address'],
    ['extra argument', `${P}thread T0 P0 cpu=0\n  idle now`, 4, "unexpected argument 'now'"],
    ['unknown key', `${P}thread T0 P0 cpu=0\n  munmap 0x1000 pages=1 prot=r`, 4, "unknown key 'prot'"],
    ['duplicate key', `${P}mmap P0 0x1000 pages=1 pages=2 prot=r`, 3, "duplicate key 'pages'"],
    ['missing pages', `${P}mmap P0 0x1000 prot=r`, 3, 'missing pages='],
    ['zero pages', `${P}mmap P0 0x1000 pages=0 prot=r`, 3, "pages must be a positive integer, got '0'"],
    ['malformed pages', `${P}file G pages=two`, 3, "pages must be a positive integer, got 'two'"],
    ['negative cpu', `${P}thread T0 P0 cpu=-1`, 3, "cpu must be a non-negative integer, got '-1'"],
    ['missing cpu', `${P}thread T0 P0`, 3, 'missing cpu='],
    ['bad nth', 'choice T0 p nth=x', 1, "nth must be a non-negative integer, got 'x'"],
    ['zero steps', 'schedule\n  T0 steps=0', 2, "steps must be a positive integer, got '0'"],
    ['bad config value', 'config cpus=0', 1, "cpus must be a positive integer, got '0'"],
    ['unknown config key', 'config colour=1', 1, "unknown config key 'colour'"],
    ['duplicate config key', 'config cpus=1\nconfig cpus=2', 2, "duplicate config key 'cpus'"],
    ['bad prot', `${P}thread T0 P0 cpu=0\n  mprotect 0x1000 pages=1 prot=wx`, 4, "bad prot 'wx' (expected rw, r or none)"],
    ['misaligned address', `${P}mmap P0 0x1001 pages=1 prot=r`, 3, "address '0x1001' is not page aligned"],
    ['non-hex address', 'spec cpu=0 4096', 1, "bad address '4096' (expected hex like 0x10000)"],
    ['indented line with no block', `${P}  read 0x1000`, 3, 'indented line outside a thread, kswapd or schedule block'],
    ['indented line after block ended', `${P}thread T0 P0 cpu=0\nspec cpu=0\n  idle`, 5, 'indented line outside a thread, kswapd or schedule block'],
    ['duplicate thread', `${P}thread T0 P0 cpu=0\nthread T0 P0 cpu=1`, 4, "duplicate thread 'T0'"],
    ['duplicate process', `${P}process P0`, 3, "duplicate process 'P0'"],
    ['duplicate file', `${P}file F pages=2`, 3, "duplicate file 'F'"],
    ['mmap of undeclared process', `${P}mmap P1 0x1000 pages=1 prot=r`, 3, "undeclared process 'P1'"],
    ['mmap of undeclared file', `${P}mmap P0 0x1000 pages=1 prot=r file=G`, 3, "undeclared file 'G'"],
    ['mmap declared too late', `mmap P0 0x1000 pages=1 prot=r\n${P}`, 1, "undeclared process 'P0'"],
    ['thread of undeclared process', `${P}thread T0 P1 cpu=0`, 3, "undeclared process 'P1'"],
    ['op on undeclared file', `${P}thread T0 P0 cpu=0\n  idle\n  mmap 0x1000 pages=1 prot=r file=G pgoff=0`, 5, "undeclared file 'G'"],
    ['pgoff without file', `${P}mmap P0 0x1000 pages=1 prot=r pgoff=1`, 3, 'pgoff= without file='],
    ['bad name', 'process P@0!', 1, "bad process name 'P@0!'"],
    // mshare 2026's calls (model/kernel/paths/mshare_2026.ts)
    ['mshare_attach without an address', `${P}thread T0 P0 cpu=0\n  mshare_create M\n  mshare_attach M offset=0 pages=64`, 5, 'missing address'],
    ['mshare_attach without pages', `${P}thread T0 P0 cpu=0\n  mshare_create M\n  mshare_attach M 0x80000 offset=0`, 5, 'missing pages='],
    ['mshare_advise with a prot', `${P}thread T0 P0 cpu=0\n  mshare_create M\n  mshare_advise M offset=0 pages=1 prot=r`, 5, "unknown key 'prot'"],
    ['mshare_protect without prot', `${P}thread T0 P0 cpu=0\n  mshare_create M\n  mshare_protect M offset=0 pages=1`, 5, 'missing prot='],
    ['ftruncate to zero', `${P}thread T0 P0 cpu=0\n  mshare_create M\n  ftruncate M pages=0`, 5, "pages must be a positive integer, got '0'"],
    ['close of a region no one creates', `${P}thread T0 P0 cpu=0\n  close M`, 4, "undeclared msharefs file 'M'"],
    ['mshare_create without a name', `${P}thread T0 P0 cpu=0\n  mshare_create`, 4, 'missing mshare fd'],
    ['mshare_create twice', `${P}thread T0 P0 cpu=0\n  mshare_create M\nthread T1 P0 cpu=1\n  mshare_create M`, 6, "duplicate file 'M' (mshare_create of a file already declared or created)"],
    ['mshare_create of an msharefs file', `${P}msharefs M owner=P0\nthread T0 P0 cpu=0\n  mshare_create M`, 5, "duplicate file 'M' (mshare_create of a file already declared or created)"],
  ];
  it.each(cases)('rejects %s', (_what, text, line, problem) => {
    const err = (() => {
      try { parseScenario(text, 'x.scn'); } catch (e) { return e; }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ScenarioParseError);
    expect((err as ScenarioParseError).message).toBe(`x.scn:${line}: ${problem}`);
    expect(err).toMatchObject({ file: 'x.scn', line, problem });
  });
});
