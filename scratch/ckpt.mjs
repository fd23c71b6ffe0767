import { DuckDBInstance } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
for (const type of ['VARCHAR', 'BLOB']) {
  const p = `/tmp/exp/ck_${type}.duckdb`; rmSync(p, { force: true }); rmSync(p + '.wal', { force: true });
  const inst = await DuckDBInstance.create(p);
  const c = await inst.connect();
  await c.run(`CREATE TABLE s (id INTEGER, t VARCHAR, carry ${type}, PRIMARY KEY (id, t))`);
  const rows = 1200, size = 18000;
  for (let day = 0; day < 4; day++) {
    let t = performance.now();
    await c.run('BEGIN');
    const vals = [];
    for (let i = 0; i < rows; i++) {
      const b = randomBytes(size);
      vals.push(type === 'BLOB' ? `(${i}, 't', from_base64('${b.toString('base64')}'))` : `(${i}, 't', '~${b.toString('base64')}')`);
    }
    await c.run(`INSERT INTO s VALUES ${vals.join(',')} ON CONFLICT DO UPDATE SET carry = excluded.carry`);
    await c.run('COMMIT');
    const tw = performance.now() - t; t = performance.now();
    await c.run('CHECKPOINT');
    console.log(type, 'day', day, 'write', tw.toFixed(0), 'ms; checkpoint', (performance.now() - t).toFixed(0), 'ms');
  }
  c.closeSync(); inst.closeSync();
}
