/**
 * The page served at `/`. On a relay whose demo merchant runs the sandbox: the demo page, the
 * widget as a merchant would embed it (plain, themed, in Swahili), the sandbox numbers, and the
 * snippet to copy. The plain checkout is the only one in the page itself (the end-to-end tests
 * drive it by its label and button); the themed and Swahili ones are the same snippets in frames
 * of their own, as on another shop's page. On any other relay: a short page with no checkout
 * (`relayPage`), since a Pay there would send a real prompt from the merchant's shortcode to
 * whatever number a visitor typed.
 */
const TEST_NUMBERS: [string, string][] = [
  ['0708374149', 'paid, with an M-Pesa receipt (any number not listed here too)'],
  ['0700000001', 'cancelled by the customer (1032)'],
  ['0700000002', 'insufficient funds (1)'],
  ['0700000003', 'wrong PIN (2001)'],
  ['0700000004', 'phone unreachable, no answer (1037)'],
  ['0700000005', 'no callback: only the status query finds it paid (slower)'],
  ['0700000006', 'paid, and the callback arrives twice'],
];

const THEME = `stk-pay {
  --stk-pay-accent: #6a2c91;
  --stk-pay-accent-text: #ffffff;
  --stk-pay-text: #2b1d0e;
  --stk-pay-muted: #5e4b3a;
  --stk-pay-background: #fdf8f2;
  --stk-pay-border: #a08c7a;
  --stk-pay-radius: 1rem;
  --stk-pay-font: Georgia, 'Times New Roman', serif;
  --stk-pay-spacing: 1.25rem;
}
stk-pay::part(button) { text-transform: uppercase; letter-spacing: 0.05em; }`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A snippet shown as code (relay URLs filled in by the page's script) and run in a frame. */
function example(title: string, snippet: string): string {
  // The frame sizes itself to the checkout; same origin (srcdoc), so it pays through this relay.
  const frame = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>:root { color-scheme: light dark; } body { margin: 0; padding: 4px; font-family: system-ui, sans-serif; }</style></head><body>
${snippet}
<script>new ResizeObserver(() => { frameElement.style.height = Math.ceil(document.body.getBoundingClientRect().height) + 'px'; }).observe(document.body);</script>
</body></html>`;
  return `<h3>${title}</h3>
<iframe class="example" title="${escapeHtml(title)} checkout" srcdoc="${escapeHtml(frame)}"></iframe>
<pre class="snippet">${escapeHtml(snippet.replaceAll('src="/', 'src="${RELAY}/'))}</pre>`;
}

export function demoPage(publishableKey: string): string {
  const key = escapeHtml(publishableKey);
  const rows = TEST_NUMBERS.map(([phone, outcome]) => `<tr><td><code>${phone}</code></td><td>${outcome}</td></tr>`).join('\n');
  const themed = example(
    'Themed',
    `<style>\n${THEME}\n</style>
<script src="/stk-pay.js"></script>
<stk-pay amount="1200" reference="INV-10" description="Kikapu cha sokoni" publishable-key="${key}"></stk-pay>`,
  );
  const swahili = example(
    'Kiswahili, as an ES module',
    `<script type="module" src="/stk-pay.mjs"></script>
<stk-pay lang="sw" amount="500" reference="INV-11" description="Vocha ya muda wa maongezi" publishable-key="${key}"></stk-pay>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stk-pay demo shop</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
  body { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; }
  .lede { margin-top: 0; opacity: .8; }
  table { border-collapse: collapse; width: 100%; font-size: .95rem; }
  td, th { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid rgba(127,127,127,.3); vertical-align: top; }
  pre { background: rgba(127,127,127,.12); padding: .75rem; overflow-x: auto; font-size: .85rem; }
  iframe.example { display: block; width: 100%; max-width: 25rem; height: 16rem; border: 0; }
  #log { min-height: 3rem; }
</style>
</head>
<body>
<h1>Demo shop</h1>
<p class="lede">Invoice INV-9, KES 250. This relay runs the <strong>sandbox</strong> provider: no money moves and no real phone is prompted.</p>

<stk-pay amount="250" reference="INV-9" description="Demo order" publishable-key="${key}"></stk-pay>
<p><button type="button" id="start-over">Start over</button> (calls <code>reset()</code>, to try another number after a payment)</p>

<h2>Sandbox test numbers</h2>
<table>
<thead><tr><th>Phone</th><th>Outcome</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>

<h2>Put it on your site</h2>
<p>One of the two script tags (a classic script, or an ES module), then the element:</p>
<pre class="snippet">&lt;script src="\${RELAY}/stk-pay.js"&gt;&lt;/script&gt;
&lt;!-- or --&gt;
&lt;script type="module" src="\${RELAY}/stk-pay.mjs"&gt;&lt;/script&gt;

&lt;stk-pay amount="250" reference="INV-9" description="Demo order" publishable-key="${key}"&gt;&lt;/stk-pay&gt;</pre>
<p>Attributes: <code>amount</code>, <code>reference</code>, <code>description</code>, <code>publishable-key</code>,
<code>relay</code>, <code>token</code>, <code>phone</code>, <code>lang</code> (<code>en</code> or <code>sw</code>), <code>disabled</code>.
Theme it with <code>--stk-pay-*</code> custom properties and <code>::part()</code>:</p>
${themed}
${swahili}

<h2>Events</h2>
<pre id="log" aria-live="off"></pre>
<script>
  for (const pre of document.querySelectorAll('pre.snippet')) pre.textContent = pre.textContent.replaceAll('\${RELAY}', location.origin);
  const log = document.getElementById('log');
  for (const name of ['stk-pay-submit', 'stk-pay-status', 'stk-pay-success', 'stk-pay-failure', 'stk-pay-error']) {
    document.addEventListener(name, (event) => {
      const p = event.detail || {};
      log.textContent += name + '  ' + (p.status || p.code || '') + (p.receipt ? '  receipt ' + p.receipt : '') + (p.failure ? '  ' + p.failure.code : '') + '\\n';
    });
  }
  document.getElementById('start-over').addEventListener('click', () => document.querySelector('stk-pay').reset());
</script>
<script src="/stk-pay.js"></script>
</body>
</html>
`;
}

/**
 * `/` on a relay that takes real payments (or whose demo merchant is not the sandbox's): which
 * providers it runs, and where to read more. No checkout: payments start on the merchants' sites.
 */
export function relayPage(providerNames: string[]): string {
  const real = providerNames.filter((name) => name !== 'sandbox');
  const names = (list: string[]) => list.map((name) => `<strong>${escapeHtml(name)}</strong>`).join(', ');
  const what =
    real.length > 0
      ? `This relay takes real M-Pesa payments, through ${real.length === 1 ? 'the provider' : 'the providers'} ${names(real)}${real.length < providerNames.length ? ' (and the sandbox for test merchants)' : ''}.`
      : 'This relay runs the <strong>sandbox</strong> provider for its merchants: no money moves.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stk-pay relay</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
  body { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  h1 { font-size: 1.5rem; }
</style>
</head>
<body>
<h1>stk-pay relay</h1>
<p>${what}</p>
<p>Payments are made from the checkout on the merchant's own website; there is no checkout on this page.</p>
<p>API description: <a href="/docs">/docs</a>.</p>
</body>
</html>
`;
}
