import { defineConfig } from "vite";

// The app is plain static files: `npm run build` writes them to dist/, which any static host can
// serve (the service itself serves them in Development; see README "The web client").
export default defineConfig({
  // Relative asset URLs, so the files work from any path they are hosted under.
  base: "./",
  build: {
    target: "es2022",
    sourcemap: true,
  },
});
