// What a reader needs to reproduce a baseline run: code version (git commit, dirty flag), package, Node,
// driver and engine versions, the database (password redacted), the assets with their date ranges.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { priceHistories } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { idWhere } from './sample.js';

const run = promisify(execFile);

export interface GitInfo {
  commit: string | null;
  branch: string | null;
  /** Uncommitted changes, staged or not, including untracked files; null when unknown. */
  dirty: boolean | null;
  /** Why the fields are null (not a repository, git missing…). */
  error?: string;
}

export interface Versions {
  talab: string;
  node: string;
  engine: string;
  drivers: Record<string, string>;
}

export interface AssetInfo {
  id: number;
  symbol: string;
  firstDay: string | null;
  lastDay: string | null;
  sourceRows: number;
}

/** The package root: the nearest ancestor of this module holding package.json (src/ or dist/ layouts). */
export function packageRoot(from = import.meta.dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}

export async function gitInfo(cwd = packageRoot()): Promise<GitInfo> {
  // --no-optional-locks: reading status must not take the index lock a concurrent git command may hold.
  const git = async (...args: string[]) =>
    (await run('git', ['--no-optional-locks', ...args], { cwd, timeout: 30_000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }))
      .stdout.trim();
  try {
    const commit = await git('rev-parse', 'HEAD');
    const branch = await git('rev-parse', '--abbrev-ref', 'HEAD').catch(() => null);
    const status = await git('status', '--porcelain');
    return { commit, branch, dirty: status.length > 0 };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const why = err.code === 'ENOENT' ? 'git is not installed'
      : /not a git repository/i.test(err.stderr ?? err.message) ? `${cwd} is not a git repository`
        : (err.stderr || err.message).trim().split('\n')[0];
    return { commit: null, branch: null, dirty: null, error: why };
  }
}

function readVersion(path: string): string | null {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export async function versions(store: Store): Promise<Versions> {
  const root = packageRoot();
  const req = createRequire(join(root, 'package.json'));
  const drivers: Record<string, string> = {};
  for (const name of store.engine.driverPackages) {
    let v: string | null = null;
    try {
      v = readVersion(req.resolve(`${name}/package.json`));
    } catch {
      v = null;
    }
    drivers[name] = v ?? 'unknown';
  }
  let engine: string;
  try {
    engine = await store.engineVersion();
  } catch (e) {
    engine = `unknown (${(e as Error).message})`;
  }
  return { talab: readVersion(join(root, 'package.json')) ?? 'unknown', node: process.version, engine, drivers };
}

/**
 * The report's provenance: git commit and versions. What cannot be found is added to `problems` and left
 * null: a report is never lost for want of its metadata.
 */
export async function provenance(store: Store, gitCwd: string | undefined, problems: string[]): Promise<{ git: GitInfo; vers: Versions | null }> {
  const git = await gitInfo(gitCwd);
  if (git.error) problems.push(`metadata: git commit unknown: ${git.error}`);
  try {
    return { git, vers: await versions(store) };
  } catch (e) {
    problems.push(`metadata: versions unknown: ${e instanceof Error ? e.message : String(e)}`);
    return { git, vers: null };
  }
}

const day = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString().slice(0, 10));

/** The assets in scope with their source date ranges: the given ids, or every asset in dim_assets. */
export async function assetInfo(store: Store, ids?: number[]): Promise<AssetInfo[]> {
  const rows = await store.query<{ id: number; symbol: string; lo: number | null; hi: number | null; n: number }>(
    `SELECT a.id, a.symbol, min(p.ts) AS lo, max(p.ts) AS hi, count(p.ts) AS n
     FROM dim_assets a LEFT JOIN ${priceHistories.name} p ON p.id = a.id ${idWhere(ids, 'a')}
     GROUP BY a.id, a.symbol ORDER BY a.id`,
  );
  return rows.map((r) => ({ id: r.id, symbol: r.symbol, firstDay: day(r.lo), lastDay: day(r.hi), sourceRows: Number(r.n) }));
}
