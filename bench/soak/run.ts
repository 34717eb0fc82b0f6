/**
 * The soak: `npm run soak -- --minutes 3`. Minutes, not CI.
 *
 * Starts its OWN redis-server (loopback, a free port, no persistence: a restart comes back empty),
 * two app instances sharing it (`server.ts`: `metadataStorage: 'store'`, a guarded API with
 * `checkRevocation`, `revocationLoss` as chosen), and a mixed guest workload: each guest creates a
 * session, patches its cart a few times on either instance, calls the guarded API, reads the cart
 * back (every confirmed key must be there), logs out, and checks its own logout holds. Probes keep
 * replaying logged-out tokens all run long. Scripted faults: Redis stopped and restarted empty,
 * Redis frozen (SIGSTOP), one instance killed and restarted, Redis stopped and restarted empty again.
 *
 * Then it checks: no unexpected status outside the fault windows (nor inside them: there only
 * 200/204/401/503, plus refused connections to a killed instance), no 5xx but 503, no hang, every
 * 503 within `storeTimeoutMs` + a margin, recovery after each fault, zero lost updates, zero
 * accepted logged-out tokens (or, with `--policy accept`, only the documented re-acceptance of
 * sessions logged out before a loss), the loss logged, heap flat. The report goes to
 * `bench/results/<out>.json` and `.md`.
 *
 * Options: `--minutes M` (default 3), `--guests N` (50), `--policy reject|accept` (reject),
 * `--store-timeout-ms T` (2000, the engine's default), `--margin-ms T` (500: what a 503 may take
 * beyond the timeout — scheduling of both processes, rendering, the harness's own queue — on this
 * shared, often ten-times-oversubscribed 2-core machine; the report shows the whole distribution),
 * `--out NAME` (soak).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeySet } from '@anonymous-sessions/core';
import { RedisServerProcess, redisBinaries } from '../../test/support/redis-server.js';
import { freePort } from '../../test/support/services.js';
import { API_PATH, CLIENT_ID, HEAP_PATH, LOGOUT_PATH, SESSION_PATH, TOKEN_PATH, type SoakServerLaunch } from './shared.js';

// ---- options ----------------------------------------------------------------------------------

interface Options {
  minutes: number;
  guests: number;
  policy: 'accept' | 'reject';
  storeTimeoutMs: number;
  marginMs: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { minutes: 3, guests: 50, policy: 'reject', storeTimeoutMs: 2000, marginMs: 500, out: 'soak' };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    const value = argv[index + 1];
    const number = (): number => {
      const parsed = Number(value);
      if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag} needs a positive number`);
      index += 1;
      return parsed;
    };
    if (flag === '--minutes') options.minutes = number();
    else if (flag === '--guests') options.guests = Math.round(number());
    else if (flag === '--store-timeout-ms') options.storeTimeoutMs = Math.round(number());
    else if (flag === '--margin-ms') options.marginMs = Math.round(number());
    else if (flag === '--policy' && (value === 'accept' || value === 'reject')) {
      options.policy = value;
      index += 1;
    } else if (flag === '--out' && value !== undefined && /^[a-z0-9-]+$/.test(value)) {
      options.out = value;
      index += 1;
    } else throw new Error(`unknown option ${flag} (see the header of bench/soak/run.ts)`);
  }
  if (options.minutes > 30) throw new Error('--minutes: at most 30');
  return options;
}

const options = parseOptions(process.argv.slice(2));
const DURATION_MS = Math.round(options.minutes * 60_000);
/** A request still unanswered after this long is a hang. */
const HANG_MS = 15_000;
/** After a fault ends, answers still count as in its window for this long (reconnects). */
const GRACE_MS = 3000;
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** When the workload started (reset once the servers are up). */
let started = Date.now();
/** Milliseconds since the workload's start. */
const clock = (): number => Date.now() - started;
const say = (message: string): void => console.log(`[soak ${(clock() / 1000).toFixed(1).padStart(6)} s] ${message}`);

// ---- app instances ----------------------------------------------------------------------------

/** One app instance process, restartable on its port. */
class Instance {
  child: ChildProcess | undefined;
  /** How many processes this instance has run (a restart after a kill is a new one). */
  processes = 0;
  readonly logCounts = new Map<string, number>();
  constructor(readonly launch: SoakServerLaunch) {}

  get name(): string {
    return this.launch.name;
  }
  get url(): string {
    return `http://127.0.0.1:${this.launch.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--expose-gc', '--conditions=source', '--import', 'tsx', SERVER], {
      env: { ...process.env, SOAK_SERVER: JSON.stringify(this.launch) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    this.processes += 1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${this.name} did not start within 60 s`)), 60_000);
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.startsWith('LISTENING')) {
            clearTimeout(timer);
            resolve();
          } else if (line.startsWith('LOG ')) {
            const entry = JSON.parse(line.slice(4)) as { level: string; message: string };
            const key = `${entry.level}: ${entry.message.replace(/sess_[A-Za-z0-9_-]+/g, 'sess_…').replace(/\(version \d+\)/, '(version N)').slice(0, 200)}`;
            this.logCounts.set(key, (this.logCounts.get(key) ?? 0) + 1);
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`instance ${this.name} exited with ${code}`));
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** How many log lines start with `prefix` (`error: …`, `warn: …`). */
  countLogs(prefix: string): number {
    let total = 0;
    for (const [key, count] of this.logCounts) if (key.startsWith(prefix)) total += count;
    return total;
  }
}

// ---- fault windows ----------------------------------------------------------------------------

interface Fault {
  name: string;
  kind: 'redis-empty-restart' | 'redis-freeze' | 'instance-kill';
  /** Only this instance is affected (instance-kill). */
  instance?: string;
  /** ms since start: fault injected, store / instance back. */
  start: number;
  back?: number;
  /** First 200 of a store-dependent request started after `back`, per instance (ms since start). */
  firstOk: Record<string, number>;
  /** Answers that overlapped the window, by status. */
  statuses: Record<string, number>;
  /** The slowest 503 in the window, ms. */
  slowest503: number;
}

const faults: Fault[] = [];
/** When the store last lost its data (ms since start), for telling policy refusals apart. */
let lastLoss = Number.NEGATIVE_INFINITY;

const windowOf = (instance: string, from: number, to: number): Fault | undefined =>
  faults.find(
    (fault) =>
      (fault.instance === undefined || fault.instance === instance) &&
      to >= fault.start &&
      from <= (fault.back === undefined ? Number.POSITIVE_INFINITY : fault.back + GRACE_MS),
  );

// ---- accounting -------------------------------------------------------------------------------

const stats = {
  requests: 0,
  byKind: {} as Record<string, Record<string, number>>,
  unexpected: 0,
  unexpectedSamples: [] as string[],
  hangs: 0,
  serverErrors: 0,
  count503: 0,
  slowest503: 0,
  /** Every 503's latency, ms (there are few). */
  latencies503: [] as number[],
  /** Answers the documented revocationLoss policy explains (a token from before a loss). */
  policyRefusals: 0,
  /** Logged-out tokens replayed at the token endpoint that got a fresh session (the 'reject' policy). */
  policyFreshSessions: 0,
  acceptedRevoked: 0,
  /** With 'accept': logged-out-before-a-loss tokens accepted again, as documented. */
  acceptedRevokedByPolicy: 0,
  acceptedRevokedSamples: [] as string[],
  probes: 0,
  confirmedKeys: 0,
  lostKeys: 0,
  lostSamples: [] as string[],
  cycles: 0,
  logouts: 0,
};

type Kind = 'create' | 'patch' | 'api' | 'read' | 'continue' | 'logout' | 'probe-read' | 'probe-api' | 'probe-continue';

interface Answer {
  /** HTTP status; 0 = connection refused or reset; -1 = hang. */
  status: number;
  body: Record<string, unknown>;
  from: number;
  to: number;
}

/**
 * Sends one request and accounts for it. `expected`: the statuses that are right outside a fault
 * window; `policy`: statuses the documented revocationLoss policy explains.
 */
async function send(
  instance: Instance,
  kind: Kind,
  path: string,
  init: { body?: Record<string, unknown>; bearer?: string },
  expected: number[],
  policy: number[] = [],
): Promise<Answer> {
  const from = clock();
  let status: number;
  let body: Record<string, unknown> = {};
  try {
    const response = await fetch(`${instance.url}${path}`, {
      method: init.body === undefined ? 'GET' : 'POST',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.bearer === undefined ? {} : { authorization: `Bearer ${init.bearer}` }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(HANG_MS),
    });
    status = response.status;
    const text = await response.text();
    if (text.length > 0) body = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    status = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? -1 : 0;
  }
  const to = clock();
  stats.requests += 1;
  const byKind = (stats.byKind[kind] ??= {});
  byKind[status] = (byKind[status] ?? 0) + 1;
  if (status === -1) stats.hangs += 1;
  if (status >= 500 && status !== 503) stats.serverErrors += 1;
  const fault = windowOf(instance.name, from, to);
  if (status === 503) {
    stats.count503 += 1;
    stats.slowest503 = Math.max(stats.slowest503, to - from);
    stats.latencies503.push(to - from);
  }
  const note = (why: string): void => {
    stats.unexpected += 1;
    if (stats.unexpectedSamples.length < 30) {
      stats.unexpectedSamples.push(`${why}: ${kind} on ${instance.name} at ${(from / 1000).toFixed(1)} s → ${status} ${JSON.stringify(body).slice(0, 120)}`);
    }
  };
  if (fault !== undefined) {
    fault.statuses[status] = (fault.statuses[status] ?? 0) + 1;
    if (status === 503) fault.slowest503 = Math.max(fault.slowest503, to - from);
    const allowed = fault.kind === 'instance-kill' ? [0, 200, 204, 401, 503] : [200, 204, 401, 503];
    if (!allowed.includes(status)) note(`in ${fault.name}`);
  } else if (expected.includes(status)) {
    // as it should be
  } else if (policy.includes(status)) {
    stats.policyRefusals += 1;
  } else {
    note('outside the fault windows');
  }
  // A fault that ended: the first 200 after it, also when the answer came after the grace.
  if (status === 200) {
    for (const ended of faults) {
      if (ended.back !== undefined && from >= ended.back && ended.firstOk[instance.name] === undefined) {
        if (ended.instance === undefined || ended.instance === instance.name) ended.firstOk[instance.name] = to;
      }
    }
  }
  return { status, body, from, to };
}

// ---- the workload -----------------------------------------------------------------------------

let instances: Instance[] = [];
let running = true;
const pick = (): Instance => instances[Math.floor(Math.random() * instances.length)]!;
const retryable = (status: number): boolean => status === 503 || status === 0 || status === -1;

interface Tokens {
  session: string;
  access: string;
  /** ms since start when they were issued. */
  issued: number;
}
const asTokens = (answer: Answer): Tokens => ({
  session: String(answer.body.session_token),
  access: String(answer.body.access_token),
  issued: answer.from,
});

/** Repeats a request while the store or the instance is away (each try on any instance). */
async function persist(attempt: (instance: Instance) => Promise<Answer>): Promise<Answer | undefined> {
  for (let tries = 0; running || tries === 0; tries += 1) {
    const answer = await attempt(pick());
    if (!retryable(answer.status)) return answer;
    await sleep(100 + Math.random() * 150);
  }
  return undefined;
}

interface Revoked {
  session: string;
  access: string;
  sessionId: string;
  /** ms since start of the logout. */
  at: number;
}
const revoked: Revoked[] = [];
const MAX_REVOKED = 5000;

/** Continues the session (optionally with a patch): a policy-fresh session replaces it. */
const continueSession = (tokens: Tokens, kind: Kind, metadata?: Record<string, unknown>): Promise<Answer | undefined> =>
  persist((instance) =>
    send(instance, kind, TOKEN_PATH, { body: { client_id: CLIENT_ID, session_token: tokens.session, ...(metadata ? { metadata } : {}) } }, [200]),
  );

async function guest(id: number): Promise<void> {
  for (let cycle = 0; running; cycle += 1) {
    const created = await persist((instance) => send(instance, 'create', TOKEN_PATH, { body: { client_id: CLIENT_ID, metadata: { cart: {} } } }, [200]));
    if (created?.status !== 200) continue;
    let tokens = asTokens(created);
    const confirmed: string[] = [];
    const patches = 3 + Math.floor(Math.random() * 6);
    for (let index = 0; index < patches && running; index += 1) {
      const key = `g${id}c${cycle}p${index}`;
      const patched = await continueSession(tokens, 'patch', { cart: { [key]: index } });
      if (patched?.status !== 200) continue;
      tokens = asTokens(patched);
      confirmed.push(key);
    }
    for (let call = 0; call < 2 && running; call += 1) {
      const api = await persist((instance) =>
        send(instance, 'api', API_PATH, { bearer: tokens.access }, [200], tokens.issued < lastLoss && options.policy === 'reject' ? [401] : []),
      );
      if (api?.status === 401) {
        // An access token from before a loss ('reject'): get a new one, as a client would.
        const renewed = await continueSession(tokens, 'continue');
        if (renewed?.status === 200) tokens = asTokens(renewed);
      }
    }
    // Read the cart back from a freshly continued token: every confirmed key must be there.
    const renewed = await continueSession(tokens, 'continue');
    if (renewed?.status !== 200) continue;
    tokens = asTokens(renewed);
    const read = await persist((instance) =>
      send(instance, 'read', SESSION_PATH, { bearer: tokens.session }, [200], tokens.issued < lastLoss && options.policy === 'reject' ? [401] : []),
    );
    if (read?.status !== 200) continue;
    const cart = ((read.body.metadata as Record<string, unknown> | undefined)?.cart ?? {}) as Record<string, unknown>;
    const missing = confirmed.filter((key) => !(key in cart));
    stats.confirmedKeys += confirmed.length;
    stats.lostKeys += missing.length;
    if (missing.length > 0 && stats.lostSamples.length < 20) stats.lostSamples.push(`guest ${id} cycle ${cycle}: ${missing.join(', ')}`);
    stats.cycles += 1;
    const sessionId = String(read.body.session_id);
    const loggedOut = await persist((instance) =>
      send(instance, 'logout', LOGOUT_PATH, { body: { client_id: CLIENT_ID, session_token: tokens.session } }, [204]),
    );
    if (loggedOut?.status !== 204) continue;
    stats.logouts += 1;
    const entry = { session: tokens.session, access: tokens.access, sessionId, at: loggedOut.from };
    if (revoked.length < MAX_REVOKED) revoked.push(entry);
    else revoked[Math.floor(Math.random() * MAX_REVOKED)] = entry;
    // The guest's own logout holds at once, on either instance.
    await probe(entry);
  }
}

/** Replays a logged-out session on every path; a 200 for the same session is an accepted revoked token. */
async function probe(entry: Revoked): Promise<void> {
  stats.probes += 1;
  // Whether the store lost its data since the logout: judged when each answer arrives, since a
  // replay can be in flight across a loss.
  const byPolicy = (): boolean => entry.at < lastLoss && options.policy === 'accept';
  const accepted = (path: string): void => {
    if (byPolicy()) stats.acceptedRevokedByPolicy += 1;
    else {
      stats.acceptedRevoked += 1;
      if (stats.acceptedRevokedSamples.length < 20) stats.acceptedRevokedSamples.push(`${path} accepted ${entry.sessionId} (logged out at ${(entry.at / 1000).toFixed(1)} s)`);
    }
  };
  const okByPolicy = byPolicy() ? [200] : [];
  const read = await send(pick(), 'probe-read', SESSION_PATH, { bearer: entry.session }, [401], okByPolicy);
  if (read.status === 200) accepted('GET /anonymous/session');
  const api = await send(pick(), 'probe-api', API_PATH, { bearer: entry.access }, [401], byPolicy() ? [200] : []);
  if (api.status === 200) accepted(`GET ${API_PATH}`);
  // 'reject' after a loss: a fresh session (another session_id) is the documented answer.
  const continued = await send(
    pick(),
    'probe-continue',
    TOKEN_PATH,
    { body: { client_id: CLIENT_ID, session_token: entry.session } },
    [401],
    entry.at < lastLoss ? [200] : [],
  );
  if (continued.status === 200) {
    const fresh = await persist((instance) =>
      send(instance, 'probe-read', SESSION_PATH, { bearer: String(continued.body.session_token) }, [200]),
    );
    if (fresh?.body.session_id === entry.sessionId) accepted('POST /anonymous/token');
    else if (fresh?.status === 200) stats.policyFreshSessions += 1;
  }
}

async function prober(): Promise<void> {
  while (running) {
    await sleep(100);
    const entry = revoked[Math.floor(Math.random() * revoked.length)];
    if (entry !== undefined) await probe(entry);
  }
}

// ---- heap -------------------------------------------------------------------------------------

const heap: Record<string, Array<{ t: number; heapUsedMb: number; rssMb: number }>> = {};

async function sampleHeap(): Promise<void> {
  for (const instance of instances) {
    try {
      const response = await fetch(`${instance.url}${HEAP_PATH}`, { signal: AbortSignal.timeout(5000) });
      const usage = (await response.json()) as { heapUsed: number; rss: number };
      (heap[instance.name] ??= []).push({ t: clock(), heapUsedMb: usage.heapUsed / 2 ** 20, rssMb: usage.rss / 2 ** 20 });
    } catch {
      // a killed instance: no sample
    }
  }
}

// ---- the run ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const binaries = redisBinaries();
  if (!binaries.ok) throw new Error(`the soak needs redis-server: ${binaries.reason}`);
  const load = { cpus: cpus().length, loadavgBefore: loadavg(), loadavgDuring: [] as number[][], loadavgAfter: [] as number[] };
  say(`starting: ${options.minutes} min, ${options.guests} guests, revocationLoss '${options.policy}', storeTimeoutMs ${options.storeTimeoutMs}`);
  const redis = await RedisServerProcess.start();
  const directory = await mkdtemp(join(tmpdir(), 'anon-soak-'));
  const keysFile = join(directory, 'keys.json');
  await writeFile(keysFile, JSON.stringify(await generateKeySet()), { mode: 0o600 });
  const prefix = `anon-soak:${Date.now()}:`;
  try {
    instances = await Promise.all(
      ['A', 'B'].map(
        async (name) =>
          new Instance({
            name,
            port: await freePort(),
            redisUrl: `redis://127.0.0.1:${redis.port}`,
            prefix,
            keysFile,
            revocationLoss: options.policy,
            storeTimeoutMs: options.storeTimeoutMs,
          }),
      ),
    );
    await Promise.all(instances.map((instance) => instance.start()));
    say(`redis-server on 127.0.0.1:${redis.port}; instances ${instances.map((instance) => `${instance.name} ${instance.url}`).join(', ')}`);
    started = Date.now();
    say('workload started');

    const workers = [...Array.from({ length: options.guests }, (_, id) => guest(id)), prober(), prober()];
    const heapTimer = setInterval(() => void sampleHeap(), 10_000);
    const loadTimer = setInterval(() => load.loadavgDuring.push(loadavg()), 30_000);
    await sampleHeap();

    const at = async (fraction: number): Promise<void> => {
      const wait = fraction * DURATION_MS - clock();
      if (wait > 0) await sleep(wait);
    };
    const newFault = (name: string, kind: Fault['kind'], instance?: string): Fault => {
      const fault: Fault = { name, kind, start: clock(), firstOk: {}, statuses: {}, slowest503: 0, ...(instance ? { instance } : {}) };
      faults.push(fault);
      say(`fault: ${name}`);
      return fault;
    };
    const emptyRestart = async (name: string): Promise<void> => {
      const fault = newFault(name, 'redis-empty-restart');
      await redis.stop();
      lastLoss = clock();
      await sleep(4000);
      await redis.restart();
      fault.back = clock();
      say(`redis back (empty) after ${((fault.back - fault.start) / 1000).toFixed(1)} s`);
    };

    await at(0.2);
    await emptyRestart('Redis stopped (SIGKILL) and restarted empty');
    await at(0.4);
    {
      const fault = newFault('Redis frozen (SIGSTOP) for 4 s', 'redis-freeze');
      redis.pause(true);
      await sleep(4000);
      redis.pause(false);
      fault.back = clock();
    }
    await at(0.55);
    {
      const victim = instances[1]!;
      const fault = newFault(`instance ${victim.name} killed (SIGKILL) and restarted 3 s later`, 'instance-kill', victim.name);
      await victim.kill();
      await sleep(3000);
      await victim.start();
      fault.back = clock();
      say(`instance ${victim.name} back`);
    }
    await at(0.7);
    await emptyRestart('Redis stopped (SIGKILL) and restarted empty, again');
    await at(1);
    running = false;
    say('stopping the workload');
    await Promise.all(workers);
    clearInterval(heapTimer);
    clearInterval(loadTimer);
    await sampleHeap();
    load.loadavgAfter = loadavg();
  } finally {
    running = false;
    for (const instance of instances) await instance.kill('SIGTERM').catch(() => undefined);
    await redis.destroy();
    await rm(directory, { recursive: true, force: true });
  }

  await writeReport(load);
}

// ---- checks and the report ---------------------------------------------------------------------

interface Check {
  name: string;
  pass: boolean;
  figure: string;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};

async function writeReport(load: { cpus: number; loadavgBefore: number[]; loadavgDuring: number[][]; loadavgAfter: number[] }): Promise<void> {
  const bound = options.storeTimeoutMs + options.marginMs;
  const sorted503 = [...stats.latencies503].sort((a, b) => a - b);
  const p = (q: number): number => (sorted503.length === 0 ? 0 : sorted503[Math.min(sorted503.length - 1, Math.floor(q * sorted503.length))]!);
  const over = sorted503.filter((ms) => ms > bound).length;
  const recoveries = faults.map((fault) => {
    const times = Object.values(fault.firstOk).map((t) => t - (fault.back ?? t));
    const expectedInstances = fault.instance === undefined ? instances.length : 1;
    return { fault: fault.name, recoveryMs: times.length === expectedInstances ? Math.max(...times) : Number.NaN };
  });
  // Heap: instance A (never restarted), median of the first vs the last third of the samples.
  const samples = heap.A ?? [];
  const third = Math.max(1, Math.floor(samples.length / 3));
  const heapStart = median(samples.slice(0, third).map((sample) => sample.heapUsedMb));
  const heapEnd = median(samples.slice(-third).map((sample) => sample.heapUsedMb));
  const losses = faults.filter((fault) => fault.kind === 'redis-empty-restart').length;
  const lossLogs = instances.map((instance) => instance.countLogs('error: The session store lost its data'));
  const reseedLogs = instances.map((instance) => instance.countLogs("warn: metadataStorage 'store': the metadata document"));

  const checks: Check[] = [
    { name: 'no unexpected status (outside the fault windows; inside them only 200/204/401/503)', pass: stats.unexpected === 0, figure: String(stats.unexpected) },
    { name: 'no 5xx other than 503', pass: stats.serverErrors === 0, figure: String(stats.serverErrors) },
    { name: `no hang (no answer within ${HANG_MS / 1000} s)`, pass: stats.hangs === 0, figure: String(stats.hangs) },
    {
      // storeTimeoutMs bounds each store call; a request whose earlier calls were slow (or a
      // starved event loop on a loaded machine) can pass the sum, hence the p99 and the count.
      name: `503 within storeTimeoutMs + ${options.marginMs} ms (${bound} ms) at the 99th percentile`,
      pass: p(0.99) <= bound,
      figure: `${stats.count503} × 503: median ${p(0.5)} ms, p99 ${p(0.99)} ms, slowest ${stats.slowest503} ms; ${over} over ${bound} ms`,
    },
    {
      name: `recovery after every fault within the ${GRACE_MS / 1000} s grace, without restarts`,
      pass: recoveries.every((recovery) => recovery.recoveryMs <= GRACE_MS),
      figure: recoveries.map((recovery) => `${Number.isNaN(recovery.recoveryMs) ? 'none' : `${recovery.recoveryMs} ms`}`).join(', '),
    },
    { name: 'zero lost updates', pass: stats.lostKeys === 0 && stats.confirmedKeys > 0, figure: `${stats.lostKeys} lost of ${stats.confirmedKeys} confirmed keys` },
    {
      name: `zero accepted logged-out tokens${options.policy === 'accept' ? ' (besides the documented re-acceptance after a loss)' : ''}`,
      pass: stats.acceptedRevoked === 0 && stats.probes > 0,
      figure: `${stats.acceptedRevoked} of ${stats.probes} replays${options.policy === 'accept' ? `; ${stats.acceptedRevokedByPolicy} re-accepted by policy` : ''}`,
    },
    {
      // A restarted process has forgotten what it logged: it may log an earlier loss once more.
      name: 'the loss logged as an error by every instance, at most once per loss and process',
      pass: lossLogs.every((count, index) => count >= 1 && count <= losses * instances[index]!.processes),
      figure:
        instances.map((instance, index) => `${instance.name} ${lossLogs[index]} (${instance.processes} process${instance.processes > 1 ? 'es' : ''})`).join(', ') +
        `; ${losses} losses`,
    },
    {
      name: 'heap flat on instance A (median of the last third within 25 MB of the first third)',
      pass: heapEnd - heapStart <= 25,
      figure: `${heapStart.toFixed(1)} → ${heapEnd.toFixed(1)} MB`,
    },
  ];

  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    options,
    machine: { ...load, node: process.version },
    durationSeconds: Math.round(clock() / 1000),
    totals: {
      requests: stats.requests,
      requestsPerSecond: Math.round(stats.requests / (DURATION_MS / 1000)),
      cycles: stats.cycles,
      logouts: stats.logouts,
      confirmedKeys: stats.confirmedKeys,
      lostKeys: stats.lostKeys,
      probes: stats.probes,
      acceptedRevoked: stats.acceptedRevoked,
      acceptedRevokedByPolicy: stats.acceptedRevokedByPolicy,
      policyRefusals: stats.policyRefusals,
      policyFreshSessions: stats.policyFreshSessions,
      count503: stats.count503,
      median503Ms: p(0.5),
      p99503Ms: p(0.99),
      slowest503Ms: stats.slowest503,
      hangs: stats.hangs,
      serverErrors: stats.serverErrors,
      unexpected: stats.unexpected,
    },
    byKind: stats.byKind,
    faults: faults.map((fault) => ({
      name: fault.name,
      startSeconds: fault.start / 1000,
      downSeconds: fault.back === undefined ? null : (fault.back - fault.start) / 1000,
      recoveryMs: recoveries.find((recovery) => recovery.fault === fault.name)?.recoveryMs ?? null,
      statuses: fault.statuses,
      slowest503Ms: fault.slowest503,
    })),
    logs: Object.fromEntries(instances.map((instance) => [instance.name, Object.fromEntries(instance.logCounts)])),
    reseededDocuments: reseedLogs.reduce((sum, count) => sum + count, 0),
    heap,
    checks,
    samples: { unexpected: stats.unexpectedSamples, lost: stats.lostSamples, acceptedRevoked: stats.acceptedRevokedSamples },
  };
  await mkdir(RESULTS, { recursive: true });
  await writeFile(join(RESULTS, `${options.out}.json`), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(RESULTS, `${options.out}.md`), renderMarkdown(report, checks));
  for (const check of checks) say(`${check.pass ? 'PASS' : 'FAIL'} ${check.name}: ${check.figure}`);
  say(`report: bench/results/${options.out}.json and .md`);
  if (checks.some((check) => !check.pass)) process.exitCode = 1;
}

function renderMarkdown(report: {
  generatedAt: string;
  command: string;
  durationSeconds: number;
  machine: { cpus: number; loadavgBefore: number[]; loadavgDuring: number[][]; loadavgAfter: number[]; node: string };
  totals: Record<string, number>;
  faults: Array<{ name: string; startSeconds: number; downSeconds: number | null; recoveryMs: number | null; statuses: Record<string, number>; slowest503Ms: number }>;
  reseededDocuments: number;
}, checks: Check[]): string {
  const t = report.totals;
  const fmt = (value: number): string => value.toLocaleString('en-US');
  const loads = [report.machine.loadavgBefore, ...report.machine.loadavgDuring, report.machine.loadavgAfter].map((avg) => avg[0]!.toFixed(1));
  return `# Soak report

\`${report.command}\` — ${report.generatedAt}, ${report.durationSeconds} s, Node ${report.machine.node}, ${report.machine.cpus} cores
shared with other work (1-minute load average over the run: ${loads.join(' → ')}).

Two app instances (Express, \`metadataStorage: 'store'\`, a guarded API with \`checkRevocation\`,
\`revocationLoss: '${options.policy}'\`, \`storeTimeoutMs: ${options.storeTimeoutMs}\`) on one Redis the soak started itself;
${options.guests} guests creating, patching, calling the API, reading their cart back, logging out; two probes replaying
logged-out tokens all run long.

| figure | value |
|---|---|
| requests | ${fmt(t.requests!)} (${fmt(t.requestsPerSecond!)}/s) |
| guest cycles (create … logout) | ${fmt(t.cycles!)} |
| confirmed cart keys / lost | ${fmt(t.confirmedKeys!)} / ${fmt(t.lostKeys!)} |
| logged-out tokens replayed / accepted | ${fmt(t.probes!)} / ${fmt(t.acceptedRevoked!)}${options.policy === 'accept' ? ` (+ ${fmt(t.acceptedRevokedByPolicy!)} by policy)` : ''} |
| replays answered with a fresh session (policy) | ${fmt(t.policyFreshSessions!)} |
| answers explained by the policy (a token from before a loss: 401 with 'reject', 200 with 'accept') | ${fmt(t.policyRefusals!)} |
| store-mode documents re-seeded from a token | ${fmt(report.reseededDocuments)} |
| 503 answers: count / median / p99 / slowest | ${fmt(t.count503!)} / ${t.median503Ms} ms / ${t.p99503Ms} ms / ${t.slowest503Ms} ms |
| hangs / other 5xx / unexpected statuses | ${t.hangs} / ${t.serverErrors} / ${t.unexpected} |

## Faults

| fault | at | down | recovery (first 200 after it, slowest instance) | answers in the window | slowest 503 |
|---|---|---|---|---|---|
${report.faults
  .map(
    (fault) =>
      `| ${fault.name} | ${fault.startSeconds.toFixed(0)} s | ${fault.downSeconds?.toFixed(1) ?? '–'} s | ${fault.recoveryMs === null || Number.isNaN(fault.recoveryMs) ? '–' : `${fault.recoveryMs} ms`} | ${Object.entries(fault.statuses)
        .map(([status, count]) => `${status === '0' ? 'refused' : status} × ${count}`)
        .join(', ')} | ${fault.slowest503Ms} ms |`,
  )
  .join('\n')}

## Checks

| check | result | figure |
|---|---|---|
${checks.map((check) => `| ${check.name} | ${check.pass ? 'pass' : '**FAIL**'} | ${check.figure} |`).join('\n')}

Rerun: \`npm run soak -- --minutes 3\` (see bench/README.md, "Soak"). Every figure above is in
\`${options.out}.json\`, with the statuses per request kind, the instances' log lines and the heap samples.
`;
}

await main();
