// The refresh's structured log: JSON lines in `.logs/refresh-YYYY-MM-DD.log`, written
// synchronously so that the line logged just before the process exits is on disk, with credentials removed
// twice over: pino's redact paths blank known secret-bearing keys, and a final string pass over every
// serialized line catches secrets embedded in free text (a connection URL inside an error message, say).
// What the user sees on the console is the caller's reporter; this logger only mirrors to stderr when asked.
import { closeSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { UserError } from '../util/errors.js';
import { ensureDir } from '../util/paths.js';
import { CENSOR, envSecrets, redactSecrets } from '../util/redact.js';

// Redaction lives in its own module so that error reporting can use it without loading the logger.
export { envSecrets, redactSecrets } from '../util/redact.js';

export const DEFAULT_LOG_PREFIX = 'refresh-';
export const DEFAULT_LOG_MAX_AGE_DAYS = 30;
const DAY_MS = 86_400_000;

/** Keys whose values are replaced wholesale, at the top level and one level down. */
export const REDACT_PATHS: readonly string[] = [
  'password', 'pass', 'passwd', 'token', 'botToken', 'secret', 'authorization', 'apiKey',
  '*.password', '*.pass', '*.passwd', '*.token', '*.botToken', '*.secret', '*.authorization', '*.apiKey',
  'headers.authorization', 'headers.cookie',
];
/** `refresh-YYYY-MM-DD.log` for the UTC date of `date` (days are UTC dates everywhere in talab). */
export function logFileName(date: Date = new Date(), prefix = DEFAULT_LOG_PREFIX): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('logFileName: invalid date');
  return `${prefix}${date.toISOString().slice(0, 10)}.log`;
}

export interface LoggerOptions {
  /** Directory of the log files; default `.logs` under the current directory. Created when missing. */
  dir?: string;
  prefix?: string;
  /** Date that names the file (default now). */
  date?: Date;
  /** Lowest level written to the file (default debug: the file is the full record). */
  level?: Level;
  /** Also write lines at this level and above to stderr, one human line each (default: no mirror). */
  mirrorToStderr?: Level | false;
  /** Extra literal secrets to scrub from every line (e.g. a database password). */
  secrets?: string[];
  /** Bindings on every line, e.g. { cmd: 'refresh', run: '…' }. */
  base?: Record<string, unknown>;
  /** Where the mirror writes (tests); default process.stderr. */
  stderr?: { write(s: string): unknown };
}

export interface FileLogger {
  logger: Logger;
  /** Absolute path of the log file. */
  file: string;
  /** Flush and close the file. Later log calls are dropped. Safe to call twice. */
  close(): void;
}

const LEVEL_LABEL: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP_IN_MIRROR = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** A human one-liner per JSON log line, for the optional stderr mirror. */
function humanLine(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '';
    const extra = Object.entries(o)
      .filter(([k]) => !SKIP_IN_MIRROR.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return `${t} ${LEVEL_LABEL[o.level as number] ?? o.level} ${o.msg ?? ''}${extra.length ? ' ' + extra.join(' ') : ''}\n`;
  } catch {
    return json;
  }
}

/**
 * The log file as a synchronous append-only sink. A failed write (disk full, file system gone) is reported
 * once on stderr and logging stops: the log is a record of the run, never a reason for the run to stop or
 * to retry in a loop, which is what a retrying stream does on a full disk.
 */
function logFile(file: string, stderr: { write(s: string): unknown }): DestinationStream & { close(): void } {
  let fd: number | null;
  try {
    fd = openSync(file, 'a');
  } catch (e) {
    throw new UserError(`cannot open the log file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return {
    write(s: string) {
      if (fd === null) return;
      try {
        const buf = Buffer.from(s);
        for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
      } catch (e) {
        stderr.write(`talab: warning: cannot write the log ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
          'the run goes on without its log\n');
        try {
          closeSync(fd);
        } catch {
          // already unusable; nothing more to release
        }
        fd = null;
      }
    },
    close() {
      if (fd === null) return;
      try {
        closeSync(fd);
      } catch {
        // closing a file whose writes failed may fail too; nothing is lost by ignoring it
      }
      fd = null;
    },
  };
}

/**
 * Open (append) today's log file and return a pino logger writing JSON lines to it. Writes are synchronous:
 * a refresh logs little, and a line that is lost because the process exited first is worse than a few
 * microseconds per line.
 */
export function createFileLogger(opts: LoggerOptions = {}): FileLogger {
  const dir = resolve(opts.dir ?? join(process.cwd(), '.logs'));
  ensureDir('--log-dir', dir);
  const file = join(dir, logFileName(opts.date, opts.prefix));
  const dest = logFile(file, opts.stderr ?? process.stderr);
  const secrets = [...envSecrets(), ...(opts.secrets ?? [])];
  let stream: DestinationStream = dest;
  if (opts.mirrorToStderr) {
    const err = opts.stderr ?? process.stderr;
    stream = pino.multistream([
      { level: opts.level ?? 'debug', stream: dest },
      { level: opts.mirrorToStderr, stream: { write: (s: string) => err.write(humanLine(s)) } },
    ]);
  }
  const logger = pino(
    {
      level: opts.level ?? 'debug',
      base: { pid: process.pid, ...(opts.base ?? {}) },
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
      hooks: { streamWrite: (line: string) => redactSecrets(line, secrets) },
    },
    stream,
  );
  let closed = false;
  return {
    logger,
    file,
    close() {
      if (closed) return;
      closed = true;
      logger.level = 'silent';
      dest.close();
    },
  };
}

export interface RotateResult {
  removed: string[];
  /** Files that matched but could not be removed (never thrown: rotation must not stop a refresh). */
  failed: { file: string; error: string }[];
}

/**
 * Delete `<prefix>*.log` files in `dir` whose modification time is more than `maxAgeDays` before `now`.
 * Other files are never touched. A missing directory removes nothing.
 */
export function rotateLogs(
  dir: string, prefix = DEFAULT_LOG_PREFIX, maxAgeDays = DEFAULT_LOG_MAX_AGE_DAYS, now = Date.now(),
): RotateResult {
  if (!(maxAgeDays > 0) || !Number.isFinite(maxAgeDays)) {
    throw new RangeError(`rotateLogs: maxAgeDays must be a positive number of days, got ${maxAgeDays}`);
  }
  const out: RotateResult = { removed: [], failed: [] };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    out.failed.push({ file: dir, error: (e as Error).message });
    return out;
  }
  const cutoff = now - maxAgeDays * DAY_MS;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.log')) continue;
    const file = join(dir, name);
    try {
      const st = statSync(file);
      if (!st.isFile() || st.mtimeMs >= cutoff) continue;
      unlinkSync(file);
      out.removed.push(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by someone else meanwhile
      out.failed.push({ file, error: (e as Error).message });
    }
  }
  return out;
}

/**
 * The daily job's log in one call: remove `<prefix>*.log` files older than `maxAgeDays` (default 30), open
 * today's file, and record in it what rotation did (a failed removal is a warning, never an exception).
 */
export function openDailyLog(opts: LoggerOptions & { maxAgeDays?: number } = {}): FileLogger & { rotated: RotateResult } {
  const dir = resolve(opts.dir ?? join(process.cwd(), '.logs'));
  const rotated = rotateLogs(dir, opts.prefix ?? DEFAULT_LOG_PREFIX, opts.maxAgeDays ?? DEFAULT_LOG_MAX_AGE_DAYS);
  const log = createFileLogger({ ...opts, dir });
  if (rotated.removed.length) log.logger.info({ removed: rotated.removed }, `log rotation removed ${rotated.removed.length} old file(s)`);
  for (const f of rotated.failed) log.logger.warn({ file: f.file }, `log rotation could not remove ${f.file}: ${f.error}`);
  return { ...log, rotated };
}
