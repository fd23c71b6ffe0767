// A TCP proxy between talab and PostgreSQL that a test can break on purpose:
//   kill(downMs): destroy every open connection and refuse new ones for downMs (Infinity: until restore());
//   freeze():     stop forwarding on every open connection for good (new connections work), as a network
//                 that silently drops packets: only talab's own timeouts can end the wait.
// A fault can be armed to fire when the bytes forwarded (both ways) pass a threshold, so that a seed picks
// the same points in a run every time.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Fault = { kind: 'kill'; downMs: number } | { kind: 'freeze' };

interface Pair {
  client: Socket;
  server: Socket;
  frozen: boolean;
}

export class TcpProxy {
  /** Bytes forwarded so far, both directions. */
  bytes = 0;
  /** Faults that fired (for the test's own checks). */
  fired = 0;
  private readonly pairs = new Set<Pair>();
  private refusingUntil = 0;
  private restoreTimer?: NodeJS.Timeout;
  private armed?: { at: number; fault: Fault };

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => proxy.accept(client, target));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('proxy: no port');
    proxy = new TcpProxy(server, addr.port);
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  route(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Fire `fault` once, when the bytes forwarded pass `at`. */
  arm(at: number, fault: Fault): void {
    this.armed = { at, fault };
  }

  kill(downMs: number): void {
    this.fired++;
    this.refusingUntil = Date.now() + downMs;
    for (const p of this.pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    this.pairs.clear();
    clearTimeout(this.restoreTimer);
    if (Number.isFinite(downMs)) this.restoreTimer = setTimeout(() => this.restore(), downMs);
  }

  freeze(): void {
    this.fired++;
    for (const p of this.pairs) p.frozen = true;
  }

  /** Accept connections again (after a kill). */
  restore(): void {
    this.refusingUntil = 0;
    clearTimeout(this.restoreTimer);
  }

  /** Destroy what is left open (frozen connections the client never closed) and stop listening. */
  async close(): Promise<void> {
    clearTimeout(this.restoreTimer);
    for (const p of this.pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((res) => this.server.close(() => res()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    if (Date.now() < this.refusingUntil) {
      client.destroy();
      return;
    }
    const server = connect(target.port, target.host);
    const pair: Pair = { client, server, frozen: false };
    this.pairs.add(pair);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (pair.frozen) return;
      this.bytes += chunk.length;
      to.write(chunk);
      const a = this.armed;
      if (a && this.bytes >= a.at) {
        this.armed = undefined;
        if (a.fault.kind === 'kill') this.kill(a.fault.downMs);
        else this.freeze();
      }
    };
    client.on('data', forward(server));
    server.on('data', forward(client));
    // Either side closing closes both, frozen or not: the server would notice a client gone through its own
    // keepalives, and a test must not leave sessions (and their locks) behind.
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', end);
    server.on('close', end);
    client.on('error', () => undefined);
    server.on('error', () => undefined);
  }
}
