import net from 'node:net';

/**
 * A TCP proxy between a client and a Redis that injects network faults on demand.
 *
 * Every mode applies to existing and new connections alike unless stated otherwise, and
 * {@link FaultProxy.heal} undoes all of them.
 */
export interface FaultProxy {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: connect your client here instead of to Redis. */
  readonly url: string;
  /** Client connections currently open through the proxy. */
  readonly connections: number;
  /**
   * Delays every chunk by `ms` in each direction (a round trip gains `2 × ms`); order is kept.
   * @default 0
   */
  setLatency(ms: number): void;
  /**
   * Accepts connections and keeps them open but forwards nothing either way. Bytes are held,
   * not dropped (TCP never loses bytes mid-stream), so after `heal()` they are delivered in
   * order like after a healed partition; call `resetAll()` first to discard them instead.
   */
  blackhole(): void;
  /** Resets (RST) every open connection, on both sides; held bytes are discarded. */
  resetAll(): void;
  /** New connections are reset at once; existing ones are untouched. */
  refuse(): void;
  /**
   * Swallows the next `count` chunks from Redis to the client, on any connection: the command
   * ran but its reply is lost. A small reply to one command is one chunk. The client's reply
   * stream is then out of step with its commands (ioredis keeps a timed-out command queued and
   * would match the next reply to it), so finish such a test with `resetAll()`, as a real lost
   * reply ends with a broken connection.
   */
  dropReplies(count: number): void;
  /** Back to plain pass-through: no latency, blackhole, refusal or pending drops. */
  heal(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** Starts a {@link FaultProxy} on a free port of 127.0.0.1, forwarding to `target`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const proxy = new TcpFaultProxy(target);
  await proxy.listen();
  return proxy;
}

/** Proxy-wide fault settings, read by every link at delivery time. */
interface Faults {
  latencyMs: number;
  blackholed: boolean;
}

/**
 * One direction of one connection: a FIFO of chunks, each due `latencyMs` after it arrived.
 * Only the head is ever written, so lowering the latency can never reorder bytes.
 */
class Link {
  #queue: { due: number; data: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(
    private readonly faults: Faults,
    private readonly to: net.Socket,
  ) {}

  push(data: Buffer): void {
    if (this.to.destroyed) return;
    this.#queue.push({ due: performance.now() + this.faults.latencyMs, data });
    this.pump();
  }

  /** The source sent FIN: pass it on once everything before it has been delivered. */
  end(): void {
    this.#ended = true;
    this.pump();
  }

  /** Makes everything queued due now (heal). */
  flush(): void {
    for (const item of this.#queue) item.due = 0;
    this.pump();
  }

  clear(): void {
    this.#queue = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.faults.blackholed || this.to.destroyed) return;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now) {
      this.to.write(this.#queue.shift()!.data);
    }
    const head = this.#queue[0];
    if (head) {
      this.#timer = setTimeout(() => this.pump(), Math.max(1, Math.ceil(head.due - now)));
    } else if (this.#ended) {
      this.to.end();
    }
  }
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  /** client → Redis */
  up: Link;
  /** Redis → client */
  down: Link;
}

class TcpFaultProxy implements FaultProxy {
  readonly host = '127.0.0.1';
  #port = 0;
  #faults: Faults = { latencyMs: 0, blackholed: false };
  #refusing = false;
  #dropsLeft = 0;
  #open = new Set<Connection>();
  // allowHalfOpen: a client's FIN is forwarded like any other byte instead of closing early.
  #server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));

  constructor(private readonly target: { host: string; port: number }) {}

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get connections(): number {
    return this.#open.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, this.host, () => resolve());
    });
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`latency must be >= 0 ms, got ${ms}`);
    this.#faults.latencyMs = ms;
  }

  blackhole(): void {
    this.#faults.blackholed = true;
  }

  resetAll(): void {
    for (const conn of this.#open) this.#teardown(conn);
  }

  refuse(): void {
    this.#refusing = true;
  }

  dropReplies(count: number): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be >= 0, got ${count}`);
    this.#dropsLeft = count;
  }

  heal(): void {
    this.#faults.latencyMs = 0;
    this.#faults.blackholed = false;
    this.#refusing = false;
    this.#dropsLeft = 0;
    for (const conn of this.#open) {
      conn.up.flush();
      conn.down.flush();
    }
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.resetAll();
    await closed;
  }

  #accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.#refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ ...this.target, allowHalfOpen: true });
    upstream.on('error', () => {});
    const conn: Connection = {
      client,
      upstream,
      up: new Link(this.#faults, upstream),
      down: new Link(this.#faults, client),
    };
    this.#open.add(conn);

    client.on('data', (data: Buffer) => conn.up.push(data));
    upstream.on('data', (data: Buffer) => {
      if (this.#dropsLeft > 0) {
        this.#dropsLeft--;
        return;
      }
      conn.down.push(data);
    });
    client.on('end', () => conn.up.end());
    upstream.on('end', () => conn.down.end());
    // Once the client is gone there is nothing left to proxy; an abrupt close of the Redis
    // side (killed server, refused connect) reaches the client as a reset.
    client.on('close', () => this.#teardown(conn));
    upstream.on('close', (hadError) => {
      if (hadError) this.#teardown(conn);
    });
  }

  #teardown(conn: Connection): void {
    if (!conn.client.destroyed) conn.client.resetAndDestroy();
    conn.upstream.destroy();
    conn.up.clear();
    conn.down.clear();
    this.#open.delete(conn);
  }
}
