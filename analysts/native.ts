// ClickHouse's own compressed framing, which clients ask for with `compress=1` (the JDBC driver
// does by default): the answer cut into blocks, each a 16-byte CityHash128 checksum, a method byte
// (0x82: LZ4), the block's size with its 9-byte header, the size of its data, and an LZ4 block.
// Our LZ4 blocks hold the data as one run of literals: valid LZ4 that every decoder reads, though
// no smaller. On loopback the framing, not the ratio, is what the client needs.
import { cityHash128 } from "./cityhash.ts";

const LZ4 = 0x82;
const HEADER = 9;
/** ClickHouse's own blocks hold at most 1 MiB of data. */
const BLOCK = 1 << 20;

/** An LZ4 block of `data` as literals only: a token, the length's extra bytes, the bytes. */
function lz4Literals(data: Uint8Array): Uint8Array {
  const extra = data.length >= 15 ? Math.floor((data.length - 15) / 255) + 1 : 0;
  const out = new Uint8Array(1 + extra + data.length);
  out[0] = Math.min(data.length, 15) << 4;
  let at = 1;
  if (data.length >= 15) {
    let rest = data.length - 15;
    while (rest >= 255) {
      out[at++] = 255;
      rest -= 255;
    }
    out[at++] = rest;
  }
  out.set(data, at);
  return out;
}

/**
 * `bytes` in ClickHouse's compressed framing. The checksum costs about 40 ms per block on our
 * machines (64-bit BigInt arithmetic), so serve's event loop gets a turn between blocks.
 */
export async function nativeFrames(bytes: Uint8Array): Promise<Buffer> {
  const frames: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += BLOCK) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const data = bytes.subarray(start, Math.min(bytes.length, start + BLOCK));
    const block = lz4Literals(data);
    const frame = Buffer.alloc(16 + HEADER + block.length);
    frame[16] = LZ4;
    frame.writeUInt32LE(HEADER + block.length, 17);
    frame.writeUInt32LE(data.length, 21);
    frame.set(block, 16 + HEADER);
    const [low, high] = cityHash128(frame.subarray(16));
    frame.writeBigUInt64LE(low, 0);
    frame.writeBigUInt64LE(high, 8);
    frames.push(frame);
  }
  return Buffer.concat(frames);
}
