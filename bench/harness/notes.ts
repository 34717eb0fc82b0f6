/** The notes under a run's tables: what the figures mean, read from the run's own results. */
import { ratioOf, times, type ScenarioResult } from '../report.js';
import type { BenchContext } from './context.js';
import { P99_LIMIT_MS } from './measure.js';
import { ceilingId, JOSE_ISSUER_ID } from './scenarios.js';

export function runNotes(context: BenchContext, byId: Map<string, ScenarioResult>, skippedIds: string[]): string[] {
  const { settings } = context;
  const notes: string[] = [];
  const issuance = byId.get('express-issue-create-rs256-jwe-memory');
  const ceiling = byId.get(ceilingId('RS256', 'jwe'));
  const jose = byId.get(JOSE_ISSUER_ID);
  if (issuance?.medianCpuPerRequest !== undefined && ceiling?.medianCpuPerRequest !== undefined) {
    notes.push(
      `By CPU time, which the machine's noise moves far less than rates: the ceiling spends ${Math.round(ceiling.medianCpuPerRequest)} µs per RS256 + JWE operation, the create endpoint ${Math.round(issuance.medianCpuPerRequest)} µs of server CPU per request (${times(ceiling.medianCpuPerRequest / issuance.medianCpuPerRequest)})${jose?.medianCpuPerRequest === undefined ? '' : `, the hand-written jose endpoint ${Math.round(jose.medianCpuPerRequest)} µs`}; the rest is HTTP, Express, validation and the response.`,
    );
  }
  const oneProcess = byId.get(`${ceilingId('RS256', 'jwe')}-1proc`);
  if (issuance !== undefined && ceiling !== undefined && oneProcess !== undefined) {
    notes.push(
      `One Node process reached ${times(ratioOf(oneProcess, ceiling))} of the two-process RS256 + JWE ceiling in this run${(ratioOf(oneProcess, ceiling) ?? 1) < 0.9 ? ' (RSA signing in one process did not spread evenly over both cores)' : ''}; against that one-process ceiling, the create endpoint is at ${times(ratioOf(issuance, oneProcess))}. The two-process ceiling is what a server running one process per core (node:cluster) could reach.`,
    );
  }
  const lookups = [...byId.values()].filter((scenario) => scenario.medianClientLookupsPerRequest !== undefined);
  if (lookups.length > 0) {
    notes.push(
      `Client lookups per request, counted by a \`clients\` resolver that counts its calls: ${lookups.map((scenario) => `${scenario.label.replace('POST /anonymous/token ', '')}: **${scenario.medianClientLookupsPerRequest!.toFixed(2)}**`).join('; ')} (aim: 1 per create, 1 per continue).`,
    );
  }
  notes.push(`A p99 flag says "mean latency ≥ N ms at this rate" when ${settings.connections} connections ÷ the measured rate already exceeds ${P99_LIMIT_MS} ms: at that throughput no code change inside a request can meet the p99 limit; only more throughput (or fewer connections) can. The p99 target also leaves out (and names) a p99 over the limit when the reference's tail — for issuance the p99 ÷ mean latency of the hand-written jose endpoint doing the same crypto (creating or continuing, same algorithm and session format), for a guard the bare route's, both measured in the same run — times the scenario's own mean latency is already over it, and the scenario's tail is no longer than the reference's.`);
  if (skippedIds.some((id) => id.startsWith('koa-'))) notes.push('The Koa scenarios run as soon as packages/koa exists and exports requireAnonymousOrUser (and anonymousTokenRouter for issuance); nothing else changes.');
  notes.push('Ratios are medians over rounds of (scenario ÷ anchor in the same round); the rates beside them are plain medians. "Server CPU µs per request" is the server process\'s CPU time (every thread, the crypto pool included) over the requests it answered.');
  notes.push(`The verified-token cache keeps ${settings.distinctTokens} tokens by default, so the ${settings.distinctTokens}-token "cache on" scenario is all hits after the first pass.`);
  notes.push('The crypto ceiling uses both cores with no HTTP at all, while an HTTP scenario shares the two cores with its load generator: the issuance ratio is the share of the machine that reaches the client.');
  notes.push('Continue requests also decrypt and check the incoming session token (and ask the store whether it was revoked), so they sit below create against the same ceiling.');
  return notes;
}
