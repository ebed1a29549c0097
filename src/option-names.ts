/**
 * The shared checks of options objects, for every class and method that takes options: what is not
 * an object is a `TypeError`, and so is an unknown name, with what was probably meant.
 */

/** Names other libraries (python-diskcache, lru-cache, Keyv, …) use, and what to say instead. */
const HINTS: Record<string, string> = {
  expire: 'use ttl, in milliseconds',
  expire_time: 'use ttl, in milliseconds',
  disk: 'use the codec option',
  tag_index: 'tags need no index here',
  directory: 'pass the directory as the first argument',
};

/** Names other libraries use for an option that has another name here (used where it is known). */
const ALIASES: Record<string, string> = {
  dir: 'directory',
  path: 'directory',
  max: 'maxEntries',
  maxlen: 'maxLength',
  maxSize: 'maxBytes',
  max_size: 'sizeLimit',
  max_entries: 'maxEntries',
  readonly: 'readOnly',
  ttlMs: 'ttl',
  stdTTL: 'ttl',
};

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Edit distance of `a` and `b`, case-insensitive, up to `limit + 1`. */
function distance(a: string, b: string, limit: number): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > limit) return limit + 1;
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return previous[y.length] as number;
}

/** What `name` (not one of `known`) probably meant, as a hint; `undefined` if nothing is close. */
export function hintFor(name: string, known: Iterable<string>): string | undefined {
  const names = [...known];
  const alias = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
  if (alias !== undefined && names.includes(alias)) return `did you mean ${alias}?`;
  if (Object.hasOwn(HINTS, name)) return HINTS[name];
  if (names.includes(camel(name))) return `did you mean ${camel(name)}?`;
  const limit = name.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of names) {
    const d = distance(name, candidate, limit);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? undefined : `did you mean ${best}?`;
}

/** How {@link rejectUnknown} speaks of a name it does not know. */
export interface UnknownNames {
  /** What a name is: `option` unless told. */
  noun?: string;
  /** Whether the message says what was probably meant (true unless told). */
  hints?: boolean;
}

/**
 * Throws a `TypeError` for the first name of `options` that is not one of `known`, with a hint:
 * `unknown <where> option "name"; did you mean …?`.
 */
export function rejectUnknown(
  options: object,
  known: ReadonlySet<string>,
  where: string,
  { noun = 'option', hints = true }: UnknownNames = {},
): void {
  for (const name of Object.keys(options)) {
    if (known.has(name)) continue;
    const hint = hints ? hintFor(name, known) : undefined;
    throw new TypeError(`diskcache-ts: unknown ${where} ${noun} "${name}"${hint ? `; ${hint}` : ''}`);
  }
}

/**
 * Throws a `TypeError` unless `options` is an object (`null` is not): `options must be an object`,
 * or `diskcache-ts: <what>` where the call says what it wants.
 */
export function assertOptionsObject(
  options: unknown,
  what = 'options must be an object',
): asserts options is object {
  if (options === null || typeof options !== 'object') throw new TypeError(`diskcache-ts: ${what}`);
}

/** {@link assertOptionsObject}, then {@link rejectUnknown}: the options of a call, checked. */
export function checkOptions(
  options: unknown,
  known: ReadonlySet<string>,
  where: string,
  what?: string,
): asserts options is object {
  assertOptionsObject(options, what);
  rejectUnknown(options, known, where);
}
