import type { Scenario } from '../lib.js';
import add from './add.js';
import batch100 from './batch-100.js';
import coldOpen from './cold-open.js';
import del from './delete.js';
import diskUsage from './disk-usage.js';
import getHit from './get-hit.js';
import getMiss from './get-miss.js';
import incr from './incr.js';
import mixed from './mixed-2proc.js';
import set1k from './set-1k.js';
import set100k from './set-100k.js';

/** Every scenario, in report order. */
export const SCENARIOS: Scenario[] = [
  set1k,
  set100k,
  getHit,
  getMiss,
  del,
  add,
  incr,
  batch100,
  coldOpen,
  mixed,
  diskUsage,
];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
