// Vite builds the webview bundle into ui/dist, which tauri.conf.json's `build.frontendDist`
// points at. `cargo xtask ui` runs this build; Tauri never runs npm itself. Two pages share one
// bundle: index.html (the main window) and approval.html (the approval window, which loads only
// what it needs).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.4x (Debian 12) and WKWebView on supported macOS are at least Safari 16 level.
    target: "safari16",
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL("index.html", import.meta.url)),
        approval: fileURLToPath(new URL("approval.html", import.meta.url)),
      },
    },
  },
});
