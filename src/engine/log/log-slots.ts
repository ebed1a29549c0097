import type { Slots } from '../slots.js';
import type { LogStore } from './log-store.js';

/** The `log` engine's slots, over its store (see `engine/log/log-store.ts`). */
export function logSlots(log: LogStore): Slots {
  return {
    engine: 'log',
    groups: log.groups,
    footprint: (entryBytes) => log.footprint(entryBytes),
    read: (path) => log.read(path),
    version: (path) => log.version(path),
    readHeader: (path) => log.readHeader(path),
    write: (path, chunks) => log.write(path, chunks),
    publish: (temp, path) => log.publish(temp, path),
    writeMany: (items) => log.writeMany(items),
    removeMany: (paths) => log.removeMany(paths),
    writeIfAbsent: (path, chunks) => log.writeIfAbsent(path, chunks),
    remove: (path) => log.remove(path),
    discard: (path) => log.discard(path),
    take: (path) => log.take(path),
    removeIf: (path, shouldRemove, verify) => log.removeIf(path, shouldRemove, verify),
    update: (path, rewrite) => log.update(path, rewrite),
    exclusive: (path, body) => log.exclusive(path, body),
    list: (group) => log.list(group),
    placeOf: (path) => log.placeOf(path),
    recordAccess: (path, value) => log.recordAccess(path, value),
    accessOf: (path) => log.accessOf(path),
  };
}
