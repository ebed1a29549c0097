/**
 * The benchmark runner: every scenario × competitor × surface, each trial in a fresh child process
 * (bench/trial.ts), trials interleaved round-robin, median of the trials, and each ratio to
 * diskcache-ts as the median of per-round ratios (a trial against diskcache-ts's trial of the same round). Writes bench/results/<name>.{json,md,svg}; the full run also refreshes BENCHMARKS.md.
 *
 *   npm run bench                  full run (about 15 minutes)
 *   npm run bench:quick            a subset with fewer operations (about a minute)
 *   npm run bench:install          what the two above run first: the competitors, bench/package.json
 *   tsx bench/run.ts [--quick] [--trials N] [--scenarios a,b] [--competitors a,b] [--name NAME]
 *                    [--entries N] [--baseline NAME]
 *
 * --entries N: every store holds N entries before its timed phase (reads and deletes draw from them,
 * writes go to other keys, cold open opens N); default: each scenario's own. --baseline: the
 * competitor of the "vs" columns (default diskcache-ts, or the first competitor if it is not run).
 * Besides, every pair of competitors (with more than four: the two engines, python-diskcache and
 * append-floor) gets its ratios, pair by pair, in a side-by-side table that the run also prints.
 * python-diskcache needs bench/setup.sh first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMPETITORS, QUICK } from './competitors/index.js';
import { type Competitor, median, type Scenario, type Surface, startTrial, type TrialResult } from './lib.js';
import {
  BASELINE,
  type CompetitorInfo,
  pairsTable,
  type Row,
  type RunResult,
  renderMarkdown,
  renderSvg,
} from './report.js';
import { SCENARIOS } from './scenarios/index.js';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    trials: { type: 'string' },
    scenarios: { type: 'string' },
    competitors: { type: 'string' },
    name: { type: 'string' },
    entries: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const quick = args.quick === true;
const name = args.name ?? (quick ? 'quick' : 'full');
const trials = Number(args.trials ?? (quick ? 1 : 3));
/** Quick mode divides every operation count by this. */
const QUICK_DIVISOR = 10;
/** A timed loop stops after this long (a safety net: diskcache-ts and the floor finish well within it). */
const BUDGET_MS = quick ? 1_000 : 5_000;

const pick = <T extends { name: string }>(all: T[], list: string | undefined, fallback: T[]): T[] =>
  list === undefined ? fallback : list.split(',').map((n) => all.find((x) => x.name === n) ?? fail(n));
const fail = (n: string): never => {
  throw new Error(`unknown scenario or competitor "${n}"`);
};
const scenarios = pick(SCENARIOS, args.scenarios, SCENARIOS);
const competitors = pick(
  COMPETITORS,
  args.competitors,
  quick ? COMPETITORS.filter((c) => QUICK.includes(c.name)) : COMPETITORS,
);
const entries = args.entries === undefined ? undefined : Number(args.entries);
if (entries !== undefined && !(Number.isInteger(entries) && entries >= 0))
  throw new Error(`--entries must be a whole number, not "${args.entries}"`);
const baseline =
  args.baseline ??
  (competitors.some((c) => c.name === BASELINE) ? BASELINE : (competitors[0]?.name ?? BASELINE));
if (!competitors.some((c) => c.name === baseline)) fail(baseline);
/** Competitors that cannot run here (a missing package), asked once. */
const unavailable = new Map(competitors.map((c) => [c.name, c.unavailable?.()]));

function sh(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}

function fsType(path: string): string {
  return sh('df', ['--output=fstype', path]).split('\n').pop() ?? '?';
}

function version(c: Competitor): string {
  if (c.version) return c.version();
  if (c.pkg === undefined)
    return c.kind === 'ours'
      ? JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
      : `node ${process.version}`;
  // The competitors are bench/'s own packages (bench/package.json); lru-cache is the root's.
  for (const modules of [join(ROOT, 'bench', 'node_modules'), join(ROOT, 'node_modules')]) {
    try {
      return JSON.parse(readFileSync(join(modules, c.pkg, 'package.json'), 'utf8')).version;
    } catch {}
  }
  return 'not installed';
}

interface Job {
  scenario: Scenario;
  competitor: Competitor;
  surface: Surface;
  ops: number;
  results: TrialResult[];
  skip?: string;
  error?: string;
}

function opsFor(s: Scenario, c: Competitor): number {
  const base = quick ? Math.round(s.ops / QUICK_DIVISOR) : s.ops;
  const cap = c.opsCap?.[s.name] ?? (s.fixedOps ? undefined : c.opsCap?.default);
  return cap === undefined ? base : Math.min(base, cap);
}

const jobs: Job[] = scenarios.flatMap((scenario) =>
  competitors
    .filter((c) => c.only === undefined || c.only.includes(scenario.name))
    .flatMap((competitor) =>
      (scenario.surfaces === 'one' ? competitor.surfaces.slice(0, 1) : competitor.surfaces).map(
        (surface) => ({
          scenario,
          competitor,
          surface,
          ops: opsFor(scenario, competitor),
          results: [],
          skip: unavailable.get(competitor.name) ?? scenario.skip?.(competitor),
        }),
      ),
    ),
);

function describe(job: Job, r: TrialResult): string {
  const m = job.scenario.metric;
  const v =
    m === 'ops/s'
      ? `${Math.round(r.value).toLocaleString('en-US')} ops/s`
      : m === 'ms'
        ? `${r.value.toFixed(2)} ms`
        : `${Math.round(r.value / 1024)} KiB`;
  return `${v}${r.notes?.length ? ` (${r.notes.join('; ')})` : ''}`;
}

async function runJob(job: Job, trial: number, index: string): Promise<void> {
  const label = `${index} ${job.scenario.name} ${job.competitor.name} ${job.surface} n=${job.ops}${entries === undefined ? '' : ` entries=${entries}`} #${trial + 1}`;
  const started = performance.now();
  try {
    const child = startTrial([
      'run',
      job.scenario.name,
      job.competitor.name,
      job.surface,
      String(job.ops),
      String(BUDGET_MS),
      ...(entries === undefined ? [] : [String(entries)]),
    ]);
    const result = (await child.next()) as TrialResult;
    await child.exited;
    if (result.skip !== undefined) {
      job.skip = result.skip;
      console.log(`${label}: n/a (${result.skip})`);
      return;
    }
    job.results.push(result);
    console.log(
      `${label}: ${describe(job, result)} [${((performance.now() - started) / 1000).toFixed(1)} s]`,
    );
  } catch (error) {
    job.error =
      String((error as Error).message)
        .split('\n')
        .find((l) => /Error|error/.test(l))
        ?.slice(0, 200) ?? 'failed';
    console.log(`${label}: SKIPPED, the trial failed: ${job.error}`);
  }
}

function toRow(job: Job): Row {
  const { scenario, competitor, surface, results } = job;
  const extraKeys = [...new Set(results.flatMap((r) => Object.keys(r.extra ?? {})))];
  const us = results.map((r) => r.medianUs).filter((v): v is number => v !== undefined);
  return {
    scenario: scenario.name,
    competitor: competitor.name,
    label: competitor.label,
    kind: competitor.kind,
    surface,
    ops: results[0]?.ops ?? job.ops,
    value: median(results.map((r) => r.value)),
    medianUs: us.length > 0 ? median(us) : undefined,
    extra: Object.fromEntries(
      extraKeys.map((k) => [k, median(results.map((r) => r.extra?.[k] ?? Number.NaN))]),
    ),
    trials: results.map((r) => r.value),
    notes: [...new Set(results.flatMap((r) => r.notes ?? []))],
    skip: job.skip,
    error: job.error ?? (job.skip === undefined && results.length === 0 ? 'no result' : undefined),
  };
}

function withRatios(rows: Row[]): Row[] {
  return rows.map((row) => {
    if (row.skip !== undefined || row.error !== undefined) return row;
    const metric = SCENARIOS.find((s) => s.name === row.scenario)?.metric;
    const candidates = rows.filter(
      (r) =>
        r.scenario === row.scenario &&
        r.competitor === baseline &&
        r.skip === undefined &&
        r.error === undefined,
    );
    const base =
      candidates.find((r) => r.surface === row.surface) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    if (base === undefined) return row;
    // Pair by pair: each trial against the baseline's trial of the same round, then the median.
    const rounds = Math.min(row.trials.length, base.trials.length);
    const ratios = Array.from({ length: rounds }, (_, t) => {
      const [mine, ours] = [row.trials[t] as number, base.trials[t] as number];
      return metric === 'ops/s' ? mine / ours : ours / mine;
    });
    return { ...row, ratio: median(ratios) };
  });
}

/** Replaces what lies between the generated-section markers of BENCHMARKS.md. */
function refreshBenchmarksMd(markdown: string): void {
  const path = join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  const begin = '<!-- bench:full:begin -->';
  const end = '<!-- bench:full:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  const shifted = markdown.replace(/^(#+) /gm, '#$1 '); // one level down, under "## Results"
  writeFileSync(path, `${text.slice(0, a + begin.length)}\n${shifted}\n${text.slice(b)}`);
  console.log('updated BENCHMARKS.md');
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const loadStart = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const byScenario = scenarios.map((s) => jobs.filter((j) => j.scenario === s));
  let count = 0;
  const total = byScenario.reduce((sum, js) => sum + js.length * (js[0]?.scenario.trials ?? trials), 0);
  for (const group of byScenario) {
    const n = group[0]?.scenario.trials ?? trials;
    // Trials round-robin over the competitors, so that a slow spell of the machine hits them all alike.
    for (let t = 0; t < n; t++) {
      for (const job of group) {
        count++;
        if (job.skip !== undefined || job.error !== undefined) continue;
        await runJob(job, t, `[${count}/${total}]`);
      }
    }
  }
  const rows = withRatios(jobs.map(toRow));
  const competitorInfo: CompetitorInfo[] = competitors.map((c) => ({
    name: c.name,
    label: c.label,
    kind: c.kind,
    version: version(c),
    note: c.note,
    opsCap: c.opsCap,
  }));
  const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', 'src']) !== '';
  const run: RunResult = {
    name,
    command: `npm run ${quick ? 'bench:quick' : 'bench'}${process.argv.slice(2).filter((a) => a !== '--quick').length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    durationS: (performance.now() - t0) / 1000,
    trials,
    baseline,
    entries,
    commit: `${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}${dirty ? ' (with uncommitted changes in src/)' : ''}`,
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? '?',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      tmpdir: os.tmpdir(),
      tmpFs: fsType(os.tmpdir()),
      repoFs: fsType(ROOT),
      node: process.version,
      loadStart,
      loadEnd: os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
    },
    scenarios: scenarios.map(({ name, title, metric }) => ({ name, title, metric })),
    competitors: competitorInfo,
    rows,
  };
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const markdown = renderMarkdown(run);
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(run, null, 1)}\n`);
  writeFileSync(join(out, `${name}.md`), `# diskcache-ts benchmarks: ${name} run\n\n${markdown}`);
  writeFileSync(join(out, `${name}.svg`), renderSvg(run));
  console.log(`\n${pairsTable(run)}\n`);
  console.log(`wrote bench/results/${name}.{json,md,svg} in ${run.durationS.toFixed(0)} s`);
  if (name === 'full' && !args.scenarios && !args.competitors && !args.entries && !args.baseline)
    refreshBenchmarksMd(markdown);
}

await main();
