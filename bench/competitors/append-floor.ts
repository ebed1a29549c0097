import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

/** Value length of a delete record. */
const TOMBSTONE = 0xffffffff;
const HEADER = 8;

/** One record: u32 key length, u32 value length (or TOMBSTONE), key bytes, value bytes. */
function record(k: string, v: string | undefined): Buffer {
  const keyBytes = Buffer.byteLength(k);
  const valueBytes = v === undefined ? 0 : Buffer.byteLength(v);
  const buf = Buffer.allocUnsafe(HEADER + keyBytes + valueBytes);
  buf.writeUInt32LE(keyBytes, 0);
  buf.writeUInt32LE(v === undefined ? TOMBSTONE : valueBytes, 4);
  buf.write(k, HEADER);
  if (v !== undefined) buf.write(v, HEADER + keyBytes);
  return buf;
}

/**
 * The floor of a log: every write is one `O_APPEND` write of a record to one file kept open
 * (`writeSync`; a batch is one write of its records), and a read is one `pread` at the offset an
 * in-memory map holds. No checksum, hashing, index bound, compaction, locking or bookkeeping; opening
 * reads the whole file to rebuild the map.
 */
const appendFloor: Competitor = {
  name: 'append-floor',
  label: 'append floor (one O_APPEND write)',
  kind: 'floor',
  surfaces: ['sync', 'async'],
  singleProcess: true,
  note: 'one file opened with O_APPEND: set/delete/add/incr = one write(2) of an 8-byte header + key + value (a batch: one write of its records), get = one pread(2) at an offset held in a Map; async: the same calls through a FileHandle; opening reads the whole file to rebuild the Map; one process at a time (no mixed-2proc)',
  async load() {
    const fs = await import('node:fs');
    const fsp = fs.promises;
    return async (dir): Promise<Store> => {
      const file = join(dir, 'append.log');
      const fd = fs.openSync(file, 'a+');
      const handle = await fsp.open(file, 'a+');
      /** Key → [value offset, value length]. */
      const at = new Map<string, [number, number]>();
      let end = 0;
      // Rebuild the map from what is on disk.
      const data = fs.readFileSync(file);
      while (end + HEADER <= data.length) {
        const keyBytes = data.readUInt32LE(end);
        const valueBytes = data.readUInt32LE(end + 4);
        const k = data.toString('utf8', end + HEADER, end + HEADER + keyBytes);
        const length = valueBytes === TOMBSTONE ? 0 : valueBytes;
        if (valueBytes === TOMBSTONE) at.delete(k);
        else at.set(k, [end + HEADER + keyBytes, valueBytes]);
        end += HEADER + keyBytes + length;
      }
      /** Notes where the record `buf`, just appended at `end`, put its value. */
      const appended = (k: string, buf: Buffer) => {
        const valueBytes = buf.readUInt32LE(4);
        if (valueBytes === TOMBSTONE) at.delete(k);
        else at.set(k, [end + buf.length - valueBytes, valueBytes]);
        end += buf.length;
      };
      const write = (k: string, v: string | undefined) => {
        const buf = record(k, v);
        fs.writeSync(fd, buf);
        appended(k, buf);
      };
      const writeAsync = async (k: string, v: string | undefined) => {
        const buf = record(k, v);
        await handle.write(buf);
        appended(k, buf);
      };
      const writeMany = (entries: readonly (readonly [string, string])[]) => {
        const bufs = entries.map(([k, v]) => record(k, v));
        const all = Buffer.concat(bufs);
        return {
          all,
          done() {
            for (const [i, [k]] of entries.entries()) appended(k, bufs[i] as Buffer);
          },
        };
      };
      const read = (k: string): Buffer | undefined => {
        const where = at.get(k);
        if (where === undefined) return undefined;
        const buf = Buffer.allocUnsafe(where[1]);
        fs.readSync(fd, buf, 0, where[1], where[0]);
        return buf;
      };
      const readAsync = async (k: string): Promise<Buffer | undefined> => {
        const where = at.get(k);
        if (where === undefined) return undefined;
        const buf = Buffer.allocUnsafe(where[1]);
        await handle.read(buf, 0, where[1], where[0]);
        return buf;
      };
      return {
        sync: {
          set: (k, v) => write(k, v),
          get: read,
          delete: (k) => write(k, undefined),
          setMany(entries) {
            const batch = writeMany(entries);
            fs.writeSync(fd, batch.all);
            batch.done();
          },
          add(k, v) {
            if (at.has(k)) return false;
            write(k, v);
            return true;
          },
          incr(k, delta) {
            const n = Number(read(k)?.toString() ?? 0) + delta;
            write(k, String(n));
            return n;
          },
        },
        async: {
          set: (k, v) => writeAsync(k, v),
          get: readAsync,
          delete: (k) => writeAsync(k, undefined),
          async setMany(entries) {
            const batch = writeMany(entries);
            await handle.write(batch.all);
            batch.done();
          },
          async add(k, v) {
            if (at.has(k)) return false;
            await writeAsync(k, v);
            return true;
          },
          async incr(k, delta) {
            const n = Number((await readAsync(k))?.toString() ?? 0) + delta;
            await writeAsync(k, String(n));
            return n;
          },
        },
        async close() {
          fs.closeSync(fd);
          await handle.close();
        },
      };
    };
  },
};

export default appendFloor;
