/**
 * The load generator: a process of its own (so it never shares a thread with the server it
 * measures) that runs one autocannon run per `run` message from the orchestrator and answers with
 * a {@link LoadResult}. Targets are loopback only; every run is bounded by its duration.
 *
 * Run only by `run.ts` (forked).
 */
import autocannon from 'autocannon';
import { HOST, type LoadReply, type LoadRequest, type LoadResult, type LoadSpec } from './shared.js';

function assertLoopback(url: string): void {
  const { hostname } = new URL(url);
  if (hostname !== HOST && hostname !== 'localhost' && hostname !== '[::1]') throw new Error(`refusing to load a non-loopback address: ${hostname}`);
}

function optionsOf(spec: LoadSpec): autocannon.Options {
  assertLoopback(spec.url);
  const base: autocannon.Options = {
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    connections: spec.connections,
    duration: spec.duration,
    pipelining: 1,
    timeout: 10,
  };
  if (spec.body !== undefined) base.body = spec.body;
  const tokens = spec.bearerTokens;
  if (tokens !== undefined && tokens.length > 0) {
    // Rotate the Authorization header through every token, across all connections: request n
    // carries token n mod tokens.length, so the server sees each token equally often.
    let next = 0;
    base.requests = [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...spec.headers, authorization: `Bearer ${tokens[next++ % tokens.length]!}` },
        }),
      },
    ];
  }
  return base;
}

function summarise(result: autocannon.Result): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, entry] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = entry.count ?? 0;
  return {
    requestsPerSecond: result.duration > 0 ? result.requests.total / result.duration : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    total: result.requests.total,
    duration: result.duration,
  };
}

process.on('message', (message: LoadRequest) => {
  if (message.type !== 'run') return;
  const reply = (answer: LoadReply): void => {
    process.send?.(answer);
  };
  try {
    autocannon(optionsOf(message.spec), (error, result) => {
      if (error) reply({ type: 'failed', id: message.id, message: String(error) });
      else reply({ type: 'result', id: message.id, result: summarise(result) });
    });
  } catch (error) {
    reply({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
});

// The orchestrator going away must never leave this process running.
process.on('disconnect', () => process.exit(0));
