#!/usr/bin/env node
/**
 * The `diskcache` command: `diskcache DIR COMMAND [ARGS] [OPTIONS]`; `diskcache --help` lists the
 * commands and exit statuses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT, mainHelp, parseCommandLine, UsageError, usageLine, wantsJson } from './args.js';
import { type Output, runCommand } from './commands.js';
import { catchInterrupts } from './interrupt.js';
import { type OpenedCache, openCacheDirectory } from './open.js';

/** The version in the package.json above the running script, if one can be found. */
function version(): string {
  let dir = path.dirname(fs.realpathSync(process.argv[1] ?? '.'));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'diskcache-ts' && typeof pkg.version === 'string') return pkg.version;
    } catch {}
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^diskcache-ts: /, '');
}

function output(): Output {
  let closed = false;
  // `diskcache DIR ls | head`: once the reader is gone, stop writing instead of crashing.
  process.stdout.on('error', () => {
    closed = true;
  });
  return { stdout: process.stdout, stderr: process.stderr, stdoutClosed: () => closed };
}

/** A failure as the command reports it: a line on stderr, and with `--json` a document on stdout. */
interface Failure {
  status: number;
  /** `EUSAGE`, `ENOTCACHE`, a `CacheError`'s code, an errno code. */
  code: string;
  message: string;
  /** Lines for stderr after the message (usage, where to find help). */
  more?: string[];
  /** The help to read (`diskcache help set`), for usage errors. */
  help?: string;
}

function report(out: Output, json: boolean, failure: Failure): number {
  const { status, code, message, more = [], help } = failure;
  out.stderr.write(`diskcache: ${message}\n${more.map((text) => `${text}\n`).join('')}`);
  if (json && !out.stdoutClosed()) {
    out.stdout.write(
      `${JSON.stringify({ error: { code, message, status, ...(help === undefined ? {} : { help }) } })}\n`,
    );
  }
  return status;
}

function usageFailure(error: UsageError): Failure {
  const help = error.command === undefined ? 'diskcache --help' : `diskcache help ${error.command}`;
  const more = error.command === undefined ? [] : [usageLine(error.command)];
  return {
    status: EXIT.usage,
    code: 'EUSAGE',
    message: error.message,
    more: [...more, `See \`${help}\`.`],
    help,
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EFAILED';
}

/** Runs the command line `argv` (without `node` and the script) and returns the exit status. */
async function main(argv: string[]): Promise<number> {
  const out = output();
  const json = wantsJson(argv);
  if (argv.length === 0) {
    out.stderr.write(mainHelp());
    return EXIT.usage;
  }
  let invocation: ReturnType<typeof parseCommandLine>;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return report(out, json, usageFailure(error));
  }
  if (invocation.kind === 'help') {
    out.stdout.write(invocation.text);
    return EXIT.ok;
  }
  if (invocation.kind === 'version') {
    out.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }

  const { directory, command, args, options } = invocation;
  let cache: OpenedCache;
  try {
    cache = openCacheDirectory(directory, { create: command === 'set' && options.create });
  } catch (error) {
    return report(out, json, { status: EXIT.failed, code: errorCode(error), message: message(error) });
  }
  const interrupt = catchInterrupts(() => {
    out.stderr.write(
      `diskcache: stopped at once; if the counts are off, \`diskcache ${directory} check --fix\` resets them\n`,
    );
    process.exit(EXIT.interrupted);
  });
  let status: number;
  try {
    status = await runCommand(cache, { command, args, options, interrupt }, out);
  } catch (error) {
    // A key the cache refuses (too long, say) is a usage error; the rest are the cache's or the disk's.
    if (error instanceof TypeError || error instanceof RangeError) {
      const help = `diskcache help ${command}`;
      status = report(out, json, {
        status: EXIT.usage,
        code: 'EUSAGE',
        message: message(error),
        more: [usageLine(command)],
        help,
      });
    } else {
      status = report(out, json, { status: EXIT.failed, code: errorCode(error), message: message(error) });
    }
  }
  try {
    await cache.close();
  } catch (error) {
    out.stderr.write(`diskcache: ${message(error)}\n`);
    if (status === EXIT.ok) status = EXIT.failed;
  } finally {
    interrupt.dispose();
  }
  return interrupt.requested && status === EXIT.ok ? EXIT.interrupted : status;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    // A bug, not a usage or cache error: show where.
    process.stderr.write(
      `diskcache: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT.failed;
  },
);
