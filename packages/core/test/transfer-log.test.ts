/**
 * The transfer records itself in the transfer log (runTransfer, below the engine): one entry per
 * applied transfer, none for a skipped one, and a failing log write is logged, never thrown.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnonymousSession, TransferLogEntry } from '@anonymous-sessions/core';
import { runTransfer, type TransferEngine, type TransferParameters } from '../src/transfer/transfer.js';
import { T0, T0_SECONDS } from './fixtures.js';

const session: AnonymousSession = {
  user_id: 'anon|guest-0001',
  session_id: 'sess_log',
  created_at: T0.toISOString(),
  expires_at: null,
  metadata: {},
};

function engine(record: (entry: TransferLogEntry, expiresAt: number) => Promise<void>, markOnce = true) {
  const logger = { error: vi.fn() };
  const transferEngine: TransferEngine = {
    verifySessionToken: async () => session,
    openLoginBinding: async () => undefined,
    lifetime: { sessionLifetime: 0, slidingExpiration: false, clockTolerance: 5 },
    store: { markOnce: async () => markOnce, revokeSession: async () => undefined },
    transferLog: { retention: 3600, record },
    logger,
  };
  return { transferEngine, logger };
}

const parameters: TransferParameters = {
  sessionToken: 'a-token',
  requireLoginBinding: false,
  userId: 'auth0|alice',
  isNewUser: true,
  request: { user_agent: 'Mozilla/5.0' },
  users: { get: (id) => ({ user_id: id }), update: () => undefined },
};

describe('the transfer records itself in the transfer log', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('writes one entry for an applied transfer, kept for the retention', async () => {
    const record = vi.fn(async () => undefined);
    const { transferEngine } = engine(record);
    expect((await runTransfer(transferEngine, parameters)).transferred).toBe(true);
    expect(record).toHaveBeenCalledTimes(1);
    expect(record).toHaveBeenCalledWith(
      { session_id: 'sess_log', anonymous_user_id: 'anon|guest-0001', user_id: 'auth0|alice', linked_at: T0.toISOString(), user_agent: 'Mozilla/5.0' },
      T0_SECONDS + 3600,
    );
  });

  it('writes nothing for a transfer that did not happen', async () => {
    const record = vi.fn(async () => undefined);
    const { transferEngine } = engine(record, false);
    expect((await runTransfer(transferEngine, parameters)).reason).toBe('already_transferred');
    expect(record).not.toHaveBeenCalled();
  });

  it('logs a failing write and still answers the applied transfer', async () => {
    const { transferEngine, logger } = engine(() => Promise.reject(new Error('ECONNRESET')));
    expect((await runTransfer(transferEngine, parameters)).transferred).toBe(true);
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/transfer log/), expect.any(Error));
  });
});
