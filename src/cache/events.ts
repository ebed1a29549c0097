import type { EventEmitter } from 'node:events';
import type { EntryHeader } from '../format/entry.js';
import { decodeKey, type Key } from '../format/key.js';

/**
 * What a cache tells its listeners (`cache.events.on(name, listener)`), synchronously, once the
 * change is made. Nothing is built for an event nobody listens to.
 */

/** Why an entry was removed by the cache rather than by `delete`: see {@link EvictEvent}. */
export type EvictReason = 'size' | 'expired' | 'tag' | 'clear';

/** An entry removed by eviction (`sizeLimit`, `maxEntries`), expiry, `evict(tag)` or `clear()`. */
export interface EvictEvent {
  /** The entry's key (`undefined` where its header could not be read). */
  key: Key | undefined;
  reason: EvictReason;
  /** Bytes the entry took (as `volume()` counts them). */
  size: number;
}

/** A damaged entry (its checksums fail, or its value does not decode) moved aside into `corrupt/`. */
export interface DamagedEvent {
  /** The entry's key, where its header is intact. */
  key: Key | undefined;
  /** The entry's path in the `files` layout (the `log` engine's entries are named the same way). */
  path: string;
  /** What is wrong with it. */
  reason: string;
}

/** A value not stored because it alone is larger than `sizeLimit` (any entry of its key was removed). */
export interface RefusedEvent {
  key: Key;
  /** Bytes the entry would take on disk, as `volume()` counts them. */
  size: number;
  sizeLimit: number;
}

/**
 * A `getOrSet` factory's error that reached no caller: a stale value was served instead, or the
 * factory failed in the background after its soft timeout.
 */
export interface FactoryErrorEvent {
  key: Key;
  error: unknown;
}

/** The events of a cache, by name. */
export interface CacheEvents {
  evict: [event: EvictEvent];
  damaged: [event: DamagedEvent];
  refused: [event: RefusedEvent];
  factoryError: [event: FactoryErrorEvent];
}

/** A cache's event emitter. */
export type CacheEventEmitter = EventEmitter<CacheEvents>;

/** Whether anyone listens to `name` (so that the event is worth building). */
export function listening(events: CacheEventEmitter, name: keyof CacheEvents): boolean {
  return events.listenerCount(name) > 0;
}

/** The key an entry header names, if it decodes. */
export function headerKey(header: EntryHeader): Key | undefined {
  return decodeKey(header.keyType, header.key);
}

/** Emits an `evict` event for an entry removed for `reason`, if anyone listens. */
export function noteEvicted(
  events: CacheEventEmitter,
  reason: EvictReason,
  header: EntryHeader | undefined,
  size: number,
): void {
  if (listening(events, 'evict')) {
    events.emit('evict', { key: header && headerKey(header), reason, size });
  }
}
