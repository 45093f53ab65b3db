import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The web dashboard's static files (built by scripts/build-dashboard.mjs into dist/src/dashboard/public),
 * served at `/` (index.html) and `/assets/...`. The allow-list is the set of files that folder held when
 * first asked, keyed by their exact URL path: a request's path is looked up, never joined to a file path,
 * so no request can name a file outside it.
 */
export const DASHBOARD_ROOT = fileURLToPath(new URL("../dashboard/public/", import.meta.url));

/** Content types by extension; files of other kinds are never served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Scripts, styles and data only from this origin; nothing inline; no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The most files and bytes the allow-list holds (the built dashboard is far below both). */
const MAX_FILES = 256;
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

interface Asset {
  body: Buffer;
  contentType: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** URL path → file, read once. Empty when the dashboard was not built. */
export function loadDashboardAssets(root: string = DASHBOARD_ROOT): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let total = 0;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (!SAFE_NAME.test(name)) continue;
      const file = join(dir, name);
      const stats = statSync(file);
      if (stats.isDirectory()) {
        walk(file);
        continue;
      }
      const contentType = CONTENT_TYPES[name.slice(name.lastIndexOf("."))];
      if (!stats.isFile() || contentType === undefined) continue;
      if (assets.size >= MAX_FILES || total + stats.size > MAX_TOTAL_BYTES) return;
      const urlPath = `/${relative(root, file).split(sep).join("/")}`;
      const body = readFileSync(file);
      total += body.length;
      assets.set(urlPath === "/index.html" ? "/" : urlPath, { body, contentType });
    }
  };
  walk(root);
  return assets;
}

/** Whether `path` is the dashboard's: `/`, `/index.html` or under `/assets/`. */
export function isDashboardPath(path: string): boolean {
  return path === "/" || path === "/index.html" || path.startsWith("/assets/");
}

/**
 * Answers a GET/HEAD for a dashboard path from `assets`; false when the path is not one of them (the
 * caller answers 404).
 */
export function serveDashboardAsset(
  assets: ReadonlyMap<string, Asset>,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const asset = assets.get(path === "/index.html" ? "/" : path);
  if (asset === undefined) return false;
  response.writeHead(200, {
    "content-type": asset.contentType,
    "content-length": asset.body.length,
    "content-security-policy": DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
  });
  response.end(request.method === "HEAD" ? undefined : asset.body);
  return true;
}
