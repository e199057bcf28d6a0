import { defineConfig } from "@playwright/test";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { testAudience, testHmacSecret, testIssuer } from "./tests/tokens";

// Browser tests of the reference client against the real service and local stack. The service is
// started exactly as a developer starts it (scripts/run.sh: local stack, simulated model backend,
// Development, the built client at /), on its own ports so a developer's run.sh can stay up.
// Run them with scripts/web.sh test (which finds or installs chromium) or as part of scripts/test.sh.

const httpPort = Number(process.env.CHAT_WEB_TEST_HTTP_PORT ?? 18080);
const grpcPort = Number(process.env.CHAT_WEB_TEST_GRPC_PORT ?? 15051);
// The built files served from another origin, as a production static host would.
const staticPort = Number(process.env.CHAT_WEB_TEST_STATIC_PORT ?? 18081);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const chromium = process.env.CHROMIUM_PATH ?? "/usr/lib/chromium/chromium";

export default defineConfig({
  testDir: "tests",
  // One service on a 2-core machine: tests run one at a time, each as its own users.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://localhost:${httpPort}/`,
    headless: true,
    launchOptions: { executablePath: chromium },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  webServer: [
    {
      command: `"${path.join(root, "scripts", "run.sh")}"`,
      url: `http://localhost:${httpPort}/healthz/ready`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        CHAT_HTTP_PORT: String(httpPort),
        CHAT_GRPC_PORT: String(grpcPort),
        // The simulated model, paced so that a person (and a test) sees a reply grow: about 4 s a reply.
        Inference__Backends__sim__TimeToFirstToken: "00:00:00.300",
        Inference__Backends__sim__TokensPerSecond: "12",
        Inference__Backends__sim__MinTokens: "30",
        Inference__Backends__sim__MaxTokens: "50",
        // A small burst of sends, so the limits test reaches RESOURCE_EXHAUSTED within a few clicks.
        Limits__SendBurst: "4",
        // Bearer tokens as well as x-user-id, and the static host's origin (tests/production.spec.ts).
        Auth__Issuer: testIssuer,
        Auth__Audience: testAudience,
        Auth__SigningKeys__0__HmacSecret: testHmacSecret,
        Cors__AllowedOrigins__0: `http://localhost:${staticPort}`,
      },
    },
    {
      // Vite's preview server: web/dist (built by run.sh above) on an origin of its own.
      command: `npx vite preview --port ${staticPort} --strictPort`,
      url: `http://localhost:${staticPort}/`,
      timeout: 60_000,
      reuseExistingServer: false,
    },
  ],
});
