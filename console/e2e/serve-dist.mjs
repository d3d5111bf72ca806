// Until `cloudpact serve` serves the console at `/` itself, e2e/run.sh puts this in front
// of it: dist/ at `/`, everything else (/v1, /ledger, /healthz) passed through unchanged to
// the API, so the browser sees one origin exactly as it will with the real server.
//   node e2e/serve-dist.mjs DIST_DIR API_URL PORT
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const [dist, api, port] = process.argv.slice(2);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const target = new URL(api);
// The same policy `cloudpact serve` sends with the console's HTML (docs/API.md), so that the
// tests see what the browser will enforce with the real server. CLOUDPACT_CSP overrides it.
const csp =
  process.env.CLOUDPACT_CSP ??
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/ledger/') || url.pathname === '/healthz') {
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      req.pipe(up);
      return;
    }
    const rel = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const file = path.resolve(dist, rel);
    if (!file.startsWith(path.resolve(dist))) {
      res.writeHead(404);
      return res.end();
    }
    try {
      const body = await readFile(file);
      const headers = { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' };
      if (file.endsWith('.html')) headers['content-security-policy'] = csp;
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  })
  .listen(Number(port), '127.0.0.1', () => console.log(`console on http://127.0.0.1:${port}, API ${api}`));
