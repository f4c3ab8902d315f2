// CityHash128, version 1.0.2: the checksum of ClickHouse's compressed blocks (compress=1), which
// the JDBC driver verifies. Written from the algorithm's description with 64-bit BigInt arithmetic;
// test/analysts-native.test.ts checks it against the JDBC driver's own implementation.

const MASK = (1n << 64n) - 1n;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;
const K3 = 0xc949d7c7509e6557n;
const KMUL = 0x9ddfea08eb382d69n;

const mul = (a: bigint, b: bigint) => (a * b) & MASK;
const add = (a: bigint, b: bigint) => (a + b) & MASK;
const sub = (a: bigint, b: bigint) => (a - b) & MASK;
const rotate = (v: bigint, shift: bigint) => (shift === 0n ? v : ((v >> shift) | (v << (64n - shift))) & MASK);
const shiftMix = (v: bigint) => v ^ (v >> 47n);

function hashLen16(u: bigint, v: bigint): bigint {
  let a = mul(u ^ v, KMUL);
  a ^= a >> 47n;
  let b = mul(v ^ a, KMUL);
  b ^= b >> 47n;
  return mul(b, KMUL);
}

class Bytes {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }
  u32(at: number): bigint {
    return BigInt(this.view.getUint32(at, true));
  }
  u8(at: number): bigint {
    return BigInt(this.bytes[at] as number);
  }
}

function hashLen0to16(s: Bytes, at: number, len: number): bigint {
  const n = BigInt(len);
  if (len > 8) {
    const a = s.u64(at);
    const b = s.u64(at + len - 8);
    return hashLen16(a, rotate(add(b, n), n)) ^ b;
  }
  if (len >= 4) {
    const a = s.u32(at);
    return hashLen16(add(n, (a << 3n) & MASK), s.u32(at + len - 4));
  }
  if (len > 0) {
    const y = add(s.u8(at), s.u8(at + (len >> 1)) << 8n);
    const z = add(n, s.u8(at + len - 1) << 2n);
    return mul(shiftMix(mul(y, K2) ^ mul(z, K3)), K2);
  }
  return K2;
}

function cityMurmur(s: Bytes, at: number, len: number, lo: bigint, hi: bigint): [bigint, bigint] {
  let a = lo;
  let b = hi;
  let c: bigint;
  let d: bigint;
  let l = len - 16;
  if (l <= 0) {
    a = mul(shiftMix(mul(a, K1)), K1);
    c = add(mul(b, K1), hashLen0to16(s, at, len));
    d = shiftMix(add(a, len >= 8 ? s.u64(at) : c));
  } else {
    c = hashLen16(add(s.u64(at + len - 8), K1), a);
    d = hashLen16(add(b, BigInt(len)), add(c, s.u64(at + len - 16)));
    a = add(a, d);
    do {
      a ^= mul(shiftMix(mul(s.u64(at), K1)), K1);
      a = mul(a, K1);
      b ^= a;
      c ^= mul(shiftMix(mul(s.u64(at + 8), K1)), K1);
      c = mul(c, K1);
      d ^= c;
      at += 16;
      l -= 16;
    } while (l > 0);
  }
  a = hashLen16(a, c);
  b = hashLen16(d, b);
  return [a ^ b, hashLen16(b, a)];
}

function weakHashLen32WithSeeds(s: Bytes, at: number, a: bigint, b: bigint): [bigint, bigint] {
  const w = s.u64(at);
  const x = s.u64(at + 8);
  const y = s.u64(at + 16);
  const z = s.u64(at + 24);
  a = add(a, w);
  b = rotate(add(add(b, a), z), 21n);
  const c = a;
  a = add(add(a, x), y);
  b = add(b, rotate(a, 44n));
  return [add(a, z), add(b, c)];
}

function cityHash128WithSeed(s: Bytes, at: number, len: number, lo: bigint, hi: bigint): [bigint, bigint] {
  if (len < 128) return cityMurmur(s, at, len, lo, hi);
  let x = lo;
  let y = hi;
  let z = mul(BigInt(len), K1);
  let v: [bigint, bigint] = [0n, 0n];
  let w: [bigint, bigint] = [0n, 0n];
  v[0] = add(mul(rotate(y ^ K1, 49n), K1), s.u64(at));
  v[1] = add(mul(rotate(v[0], 42n), K1), s.u64(at + 8));
  w[0] = add(mul(rotate(add(y, z), 35n), K1), x);
  w[1] = mul(rotate(add(x, s.u64(at + 88)), 53n), K1);
  do {
    for (let half = 0; half < 2; half++) {
      x = mul(rotate(add(add(add(x, y), v[0]), s.u64(at + 16)), 37n), K1);
      y = mul(rotate(add(add(y, v[1]), s.u64(at + 48)), 42n), K1);
      x ^= w[1];
      y ^= v[0];
      z = rotate(z ^ w[0], 33n);
      v = weakHashLen32WithSeeds(s, at, mul(v[1], K1), add(x, w[0]));
      w = weakHashLen32WithSeeds(s, at + 32, add(z, w[1]), y);
      [z, x] = [x, z];
      at += 64;
    }
    len -= 128;
  } while (len >= 128);
  y = add(y, add(mul(rotate(w[0], 37n), K0), z));
  x = add(x, mul(rotate(add(v[0], z), 49n), K0));
  for (let tail = 0; tail < len; ) {
    tail += 32;
    y = add(mul(rotate(sub(y, x), 42n), K0), v[1]);
    w[0] = add(w[0], s.u64(at + len - tail + 16));
    x = add(mul(rotate(x, 49n), K0), w[0]);
    w[0] = add(w[0], v[0]);
    v = weakHashLen32WithSeeds(s, at + len - tail, v[0], v[1]);
  }
  x = hashLen16(x, v[0]);
  y = hashLen16(y, w[0]);
  return [add(hashLen16(add(x, v[1]), w[1]), y), hashLen16(add(x, w[1]), add(y, v[1]))];
}

/** CityHash128 v1.0.2 of `bytes`: the low and high 64-bit halves. */
export function cityHash128(bytes: Uint8Array): [bigint, bigint] {
  const s = new Bytes(bytes);
  const len = bytes.length;
  if (len >= 16) return cityHash128WithSeed(s, 16, len - 16, s.u64(0) ^ K3, s.u64(8));
  if (len >= 8) return cityHash128WithSeed(s, 0, 0, s.u64(0) ^ mul(BigInt(len), K0), s.u64(len - 8) ^ K1);
  return cityHash128WithSeed(s, 0, len, K0, K1);
}
