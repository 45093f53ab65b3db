// Lays out the web dashboard's files in dist/src/dashboard/public, mirroring the URLs the server answers
// (src/server/dashboard-assets.ts): index.html at `/`, the compiled modules under /assets/dashboard/,
// api-types.js (the one server module the page imports) under /assets/server/, and uPlot's ESM build and
// stylesheet from node_modules under /assets/vendor/ (no CDN: the page works offline). The page imports
// "uplot" by its package name for the type checker; here that specifier becomes the vendored file's path.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, ".build", "dashboard");
const out = join(root, "dist", "src", "dashboard", "public");
const uplotDist = dirname(createRequire(import.meta.url).resolve("uplot/dist/uPlot.esm.js"));

rmSync(out, { recursive: true, force: true });
for (const dir of ["assets/dashboard", "assets/server", "assets/vendor"])
  mkdirSync(join(out, dir), { recursive: true });

copyFileSync(join(root, "src", "dashboard", "index.html"), join(out, "index.html"));
copyFileSync(join(root, "src", "dashboard", "dashboard.css"), join(out, "assets", "dashboard.css"));
copyFileSync(join(uplotDist, "uPlot.esm.js"), join(out, "assets", "vendor", "uPlot.esm.js"));
copyFileSync(join(uplotDist, "uPlot.min.css"), join(out, "assets", "vendor", "uPlot.min.css"));
copyFileSync(join(compiled, "server", "api-types.js"), join(out, "assets", "server", "api-types.js"));

for (const name of readdirSync(join(compiled, "dashboard"))) {
  if (!name.endsWith(".js")) continue;
  const text = readFileSync(join(compiled, "dashboard", name), "utf8").replace(
    /from "uplot";/g,
    'from "../vendor/uPlot.esm.js";',
  );
  writeFileSync(join(out, "assets", "dashboard", name), text);
}
