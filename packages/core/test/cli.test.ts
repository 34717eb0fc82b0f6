import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnonymousSessions, type PrivateJwkSet } from '@anonymous-sessions/core';
import { runCli } from '../src/cli/cli.js';

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

  it('generate --out refuses to overwrite an existing file, and --force replaces it with mode 0600', async () => {
    const file = join(dir, 'existing.json');
    await writeFile(file, '{"keys":[]}\n', { mode: 0o644 });
    await chmod(file, 0o644);

    const refused = await runCli(['keys', 'generate', '--out', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} already exists; pass --force to replace it`);
    expect(await readFile(file, 'utf8')).toBe('{"keys":[]}\n');
    expect((await stat(file)).mode & 0o777).toBe(0o644);

    const forced = await runCli(['keys', 'generate', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet).keys).toHaveLength(2);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('rotate in place leaves the key file at mode 0600 even when it was 0644', async () => {
    const file = join(dir, 'loose.json');
    await runCli(['keys', 'generate', '--out', file]);
    await chmod(file, 0o644);
    const result = await runCli(['keys', 'rotate', '--file', file]);
    expect(result.code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet).keys).toHaveLength(4);
  });

  it('rotate --out refuses an existing file without --force', async () => {
    const file = join(dir, 'source.json');
    const other = join(dir, 'other.json');
    await runCli(['keys', 'generate', '--out', file]);
    await writeFile(other, 'keep me\n', { mode: 0o600 });
    const refused = await runCli(['keys', 'rotate', '--file', file, '--out', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already exists; pass --force');
    expect(await readFile(other, 'utf8')).toBe('keep me\n');

    expect((await runCli(['keys', 'rotate', '--file', file, '--out', other, '--force'])).code).toBe(0);
    expect((JSON.parse(await readFile(other, 'utf8')) as PrivateJwkSet).keys).toHaveLength(4);
    expect((JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet).keys).toHaveLength(2);
  });

  it('tells a missing key file, an unreadable one and one that is not JSON apart', async () => {
    const missing = await runCli(['keys', 'rotate', '--file', join(dir, 'nope.json')]);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe(`anonymous-sessions: ${join(dir, 'nope.json')} not found\n`);

    const notJson = join(dir, 'not-json.json');
    await writeFile(notJson, 'k=c2VjcmV0c2VjcmV0');
    const bad = await runCli(['keys', 'rotate', '--file', notJson]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not valid JSON');
    expect(bad.stderr).not.toContain('c2VjcmV0');

    const directory = await runCli(['keys', 'rotate', '--file', dir]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toContain('is a directory');

    const noDirectory = await runCli(['keys', 'generate', '--out', join(dir, 'missing-dir', 'keys.json')]);
    expect(noDirectory.code).toBe(1);
    expect(noDirectory.stderr).toContain('its directory does not exist');
  });

  it('refuses unknown options, stray arguments and empty values (strict parsing)', async () => {
    const file = join(dir, 'typo.json');
    const typo = await runCli(['keys', 'generate', '--outt', file]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown option --outt');
    expect(typo.stderr).toContain('Usage: anonymous-sessions keys generate');
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });

    for (const args of [
      ['keys', 'generate', 'extra'],
      ['keys', 'generate', '--out'],
      ['keys', 'generate', '--out='],
      ['keys', 'generate', '--force'],
      ['keys', 'generate', '--file', file],
      ['keys', 'rotate', '--file', file, '--keep', '0'],
      ['keys', 'rotate', '--file', file, '--keep', '1.5'],
      ['keys', 'rotate', '--file', file, '--keep', '2x'],
      ['keys', 'rotate', '--file', file, '--force'],
      ['keys', 'rotate', '--file', file, '--keep'],
      ['keys', 'rotate', '--verbose'],
      ['keys', 'list'],
      ['keys'],
      ['--nonsense'],
      ['--version', 'extra'],
      [],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toContain('Usage: anonymous-sessions');
    }
    expect((await runCli(['keys', 'generate', '--out'])).stderr).toContain('--out needs a value');
    expect((await runCli(['keys', 'list'])).stderr).toContain('unknown command "keys list"');
  });

  it('prints help for every command on standard output, and the version', async () => {
    const main = await runCli(['--help']);
    expect(main).toMatchObject({ code: 0, stderr: '' });
    expect(main.stdout).toContain('keys generate');
    expect(main.stdout).toContain('npx -p @anonymous-sessions/core anonymous-sessions');
    expect(await runCli(['-h'])).toEqual(main);
    expect(await runCli(['keys', '--help'])).toEqual(main);

    const generateHelp = await runCli(['keys', 'generate', '--help']);
    expect(generateHelp).toMatchObject({ code: 0, stderr: '' });
    expect(generateHelp.stdout).toContain('Usage: anonymous-sessions keys generate');
    expect(generateHelp.stdout).toContain('--force');
    // help wins over everything else on the line and writes nothing
    const rotateHelp = await runCli(['keys', 'rotate', '--file', join(dir, 'nope.json'), '-h']);
    expect(rotateHelp).toMatchObject({ code: 0, stderr: '' });
    expect(rotateHelp.stdout).toContain('Usage: anonymous-sessions keys rotate');

    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
    expect((await runCli(['-v'])).stdout).toBe(`${manifest.version}\n`);
  });
});
