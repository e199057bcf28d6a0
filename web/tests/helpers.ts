// What the browser tests do the way a person does it: sign in, create characters, open chats, send,
// and watch a reply grow.

import { expect, type Locator, type Page, type TestInfo } from "@playwright/test";
import { fileURLToPath } from "node:url";
import path from "node:path";

const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "test-screenshots");

/** A user id no other test (or earlier run) has used. */
export function newUser(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function signIn(page: Page, userId: string): Promise<void> {
  await page.goto("/");
  // The service that served the page, whatever address the build was given.
  await page.locator("#base-url").fill(new URL(page.url()).origin);
  await page.locator("#identity").fill(userId);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#who")).toContainText(userId);
  await expect(page.locator("aside.sidebar")).toHaveAttribute("data-loaded", "true");
}

export async function signOut(page: Page): Promise<void> {
  await page.locator("#sign-out").click();
  await expect(page.locator("#sign-in")).toBeVisible();
}

export async function createCharacter(page: Page, name: string, greeting = ""): Promise<void> {
  const form = page.locator("#new-character");
  await form.locator("[name=displayName]").fill(name);
  await form.locator("[name=persona]").fill(`${name}, a patient guide who answers briefly.`);
  await form.locator("[name=greeting]").fill(greeting);
  await form.getByRole("button", { name: "Create character" }).click();
  await expect(page.locator("#characters li", { hasText: name })).toBeVisible();
}

/** Starts a chat with the named characters (several make a group chat) and waits for it to open. */
export async function newChat(page: Page, title: string, ...characters: string[]): Promise<string> {
  const form = page.locator("#new-chat");
  for (const name of characters) {
    await form.getByLabel(name).check();
  }
  await form.locator("[name=title]").fill(title);
  await form.getByRole("button", { name: "New chat" }).click();
  await expect(page.locator("#chat-title")).toHaveText(title);
  const chatId = await page.locator("section.chat").getAttribute("data-chat-id");
  expect(chatId).toBeTruthy();
  return chatId!;
}

export function characterTurns(page: Page): Locator {
  return page.locator('article.turn[data-role="character"]');
}

export function userTurns(page: Page): Locator {
  return page.locator('article.turn[data-role="user"]');
}

export function turnText(turn: Locator): Locator {
  return turn.locator(".turn-text");
}

/** Sends a message and returns the reply turn the service owes for it (the newest character turn). */
export async function send(page: Page, text: string): Promise<Locator> {
  const before = await characterTurns(page).count();
  await page.locator("#message").fill(text);
  await page.locator("#send").click();
  await expect(characterTurns(page)).toHaveCount(before + 1);
  await expect(page.locator("#message")).toHaveValue("");
  return characterTurns(page).nth(before);
}

/**
 * Watches a reply until its state is `until`, recording each text it showed on the way: what the
 * person saw, step by step.
 */
export async function watchReply(
  turn: Locator,
  until = "complete",
  onStep?: (seen: string[]) => Promise<void>,
  timeoutMs = 60_000,
): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [state, text] = await Promise.all([turn.getAttribute("data-state"), turnText(turn).textContent()]);
    if (text !== null && text !== seen.at(-1)) {
      seen.push(text);
      await onStep?.(seen);
    }
    if (state === until) return seen;
    if (Date.now() > deadline) throw new Error(`reply still ${state} after ${timeoutMs} ms; saw ${JSON.stringify(seen)}`);
    await turn.page().waitForTimeout(40);
  }
}

/** Waits until a streaming reply shows at least `words` words. */
export async function waitForWords(turn: Locator, words: number): Promise<string> {
  await expect
    .poll(async () => ((await turnText(turn).textContent()) ?? "").trim().split(/\s+/).filter(Boolean).length, { timeout: 30_000 })
    .toBeGreaterThanOrEqual(words);
  return (await turnText(turn).textContent()) ?? "";
}

/** Every test leaves a screenshot of how it ended, in web/test-screenshots/. */
export async function screenshot(page: Page, testInfo: TestInfo, name = ""): Promise<void> {
  const file = testInfo.titlePath.slice(1).join(" - ").replace(/[^A-Za-z0-9 _-]+/g, "") + (name ? " - " + name : "") + ".png";
  await page.screenshot({ path: path.join(screenshots, file), fullPage: true });
}
