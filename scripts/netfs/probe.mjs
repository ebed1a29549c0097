#!/usr/bin/env node
// Minimal reproductions, with plain `node:fs` calls, of what a network mount does to the primitives
// the cache is built from. Two mounts of one export behave as two hosts.
//
//   node scripts/netfs/probe.mjs MOUNT_A MOUNT_B [LABEL]
//
// Prints one line per probe: `probe <name>: <result as JSON>`, then `probe summary: {…}`. It only
// reports; it never fails on what it finds (exit 1 only if it cannot run at all).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const [mode, ...rest] = process.argv.slice(2);

// Child modes, used by the racing probes: wait until START (epoch ms), then try once.
if (mode === '--race') {
  const [how, file, start, prepared] = rest;
  while (Date.now() < Number(start));
  try {
    if (how === 'mkdir') fs.mkdirSync(file);
    else if (how === 'rename-dir') fs.renameSync(prepared, file);
    else fs.closeSync(fs.openSync(file, 'wx'));
    process.stdout.write('WON');
  } catch (error) {
    process.stdout.write(['EEXIST', 'ENOTEMPTY'].includes(error.code) ? 'LOST' : `ERR ${error.code}`);
  }
  process.exit(0);
}
if (mode === '--churn') {
  // Creates (exclusively) and removes one name in a loop for MS milliseconds; prints the codes seen.
  const [file, ms] = rest;
  const codes = {};
  const end = Date.now() + Number(ms);
  while (Date.now() < end) {
    try {
      fs.closeSync(fs.openSync(file, 'wx'));
      codes.created = (codes.created ?? 0) + 1;
      try {
        fs.unlinkSync(file);
      } catch (error) {
        codes[`unlink ${error.code}`] = (codes[`unlink ${error.code}`] ?? 0) + 1;
      }
    } catch (error) {
      codes[error.code] = (codes[error.code] ?? 0) + 1;
    }
  }
  process.stdout.write(JSON.stringify(codes));
  process.exit(0);
}

const A = mode;
const B = rest[0];
const label = rest[1] ?? `${A} + ${B}`;
if (A === undefined || B === undefined) {
  console.error('usage: probe.mjs MOUNT_A MOUNT_B [LABEL]');
  process.exit(1);
}
const name = `probe-${process.pid}`;
const a = (...p) => path.join(A, name, ...p);
const b = (...p) => path.join(B, name, ...p);
fs.mkdirSync(a());
const summary = {};
const say = (probe, result) => {
  summary[probe] = result;
  console.log(`probe ${probe}: ${JSON.stringify(result)}`);
};
const attempt = (fn) => {
  try {
    const r = fn();
    return r === undefined ? 'ok' : r;
  } catch (error) {
    return error.code ?? String(error);
  }
};
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const run = (args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });

// 1. Hard links.
fs.writeFileSync(a('f1'), '1');
fs.writeFileSync(a('f2'), '2');
say('link', {
  toNewName: attempt(() => fs.linkSync(a('f1'), a('f3'))),
  toExistingName: attempt(() => fs.linkSync(a('f1'), a('f2'))),
  nlinkAfter: attempt(() => fs.statSync(a('f1')).nlink),
});

// 2. unlink / rename of a file that is open (on this mount, on the other mount).
const openCase = (what, holder, op) => {
  const f = a(`open-${what}`);
  fs.writeFileSync(f, 'x');
  fs.writeFileSync(`${f}.new`, 'y');
  const fd = fs.openSync(holder(`open-${what}`), 'r');
  const result = attempt(op(f));
  fs.closeSync(fd);
  for (const g of [f, `${f}.new`, `${f}.away`]) attempt(() => fs.unlinkSync(g));
  return result;
};
say('busy', {
  unlinkOpenSameMount: openCase('u1', a, (f) => () => fs.unlinkSync(f)),
  unlinkOpenOtherMount: openCase('u2', b, (f) => () => fs.unlinkSync(f)),
  renameOverOpenSameMount: openCase('r1', a, (f) => () => fs.renameSync(`${f}.new`, f)),
  renameOverOpenOtherMount: openCase('r2', b, (f) => () => fs.renameSync(`${f}.new`, f)),
  renameOpenAwayOtherMount: openCase('r3', b, (f) => () => fs.renameSync(f, `${f}.away`)),
});

// 3. Right after the other mount read (and closed) a file: replace it, remove it.
{
  const codes = { renameOver: {}, unlink: {} };
  for (let i = 0; i < 20; i++) {
    const f = a(`closed-${i}`);
    fs.writeFileSync(f, 'x');
    fs.readFileSync(b(`closed-${i}`));
    fs.writeFileSync(`${f}.new`, 'y');
    const r = attempt(() => fs.renameSync(`${f}.new`, f));
    codes.renameOver[r] = (codes.renameOver[r] ?? 0) + 1;
    fs.readFileSync(b(`closed-${i}`));
    const u = attempt(() => fs.unlinkSync(f));
    codes.unlink[u] = (codes.unlink[u] ?? 0) + 1;
    for (const g of [f, `${f}.new`]) attempt(() => fs.unlinkSync(g));
  }
  say('justClosedOnOtherMount', codes);
}

// 4. Stale attributes: the other mount read a file; 1.2 s later this mount replaces it with a longer
//    one by rename; the other mount reads it again at once (and, if that was short, 1.5 s later).
{
  const out = { rounds: 5, shortReads: 0, fullReads: 0, errors: {}, stillShortAfter1500ms: 0 };
  for (let i = 0; i < 5; i++) {
    const f = a(`grow-${i}`);
    fs.writeFileSync(f, Buffer.alloc(365, 1));
    fs.readFileSync(b(`grow-${i}`));
    sleep(1200);
    fs.writeFileSync(`${f}.tmp`, Buffer.alloc(3065, 2));
    fs.renameSync(`${f}.tmp`, f);
    const read = () => {
      try {
        return fs.readFileSync(b(`grow-${i}`)).length;
      } catch (error) {
        out.errors[error.code] = (out.errors[error.code] ?? 0) + 1;
        return -1;
      }
    };
    const n = read();
    if (n === 3065) out.fullReads++;
    else if (n >= 0) out.shortReads++;
    if (n !== 3065) {
      sleep(1500);
      if (read() !== 3065) out.stillShortAfter1500ms++;
    }
  }
  say('staleSizeOnOtherMount', out);
}

// 5. Exclusive create, mkdir, and rename of a prepared non-empty directory (the cache's lock) raced
// by 4 processes on each mount, 16 rounds each.
const RACES = { excl: 'exclusiveCreateRace', mkdir: 'mkdirRace', 'rename-dir': 'renameDirectoryRace' };
for (const how of Object.keys(RACES)) {
  const result = { rounds: 16, roundsWithTwoWinners: 0, twoWinnersOnOneMount: 0, errors: {} };
  for (let round = 0; round < 16; round++) {
    const f = `race-${how}-${round}`;
    const start = Date.now() + 300;
    const outs = await Promise.all(
      [a, a, a, a, b, b, b, b].map((m, i) => {
        if (how !== 'rename-dir') return run(['--race', how, m(f), String(start)]);
        const prepared = m(`${f}.prepared-${i}`);
        fs.mkdirSync(prepared);
        fs.writeFileSync(path.join(prepared, 'owner'), String(i));
        return run(['--race', how, m(f), String(start), prepared]);
      }),
    );
    const wonA = outs.slice(0, 4).filter((o) => o === 'WON').length;
    const wonB = outs.slice(4).filter((o) => o === 'WON').length;
    if (wonA + wonB > 1) result.roundsWithTwoWinners++;
    if (wonA > 1 || wonB > 1) result.twoWinnersOnOneMount++;
    for (const o of outs.filter((o) => o.startsWith('ERR'))) result.errors[o] = (result.errors[o] ?? 0) + 1;
  }
  say(RACES[how], result);
}

// 6. Exclusive create while the other mount creates and removes the same name (a lock in use).
{
  const [onA, onB] = await Promise.all([
    run(['--churn', a('churn.lock'), '2000']),
    run(['--churn', b('churn.lock'), '2000']),
  ]);
  say('exclusiveCreateChurn', { mountA: JSON.parse(onA || '{}'), mountB: JSON.parse(onB || '{}') });
}

// 7. Leftover names (silly renames: .nfs*, .fuse_hidden*, .smbdelete*) after all this.
say(
  'hiddenLeftovers',
  attempt(() => fs.readdirSync(a()).filter((n) => n.startsWith('.'))),
);
// Mounts may refuse for a while to remove what was just used (SMB answered EIO): best effort.
attempt(() => fs.rmSync(a(), { recursive: true, force: true, maxRetries: 5 }));
console.log(`probe summary: ${JSON.stringify({ label, ...summary })}`);
