/**
 * Growth benchmark: per-operation cost, cold open and memory as a cache grows to 10,000, 100,000
 * and 1,000,000 entries. Each measurement runs in a fresh process on the same directory.
 *
 *   npm run bench:growth                       # 10k, 100k, 1M, the engine 'auto' picks here
 *   npm run bench:growth -- --sizes 1000,10000 # a quick look
 *   npm run bench:growth -- --engine files     # the other engine
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OPS = 2000;
const BATCH = 100;
const OPERATIONS = ['set', 'get hit', 'delete', 'count', 'volume', 'floor: one random read'] as const;
/** Fresh measuring processes per size; each cell is their median. */
const RUNS = 5;
type Operation = (typeof OPERATIONS)[number];

interface Measurement {
  entries: number;
  openMs: number;
  /** `new Cache(dir)` and one get of a stored key, in a fresh process. */
  firstGetMs: number;
  rssMiB: number;
  usPerOp: Record<Operation, number>;
}

/** A value of 100 B to 1 KiB, the same for the same index. */
function valueFor(i: number): Buffer {
  return Buffer.alloc(100 + ((i * 7919) % 925), i % 251);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Child: add entries `from` … `to - 1`. */
async function fill(dir: string, from: number, to: number, engine: string): Promise<void> {
  const { Cache } = await import('../src/index.js');
  // Default options but for a size limit that nothing reaches: writes still sweep for expired
  // entries as they do by default (the options are stored, so the measuring process has them too).
  const cache = new Cache(dir, { sizeLimit: 2 ** 50, engine: engine as 'auto' | 'log' | 'files' });
  for (let i = from; i < to; i++) cache.setSync(`key-${i}`, valueFor(i));
  cache.closeSync();
}

/** Child: time the open and each operation (median of batch means), then report RSS. */
async function measure(dir: string, entries: number): Promise<Measurement> {
  const { Cache } = await import('../src/index.js');
  const imported = performance.now();
  const cache = new Cache(dir);
  const openMs = performance.now() - imported;
  cache.getSync(`key-${entries >> 1}`);
  const firstGetMs = performance.now() - imported;
  const batches = (work: (i: number) => void): number => {
    const means: number[] = [];
    for (let b = 0; b < OPS / BATCH; b++) {
      const t = performance.now();
      for (let i = b * BATCH; i < (b + 1) * BATCH; i++) work(i);
      means.push(((performance.now() - t) * 1000) / BATCH);
    }
    return median(means);
  };
  const fresh = (i: number) => `fresh-${entries}-${i}`;
  const usPerOp: Record<Operation, number> = {
    set: batches((i) => cache.setSync(fresh(i), valueFor(i))),
    'get hit': batches((i) => cache.getSync(`key-${(i * 104_729) % entries}`)),
    delete: batches((i) => cache.deleteSync(fresh(i))),
    count: batches(() => cache.countSync()),
    volume: batches(() => cache.volumeSync()),
    'floor: one random read': 0,
  };
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  cache.closeSync();
  usPerOp['floor: one random read'] = batches(randomRead(dir));
  return { entries, openMs, firstGetMs, rssMiB, usPerOp };
}

/**
 * What the file system itself costs for a random read at this size (set up after RSS is read, which
 * the list of paths would inflate): `readFileSync` of entry files drawn at random from 16 of the 256
 * shard directories (files engine), or a 1 KiB `pread` at a random offset of a random open bucket
 * file (log engine).
 */
function randomRead(dir: string): (i: number) => void {
  const log = join(dir, 'log');
  const buckets = (() => {
    try {
      return readdirSync(log).filter((name) => /^[0-9a-f]{2}\.\d+$/.test(name));
    } catch {
      return [];
    }
  })();
  if (buckets.length > 0) {
    const files = buckets.map((name) => ({
      fd: openSync(join(log, name), 'r'),
      size: statSync(join(log, name)).size,
    }));
    const buffer = Buffer.allocUnsafe(1024);
    process.on('exit', () => {
      for (const { fd } of files) closeSync(fd);
    });
    return (i) => {
      const file = files[(i * 104_729) % files.length] as { fd: number; size: number };
      readSync(file.fd, buffer, 0, 1024, (i * 7_919_113) % Math.max(1, file.size - 1024));
    };
  }
  const shards = Array.from({ length: 16 }, (_, n) =>
    join(dir, 'entries', (n * 16).toString(16).padStart(2, '0')),
  );
  const files = shards.flatMap((shard) => readdirSync(shard).map((name) => join(shard, name)));
  return (i) => readFileSync(files[(i * 104_729) % files.length] as string);
}

/** The median of each number over several measurements of one size. */
function medianOf(runs: Measurement[]): Measurement {
  const first = runs[0] as Measurement;
  return {
    entries: first.entries,
    openMs: median(runs.map((r) => r.openMs)),
    firstGetMs: median(runs.map((r) => r.firstGetMs)),
    rssMiB: median(runs.map((r) => r.rssMiB)),
    usPerOp: Object.fromEntries(
      OPERATIONS.map((op) => [op, median(runs.map((r) => r.usPerOp[op]))]),
    ) as Record<Operation, number>,
  };
}

function runChild(args: string[]): string {
  const script = fileURLToPath(import.meta.url);
  return execFileSync(process.execPath, ['--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
}

function renderMarkdown(rows: Measurement[], command: string): string {
  const base = rows[0] as Measurement;
  const lines = [
    `Command: \`${command}\` — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, directory in ${tmpdir()}.`,
    '',
    `| entries | ${OPERATIONS.map((op) => `${op} µs`).join(' | ')} | cold open ms | open + first get ms | RSS MiB |`,
    `|---:|${OPERATIONS.map(() => '---:').join('|')}|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.entries.toLocaleString('en')} | ${OPERATIONS.map((op) => `${r.usPerOp[op].toFixed(1)} (${(r.usPerOp[op] / base.usPerOp[op]).toFixed(2)}x)`).join(' | ')} | ${r.openMs.toFixed(2)} | ${r.firstGetMs.toFixed(2)} | ${r.rssMiB.toFixed(0)} |`,
    ),
    '',
    `Each cell: the median over ${RUNS} fresh processes of the median µs per operation over ${OPS / BATCH} batches of ${BATCH}, and in brackets the ratio to the smallest size. Cold open: \`new Cache(dir)\` in a fresh process, right after the import; open + first get adds one get of a stored key. RSS after the operations. "floor: one random read" is what the file system itself costs for a random read at that size: \`readFileSync\` of entry files drawn at random from 16 of the 256 shard directories (files engine), or a 1 KiB \`pread\` at a random offset of a random bucket file (log engine).`,
  ];
  return lines.join('\n');
}

function renderSvg(rows: Measurement[]): string {
  const W = 640;
  const H = 320;
  const pad = 48;
  const base = rows[0] as Measurement;
  const xs = rows.map((r) => Math.log10(r.entries));
  const x = (v: number) =>
    pad +
    ((v - (xs[0] as number)) / Math.max(1e-9, (xs.at(-1) as number) - (xs[0] as number))) * (W - 2 * pad);
  const maxRatio = Math.max(
    2,
    ...rows.flatMap((r) => OPERATIONS.map((op) => r.usPerOp[op] / base.usPerOp[op])),
  );
  const y = (ratio: number) => H - pad - (ratio / maxRatio) * (H - 2 * pad);
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#7f7f7f'];
  const lines = OPERATIONS.map((op, i) => {
    const points = rows.map(
      (r, j) => `${x(xs[j] as number).toFixed(1)},${y(r.usPerOp[op] / base.usPerOp[op]).toFixed(1)}`,
    );
    return `<polyline fill="none" stroke="${colors[i]}" stroke-width="2" points="${points.join(' ')}"/><text x="${W - pad + 4}" y="${pad + 14 * i}" font-size="11" fill="${colors[i]}">${op}</text>`;
  });
  const ticks = rows.map(
    (r, j) =>
      `<text x="${x(xs[j] as number)}" y="${H - pad + 16}" font-size="11" text-anchor="middle">${r.entries.toLocaleString('en')}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 130}" height="${H}" font-family="sans-serif">
<text x="${pad}" y="20" font-size="13">Cost per operation relative to ${base.entries.toLocaleString('en')} entries (1.0 = flat)</text>
<line x1="${pad}" y1="${y(1)}" x2="${W - pad}" y2="${y(1)}" stroke="#999" stroke-dasharray="4"/>
<line x1="${pad}" y1="${y(1.25)}" x2="${W - pad}" y2="${y(1.25)}" stroke="#c00" stroke-dasharray="2 4"/>
<text x="${pad + 4}" y="${y(1.25) - 4}" font-size="10" fill="#c00">goal: within 1.25</text>
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#333"/>
<text x="${pad - 6}" y="${y(1) + 4}" font-size="11" text-anchor="end">1.0</text>
<text x="${pad - 6}" y="${y(maxRatio) + 4}" font-size="11" text-anchor="end">${maxRatio.toFixed(1)}</text>
${ticks.join('\n')}
${lines.join('\n')}
</svg>
`;
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'fill') return fill(rest[0] as string, Number(rest[1]), Number(rest[2]), rest[3] as string);
  if (mode === 'measure') {
    process.stdout.write(`${JSON.stringify(await measure(rest[0] as string, Number(rest[1])))}\n`);
    return;
  }
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes =
    sizesArg > 0
      ? (process.argv[sizesArg + 1] as string).split(',').map(Number)
      : [10_000, 100_000, 1_000_000];
  const engineArg = process.argv.indexOf('--engine');
  const engine = engineArg > 0 ? (process.argv[engineArg + 1] as string) : 'auto';
  const dir = mkdtempSync(join(tmpdir(), 'diskcache-growth-'));
  const rows: Measurement[] = [];
  try {
    let filled = 0;
    for (const size of sizes) {
      const t = performance.now();
      runChild(['fill', dir, String(filled), String(size), engine]);
      console.error(
        `filled ${size.toLocaleString('en')} entries (${((performance.now() - t) / 1000).toFixed(0)} s)`,
      );
      filled = size;
      const runs = Array.from(
        { length: RUNS },
        () => JSON.parse(runChild(['measure', dir, String(size)])) as Measurement,
      );
      const row = medianOf(runs);
      console.error(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  mkdirSync(results, { recursive: true });
  const flags = [
    ...(sizesArg > 0 ? ['--sizes', sizes.join(',')] : []),
    ...(engineArg > 0 ? ['--engine', engine] : []),
  ];
  const command = `npm run bench:growth${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
  writeFileSync(join(results, 'growth.json'), `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(join(results, 'growth.md'), `${renderMarkdown(rows, command)}\n`);
  writeFileSync(join(results, 'growth.svg'), renderSvg(rows));
  console.log(renderMarkdown(rows, command));
}

await main();
