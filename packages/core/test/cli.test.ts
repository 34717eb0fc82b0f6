import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnonymousSessions, type PrivateJwkSet } from '@anonymous-sessions/core';
import { runCli } from '../src/cli.js';

const silent = { warn: () => undefined, error: () => undefined };
const engineOptions = (keys: PrivateJwkSet) => ({
  issuer: 'https://shop.example.com/',
  keys,
  clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
  resourceServers: [{ audience: 'https://api.shop.example', allowAnonymousAccess: true }],
  logger: silent,
});

describe('anonymous-sessions keys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anon-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generate prints a private JWK Set with one signing key and one 256-bit secret', async () => {
    const result = await runCli(['keys', 'generate', '--alg', 'ES256']);
    expect(result.code).toBe(0);
    const keySet = JSON.parse(result.stdout) as PrivateJwkSet;
    expect(keySet.keys.map((key) => [key.use, key.alg])).toEqual([
      ['sig', 'ES256'],
      ['enc', 'dir'],
    ]);
    const anon = await createAnonymousSessions(engineOptions(keySet));
    expect(anon.jwks().keys[0]).toMatchObject({ kid: keySet.keys[0]!.kid, alg: 'ES256' });
  });

  it('generate --out writes the file readable only by its owner', async () => {
    const file = join(dir, 'keys.json');
    const result = await runCli(['keys', 'generate', '--out', file]);
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const keySet = JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet;
    expect(keySet.keys[0]).toMatchObject({ use: 'sig', alg: 'RS256', kty: 'RSA' });
  });

  it('rotate puts new keys first and keeps the old ones verifying', async () => {
    const file = join(dir, 'rotate.json');
    await runCli(['keys', 'generate', '--out', file]);
    const before = JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet;
    const oldEngine = await createAnonymousSessions(engineOptions(before));
    const { response } = await oldEngine.issueToken({ client_id: 'shop-web', metadata: { cart: 1 } });

    const result = await runCli(['keys', 'rotate', '--file', file]);
    expect(result.code).toBe(0);
    const after = JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet;
    expect(after.keys).toHaveLength(4);
    expect(after.keys.slice(2).map((key) => key.kid)).not.toContain(undefined);
    expect(after.keys.map((key) => key.kid)).toEqual(expect.arrayContaining(before.keys.map((key) => key.kid)));
    expect(after.keys[0]!.kid).not.toBe(before.keys[0]!.kid);

    const newEngine = await createAnonymousSessions(engineOptions(after));
    await expect(newEngine.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: { cart: 1 } });
    await expect(
      newEngine.verifyAccessToken(response.access_token, { audience: 'https://api.shop.example' }),
    ).resolves.toMatchObject({ client_id: 'shop-web' });
    const fresh = await newEngine.issueToken({ client_id: 'shop-web' });
    const header = JSON.parse(Buffer.from(fresh.response.access_token.split('.')[0]!, 'base64url').toString()) as { kid: string };
    expect(header.kid).toBe(after.keys[0]!.kid);
  });

  it('rotate --keep 1 drops the old keys', async () => {
    const file = join(dir, 'keep.json');
    await runCli(['keys', 'generate', '--out', file]);
    await runCli(['keys', 'rotate', '--file', file, '--keep', '1']);
    const after = JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet;
    expect(after.keys.map((key) => key.use)).toEqual(['sig', 'enc']);
  });

  it('refuses bad usage and broken key files without printing key material', async () => {
    expect((await runCli(['keys', 'generate', '--alg', 'HS256'])).code).toBe(2);
    expect((await runCli(['keys', 'rotate'])).code).toBe(2);
    expect((await runCli(['nonsense'])).code).toBe(2);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, JSON.stringify({ keys: [{ kty: 'oct', kid: 'a', use: 'enc', k: 'c2VjcmV0' }] }));
    const result = await runCli(['keys', 'rotate', '--file', broken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('256 bits');
    expect(result.stderr).not.toContain('c2VjcmV0');
  });
});
