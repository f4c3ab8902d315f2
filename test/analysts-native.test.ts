// ClickHouse's compressed framing (compress=1): the CityHash128 v1.0.2 checksum against vectors
// recorded from the JDBC driver's own implementation (com.clickhouse.data.ClickHouseCityHash,
// 0.10.0; lengths 0 to 5000, every path of the hash), and the frames' layout. The driver reading
// the frames is in test/analysts-jdbc.test.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cityHash128 } from "../analysts/cityhash.ts";
import { nativeFrames } from "../analysts/native.ts";

const VECTORS = readFileSync(path.join(import.meta.dirname, "fixtures", "analysts", "cityhash128-v1.0.2.txt"), "utf8").trim().split("\n");

describe("ClickHouse's compressed framing", () => {
  it("CityHash128 v1.0.2 equals the JDBC driver's on every recorded length", () => {
    expect(VECTORS.length).toBe(31);
    for (const line of VECTORS) {
      const [length, hex = "", low, high] = line.split(" ");
      const [a, b] = cityHash128(Buffer.from(hex, "hex"));
      expect([a.toString(16), b.toString(16)], `length ${length}`).toEqual([low, high]);
    }
  });

  it("cuts an answer into 1 MiB blocks, each with its checksum, method, sizes and an LZ4 literal run", async () => {
    const answer = Buffer.alloc((1 << 20) + 20, 7);
    const framed = await nativeFrames(answer);
    // First block: 1 MiB of data; as LZ4 literals, a token, (2^20 - 15) / 255 + 1 length bytes, the data.
    const lz4First = 1 + Math.floor(((1 << 20) - 15) / 255) + 1 + (1 << 20);
    expect(framed[16]).toBe(0x82);
    expect(framed.readUInt32LE(17)).toBe(9 + lz4First);
    expect(framed.readUInt32LE(21)).toBe(1 << 20);
    const [low, high] = cityHash128(framed.subarray(16, 16 + 9 + lz4First));
    expect([framed.readBigUInt64LE(0), framed.readBigUInt64LE(8)]).toEqual([low, high]);
    // Second block: 20 bytes, token 0xf0 with one length byte (20 - 15 = 5), then the data.
    const second = framed.subarray(16 + 9 + lz4First);
    expect(second.readUInt32LE(21)).toBe(20);
    expect([...second.subarray(25, 27)]).toEqual([0xf0, 5]);
    expect(second.subarray(27)).toEqual(Buffer.alloc(20, 7));
    expect(second.length).toBe(16 + 9 + 2 + 20);
    expect((await nativeFrames(new Uint8Array(0))).length).toBe(0);
  });
});
