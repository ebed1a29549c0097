#!/usr/bin/env node
/**
 * The `diskcache` command: `diskcache DIR COMMAND [ARGS] [OPTIONS]`; `diskcache --help` lists the
 * commands and exit statuses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cache } from '../cache/cache.js';
import { commandHelp, EXIT, mainHelp, parseCommandLine, UsageError } from './args.js';
import { type Output, runCommand } from './commands.js';
import { openCacheDirectory } from './open.js';

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

/** Runs the command line `argv` (without `node` and the script) and returns the exit status. */
async function main(argv: string[]): Promise<number> {
  const out = output();
  if (argv.length === 0) {
    out.stderr.write(mainHelp());
    return EXIT.usage;
  }
  let invocation: ReturnType<typeof parseCommandLine>;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error.command === undefined ? 'diskcache --help' : `diskcache DIR ${error.command} --help`;
    out.stderr.write(`diskcache: ${error.message}\nSee \`${help}\`.\n`);
    return EXIT.usage;
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
  let cache: Cache;
  try {
    cache = openCacheDirectory(directory, { create: command === 'set' && options.create });
  } catch (error) {
    out.stderr.write(`diskcache: ${message(error)}\n`);
    return EXIT.failed;
  }
  let status: number;
  try {
    status = await runCommand(cache, { command, args, options }, out);
  } catch (error) {
    // A key the cache refuses (too long, say) is a usage error; the rest are the cache's or the disk's.
    const usage = error instanceof TypeError || error instanceof RangeError;
    out.stderr.write(`diskcache: ${message(error)}\n`);
    if (usage) out.stderr.write(`${commandHelp(command).split('\n')[0]}\n`);
    status = usage ? EXIT.usage : EXIT.failed;
  }
  try {
    await cache.close();
  } catch (error) {
    out.stderr.write(`diskcache: ${message(error)}\n`);
    if (status === EXIT.ok) status = EXIT.failed;
  }
  return status;
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
