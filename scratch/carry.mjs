import { DuckDBInstance } from '@duckdb/node-api';
import zlib from 'node:zlib';
const inst = await DuckDBInstance.create('/work/db60/base.duckdb', { access_mode: 'READ_ONLY' });
const c = await inst.connect();
const r = await c.runAndReadAll("SELECT table_name, carry FROM refresh_state WHERE id = 1000 AND carry IS NOT NULL");
let tot = 0, totz = 0, tz = 0;
for (const [t, carry] of r.getRows()) {
  const b = Buffer.from(carry, 'base64');
  const f = new Float64Array(b.buffer, b.byteOffset, b.length / 8);
  const t0 = performance.now();
  const z = zlib.deflateRawSync(b, { level: 1 });
  tz += performance.now() - t0;
  let nan = 0, zero = 0; for (const v of f) { if (Number.isNaN(v)) nan++; else if (v === 0) zero++; }
  console.log(t.padEnd(34), (b.length / 1024).toFixed(0).padStart(5), 'KB bin', (z.length / 1024).toFixed(0).padStart(5), 'KB z1', 'nan', nan, 'zero', zero, 'of', f.length);
  tot += b.length; totz += z.length;
}
console.log('total', (tot / 1024).toFixed(0), 'KB; deflate-1', (totz / 1024).toFixed(0), 'KB in', tz.toFixed(1), 'ms');
