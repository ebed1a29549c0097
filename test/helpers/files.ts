import * as fs from 'node:fs';
import * as path from 'node:path';

const ENTRY_NAME = /^[0-9a-f]{32}$/;
const SHARD_NAME = /^[0-9a-f]{2}$/;

/** Every file below `dir`, recursively, as absolute paths in sorted order. */
export function listFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const item of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, item.name);
      if (item.isDirectory()) walk(full);
      else found.push(full);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return found.sort();
}

/** Whether `file` is an entry file: `…/entries/<2 hex>/<32 hex>`. */
export function isEntryFile(file: string): boolean {
  const shard = path.dirname(file);
  return (
    ENTRY_NAME.test(path.basename(file)) &&
    SHARD_NAME.test(path.basename(shard)) &&
    path.basename(path.dirname(shard)) === 'entries'
  );
}

/** Every entry file below a cache directory (for any variant that keeps `entries/` directories). */
export function entryFiles(dir: string): string[] {
  return listFiles(dir).filter(isEntryFile);
}

/** The bucket files of a `log` cache (`log/<2 hex>.<generation>`, in any folder under `dir`). */
export function bucketFiles(dir: string): string[] {
  return listFiles(dir).filter(
    (f) => path.basename(path.dirname(f)) === 'log' && /^[0-9a-f]{2}\.\d+$/.test(path.basename(f)),
  );
}

/** The files in `<dir>/corrupt/`, where bad entries are moved aside. */
export function corruptFiles(dir: string): string[] {
  return listFiles(path.join(dir, 'corrupt'));
}

/** The entry files that appear after running `write`: the files of the keys it wrote. */
export async function newEntryFiles(dir: string, write: () => unknown): Promise<string[]> {
  const before = new Set(entryFiles(dir));
  await write();
  return entryFiles(dir).filter((file) => !before.has(file));
}

/**
 * Damages the stored bytes of a value, whichever engine holds it: flips a byte of `marker` in the
 * entry file or bucket file that holds it (its checksums then fail). Returns how many files it changed.
 */
export function damageStoredValue(dir: string, marker: string): number {
  const needle = Buffer.from(marker);
  let changed = 0;
  for (const file of [...entryFiles(dir), ...bucketFiles(dir)]) {
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf(needle);
    if (at === -1) continue;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    fs.writeFileSync(file, bytes);
    changed++;
  }
  return changed;
}
