/**
 * Renders a run's rows as markdown (tables, the goals of issues 2 and 7, the side-by-side pairs and
 * the targets of issue 13) and as an SVG bar chart of ratios to the baseline (diskcache-ts unless
 * `--baseline` named another). Pure functions of the run's JSON.
 */
import type { Kind, Surface } from './lib.js';

export interface Row {
  scenario: string;
  competitor: string;
  label: string;
  kind: Kind;
  surface: Surface;
  ops: number;
  /** Median over trials, in the scenario's metric. */
  value: number;
  medianUs?: number;
  extra?: Record<string, number>;
  trials: number[];
  notes: string[];
  /** Competitor's performance ÷ the baseline's (diskcache-ts's), in this run (> 1: the competitor does better). */
  ratio?: number;
  skip?: string;
  error?: string;
}

export interface ScenarioInfo {
  name: string;
  title: string;
  metric: 'ops/s' | 'ms' | 'bytes';
}

export interface CompetitorInfo {
  name: string;
  label: string;
  kind: Kind;
  version: string;
  note?: string;
  opsCap?: Readonly<Record<string, number>>;
}

export interface RunResult {
  name: string;
  command: string;
  date: string;
  durationS: number;
  trials: number;
  /** The competitor of the "vs" columns; absent in runs written before it could be chosen: diskcache-ts. */
  baseline?: string;
  /** `--entries`: entries every store held before its timed phase (absent: each scenario's own). */
  entries?: number;
  commit: string;
  machine: Record<string, string | number>;
  scenarios: ScenarioInfo[];
  competitors: CompetitorInfo[];
  rows: Row[];
}

export const BASELINE = 'diskcache-ts';

/** The run's baseline competitor. */
function baseOf(run: RunResult): string {
  return run.baseline ?? BASELINE;
}

const KIND: Record<Kind, string> = {
  ours: 'ours',
  floor: 'floor',
  'file-peer': 'file-based (network-fs capable)',
  'local-only': 'local disk only, not network-filesystem safe',
  memory: 'memory only',
};

function num(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 10 ** digits) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export function ratioText(r: number | undefined, digits = 2): string {
  if (r === undefined || !Number.isFinite(r)) return '–';
  return `${num(r, digits)}×`;
}

/** The value column of a row, in its scenario's unit. */
function valueText(row: Row, metric: ScenarioInfo['metric']): string {
  if (metric === 'bytes') return `${num(row.value / 1024 / 1024)} MiB`;
  if (metric === 'ms') return `${num(row.value)} ms`;
  return num(row.value);
}

function find(rows: Row[], scenario: string, competitor: string, surface?: Surface): Row | undefined {
  return rows.find(
    (r) =>
      r.scenario === scenario &&
      r.competitor === competitor &&
      (surface === undefined || r.surface === surface) &&
      r.skip === undefined &&
      r.error === undefined,
  );
}

function range(values: number[]): string {
  return values.length < 2 ? '' : `${num(Math.min(...values), 2)}–${num(Math.max(...values), 2)}`;
}

function scenarioTable(run: RunResult, s: ScenarioInfo): string {
  const base = baseOf(run);
  const rows = run.rows.filter((r) => r.scenario === s.name);
  const out: string[] = [`### ${s.title}`, ''];
  if (s.metric === 'ops/s') {
    out.push(
      `| competitor | surface | n | ops/s | trials (min–max) | median µs/op | vs ${base} |`,
      '|---|---|--:|--:|--:|--:|--:|',
    );
  } else if (s.metric === 'ms') {
    out.push(
      `| competitor | entries | open + first get | library import (through tsx) | import + open + first get | vs ${base} |`,
      '|---|--:|--:|--:|--:|--:|',
    );
  } else {
    out.push(
      `| competitor | entries written | per 10,000 entries | per entry | vs ${base} |`,
      '|---|--:|--:|--:|--:|',
    );
  }
  const notes: string[] = [];
  const order: Surface[] = ['sync', 'async'];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.surface) - order.indexOf(b.surface));
  for (const r of sorted) {
    const mark =
      r.notes.length > 0 ? ` [${notes.push(`${r.label} (${r.surface}): ${r.notes.join('; ')}`)}]` : '';
    const label = `${r.competitor === base ? `**${r.label}**` : r.label}${mark}`;
    if (r.skip !== undefined || r.error !== undefined) {
      const why = r.skip ?? `failed: ${r.error}`;
      if (s.metric === 'ops/s') out.push(`| ${label} | ${r.surface} | | n/a | | | ${why} |`);
      else if (s.metric === 'ms') out.push(`| ${label} | | n/a | | | ${why} |`);
      else out.push(`| ${label} | | n/a | | ${why} |`);
      continue;
    }
    if (s.metric === 'ops/s') {
      out.push(
        `| ${label} | ${r.surface} | ${num(r.ops, 5)} | ${valueText(r, s.metric)} | ${range(r.trials)} | ${num(r.medianUs)} | ${ratioText(r.ratio)} |`,
      );
    } else if (s.metric === 'ms') {
      out.push(
        `| ${label} | ${num(r.ops, 5)} | ${valueText(r, s.metric)} | ${num(r.extra?.importMs)} ms | ${num(r.extra?.totalMs)} ms | ${ratioText(r.ratio)} |`,
      );
    } else {
      out.push(
        `| ${label} | ${num(r.ops, 5)} | ${valueText(r, s.metric)} | ${num(r.extra?.bytesPerEntry)} B | ${ratioText(r.ratio)} |`,
      );
    }
  }
  if (notes.length > 0) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}  `));
  return out.join('\n');
}

/** Competitors × scenarios, ops/s (cold open in ms, disk use in MiB), one line per surface. */
function summaryTable(run: RunResult): string {
  const cols = run.scenarios;
  const out = [
    `| competitor | surface | ${cols.map((s) => s.name).join(' | ')} |`,
    `|---|---|${cols.map(() => '--:').join('|')}|`,
  ];
  for (const c of run.competitors) {
    const mine = run.rows.filter(
      (r) => r.competitor === c.name && r.skip === undefined && r.error === undefined,
    );
    const surfaces = (['sync', 'async'] as Surface[]).filter((s) => mine.some((r) => r.surface === s));
    surfaces.forEach((surface, i) => {
      const cells = cols.map((s) => {
        const here = mine.filter((r) => r.scenario === s.name);
        // A scenario measured on one surface only shows in the competitor's first line.
        const r =
          here.find((x) => x.surface === surface) ?? (i === 0 && here.length === 1 ? here[0] : undefined);
        return r ? valueText(r, s.metric) : '';
      });
      const label = c.name === baseOf(run) ? `**${c.label}**` : c.label;
      out.push(`| ${label} | ${surface} | ${cells.join(' | ')} |`);
    });
  }
  return out.join('\n');
}

interface Goal {
  goal: string;
  measured: string;
  met: boolean | undefined;
}

function ops(run: RunResult, scenario: string, competitor: string, surface: Surface): number | undefined {
  return find(run.rows, scenario, competitor, surface)?.value;
}

/** The goals of issues 2 and 7, each with the measured ratio. */
export function goals(run: RunResult): Goal[] {
  const out: Goal[] = [];
  const within = (goal: string, scenario: string, surface: Surface, limit: number) => {
    const ours = find(run.rows, scenario, BASELINE, surface);
    const floor = find(run.rows, scenario, 'fs-floor', surface);
    const f = floor?.ratio;
    out.push({
      goal,
      measured:
        f === undefined || ours === undefined || floor === undefined
          ? 'not measured'
          : `floor ${ratioText(f, 3)} as fast (medians: ${num(ours.value)} vs floor ${num(floor.value)} ops/s)`,
      met: f === undefined ? undefined : f <= limit,
    });
  };
  within('`setSync` within 1.5× of the raw floor (write temp + rename)', 'set-1k', 'sync', 1.5);
  within('`getSync` hit within 1.5× of `readFileSync`', 'get-hit', 'sync', 1.5);
  for (const [s, what] of [
    ['set-1k', 'set'],
    ['get-hit', 'get hit'],
    ['get-miss', 'get miss'],
    ['delete', 'delete'],
  ] as const) {
    within(`async ${what} within 2× of the async floor (fs.promises)`, s, 'async', 2);
  }

  const peers = run.competitors.filter((c) => c.kind === 'file-peer');
  for (const peer of peers) {
    for (const s of ['set-1k', 'get-hit']) {
      const rows = (['sync', 'async'] as Surface[])
        .map((surface) => ({
          surface,
          ours: find(run.rows, s, BASELINE, surface),
          theirs: find(run.rows, s, peer.name, surface),
        }))
        .filter((p) => p.ours && p.theirs?.ratio);
      if (rows.length === 0) continue;
      // Our lead on the surface where it is smallest.
      const worst = rows.reduce((a, b) => ((a.theirs?.ratio ?? 0) > (b.theirs?.ratio ?? 0) ? a : b));
      const lead = 1 / (worst.theirs?.ratio ?? 1);
      out.push({
        goal: `≥ 3× ahead of ${peer.label} on ${s}`,
        measured: `${ratioText(lead, 3)} (${worst.surface}: ${num(worst.ours?.value)} vs ${num(worst.theirs?.value)} ops/s${rows.length > 1 ? ', the lower surface' : ''})`,
        met: lead >= 3,
      });
    }
    const behind = run.rows
      .filter(
        (r) =>
          r.competitor === peer.name &&
          r.ratio !== undefined &&
          r.skip === undefined &&
          r.error === undefined,
      )
      .filter((r) => (r.ratio as number) >= 1);
    out.push({
      goal: `ahead of ${peer.label} on every scenario`,
      measured:
        behind.length === 0
          ? 'ahead on every scenario measured'
          : `behind on ${behind.map((r) => `${r.scenario} ${r.surface} (${ratioText(1 / (r.ratio as number))})`).join(', ')}`,
      met: behind.length === 0,
    });
  }

  const open = find(run.rows, 'cold-open', BASELINE);
  out.push({
    goal: `cold open + first get < 1 ms (${open ? num(open.ops, 5) : '10,000'} entries, fresh process)`,
    measured: open
      ? `${num(open.value)} ms open + first get (${num(open.extra?.totalMs)} ms with the library import through tsx)`
      : 'not measured',
    met: open ? open.value < 1 : undefined,
  });
  const python = [
    ['set-1k', 'set', 6_000, 5],
    ['get-hit', 'get hit', 78_000, 2],
    ['delete', 'delete', 6_400, 5],
    ['batch-100', 'sets in transact', 16_900, 5],
  ] as const;
  for (const [s, what, ref, factor] of python) {
    const ours = ops(run, s, BASELINE, 'sync');
    out.push({
      goal: `${what}: ≥ ${factor}× python-diskcache (${num(ref)}/s reference) = ${num(ref * factor)}/s`,
      measured: ours ? `${num(ours)}/s sync = ${ratioText(ours / ref)} the reference` : 'not measured',
      met: ours ? ours >= ref * factor : undefined,
    });
  }
  out.push({
    goal: 'open: python-diskcache 11–25 ms → diskcache-ts < 1 ms',
    measured: open
      ? `${num(open.value)} ms: ${ratioText(11 / open.value)} faster than 11 ms`
      : 'not measured',
    met: open ? open.value < 1 : undefined,
  });
  return out;
}

/** With more competitors than this in a run, the side-by-side table keeps to `SIDE_BY_SIDE`. */
const MAX_SIDE_BY_SIDE = 4;
/** The competitors of issue 13's side-by-side: the two engines, python-diskcache, the floor of a log. */
const SIDE_BY_SIDE = ['diskcache-ts-log', 'diskcache-ts-files', 'python-diskcache', 'append-floor'];

function sideBySide(run: RunResult): CompetitorInfo[] {
  if (run.competitors.length <= MAX_SIDE_BY_SIDE) return run.competitors;
  return run.competitors.filter((c) => SIDE_BY_SIDE.includes(c.name));
}

/**
 * `competitor`'s row for a scenario and surface; if it has none on that surface but exactly one
 * (python-diskcache is sync only), that one, marked `other`.
 */
function rowFor(
  run: RunResult,
  scenario: string,
  competitor: string,
  surface: Surface,
): { row: Row; other: boolean } | undefined {
  const here = run.rows.filter(
    (r) =>
      r.scenario === scenario && r.competitor === competitor && r.skip === undefined && r.error === undefined,
  );
  const same = here.find((r) => r.surface === surface);
  if (same) return { row: same, other: false };
  return here.length === 1 ? { row: here[0] as Row, other: true } : undefined;
}

/**
 * A's performance ÷ B's, pair by pair: each of A's trials against B's trial of the same round, then
 * the median (> 1: A does better; for times and bytes, B's ÷ A's).
 */
export function pairRatio(a: Row, b: Row, metric: ScenarioInfo['metric']): number {
  const rounds = Math.min(a.trials.length, b.trials.length);
  return median(
    Array.from({ length: rounds }, (_, t) => {
      const [x, y] = [a.trials[t] as number, b.trials[t] as number];
      return metric === 'ops/s' ? x / y : y / x;
    }),
  );
}

function median(values: number[]): number {
  const v = [...values].sort((x, y) => x - y);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** A cell of the side-by-side table: µs per operation (1e6 ÷ ops/s), or ms, or MiB. */
function costText(row: Row, metric: ScenarioInfo['metric']): string {
  if (metric === 'ops/s') return num(1e6 / row.value);
  return valueText(row, metric);
}

/**
 * The side-by-side of issue 13: for each scenario and surface, each competitor's cost per operation
 * and, for every pair A, B (in the run's order), A vs B computed pair by pair.
 */
export function pairsTable(run: RunResult): string {
  const cs = sideBySide(run);
  if (cs.length < 2) return 'Side by side: fewer than two competitors.';
  const pairs = cs.flatMap((a, i) => cs.slice(i + 1).map((b) => [a, b] as const));
  const out = [
    `| scenario | surface | ${cs.map((c) => `${c.name} µs/op`).join(' | ')} | ${pairs.map(([a, b]) => `${a.name} vs ${b.name}`).join(' | ')} |`,
    `|---|---|${cs.map(() => '--:').join('|')}|${pairs.map(() => '--:').join('|')}|`,
  ];
  let otherSurface = false;
  for (const s of run.scenarios) {
    for (const surface of ['sync', 'async'] as Surface[]) {
      const own = cs.map((c) =>
        run.rows.find(
          (r) =>
            r.scenario === s.name &&
            r.competitor === c.name &&
            r.surface === surface &&
            r.skip === undefined &&
            r.error === undefined,
        ),
      );
      if (own.every((r) => r === undefined)) continue;
      const found = cs.map((c) => rowFor(run, s.name, c.name, surface));
      const cells = found.map((f) => {
        if (f === undefined) return 'n/a';
        otherSurface ||= f.other;
        return `${costText(f.row, s.metric)}${f.other ? ` (${f.row.surface})` : ''}`;
      });
      const ratios = pairs.map(([a, b]) => {
        const x = found[cs.indexOf(a)];
        const y = found[cs.indexOf(b)];
        // Only where A is on this surface, so that a sync-only competitor's row is not repeated.
        if (x === undefined || y === undefined || x.other) return '–';
        return ratioText(pairRatio(x.row, y.row, s.metric));
      });
      out.push(`| ${s.name} | ${surface} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
    }
  }
  const note = [
    '',
    `µs/op is 1,000,000 ÷ the median throughput (cold open: ms, disk use: MiB per 10,000 entries). "A vs B" is A's throughput ÷ B's (times and bytes: B's ÷ A's), each of A's trials against B's trial of the same round, then the median: above 1× A does better.${otherSurface ? ' A cell marked (sync) is a sync-only competitor beside the other surface.' : ''}`,
  ];
  return [...out, ...note].join('\n');
}

/** Issue 13's targets: the log engine (or diskcache-ts) against python-diskcache in the same run, and its set against the one-append floor. */
export function targets(run: RunResult): Goal[] {
  const ours = ['diskcache-ts-log', BASELINE].find((n) => run.rows.some((r) => r.competitor === n));
  const python = 'python-diskcache';
  if (ours === undefined || !run.rows.some((r) => r.competitor === python)) return [];
  const out: Goal[] = [];
  const metricOf = (name: string) => run.scenarios.find((s) => s.name === name)?.metric ?? 'ops/s';
  const list = [
    ['set-1k', 'set', 5],
    ['get-hit', 'get hit', 2],
    ['get-miss', 'get miss', 3],
    ['delete', 'delete', 5],
    ['add', 'add (new keys)', 3],
    ['incr', 'incr (one key)', 2],
    ['batch-100', 'sets inside transact(100)', 5],
  ] as const;
  for (const [scenario, what, factor] of list) {
    for (const surface of ['sync', 'async'] as Surface[]) {
      const a = rowFor(run, scenario, ours, surface);
      const b = rowFor(run, scenario, python, surface);
      if (a === undefined || a.other || b === undefined) continue;
      const r = pairRatio(a.row, b.row, metricOf(scenario));
      out.push({
        goal: `${what}, ${surface}: ≥ ${factor}× python-diskcache`,
        measured: `${ratioText(r)} (${num(1e6 / a.row.value)} vs ${num(1e6 / b.row.value)} µs/op${b.other ? `, python-diskcache ${b.row.surface}` : ''})`,
        met: r >= factor,
      });
    }
  }
  const open = rowFor(run, 'cold-open', ours, 'sync');
  if (open)
    out.push({
      goal: `open + first get ≤ 1 ms in a fresh process (the target is at 1,000,000 entries; here ${num(open.row.ops, 7)})`,
      measured: `${num(open.row.value)} ms`,
      met: open.row.value <= 1,
    });
  for (const surface of ['sync', 'async'] as Surface[]) {
    const a = rowFor(run, 'set-1k', ours, surface);
    const f = rowFor(run, 'set-1k', 'append-floor', surface);
    if (a === undefined || a.other || f === undefined || f.other) continue;
    out.push({
      goal: `set, ${surface}, against the one-append floor (reported)`,
      measured: `${ratioText(pairRatio(a.row, f.row, 'ops/s'), 3)} the floor's throughput (${num(1e6 / a.row.value)} vs ${num(1e6 / f.row.value)} µs/op)`,
      met: undefined,
    });
  }
  return out.map((g) => ({ ...g, goal: `${ours}: ${g.goal}` }));
}

function caps(opsCap: CompetitorInfo['opsCap']): string {
  if (opsCap === undefined) return '';
  const list = Object.entries(opsCap).map(
    ([k, v]) => `${k === 'default' ? 'most scenarios' : k} ${num(v, 5)}`,
  );
  return ` Fewer operations (slow store): ${list.join(', ')}.`;
}

export function renderMarkdown(run: RunResult): string {
  const m = run.machine;
  const base = baseOf(run);
  const goalRows = (list: Goal[]) =>
    list.map(
      (g) => `| ${g.goal} | ${g.measured} | ${g.met === undefined ? '–' : g.met ? 'met' : '**not met**'} |`,
    );
  const issue13 = targets(run);
  const parts = [
    `Run \`${run.name}\`: \`${run.command}\`, ${run.date}, ${num(run.durationS)} s, median of ${run.trials} trial(s) per cell (cold open: median of 5 fresh processes; disk use: 1 trial), each trial in a fresh Node process.`,
    '',
    `- Machine: ${m.cpus} vCPU (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.os}`,
    `- Temp dir: \`${m.tmpdir}\` on ${m.tmpFs} (the repo is on ${m.repoFs})`,
    `- Node ${m.node}; diskcache-ts from \`src/\` at ${run.commit} (through tsx)`,
    `- Load average at start / end: ${m.loadStart} / ${m.loadEnd}`,
    ...(run.entries === undefined
      ? []
      : [
          `- Every store held ${num(run.entries, 7)} entries before its timed phase (\`--entries\`; reads and deletes draw from them, writes go to other keys)`,
        ]),
    '',
    `"vs ${base}" is the competitor’s throughput ÷ ${base}’s on the same surface (for cold open and disk use: ${base}’s time or bytes ÷ the competitor’s), computed pair by pair: each trial against ${base}’s trial of the same round, then the median. Above 1× the competitor does better, below 1× ${base} does. "trials (min–max)" shows how much the trials of a cell spread. Async calls are awaited one at a time. Values are 1 KiB (or 100 KiB) ASCII strings; every get is checked for the right length.`,
    '',
    '## Summary',
    '',
    'ops/s unless marked (cold open: open + first get in a fresh process; disk use: per 10,000 entries).',
    '',
    summaryTable(run),
    '',
    ...(base === BASELINE
      ? [
          '## Goals (issues 2 and 7)',
          '',
          '| goal | measured | |',
          '|---|---|---|',
          ...goalRows(goals(run)),
          '',
        ]
      : []),
    '## Side by side, pair by pair',
    '',
    pairsTable(run),
    '',
    ...(issue13.length > 0
      ? ['## Targets (issue 13)', '', '| target | measured | |', '|---|---|---|', ...goalRows(issue13), '']
      : []),
    '## Scenarios',
    '',
    ...run.scenarios.flatMap((s) => [scenarioTable(run, s), '']),
    '## Competitors',
    '',
    '| competitor | version | kind | setup |',
    '|---|---|---|---|',
    ...run.competitors.map(
      (c) => `| ${c.label} | ${c.version} | ${KIND[c.kind]} | ${c.note ?? ''}.${caps(c.opsCap)} |`,
    ),
    '',
  ];
  return parts.join('\n');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bars on a log scale, one group per scenario and surface: each competitor's ratio to diskcache-ts. */
export function renderSvg(run: RunResult): string {
  const W = 960;
  const LABEL = 250;
  const X0 = LABEL + 10;
  const X1 = W - 70;
  const BAR = 13;
  const GAP = 3;
  const LO = -3;
  const HI = 3;
  const x = (r: number) => X0 + ((Math.min(HI, Math.max(LO, Math.log10(r))) - LO) / (HI - LO)) * (X1 - X0);
  const body: string[] = [];
  let y = 70;
  for (const s of run.scenarios) {
    // A scenario measured on one surface per competitor is one group; the others, one per surface.
    const oneSurface =
      run.rows.filter((r) => r.scenario === s.name && r.competitor === baseOf(run)).length === 1;
    for (const surface of oneSurface ? [undefined] : (['sync', 'async'] as Surface[])) {
      const rows = run.rows.filter(
        (r) =>
          r.scenario === s.name &&
          (surface === undefined || r.surface === surface) &&
          r.ratio !== undefined &&
          r.competitor !== baseOf(run),
      );
      if (rows.length === 0) continue;
      body.push(
        `<text x="10" y="${y + 12}" class="group">${xml(s.title)}${surface ? ` — ${surface}` : ''}</text>`,
      );
      y += 20;
      for (const r of rows) {
        const ratio = r.ratio as number;
        const a = x(1);
        const b = x(ratio);
        const cls = ratio < 1 ? 'behind' : 'ahead';
        body.push(
          `<text x="${LABEL}" y="${y + BAR - 3}" class="label">${xml(r.label)}</text>`,
          `<rect x="${Math.min(a, b).toFixed(1)}" y="${y}" width="${Math.max(1, Math.abs(b - a)).toFixed(1)}" height="${BAR}" class="${cls}"/>`,
          `<text x="${(Math.max(a, b) + 4).toFixed(1)}" y="${y + BAR - 3}" class="value">${xml(ratioText(ratio))}</text>`,
        );
        y += BAR + GAP;
      }
      y += 8;
    }
  }
  const ticks = [0.001, 0.01, 0.1, 1, 10, 100, 1000]
    .map(
      (t) =>
        `<line x1="${x(t)}" y1="60" x2="${x(t)}" y2="${y}" class="${t === 1 ? 'one' : 'grid'}"/>` +
        `<text x="${x(t)}" y="55" class="tick">${t}×</text>`,
    )
    .join('');
  const H = y + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<style>
.title{font-size:15px;font-weight:bold}.sub{font-size:11px;fill:#555}.group{font-size:12px;font-weight:bold}
.label{font-size:11px;text-anchor:end}.value{font-size:10px;fill:#333}.tick{font-size:10px;text-anchor:middle;fill:#555}
.grid{stroke:#ddd}.one{stroke:#000}.behind{fill:#4c9a5b}.ahead{fill:#d9822b}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" class="title">Competitors relative to ${xml(baseOf(run))} (log scale; 1× = ${xml(baseOf(run))})</text>
<text x="10" y="38" class="sub">Green, left of 1×: ${xml(baseOf(run))} does better. Orange, right of 1×: the competitor does better. ${xml(`${run.name} run, ${run.date}, Node ${run.machine.node}`)}</text>
${ticks}
${body.join('\n')}
</svg>
`;
}
