import { describe, expect, it } from 'vitest';
import { createContext } from '../harness/context.js';

describe('bench settings', () => {
  it('runs each side of the paired rounds on one process per round by default, one in a quick run', () => {
    expect(createContext([]).settings).toMatchObject({ pairs: 20, instances: 20 });
    expect(createContext(['--pairs', '6']).settings).toMatchObject({ pairs: 6, instances: 6 });
    expect(createContext(['--quick']).settings).toMatchObject({ pairs: 2, instances: 1 });
    expect(createContext(['--instances', '3']).settings.instances).toBe(3);
  });

  it('refuses an --instances that is not a whole number from 1 to 40', () => {
    for (const bad of ['0', '-2', '2.5', '41', 'many']) {
      expect(() => createContext(['--instances', bad]), bad).toThrow(/instances/);
    }
  });
});
