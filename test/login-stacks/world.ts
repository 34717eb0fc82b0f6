/**
 * Accounts for the login-stack tests: each test gets its own, at the provider (password) and, for
 * returning customers, at the shop (with a cart of their own), so tests never share state.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@anonymous-sessions/core';
import type { Credentials } from './dance.js';
import type { Shop, World } from './stacks.js';

/** A fresh e-mail address. */
export const freshEmail = (label: string): string => `${label}.${randomUUID().slice(0, 8)}@shop.example`;

/** A returning customer: an account at the provider and a record at `shop` with `cart`. */
export async function returningCustomer(world: World, shop: Shop, cart: JsonValue = [{ sku: 'mug', qty: 1 }]): Promise<Credentials & { sub: string }> {
  const email = freshEmail('returning');
  const password = 'a-long-password';
  const account = await world.idp.accounts.create(email, password);
  if (account === undefined) throw new Error('account exists');
  shop.users.seed({ user_id: account.sub, email, app_metadata: {}, user_metadata: { cart } });
  return { email, password, sub: account.sub };
}

/** Someone who will sign up at the provider during the test. */
export function newCustomer(): Credentials {
  return { email: freshEmail('new'), password: 'a-long-password' };
}
