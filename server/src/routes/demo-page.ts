/** The demo page served at `/`: the widget as a merchant would embed it, and the sandbox numbers. */
const TEST_NUMBERS: [string, string][] = [
  ['0708374149', 'paid, with an M-Pesa receipt (any number not listed here too)'],
  ['0700000001', 'cancelled by the customer (1032)'],
  ['0700000002', 'insufficient funds (1)'],
  ['0700000003', 'wrong PIN (2001)'],
  ['0700000004', 'phone unreachable, no answer (1037)'],
  ['0700000005', 'no callback: only the status query finds it paid (slower)'],
  ['0700000006', 'paid, and the callback arrives twice'],
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function demoPage(publishableKey: string): string {
  const rows = TEST_NUMBERS.map(([phone, outcome]) => `<tr><td><code>${phone}</code></td><td>${outcome}</td></tr>`).join('\n');
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
  #log { min-height: 3rem; }
</style>
</head>
<body>
<h1>Demo shop</h1>
<p class="lede">Invoice INV-9, KES 250. This relay runs the <strong>sandbox</strong> provider: no money moves and no real phone is prompted.</p>

<stk-pay amount="250" reference="INV-9" description="Demo order" publishable-key="${escapeHtml(publishableKey)}"></stk-pay>

<h2>Sandbox test numbers</h2>
<table>
<thead><tr><th>Phone</th><th>Outcome</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>

<h2>Embed it on your site</h2>
<pre>&lt;script src="${'${RELAY}'}/stk-pay.js"&gt;&lt;/script&gt;
&lt;stk-pay amount="250" reference="INV-9" publishable-key="${escapeHtml(publishableKey)}"&gt;&lt;/stk-pay&gt;</pre>

<h2>Events</h2>
<pre id="log" aria-live="off"></pre>
<script>
  document.querySelector('pre').textContent = document.querySelector('pre').textContent.replace('\${RELAY}', location.origin);
  const log = document.getElementById('log');
  for (const name of ['stk-pay-status', 'stk-pay-success', 'stk-pay-failure']) {
    document.addEventListener(name, (event) => {
      const p = event.detail || {};
      log.textContent += name + '  ' + (p.status || '') + (p.receipt ? '  receipt ' + p.receipt : '') + (p.failure ? '  ' + p.failure.code : '') + '\\n';
    });
  }
</script>
<script src="/stk-pay.js"></script>
</body>
</html>
`;
}
