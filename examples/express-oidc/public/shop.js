// The page of the OpenID Connect shop. Guests use @anonymous-sessions/client in cookie mode (the
// session token stays in the server's HttpOnly cookie); signing in is a plain link to /login, which
// redirects to the identity provider on its own origin and back.
import { createAnonymousClient } from '/vendor/anonymous-sessions-client.js';

const $ = (selector) => document.querySelector(selector);
const state = { guest: undefined, user: undefined, transfer: undefined, products: [] };
const guestClient = createAnonymousClient({ baseUrl: '', clientId: 'shop-web', audience: 'https://api.shop.example', mode: 'cookie' });

async function json(response) {
  const body = await response.json();
  if (!response.ok) throw new Error(body.error_description ?? body.error ?? `HTTP ${response.status}`);
  return body;
}

const cartOf = () => {
  const cart = state.user ? state.user.cart : state.guest?.metadata.cart;
  return Array.isArray(cart) ? cart : [];
};

const TRANSFER_TEXT = {
  true: 'Your guest cart was moved into your account.',
  already_transferred: 'This guest session was already moved into your account: nothing changed.',
  no_session: 'You had no guest session.',
  not_bound: 'The guest session was not the one this login started with: nothing was moved.',
};

function render() {
  $('#guest-id').textContent = state.guest?.user_id ?? '…';
  $('#who-guest').hidden = Boolean(state.user);
  $('#who-user').hidden = !state.user;
  if (state.user) {
    $('#user-email').textContent = state.user.email;
    const transfer = state.transfer;
    $('#transfer').textContent = transfer ? (TRANSFER_TEXT[transfer.transferred ? 'true' : transfer.reason] ?? `Nothing moved (${transfer.reason}).`) : '';
    $('#transfer').dataset.result = transfer ? (transfer.transferred ? 'transferred' : transfer.reason) : '';
  }
  $('#cart-title').textContent = state.user ? 'Your account’s cart' : 'Guest cart';
  const cart = cartOf();
  $('#cart').replaceChildren(
    ...cart.map((item) => {
      const li = document.createElement('li');
      const product = state.products.find((p) => p.sku === item.sku);
      li.textContent = `${product ? product.name : item.sku} × ${item.qty}`;
      li.dataset.sku = item.sku;
      li.dataset.qty = String(item.qty);
      return li;
    }),
  );
  $('#cart-empty').hidden = cart.length > 0;
}

async function addToCart(sku) {
  const cart = cartOf().map((item) => ({ ...item }));
  const line = cart.find((item) => item.sku === sku);
  if (line) line.qty += 1;
  else cart.push({ sku, qty: 1 });
  await guestClient.updateSession({ metadata: { cart } });
  state.guest = await guestClient.getSession();
  render();
}

async function main() {
  const me = await json(await fetch('/auth/me'));
  state.user = me.user ?? undefined;
  state.transfer = me.transfer ?? undefined;
  if (!state.user) state.guest = await guestClient.getSession(); // creates a guest session, or continues the cookie's
  state.products = (await json(await fetch('/api/products'))).products;
  $('#products').replaceChildren(
    ...state.products.map((product) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Add';
      button.dataset.sku = product.sku;
      button.disabled = Boolean(state.user);
      button.addEventListener('click', () => addToCart(product.sku).catch(report));
      li.append(`${product.name} — ${product.price.toFixed(2)}`, button);
      return li;
    }),
  );
  render();
  document.body.dataset.ready = 'true';
}

function report(error) {
  $('#status').textContent = `Something went wrong: ${error.message}`;
}

main().catch(report);
