// Installs the packages of a folder that has a package.json and a package-lock.json of its own
// (bench/, test/keyv-suite/): `npm ci` there, unless what its node_modules holds was installed from
// the same lockfile. The root install stays free of them (no native addon to compile).
//
//   node scripts/ensure-installed.mjs DIR                    npm ci in DIR, install scripts run
//   node scripts/ensure-installed.mjs DIR --ignore-scripts   npm ci --ignore-scripts (types and
//                                                            pure-JS code only: no addon is built)
//
// A stamp in DIR/node_modules records the lockfile's hash and whether install scripts ran, so that a
// second call costs nothing and an install without scripts is redone with them when they are needed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const [dirArg, ...flags] = process.argv.slice(2);
const unknown = flags.filter((f) => f !== '--ignore-scripts');
if (dirArg === undefined || unknown.length > 0) {
  console.error('usage: node scripts/ensure-installed.mjs DIR [--ignore-scripts]');
  process.exit(2);
}
const dir = resolve(dirArg);
const name = relative(process.cwd(), dir) || '.';
const scripts = !flags.includes('--ignore-scripts');
const lockfile = join(dir, 'package-lock.json');
if (!existsSync(lockfile)) {
  console.error(`${name}: no package-lock.json`);
  process.exit(2);
}
const lock = createHash('sha256').update(readFileSync(lockfile)).digest('hex');
const stampFile = join(dir, 'node_modules', '.diskcache-ts-installed.json');

let stamp;
try {
  stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
} catch {
  stamp = undefined;
}
if (stamp?.lock === lock && (stamp.scripts === true || !scripts)) {
  console.log(`${name}: packages installed`);
  process.exit(0);
}

const args = ['ci', '--no-audit', '--no-fund', ...(scripts ? [] : ['--ignore-scripts'])];
console.log(`${name}: npm ${args.join(' ')}`);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, args, { cwd: dir, stdio: 'inherit', shell: process.platform === 'win32' });
writeFileSync(stampFile, `${JSON.stringify({ lock, scripts })}\n`);
