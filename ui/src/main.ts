// Entry point of the webview. It stays thin: it renders what the Rust side reports and holds no
// domain logic of its own.
import "./style.css";
import { showAppInfo } from "./app-info";

document.addEventListener("DOMContentLoaded", () => {
  const badge = document.querySelector<HTMLElement>("#app-version");
  if (badge) {
    void showAppInfo(badge);
  }
});
