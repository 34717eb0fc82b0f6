// The demo's front end: cookie mode. The server keeps the session token in an HttpOnly cookie, so
// this script never sees it; it only holds the short-lived access token in memory.
const CLIENT_ID = 'shop-web';
let accessToken;

async function token(body = {}) {
  const response = await fetch('/anonymous/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: CLIENT_ID, ...body }),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error_description ?? json.error);
  accessToken = json.access_token;
  return json;
}

async function session() {
  const response = await fetch('/anonymous/session');
  return response.ok ? response.json() : undefined;
}

function render(current, products) {
  document.querySelector('#guest-id').textContent = current.user_id;
  const cart = Array.isArray(current.metadata.cart) ? current.metadata.cart : [];
  const cartList = document.querySelector('#cart');
  cartList.replaceChildren(
    ...cart.map((item) => {
      const li = document.createElement('li');
      const product = products.find((p) => p.sku === item.sku);
      li.textContent = `${product ? product.name : item.sku} × ${item.qty}`;
      li.dataset.sku = item.sku;
      return li;
    }),
  );
  document.querySelector('#cart-empty').hidden = cart.length > 0;
}

async function main() {
  await token(); // creates a session, or continues the one in the cookie
  const products = (
    await (await fetch('/api/products', { headers: { Authorization: `Bearer ${accessToken}` } })).json()
  ).products;
  let current = await session();

  const list = document.querySelector('#products');
  list.replaceChildren(
    ...products.map((product) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Add';
      button.dataset.sku = product.sku;
      button.addEventListener('click', async () => {
        const cart = Array.isArray(current.metadata.cart) ? [...current.metadata.cart] : [];
        const line = cart.find((item) => item.sku === product.sku);
        if (line) line.qty += 1;
        else cart.push({ sku: product.sku, qty: 1 });
        await token({ metadata: { cart, cart_size: cart.reduce((n, item) => n + item.qty, 0) } });
        current = await session();
        render(current, products);
      });
      li.append(`${product.name} — ${product.price.toFixed(2)}`, button);
      return li;
    }),
  );
  document.querySelector('#clear-cart').addEventListener('click', async () => {
    await token({ metadata: { cart: null, cart_size: null } });
    current = await session();
    render(current, products);
  });
  document.querySelector('#logout').addEventListener('click', async () => {
    await fetch('/anonymous/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID }),
    });
    await token();
    current = await session();
    render(current, products);
  });
  render(current, products);
}

main().catch((error) => {
  document.querySelector('#status').textContent = `Something went wrong: ${error.message}`;
});
