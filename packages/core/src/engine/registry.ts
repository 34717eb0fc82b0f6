/**
 * The clients and APIs an engine serves, looked up in one place: a static list (a map built once)
 * or a host resolver (a database query per lookup). A request gets its own {@link RequestClients}
 * view, which looks each client up at most once, so the cross-site rule, the token request and CORS
 * share one resolver call instead of making three.
 *
 * @packageDocumentation
 */
import { AccessDeniedError, InvalidClientError, InvalidRequestError, InvalidTargetError, ServerError } from '../errors/errors.js';
import { parseClient, parseResourceServer, type Client, type OriginCheck, type ResolvedConfig, type ResourceServer } from './config.js';

/**
 * One request's view of the clients: each client is looked up at most once however many times the
 * request asks (the cross-site rule, the token request, the CORS headers).
 */
export interface RequestClients {
  /** The client `clientId`, or `undefined` when unknown. A malformed resolver answer is a server error. */
  find(clientId: string): Promise<Client | undefined>;
  /**
   * Whether `origin` may call the endpoints cross-origin: it is in the `allowedOrigins` of the
   * client `clientId`, or, without a client id, of any statically configured client. A failing
   * lookup answers no.
   */
  isAllowedOrigin(origin: string, clientId?: string): Promise<boolean>;
}

/** The engine's clients and APIs. */
export class ClientRegistry {
  readonly #clients: ReadonlyMap<string, Client> | undefined;
  readonly #clientResolver: ((clientId: string) => unknown) | undefined;
  readonly #resourceServers: ReadonlyMap<string, ResourceServer> | undefined;
  readonly #resourceServerResolver: ((audience: string) => unknown) | undefined;
  readonly #staticOrigins: ReadonlySet<string>;
  readonly #extraOrigins: ResolvedConfig['allowedOrigins'];

  constructor(config: Pick<ResolvedConfig, 'clients' | 'resourceServers' | 'allowedOrigins'>) {
    this.#extraOrigins = config.allowedOrigins;
    if (Array.isArray(config.clients)) this.#clients = new Map(config.clients.map((client) => [client.clientId, client]));
    else this.#clientResolver = config.clients as (clientId: string) => unknown;
    if (Array.isArray(config.resourceServers)) this.#resourceServers = new Map(config.resourceServers.map((api) => [api.audience, api]));
    else this.#resourceServerResolver = config.resourceServers as (audience: string) => unknown;
    this.#staticOrigins = new Set([...(this.#clients?.values() ?? [])].flatMap((client) => client.allowedOrigins));
  }

  /** Looks a client up; `undefined` when unknown. A malformed resolver answer is a server error. */
  async findClient(clientId: string): Promise<Client | undefined> {
    if (this.#clients) return this.#clients.get(clientId);
    const found = await this.#clientResolver!(clientId);
    if (found === undefined || found === null) return undefined;
    const parsed = parseClient(found);
    if (!parsed.ok) throw new ServerError({ cause: new Error(`clients(${JSON.stringify(clientId)}) returned an invalid client`) });
    return parsed.value;
  }

  /**
   * A view for one request that looks each client up at most once.
   */
  forRequest(): RequestClients {
    const lookups = new Map<string, Promise<Client | undefined>>();
    const find = (clientId: string): Promise<Client | undefined> => {
      let lookup = lookups.get(clientId);
      if (lookup === undefined) {
        lookup = this.findClient(clientId);
        lookups.set(clientId, lookup);
      }
      return lookup;
    };
    return {
      find,
      isAllowedOrigin: async (origin, clientId) => {
        if (clientId === undefined) return this.#isAllowedForAnyClient(origin);
        const client = await find(clientId).catch(() => undefined);
        return client?.allowedOrigins.includes(origin) ?? false;
      },
    };
  }

  /**
   * Without a client id (a CORS preflight, `GET /anonymous/session`): an origin of any statically
   * configured client, or one of the engine's own `allowedOrigins` (exact origins or a function).
   */
  async #isAllowedForAnyClient(origin: string): Promise<boolean> {
    if (this.#staticOrigins.has(origin)) return true;
    const extra = this.#extraOrigins;
    if (extra === undefined) return false;
    return Array.isArray(extra) ? extra.includes(origin) : (await (extra as OriginCheck)(origin)) === true;
  }

  /**
   * The client `clientId`, through `clients` (one request's view) when given.
   *
   * @throws InvalidClientError when unknown.
   */
  async requireClient(clientId: string, clients?: RequestClients): Promise<Client> {
    const client = await (clients ? clients.find(clientId) : this.findClient(clientId));
    if (client === undefined) throw new InvalidClientError();
    return client;
  }

  /**
   * The API a token request names (or the only one, when it names none).
   *
   * @throws InvalidRequestError without an audience on a server of several APIs; InvalidTargetError
   *   for an unknown one; AccessDeniedError for an API that does not accept guests.
   */
  async requireResourceServer(audience: string | undefined): Promise<ResourceServer> {
    let api: ResourceServer | undefined;
    if (audience === undefined) {
      if (this.#resourceServers?.size !== 1) {
        throw new InvalidRequestError('audience is required: this server has more than one API.');
      }
      api = this.#resourceServers.values().next().value;
    } else if (this.#resourceServers) {
      api = this.#resourceServers.get(audience);
    } else {
      const found = await this.#resourceServerResolver!(audience);
      if (found !== undefined && found !== null) {
        const parsed = parseResourceServer(found);
        if (!parsed.ok) throw new ServerError({ cause: new Error('resourceServers() returned an invalid resource server') });
        api = parsed.value;
      }
    }
    if (api === undefined) throw new InvalidTargetError();
    if (!api.allowAnonymousAccess) throw new AccessDeniedError();
    return api;
  }
}
