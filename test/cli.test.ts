import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../src/cache/cache.js';
import { FanoutCache } from '../src/fanout/fanout-cache.js';
import { rewriteStoredEntry } from './helpers/stored.js';
import { makeTempDir, removeDir, useTempDirs } from './helpers/tmp.js';
import { keyHash } from './stress/helpers/layout.js';

/**
 * Runs the built `diskcache` binary as a child process. The build goes into a directory of this
 * file's own (scripts/build.mjs OUT), so that it never races the build of dist/ by package.test.ts;
 * that directory gets the package's name, version and module type, and the repository's node_modules.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BIN_TARGET: string = packageJson.bin.diskcache;

let buildRoot: string;
let bin: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

function run(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { encoding: 'buffer', timeout: 60_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : (error as { code?: unknown }).code;
        if (typeof code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), raw: stdout });
      },
    );
  });
}

async function runJson(...args: string[]): Promise<{ code: number; value: unknown; stderr: string }> {
  const result = await run(...args, '--json');
  return { code: result.code, value: JSON.parse(result.stdout), stderr: result.stderr };
}

beforeAll(async () => {
  buildRoot = makeTempDir();
  const out = path.join(buildRoot, 'dist');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'scripts', 'build.mjs'), out],
      { cwd: ROOT, timeout: 230_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => (error ? reject(new Error(`build failed: ${stderr}`)) : resolve()),
    );
  });
  const { name, version, type } = packageJson;
  fs.writeFileSync(path.join(buildRoot, 'package.json'), JSON.stringify({ name, version, type }));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(buildRoot, 'node_modules'), 'dir');
  bin = path.join(buildRoot, BIN_TARGET);
}, 240_000);

afterAll(() => {
  if (buildRoot !== undefined) removeDir(buildRoot);
});

/** A cache directory holding what `fill` stores through the library. */
async function cacheWith(
  dir: string,
  fill: (cache: Cache) => Promise<void> = async () => {},
): Promise<string> {
  const cache = new Cache(dir);
  await fill(cache);
  await cache.close();
  return dir;
}

describe('the diskcache binary', () => {
  const tempDir = useTempDirs();

  it('is the executable with a #! line that package.json "bin" names', async () => {
    expect(BIN_TARGET).toBe('./dist/esm/cli/main.js');
    expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
    const result = await run('--version');
    expect(result).toMatchObject({ code: 0, stdout: `${packageJson.version}\n` });
  });

  it('prints help for the program and for every command', async () => {
    const main = await run('--help');
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Usage: diskcache DIR COMMAND');
    expect(main.stdout).toMatch(/Exit status:\n {2}0 +success\n(.*\n)* {2}130 +interrupted/);
    const commands = ['stats', 'ls', 'get', 'set', 'delete', 'expire', 'evict', 'cull', 'clear', 'check'];
    for (const command of commands) expect(main.stdout).toContain(`\n  ${command}`);
    const helps = await Promise.all(commands.map((command) => run('/nowhere', command, '--help')));
    helps.forEach((help, i) => {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: diskcache DIR ${commands[i]}`);
    });
    expect((await run('get', '-h')).stdout).toContain('Usage: diskcache DIR get KEY');
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Usage: diskcache DIR COMMAND');
  });

  it('rejects bad command lines with status 2 and a hint', async () => {
    const dir = await cacheWith(tempDir());
    const cases: Array<[string[], RegExp]> = [
      [[dir, 'frob'], /unknown command "frob"/],
      [['ls', dir], /the directory comes first/],
      [[dir], /missing the command/],
      [['get'], /missing the cache directory/],
      [[dir, 'get'], /get takes KEY; got none/],
      [[dir, 'set', 'k'], /set takes KEY VALUE/],
      [[dir, 'stats', 'extra'], /stats takes no arguments/],
      [[dir, 'ls', '--bogus'], /unknown option --bogus$/m],
      [[dir, 'ls', '--limt', '5'], /unknown option --limt; did you mean --limit\?/],
      [[dir, 'ls', '--lim=5'], /unknown option --lim; did you mean --limit\?/],
      [[dir, 'set', 'k', 'v', '--tll', '5m'], /unknown option --tll; did you mean --ttl\?/],
      [[dir, 'get', 'k', '--keytype', 'number'], /did you mean --key-type\?/],
      [[dir, 'ls', '-limit', '5'], /unknown option -limit; did you mean --limit\?/],
      [[dir, 'ls', '-x'], /unknown option -x$/m],
      [
        [dir, 'set', 'k', 'v', '--ttl', '-5'],
        /--ttl needs a value: --ttl TTL \(for one that starts with a dash, write --ttl=-5\)/,
      ],
      [[dir, 'set', 'k', 'v', '--tag'], /--tag needs a value: --tag TAG$/m],
      [[dir, 'ls', '--tag', '--limit', '3'], /--tag needs a value: --tag TAG/],
      [[dir, 'check', '--fix=yes'], /--fix takes no value/],
      [[dir, 'ls', '--limit', '2', '--limit', '3'], /--limit is given twice/],
      [[dir, 'stat'], /unknown command "stat"; did you mean stats\?/],
      [[dir, 'list'], /unknown command "list"; did you mean ls\?/],
      [[dir, 'rm', 'k'], /unknown command "rm"; did you mean delete\?/],
      [['help', 'sett'], /unknown command "sett"; did you mean set\?/],
      [[dir, 'ls', '--fix'], /--fix is not an option of ls/],
      [[dir, 'ls', '--limit', '0'], /--limit must be a positive whole number/],
      [[dir, 'set', 'k', 'v', '--ttl', 'soon'], /--ttl must be a positive duration/],
      [[dir, 'get', 'k', '--key-type', 'date'], /--key-type must be one of string, number, bigint, base64/],
      [[dir, 'get', 'x', '--key-type', 'number'], /"x" is not a number/],
      [[dir, 'get', '1.5', '--key-type', 'bigint'], /is not a bigint/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    results.forEach((result, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr, args.join(' ')).toMatch(/See `diskcache (help \w+|--help)`/);
      // util.parseArgs's own wording never shows through.
      expect(result.stderr, args.join(' ')).not.toMatch(/Option '|ambiguous|positional argument/);
    });
  });

  it("help COMMAND prints that command's help; usage lines name the arguments", async () => {
    const help = await run('help', 'set');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Usage: diskcache DIR set KEY VALUE \[--ttl TTL\] \[--tag TAG\] \[--key-type TYPE\] \[--create\] \[--json\]\n/,
    );
    expect(help.stdout).toMatch(/^ {2}--ttl TTL +time to live/m);
    expect(help.stdout).toMatch(/^ {2}--tag TAG +tag the entry/m);
    expect((await run('/nowhere', 'set', '--help')).stdout).toBe(help.stdout);
    expect((await run('help', 'ls')).stdout).toMatch(
      /^Usage: diskcache DIR ls \[--tag TAG\] \[--limit N\] \[--json\]\n/,
    );
    expect((await run('/nowhere', 'help', 'get')).stdout).toMatch(
      /^Usage: diskcache DIR get KEY \[--key-type TYPE\]/,
    );
    const main = await run('help');
    expect(main.code).toBe(0);
    expect(main.stdout).toBe((await run('--help')).stdout);
    expect(main.stdout).toContain('help [COMMAND]');
    expect(main.stdout).toMatch(/^ {2}ls \[--tag TAG\] \[--limit N\] +list live entries/m);
    // A usage error points at the command's help.
    const bad = await run('/nowhere', 'set', 'k');
    expect(bad.stderr).toMatch(/^Usage: diskcache DIR set KEY VALUE/m);
    expect(bad.stderr).toMatch(/See `diskcache help set`\.\n$/);
  });

  it('with --json, errors are one JSON document on stdout as well', async () => {
    const dir = await cacheWith(tempDir(), async (cache) => {
      await cache.set('k', 'v');
    });
    const usage = await run(dir, 'ls', '--limt', '5', '--json');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/did you mean --limit/);
    expect(JSON.parse(usage.stdout)).toEqual({
      error: {
        code: 'EUSAGE',
        message: 'unknown option --limt; did you mean --limit?',
        status: 2,
        help: 'diskcache help ls',
      },
    });
    const noCommand = await run('--json', dir, 'frob');
    expect(JSON.parse(noCommand.stdout)).toMatchObject({ error: { code: 'EUSAGE', status: 2 } });
    const missing = await run(path.join(dir, 'missing'), 'stats', '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: { code: 'ENOTCACHE', status: 3, message: expect.stringMatching(/missing does not exist/) },
    });
    const custom = new Cache(dir, {
      codec: { name: 'mine', encode: (v) => Buffer.from(String(v)), decode: (b) => b },
    });
    await custom.set('custom', 'x');
    await custom.close();
    const failed = await run(dir, 'get', 'custom', '--json');
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      error: { code: 'ECODEC', status: 3, message: expect.stringMatching(/mine/) },
    });
    const badTtl = await run(dir, 'set', 'k', 'v', '--ttl', 'soon', '--json');
    expect(badTtl.code).toBe(2);
    expect(JSON.parse(badTtl.stdout)).toMatchObject({
      error: { code: 'EUSAGE', status: 2, help: 'diskcache help set' },
    });
    // A value after --, even one that reads "--json", is no option.
    const literal = await run(dir, 'set', 'j', '--', '--json');
    expect(literal).toMatchObject({ code: 0, stdout: 'stored j\n' });
  });

  it('get and delete of a missing key that reads as a number hint at --key-type', async () => {
    const dir = await cacheWith(tempDir(), async (cache) => {
      await cache.set(42, 'number');
      await cache.set(7n, 'bigint');
    });
    const number = await run(dir, 'get', '42');
    expect(number).toMatchObject({ code: 1, stdout: '' });
    expect(number.stderr).toMatch(
      /42 not found; there is a number key 42: diskcache DIR get 42 --key-type number/,
    );
    expect((await run(dir, 'delete', '7')).stderr).toMatch(/there is a bigint key 7: .*--key-type bigint/);
    expect((await runJson(dir, 'get', '42')).value).toMatchObject({
      found: false,
      key: '42',
      keyType: 'string',
      hint: expect.stringMatching(/--key-type number/),
    });
    const absent = await run(dir, 'get', '5');
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(
      /5 not found \(as a string key; a key stored as a number needs --key-type number\)/,
    );
    expect((await run(dir, 'get', 'nope')).stderr).toBe('diskcache: nope not found\n');
    expect((await run(dir, 'get', '5', '--key-type', 'string')).stderr).toBe('diskcache: 5 not found\n');
  });

  it('refuses a missing directory, a file, and a directory that is not a cache, creating nothing', async () => {
    const parent = tempDir();
    const missing = path.join(parent, 'missing');
    const empty = path.join(parent, 'empty');
    const foreign = path.join(parent, 'foreign');
    const file = path.join(parent, 'file');
    fs.mkdirSync(empty);
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    fs.writeFileSync(file, 'x');

    const cases: Array<[string[], RegExp]> = [
      [[missing, 'stats'], /missing does not exist \(`set --create` creates a cache there\)/],
      [[missing, 'set', 'k', 'v'], /missing does not exist/],
      [[empty, 'ls'], /empty is not a diskcache-ts cache: it has no diskcache\.json/],
      [[empty, 'clear'], /is not a diskcache-ts cache/],
      [
        [foreign, 'clear'],
        /foreign is not a diskcache-ts cache: it has no diskcache\.json \(nor fanout\.json\)$/m,
      ],
      [
        [foreign, 'set', 'k', 'v', '--create'],
        /foreign is not a diskcache-ts cache: .* is not empty, so no cache/,
      ],
      [[file, 'stats'], /file is not a directory/],
    ];
    for (const [args, message] of cases) {
      const result = await run(...args);
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(fs.existsSync(missing)).toBe(false);
    expect(fs.readdirSync(empty)).toEqual([]);
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);

    const corrupt = path.join(parent, 'corrupt-settings');
    fs.mkdirSync(corrupt);
    fs.writeFileSync(path.join(corrupt, 'diskcache.json'), '{"format":"something-else"}');
    const foreignFormat = await run(corrupt, 'stats');
    expect(foreignFormat.code).toBe(3);
    expect(foreignFormat.stderr).toMatch(/describes format something-else/);
  });

  it('set --create makes a cache in a new or empty directory; set, get, delete round-trip', async () => {
    const dir = path.join(tempDir(), 'new');
    expect(await run(dir, 'set', 'greeting', 'hello world', '--create')).toMatchObject({
      code: 0,
      stdout: 'stored greeting\n',
    });
    expect(fs.existsSync(path.join(dir, 'diskcache.json'))).toBe(true);
    // Raw to a pipe: no newline added.
    expect(await run(dir, 'get', 'greeting')).toMatchObject({ code: 0, stdout: 'hello world' });
    expect(await run(dir, 'set', 'dash', '--', '-1')).toMatchObject({ code: 0 });
    expect((await run(dir, 'get', 'dash')).stdout).toBe('-1');

    const missing = await run(dir, 'get', 'nope');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/nope not found/);
    expect(await runJson(dir, 'get', 'nope')).toMatchObject({
      code: 1,
      value: { found: false, key: 'nope', keyType: 'string' },
    });

    expect(await run(dir, 'delete', 'greeting')).toMatchObject({ code: 0, stdout: 'deleted greeting\n' });
    expect(await run(dir, 'delete', 'greeting')).toMatchObject({ code: 1, stdout: '' });
    expect(await runJson(dir, 'delete', 'dash')).toMatchObject({
      code: 0,
      value: { deleted: true, key: 'dash', keyType: 'string' },
    });
    expect(await runJson(dir, 'delete', 'dash')).toMatchObject({ code: 1, value: { deleted: false } });

    const empty = tempDir();
    expect((await run(empty, 'set', 'k', 'v', '--create')).code).toBe(0);
  });

  it('set takes --ttl and --tag; ls shows them; evict removes by tag', async () => {
    const dir = await cacheWith(tempDir());
    const before = Date.now();
    const stored = await runJson(dir, 'set', 'session', 'abc', '--ttl', '5m', '--tag', 'sessions');
    expect(stored).toMatchObject({
      code: 0,
      value: { stored: true, key: 'session', keyType: 'string', ttl: 300_000, tag: 'sessions' },
    });
    // Long enough to outlive the ls calls below however slow the machine (a wall-clock race).
    expect((await run(dir, 'set', 'plain', 'p', '--ttl', '3723000')).stdout).toBe(
      'stored plain, expires in 1h 2m\n',
    );
    expect((await run(dir, 'set', 'other', 'o')).code).toBe(0);

    const listed = await runJson(dir, 'ls', '--tag', 'sessions');
    expect(listed.code).toBe(0);
    const items = listed.value as Array<Record<string, unknown>>;
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({
      key: 'session',
      keyType: 'string',
      size: expect.any(Number),
      storedAt: expect.any(Number),
      expiresAt: expect.any(Number),
      tag: 'sessions',
      tagType: 'string',
    });
    expect(items[0]?.expiresAt).toBeGreaterThanOrEqual(before + 300_000);

    const human = await run(dir, 'ls');
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+SIZE\s+STORED\s+EXPIRES\s+TAG\s+KEY$/);
    expect(lines).toHaveLength(4);
    expect(human.stdout).toMatch(/\d+(\.\d)? (B|KiB)\s+\S+ ago\s+in 4m 5\ds\s+sessions\s+session\n/);
    expect(human.stdout).toMatch(/never\s+-\s+other\n/);

    expect(((await runJson(dir, 'ls', '--limit', '2')).value as unknown[]).length).toBe(2);
    expect(await runJson(dir, 'evict', 'sessions')).toMatchObject({ code: 0, value: { removed: 1 } });
    expect(await run(dir, 'evict', 'sessions')).toMatchObject({ code: 0, stdout: 'removed 0 entries\n' });
    const none = await run(dir, 'ls', '--tag', 'sessions');
    expect(none.stderr).toMatch(/no entries with this tag/);
    expect(await runJson(dir, 'ls', '--tag', 'sessions')).toMatchObject({ code: 0, value: [] });
    expect((await run(dir, 'set', 'brief', 'b', '--ttl', '1500')).stdout).toBe(
      'stored brief, expires in 1.5s\n',
    );
  });

  it('reads and writes number, bigint and byte keys with --key-type, as ls reports them', async () => {
    const dir = await cacheWith(tempDir(), async (cache) => {
      await cache.set(Buffer.from([1, 2, 3]), 'bytes key');
    });
    expect((await run(dir, 'set', '42', 'number', '--key-type', 'number')).stdout).toBe(
      'stored 42 (number)\n',
    );
    expect((await run(dir, 'set', '42', 'bigint', '--key-type', 'bigint')).code).toBe(0);
    expect((await run(dir, 'set', '42', 'string')).code).toBe(0);

    const items = (await runJson(dir, 'ls')).value as Array<{ key: string; keyType: string }>;
    const keys = items.map(({ key, keyType }) => `${keyType}:${key}`).sort();
    expect(keys).toEqual(['base64:AQID', 'bigint:42', 'number:42', 'string:42']);
    for (const { key, keyType } of items) {
      const got = await runJson(dir, 'get', key, '--key-type', keyType);
      expect(got.code).toBe(0);
      expect(got.value).toMatchObject({ found: true, key, keyType });
    }
    expect((await run(dir, 'get', '42', '--key-type', 'number')).stdout).toBe('number');
    expect((await run(dir, 'get', '42')).stdout).toBe('string');
    expect((await run(dir, 'ls')).stdout).toMatch(/ AQID \(base64\)\n/);
  });

  it('prints strings raw, bytes raw to a pipe, and other values as JSON', async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 128]);
    const dir = await cacheWith(tempDir(), async (cache) => {
      await cache.set('bytes', bytes);
      await cache.set('object', {
        a: 1,
        when: new Date(0),
        big: 10n,
        set: new Set([1, 2]),
        map: new Map([['k', 'v']]),
      });
      await cache.set('number', 1.5);
      await cache.set('multiline', 'one\ntwo\n');
    });
    expect((await run(dir, 'get', 'bytes')).raw.equals(bytes)).toBe(true);
    expect((await run(dir, 'get', 'multiline')).stdout).toBe('one\ntwo\n');
    expect(JSON.parse((await run(dir, 'get', 'object')).stdout)).toEqual({
      a: 1,
      when: '1970-01-01T00:00:00.000Z',
      big: '10',
      set: [1, 2],
      map: { k: 'v' },
    });
    expect((await run(dir, 'get', 'number')).stdout).toBe('1.5\n');

    expect((await runJson(dir, 'get', 'bytes')).value).toEqual({
      found: true,
      key: 'bytes',
      keyType: 'string',
      value: bytes.toString('base64'),
      valueType: 'bytes',
      size: expect.any(Number),
      storedAt: expect.any(Number),
      expiresAt: null,
      tag: null,
      tagType: null,
    });
    expect((await runJson(dir, 'get', 'object')).value).toMatchObject({
      valueType: 'object',
      value: { big: '10' },
    });
    expect((await runJson(dir, 'get', 'number')).value).toMatchObject({ valueType: 'number', value: 1.5 });
  });

  it('stats reports entries, volume, limits and settings', async () => {
    const dir = tempDir();
    const cache = new Cache(dir, { sizeLimit: 10 * 2 ** 20, statistics: true });
    await cache.set('a', 'x'.repeat(1000));
    await cache.get('a');
    await cache.get('missing');
    const volume = await cache.volume();
    await cache.close();

    const { code, value } = await runJson(dir, 'stats');
    expect(code).toBe(0);
    expect(value).toEqual({
      directory: fs.realpathSync(dir),
      count: 1,
      volume,
      sizeLimit: 10 * 2 ** 20,
      cullLimit: 10,
      evictionPolicy: 'least-recently-stored',
      statistics: true,
      hits: 1,
      misses: 1,
      codec: 'structured',
      compression: 'none',
      compressThreshold: 4096,
      durability: 'normal',
      timeout: 60_000,
    });
    const human = await run(dir, 'stats');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^entries\s+1 \(/m);
    expect(human.stdout).toMatch(/^volume\s+\d+(\.\d)? (B|KiB) of 10\.0 MiB \(0\.0%\)$/m);
    expect(human.stdout).toMatch(/^statistics\s+on: 1 hit, 1 miss \(50\.0% hits\)$/m);
  });

  it('reads a FanoutCache directory with every command', async () => {
    const dir = tempDir();
    // An hour behind the wall clock that the binary uses: 'old' has expired for it.
    const fanout = new FanoutCache(dir, {
      shards: 4,
      sizeLimit: 8 * 2 ** 20,
      clock: { now: () => Date.now() - 3_600_000 },
    });
    for (let i = 0; i < 20; i++) await fanout.set(`k${i}`, `v${i}`, { tag: i % 2 === 0 ? 'even' : null });
    await fanout.set('old', 'o', { ttl: 1000 });
    await fanout.close();

    const stats = await runJson(dir, 'stats');
    expect(stats).toMatchObject({
      code: 0,
      value: {
        directory: fs.realpathSync(dir),
        kind: 'fanout',
        shards: 4,
        count: 21,
        sizeLimit: 8 * 2 ** 20,
      },
    });
    expect((await run(dir, 'stats')).stdout).toMatch(/^shards\s+4 \(FanoutCache\)$/m);
    expect(((await runJson(dir, 'ls')).value as unknown[]).length).toBe(20);
    expect(await run(dir, 'get', 'k3')).toMatchObject({ code: 0, stdout: 'v3' });
    expect((await run(dir, 'set', 'new', 'n')).code).toBe(0);
    expect((await run(dir, 'delete', 'k3')).code).toBe(0);
    expect(await runJson(dir, 'expire')).toMatchObject({ code: 0, value: { removed: 1 } });
    expect(await runJson(dir, 'evict', 'even')).toMatchObject({ code: 0, value: { removed: 10 } });
    expect(await runJson(dir, 'cull')).toMatchObject({ code: 0, value: { removed: 0 } });
    expect(await runJson(dir, 'check')).toMatchObject({ code: 0, value: { ok: true } });
    expect(await runJson(dir, 'clear')).toMatchObject({ code: 0, value: { removed: 10 } });
    expect(fs.existsSync(path.join(dir, 'diskcache.json'))).toBe(false);
    const again = new FanoutCache(dir);
    expect(await again.count()).toBe(0);
    await again.close();
  });

  it('expire, cull and clear remove entries and say how many', async () => {
    let now = 1_000_000;
    const dir = tempDir();
    // Values of 3,000 bytes: 20 of them pass the limit on either engine (a 4 KiB block each, or a record).
    const cache = new Cache(dir, { clock: { now: () => now }, sizeLimit: 40_000, cullLimit: 0 });
    for (let i = 0; i < 3; i++) await cache.set(`old${i}`, 'v', { ttl: 1000 });
    now += 2000;
    for (let i = 0; i < 20; i++) await cache.set(`big${i}`, 'x'.repeat(3000));
    const volume = await cache.volume();
    await cache.close();
    expect(volume).toBeGreaterThan(40_000);

    // The entries expired long ago by the wall clock the binary uses.
    expect(await runJson(dir, 'expire')).toMatchObject({ code: 0, value: { removed: 3 } });
    const culled = await runJson(dir, 'cull');
    expect(culled.code).toBe(0);
    expect((culled.value as { removed: number }).removed).toBeGreaterThan(0);
    const after = (await runJson(dir, 'stats')).value as { volume: number; count: number };
    expect(after.volume).toBeLessThanOrEqual(40_000);
    expect(await run(dir, 'clear')).toMatchObject({ code: 0, stdout: `removed ${after.count} entries\n` });
    expect(await runJson(dir, 'clear')).toMatchObject({ code: 0, value: { removed: 0 } });
    expect(fs.existsSync(path.join(dir, 'diskcache.json'))).toBe(true);
  });

  it('check reports problems with status 1, and --fix repairs them', async () => {
    const dir = await cacheWith(tempDir(), async (cache) => {
      for (let i = 0; i < 5; i++) await cache.set(`k${i}`, `value ${i}`.repeat(20));
    });
    expect(await runJson(dir, 'check')).toEqual({
      code: 0,
      value: { ok: true, problems: [], fixed: 0 },
      stderr: '',
    });
    expect((await run(dir, 'check')).stdout).toBe('no problems found (5 entries)\n');

    // One byte of a value flipped (in its entry file, or in its record of a log cache).
    rewriteStoredEntry(dir, keyHash('k0'), (entry) => {
      entry[entry.length - 1] = (entry[entry.length - 1] as number) ^ 0xff;
    });
    const found = await runJson(dir, 'check');
    expect(found.code).toBe(1);
    const report = found.value as { ok: boolean; problems: string[]; fixed: number };
    expect(report.ok).toBe(false);
    expect(report.problems.some((p) => p.includes('corrupt entry'))).toBe(true);
    const human = await run(dir, 'check');
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^- .*corrupt entry/m);
    expect(human.stdout).toMatch(/problems? found; run with --fix to repair\n$/);

    const fixed = await runJson(dir, 'check', '--fix');
    expect(fixed.code).toBe(0);
    expect(fixed.value).toMatchObject({ ok: true, fixed: report.problems.length });
    expect(await runJson(dir, 'check')).toMatchObject({ code: 0, value: { ok: true } });
  });

  it('fails with status 3 on a cache error', async () => {
    const dir = await cacheWith(tempDir(), async (cache) => {
      await cache.set('k', 'v');
    });
    const custom = new Cache(dir, {
      codec: { name: 'mine', encode: (v) => Buffer.from(String(v)), decode: (b) => b },
    });
    await custom.set('custom', 'x');
    await custom.close();
    const result = await run(dir, 'get', 'custom');
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^diskcache: .*mine/m);
  });

  // A terminal is needed for the spinner, and for Ctrl-C as a user types it: util-linux `script`
  // runs the command on a pseudo-terminal, and ^C written to it becomes SIGINT for the command.
  it.skipIf(!hasScript)(
    'Ctrl-C during clear stops the spinner, finishes the entries being removed, and exits 130',
    async () => {
      // Enough entries that clear outlasts the spinner's 250 ms delay; more if a fast machine
      // finished before the signal arrived (never more than 3 tries).
      for (let entries = 20_000, attempt = 1; ; entries *= 2, attempt++) {
        const dir = tempDir();
        const cache = new Cache(dir);
        for (let i = 0; i < entries; i += 1000) {
          await cache.setMany(
            Array.from({ length: 1000 }, (_, j) => [`key${i + j}`, 'v'] as [string, string]),
          );
        }
        await cache.close();

        const { code, transcript } = await onTerminal([bin, dir, 'clear'], (seen) => SPINNER.test(seen));
        const left = new Cache(dir);
        const report = await left.check();
        const count = await left.count();
        let listed = 0;
        for await (const _ of left.keys()) listed++;
        await left.close();
        if (code === 0 && listed === 0 && attempt < 3) continue;

        expect(code, transcript).toBe(130);
        // The spinner's line is gone from the screen, and the output ends with a newline.
        expect(transcript.endsWith('\n'), JSON.stringify(transcript.slice(-200))).toBe(true);
        const screen = renderTerminal(transcript);
        expect(screen.join('\n')).not.toMatch(SPINNER);
        const removed = Number(/removed ([\d,]+) entries/.exec(screen.join('\n'))?.[1]?.replace(/,/g, ''));
        expect(screen.join('\n')).toMatch(/interrupted/);
        // The counters agree with what is left, and what is left is what the command says it left.
        expect(report.problems).toEqual([]);
        expect(listed).toBeGreaterThan(0);
        expect(count).toBe(listed);
        expect(removed).toBe(entries - listed);
        return;
      }
    },
    120_000,
  );
});

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

const hasScript =
  process.platform === 'linux' &&
  (() => {
    try {
      return execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
    } catch {
      return false;
    }
  })();

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `command` on a pseudo-terminal (util-linux `script`), types Ctrl-C once `ready(output)` holds,
 * and resolves with the exit status and everything the terminal showed (its \r\n as \n).
 */
function onTerminal(
  command: string[],
  ready: (output: string) => boolean,
): Promise<{ code: number | null; transcript: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command.map(shellQuote).join(' '), '/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (!typed && ready(output)) {
        typed = true;
        child.stdin.write('\x03');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, transcript: output.replace(/\r\n/g, '\n') });
    });
  });
}

/** The lines a terminal shows after `output`: \r returns to the line's start, ESC[K erases to its end. */
function renderTerminal(output: string): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  let column = 0;
  for (let i = 0; i < output.length; i++) {
    const char = output[i] as string;
    if (char === '\n') {
      lines.push(line.join(''));
      line = [];
      column = 0;
    } else if (char === '\r') {
      column = 0;
    } else if (output.startsWith('\x1b[K', i)) {
      line.length = column;
      i += 2;
    } else {
      line[column++] = char;
    }
  }
  if (line.length > 0) lines.push(line.join(''));
  return lines;
}
