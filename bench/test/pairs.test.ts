import { describe, expect, it } from 'vitest';
import { roundOrder } from '../harness/pairs.js';

/** Every round's order for `rounds` rounds. */
const orders = (sides: string[], rounds: number): string[][] => Array.from({ length: rounds }, (_, round) => roundOrder(sides, round));

describe('the order of a group of paired rounds', () => {
  it('alternates two sides, as a pair of back-to-back measurements should', () => {
    expect(orders(['subject', 'reference'], 4)).toEqual([
      ['subject', 'reference'],
      ['reference', 'subject'],
      ['reference', 'subject'],
      ['subject', 'reference'],
    ]);
  });

  it('gives every side of a larger group every place equally often over 2 × (sides) rounds', () => {
    const sides = ['guard', 'bare', 'noop', 'set-auth', 'peer'];
    const rounds = orders(sides, 2 * sides.length);
    for (const round of rounds) expect([...round].sort()).toEqual([...sides].sort());
    for (const side of sides) {
      const places = rounds.map((round) => round.indexOf(side)).sort();
      expect(places, side).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
  });

  it('lets each of any two sides go first in half the rounds', () => {
    const sides = ['guard', 'bare', 'noop', 'set-auth', 'peer'];
    const rounds = orders(sides, 2 * sides.length);
    for (const first of sides) {
      for (const second of sides) {
        if (first === second) continue;
        const ahead = rounds.filter((round) => round.indexOf(first) < round.indexOf(second)).length;
        expect(ahead, `${first} before ${second}`).toBe(sides.length);
      }
    }
  });

  it('does not change the list it is given', () => {
    const sides = ['a', 'b', 'c'];
    roundOrder(sides, 3);
    expect(sides).toEqual(['a', 'b', 'c']);
  });
});
