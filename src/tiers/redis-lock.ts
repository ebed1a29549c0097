/**
 * A lease on a key in Redis, for `getOrSet` over a Redis tier: `SET NX PX` takes it, and it is
 * released only by its holder (compare-and-delete in one server-side script), so a lease that
 * outlived its holder and was taken by another is never released by the first.
 */

/** The part of a node-redis client (as `@keyv/redis` holds one) that a lease needs. */
export interface RedisCommands {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** Deletes KEYS[1] only if it still holds ARGV[1]. */
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** The node-redis client of a Keyv store (`@keyv/redis`'s `client`, or a `Keyv`'s store's), if it has one. */
export function redisClientOf(store: unknown): RedisCommands | undefined {
  for (const holder of [store, (store as { store?: unknown } | null)?.store]) {
    const client = (holder as { client?: Partial<RedisCommands> } | null | undefined)?.client;
    if (typeof client?.set === 'function' && typeof client.eval === 'function')
      return client as RedisCommands;
  }
  return undefined;
}

/** Takes the lease `name` for `leaseMs` with `token`; whether it was free. */
export async function takeLease(
  redis: RedisCommands,
  name: string,
  token: string,
  leaseMs: number,
): Promise<boolean> {
  return (await redis.set(name, token, { NX: true, PX: Math.max(1, Math.ceil(leaseMs)) })) === 'OK';
}

/** Releases the lease `name` if `token` still holds it. */
export async function releaseLease(redis: RedisCommands, name: string, token: string): Promise<void> {
  await redis.eval(RELEASE, { keys: [name], arguments: [token] });
}
