import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function crc32Table(): Uint32Array {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  return table;
}

function crc32Portable(data: Uint8Array, seed = 0): number {
  const t = crc32Table();
  let c = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32 = (data: Uint8Array, seed?: number) => number;

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG compute it), continued from `seed`. Uses `zlib.crc32` where
 * Node has it (20.15+) and a table-driven version otherwise.
 */
export const crc32: Crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32 ?? crc32Portable;
