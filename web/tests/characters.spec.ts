import { expect, test } from "@playwright/test";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { characterTurns, newUser, screenshot, signIn, signOut, turnText } from "./helpers";

// Characters and personas as their users know them: cards in and out, the public catalog, personas
// and alternate greetings, through the page.

test.afterEach(async ({ page }, testInfo) => {
  await screenshot(page, testInfo);
});

/** A Character Card V2 as a character site would publish it, with an extension and an unknown field. */
function cardV2(name: string) {
  return {
    spec: "chara_card_v2",
    spec_version: "2.0",
    data: {
      name,
      description: "{{char}} keeps a lighthouse and knows every ship that passes.",
      personality: "calm, dry humour",
      scenario: "A stormy night at the lighthouse.",
      first_mes: "The lamp turns. {{char}} looks up at {{user}}.",
      mes_example: "<START>\n{{user}}: Any ships tonight?\n{{char}}: Two. One of them lost.",
      creator_notes: "Works best with short messages.",
      system_prompt: "",
      post_history_instructions: "",
      alternate_greetings: ["Fog again, {{user}}."],
      tags: ["lighthouse", "sea"],
      creator: "web-tests",
      character_version: "1.2",
      extensions: { "web-tests": { palette: ["#123456", "#abcdef"], depth: 4 } },
      x_unknown_field: { kept: true },
    },
  };
}

test("a character card file imports, and exports with its extensions", async ({ page }, testInfo) => {
  await signIn(page, newUser("cora"));
  const card = cardV2("Keeper");
  const file = path.join(os.tmpdir(), `keeper-${testInfo.testId}.json`);
  await writeFile(file, JSON.stringify(card));

  await page.locator("#card-file").setInputFiles(file);
  const item = page.locator("#characters li", { hasText: "Keeper" });
  await expect(item).toBeVisible();
  await expect(item.locator(".tags")).toHaveText("lighthouse · sea");

  const download = page.waitForEvent("download");
  await item.getByRole("button", { name: "Export card" }).click();
  const exported = JSON.parse(await readFile(await (await download).path(), "utf8"));
  expect(exported.data.name).toBe("Keeper");
  expect(exported.data.extensions).toEqual(card.data.extensions);
  expect(exported.data.x_unknown_field).toEqual(card.data.x_unknown_field);
  expect(exported.data.alternate_greetings).toEqual(card.data.alternate_greetings);
});

test("a persona and an alternate greeting open the chat", async ({ page }) => {
  await signIn(page, newUser("robin"));
  await page.locator("#new-persona [name=personaName]").fill("Robin");
  await page.locator("#new-persona [name=personaDescription]").fill("A sailor looking for a harbour.");
  await page.locator("#new-persona [name=personaDefault]").check();
  await page.getByRole("button", { name: "Create persona" }).click();
  await expect(page.locator("#personas li", { hasText: "Robin" }).locator(".badge")).toHaveText("default");

  const form = page.locator("#new-character");
  await form.locator("[name=displayName]").fill("Kai");
  await form.locator("[name=persona]").fill("Kai, a harbour master.");
  await form.locator("[name=greeting]").fill("Welcome, {{user}}.");
  await form.locator("summary").click();
  await form.locator("[name=alternateGreetings]").fill("Hi {{user}}, I am {{char}}.");
  await form.getByRole("button", { name: "Create character" }).click();
  await expect(page.locator("#characters li", { hasText: "Kai" })).toBeVisible();

  const chatForm = page.locator("#new-chat");
  await chatForm.getByLabel("Kai").check();
  await chatForm.locator("[name=title]").fill("Harbour");
  await chatForm.locator("[name=greetingIndex]").fill("1");
  await chatForm.getByRole("button", { name: "New chat" }).click();
  await expect(page.locator("#chat-title")).toHaveText("Harbour");
  await expect(turnText(characterTurns(page).first())).toHaveText("Hi Robin, I am Kai.");
});

test("the public catalog: another user finds a character by a name or tag prefix and chats with it", async ({ page }) => {
  const name = `Zephyr ${Math.random().toString(36).slice(2, 8)}`;
  await signIn(page, newUser("ada"));
  const form = page.locator("#new-character");
  await form.locator("[name=displayName]").fill(name);
  await form.locator("[name=persona]").fill("A wandering poet.");
  await form.locator("[name=greeting]").fill("Verses, anyone?");
  await form.locator("summary").click();
  await form.locator("[name=tags]").fill("poetry, wind");
  await form.locator("[name=visibility]").selectOption({ label: "Public" });
  await form.getByRole("button", { name: "Create character" }).click();
  await expect(page.locator("#characters li", { hasText: name })).toBeVisible();
  await signOut(page);

  await signIn(page, newUser("bea"));
  await page.locator("#character-listing").selectOption({ label: "Public catalog" });
  for (const query of [name.split(" ")[1].slice(0, 4), "poet"]) {
    await page.locator("#character-query").fill(query);
    await page.locator("#character-query").press("Enter");
    await expect(page.locator("#characters li", { hasText: name })).toBeVisible();
  }
  await page.locator("#character-query").fill("nothing-like-it");
  await page.locator("#character-query").press("Enter");
  await expect(page.locator("#characters li")).toHaveCount(0);

  await page.locator("#character-query").fill("poet");
  await page.locator("#character-query").press("Enter");
  await page.locator("#characters li", { hasText: name }).getByRole("button", { name: "Chat" }).click();
  await expect(turnText(characterTurns(page).first())).toHaveText("Verses, anyone?");
  await expect(page.locator("#chats li")).toHaveCount(1);
});
