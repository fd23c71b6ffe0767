// DuckDB's JavaScript API, loaded with require() rather than an ES import. The package is CommonJS whose index
// re-exports its sixty modules one by one; an ES import makes Node scan every one of them for export names
// (cjs-module-lexer) before anything runs, which cost about 0.1 s of CPU per process on a quiet machine and
// several times that on a busy one: most of what a one-asset daily refresh spent opening the database.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const duckdbApi = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
export const duckdbBindings = require('@duckdb/node-bindings') as typeof import('@duckdb/node-bindings');
