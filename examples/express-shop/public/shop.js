// The demo's front end. Guests use @anonymous-sessions/client in cookie mode: the server keeps the
// session token in an HttpOnly cookie, so this script never sees it; the client caches the
// short-lived access token and sends cart updates as JSON Merge Patches.
import { createAnonymousClient } from '/vendor/anonymous-sessions-client.js';

const $ = (selector) => document.querySelector(selector);
const state = { accessToken: undefined, guest: undefined, user: undefined, products: [] };
const guestClient = createAnonymousClient({
  baseUrl: '',
  clientId: 'shop-web',
  audience: 'https://api.shop.example',
  mode: 'cookie',
});

async function json(response) {
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw new Error(body.error_description ?? body.error ?? `HTTP ${response.status}`);
  return body;
}

// Loads the guest session (creating one if needed) and, unless a user is signed in, its access token.
async function loadGuest() {
  state.guest = await guestClient.getSession();
  if (!state.user) state.accessToken = await guestClient.getAccessToken();
}

const api = (path, init = {}) =>
  fetch(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${state.accessToken}`, 'Content-Type': 'application/json' } }).then(json);

const cartOf = () => {
  const cart = state.user ? state.user.user_metadata.cart : state.guest?.metadata.cart;
  return Array.isArray(cart) ? cart : [];
};

function render() {
  $('#guest-id').textContent = state.guest?.user_id ?? '…';
  $('#who-guest').hidden = Boolean(state.user);
  $('#who-user').hidden = !state.user;
  $('#account').hidden = Boolean(state.user);
  if (state.user) {
    $('#user-email').textContent = state.user.email;
    const links = state.user.app_metadata.linked_sessions ?? [];
    $('#linked-session').textContent = links.length ? `${links.at(-1).user_id} (${links.at(-1).session_id})` : 'none';
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

async function saveCart(cart) {
  if (state.user) {
    await api('/api/cart', { method: 'POST', body: JSON.stringify({ cart }) });
    state.user = { ...state.user, user_metadata: { ...state.user.user_metadata, cart } };
  } else {
    const size = cart.reduce((n, item) => n + item.qty, 0);
    await guestClient.updateSession({ metadata: { cart: cart.length ? cart : null, cart_size: size || null } });
    await loadGuest();
  }
  render();
}

async function addToCart(sku) {
  const cart = cartOf().map((item) => ({ ...item }));
  const line = cart.find((item) => item.sku === sku);
  if (line) line.qty += 1;
  else cart.push({ sku, qty: 1 });
  await saveCart(cart);
}

async function loadUser() {
  const me = await json(await fetch('/auth/me'));
  state.user = me.user ?? undefined;
  if (me.user) state.accessToken = me.access_token;
}

async function authenticate(action) {
  await fetch('/auth/start', { method: 'POST' }); // binds this guest session to the login
  const result = await json(
    await fetch(`/auth/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: $('#email').value, password: $('#password').value }),
    }),
  );
  state.user = result.user;
  state.accessToken = result.access_token;
  render();
}

async function main() {
  await loadGuest(); // creates a guest session, or continues the one in the cookie
  await loadUser();
  state.products = (await api('/api/products')).products;
  $('#products').replaceChildren(
    ...state.products.map((product) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Add';
      button.dataset.sku = product.sku;
      button.addEventListener('click', () => addToCart(product.sku).catch(report));
      li.append(`${product.name} — ${product.price.toFixed(2)}`, button);
      return li;
    }),
  );
  $('#clear-cart').addEventListener('click', () => saveCart([]).catch(report));
  $('#checkout').addEventListener('click', async () => {
    try {
      const order = await api('/api/checkout', { method: 'POST' });
      $('#checkout-result').textContent = `Ordered ${order.ordered.length} item(s). Thank you!`;
      state.user = { ...state.user, user_metadata: { ...state.user.user_metadata, cart: [] } };
      render();
    } catch (error) {
      $('#checkout-result').textContent = `${error.message} Sign up or log in to check out.`;
    }
  });
  $('#auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    authenticate(event.submitter?.dataset.action ?? 'login').catch(report);
  });
  $('#sign-out').addEventListener('click', async () => {
    await fetch('/auth/logout', { method: 'POST' });
    state.user = undefined;
    await loadGuest();
    render();
  });
  render();
}

function report(error) {
  $('#status').textContent = `Something went wrong: ${error.message}`;
}

main().catch(report);
