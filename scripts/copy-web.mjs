// The web view's static files (page script) are not TypeScript, so tsc does not copy them to dist.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/web/static', import.meta.url), new URL('../dist/web/static', import.meta.url), { recursive: true });
