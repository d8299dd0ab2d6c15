import { defineConfig } from "vite";

// JSX through esbuild (no React plugin): the UI needs no fast refresh to be built.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/api": "http://127.0.0.1:4600" } },
});
