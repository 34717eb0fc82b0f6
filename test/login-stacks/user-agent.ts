/**
 * A scripted browser for the HTTP-level login-stack tests: one cookie jar across origins (host,
 * path, Max-Age, deletion), redirects followed by hand so every hop can be inspected, HTML forms
 * of the identity provider submitted, and the Fetch Metadata header a real browser sends
 * (`Sec-Fetch-Site`: `none` for a typed URL, `cross-site` after a hop through another site). The
 * Chromium tests drive the same flows in a real browser; this one lets the attacks cut the dance
 * at any point.
 */

/** One HTTP exchange of a navigation. */
export interface Hop {
  method: string;
  url: string;
  status: number;
  /** The `Location` header, if any. */
  location?: string;
  /** The raw `Set-Cookie` values. */
  setCookies: string[];
  /** The other response headers (names in lower case). */
  headers: Record<string, string>;
}

/** Where a navigation ended. */
export interface Landing {
  /** The final URL (or the redirect target it stopped before). */
  url: string;
  status: number;
  /** The final response's body (empty when it stopped before a redirect target). */
  body: string;
  /** Every exchange, in order. */
  hops: Hop[];
  /** True when it stopped before a redirect into `stopAt`. */
  stopped: boolean;
}

interface StoredCookie {
  host: string;
  name: string;
  value: string;
  path: string;
  expires: number | undefined;
}

/** `Sec-Fetch-Site` as a browser computes it for a navigation. */
export type FetchSite = 'none' | 'same-origin' | 'same-site' | 'cross-site';

/** Options of a navigation. */
export interface NavigateOptions {
  /** Default GET; POST with `form`. */
  method?: 'GET' | 'POST';
  /** An `application/x-www-form-urlencoded` body. */
  form?: Record<string, string>;
  /** Who started it: `none` (typed, bookmark, another app) or the page's URL. Default: the current page. */
  from?: 'none' | string;
  /** Stop before following a redirect from another origin into this one (the way back from the provider). */
  stopAt?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Default true; false sends no `Sec-Fetch-*` headers (an old browser, a bare HTTP client). */
  fetchMetadata?: boolean;
}

const siteOf = (url: URL): string => url.hostname; // loopback test hosts: the host name is the site

/** A browser with one cookie jar. */
export class UserAgent {
  readonly name: string;
  readonly #cookies: StoredCookie[] = [];
  /** The page the browser is on, for `Sec-Fetch-Site` and form actions. */
  current: string | undefined;
  /** Every exchange this browser made, in order (navigations and fetches). */
  readonly log: Hop[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Stores a response's cookies for `url`. */
  store(url: URL, setCookies: readonly string[]): void {
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      let path = '/';
      let expires: number | undefined;
      for (const attribute of attributes) {
        const [key, raw = ''] = attribute.split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = raw;
        if (lower === 'max-age') expires = Date.now() + Number(raw) * 1000;
        if (lower === 'expires' && expires === undefined) expires = Date.parse(raw);
      }
      const existing = this.#cookies.findIndex((cookie) => cookie.host === url.hostname && cookie.name === name && cookie.path === path);
      if (existing >= 0) this.#cookies.splice(existing, 1);
      if (expires !== undefined && expires <= Date.now()) continue;
      this.#cookies.push({ host: url.hostname, name, value, path, expires });
    }
  }

  /** The `Cookie` header for `url`. */
  cookieHeader(url: URL): string {
    const now = Date.now();
    return this.#cookies
      .filter((cookie) => cookie.host === url.hostname && url.pathname.startsWith(cookie.path) && (cookie.expires === undefined || cookie.expires > now))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  /** A cookie's value for `origin`. */
  cookie(origin: string, name: string): string | undefined {
    const host = new URL(origin).hostname;
    return this.#cookies.find((cookie) => cookie.host === host && cookie.name === name)?.value;
  }

  /** Every cookie name stored for `origin`. */
  cookieNames(origin: string): string[] {
    const host = new URL(origin).hostname;
    return this.#cookies.filter((cookie) => cookie.host === host).map((cookie) => cookie.name);
  }

  /** Sets (plants) a cookie for `origin`, path `/`. */
  setCookie(origin: string, name: string, value: string): void {
    this.store(new URL(origin), [`${name}=${value}; Path=/`]);
  }

  /** Removes a cookie for `origin`. */
  deleteCookie(origin: string, name: string): void {
    const host = new URL(origin).hostname;
    for (let i = this.#cookies.length - 1; i >= 0; i -= 1) {
      if (this.#cookies[i]!.host === host && this.#cookies[i]!.name === name) this.#cookies.splice(i, 1);
    }
  }

  /** A page navigation (link, form, typed URL), following redirects by hand. */
  async navigate(target: string, options: NavigateOptions = {}): Promise<Landing> {
    let url = new URL(target, this.current);
    let method = options.method ?? (options.form ? 'POST' : 'GET');
    let body: string | undefined = options.form ? new URLSearchParams(options.form).toString() : undefined;
    const initiator = options.from === 'none' ? undefined : new URL(options.from ?? this.current ?? url.href);
    let site: FetchSite = initiator === undefined ? 'none' : fetchSite(initiator, url);
    const hops: Hop[] = [];
    for (let redirects = 0; redirects < 20; redirects += 1) {
      const headers: Record<string, string> = {
        'user-agent': `login-stacks-test/${this.name}`,
        ...(options.fetchMetadata === false ? {} : { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' }),
        ...options.headers,
      };
      const cookie = this.cookieHeader(url);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers.origin = this.current ? new URL(this.current).origin : 'null';
      }
      const response = await fetch(url, { method, headers, body, redirect: 'manual' });
      const setCookies = response.headers.getSetCookie();
      this.store(url, setCookies);
      const location = response.headers.get('location') ?? undefined;
      const responseHeaders = Object.fromEntries([...response.headers].filter(([name]) => name !== 'set-cookie'));
      const hop: Hop = { method, url: url.href, status: response.status, ...(location === undefined ? {} : { location }), setCookies, headers: responseHeaders };
      hops.push(hop);
      this.log.push(hop);
      if (location !== undefined && response.status >= 300 && response.status < 400) {
        await response.arrayBuffer();
        const next = new URL(location, url);
        if (options.stopAt !== undefined && next.origin === new URL(options.stopAt).origin && url.origin !== next.origin) {
          this.current = url.href;
          return { url: next.href, status: response.status, body: '', hops, stopped: true };
        }
        // A redirect keeps the worst site relation of its chain, as browsers do.
        if (site !== 'none' || initiator !== undefined) site = worse(site, fetchSite(url, next));
        if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      const text = await response.text();
      this.current = url.href;
      return { url: url.href, status: response.status, body: text, hops, stopped: false };
    }
    throw new Error('too many redirects');
  }

  /** A same-origin `fetch` from the current page (the page's scripts), with the cookies. */
  async fetch(target: string, init: { method?: string; json?: unknown } = {}): Promise<Response> {
    const url = new URL(target, this.current);
    const headers: Record<string, string> = { 'user-agent': `login-stacks-test/${this.name}`, 'sec-fetch-site': 'same-origin', origin: url.origin };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const method = init.method ?? (init.json === undefined ? 'GET' : 'POST');
    const response = await fetch(url, { method, headers, body: init.json === undefined ? undefined : JSON.stringify(init.json), redirect: 'manual' });
    const setCookies = response.headers.getSetCookie();
    this.store(url, setCookies);
    const responseHeaders = Object.fromEntries([...response.headers].filter(([name]) => name !== 'set-cookie'));
    this.log.push({ method, url: url.href, status: response.status, setCookies, headers: responseHeaders });
    return response;
  }
}

function fetchSite(from: URL, to: URL): FetchSite {
  if (from.origin === to.origin) return 'same-origin';
  return siteOf(from) === siteOf(to) ? 'same-site' : 'cross-site';
}

const ORDER: FetchSite[] = ['none', 'same-origin', 'same-site', 'cross-site'];
const worse = (a: FetchSite, b: FetchSite): FetchSite => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b);

/** The `action` of the form whose submit button has `id`, on an HTML page. */
export function formAction(html: string, buttonId: string): string {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
    if (match[2]!.includes(`id="${buttonId}"`)) return match[1]!.replace(/&amp;/g, '&');
  }
  throw new Error(`no form with #${buttonId} on the page:\n${html.slice(0, 500)}`);
}
