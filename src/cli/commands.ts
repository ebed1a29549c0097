/** What each `diskcache` command does, with human and `--json` output. */
import type { Key } from '../format/key.js';
import { type CommandName, type CommandOptions, EXIT } from './args.js';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatExpiry,
  formatTable,
  keyForTerminal,
  renderKey,
  toDisplayJson,
  valueType,
} from './format.js';
import { type Interrupt, NEVER } from './interrupt.js';
import type { OpenedCache } from './open.js';
import { startSpinner } from './progress.js';

type Cache = OpenedCache;

/** Where a command writes; `stdout` stops taking output once its reader has gone (EPIPE). */
export interface Output {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Whether stdout's reader has gone away (`diskcache DIR ls | head`). */
  stdoutClosed(): boolean;
}

/** A command to run on an open cache. */
export interface CommandCall {
  command: CommandName;
  args: Key[];
  options: CommandOptions;
  /** Ctrl-C: the command stops at its next safe point. */
  interrupt?: Interrupt;
}

function line(stream: NodeJS.WriteStream, text: string): void {
  stream.write(`${text}\n`);
}

function json(out: Output, value: unknown): void {
  line(out.stdout, JSON.stringify(value));
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

function keyFields(key: Key): { key: string; keyType: string } {
  const { text, type } = renderKey(key);
  return { key: text, keyType: type };
}

function tagFields(tag: Key | null): { tag: string | null; tagType: string | null } {
  if (tag === null) return { tag: null, tagType: null };
  const { text, type } = renderKey(tag);
  return { tag: text, tagType: type };
}

async function stats(cache: Cache, out: Output, options: CommandOptions): Promise<number> {
  const count = await cache.count();
  const volume = await cache.volume();
  const { hits, misses } = await cache.stats();
  const o = cache.options;
  const fanout = o.shards === undefined ? {} : { kind: 'fanout', shards: o.shards };
  if (options.json) {
    json(out, {
      directory: cache.directory,
      ...fanout,
      count,
      volume,
      sizeLimit: o.sizeLimit,
      cullLimit: o.cullLimit,
      evictionPolicy: o.evictionPolicy,
      statistics: o.statistics,
      hits,
      misses,
      codec: o.codec,
      compression: o.compression,
      compressThreshold: o.compressThreshold,
      durability: o.durability,
      timeout: o.timeout,
    });
    return EXIT.ok;
  }
  const share = o.sizeLimit > 0 ? ` (${((100 * volume) / o.sizeLimit).toFixed(1)}%)` : '';
  const lookups = hits + misses;
  const statistics = o.statistics
    ? `on: ${plural(hits, 'hit')}, ${plural(misses, 'miss', 'misses')}` +
      (lookups > 0 ? ` (${((100 * hits) / lookups).toFixed(1)}% hits)` : '')
    : 'off';
  const compression =
    o.compression === 'none' ? 'none' : `${o.compression} from ${formatBytes(o.compressThreshold)}`;
  line(
    out.stdout,
    formatTable([
      ['directory', cache.directory],
      ...(o.shards === undefined ? [] : [['shards', `${formatCount(o.shards)} (FanoutCache)`]]),
      ['entries', `${formatCount(count)} (expired ones not yet removed included)`],
      ['volume', `${formatBytes(volume)} of ${formatBytes(o.sizeLimit)}${share}`],
      ['eviction', `${o.evictionPolicy}, up to ${plural(o.cullLimit, 'entry', 'entries')} per write`],
      ['statistics', statistics],
      ['codec', `${o.codec}, compression ${compression}`],
      ['durability', `${o.durability}, lock timeout ${formatDuration(o.timeout)}`],
    ]),
  );
  return EXIT.ok;
}

async function ls(cache: Cache, out: Output, options: CommandOptions, interrupt: Interrupt): Promise<number> {
  const now = Date.now();
  let listed = 0;
  if (options.json) out.stdout.write('[');
  else
    line(
      out.stdout,
      `${'SIZE'.padStart(10)}  ${'STORED'.padEnd(9)}  ${'EXPIRES'.padEnd(11)}  ${'TAG'.padEnd(12)}  KEY`,
    );
  for await (const key of cache.keys()) {
    if (out.stdoutClosed() || interrupt.requested) break;
    const entry = await cache.getEntry(key);
    if (entry === undefined) continue;
    if (options.tag !== undefined && entry.tag !== options.tag) continue;
    if (options.json) {
      const item = {
        ...keyFields(key),
        size: entry.size,
        storedAt: entry.storedAt,
        expiresAt: entry.expiresAt,
        ...tagFields(entry.tag),
      };
      out.stdout.write(`${listed === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`);
    } else {
      const size = formatBytes(entry.size).padStart(10);
      const age = `${formatDuration(now - entry.storedAt)} ago`.padEnd(9);
      const expiry = formatExpiry(entry.expiresAt, now).padEnd(11);
      const tag = (entry.tag === null ? '-' : keyForTerminal(entry.tag)).padEnd(12);
      line(out.stdout, `${size}  ${age}  ${expiry}  ${tag}  ${keyForTerminal(key)}`);
    }
    listed++;
    if (options.limit !== undefined && listed >= options.limit) break;
  }
  if (options.json) line(out.stdout, listed === 0 ? ']' : '\n]');
  else if (listed === 0)
    line(out.stderr, options.tag === undefined ? 'no entries' : 'no entries with this tag');
  return EXIT.ok;
}

function printValue(out: Output, value: unknown): void {
  const tty = out.stdout.isTTY === true;
  if (typeof value === 'string') {
    out.stdout.write(tty && !value.endsWith('\n') ? `${value}\n` : value);
  } else if (value instanceof Uint8Array) {
    if (tty) {
      line(
        out.stderr,
        `(${formatBytes(value.byteLength)} of bytes, shown as base64; redirect stdout for the raw bytes)`,
      );
      line(out.stdout, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
    } else {
      out.stdout.write(value);
    }
  } else {
    line(out.stdout, JSON.stringify(toDisplayJson(value), null, 2));
  }
}

/**
 * For a string KEY that reads as a number, not found and given without `--key-type`: which key of
 * another type it may have meant (`get 42` when 42 was stored as a number).
 */
async function keyTypeHint(
  cache: Cache,
  options: CommandOptions,
  command: CommandName,
  key: Key,
): Promise<string | undefined> {
  if (typeof key !== 'string' || options.keyType !== undefined) return undefined;
  const number = key.trim() === '' ? Number.NaN : Number(key);
  if (Number.isNaN(number)) return undefined;
  const candidates: Array<[Key, string]> = [[number, 'number']];
  if (/^-?\d+$/.test(key)) candidates.push([BigInt(key), 'bigint']);
  for (const [other, type] of candidates) {
    if (await cache.has(other)) {
      return `there is a ${type} key ${key}: diskcache DIR ${command} ${key} --key-type ${type}`;
    }
  }
  return 'as a string key; a key stored as a number needs --key-type number';
}

/** `KEY not found`, with a hint at `--key-type` where one may help; the hint is returned for --json. */
async function notFound(
  cache: Cache,
  out: Output,
  options: CommandOptions,
  command: CommandName,
  key: Key,
): Promise<string | undefined> {
  const hint = await keyTypeHint(cache, options, command, key);
  const text = hint === undefined ? '' : hint.startsWith('there is') ? `; ${hint}` : ` (${hint})`;
  line(out.stderr, `diskcache: ${keyForTerminal(key)} not found${text}`);
  return hint;
}

async function get(cache: Cache, out: Output, options: CommandOptions, key: Key): Promise<number> {
  const entry = await cache.getEntry(key);
  if (entry === undefined) {
    const hint = await notFound(cache, out, options, 'get', key);
    if (options.json) json(out, { found: false, ...keyFields(key), ...(hint === undefined ? {} : { hint }) });
    return EXIT.notFound;
  }
  if (options.json) {
    json(out, {
      found: true,
      ...keyFields(key),
      value: toDisplayJson(entry.value),
      valueType: valueType(entry.value),
      size: entry.size,
      storedAt: entry.storedAt,
      expiresAt: entry.expiresAt,
      ...tagFields(entry.tag),
    });
  } else {
    printValue(out, entry.value);
  }
  return EXIT.ok;
}

async function set(
  cache: Cache,
  out: Output,
  options: CommandOptions,
  key: Key,
  value: Key,
): Promise<number> {
  await cache.set(key, value, { ttl: options.ttl ?? null, tag: options.tag ?? null });
  if (options.json) {
    json(out, { stored: true, ...keyFields(key), ttl: options.ttl ?? null, tag: options.tag ?? null });
  } else {
    const details = [
      options.ttl === undefined ? '' : `, expires in ${formatDuration(options.ttl)}`,
      options.tag === undefined ? '' : `, tag ${keyForTerminal(options.tag)}`,
    ];
    line(out.stdout, `stored ${keyForTerminal(key)}${details.join('')}`);
  }
  return EXIT.ok;
}

async function remove(cache: Cache, out: Output, options: CommandOptions, key: Key): Promise<number> {
  const deleted = await cache.delete(key);
  const hint = deleted ? undefined : await notFound(cache, out, options, 'delete', key);
  if (options.json) json(out, { deleted, ...keyFields(key), ...(hint === undefined ? {} : { hint }) });
  else if (deleted) line(out.stdout, `deleted ${keyForTerminal(key)}`);
  return deleted ? EXIT.ok : EXIT.notFound;
}

/**
 * Runs `work` under a spinner on a terminal's stderr (which `work` may relabel). On Ctrl-C the
 * spinner stops at once (its line erased) and `notice` says what happens next.
 */
async function withSpinner<T>(
  out: Output,
  label: string,
  interrupt: Interrupt,
  notice: string,
  work: (relabel: (label: string) => void) => Promise<T>,
): Promise<T> {
  const spinner = startSpinner(out.stderr, label);
  const stopListening = interrupt.onRequest(() => {
    void spinner.stop().then(() => line(out.stderr, `diskcache: interrupted; ${notice}`));
  });
  try {
    return await work((text) => spinner.update(text));
  } finally {
    stopListening();
    await spinner.stop();
  }
}

/** What Ctrl-C does to a command that is one call to the cache. */
const FINISH =
  'finishing this first (Ctrl-C again to quit at once; `diskcache DIR check --fix` then resets the counters)';

/** How many entries `clear` removes between two looks at Ctrl-C. */
const CLEAR_BATCH = 256;

/**
 * `clear` in steps that Ctrl-C can stop between: the listed keys in batches, then `clear()` for
 * whatever listing does not show (expired entries, keys this process cannot decode, entries written
 * meanwhile). Each step is complete when it returns, so the counters match the entries left.
 */
async function clearInSteps(
  cache: Cache,
  interrupt: Interrupt,
  progress: (removed: number) => void,
): Promise<{ removed: number; interrupted: boolean }> {
  let removed = 0;
  let batch: Key[] = [];
  const flush = async () => {
    const results = await cache.deleteMany(batch);
    removed += results.filter(Boolean).length;
    batch = [];
    progress(removed);
  };
  for await (const key of cache.keys()) {
    batch.push(key);
    if (batch.length < CLEAR_BATCH) continue;
    await flush();
    if (interrupt.requested) return { removed, interrupted: true };
  }
  if (batch.length > 0) await flush();
  if (interrupt.requested) return { removed, interrupted: true };
  return { removed: removed + (await cache.clear()), interrupted: false };
}

async function removal(
  out: Output,
  options: CommandOptions,
  interrupt: Interrupt,
  label: string,
  work: (relabel: (label: string) => void) => Promise<{ removed: number; interrupted: boolean }>,
  notice = FINISH,
): Promise<number> {
  const { removed, interrupted } = await withSpinner(out, label, interrupt, notice, work);
  if (options.json) json(out, { removed, ...(interrupted ? { interrupted } : {}) });
  else
    line(
      out.stdout,
      `removed ${plural(removed, 'entry', 'entries')}${interrupted ? ' before the interruption' : ''}`,
    );
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

/** A removal that is one call to the cache: Ctrl-C lets it finish. */
function whole(work: () => Promise<number>): () => Promise<{ removed: number; interrupted: boolean }> {
  return async () => ({ removed: await work(), interrupted: false });
}

async function check(
  cache: Cache,
  out: Output,
  options: CommandOptions,
  interrupt: Interrupt,
): Promise<number> {
  const stored = await cache.count();
  const label = `${options.fix ? 'checking and fixing' : 'checking'} ${plural(stored, 'entry', 'entries')}`;
  const report = await withSpinner(out, label, interrupt, FINISH, () => cache.check({ fix: options.fix }));
  const remaining = Math.max(0, report.problems.length - report.fixed);
  if (options.json) {
    json(out, { ok: remaining === 0, problems: report.problems, fixed: report.fixed });
  } else if (report.problems.length === 0) {
    line(out.stdout, `no problems found (${plural(stored, 'entry', 'entries')})`);
  } else {
    for (const problem of report.problems) line(out.stdout, `- ${problem}`);
    const found = `${plural(report.problems.length, 'problem')} found`;
    line(
      out.stdout,
      options.fix ? `${found}, ${formatCount(report.fixed)} fixed` : `${found}; run with --fix to repair`,
    );
  }
  return remaining === 0 ? EXIT.ok : EXIT.notFound;
}

/** Runs a parsed command on an open cache and returns the exit status. */
export async function runCommand(cache: Cache, call: CommandCall, out: Output): Promise<number> {
  const { command, args, options } = call;
  const interrupt = call.interrupt ?? NEVER;
  const [first, second] = args as [Key, Key];
  switch (command) {
    case 'stats':
      return stats(cache, out, options);
    case 'ls':
      return ls(cache, out, options, interrupt);
    case 'get':
      return get(cache, out, options, first);
    case 'set':
      return set(cache, out, options, first, second);
    case 'delete':
      return remove(cache, out, options, first);
    case 'expire':
      return removal(
        out,
        options,
        interrupt,
        `removing the expired among ${plural(await cache.count(), 'entry', 'entries')}`,
        whole(() => cache.expire()),
      );
    case 'evict':
      return removal(
        out,
        options,
        interrupt,
        `removing the entries tagged ${keyForTerminal(first)}`,
        whole(() => cache.evict(first)),
      );
    case 'cull':
      return removal(
        out,
        options,
        interrupt,
        'culling to the size limit',
        whole(() => cache.cull()),
      );
    case 'clear': {
      const label = `removing ${plural(await cache.count(), 'entry', 'entries')}`;
      return removal(
        out,
        options,
        interrupt,
        label,
        (relabel) =>
          clearInSteps(cache, interrupt, (removed) => relabel(`${label}: ${formatCount(removed)} removed`)),
        'stopping once the entries being removed are gone (Ctrl-C again to quit at once)',
      );
    }
    case 'check':
      return check(cache, out, options, interrupt);
  }
}
