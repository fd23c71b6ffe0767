// The layering rules of docs/architecture.md, checked on the source: only src/store/ knows which engine it
// talks to, the kernels do not reach into storage, and no two modules import each other (directly or round a
// longer loop). Type-only imports count: a loop of types is still a loop a reader has to untangle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

const FILES = sources(SRC);
const rel = (f: string) => relative(SRC, f).split('\\').join('/');

/** Relative imports of a file (static, dynamic and re-exports), as source paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(rel(resolve(dirname(file), m[1].replace(/\.js$/, '.ts'))));
  }
  return out;
}

const GRAPH = new Map(FILES.map((f) => [rel(f), importsOf(f)]));

const BRANCH = /\bdialect\s*[!=]==|[!=]==\s*['"](duckdb|postgres)['"]|['"](duckdb|postgres)['"]\s*[!=]==/;

test('the engine-branch pattern catches what it is meant to', () => {
  assert.ok(BRANCH.test("if (store.dialect === 'duckdb')"));
  assert.ok(BRANCH.test("d.name === 'postgres' ? a : b"));
  assert.ok(BRANCH.test("if (store.dialect !== 'postgres')"));
  assert.ok(!BRANCH.test('store.engine.needsAnalyze'));
  assert.ok(!BRANCH.test('store.engine.nested.pack(t, exprs)'));
});

test('no file outside src/store/ branches on the engine', () => {
  const branching = FILES.filter((f) => !rel(f).startsWith('store/')).filter((f) => BRANCH.test(readFileSync(f, 'utf8'))).map(rel);
  assert.deepEqual(branching, []);
  // The walk reaches the code above the store that speaks to both engines (a walk of nothing would pass).
  assert.ok(FILES.map(rel).includes('features/schema.ts'));
});

test('compute/ imports nothing from store/', () => {
  const bad = [...GRAPH].filter(([f]) => f.startsWith('compute/')).flatMap(([f, deps]) => deps.filter((d) => d.startsWith('store/')).map((d) => `${f} -> ${d}`));
  assert.deepEqual(bad, []);
});

test('lower layers import nothing from the layers above them', () => {
  const above: Record<string, string[]> = {
    'catalog/': ['columnar/', 'compute/', 'schema/', 'store/', 'importer/', 'refresh/', 'features/', 'baseline/', 'validate/', 'results/', 'ops/', 'web/', 'cli/', 'bench/'],
    'schema/': ['compute/', 'store/', 'importer/', 'refresh/', 'features/', 'baseline/', 'validate/', 'results/', 'ops/', 'web/', 'cli/', 'bench/'],
    'store/': ['compute/', 'importer/', 'refresh/', 'features/', 'baseline/', 'validate/', 'results/', 'ops/', 'web/', 'cli/', 'bench/'],
    // The feature matrix registers itself as a family (features/family.ts); the refresh never reaches up to it.
    'refresh/': ['features/', 'baseline/', 'validate/', 'results/', 'ops/', 'web/', 'cli/', 'bench/'],
  };
  const bad = [...GRAPH].flatMap(([f, deps]) => Object.entries(above)
    .filter(([layer]) => f.startsWith(layer))
    .flatMap(([, ups]) => deps.filter((d) => ups.some((u) => d.startsWith(u))).map((d) => `${f} -> ${d}`)));
  assert.deepEqual(bad, []);
});

test('the check sees imports (a walk that found none would prove nothing)', () => {
  assert.ok(GRAPH.get('refresh/runner.ts')?.includes('store/locks.ts'));
});

test('no import cycles in src/', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of GRAPH.get(f) ?? []) {
      if (!GRAPH.has(d)) continue;
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of GRAPH.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});
