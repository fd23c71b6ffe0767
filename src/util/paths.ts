// Checks on the files and directories a command will write, made before it writes anything: a report that
// cannot be written must fail the command at its start, not after the data is committed.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.js';

function kind(path: string, flag: string): 'file' | 'dir' | 'other' | null {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new UserError(`${flag} ${path}: a parent of it is a file, not a directory`);
    throw new UserError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `path` will be written as a file: its directory must exist, and the path must not be a directory. */
export function checkOutputFile(flag: string, path: string): string {
  const abs = resolve(path);
  const k = kind(abs, flag);
  if (k === 'dir') throw new UserError(`${flag} ${path}: is a directory; give a file name`);
  const dir = dirname(abs);
  const d = kind(dir, flag);
  if (d === null) throw new UserError(`${flag} ${path}: directory ${dir} does not exist`);
  if (d !== 'dir') throw new UserError(`${flag} ${path}: ${dir} is not a directory`);
  try {
    accessSync(k === null ? dir : abs, constants.W_OK);
  } catch {
    throw new UserError(`${flag} ${path}: not writable`);
  }
  return path;
}

/**
 * Create `path` (and missing parents) as a directory, or fail once with a message naming the flag.
 * Created one level at a time: a recursive mkdir in a pseudo file system such as /proc spins forever in
 * Node instead of failing.
 */
export function ensureDir(flag: string, path: string): string {
  const abs = resolve(path);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    const k = kind(p, flag);
    if (k === 'dir') break;
    if (k !== null) throw new UserError(`${flag} ${path}: ${p} is a file, not a directory`);
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && kind(m, flag) === 'dir') continue;
      throw new UserError(`${flag} ${path}: cannot create directory ${m}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  try {
    accessSync(abs, constants.W_OK);
  } catch {
    throw new UserError(`${flag} ${path}: directory is not writable`);
  }
  return abs;
}
