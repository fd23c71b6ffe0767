import { DuckDbStore } from '/work/main/dist/store/duckdb.js';
const origOpen = DuckDbStore.open;
DuckDbStore.open = async function (p) { const s = await origOpen.call(this, p); for (const q of (process.env.XSET ?? '').split(';').filter(Boolean)) await s.exec(q); return s; };
