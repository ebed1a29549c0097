/** The `diskcache` command line: its commands, their help, and parsing with `util.parseArgs`. */
import { parseArgs } from 'node:util';
import type { Key } from '../format/key.js';
import { KEY_TYPES, type KeyTypeName } from './format.js';
import { suggest } from './suggest.js';

/** Exit statuses of the `diskcache` command. */
export const EXIT = {
  /** It worked. */
  ok: 0,
  /** `get`/`delete`: the key is not in the cache; `check`: problems remain. */
  notFound: 1,
  /** Bad command line. */
  usage: 2,
  /** Not a cache directory, or an I/O or cache error. */
  failed: 3,
  /** Stopped by Ctrl-C (SIGINT), 128 + 2 as shells report it. */
  interrupted: 130,
} as const;

/** A mistake on the command line (exit status 2). */
export class UsageError extends Error {
  /** The command whose usage to show, if known. */
  readonly command: CommandName | undefined;

  constructor(message: string, command?: CommandName) {
    super(message);
    this.command = command;
  }
}
UsageError.prototype.name = 'UsageError';

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The name of the option's value in usage lines (`--tag TAG`); string options only. */
  value?: string;
}

/** Every option, with the name of its value; `json`, `help` and `version` apply to every command. */
const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  tag: { type: 'string', value: 'TAG' },
  limit: { type: 'string', value: 'N' },
  ttl: { type: 'string', value: 'TTL' },
  fix: { type: 'boolean' },
  'key-type': { type: 'string', value: 'TYPE' },
  create: { type: 'boolean' },
} as const satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];
const GLOBAL_OPTIONS: readonly OptionName[] = ['json', 'help', 'version'];

/** Names people bring from other tools, and what they mean here. */
const OPTION_ALIASES: Record<string, OptionName> = {
  expire: 'ttl',
  type: 'key-type',
  max: 'limit',
  n: 'limit',
};
const COMMAND_ALIASES: Record<string, string> = {
  list: 'ls',
  dir: 'ls',
  keys: 'ls',
  info: 'stats',
  stat: 'stats',
  status: 'stats',
  put: 'set',
  add: 'set',
  read: 'get',
  cat: 'get',
  rm: 'delete',
  del: 'delete',
  remove: 'delete',
  unset: 'delete',
  purge: 'clear',
  flush: 'clear',
  reset: 'clear',
  verify: 'check',
  fsck: 'check',
};

/** `--tag TAG`, `--fix`: an option as usage lines show it. */
function optionUsage(name: OptionName): string {
  const spec: OptionSpec = OPTIONS[name];
  return spec.value === undefined ? `--${name}` : `--${name} ${spec.value}`;
}

interface CommandSpec {
  /** Positional arguments after the command. */
  args: readonly string[];
  /** Options besides `--json` and `--help`, each with its help text. */
  options: Partial<Record<OptionName, string>>;
  summary: string;
  /** Paragraphs after the usage line, before the options. */
  details: string;
}

const KEY_TYPE_HELP = `how to read KEY: string (default), number, bigint, or base64 for a byte key;
\`ls\` reports each key's type`;

/** The commands, in the order help lists them. */
export const COMMANDS = {
  stats: {
    args: [],
    options: {},
    summary: 'entries, size on disk, limits, settings and hit/miss counts',
    details: `Shows the number of entries (expired ones not yet removed included), the bytes they take
against the size limit, the eviction policy and the stored settings, and the hit and miss counts
if statistics are on. For a FanoutCache, the totals over its shards and their number.`,
  },
  ls: {
    args: [],
    options: { tag: 'only entries with the string tag TAG', limit: 'stop after N entries' },
    summary: 'list live entries: size, age, expiry, tag and key',
    details: `Lists live entries in the cache's iteration order (by key hash), with their size, age,
expiry and tag. Reads every entry it lists.`,
  },
  get: {
    args: ['KEY'],
    options: { 'key-type': KEY_TYPE_HELP },
    summary: 'print the value of KEY',
    details: `Prints the value stored under KEY. Strings are printed as they are; byte values are
written raw when stdout is a file or a pipe, and as base64 on a terminal; other values are
printed as JSON (bigint as a string, Map as an object, Set as an array, Date as ISO text).
With --json: {found, key, keyType, value, valueType, size, storedAt, expiresAt, tag}.
Exit status 1 if KEY is missing or expired.`,
  },
  set: {
    args: ['KEY', 'VALUE'],
    options: {
      ttl: 'time to live: milliseconds, or a number with a unit: 30s, 5m, 2h, 7d',
      tag: 'tag the entry (for `evict TAG` and `ls --tag TAG`)',
      'key-type': KEY_TYPE_HELP,
      create: 'create the cache if DIR does not exist or is an empty directory',
    },
    summary: 'store the string VALUE under KEY',
    details: `Stores VALUE, as a string, under KEY, replacing what was there. Use -- before a VALUE
that starts with a dash: diskcache DIR set KEY -- -1.`,
  },
  delete: {
    args: ['KEY'],
    options: { 'key-type': KEY_TYPE_HELP },
    summary: 'remove KEY',
    details: 'Removes KEY. Exit status 1 if it was not there.',
  },
  expire: {
    args: [],
    options: {},
    summary: 'remove expired entries',
    details: 'Removes every expired entry and prints how many.',
  },
  evict: {
    args: ['TAG'],
    options: {},
    summary: 'remove the entries tagged TAG',
    details: 'Removes every entry with the string tag TAG and prints how many.',
  },
  cull: {
    args: [],
    options: {},
    summary: 'remove expired entries, then evict down to the size limit',
    details: `Removes expired entries, then evicts entries by the cache's eviction policy until its
volume is within the size limit, and prints how many it removed.`,
  },
  clear: {
    args: [],
    options: {},
    summary: 'remove every entry',
    details: `Removes every entry and prints how many. The settings are kept. Ctrl-C stops it once the
entries being removed are gone (the counts stay right), with exit status 130.`,
  },
  check: {
    args: [],
    options: { fix: 'move corrupt files aside, remove leftovers and stale locks, reset the counters' },
    summary: 'verify every entry and the bookkeeping; --fix repairs',
    details: `Reads every entry file in full and checks the counters against them; reports corrupt or
misplaced files, files left by dead writers and stale locks. Exit status 1 if problems remain
(any found without --fix; any that --fix could not repair).`,
  },
} as const satisfies Record<string, CommandSpec>;

/** A `diskcache` command. */
export type CommandName = keyof typeof COMMANDS;

const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

const EXIT_HELP = `Exit status:
  0    success
  1    get/delete: KEY not found; check: problems remain
  2    usage error
  3    DIR is missing or not a diskcache-ts cache, or an I/O or cache error
  130  interrupted (Ctrl-C)`;

/** `name` and its description, the description's later lines indented under its first. */
function describe(name: string, description: string, width: number): string {
  const [first, ...more] = description.split('\n');
  const indent = ' '.repeat(width + 3);
  const head = name.length > width ? `  ${name}\n${indent}${first}` : `  ${name.padEnd(width)} ${first}`;
  return [head, ...more.map((line) => `${indent}${line}`)].join('\n');
}

/** A command's call as usage lines show it: `set KEY VALUE [--ttl TTL] … [--create]`. */
function callUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const options = (Object.keys(spec.options) as OptionName[]).map((o) => `[${optionUsage(o)}]`);
  return [name, ...spec.args, ...options].join(' ');
}

/** The overall help text. */
export function mainHelp(): string {
  const lines = COMMAND_NAMES.map((name) => describe(callUsage(name), COMMANDS[name].summary, 28));
  lines.push(describe('help [COMMAND]', 'this help, or the help of COMMAND', 28));
  return `Usage: diskcache DIR COMMAND [ARGS] [OPTIONS]

Inspect and maintain a diskcache-ts cache directory.

Commands:
${lines.join('\n')}

Options:
${describe('--json', 'machine-readable output on stdout (one JSON document; errors too)', 14)}
${describe('-h, --help', 'help for a command: diskcache help COMMAND', 14)}
${describe('-V, --version', 'print the version', 14)}

DIR must be a diskcache-ts cache: a Cache (it holds diskcache.json) or a FanoutCache (it holds
fanout.json and one cache per shard); only \`set --create\` makes one (a Cache).

${EXIT_HELP}
`;
}

/** The first line of a command's help. */
export function usageLine(name: CommandName): string {
  return `Usage: diskcache DIR ${callUsage(name)} [--json]`;
}

/** The help text of one command. */
export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const options = Object.entries(spec.options).map(([option, text]) =>
    describe(optionUsage(option as OptionName), text, 16),
  );
  options.push(describe('--json', 'machine-readable output on stdout', 16));
  return `${usageLine(name)}

${spec.details}

Options:
${options.join('\n')}

${EXIT_HELP}
`;
}

/** Options after validation. */
export interface CommandOptions {
  json: boolean;
  tag?: string;
  limit?: number;
  ttl?: number;
  fix: boolean;
  create: boolean;
  /** `--key-type`, if given. */
  keyType?: KeyTypeName;
}

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; directory: string; command: CommandName; args: Key[]; options: CommandOptions };

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseTtl(text: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1) : Number.NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new UsageError(
      `--ttl must be a positive duration (milliseconds, or 30s, 5m, 2h, 7d), not "${text}"`,
      'set',
    );
  }
  return ms;
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new UsageError(`--limit must be a positive whole number, not "${text}"`, 'ls');
  }
  return Number(text);
}

/** Reads KEY as `--key-type` says. */
export function parseKey(text: string, type: string, command: CommandName): Key {
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`--key-type must be one of ${KEY_TYPES.join(', ')}, not "${type}"`, command);
  }
  switch (type as KeyTypeName) {
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new UsageError(`"${text}" is not a number`, command);
      return n;
    }
    case 'bigint':
      if (!/^-?\d+$/.test(text)) throw new UsageError(`"${text}" is not a bigint (an integer)`, command);
      return BigInt(text);
    case 'base64':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
        throw new UsageError(`"${text}" is not base64`, command);
      }
      return Buffer.from(text, 'base64');
    default:
      return text;
  }
}

/** Whether the command line asks for `--json` (before any `--`), even if it is otherwise wrong. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function didYouMean(word: string): string {
  const near = suggest(word, OPTION_NAMES, OPTION_ALIASES);
  return near === undefined ? '' : `; did you mean --${near}?`;
}

/** `-limit`: a long option typed with one dash (not a group of known short options such as `-hV`). */
function checkSingleDash(argv: readonly string[], command: CommandName | undefined): void {
  const shorts = new Set(Object.values(OPTIONS as Record<string, OptionSpec>).map((o) => o.short));
  for (const arg of argv) {
    if (arg === '--') return;
    if (!/^-[A-Za-z][A-Za-z-]+$/.test(arg) || [...arg.slice(1)].every((c) => shorts.has(c))) continue;
    const near = suggest(arg.slice(1), OPTION_NAMES, OPTION_ALIASES);
    throw new UsageError(
      `unknown option ${arg}${near === undefined ? '' : `; did you mean --${near}?`}`,
      command,
    );
  }
}

/** A token of `util.parseArgs` (not strict, so an option's name is any string). */
type Token =
  | {
      kind: 'option';
      name: string;
      rawName: string;
      value?: string | undefined;
      inlineValue?: boolean | undefined;
    }
  | { kind: 'positional'; value: string }
  | { kind: 'option-terminator' };

/** The options given, checked one by one: known, with a value where one is needed, and once each. */
function optionValues(
  tokens: readonly Token[],
  command: CommandName | undefined,
): Map<OptionName, string | true> {
  const values = new Map<OptionName, string | true>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const raw = token.rawName;
    if (!Object.hasOwn(OPTIONS, token.name)) {
      const near = didYouMean(token.name.replace(/=.*$/, ''));
      const dash = near === '' && /^-\d/.test(raw) ? ' (put -- before a value that starts with a dash)' : '';
      throw new UsageError(`unknown option ${raw}${near}${dash}`, command);
    }
    const name = token.name as OptionName;
    const spec: OptionSpec = OPTIONS[name];
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`--${name} takes no value`, command);
    } else if (token.value === undefined) {
      throw new UsageError(`--${name} needs a value: ${optionUsage(name)}`, command);
    } else if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
      throw new UsageError(
        `--${name} needs a value: ${optionUsage(name)} (for one that starts with a dash, write --${name}=${token.value})`,
        command,
      );
    }
    if (values.has(name) && !GLOBAL_OPTIONS.includes(name)) {
      throw new UsageError(`--${name} is given twice`, command);
    }
    values.set(name, token.value ?? true);
  }
  return values;
}

/** `help [COMMAND]` (also `DIR help [COMMAND]`) as an invocation. */
function helpCommand(args: readonly string[]): Invocation {
  if (args.length > 1) throw new UsageError(`help takes at most one COMMAND; got ${args.join(' ')}`);
  const [name] = args;
  if (name === undefined) return { kind: 'help', text: mainHelp() };
  if (!isCommand(name)) throw unknownCommand(name, '');
  return { kind: 'help', text: commandHelp(name) };
}

function unknownCommand(name: string, hint: string): UsageError {
  const near = suggest(name, COMMAND_NAMES, COMMAND_ALIASES);
  return new UsageError(
    `unknown command "${name}"${near === undefined ? '' : `; did you mean ${near}?`}${hint}`,
  );
}

/** Parses `diskcache DIR COMMAND [ARGS] [OPTIONS]`; throws a {@link UsageError} on a mistake. */
export function parseCommandLine(argv: string[]): Invocation {
  // Not strict: every mistake is reported below in the command line's own words.
  const { tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const positionals = tokens.flatMap((token) => (token.kind === 'positional' ? [token.value] : []));
  const [directory, commandName, ...rest] = positionals;
  const named = isCommand(commandName) ? commandName : isCommand(directory) ? directory : undefined;
  checkSingleDash(argv, named);
  const values = optionValues(tokens, named);

  if (directory === 'help') return helpCommand(positionals.slice(1));
  if (commandName === 'help') return helpCommand(rest);
  if (values.has('help'))
    return { kind: 'help', text: named === undefined ? mainHelp() : commandHelp(named) };
  if (values.has('version')) return { kind: 'version' };
  if (directory === undefined) throw new UsageError('missing the cache directory and the command');
  if (commandName === undefined) {
    if (isCommand(directory))
      throw new UsageError(`missing the cache directory: diskcache DIR ${directory}`, directory);
    throw new UsageError('missing the command');
  }
  if (!isCommand(commandName)) {
    throw unknownCommand(
      commandName,
      isCommand(directory) ? `; the directory comes first: diskcache DIR ${directory}` : '',
    );
  }
  const command = commandName;
  const spec: CommandSpec = COMMANDS[command];
  if (rest.length !== spec.args.length) {
    const expected = spec.args.length === 0 ? 'no arguments' : spec.args.join(' ');
    throw new UsageError(
      `${command} takes ${expected}; got ${rest.length === 0 ? 'none' : rest.join(' ')}`,
      command,
    );
  }
  for (const name of values.keys()) {
    if (!GLOBAL_OPTIONS.includes(name) && !Object.hasOwn(spec.options, name)) {
      throw new UsageError(`--${name} is not an option of ${command}`, command);
    }
  }
  const text = (name: OptionName): string | undefined => {
    const value = values.get(name);
    return typeof value === 'string' ? value : undefined;
  };

  const keyType = text('key-type') ?? 'string';
  const args: Key[] = rest.map((arg, i) =>
    spec.args[i] === 'KEY' ? parseKey(arg, keyType, command) : (arg as Key),
  );
  const tag = text('tag');
  if (tag === '') throw new UsageError('--tag must not be empty', command);
  const options: CommandOptions = {
    json: values.has('json'),
    fix: values.has('fix'),
    create: values.has('create'),
  };
  if (tag !== undefined) options.tag = tag;
  const limit = text('limit');
  if (limit !== undefined) options.limit = parseLimit(limit);
  const ttl = text('ttl');
  if (ttl !== undefined) options.ttl = parseTtl(ttl);
  if (values.has('key-type')) options.keyType = keyType as KeyTypeName;
  return { kind: 'run', directory, command, args, options };
}
