/**
 * Ready-made transfer hooks, so most apps write no hook code at all: `mergeCart`, `linkSessions`,
 * `copyPreferences`, and the declarative `mergeGuestMetadata({ cart: 'sumBySku', … })`. Each returns a
 * {@link TransferHook} usable as `onPreRegistration` and `onPostLogin`; `composeHooks` runs several.
 *
 * The account-already-exists case is the one that matters: a guest logs into an account that has
 * its own cart and preferences. Every recipe merges rather than overwrites, and says which side wins.
 *
 * @packageDocumentation
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../metadata/metadata.js';
import type { TransferApi, TransferEvent, TransferHook, TransferUser } from './transfer.js';

/** Which metadata of the account a recipe writes. */
export type MetadataTarget = 'app_metadata' | 'user_metadata';

/** One cart line. */
export interface CartItem {
  /** Stock-keeping unit. */
  sku: string;
  /** Quantity, a positive integer. */
  qty: number;
  /** Other fields of the line are kept from the first occurrence. */
  [field: string]: JsonValue;
}

/** The default maximum number of lines in a merged cart. */
export const MAX_CART_ITEMS = 100;

const MAX_QTY = 1_000_000;

/** Keeps the well-formed lines of a cart: `sku` a non-empty string, `qty` a positive integer. */
function cartItems(value: unknown): CartItem[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is CartItem =>
      isJsonObject(item) &&
      typeof item.sku === 'string' &&
      item.sku.length > 0 &&
      item.sku.length <= 256 &&
      typeof item.qty === 'number' &&
      Number.isInteger(item.qty) &&
      item.qty > 0,
  );
}

/**
 * Sums two carts by `sku` (account lines first, then new guest lines), drops malformed lines, and
 * caps the result at `maxItems` lines and each quantity at one million.
 */
export function sumCartsBySku(userCart: unknown, guestCart: unknown, maxItems = MAX_CART_ITEMS): CartItem[] {
  const lines = new Map<string, CartItem>();
  for (const item of [...cartItems(userCart), ...cartItems(guestCart)]) {
    const existing = lines.get(item.sku);
    if (existing) existing.qty = Math.min(MAX_QTY, existing.qty + item.qty);
    else if (lines.size < maxItems) lines.set(item.sku, { ...item, qty: Math.min(MAX_QTY, item.qty) });
  }
  return [...lines.values()];
}

const read = (user: TransferUser, target: MetadataTarget, key: string): JsonValue | undefined => {
  const metadata = user[target];
  return isJsonObject(metadata) ? metadata[key] : undefined;
};

/** Deep equality of JSON values; object key order does not matter. */
function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
}

/** Sets `key` on the account, unless it already holds exactly that value (no needless update). */
const write = (api: TransferApi, user: TransferUser, target: MetadataTarget, key: string, value: JsonValue): void => {
  if (sameJson(read(user, target, key), value)) return;
  if (target === 'app_metadata') api.user.setAppMetadata(key, value);
  else api.user.setUserMetadata(key, value);
};

/** Options of {@link mergeCart}. */
export interface MergeCartOptions {
  /** The guest metadata key holding the cart. Default `cart`. */
  from?: string;
  /** The account metadata key to merge into. Default `cart`. */
  into?: string;
  /** Which account metadata. Default `user_metadata`. */
  target?: MetadataTarget;
  /** Maximum lines. Default 100. */
  maxItems?: number;
}

/** Merges the guest's cart into the account's cart, summing quantities by `sku`. */
export function mergeCart(options: MergeCartOptions = {}): TransferHook {
  const { from = 'cart', into = 'cart', target = 'user_metadata', maxItems = MAX_CART_ITEMS } = options;
  return (event, api) => {
    const guest = cartItems(event.anonymous_session.metadata[from]);
    if (guest.length === 0) return;
    write(api, event.user, target, into, sumCartsBySku(read(event.user, target, into), guest, maxItems) as JsonValue);
  };
}

/** Options of {@link linkSessions}. */
export interface LinkSessionsOptions {
  /** Which account metadata. Default `app_metadata`. */
  target?: MetadataTarget;
  /** The key. Default `linked_sessions`. */
  key?: string;
  /** Keep at most this many links (newest kept). Default 50. */
  max?: number;
}

/** Records the guest session on the account: `{ session_id, user_id, linked_at }`, once per session. */
export function linkSessions(options: LinkSessionsOptions = {}): TransferHook {
  const { target = 'app_metadata', key = 'linked_sessions', max = 50 } = options;
  return (event, api) => {
    const existing = read(event.user, target, key);
    const links = (Array.isArray(existing) ? existing : []).filter(isJsonObject);
    const sessionId = event.anonymous_session.session_id;
    if (links.some((link) => link.session_id === sessionId)) return;
    links.push({ session_id: sessionId, user_id: event.anonymous_session.user_id, linked_at: new Date().toISOString() });
    write(api, event.user, target, key, links.slice(-max));
  };
}

/** Options of {@link copyPreferences}. */
export interface CopyPreferencesOptions {
  /** The guest metadata key. Default `preferences`. */
  from?: string;
  /** The account metadata key. Default `preferences`. */
  into?: string;
  /** Which account metadata. Default `user_metadata`. */
  target?: MetadataTarget;
  /** Default false: the account's own preferences win; the guest's fill the gaps. */
  overwrite?: boolean;
}

/** Copies the guest's preferences object into the account's, key by key. */
export function copyPreferences(options: CopyPreferencesOptions = {}): TransferHook {
  const { from = 'preferences', into = 'preferences', target = 'user_metadata', overwrite = false } = options;
  return (event, api) => {
    const guest = event.anonymous_session.metadata[from];
    if (!isJsonObject(guest)) return;
    const current = read(event.user, target, into);
    const user = isJsonObject(current) ? current : {};
    write(api, event.user, target, into, overwrite ? { ...user, ...guest } : { ...guest, ...user });
  };
}

/** How {@link mergeMetadata} combines one key. */
export type MergeStrategy =
  | 'sumBySku'
  | 'keepUser'
  | 'keepGuest'
  | 'union'
  | ((guest: JsonValue | undefined, user: JsonValue | undefined, event: TransferEvent) => JsonValue | undefined);

/** Options of {@link mergeGuestMetadata}. */
export interface MergeGuestMetadataOptions {
  /** Which account metadata. Default `user_metadata`. */
  target?: MetadataTarget;
}

/** `union` of two arrays: account items first, then new guest items, compared as JSON. */
function union(user: JsonValue | undefined, guest: JsonValue | undefined): JsonValue[] {
  const out: JsonValue[] = [];
  const seen = new Set<string>();
  for (const item of [...(Array.isArray(user) ? user : []), ...(Array.isArray(guest) ? guest : [])]) {
    const key = JSON.stringify(item);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/**
 * A declarative merge of guest metadata into the account, key by key:
 * `sumBySku` (carts), `keepUser` (the account's value wins; the guest's fills a gap), `keepGuest`
 * (the guest's latest choice wins, e.g. consents), `union` (arrays), or a function.
 * Keys absent from the guest session are left alone, and so are keys whose guest value holds
 * nothing usable (`sumBySku` without a well-formed line, `union` of a non-array) or whose merged
 * value equals the account's: an unchanged account gets no update at all.
 *
 * @example
 * ```ts
 * onPostLogin: mergeGuestMetadata({ cart: 'sumBySku', preferences: 'keepUser', recentlyViewed: 'union', consents: 'keepGuest' })
 * ```
 */
export function mergeGuestMetadata(spec: Record<string, MergeStrategy>, options: MergeGuestMetadataOptions = {}): TransferHook {
  const target = options.target ?? 'user_metadata';
  return (event, api) => {
    for (const [key, strategy] of Object.entries(spec)) {
      const guest = event.anonymous_session.metadata[key];
      if (guest === undefined) continue;
      const user = read(event.user, target, key);
      let value: JsonValue | undefined;
      // A guest value with nothing usable in it (no well-formed cart line, not an array) changes nothing.
      if (strategy === 'sumBySku') value = cartItems(guest).length === 0 ? undefined : (sumCartsBySku(user, guest) as JsonValue);
      else if (strategy === 'keepUser') value = user === undefined ? guest : isJsonObject(user) && isJsonObject(guest) ? { ...guest, ...user } : user;
      else if (strategy === 'keepGuest') value = isJsonObject(user) && isJsonObject(guest) ? { ...user, ...guest } : guest;
      else if (strategy === 'union') value = Array.isArray(guest) ? union(user, guest) : undefined;
      else value = strategy(guest, user, event);
      if (value !== undefined) write(api, event.user, target, key, value);
    }
  };
}

/** Runs several hooks in order on the same event and api. */
export function composeHooks(...hooks: TransferHook[]): TransferHook {
  return async (event, api) => {
    for (const hook of hooks) await hook(event, api);
  };
}

/** The recipes' metadata shape, for hosts that type their own. */
export type { JsonObject };

/**
 * @deprecated Renamed {@link mergeGuestMetadata} (the store operation `mergeMetadata` is another
 * thing); this alias goes in the next release.
 */
export const mergeMetadata = mergeGuestMetadata;
/** @deprecated Renamed {@link MergeGuestMetadataOptions}; this alias goes in the next release. */
export type MergeMetadataOptions = MergeGuestMetadataOptions;
