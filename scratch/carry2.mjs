import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(process.argv[2], { access_mode: 'READ_ONLY' });
const c = await inst.connect();
const r = await c.runAndReadAll("SELECT id, sum(length(carry)) AS chars, count(*) AS n, bool_and(carry LIKE '~%') AS packed FROM refresh_state WHERE carry IS NOT NULL GROUP BY id ORDER BY id LIMIT 6");
for (const row of r.getRowObjectsJS()) console.log(row);
