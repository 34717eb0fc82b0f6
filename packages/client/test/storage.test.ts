import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createAnonymousClient,
  localStorageAdapter,
  memoryStorage,
  type AnonymousClientStorage,
  type WebStorageLike,
} from '@anonymous-sessions/client';
import { AUDIENCE, CLIENT_ID, startServer, TOKEN_KEY, type TestServer } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function webStorage(): WebStorageLike & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => void entries.set(key, value),
    removeItem: (key) => void entries.delete(key),
  };
}

describe('memoryStorage', () => {
  it('gets, sets and removes, starting from the given entries', () => {
    const storage = memoryStorage({ a: '1' });
    expect(storage.getItem('a')).toBe('1');
    storage.setItem('b', '2');
    storage.removeItem('a');
    expect([storage.getItem('a'), storage.getItem('b')]).toEqual([undefined, '2']);
  });
});

describe('localStorageAdapter', () => {
  it('uses globalThis.localStorage by default, looked up on each call', () => {
    const local = webStorage();
    const storage = localStorageAdapter();
    expect(storage.getItem('k')).toBeUndefined(); // none in Node: reads find nothing
    expect(() => storage.setItem('k', 'v')).toThrow(/not available/);

    vi.stubGlobal('localStorage', local);
    storage.setItem('k', 'v');
    expect(local.entries.get('k')).toBe('v');
    expect(storage.getItem('k')).toBe('v');
    storage.removeItem('k');
    expect(local.entries.size).toBe(0);
  });

  it('treats a localStorage that throws on access (blocked) as absent', () => {
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new Error('SecurityError');
      },
    });
    try {
      expect(localStorageAdapter().getItem('k')).toBeUndefined();
    } finally {
      Reflect.deleteProperty(globalThis, 'localStorage');
    }
  });

  it('keeps a token-mode session across "page loads"', async () => {
    const local = webStorage();
    const options = { baseUrl: server.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token' as const };
    const first = await createAnonymousClient({ ...options, storage: localStorageAdapter(local) }).getSession();
    expect(local.entries.get(TOKEN_KEY)).toEqual(expect.any(String));
    const again = await createAnonymousClient({ ...options, storage: localStorageAdapter(local) }).getSession();
    expect(again.session_id).toBe(first.session_id);
  });
});

describe('a custom async storage', () => {
  it('works end to end, under the chosen key prefix', async () => {
    const entries = new Map<string, string>();
    const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
    const asyncStorage: AnonymousClientStorage = {
      getItem: async (key) => (await tick(), entries.get(key) ?? null),
      setItem: async (key, value) => void (await tick(), entries.set(key, value)),
      removeItem: async (key) => void (await tick(), entries.delete(key)),
    };
    const anon = createAnonymousClient({
      baseUrl: server.baseUrl,
      clientId: CLIENT_ID,
      audience: AUDIENCE,
      mode: 'token',
      storage: asyncStorage,
      storageKeyPrefix: 'shop/',
    });
    await anon.updateSession({ metadata: { a: 1 } });
    expect([...entries.keys()]).toEqual(['shop/session_token']);
    expect((await anon.getSession()).metadata).toEqual({ a: 1 });
    await anon.logout();
    expect(entries.size).toBe(0);
  });
});

describe('the package', () => {
  const sourceDirectory = new URL('../src/', import.meta.url);
  const sources = readdirSync(sourceDirectory, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));

  it('imports nothing at run time but its own modules (browser-safe, no dependencies)', () => {
    expect(sources.length).toBeGreaterThan(5);
    let checked = 0;
    for (const file of sources) {
      const text = readFileSync(new URL(file, sourceDirectory), 'utf8');
      const runtimeImports = [
        ...text.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+'([^']+)'/gms),
        ...text.matchAll(/^import\s+'([^']+)'/gm),
      ].map((match) => match[1]);
      for (const specifier of runtimeImports) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\//);
      checked += runtimeImports.length;
      expect(text, file).not.toMatch(/\bconsole\./);
    }
    expect(checked).toBeGreaterThan(10);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.sideEffects).toBe(false);
  });
});
