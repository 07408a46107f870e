// The human-readable text form of a Scenario: one item a line, `#` comments,
// indented lines belonging to the preceding `thread`, `kswapd` or
// `schedule` header. kswapd (Scenario.kswapd) is written
//   kswapd NAME cpu=N
//     reclaim PROCESS ADDRESS
// one line per reclaim request: the folio mapped at ADDRESS of PROCESS.
// Addresses are written as byte addresses (vaHex) although the data model
// holds page numbers. parseScenario(printScenario(x)) deep-equals x for every
// valid scenario, and printing is canonical, so saved counterexamples diff well.

import { CONFIG_FLAGS, DEFAULT_CONFIG, type Config } from '../model/kernel/config.js';
import { PAGE_SHIFT, parseProt, protString, vaHex, type Prot } from '../model/kernel/types.js';
import type { KswapdSpec, Op, Scenario, ScheduleEntry, SetupItem, ThreadSpec } from '../model/run/scenario.js';

export const SCENARIO_HEADER = '# mshare-check scenario v1';

export class ScenarioParseError extends Error {
  override name = 'ScenarioParseError';
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super(`${file}:${line}: ${problem}`);
  }
}

/** Names of processes, files, threads, actors and choice points: one token, no `=` (which marks key=value). */
export const NAME = /^[A-Za-z0-9_.@:-]+$/;
const CONFIG_KEYS = Object.keys(DEFAULT_CONFIG) as (keyof Config)[];

// ---------------------------------------------------------------- printing

function name(s: string): string {
  if (!NAME.test(s)) throw new RangeError(`cannot print name '${s}': must match ${NAME}`);
  return s;
}

function fileArgs(x: { file: string | null; pgoff: number }): string {
  if (x.file === null) {
    if (x.pgoff !== 0) throw new RangeError(`cannot print anonymous mapping with pgoff ${x.pgoff}`);
    return '';
  }
  return ` file=${name(x.file)} pgoff=${x.pgoff}`;
}

function printSetup(it: SetupItem): string {
  switch (it.kind) {
    case 'process': return `process ${name(it.name)}`;
    case 'file': return `file ${name(it.name)} pages=${it.pages}${it.hugetlb ? ' hugetlb=1' : ''}`;
    case 'mmap': return `mmap ${name(it.proc)} ${vaHex(it.start)} pages=${it.pages} prot=${protString(it.prot)}${fileArgs(it)}`;
    case 'msharefs': return `msharefs ${name(it.name)}${it.owner === null ? '' : ` owner=${name(it.owner)}`}`;
    case 'mshare_map': return `mshare_map ${name(it.file)} offset=${it.offset} pages=${it.pages} prot=${protString(it.prot)}`;
    case 'vm': return `vm ${name(it.name)} ${name(it.proc)} slots=${it.memslots.map((m) => `${m.gfn}@${vaHex(m.hva)}+${m.pages}${m.gmem ? `/${name(m.gmem.file)}+${m.gmem.pgoff}` : ''}`).join(',')}`;
    case 'gmem': return `gmem ${name(it.name)} pages=${it.pages}`;
    case 'sva_bind': return `sva_bind ${name(it.dev)} ${name(it.proc)}`;
    case 'zero_page': return 'zero_page';
    case 'swap': return 'swap';
  }
}

function printOp(op: Op): string {
  switch (op.kind) {
    case 'read': case 'write': return `${op.kind} ${vaHex(op.va)}`;
    case 'gup': return `gup ${vaHex(op.va)}${op.dma ? ' dma=write' : ''}`;
    case 'guest_read': case 'guest_write': return `${op.kind} ${name(op.vm)} gfn=${op.gfn}`;
    case 'kvm_create_vm': return `kvm_create_vm ${name(op.vm)}`;
    case 'kvm_delete_memslot': return `kvm_delete_memslot ${name(op.vm)} slot=${op.slot}`;
    case 'gmem_punch_hole': return `gmem_punch_hole ${name(op.file)} offset=${op.offset} pages=${op.pages}`;
    case 'dma_read': case 'dma_write': return `${op.kind} ${name(op.dev)} ${vaHex(op.va)}`;
    case 'mmap': return `mmap ${vaHex(op.va)} pages=${op.pages} prot=${protString(op.prot)}${fileArgs(op)}`;
    case 'munmap': case 'madvise': return `${op.kind} ${vaHex(op.va)} pages=${op.pages}`;
    case 'madv_free': return `madvise ${vaHex(op.va)} pages=${op.pages} advice=free`;
    case 'mprotect': return `mprotect ${vaHex(op.va)} pages=${op.pages} prot=${protString(op.prot)}`;
    case 'idle': case 'flush_tlb_all': case 'numa_scan': case 'exit': return op.kind;
    case 'get_user_pages': return `get_user_pages ${vaHex(op.va)}${op.dma ? ' dma=write' : ''}`;
    case 'reclaim': return `reclaim ${vaHex(op.va)}`;
    case 'migrate': return `migrate ${vaHex(op.va)}`;
    case 'fork': return `fork ${name(op.child)}`;
    case 'mremap': return `mremap ${vaHex(op.va)} ${vaHex(op.to)} pages=${op.pages}`;
    case 'attach': return `attach ${name(op.file)} ${vaHex(op.va)}`;
    case 'mshare_map': return `mshare_map ${name(op.file)} offset=${op.offset} pages=${op.pages} prot=${protString(op.prot)}`;
    case 'mshare_unmap': return `mshare_unmap ${name(op.file)} offset=${op.offset} pages=${op.pages}`;
    case 'mshare_create': case 'close': return `${op.kind} ${name(op.file)}`;
    case 'ftruncate': return `ftruncate ${name(op.file)} pages=${op.pages}`;
    case 'mshare_attach': return `mshare_attach ${name(op.file)} ${vaHex(op.va)} offset=${op.offset} pages=${op.pages}`;
    case 'mshare_advise': return `mshare_advise ${name(op.file)} offset=${op.offset} pages=${op.pages}`;
    case 'mshare_protect': return `mshare_protect ${name(op.file)} offset=${op.offset} pages=${op.pages} prot=${protString(op.prot)}`;
  }
}

export function printScenario(sc: Scenario): string {
  const out = [SCENARIO_HEADER];
  const cfg = CONFIG_KEYS.filter((k) => sc.config[k] !== undefined).map((k) => `${k}=${sc.config[k]}`);
  if (cfg.length > 0) out.push(`config ${cfg.join(' ')}`);
  for (const it of sc.setup) out.push(printSetup(it));
  for (const t of sc.threads) {
    out.push(`thread ${name(t.name)} ${name(t.proc)} cpu=${t.cpu}`);
    for (const op of t.ops) out.push(`  ${printOp(op)}`);
  }
  if (sc.kswapd) {
    out.push(`kswapd ${name(sc.kswapd.name)} cpu=${sc.kswapd.cpu}`);
    for (const r of sc.kswapd.reclaims) out.push(`  reclaim ${name(r.proc)} ${vaHex(r.va)}`);
  }
  for (const s of sc.speculation) out.push(['spec', `cpu=${s.cpu}`, ...s.vas.map(vaHex)].join(' '));
  if (sc.schedule.length > 0) {
    out.push('schedule');
    for (const e of sc.schedule) {
      out.push(`  ${name(e.actor)}${e.steps === undefined ? '' : ` steps=${e.steps}`}${e.until === undefined ? '' : ` until=${name(e.until)}`}`);
    }
  }
  for (const c of sc.choices) out.push(`choice ${name(c.actor)} ${name(c.point)} nth=${c.nth}`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------- parsing

type Fail = (problem: string) => never;

/** The arguments of one line: positional tokens, and key=value tokens restricted to `keys`. */
class Args {
  private readonly pos: string[] = [];
  private readonly kv = new Map<string, string>();
  constructor(toks: string[], keys: readonly string[], readonly fail: Fail, keyLabel = 'key') {
    for (const t of toks) {
      const eq = t.indexOf('=');
      if (eq < 0) { this.pos.push(t); continue; }
      const k = t.slice(0, eq);
      if (!keys.includes(k)) fail(`unknown ${keyLabel} '${k}'`);
      if (this.kv.has(k)) fail(`duplicate ${keyLabel} '${k}'`);
      this.kv.set(k, t.slice(eq + 1));
    }
  }
  /** Exactly the positional arguments `what` names (or at least, when `more` is set). */
  positional(what: string[], more = false): string[] {
    if (this.pos.length < what.length) this.fail(`missing ${what[this.pos.length]}`);
    if (!more && this.pos.length > what.length) this.fail(`unexpected argument '${this.pos[what.length]}'`);
    return this.pos;
  }
  has(key: string): boolean { return this.kv.has(key); }
  str(key: string): string { return this.kv.get(key) ?? this.fail(`missing ${key}=`); }
  keys(): string[] { return [...this.kv.keys()]; }
  int(key: string, min: 0 | 1): number {
    const v = this.kv.get(key);
    if (v === undefined) return this.fail(`missing ${key}=`);
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) {
      this.fail(`${key} must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got '${v}'`);
    }
    return Number(v);
  }
  prot(): Prot {
    const v = this.kv.get('prot');
    if (v === undefined) return this.fail('missing prot=');
    return parseProt(v) ?? this.fail(`bad prot '${v}' (expected rw, r or none)`);
  }
  /** Optional `file=F pgoff=N`; pgoff defaults to 0 and means nothing without a file. */
  file(): { file: string | null; pgoff: number } {
    const f = this.kv.get('file');
    if (f === undefined) {
      if (this.has('pgoff')) this.fail('pgoff= without file=');
      return { file: null, pgoff: 0 };
    }
    return { file: parseName(f, 'file', this.fail), pgoff: this.has('pgoff') ? this.int('pgoff', 0) : 0 };
  }
}

function parseName(tok: string, what: string, fail: Fail): string {
  return NAME.test(tok) ? tok : fail(`bad ${what} name '${tok}'`);
}

function parseAddr(tok: string, fail: Fail): number {
  if (!/^0x[0-9a-fA-F]+$/.test(tok)) fail(`bad address '${tok}' (expected hex like 0x10000)`);
  const a = BigInt(tok);
  if (a % BigInt(1 << PAGE_SHIFT) !== 0n) fail(`address '${tok}' is not page aligned`);
  if (a > BigInt(Number.MAX_SAFE_INTEGER)) fail(`address '${tok}' is out of range`);
  return Number(a >> BigInt(PAGE_SHIFT));
}

function parseOp(toks: string[], fail: Fail): Op {
  const [kind = '', ...rest] = toks;
  const args = (keys: string[]) => new Args(rest, keys, fail);
  const va = (a: Args) => parseAddr(a.positional(['address'])[0]!, fail);
  switch (kind) {
    case 'read': case 'write': { const a = args([]); return { kind, va: va(a) }; }
    case 'gup': case 'get_user_pages': {
      // dma=write: a FOLL_WRITE pin the device writes through (an O_DIRECT read's buffer)
      const a = args(['dma']);
      if (a.has('dma') && a.str('dma') !== 'write') fail(`bad dma '${a.str('dma')}' (expected write)`);
      return { kind, va: va(a), ...(a.has('dma') ? { dma: true } : {}) };
    }
    case 'guest_read': case 'guest_write': {
      const a = args(['gfn']);
      return { kind, vm: parseName(a.positional(['vm name'])[0]!, 'vm', fail), gfn: a.int('gfn', 0) };
    }
    case 'kvm_create_vm': return { kind, vm: parseName(args([]).positional(['vm name'])[0]!, 'vm', fail) };
    case 'kvm_delete_memslot': {
      const a = args(['slot']);
      return { kind, vm: parseName(a.positional(['vm name'])[0]!, 'vm', fail), slot: a.int('slot', 0) };
    }
    case 'gmem_punch_hole': {
      const a = args(['offset', 'pages']);
      return { kind, file: parseName(a.positional(['guest_memfd name'])[0]!, 'file', fail), offset: a.int('offset', 0), pages: a.int('pages', 1) };
    }
    case 'dma_read': case 'dma_write': {
      const a = args([]);
      const [d, addr] = a.positional(['device name', 'address']) as [string, string];
      return { kind, dev: parseName(d, 'device', fail), va: parseAddr(addr, fail) };
    }
    case 'mmap': {
      const a = args(['pages', 'prot', 'file', 'pgoff']);
      return { kind, va: va(a), pages: a.int('pages', 1), prot: a.prot(), ...a.file() };
    }
    case 'munmap': { const a = args(['pages']); return { kind, va: va(a), pages: a.int('pages', 1) }; }
    case 'madvise': {
      // advice= (default dontneed): MADV_DONTNEED, or MADV_FREE (op kind madv_free)
      const a = args(['pages', 'advice']);
      const advice = a.has('advice') ? a.str('advice') : 'dontneed';
      if (advice !== 'dontneed' && advice !== 'free') fail(`bad advice '${advice}' (expected dontneed or free)`);
      return { kind: advice === 'free' ? 'madv_free' : 'madvise', va: va(a), pages: a.int('pages', 1) };
    }
    case 'mprotect': { const a = args(['pages', 'prot']); return { kind, va: va(a), pages: a.int('pages', 1), prot: a.prot() }; }
    case 'idle': case 'flush_tlb_all': case 'numa_scan': case 'exit': args([]).positional([]); return { kind };
    case 'reclaim': case 'migrate': { const a = args([]); return { kind, va: va(a) }; }
    case 'fork': { const a = args([]); return { kind, child: parseName(a.positional(['child process name'])[0]!, 'process', fail) }; }
    case 'mremap': {
      const a = args(['pages']);
      const [from, to] = a.positional(['old address', 'new address']) as [string, string];
      return { kind, va: parseAddr(from, fail), to: parseAddr(to, fail), pages: a.int('pages', 1) };
    }
    case 'attach': {
      const a = args([]);
      const [f, addr] = a.positional(['msharefs file', 'address']) as [string, string];
      return { kind, file: parseName(f, 'file', fail), va: parseAddr(addr, fail) };
    }
    case 'mshare_map': case 'mshare_unmap': {
      const a = args(kind === 'mshare_map' ? ['offset', 'pages', 'prot'] : ['offset', 'pages']);
      const f = parseName(a.positional(['msharefs file'])[0]!, 'file', fail);
      const base = { file: f, offset: a.int('offset', 0), pages: a.int('pages', 1) };
      return kind === 'mshare_map' ? { kind, ...base, prot: a.prot() } : { kind, ...base };
    }
    // mshare 2026 (model/kernel/paths/mshare_2026.ts): the file names the region's fd
    case 'mshare_create': case 'close': {
      const a = args([]);
      return { kind, file: parseName(a.positional(['mshare fd'])[0]!, 'file', fail) };
    }
    case 'ftruncate': {
      const a = args(['pages']);
      return { kind, file: parseName(a.positional(['mshare fd'])[0]!, 'file', fail), pages: a.int('pages', 1) };
    }
    case 'mshare_attach': {
      const a = args(['offset', 'pages']);
      const [f, addr] = a.positional(['mshare fd', 'address']) as [string, string];
      return { kind, file: parseName(f, 'file', fail), va: parseAddr(addr, fail), offset: a.int('offset', 0), pages: a.int('pages', 1) };
    }
    case 'mshare_advise': case 'mshare_protect': {
      const a = args(kind === 'mshare_protect' ? ['offset', 'pages', 'prot'] : ['offset', 'pages']);
      const base = { file: parseName(a.positional(['mshare fd'])[0]!, 'file', fail), offset: a.int('offset', 0), pages: a.int('pages', 1) };
      return kind === 'mshare_protect' ? { kind, ...base, prot: a.prot() } : { kind, ...base };
    }
    default: return fail(`unknown op '${kind}'`);
  }
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const sc: Scenario = { config: {}, setup: [], threads: [], speculation: [], schedule: [], choices: [] };
  const procs = new Set<string>();
  const files = new Set<string>();
  const threadNames = new Set<string>();
  // Threads and ops may name processes and files declared further down.
  const mshares = new Set<string>();
  const refs: { line: number; what: 'process' | 'file' | 'msharefs file' | 'vm' | 'device' | 'guest_memfd'; name: string }[] = [];
  const gmems = new Set<string>();
  const vms = new Set<string>();
  const devs = new Set<string>();
  let block: ThreadSpec | 'schedule' | null = null;
  /** The kswapd block being read (its lines are reclaim requests, not thread operations). */
  let kblock: KswapdSpec | null = null;
  /** mshare 2026: regions created by an mshare_create op (once each, and not also declared by msharefs). */
  const creates: { line: number; name: string }[] = [];
  /** Processes a fork op creates: threads may name them; setup may not. */
  const forked = new Set<string>();

  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const fail: Fail = (problem) => { throw new ScenarioParseError(file, line, problem); };
    const body = raw.replace(/#.*/, '');
    if (body.trim() === '') return;
    const toks = body.trim().split(/\s+/);

    if (/^\s/.test(body)) {
      if (kblock !== null) {
        const [kind = '', ...rest] = toks;
        if (kind !== 'reclaim') fail(`kswapd runs reclaim requests only: expected 'reclaim PROCESS ADDRESS', got '${kind}'`);
        const [p, addr] = new Args(rest, [], fail).positional(['process name', 'address']) as [string, string];
        const proc = parseName(p, 'process', fail);
        refs.push({ line, what: 'process', name: proc });
        kblock.reclaims.push({ proc, va: parseAddr(addr, fail) });
        return;
      }
      if (block === null) fail('indented line outside a thread, kswapd or schedule block');
      if (block === 'schedule') {
        const a = new Args(toks, ['steps', 'until'], fail);
        const entry: ScheduleEntry = { actor: parseName(a.positional(['actor'])[0]!, 'actor', fail) };
        if (a.has('steps')) entry.steps = a.int('steps', 1);
        if (a.has('until')) entry.until = parseName(a.str('until'), 'step id', fail);
        sc.schedule.push(entry);
      } else {
        const op = parseOp(toks, fail);
        if (op.kind === 'mmap' && op.file !== null) refs.push({ line, what: 'file', name: op.file });
        if (op.kind === 'attach' || op.kind === 'mshare_map' || op.kind === 'mshare_unmap') refs.push({ line, what: 'msharefs file', name: op.file });
        if (op.kind === 'guest_read' || op.kind === 'guest_write' || op.kind === 'kvm_create_vm' || op.kind === 'kvm_delete_memslot') refs.push({ line, what: 'vm', name: op.vm });
        if (op.kind === 'gmem_punch_hole') refs.push({ line, what: 'guest_memfd', name: op.file });
        if (op.kind === 'dma_read' || op.kind === 'dma_write') refs.push({ line, what: 'device', name: op.dev });
        if (op.kind === 'mshare_create') creates.push({ line, name: op.file });
        if (op.kind === 'fork') {
          if (procs.has(op.child) || forked.has(op.child)) fail(`fork of '${op.child}': a process of that name is already declared or forked`);
          forked.add(op.child);
        }
        else if (op.kind === 'ftruncate' || op.kind === 'mshare_attach' || op.kind === 'mshare_advise' || op.kind === 'mshare_protect' || op.kind === 'close') refs.push({ line, what: 'msharefs file', name: op.file });
        block.ops.push(op);
      }
      return;
    }

    block = null;
    kblock = null;
    const [directive = '', ...rest] = toks;
    switch (directive) {
      case 'config': {
        const a = new Args(rest, CONFIG_KEYS, fail, 'config key');
        a.positional([]);
        for (const k of a.keys() as (keyof Config)[]) {
          if (sc.config[k] !== undefined) fail(`duplicate config key '${k}'`);
          sc.config[k] = a.int(k, CONFIG_FLAGS.includes(k) ? 0 : 1); // a switch may be 0; resolveConfig() checks 0 or 1
        }
        break;
      }
      case 'zero_page':
        new Args(rest, [], fail).positional([]);
        if (sc.setup.some((x) => x.kind === 'zero_page')) fail('duplicate zero_page');
        sc.setup.push({ kind: 'zero_page' });
        break;
      case 'swap':
        new Args(rest, [], fail).positional([]);
        if (sc.setup.some((x) => x.kind === 'swap')) fail('duplicate swap');
        sc.setup.push({ kind: 'swap' });
        break;
      case 'process': {
        const n = parseName(new Args(rest, [], fail).positional(['process name'])[0]!, 'process', fail);
        if (procs.has(n) || forked.has(n)) fail(`duplicate process '${n}'`);
        procs.add(n);
        sc.setup.push({ kind: 'process', name: n });
        break;
      }
      case 'file': {
        const a = new Args(rest, ['pages', 'hugetlb'], fail);
        const n = parseName(a.positional(['file name'])[0]!, 'file', fail);
        if (files.has(n)) fail(`duplicate file '${n}'`);
        files.add(n);
        sc.setup.push({ kind: 'file', name: n, pages: a.int('pages', 1) });
        if (a.has('hugetlb') && a.int('hugetlb', 0) > 1) fail('hugetlb= must be 0 or 1');
        if (a.has('hugetlb') && a.int('hugetlb', 0) === 1) (sc.setup.at(-1) as { hugetlb?: boolean }).hugetlb = true; // a hugetlbfs file
        break;
      }
      case 'mmap': {
        const a = new Args(rest, ['pages', 'prot', 'file', 'pgoff'], fail);
        const [p, addr] = a.positional(['process name', 'address']) as [string, string];
        const proc = parseName(p, 'process', fail);
        // Setup runs in order, so the process and file must be declared above.
        if (!procs.has(proc)) fail(`undeclared process '${proc}'`);
        const start = parseAddr(addr, fail);
        const fa = a.file();
        if (fa.file !== null && !files.has(fa.file) && !gmems.has(fa.file)) fail(`undeclared file '${fa.file}'`);
        sc.setup.push({ kind: 'mmap', proc, start, pages: a.int('pages', 1), prot: a.prot(), ...fa });
        break;
      }
      case 'msharefs': {
        const a = new Args(rest, ['owner'], fail);
        const n = parseName(a.positional(['msharefs file name'])[0]!, 'file', fail);
        if (mshares.has(n) || files.has(n)) fail(`duplicate file '${n}'`);
        mshares.add(n);
        const owner = a.has('owner') ? parseName(a.str('owner'), 'process', fail) : null;
        if (owner !== null && !procs.has(owner)) fail(`undeclared process '${owner}'`);
        sc.setup.push({ kind: 'msharefs', name: n, owner });
        break;
      }
      case 'mshare_map': {
        const a = new Args(rest, ['offset', 'pages', 'prot'], fail);
        const f = parseName(a.positional(['msharefs file name'])[0]!, 'file', fail);
        if (!mshares.has(f)) fail(`undeclared msharefs file '${f}'`);
        sc.setup.push({ kind: 'mshare_map', file: f, offset: a.int('offset', 0), pages: a.int('pages', 1), prot: a.prot() });
        break;
      }
      case 'vm': {
        const a = new Args(rest, ['slots'], fail);
        const [n, p] = a.positional(['vm name', 'process name']) as [string, string];
        const vm = parseName(n, 'vm', fail);
        const proc = parseName(p, 'process', fail);
        if (vms.has(vm)) fail(`duplicate vm '${vm}'`);
        if (!procs.has(proc)) fail(`undeclared process '${proc}'`);
        vms.add(vm);
        const memslots = a.str('slots').split(',').map((t) => {
          // GFN@0xHVA+PAGES: backed by the VMM's memory at the hva; /GMEM+PGOFF: by guest_memfd GMEM from page PGOFF
          const m = /^([0-9]+)@(0x[0-9a-fA-F]+)\+([0-9]+)(?:\/([A-Za-z0-9_.-]+)\+([0-9]+))?$/.exec(t);
          if (!m) return fail(`bad memslot '${t}' (expected GFN@0xHVA+PAGES, or GFN@0xHVA+PAGES/GMEM+PGOFF for a guest_memfd-backed slot)`);
          const gfn = Number(m[1]);
          const pages = Number(m[3]);
          if (!Number.isSafeInteger(gfn) || !Number.isSafeInteger(pages) || pages < 1) fail(`bad memslot '${t}' (gfn and pages must be integers, pages positive)`);
          if (m[4] === undefined) return { gfn, hva: parseAddr(m[2]!, fail), pages };
          if (!gmems.has(m[4])) fail(`memslot '${t}' names undeclared guest_memfd '${m[4]}' (declare it above with gmem ${m[4]} pages=N)`);
          return { gfn, hva: parseAddr(m[2]!, fail), pages, gmem: { file: m[4], pgoff: Number(m[5]) } };
        });
        sc.setup.push({ kind: 'vm', name: vm, proc, memslots });
        break;
      }
      case 'gmem': {
        const a = new Args(rest, ['pages'], fail);
        const n = parseName(a.positional(['guest_memfd name'])[0]!, 'file', fail);
        if (files.has(n) || mshares.has(n) || gmems.has(n)) fail(`duplicate file '${n}'`);
        gmems.add(n);
        sc.setup.push({ kind: 'gmem', name: n, pages: a.int('pages', 1) });
        break;
      }
      case 'sva_bind': {
        const a = new Args(rest, [], fail);
        const [d, p] = a.positional(['device name', 'process name']) as [string, string];
        const dev = parseName(d, 'device', fail);
        const proc = parseName(p, 'process', fail);
        if (devs.has(dev)) fail(`duplicate device '${dev}'`);
        if (!procs.has(proc)) fail(`undeclared process '${proc}'`);
        devs.add(dev);
        sc.setup.push({ kind: 'sva_bind', dev, proc });
        break;
      }
      case 'thread': {
        const a = new Args(rest, ['cpu'], fail);
        const [n, p] = a.positional(['thread name', 'process name']) as [string, string];
        const t: ThreadSpec = { name: parseName(n, 'thread', fail), proc: parseName(p, 'process', fail), cpu: a.int('cpu', 0), ops: [] };
        if (threadNames.has(t.name)) fail(sc.kswapd?.name === t.name ? `thread '${t.name}' has the name of the kswapd` : `duplicate thread '${t.name}'`);
        threadNames.add(t.name);
        refs.push({ line, what: 'process', name: t.proc });
        sc.threads.push(t);
        block = t;
        break;
      }
      case 'kswapd': {
        const a = new Args(rest, ['cpu'], fail);
        const n = parseName(a.positional(['kswapd name'])[0]!, 'kswapd', fail);
        if (sc.kswapd) fail('a second kswapd: the model has one node, so one kswapd');
        if (threadNames.has(n)) fail(`kswapd '${n}' has the name of a thread`);
        threadNames.add(n);
        sc.kswapd = kblock = { name: n, cpu: a.int('cpu', 0), reclaims: [] };
        break;
      }
      case 'spec': {
        const a = new Args(rest, ['cpu'], fail);
        sc.speculation.push({ cpu: a.int('cpu', 0), vas: a.positional([], true).map((t) => parseAddr(t, fail)) });
        break;
      }
      case 'schedule':
        new Args(rest, [], fail).positional([]);
        block = 'schedule';
        break;
      case 'choice': {
        const a = new Args(rest, ['nth'], fail);
        const [actor, point] = a.positional(['actor', 'choice point']) as [string, string];
        sc.choices.push({ actor: parseName(actor, 'actor', fail), point: parseName(point, 'choice point', fail), nth: a.int('nth', 0) });
        break;
      }
      default:
        fail(`unknown directive '${directive}'`);
    }
  });

  for (const c of creates) {
    if (mshares.has(c.name) || files.has(c.name)) throw new ScenarioParseError(file, c.line, `duplicate file '${c.name}' (mshare_create of a file already declared or created)`);
    mshares.add(c.name);
  }
  for (const r of refs) {
    if (r.what === 'process' && forked.has(r.name)) continue; // a child of a fork op
    if (r.what === 'file' && gmems.has(r.name)) continue; // an mmap of a guest_memfd: validate.ts says why it is refused
    if (!(r.what === 'process' ? procs : r.what === 'file' ? files : r.what === 'vm' ? vms : r.what === 'device' ? devs : r.what === 'guest_memfd' ? gmems : mshares).has(r.name)) throw new ScenarioParseError(file, r.line, `undeclared ${r.what} '${r.name}'`);
  }
  return sc;
}
