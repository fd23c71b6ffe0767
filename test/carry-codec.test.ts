// refresh_state.carry: the packed form gives back exactly the bits it was given (NaN, −0, repeats at any
// stride), is much smaller on a real carry layout, and refuses bytes that are not a packed carry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { packCarry, unpackCarry } from '../src/refresh/carry-codec.js';
import { decodeCarry, encodeCarry } from '../src/refresh/state.js';

const sameBits = (a: Float64Array, b: Float64Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Values drawn from a small pool so that repeats at the record and group strides are frequent.
const valueArb = fc.oneof(
  fc.constantFrom(NaN, 0, -0, 1, -Infinity, Infinity, 5e-324, 1.7976931348623157e308),
  fc.double(),
);

test('packCarry/unpackCarry: bit-exact for any values, stride and group', () => {
  fc.assert(fc.property(
    fc.array(valueArb, { maxLength: 400 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 20 }),
    fc.integer({ min: 0, max: 3 }),
    (vals, stride, group, pad) => {
      // A subarray at a non-zero offset, as the refresh hands out slices of one buffer.
      const buf = new Float64Array(vals.length + pad);
      buf.set(vals, pad);
      const a = buf.subarray(pad);
      const packed = packCarry(a, stride, group);
      // Unaligned copies (Buffer pools hand those out) decode too.
      const shifted = new Uint8Array(packed.length + 3).subarray(3);
      shifted.set(packed);
      for (const bytes of [packed, shifted]) {
        const back = unpackCarry(bytes);
        assert.ok(back && sameBits(back, a));
      }
    },
  ), { numRuns: 300 });
});

test('encodeCarry/decodeCarry: the packed bytes round-trip, and only for the same layout key and length', () => {
  const stride = 17;
  const periods = 5;
  const tfs = 8;
  const data = new Float64Array(stride * periods * tfs);
  for (let t = 0; t < tfs; t++) for (let p = 0; p < periods; p++) {
    const o = (t * periods + p) * stride;
    data.set([3, 10 + p, 7 * (t + 1), 1.7e12, 500, 70, 10 + p, Math.sin(t + p), 1, Math.cos(t * p), NaN, NaN, NaN, NaN, NaN, NaN, NaN], o);
  }
  const bytes = encodeCarry({ data, stride, group: periods });
  const st = { carry_key: 'k', carry: bytes } as Parameters<typeof decodeCarry>[0];
  assert.ok(sameBits(decodeCarry(st, 'k', data.length)!, data));
  assert.ok(bytes.byteLength < 0.35 * data.byteLength, `packed ${bytes.byteLength} bytes of ${data.byteLength}`);
  assert.equal(decodeCarry(st, 'other key', data.length), undefined);
  assert.equal(decodeCarry(st, 'k', data.length + 1), undefined);
  // Bytes at an odd offset (a PostgreSQL Buffer out of a pool) decode too.
  const shifted = new Uint8Array(bytes.byteLength + 5).subarray(5);
  shifted.set(bytes);
  assert.ok(sameBits(decodeCarry({ ...st!, carry: shifted }, 'k', data.length)!, data));
  assert.equal(decodeCarry({ ...st!, carry: null }, 'k', data.length), undefined);
});

test('unpackCarry refuses what is not a packed carry', () => {
  const good = packCarry(Float64Array.from([1, 2, 3, 1, 2, 4]), 3, 1);
  assert.ok(unpackCarry(good));
  assert.equal(unpackCarry(good.subarray(0, 10)), undefined); // shorter than the header
  assert.equal(unpackCarry(good.subarray(0, good.length - 8)), undefined); // a literal missing
  const v = new Uint8Array(good);
  v[0] = 9; // another version
  assert.equal(unpackCarry(v), undefined);
  const extra = new Uint8Array(good.length + 8);
  extra.set(good);
  assert.equal(unpackCarry(extra), undefined); // a literal too many
});
