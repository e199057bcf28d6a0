import { expect, test } from "@playwright/test";
import { characterTurns, createCharacter, newChat, newUser, screenshot, send, watchReply } from "./helpers";
import { bearerToken } from "./tokens";

// The production shape: the built files on a static host of their own origin, calling the service
// across origins (CORS) with a bearer token, as a deployed frontend does.
const staticOrigin = `http://localhost:${process.env.CHAT_WEB_TEST_STATIC_PORT ?? 18081}`;
const serviceUrl = `http://localhost:${process.env.CHAT_WEB_TEST_HTTP_PORT ?? 18080}`;

test.afterEach(async ({ page }, testInfo) => {
  await screenshot(page, testInfo);
});

async function signInWithToken(page: import("@playwright/test").Page, token: string): Promise<void> {
  await page.goto(staticOrigin + "/");
  await page.locator("#base-url").fill(serviceUrl);
  await page.locator("#identity-kind").selectOption("token");
  await page.locator("#identity").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("from another origin with a bearer token: a chat with a streamed reply", async ({ page }) => {
  // Every API answer was a cross-origin one the service allowed for the static host's origin.
  const allowed: (string | undefined)[] = [];
  page.on("response", (response) => {
    if (response.url().startsWith(serviceUrl + "/chat.v1.ChatService/")) allowed.push(response.headers()["access-control-allow-origin"]);
  });
  await signInWithToken(page, bearerToken(newUser("tara")));
  await expect(page.locator("#who")).toContainText("token ");
  await expect(page.locator("aside.sidebar")).toHaveAttribute("data-loaded", "true");

  await createCharacter(page, "Tess");
  await newChat(page, "Across origins", "Tess");
  const reply = await send(page, "Can you hear me from over there?");
  const final = (await watchReply(reply)).at(-1)!;
  expect(final).toContain("Tess");
  expect(allowed.length).toBeGreaterThan(3);
  expect(new Set(allowed)).toEqual(new Set([staticOrigin]));

  await page.reload();
  await expect(characterTurns(page).last().locator(".turn-text")).toHaveText(final);
});

test("a token the service does not accept is shown as UNAUTHENTICATED", async ({ page }) => {
  const forged = bearerToken(newUser("mallory")).replace(/\.[^.]+$/, ".c2lnbmF0dXJl");
  await signInWithToken(page, forged);
  await expect(page.locator("#problem")).toContainText("UNAUTHENTICATED");
  await expect(page.locator("#chats li")).toHaveCount(0);
  await expect(page.locator("aside.sidebar")).not.toHaveAttribute("data-loaded", "true");
});
