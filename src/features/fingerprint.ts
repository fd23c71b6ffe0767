// Per-row fingerprints of built matrix rows: the incremental refresh keeps them per asset and day, and a day
// whose freshly computed row hashes differently is where the rewrite starts. Two independent 32-bit hashes
// per row (64 bits), over the exact bits of every value, so a change in the last bit of any field is seen.
import type { RawValue } from './flatfile.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Mix one 32-bit word into both lanes (FNV-1a style multiply with two primes, murmur finaliser at the end). */
function mix(h: Uint32Array, w: number): void {
  h[0] = Math.imul(h[0] ^ w, 0x01000193);
  h[1] = Math.imul((h[1] ^ w) + 0x9e3779b9, 0x85ebca6b);
}

function fin(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Two words per row: row i's fingerprint is out[2i], out[2i + 1]. */
export function rowFingerprints(rows: readonly RawValue[][]): Uint32Array {
  const out = new Uint32Array(rows.length * 2);
  const h = new Uint32Array(2);
  for (let i = 0; i < rows.length; i++) {
    h[0] = 0x811c9dc5;
    h[1] = 0x2545f491;
    for (const v of rows[i]) {
      if (v === null) mix(h, 0x6e756c6c);
      else if (typeof v === 'number') {
        f64[0] = v;
        mix(h, 1);
        mix(h, u32[0]);
        mix(h, u32[1]);
      } else if (typeof v === 'boolean') mix(h, v ? 0x74727565 : 0x66616c73);
      else {
        const s = v instanceof Date ? v.toISOString() : String(v);
        mix(h, 2 + s.length);
        for (let k = 0; k < s.length; k++) mix(h, s.charCodeAt(k));
      }
    }
    out[2 * i] = fin(h[0]);
    out[2 * i + 1] = fin(h[1]);
  }
  return out;
}
