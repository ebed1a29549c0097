/**
 * One trial in a fresh process, started by run.ts:
 *   trial.ts run <scenario> <competitor> <surface> <ops> <budgetMs> [entries]   → one TrialResult line
 *   trial.ts probe <scenario> <competitor> ...args          → the scenario's child-process work
 */
import { competitor } from './competitors/index.js';
import { collectedNotes, makeTempDir, removeDir, report, type Surface, type TrialResult } from './lib.js';
import { scenario } from './scenarios/index.js';

async function main(): Promise<void> {
  const [mode, scenarioName, competitorName, ...rest] = process.argv.slice(2);
  const s = scenario(scenarioName ?? '');
  const c = competitor(competitorName ?? '');
  if (mode === 'probe') {
    if (!s.probe) throw new Error(`scenario ${s.name} has no probe`);
    report(await s.probe(c, rest));
    return;
  }
  const [surface, ops, budgetMs, entries] = rest;
  const skip = s.skip?.(c);
  if (skip !== undefined) {
    report({ value: 0, ops: 0, skip } satisfies TrialResult);
    return;
  }
  const dir = makeTempDir();
  try {
    const result = await s.run({
      competitor: c,
      surface: surface as Surface,
      ops: Number(ops),
      dir,
      budgetMs: Number(budgetMs),
      entries: entries === undefined ? undefined : Number(entries),
    });
    // What the competitor noted while the trial ran (an option this build ignores).
    const noted = collectedNotes();
    report(noted.length > 0 ? { ...result, notes: [...(result.notes ?? []), ...noted] } : result);
  } finally {
    removeDir(dir);
  }
}

main().then(
  // Some libraries keep timers or handles open; the trial is over.
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
