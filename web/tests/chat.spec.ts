import { expect, test } from "@playwright/test";
import { fromBinary } from "@bufbuild/protobuf";
import { StreamReplyRequestSchema } from "../src/gen/chat/v1/chat_pb";
import {
  characterTurns,
  createCharacter,
  newChat,
  newUser,
  screenshot,
  send,
  signIn,
  signOut,
  turnText,
  userTurns,
  waitForWords,
  watchReply,
} from "./helpers";

test.afterEach(async ({ page }, testInfo) => {
  await screenshot(page, testInfo);
});

test("a reply streams in token by token and is stored as shown", async ({ page }, testInfo) => {
  await signIn(page, newUser("ada"));
  await createCharacter(page, "Ada", "Hello! Ask me anything.");
  await newChat(page, "First chat", "Ada");
  await expect(turnText(characterTurns(page).first())).toHaveText("Hello! Ask me anything.");

  const reply = await send(page, "How do tides work?");
  await expect(userTurns(page).last()).toContainText("How do tides work?");
  const seen = await watchReply(reply, "complete", async (steps) => {
    // Half way through, the picture the README shows.
    if (steps.length === 12) await screenshot(page, testInfo, "streaming");
  });

  // At least three visible steps before it completed, each growing the one before.
  const steps = seen.filter((text) => text.length > 0);
  expect(steps.length).toBeGreaterThanOrEqual(4);
  for (let i = 1; i < steps.length; i++) {
    expect(steps[i].startsWith(steps[i - 1])).toBe(true);
  }
  const final = steps.at(-1)!;
  expect(final).toContain("Ada");
  await screenshot(page, testInfo, "complete");

  // What the page showed is what the service stored.
  await page.reload();
  await expect(turnText(characterTurns(page).last())).toHaveText(final);
  await expect(page.locator("#chats li")).toHaveCount(1);
});

test("swipes: regenerate, flip between candidates, select one", async ({ page }) => {
  await signIn(page, newUser("sam"));
  await createCharacter(page, "Sam");
  await newChat(page, "Swipes", "Sam");

  const reply = await send(page, "Tell me about the moon");
  const first = (await watchReply(reply)).at(-1)!;

  await reply.getByRole("button", { name: "Regenerate" }).click();
  await expect(reply).toHaveAttribute("data-state", "streaming");
  const second = (await watchReply(reply)).at(-1)!;
  expect(second).not.toBe(first);
  await expect(reply.locator(".swipe-position")).toHaveText("2 replies");

  // Back to the first candidate: it is shown but not yet selected.
  await reply.getByRole("button", { name: "Previous candidate" }).click();
  await expect(reply.locator(".swipe-position")).toHaveText("1/2");
  await expect(turnText(reply)).toHaveText(first);
  await reply.getByRole("button", { name: "Use this reply" }).click();
  await expect(reply.getByRole("button", { name: "Use this reply" })).toHaveCount(0);

  // The selection is the service's: a reload shows the first candidate as the turn's text.
  await page.reload();
  await expect(turnText(characterTurns(page).last())).toHaveText(first);
  await characterTurns(page).last().getByRole("button", { name: "Next candidate" }).click();
  await expect(characterTurns(page).last().locator(".swipe-position")).toHaveText("2/2");
  await expect(turnText(characterTurns(page).last())).toHaveText(second);
});

test("cancel stops a reply and keeps what was written", async ({ page }) => {
  await signIn(page, newUser("cal"));
  await createCharacter(page, "Cal");
  await newChat(page, "Cancel", "Cal");

  const reply = await send(page, "[sim:slow] tell me a very long story");
  await waitForWords(reply, 3);
  await page.locator("#cancel").click();
  await expect(reply).toHaveAttribute("data-state", "cancelled");
  const kept = (await turnText(reply).textContent()) ?? "";
  expect(kept.length).toBeGreaterThan(0);
  await expect(page.locator("#cancel")).toBeDisabled();

  // Nothing more arrives, and the service kept the same text.
  await page.waitForTimeout(1500);
  await expect(turnText(reply)).toHaveText(kept);
  await page.reload();
  await expect(characterTurns(page).last()).toHaveAttribute("data-state", "cancelled");
  await expect(turnText(characterTurns(page).last())).toHaveText(kept);
});

test("a reload in the middle of a reply resumes it where it was, without repeating text", async ({ page }) => {
  await signIn(page, newUser("rae"));
  await createCharacter(page, "Rae");
  await newChat(page, "Resume", "Rae");

  const reply = await send(page, "[sim:slow] please keep going");
  const before = await waitForWords(reply, 3);
  await expect(reply).toHaveAttribute("data-state", "streaming");

  const resumes: bigint[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/chat.v1.ChatService/StreamReply")) {
      const body = request.postDataBuffer();
      // A gRPC-Web request body is one frame: a flag byte, a 4-byte length, then the message.
      if (body) resumes.push(fromBinary(StreamReplyRequestSchema, new Uint8Array(body.subarray(5))).afterSequence);
    }
  });
  await page.reload();

  const resumed = characterTurns(page).last();
  await expect(resumed).toHaveAttribute("data-state", "streaming");
  // The page starts from what it had shown, and asks only for what came after it.
  expect(((await turnText(resumed).textContent()) ?? "").startsWith(before)).toBe(true);
  await expect.poll(() => resumes.length).toBe(1);
  expect(resumes[0]).toBeGreaterThan(0n);

  const seen = await watchReply(resumed);
  const final = seen.at(-1)!;
  expect(final.startsWith(before)).toBe(true);
  expect(final.split(before).length - 1).toBe(1);
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i].startsWith(seen[i - 1])).toBe(true);
  }

  // It finished once: the stored reply is exactly what the page ended with.
  await page.reload();
  await expect(characterTurns(page)).toHaveCount(1);
  await expect(turnText(characterTurns(page).last())).toHaveText(final);
});

test("a second user sees none of the first user's characters and chats", async ({ page }) => {
  const alice = newUser("alice");
  await signIn(page, alice);
  await createCharacter(page, "Alice's guide");
  const chatId = await newChat(page, "Alice's secrets", "Alice's guide");
  await watchReply(await send(page, "only for me"));
  await expect(page.locator("#chats li")).toHaveCount(1);
  await signOut(page);

  await signIn(page, newUser("bob"));
  await expect(page.locator("#chats li")).toHaveCount(0);
  await expect(page.locator("#characters li")).toHaveCount(0);
  await page.goto("/#/chat/" + chatId);
  await expect(page.locator("#problem")).toContainText("NOT_FOUND");
  await expect(page.locator("article.turn")).toHaveCount(0);
});

test("group chat: a named character answers, then they talk among themselves", async ({ page }) => {
  await signIn(page, newUser("gus"));
  await createCharacter(page, "Nova");
  await createCharacter(page, "Orin");
  await newChat(page, "Round table", "Nova", "Orin");
  await expect(page.locator(".cast-names")).toHaveText(/^Group: (Nova, Orin|Orin, Nova)$/);

  await page.locator(".repliers").getByLabel("Orin").check();
  const reply = await send(page, "Orin, what do you think?");
  await expect(reply.locator(".author")).toHaveText("Orin");
  await watchReply(reply);

  await page.locator("#talk-turns").fill("2");
  await page.locator("#talk").click();
  await expect(characterTurns(page)).toHaveCount(3);
  for (const turn of await characterTurns(page).all()) {
    await expect(turn).toHaveAttribute("data-state", "complete", { timeout: 30_000 });
  }
});

test("edit, rate, pin, rewind and restore, fork", async ({ page }) => {
  await signIn(page, newUser("eve"));
  await createCharacter(page, "Eli");
  await newChat(page, "Shaping", "Eli");
  await watchReply(await send(page, "first message"));
  await watchReply(await send(page, "second message"));

  // Edit the first user turn: it shows the new text, marked edited, with its earlier version.
  const firstUser = userTurns(page).first();
  await firstUser.getByRole("button", { name: "Edit" }).click();
  await firstUser.locator(".edit-text").fill("first message, edited");
  await firstUser.getByRole("button", { name: "Save", exact: true }).click();
  await expect(turnText(firstUser)).toHaveText("first message, edited");
  await expect(firstUser.locator(".badge", { hasText: "edited" })).toBeVisible();
  await firstUser.getByRole("button", { name: "Earlier versions" }).click();
  await expect(firstUser.locator(".revisions li")).toHaveText(["first message"]);

  // Rate the first reply 3 of 4, pin it.
  const firstReply = characterTurns(page).first();
  await firstReply.getByRole("button", { name: "Rate 3 of 4" }).click();
  await expect(firstReply.locator(".star")).toHaveText(["★", "★", "★", "☆"]);
  await firstReply.getByRole("button", { name: "Pin", exact: true }).click();
  await expect(firstReply.locator(".badge.pinned")).toBeVisible();
  const pinnedSeq = await firstReply.getAttribute("data-seq");
  await expect(page.locator("#pins")).toHaveText(`Pinned: #${pinnedSeq}`);

  // Rewind to the first reply: the second exchange leaves; Restore brings it back.
  await firstReply.getByRole("button", { name: "Rewind to here" }).click();
  await expect(page.locator("article.turn")).toHaveCount(2);
  await expect(page.locator("#notice")).toContainText("2 turns hidden");
  await page.locator("#restore").click();
  await expect(page.locator("article.turn")).toHaveCount(4);
  await expect(firstReply.locator(".star")).toHaveText(["★", "★", "★", "☆"]);

  // Fork at the first reply: a new chat with the first exchange, saying where it came from.
  await characterTurns(page).first().getByRole("button", { name: "Fork from here" }).click();
  await expect(page.locator(".forked")).toContainText("Forked from");
  await expect(page.locator("article.turn")).toHaveCount(2);
  await expect(turnText(userTurns(page).first())).toHaveText("first message, edited");
  await expect(page.locator("#chats li")).toHaveCount(2);
});

test("errors are shown plainly: a failed reply's reason, a limit with its retry delay", async ({ page }) => {
  await signIn(page, newUser("fay"));
  await createCharacter(page, "Fay");
  await newChat(page, "Errors", "Fay");

  const failed = await send(page, "[sim:fail-mid-stream] this one breaks");
  await watchReply(failed, "failed");
  // The reason the service stored, not a placeholder.
  await expect(failed.locator(".failure")).toContainText(/^Reply failed: .*Simulated failure/);

  // The test service allows a burst of 4 sends (playwright.config.ts): sending fast soon gets
  // RESOURCE_EXHAUSTED, shown with when to retry.
  for (let i = 0; i < 12 && !(await page.locator("#problem").isVisible()); i++) {
    await page.locator("#message").fill(`burst ${i}`);
    await page.locator("#send").click();
    await page.waitForTimeout(100);
  }
  await expect(page.locator("#problem")).toContainText(/RESOURCE_EXHAUSTED: .+; retry in \d+ s/);
});
