// Vite builds the webview bundle into ui/dist, which tauri.conf.json's `build.frontendDist`
// points at. `cargo xtask ui` runs this build; Tauri never runs npm itself.
import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.4x (Debian 12) and WKWebView on supported macOS are at least Safari 16 level.
    target: "safari16",
  },
});
