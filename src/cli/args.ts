/** The `diskcache` command line: its commands, their help, and parsing with `util.parseArgs`. */
import { parseArgs } from 'node:util';
import type { Key } from '../format/key.js';
import { KEY_TYPES, type KeyTypeName } from './format.js';

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

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  tag: { type: 'string' },
  limit: { type: 'string' },
  ttl: { type: 'string' },
  fix: { type: 'boolean' },
  'key-type': { type: 'string' },
  create: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

interface CommandSpec {
  /** Positional arguments after the command. */
  args: readonly string[];
  /** Options besides `--json` and `--help`. */
  options: readonly OptionName[];
  summary: string;
  /** Paragraphs after the usage line. */
  details: string;
}

const KEY_TYPE_HELP = `  --key-type T  how to read KEY: string (default), number, bigint, or base64 for a
                byte key; \`ls\` reports each key's type`;

/** The commands, in the order help lists them. */
export const COMMANDS = {
  stats: {
    args: [],
    options: [],
    summary: 'entries, size on disk, limits, settings and hit/miss counts',
    details: `Shows the number of entries (expired ones not yet removed included), the bytes they take
against the size limit, the eviction policy and the stored settings, and the hit and miss counts
if statistics are on.`,
  },
  ls: {
    args: [],
    options: ['tag', 'limit'],
    summary: 'list live entries: size, age, expiry, tag and key',
    details: `Lists live entries in the cache's iteration order (by key hash), with their size, age,
expiry and tag. Reads every entry it lists.

Options:
  --tag T       only entries with the string tag T
  --limit N     stop after N entries`,
  },
  get: {
    args: ['KEY'],
    options: ['key-type'],
    summary: 'print the value of KEY',
    details: `Prints the value stored under KEY. Strings are printed as they are; byte values are
written raw when stdout is a file or a pipe, and as base64 on a terminal; other values are
printed as JSON (bigint as a string, Map as an object, Set as an array, Date as ISO text).
With --json: {found, key, keyType, value, valueType, size, storedAt, expiresAt, tag}.
Exit status 1 if KEY is missing or expired.

Options:
${KEY_TYPE_HELP}`,
  },
  set: {
    args: ['KEY', 'VALUE'],
    options: ['ttl', 'tag', 'key-type', 'create'],
    summary: 'store the string VALUE under KEY',
    details: `Stores VALUE, as a string, under KEY, replacing what was there. Use -- before a VALUE
that starts with a dash: diskcache DIR set KEY -- -1.

Options:
  --ttl T       time to live: milliseconds, or a number with a unit: 30s, 5m, 2h, 7d
  --tag T       tag the entry (for \`evict T\` and \`ls --tag T\`)
  --create      create the cache if DIR does not exist or is an empty directory
${KEY_TYPE_HELP}`,
  },
  delete: {
    args: ['KEY'],
    options: ['key-type'],
    summary: 'remove KEY',
    details: `Removes KEY. Exit status 1 if it was not there.

Options:
${KEY_TYPE_HELP}`,
  },
  expire: {
    args: [],
    options: [],
    summary: 'remove expired entries',
    details: 'Removes every expired entry and prints how many.',
  },
  evict: {
    args: ['TAG'],
    options: [],
    summary: 'remove the entries tagged TAG',
    details: 'Removes every entry with the string tag TAG and prints how many.',
  },
  cull: {
    args: [],
    options: [],
    summary: 'remove expired entries, then evict down to the size limit',
    details: `Removes expired entries, then evicts entries by the cache's eviction policy until its
volume is within the size limit, and prints how many it removed.`,
  },
  clear: {
    args: [],
    options: [],
    summary: 'remove every entry',
    details: 'Removes every entry and prints how many. The settings are kept.',
  },
  check: {
    args: [],
    options: ['fix'],
    summary: 'verify every entry and the bookkeeping; --fix repairs',
    details: `Reads every entry file in full and checks the counters against them; reports corrupt or
misplaced files, files left by dead writers and stale locks. Exit status 1 if problems remain
(any found without --fix; any that --fix could not repair).

Options:
  --fix         move corrupt files aside, remove leftovers and stale locks, reset the counters`,
  },
} as const satisfies Record<string, CommandSpec>;

/** A `diskcache` command. */
export type CommandName = keyof typeof COMMANDS;

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

const EXIT_HELP = `Exit status:
  0  success
  1  get/delete: KEY not found; check: problems remain
  2  usage error
  3  DIR is missing or not a diskcache-ts cache, or an I/O or cache error`;

/** The overall help text. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, spec]) => {
    const call = [name, ...spec.args].join(' ');
    return `  ${call.padEnd(width + 10)} ${spec.summary}`;
  });
  return `Usage: diskcache DIR COMMAND [ARGS] [OPTIONS]

Inspect and maintain a diskcache-ts cache directory.

Commands:
${lines.join('\n')}

Options:
  --json        machine-readable output on stdout (one JSON document)
  -h, --help    help for a command: diskcache DIR COMMAND --help
  -V, --version print the version

DIR must be a diskcache-ts cache (it holds a diskcache.json); only \`set --create\` makes one.

${EXIT_HELP}
`;
}

/** The help text of one command. */
export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const usage = ['diskcache DIR', name, ...spec.args, ...spec.options.map((o) => `[--${o}]`), '[--json]'];
  return `Usage: ${usage.join(' ')}

${spec.details}

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

/** Parses `diskcache DIR COMMAND [ARGS] [OPTIONS]`; throws a {@link UsageError} on a mistake. */
export function parseCommandLine(argv: string[]): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message);
  }
  const { values, positionals } = parsed;
  const [directory, commandName, ...rest] = positionals;
  const named = isCommand(commandName) ? commandName : isCommand(directory) ? directory : undefined;

  if (values.help) return { kind: 'help', text: named === undefined ? mainHelp() : commandHelp(named) };
  if (values.version) return { kind: 'version' };
  if (directory === undefined) throw new UsageError('missing the cache directory and the command');
  if (commandName === undefined) {
    if (isCommand(directory))
      throw new UsageError(`missing the cache directory: diskcache DIR ${directory}`, directory);
    throw new UsageError('missing the command');
  }
  if (!isCommand(commandName)) {
    const hint = isCommand(directory) ? `; the directory comes first: diskcache DIR ${directory}` : '';
    throw new UsageError(`unknown command "${commandName}"${hint}`);
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
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || name === 'json' || name === 'help' || name === 'version') continue;
    if (!(spec.options as readonly string[]).includes(name)) {
      throw new UsageError(`--${name} is not an option of ${command}`, command);
    }
  }

  const keyType = values['key-type'] ?? 'string';
  const args: Key[] = rest.map((text, i) =>
    spec.args[i] === 'KEY' ? parseKey(text, keyType, command) : (text as Key),
  );
  if (values.tag === '') throw new UsageError('--tag must not be empty', command);
  const options: CommandOptions = {
    json: values.json === true,
    fix: values.fix === true,
    create: values.create === true,
  };
  if (values.tag !== undefined) options.tag = values.tag;
  if (values.limit !== undefined) options.limit = parseLimit(values.limit);
  if (values.ttl !== undefined) options.ttl = parseTtl(values.ttl);
  return { kind: 'run', directory, command, args, options };
}
