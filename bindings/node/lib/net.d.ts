// Types of the network I/O: streams, the protocol style, servers and UDP endpoints.
import type { Duplex } from 'node:stream';
import type { SignalOptions, WeftError } from '../index';

export interface AddressInfo {
  address?: string;
  family?: 'IPv4' | 'IPv6';
  port?: number;
  /** Unix sockets. */
  path?: string;
}

/** Node's tls option names; `true` means a client with the system's CAs. Verification is on
 * unless rejectUnauthorized is false. */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
  ALPNProtocols?: Array<string | Uint8Array>;
  rejectUnauthorized?: boolean;
  requestCert?: boolean;
  handshakeTimeout?: number;
}

export type ExtraInfoKey =
  | 'peername' | 'sockname' | 'fd' | 'alpnProtocol' | 'tlsVersion' | 'cipher' | 'servername';

export interface IncompleteReadFields {
  partial: Buffer;
  expected: number | null;
}
export interface LimitOverrunFields {
  consumed: number;
}

export class StreamReader implements AsyncIterable<Buffer> {
  private constructor();
  /** Up to n bytes as soon as any are there; n < 0 reads to EOF; empty at EOF. */
  read(n?: number, options?: SignalOptions): Promise<Buffer>;
  readline(options?: SignalOptions): Promise<Buffer>;
  /** Rejects with LimitOverrunError (data kept) or IncompleteReadError (with `partial`). */
  readUntil(separator?: string | Uint8Array | Array<string | Uint8Array>,
            options?: SignalOptions): Promise<Buffer>;
  readExactly(n: number, options?: SignalOptions): Promise<Buffer>;
  atEof(): boolean;
  readonly buffered: number;
  readonly limit: number;
  /** The lines, until EOF. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer>;
}

export class StreamWriter {
  private constructor();
  /** The connection's reader; null for a subprocess's stdin. */
  readonly reader: StreamReader | null;
  write(data: string | Uint8Array): void;
  writelines(list: Iterable<string | Uint8Array>): void;
  writeEof(): void;
  canWriteEof(): boolean;
  drain(options?: SignalOptions): Promise<void>;
  close(): void;
  abort(): void;
  isClosing(): boolean;
  waitClosed(options?: SignalOptions): Promise<void>;
  /** asyncio's start_tls: upgrades the connection (the server's side for a connection from
   * a server); reads and writes go on over TLS once this resolves. */
  startTls(tls: TlsOptions, options?: SignalOptions): Promise<void>;
  getExtraInfo(name: ExtraInfoKey): unknown;
  setWriteBufferLimits(limits?: { high?: number; low?: number }): void;
  getWriteBufferSize(): number;
  ref(): this;
  unref(): this;
}

export interface StreamOptions extends SignalOptions {
  /** The reader's buffer limit (default 64 KiB). */
  limit?: number;
  tls?: boolean | TlsOptions;
}
export interface ServerOptions {
  limit?: number;
  tls?: TlsOptions;
  backlog?: number;
  reusePort?: boolean;
}

export class Server {
  private constructor();
  close(): void;
  closeClients(): void;
  abortClients(): void;
  waitClosed(options?: SignalOptions): Promise<void>;
  serveForever(options?: SignalOptions): Promise<never>;
  startServing(): void;
  isServing(): boolean;
  port(): number;
  connectionCount(): number;
  addresses(): AddressInfo[];
  ref(): this;
  unref(): this;
}

export type ClientConnected = (reader: StreamReader, writer: StreamWriter) => unknown;

export function openConnection(host: string, port: number,
                               options?: StreamOptions): Promise<[StreamReader, StreamWriter]>;
export function openUnixConnection(path: string,
                                   options?: StreamOptions): Promise<[StreamReader, StreamWriter]>;
export function startServer(clientConnected: ClientConnected, host: string | null | undefined,
                            port: number, options?: ServerOptions): Promise<Server>;
export function startUnixServer(clientConnected: ClientConnected, path: string,
                                options?: Omit<ServerOptions, 'reusePort'>): Promise<Server>;
export function toDuplex(reader: StreamReader, writer: StreamWriter,
                         options?: { highWaterMark?: number }): Duplex;

export class Transport {
  private constructor();
  write(data: Uint8Array): void;
  writeEof(): void;
  canWriteEof(): boolean;
  close(): void;
  abort(): void;
  pauseReading(): void;
  resumeReading(): void;
  isReading(): boolean;
  isClosing(): boolean;
  setWriteBufferLimits(high?: number, low?: number): void;
  getWriteBufferLimits(): { low: number; high: number };
  getWriteBufferSize(): number;
  extraInfo(name: ExtraInfoKey): unknown;
  /** Datagram endpoints: to `address`, or to the connected peer without one. */
  sendto(data: Uint8Array, address?: { address: string; port: number }): void;
  ref(): this;
  unref(): this;
}

export interface Protocol {
  connectionMade?(transport: Transport): void;
  dataReceived?(data: Buffer): void;
  /** Return true to keep the half-closed connection open. */
  eofReceived?(): boolean | void;
  connectionLost?(error: WeftError | undefined): void;
  pauseWriting?(): void;
  resumeWriting?(): void;
}
export interface DatagramProtocol {
  connectionMade?(transport: Transport): void;
  datagramReceived?(data: Buffer, address: AddressInfo | null): void;
  errorReceived?(error: WeftError): void;
  connectionLost?(error: WeftError | undefined): void;
}

export interface ProtocolServerOptions {
  tls?: TlsOptions;
  backlog?: number;
  reusePort?: boolean;
}
export function createServer(protocolFactory: () => Protocol, host: string | null | undefined,
                             port: number, options?: ProtocolServerOptions): Promise<Server>;
export function createUnixServer(protocolFactory: () => Protocol, path: string,
                                 options?: Omit<ProtocolServerOptions, 'reusePort'>): Promise<Server>;
export function createConnection<P extends Protocol>(
  protocolFactory: () => P, host: string, port: number,
  options?: { tls?: boolean | TlsOptions } & SignalOptions): Promise<[Transport, P]>;
export function createUnixConnection<P extends Protocol>(
  protocolFactory: () => P, path: string,
  options?: { tls?: boolean | TlsOptions } & SignalOptions): Promise<[Transport, P]>;

export interface DatagramOptions {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  family?: 4 | 6;
  reusePort?: boolean;
  allowBroadcast?: boolean;
}
export function createDatagramEndpoint<P extends DatagramProtocol>(
  protocolFactory: () => P, options?: DatagramOptions): Promise<[Transport, P]>;

export interface Datagram {
  data: Buffer;
  address: AddressInfo | null;
}
export class DatagramEndpoint implements AsyncIterable<Datagram> {
  private constructor();
  send(data: string | Uint8Array, address?: { address: string; port: number }): void;
  /** Rejects with QueueShutDown once the endpoint is closed. */
  receive(options?: SignalOptions): Promise<Datagram>;
  readonly transport: Transport;
  address(): AddressInfo;
  close(): void;
  ref(): this;
  unref(): this;
  [Symbol.asyncIterator](): AsyncIterator<Datagram>;
}
/** queueSize bounds the unread datagrams (0: no bound); beyond it new ones are dropped. */
export function openDatagramEndpoint(options?: DatagramOptions & { queueSize?: number }):
  Promise<DatagramEndpoint>;
