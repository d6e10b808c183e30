import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { lookup } from 'mrmime';

/**
 * A small static file server for the built site, close to what a plain
 * static host does: files served as they are (a .gz file is a gzip download,
 * not a compressed response), index.html for directories, the site's own
 * 404.html with status 404 for anything missing.
 */

export interface StaticServer {
  /** Origin the site is served from, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  close: () => Promise<void>;
}

export interface StaticServerOptions {
  /** Directory to serve (the Astro build output). */
  root: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

/** Types that matter to the site, stated here rather than left to a lookup table. */
const explicitTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream',
  '.md': 'text/markdown; charset=utf-8',
};

export function contentType(path: string): string {
  const ext = extname(path).toLowerCase();
  return explicitTypes[ext] ?? lookup(path) ?? 'application/octet-stream';
}

async function fileAt(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isFile()) return path;
    if (info.isDirectory()) return fileAt(join(path, 'index.html'));
  } catch {
    // Missing: fall through to undefined.
  }
  return undefined;
}

/** Map a URL path to a file under root, refusing anything that escapes it. */
async function resolveRequest(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const candidate = resolve(root, `.${decoded}`);
  if (candidate !== root && !candidate.startsWith(root + sep)) return undefined;
  return (await fileAt(candidate)) ?? (await fileAt(`${candidate}.html`));
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  file: string,
  size: number,
) {
  res.writeHead(status, {
    'Content-Type': contentType(file),
    'Content-Length': size,
    'Cache-Control': 'no-store',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}

export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const root = resolve(options.root);
  const notFoundPage = await fileAt(join(root, '404.html'));

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      const { pathname } = new URL(req.url ?? '/', 'http://localhost');
      const file = await resolveRequest(root, pathname);
      if (file) {
        send(res, req, 200, file, (await stat(file)).size);
      } else if (notFoundPage) {
        send(res, req, 404, notFoundPage, (await stat(notFoundPage)).size);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      }
    })().catch((error: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(String(error));
    });
  });

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((error) => (error ? fail(error) : done()));
      }),
  };
}
