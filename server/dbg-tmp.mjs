import net from 'node:net';
import http from 'node:http';
import Fastify from 'fastify';
const mode = process.argv[2];
let server;
if (mode === 'node') { server = http.createServer({ connectionsCheckingInterval: 200, requestTimeout: 400 }, (req, res) => { req.on('data', () => {}); req.on('end', () => res.end('ok')); }); await new Promise(r => server.listen(0, '127.0.0.1', r)); }
else { const app = Fastify({ requestTimeout: 400, http: { connectionsCheckingInterval: 200 } }); app.post('/x', async () => ({ ok: 1 })); await app.listen({ port: 0, host: '127.0.0.1' }); server = app.server; }
console.log('rt', server.requestTimeout, server.headersTimeout, server.connectionsCheckingInterval, server.listenerCount('clientError'), server.listenerCount('request'));
const s = net.connect(server.address().port, '127.0.0.1'); const t0 = Date.now();
s.on('close', () => { console.log('closed after', Date.now() - t0); process.exit(0); });
s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n');
setInterval(() => s.writable && s.write(' '), 100);
setTimeout(() => { console.log('not closed'); process.exit(1); }, 3000);
