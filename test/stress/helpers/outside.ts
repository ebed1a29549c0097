import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A directory outside the cache, with a sentinel file, whose every detail is recorded so that a test
 * can tell whether anything in it was created, changed, moved or removed.
 */
export function makeOutside(root: string, name = 'outside'): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sentinel'), 'do not touch\n');
  fs.writeFileSync(path.join(dir, 'sub', 'nested'), 'nested sentinel\n');
  return dir;
}

/** Every name below `dir` with its type, size, mode, mtime and content hash (or link target). */
export function snapshot(dir: string): string[] {
  const lines: string[] = [];
  const walk = (at: string) => {
    const info = fs.lstatSync(at);
    const name = path.relative(dir, at) || '.';
    if (info.isSymbolicLink()) lines.push(`${name} -> ${fs.readlinkSync(at)}`);
    else if (info.isDirectory()) {
      lines.push(`${name}/ mode ${info.mode.toString(8)} mtime ${info.mtimeMs}`);
      for (const child of fs.readdirSync(at).sort()) walk(path.join(at, child));
    } else if (info.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(at)).digest('hex').slice(0, 16);
      lines.push(
        `${name} ${info.size} bytes mode ${info.mode.toString(8)} mtime ${info.mtimeMs} sha ${hash}`,
      );
    } else lines.push(`${name} (special file)`);
  };
  walk(dir);
  return lines;
}
