import { defineConfig } from "vite";

/** `brender serve` on its default address, which the dev server passes /api to. */
const API = "http://127.0.0.1:4600";

// JSX through esbuild (no React plugin): the UI needs no fast refresh to be built.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true },
  // The API answers only to its own Host and refuses writes from other origins: the dev server speaks as its own page.
  server: { proxy: { "/api": { target: API, changeOrigin: true, headers: { origin: API } } } },
});
