// `talab serve`: a read-only local web view over node:http. Pages and scripts come from this package (the
// chart library from node_modules); the page talks only to the JSON endpoints below. The database is opened
// for each request and closed after it, so a DuckDB file is never held between requests and a refresh is
// not locked out by an open browser tab.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { getTimeframe } from '../catalog/timeframes.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { printable } from '../util/text.js';
import {
  baselineReports, chartData, familyOf, freshness, listAssets, ParamError, parseFamily, periodsOf, refreshHistory, timeframesOf,
} from './data.js';
import { appScriptPath, chartLibraryPath, servedPage } from './page.js';

export interface ServeOptions {
  /** Opens the database for one request; the server closes it when the request is answered. */
  open: () => Promise<Store>;
  host: string;
  port: number;
  /** Where baseline reports are read from. */
  reportsDir: string;
}

const INT32_MAX = 2_147_483_647;
const MAX_PERIODS = 12;

type Params = URLSearchParams;

/** The query must hold exactly the named parameters, each at most once. */
function checkParams(p: Params, allowed: string[]): void {
  const seen = new Set<string>();
  for (const k of p.keys()) {
    if (!allowed.includes(k)) throw new ParamError(k, allowed.length ? `unknown parameter (this endpoint takes ${allowed.join(', ')})` : 'unknown parameter (this endpoint takes none)');
    if (seen.has(k)) throw new ParamError(k, 'given more than once');
    seen.add(k);
  }
}

function need(p: Params, name: string): string {
  const v = p.get(name);
  if (v === null || v.trim() === '') throw new ParamError(name, 'required parameter missing');
  return v.trim();
}

function idParam(p: Params): number {
  const v = need(p, 'id');
  if (!/^\d+$/.test(v) || Number(v) > INT32_MAX) throw new ParamError('id', `id must be an asset id (a whole number), got '${printable(v)}'`);
  return Number(v);
}

function tfParam(p: Params): string {
  const v = need(p, 'tf');
  if (!getTimeframe(v)) throw new ParamError('tf', `unknown timeframe '${printable(v)}' (npx talab timeframes lists them)`);
  return v;
}

function familyParam(p: Params): ReturnType<typeof parseFamily> | undefined {
  const v = p.get('family');
  return v === null || v === '' ? undefined : parseFamily(printable(v));
}

/** A comma-separated list of EMA periods; empty means none. */
export function parsePeriods(v: string | null, name = 'periods'): number[] {
  if (v === null || v.trim() === '') return [];
  const out: number[] = [];
  for (const part of v.split(',').map((s) => s.trim())) {
    if (!/^\d+$/.test(part) || Number(part) < 1 || Number(part) > 100_000) throw new ParamError(name, `${name}: '${printable(part)}' is not an EMA period (a whole number from 1)`);
    if (!out.includes(Number(part))) out.push(Number(part));
  }
  if (out.length > MAX_PERIODS) throw new ParamError(name, `${name}: at most ${MAX_PERIODS} periods at once, got ${out.length}`);
  return out;
}

type Handler = (p: Params, store: () => Promise<Store>) => Promise<unknown>;

function routes(o: ServeOptions): Record<string, Handler> {
  return {
    '/api/assets': async (p, db) => (checkParams(p, []), { assets: await listAssets(await db()) }),
    '/api/timeframes': async (p, db) => {
      checkParams(p, ['id']);
      const id = idParam(p);
      return { id, families: await timeframesOf(await db(), id) };
    },
    '/api/periods': async (p, db) => {
      checkParams(p, ['id', 'family', 'tf']);
      const id = idParam(p);
      const tf = tfParam(p);
      const family = familyOf(tf, familyParam(p));
      return { id, family, tf, periods: await periodsOf(await db(), id, family, tf) };
    },
    '/api/chart': async (p, db) => {
      checkParams(p, ['id', 'family', 'tf', 'periods']);
      const id = idParam(p);
      const tf = tfParam(p);
      const family = familyOf(tf, familyParam(p));
      return chartData(await db(), { id, family, tf, periods: parsePeriods(p.get('periods')) });
    },
    '/api/runs': async (p, db) => {
      checkParams(p, ['limit']);
      const l = p.get('limit');
      if (l !== null && (!/^\d+$/.test(l) || Number(l) < 1 || Number(l) > 1000)) throw new ParamError('limit', `limit must be a whole number from 1 to 1000, got '${printable(l)}'`);
      return { runs: await refreshHistory(await db(), l === null ? 50 : Number(l)) };
    },
    '/api/freshness': async (p, db) => (checkParams(p, []), { assets: await freshness(await db()) }),
    '/api/baseline': async (p) => (checkParams(p, []), { dir: o.reportsDir, reports: await baselineReports(o.reportsDir) }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page may load and call only this server.
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'",
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, v: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(v));

export async function startServer(o: ServeOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const api = routes(o);
  // One request at a time: each opens the database alone (a DuckDB file admits one instance per process).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `method ${req.method} not allowed: this server is read-only` });
    const path = url.pathname;
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', servedPage());
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', await readFile(appScriptPath()));
    if (path === '/vendor/lightweight-charts.js') return send(res, 200, 'text/javascript; charset=utf-8', await readFile(chartLibraryPath()));
    const report = /^\/reports\/((?:baseline|diff)-[\w.-]+\.html)$/.exec(path);
    if (report) {
      try {
        return send(res, 200, 'text/html; charset=utf-8', await readFile(join(resolve(o.reportsDir), report[1])));
      } catch {
        return sendJson(res, 404, { error: `no report ${report[1]} in ${o.reportsDir}` });
      }
    }
    const h = api[path];
    if (!h) return sendJson(res, 404, { error: `no such page: ${printable(path)}` });
    await serial(async () => {
      let store: Store | null = null;
      const db = async () => (store ??= await o.open());
      try {
        sendJson(res, 200, await h(url.searchParams, db));
      } finally {
        if (store) await (store as Store).close();
      }
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof ParamError) {
        const msg = e.message.startsWith(e.param) ? e.message : `${e.param}: ${e.message}`;
        return sendJson(res, 400, { error: printable(msg), parameter: printable(e.param) });
      }
      if (e instanceof UserError) return sendJson(res, 503, { error: printable(e.message) });
      process.stderr.write(`talab serve: ${req.method} ${printable(req.url ?? '')}: ${(e as Error)?.stack ?? String(e)}\n`);
      sendJson(res, 500, { error: `internal error: ${printable((e as Error)?.message ?? String(e))}` });
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server, url: `http://${host}:${port}/`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
